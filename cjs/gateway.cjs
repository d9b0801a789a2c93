'use strict';
module.exports = require('./require-esm.cjs')('../dist/gateway/index.js', 'sluice/gateway');
