'use strict';
// require('sluice') from CommonJS: Sluice is an ES module. Node versions that can require()
// an ES module (20.19+, 22.12+) get it as is; older ones get this message instead of an opaque error.
module.exports = function requireEsm(target, name) {
  try {
    return require(target);
  } catch (e) {
    if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
      const error = new Error(
        `${name} is ESM-only on this Node version: use \`import … from '${name}'\` (an .mjs file or "type": "module"), ` +
          `or from CommonJS \`await import('${name}')\`. Node 20.19+ and 22.12+ can also require() it.`,
      );
      error.code = 'ERR_REQUIRE_ESM';
      throw error;
    }
    throw e;
  }
};
