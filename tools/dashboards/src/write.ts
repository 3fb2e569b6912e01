// Writes the generated dashboards and alerting rules into charts/eventing/dashboards/ (or the folder in
// EVENTING_OUT). Run through tools/dashboards/run.mjs (`npx nx run dashboards:generate`); Prettier,
// which formats the files, cannot be loaded inside Jest, so the tests run this as a child process.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { OUTPUT_DIR, renderAll } from './generate';

/**
 * Writes every file into `dir`, formatted with the repository's Prettier settings (read from `root`,
 * so `prettier --check .` passes on them), and removes generated files no longer generated.
 */
export async function writeAll(root: string, dir: string): Promise<string[]> {
  const files = renderAll();
  for (const sub of ['grafana', 'configmaps', 'alerts']) {
    mkdirSync(join(dir, sub), { recursive: true });
    for (const existing of readdirSync(join(dir, sub)))
      if (!files.has(`${sub}/${existing}`)) rmSync(join(dir, sub, existing));
  }
  for (const [name, text] of files) {
    // Formatted as if it were in the repository's output folder, wherever it is written.
    const filepath = join(root, ...OUTPUT_DIR, name);
    writeFileSync(join(dir, name), await format(text, { ...(await resolveConfig(filepath)), filepath }));
  }
  return [...files.keys()];
}

const root = process.env['EVENTING_ROOT'];
if (root !== undefined && require.main === module) {
  const dir = process.env['EVENTING_OUT'] ?? join(root, ...OUTPUT_DIR);
  void writeAll(root, dir).then((written) => console.log(`wrote ${written.length} files to ${dir}`));
}
