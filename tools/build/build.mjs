#!/usr/bin/env node
// Bundles every app under apps/ (entry: src/main.ts) into dist/apps/<app>/main.js with esbuild.
// Libraries are inlined through the tsconfig path aliases; npm packages stay external.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const quiet = process.argv.includes('--quiet');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));

const apps = readdirSync(join(root, 'apps')).filter(
  (name) =>
    existsSync(join(root, 'apps', name, 'src', 'main.ts')) && (only.length === 0 || only.includes(name)),
);
const started = Date.now();
await Promise.all(
  apps.map((name) =>
    build({
      entryPoints: [join(root, 'apps', name, 'src', 'main.ts')],
      outfile: join(root, 'dist', 'apps', name, 'main.js'),
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      packages: 'external',
      sourcemap: true,
      tsconfig: join(root, 'tsconfig.base.json'),
      logLevel: 'warning',
    }),
  ),
);
if (!quiet) console.log(`built ${apps.length} apps (${apps.join(', ')}) in ${Date.now() - started} ms`);
