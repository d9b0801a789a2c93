'use strict';
module.exports = require('./require-esm.cjs')('../dist/middleware/hono.js', 'sluice/hono');
