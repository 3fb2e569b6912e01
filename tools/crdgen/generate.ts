// Writes the CRDs of every kind defined in libs/api into charts/eventing/crds/.
// Run through tools/crdgen/run.mjs, which bundles this file with esbuild.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  const dir = join(root, 'charts', 'eventing', 'crds');
  const written = writeCrds(dir);
  console.log(`wrote ${written.length} CRDs to ${dir}: ${written.join(', ')}`);
}
