import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { MAX_YAML_DEPTH, type Resource } from '@eventing/api';
import { Controller } from '../controller/controller';
import { MemoryResourceStore } from '../store/memory-store';
import { resourceKey } from '../store/store';
import { loadResourceDir, type LoadProblem, type LoadResult } from './yaml-loader';

// Property tests of the YAML loader against mutations of the quickstart documents: whatever the
// files hold, loading never throws, every problem says where it is, the untouched documents still
// load, and the controller can reconcile whatever was loaded.

const QUICKSTART = join(__dirname, '../../../../examples/quickstart');
const quickstart = readdirSync(QUICKSTART)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((name) => {
    const text = readFileSync(join(QUICKSTART, name), 'utf8');
    return { name, text, docs: parseAllDocuments(text) as unknown as { toJS(): unknown }[] };
  });
const quickstartDocs: unknown[] = quickstart.flatMap((f) => f.docs.map((d) => d.toJS()));

type Json = unknown;
type Path = (string | number)[];

/** Every path to a value inside `doc` (not the root), found without recursion. */
function pathsOf(doc: Json): Path[] {
  const out: Path[] = [];
  const stack: [Json, Path][] = [[doc, []]];
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [Json, Path];
    if (path.length > 0) out.push(path);
    if (typeof value === 'object' && value !== null)
      for (const [k, v] of Object.entries(value))
        stack.push([v, [...path, Array.isArray(value) ? Number(k) : k]]);
  }
  return out;
}

/** A copy of `doc` with the value at `path` replaced (or deleted when `value` is `DELETE`). */
const DELETE = Symbol('delete');
function withValue(doc: Json, path: Path, value: unknown): Json {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let cur = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof cur[key] !== 'object' || cur[key] === null) cur[key] = {};
    cur = cur[key] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1] as string | number;
  if (value !== DELETE) cur[last] = value;
  else if (Array.isArray(cur)) cur.splice(last as number, 1);
  else delete cur[last];
  return copy;
}

const anyValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null)), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 5 }), fc.constant(null)), {
    maxKeys: 3,
  }),
);

/** How one quickstart document is mutated. */
type Mutation =
  | { type: 'wrong-type'; at: number; value: unknown }
  | { type: 'delete'; at: number }
  | { type: 'null'; at: number }
  | { type: 'unknown-field'; at: number; key: string }
  | { type: 'kind'; value: string }
  | { type: 'apiVersion'; value: string }
  | { type: 'rename'; name: string }
  | { type: 'retype'; to: (typeof KINDS)[number] }
  | { type: 'graft'; field: string; value: unknown }
  | { type: 'huge'; at: number; size: number }
  | { type: 'deep'; at: number; depth: number; open: '[' | '{a: ' };

const KINDS = [
  ['eventing.knative.dev/v1', 'Broker'],
  ['eventing.knative.dev/v1', 'Trigger'],
  ['sources.knative.dev/v1', 'PingSource'],
  ['sources.knative.dev/v1beta2', 'PingSource'],
  ['messaging.knative.dev/v1', 'Channel'],
  ['messaging.knative.dev/v1', 'InMemoryChannel'],
  ['messaging.knative.dev/v1', 'Subscription'],
  ['v1', 'ConfigMap'],
] as const;

