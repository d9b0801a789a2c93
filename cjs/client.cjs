'use strict';
module.exports = require('./require-esm.cjs')('../dist/client/index.js', 'sluice/client');
