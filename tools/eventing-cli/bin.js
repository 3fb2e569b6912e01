#!/usr/bin/env node
// `npx eventing`: runs the bundled CLI, building it first when dist/ is missing (e.g. after
// `npm ci --ignore-scripts`, which skips the `prepare` build).
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, realpathSync } = require('node:fs');
const { dirname, join } = require('node:path');

// node_modules/.bin/eventing is a link: resolve it to find the workspace root.
const root = join(dirname(realpathSync(__filename)), '..', '..');
const bundle = join(root, 'dist', 'apps', 'cli', 'main.js');
if (!existsSync(bundle)) {
  execFileSync(process.execPath, [join(root, 'tools', 'build', 'build.mjs'), '--quiet', 'cli'], {
    cwd: root,
    stdio: 'inherit',
  });
}
require(bundle);
