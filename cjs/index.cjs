'use strict';
module.exports = require('./require-esm.cjs')('../dist/index.js', 'sluice');
