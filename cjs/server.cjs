'use strict';
module.exports = require('./require-esm.cjs')('../dist/server/index.js', 'sluice/server');
