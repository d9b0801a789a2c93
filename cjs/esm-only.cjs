// require('sluice') (or a subpath) from CommonJS lands here: Sluice is an ES module.
'use strict';
const error = new Error(
  "sluice is ESM-only: use `import { Sluice } from 'sluice'` (in a .mjs file or a package with \"type\": \"module\"), " +
    "or from CommonJS `const { Sluice } = await import('sluice')`.",
);
error.code = 'ERR_REQUIRE_ESM';
throw error;