const ref = (apiVersion: string, kind: string, name: string, namespace?: string) => ({
  ref: { apiVersion, kind, name, ...(namespace !== undefined ? { namespace } : {}) },
});
/** Meaningful spec values, valid for some kinds: grafted, they make documents that load and reconcile. */
const GRAFTS: Record<string, unknown[]> = {
  delivery: [
    {
      deadLetterSink: ref('v1', 'Service', 'dead-letters'),
      retry: 3,
      backoffPolicy: 'linear',
      backoffDelay: 'PT1S',
    },
    { deadLetterSink: ref('eventing.knative.dev/v1', 'Broker', 'default') },
    { deadLetterSink: { uri: 'http://dls.local/' }, timeout: 'PT5S' },
    { retry: 0 },
  ],
  subscriber: [
    ref('messaging.knative.dev/v1', 'InMemoryChannel', 'default'),
    ref('messaging.knative.dev/v1', 'Channel', 'heartbeat'),
    ref('eventing.knative.dev/v1', 'Broker', 'default', 'other'),
    ref('v1', 'Service', 'missing'),
    { ...ref('v1', 'Service', 'event-display'), uri: 'extra/path' },
    { uri: 'http://s.local/' },
  ],
  sink: [
    ref('messaging.knative.dev/v1', 'Channel', 'default'),
    ref('eventing.knative.dev/v1', 'Broker', 'nope'),
    ref('sources.knative.dev/v1', 'PingSource', 'heartbeat'),
    { uri: 'http://s.local/' },
  ],
  reply: [ref('eventing.knative.dev/v1', 'Broker', 'default'), { uri: 'http://r.local/' }],
  channel: [
    { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'default' },
    { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', name: 'heartbeat' },
    { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'missing' },
  ],
  channelTemplate: [
    { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', spec: { delivery: { retry: 1 } } },
    { apiVersion: 'messaging.knative.dev/v1', kind: 'KafkaChannel' },
  ],
  filters: [
    [{ cesql: "type = 'dev.knative.sources.ping'" }],
    [
      { any: [{ exact: { type: 'a' } }, { not: { prefix: { source: 'b' } } }] },
      { all: [{ suffix: { type: 'x' } }] },
    ],
  ],
  brokerRef: [{ name: 'default' }, { name: 'default', namespace: 'other' }],
  broker: ['default', 'missing', ''],
  config: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'other' }],
  subscribers: [[{ subscriberUri: 'http://s.local/', uid: 'u' }]],
  schedule: ['@hourly', '*/1 * * * * *', 'CRON_TZ=Asia/Tokyo 0 9 * * *', '0 0 31 2 *'],
  timezone: ['Asia/Tokyo', 'Europe/Paris'],
  dataBase64: ['aGVsbG8=', 'eyJhIjoxfQ=='],
  ceOverrides: [{ extensions: { team: 'a' } }],
};

const names = [
  ...new Set(quickstartDocs.map((d) => (d as { metadata?: { name?: string } }).metadata?.name ?? 'x')),
];
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ type: fc.constant('wrong-type' as const), at: fc.nat(), value: anyValue }),
  fc.record({ type: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ type: fc.constant('null' as const), at: fc.nat() }),
  fc.record({
    type: fc.constant('unknown-field' as const),
    at: fc.nat(),
    key: fc.string({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    type: fc.constant('kind' as const),
    value: fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('Broker', 'Trigger', 'ConfigMap', 'Widget'),
    ),
  }),
  fc.record({
    type: fc.constant('apiVersion' as const),
    value: fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom('v1', 'eventing.knative.dev/v2', 'messaging.knative.dev/v1', '/', 'a/b/c'),
    ),
  }),
  fc.record({ type: fc.constant('rename' as const), name: fc.constantFrom(...names) }),
  fc.record({ type: fc.constant('retype' as const), to: fc.constantFrom(...KINDS) }),
  fc.constantFrom(...Object.keys(GRAFTS)).chain((field) =>
    fc.record({
      type: fc.constant('graft' as const),
      field: fc.constant(field),
      value: fc.constantFrom(...(GRAFTS[field] as unknown[])),
    }),
  ),
  fc.record({
    type: fc.constant('huge' as const),
    at: fc.nat(),
    size: fc.integer({ min: 10_000, max: 300_000 }),
  }),
  fc.record({
    type: fc.constant('deep' as const),
    at: fc.nat(),
    depth: fc.oneof(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 60, max: 3_000 })),
    open: fc.constantFrom('[' as const, '{a: ' as const),
  }),
);

const DEEP = 'DEEP-VALUE-HERE';

