// Writes the CRDs of every kind defined in libs/api into charts/eventing/crds/.
// Run through tools/crdgen/run.mjs, which bundles this file with esbuild.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderCrds } from '@eventing/api';

export { renderCrds };

/** Writes the rendered CRDs into `dir`, removing generated files of kinds that no longer exist. */
export function writeCrds(dir: string): string[] {
  const files = renderCrds();
  mkdirSync(dir, { recursive: true });
  for (const existing of readdirSync(dir)) {
    if (existing.endsWith('.yaml') && !files.has(existing)) rmSync(join(dir, existing));
  }
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  return [...files.keys()];
}

const root = process.env['EVENTING_ROOT'];
if (root !== undefined && require.main === module) {
  const out = process.argv.indexOf('--out');
  const dir =
    out < 0 ? join(root, 'charts', 'eventing', 'crds') : resolve(process.argv[out + 1] ?? missingOut());
  const written = writeCrds(dir);
  console.log(`wrote ${written.length} CRDs to ${dir}: ${written.join(', ')}`);
}

function missingOut(): never {
  console.error('--out needs a folder');
  process.exit(2);
}
