import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The generator as people run it (node tools/crdgen/run.mjs: esbuild bundle, then the write), twice:
// both runs write the same bytes, and those are the committed charts/eventing/crds.

const ROOT = join(__dirname, '..', '..', '..', '..');
const COMMITTED = join(ROOT, 'charts', 'eventing', 'crds');

function generate(dir: string): Map<string, string> {
  const run = spawnSync(process.execPath, [join(ROOT, 'tools', 'crdgen', 'run.mjs'), '--out', dir], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`tools/crdgen/run.mjs failed: ${run.stderr || run.stdout}`);
  return readYaml(dir);
}

function readYaml(dir: string): Map<string, string> {
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
  );
}

describe('tools/crdgen', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'crdgen-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the same CRDs on every run, and they are the committed ones', () => {
    const first = generate(join(dir, 'first'));
    const second = generate(join(dir, 'second'));
    expect([...second.keys()]).toEqual([...first.keys()]);
    for (const [file, text] of first) expect(second.get(file)).toBe(text);
    const committed = readYaml(COMMITTED);
    const stale = [...first].filter(([f, text]) => committed.get(f) !== text).map(([f]) => f);
    const extra = [...committed.keys()].filter((f) => !first.has(f));
    if (stale.length > 0 || extra.length > 0) {
      throw new Error(
        `charts/eventing/crds is stale: run node tools/crdgen/run.mjs (differs: ${[...stale, ...extra].join(', ')})`,
      );
    }
  }, 60_000);

  it('removes the CRD of a kind that no longer exists', () => {
    const out = join(dir, 'pruned');
    generate(out);
    writeFileSync(join(out, 'removedkind.yaml'), 'kind: CustomResourceDefinition\n');
    expect(generate(out).has('removedkind.yaml')).toBe(false);
  }, 60_000);
});