/** The document's text after the mutation, and its value when the text is plain YAML of it. */
function mutate(doc: Json, m: Mutation): { text: string; value?: Json } {
  const paths = pathsOf(doc);
  const pick = (at: number) => paths[at % paths.length] as Path;
  let value: Json;
  switch (m.type) {
    case 'wrong-type':
      value = withValue(doc, pick(m.at), m.value);
      break;
    case 'delete':
      value = withValue(doc, pick(m.at), DELETE);
      break;
    case 'null':
      value = withValue(doc, pick(m.at), null);
      break;
    case 'unknown-field': {
      const objects = paths.filter((p) => {
        const v = p.reduce<unknown>((cur, k) => (cur as Record<string, unknown>)[k], doc);
        return typeof v === 'object' && v !== null && !Array.isArray(v);
      });
      const at = objects.length > 0 ? [...(objects[m.at % objects.length] as Path), m.key] : [m.key];
      value = withValue(doc, at, 'surprise');
      break;
    }
    case 'kind':
      value = withValue(doc, ['kind'], m.value);
      break;
    case 'apiVersion':
      value = withValue(doc, ['apiVersion'], m.value);
      break;
    case 'rename':
      value = withValue(doc, ['metadata', 'name'], m.name);
      break;
    case 'retype':
      value = withValue(withValue(doc, ['apiVersion'], m.to[0]), ['kind'], m.to[1]);
      break;
    case 'graft':
      value = withValue(doc, ['spec', m.field], m.value);
      break;
    case 'huge':
      value = withValue(doc, pick(m.at), 'x'.repeat(m.size));
      break;
    case 'deep': {
      // JSON is YAML: the deep value is spliced into the JSON text of the document.
      const close = m.open === '[' ? ']' : '}';
      const deep = `${m.open.repeat(m.depth)}1${close.repeat(m.depth)}`;
      const text = JSON.stringify(withValue(doc, pick(m.at), DEEP)).replace(`"${DEEP}"`, deep);
      return { text };
    }
  }
  return { text: JSON.stringify(value, null, 1), value };
}

/** A document as YAML text with one of its values written as a YAML alias bomb. */
const aliasBomb = (() => {
  let text =
    'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: bomb}\na0: &a0 [x, x, x, x]\n';
  for (let i = 1; i < 8; i++) text += `a${i}: &a${i} [*a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}]\n`;
  return text;
})();

/** Files that are not YAML of a resource at all. */
const junk: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 2_000 }),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    'kind: [unclosed',
    'apiVersion: v1\n\tkind: ConfigMap',
    'a: b: c',
    '{"apiVersion": "eventing.knative.dev/v1", "kind": "Broker"',
    'apiVersion: eventing.knative.dev/v1\napiVersion: eventing.knative.dev/v1\nkind: Broker\n',
    '- just\n- a list\n',
    'just a scalar',
    '--- !!binary aGVsbG8=\n',
    '? [complex, key]\n: value\n',
    '%YAML 9.9\n---\na: 1\n',
    aliasBomb,
    '\uFEFFapiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: bom}\n',
    'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: nan}\nspec: {delivery: {retry: .nan}}\n',
  ),
);

interface Written {
  file: string;
  /** Per document: its value when known (undefined for junk or spliced text). */
  docs: (Json | undefined)[];
  junk: boolean;
}

const LOADER_MESSAGES = [
  /^YAML /,
  /^a resource must be a YAML mapping/,
  /^unsupported kind /,
  /^duplicate of the /,
  /^cannot read: /,
  /bytes, more than \d+: file not read$/,
];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks that a problem names its file, the document's kind and name when it had them, and a field path. */
function checkProblem(problem: LoadProblem, written: Written[]): void {
  expect(problem.message).not.toMatch(/^internal error/);
  const [file, index] = problem.file.split('#') as [string, string | undefined];
  const target = written.find((w) => w.file === file);
  expect(target).toBeDefined();
  if (target === undefined || target.junk) return;
  const fileLevel = /^YAML |file not read$/.test(problem.message);
  if (!LOADER_MESSAGES.some((re) => re.test(problem.message))) expect(typeof problem.path).toBe('string');
  if (fileLevel) return;
  const doc = target.docs[index === undefined ? 0 : Number(index) - 1];
  if (!isObject(doc) || typeof doc['kind'] !== 'string') return;
  expect(problem.kind).toBe(doc['kind']);
  const meta = doc['metadata'];
  if (isObject(meta) && typeof meta['name'] === 'string') {
    const namespace = typeof meta['namespace'] === 'string' ? meta['namespace'] : 'default';
    expect(problem.name).toBe(`${namespace}/${meta['name']}`);
  }
}

