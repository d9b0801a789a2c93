'use strict';
module.exports = require('./require-esm.cjs')('../dist/pacer/index.js', 'sluice/pacer');
