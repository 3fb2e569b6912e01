#!/usr/bin/env node
// Regenerates charts/eventing/crds/ from libs/api: bundles generate.ts with esbuild into a
// temporary file (libraries inlined through the tsconfig aliases, npm packages external) and runs it.
// `--out <dir>` writes the CRDs into another folder instead (the freshness test compares the two).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'crdgen-'));
const outfile = join(dir, 'generate.cjs');
try {
  await build({
    entryPoints: [join(root, 'tools', 'crdgen', 'generate.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    packages: 'external',
    tsconfig: join(root, 'tsconfig.base.json'),
    logLevel: 'warning',
  });
  const run = spawnSync(process.execPath, [outfile, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, EVENTING_ROOT: root, NODE_PATH: join(root, 'node_modules') },
  });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