const baseline = loadResourceDir(QUICKSTART);
const keyed = (result: LoadResult) => new Map(result.resources.map((r) => [resourceKey(r), r]));

describe('YAML loader under mutation of the quickstart documents', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'loader-fuzz-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the quickstart loads without problems (the baseline)', () => {
    expect(baseline.problems).toEqual([]);
    expect(baseline.resources.length).toBeGreaterThan(0);
  });

  it('never throws, explains every problem, keeps every untouched document, and reconciles', () => {
    const scenario = fc.record({
      mutated: fc.array(
        fc.record({
          doc: fc.nat({ max: quickstartDocs.length - 1 }),
          mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
          sameFileAsPrevious: fc.boolean(),
          // Mostly a fresh name, so that a still-valid mutant loads beside its original.
          freshName: fc.nat({ max: 3 }).map((n) => n > 0),
        }),
        { maxLength: 8 },
      ),
      duplicates: fc.array(fc.nat({ max: quickstartDocs.length - 1 }), { maxLength: 2 }),
      junk: fc.array(junk, { maxLength: 3 }),
    });

    fc.assert(
      fc.property(scenario, (s) => {
        rmSync(dir, { recursive: true, force: true });
        dir = mkdtempSync(join(tmpdir(), 'loader-fuzz-'));
        const written: Written[] = [];
        const write = (
          name: string,
          content: string | Uint8Array,
          docs: (Json | undefined)[],
          isJunk = false,
        ) => {
          writeFileSync(join(dir, name), content);
          written.push({ file: relative(process.cwd(), join(dir, name)), docs, junk: isJunk });
        };
        // Untouched quickstart files sort first, so a mutated copy never shadows them.
        for (const f of quickstart)
          write(
            `00-${f.name}`,
            f.text,
            f.docs.map((d) => d.toJS()),
          );
        let group: { texts: string[]; docs: (Json | undefined)[] } | undefined;
        let deepest = 0;
        const flush = () => {
          if (group !== undefined)
            write(`zz-mutated-${written.length}.yaml`, group.texts.join('\n---\n'), group.docs);
          group = undefined;
        };
        for (const [i, m] of s.mutated.entries()) {
          const original = quickstartDocs[m.doc];
          const name = (original as { metadata: { name: string } }).metadata.name;
          let current: { text: string; value?: Json } = {
            text: '',
            value: m.freshName ? withValue(original, ['metadata', 'name'], `${name}-m${i}`) : original,
          };
          for (const mutationOf of m.mutations) {
            if (current.value === undefined) break; // spliced text: no value left to mutate
            current = mutate(current.value, mutationOf);
            if (mutationOf.type === 'deep') deepest = Math.max(deepest, mutationOf.depth);
          }
          if (!m.sameFileAsPrevious) flush();
          group ??= { texts: [], docs: [] };
          group.texts.push(current.text);
          group.docs.push(current.value);
        }
        flush();
        s.duplicates.forEach((d, i) =>
          write(`zz-duplicate-${i}.yaml`, JSON.stringify(quickstartDocs[d]), [quickstartDocs[d]]),
        );
        s.junk.forEach((content, i) => write(`zz-junk-${i}.yaml`, content, [undefined], true));

        let result: LoadResult | undefined;
        expect(() => (result = loadResourceDir(dir))).not.toThrow();
        if (result === undefined) return;
        for (const problem of result.problems) checkProblem(problem, written);
        // Too-deep documents are refused as a whole file, before YAML composition recurses.
        if (deepest > MAX_YAML_DEPTH + 5)
          expect(result.problems.some((p) => /nested \d+ levels deep/.test(p.message))).toBe(true);

        const loaded = keyed(result);
        for (const [key, resource] of keyed(baseline)) expect(loaded.get(key)).toEqual(resource);
        s.duplicates.forEach((d, i) => {
          if ((quickstartDocs[d] as Resource).kind === 'ConfigMap') return; // read as settings, not stored
          const problem = result?.problems.find((p) => p.file.endsWith(`zz-duplicate-${i}.yaml`));
          expect(problem?.message).toMatch(/^duplicate of the /);
        });

        const store = new MemoryResourceStore();
        for (const resource of result.resources) store.apply(resource as Resource);
        const controller = new Controller(store, {
          ingressUrl: (ns, name) => `http://ingress.local/${ns}/${name}`,
          channelUrl: (ns, name) => `http://channels.local/${ns}/${name}`,
          addressBook: { lookup: (ns, name) => result?.addresses.get(`${ns}/${name}`) },
        });
        let out: ReturnType<Controller['reconcile']> | undefined;
        expect(() => (out = controller.reconcile())).not.toThrow();
        // A reconciler that throws is caught by the controller and reported as ReconcileError.
        expect(out?.ready.filter((r) => r.reason === 'ReconcileError')).toEqual([]);
      }),
      // FUZZ_RUNS runs longer searches; FUZZ_SEED replays the seed a failure printed.
      {
        numRuns: Number(process.env['FUZZ_RUNS'] ?? 200),
        ...(process.env['FUZZ_SEED'] !== undefined ? { seed: Number(process.env['FUZZ_SEED']) } : {}),
      },
    );
  }, 60_000);
});

