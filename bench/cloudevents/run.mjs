// Throughput of @eventing/cloudevents against the official `cloudevents` SDK, same operations, same run.
//
//   node bench/cloudevents/run.mjs            (BENCH_MS=<ms per cell and side>, default 1000)
//
// Bundles libs/cloudevents/src/index.ts with esbuild into a temp file and imports it; no workspace
// build needed. Both sides start from the bytes a Node HTTP server hands over (headers + Buffer body).
// The SDK is given the body as a string, as its HTTP examples do, so that decoding is in its timing.
import { buildSync } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HTTP, CloudEvent as SdkEvent } from 'cloudevents';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = buildSync({
  entryPoints: [join(root, 'libs/cloudevents/src/index.ts')],
  bundle: true,
  write: false,
  platform: 'node',
  format: 'esm',
  target: 'node22',
});
const dir = mkdtempSync(join(tmpdir(), 'ce-bench-'));
const file = join(dir, 'cloudevents.mjs');
writeFileSync(file, out.outputFiles[0].contents);
const ours = await import(pathToFileURL(file).href);
rmSync(dir, { recursive: true, force: true });

const MS = Number(process.env.BENCH_MS ?? 1000);
const ROUNDS = 5;

/** A JSON document of about `size` bytes, shaped like typical event payloads. */
function jsonOfSize(size) {
  const items = [];
  let text = '[]';
  for (let i = 0; JSON.stringify({ items }).length < size; i++) {
    items.push({ id: i, name: `item-${i}`, price: i * 1.25, tags: ['a', 'b'], ok: i % 2 === 0 });
    text = JSON.stringify({ items });
  }
  return text;
}

const attributes = {
  specversion: '1.0',
  id: '5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
  source: '/apis/v1/namespaces/default/pingsources/test-ping',
  type: 'dev.knative.sources.ping',
  subject: 'orders/1234',
  time: '2024-05-06T07:08:09.123Z',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  knativearrivaltime: '2024-05-06T07:08:09.456Z',
};

function fixtures(size) {
  const data = size === 0 ? undefined : jsonOfSize(size);
  const attrs = data === undefined ? attributes : { ...attributes, datacontenttype: 'application/json' };
  const event = { attributes: attrs, data: data === undefined ? undefined : Buffer.from(data) };
  const binary = ours.toBinary(event);
  const structured = ours.toStructured(event);
  return {
    bytes: data === undefined ? 0 : Buffer.byteLength(data),
    binary: { headers: binary.headers, body: binary.body ?? Buffer.alloc(0) },
    structured: { headers: structured.headers, body: structured.body },
  };
}

let sink = 0;
const toSdkMessage = (m) => ({
  headers: m.headers,
  body: m.body.length === 0 ? undefined : m.body.toString('utf8'),
});

const operations = {
  'binary parse': {
    ours: (f) => {
      const r = ours.parseHttp(f.binary.headers, f.binary.body);
      sink += r.ok ? 1 : 0;
    },
    sdk: (f) => {
      const e = HTTP.toEvent(toSdkMessage(f.binary));
      sink += e.id.length;
    },
  },
  'binary parse+serialize': {
    ours: (f) => {
      const r = ours.parseHttp(f.binary.headers, f.binary.body);
      const m = ours.toBinary(r.event);
      sink += m.body === undefined ? 0 : 1;
    },
    sdk: (f) => {
      const m = HTTP.binary(HTTP.toEvent(toSdkMessage(f.binary)));
      sink += m.body === undefined ? 0 : 1;
    },
  },
  'structured parse': {
    ours: (f) => {
      const r = ours.parseHttp(f.structured.headers, f.structured.body);
      sink += r.ok ? 1 : 0;
    },
    sdk: (f) => {
      const e = HTTP.toEvent(toSdkMessage(f.structured));
      sink += e.id.length;
    },
  },
  'structured parse+serialize': {
    ours: (f) => {
      const r = ours.parseHttp(f.structured.headers, f.structured.body);
      sink += ours.toStructured(r.event).body.length;
    },
    sdk: (f) => {
      sink += HTTP.structured(HTTP.toEvent(toSdkMessage(f.structured))).body.length;
    },
  },
};

/** Events per second of `fn`, timed in batches for `ms` milliseconds. */
function measure(fn, f, ms) {
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(ms * 1e6));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 200; i++) fn(f);
    n += 200;
    elapsed = process.hrtime.bigint() - start;
  }
  return (n * 1e9) / Number(elapsed);
}

// Sanity: both sides must agree on what they read before we time anything.
for (const size of [0, 1024, 16384]) {
  const f = fixtures(size);
  for (const mode of ['binary', 'structured']) {
    const r = ours.parseHttp(f[mode].headers, f[mode].body);
    const e = HTTP.toEvent(toSdkMessage(f[mode]));
    if (!r.ok || r.event.attributes.id !== e.id || e.specversion !== r.event.attributes.specversion) {
      throw new Error(`fixture mismatch in ${mode} mode at ${size} B`);
    }
  }
}
void SdkEvent;

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const rows = [];
for (const [name, op] of Object.entries(operations)) {
  for (const size of [0, 1024, 16384]) {
    const f = fixtures(size);
    // Alternate short rounds of both sides and keep each side's best: on a shared machine the
    // background load then hits both alike.
    for (let i = 0; i < 2000; i++) (op.ours(f), op.sdk(f));
    let a = 0;
    let b = 0;
    for (let round = 0; round < ROUNDS; round++) {
      a = Math.max(a, measure(op.ours, f, MS / ROUNDS));
      b = Math.max(b, measure(op.sdk, f, MS / ROUNDS));
    }
    rows.push([name, `${f.bytes} B`, fmt(a), fmt(b), `${(a / b).toFixed(1)}x`]);
  }
}

const header = ['operation', 'data', '@eventing/cloudevents ev/s', 'cloudevents SDK ev/s', 'ratio'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) =>
  `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
console.log(
  `Node ${process.version}, best of ${ROUNDS} alternating rounds, ${MS} ms per cell and side, data = JSON (application/json)\n`,
);
console.log(line(header));
console.log(`|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`);
for (const r of rows) console.log(line(r));
if (sink === 0) console.log('(no work done?)');
