'use strict';
module.exports = require('./require-esm.cjs')('../dist/envoy/index.js', 'sluice/envoy');
