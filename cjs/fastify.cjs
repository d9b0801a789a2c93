'use strict';
module.exports = require('./require-esm.cjs')('../dist/middleware/fastify.js', 'sluice/fastify');
