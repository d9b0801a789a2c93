'use strict';
module.exports = require('./require-esm.cjs')('../dist/middleware/express.js', 'sluice/express');
