#!/usr/bin/env node
// Regenerates charts/eventing/dashboards/ from tools/dashboards/src (or writes them into the folder
// given with --out): bundles write.ts with esbuild into a temporary file (libraries inlined through
// the tsconfig aliases, npm packages external) and runs it.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outAt = process.argv.indexOf('--out');
const out = outAt > 0 ? process.argv[outAt + 1] : undefined;
const dir = mkdtempSync(join(tmpdir(), 'dashboards-'));
const outfile = join(dir, 'write.cjs');
try {
  await build({
    entryPoints: [join(root, 'tools', 'dashboards', 'src', 'write.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    packages: 'external',
    tsconfig: join(root, 'tsconfig.base.json'),
    logLevel: 'warning',
  });
  const run = spawnSync(process.execPath, [outfile], {
    stdio: 'inherit',
    env: {
      ...process.env,
      EVENTING_ROOT: root,
      NODE_PATH: join(root, 'node_modules'),
      ...(out ? { EVENTING_OUT: out } : {}),
    },
  });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