// Settings ConfigMaps change how the other documents are defaulted and validated, so here the
// quickstart documents may legitimately be refused: only the safety properties are checked.
describe('YAML loader with random settings ConfigMaps', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'loader-fuzz-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // The YAML a settings entry holds: random text, random structures, or traps for the parser.
  const entryText = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => stringify(v)),
    fc
      .record({
        clusterDefault: fc.dictionary(
          fc.constantFrom(
            'brokerClass',
            'apiVersion',
            'kind',
            'name',
            'namespace',
            'delivery',
            'brokerClasses',
          ),
          fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ retry: 2 })),
        ),
        namespaceDefaults: fc.option(
          fc.dictionary(fc.constantFrom('default', 'other'), fc.jsonValue({ maxDepth: 2 })),
        ),
      })
      .map((v) => stringify(v)),
    fc.constantFrom(aliasBomb, `a: ${'['.repeat(20_000)}${']'.repeat(20_000)}`, 'clusterDefault: null', '{'),
  );
  const settings = fc.record({
    target: fc.constantFrom<[name: string, key: string]>(
      ['config-br-defaults', 'default-br-config'],
      ['default-ch-webhook', 'default-ch-config'],
      ['config-features', 'delivery-timeout'],
      ['address-book', 'event-display'],
    ),
    value: fc.oneof(entryText, fc.constantFrom('enabled', 'disabled', 'builtin:display')),
  });

  it('never throws, explains every problem, and reconciles', () => {
    fc.assert(
      fc.property(fc.array(settings, { minLength: 1, maxLength: 3 }), (configMaps) => {
        rmSync(dir, { recursive: true, force: true });
        dir = mkdtempSync(join(tmpdir(), 'loader-fuzz-'));
        const written: Written[] = [];
        const write = (name: string, text: string, docs: Json[]) => {
          writeFileSync(join(dir, name), text);
          written.push({ file: relative(process.cwd(), join(dir, name)), docs, junk: false });
        };
        for (const f of quickstart)
          write(
            `00-${f.name}`,
            f.text,
            f.docs.map((d) => d.toJS()),
          );
        configMaps.forEach((c, i) => {
          const [name, key] = c.target;
          const doc = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { [key]: c.value } };
          write(`zz-settings-${i}.yaml`, JSON.stringify(doc), [doc]);
        });
        let result: LoadResult | undefined;
        expect(() => (result = loadResourceDir(dir))).not.toThrow();
        if (result === undefined) return;
        for (const problem of result.problems) checkProblem(problem, written);
        const store = new MemoryResourceStore();
        for (const resource of result.resources) store.apply(resource);
        const controller = new Controller(store, {
          ingressUrl: (ns, name) => `http://ingress.local/${ns}/${name}`,
          channelUrl: (ns, name) => `http://channels.local/${ns}/${name}`,
          addressBook: { lookup: (ns, name) => result?.addresses.get(`${ns}/${name}`) },
        });
        expect(() => controller.reconcile()).not.toThrow();
      }),
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 200) },
    );
  }, 60_000);
});
