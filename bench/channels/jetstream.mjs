#!/usr/bin/env node
// The JetStream channel backend against the raw @nats-io/jetstream client on one nats-server, in one
// run: events appended (64 in flight, each awaiting its PubAck) while a subscription's handler takes
// them, end to end. Raw: js.publish() of the same 256 B payload, consumed by a durable pull consumer
// with explicit acks (as bench/channels/raw.mjs); "raw + headers" also writes the binary-mode ce-
// and passthrough headers the backend writes. Latency: from starting the append/publish to the
// handler (or the consumer loop) having the message.
//
//   node bench/channels/jetstream.mjs [--messages 20000] [--size 256] [--rounds 2] [--max-in-flight 100]
//
// Run it with Node 24 (`npx node bench/channels/jetstream.mjs`).
import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { build } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmt, loud, machineLine, markdownTable, problems } from '../lib/report.mjs';
import { loadTestServers } from './test-servers.mjs';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    size: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '2' },
    'max-in-flight': { type: 'string', default: '100' },
  },
});
const N = Number(values.messages);
const SIZE = Number(values.size);
const ROUNDS = Number(values.rounds);
const MAX_IN_FLIGHT = Number(values['max-in-flight']);
const WINDOW = 64; // appends in flight
const WARMUP = 2_000;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const log = (s) => process.stderr.write(`${s}\n`);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130)); // runs the harness's exit cleanup

/** The backend from libs/channels, bundled by esbuild (tsconfig paths inlined, npm packages external). */
async function loadBackend() {
  const outfile = join(root, 'dist', 'bench', 'jetstream-backend.cjs');
  await build({
    entryPoints: [join(root, 'libs', 'channels', 'src', 'jetstream', 'jetstream-backend.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    packages: 'external',
    tsconfig: join(root, 'tsconfig.base.json'),
    outfile,
    logLevel: 'warning',
  });
  return createRequire(import.meta.url)(outfile);
}

const payload = randomBytes(SIZE);
const passthrough = {
  'x-request-id': 'bench',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
};
const attributes = (i) => ({
  specversion: '1.0',
  id: `e${i}`,
  source: '/bench/jetstream',
  type: 'dev.knative.bench',
  datacontenttype: 'application/octet-stream',
});

/** Runs `count` calls of `op(i)` with `window` in flight. */
async function pump(count, window, op) {
  let next = 0;
  const worker = async () => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
}

function percentile(values, p) {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** End-to-end result: events/s from the first send to the last message taken, latency percentiles. */
function result(count, t0, last, latencies) {
  return {
    rate: (count / (last - t0)) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/** Raw client: publish (awaiting each PubAck) while a durable pull consumer acks what it takes. */
async function raw(url, tag, n, withHeaders) {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  const stream = `RAWJS_${tag}`;
  const subject = `rawjs.${tag}._knative`;
  await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File });
  await jsm.consumers.add(stream, { durable_name: 'bench', ack_policy: AckPolicy.Explicit });
  const js = jetstream(nc);
  const started = new Float64Array(n);
  const latencies = new Float64Array(n);
  const consumer = await js.consumers.get(stream, 'bench');
  const messages = await consumer.consume({ max_messages: 1_000 });
  let count = 0;
  let last = 0;
  const consumed = (async () => {
    for await (const m of messages) {
      const i = m.headers ? Number(m.headers.get('ce-id').slice(1)) : m.data.readUInt32BE(0);
      latencies[i] = performance.now() - started[i];
      m.ack();
      if (++count === n) {
        last = performance.now();
        break;
      }
    }
  })();
  const t0 = performance.now();
  await pump(n, WINDOW, async (i) => {
    started[i] = performance.now();
    if (!withHeaders) {
      const data = Buffer.from(payload);
      data.writeUInt32BE(i, 0);
      await js.publish(subject, data);
      return;
    }
    const h = natsHeaders();
    const a = attributes(i);
    for (const k in a) h.append(`ce-${k}`, a[k]);
    for (const k in passthrough) h.append(`kn-http-${k}`, passthrough[k]);
    await js.publish(subject, payload, { headers: h });
  });
  await consumed;
  await messages.close();
  await nc.close();
  return result(n, t0, last, latencies);
}

/** The backend: append (binary mode, passthrough headers, PubAck awaited) while a subscription's handler acks. */
async function backendRun(JetStreamChannelBackend, url, tag, n) {
  const backend = new JetStreamChannelBackend({ servers: [url] });
  const ref = { namespace: 'bench', name: `js-${tag}` };
  await backend.ensureChannel(ref);
  const started = new Float64Array(n);
  const latencies = new Float64Array(n);
  let count = 0;
  let last = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  await backend.subscribe(ref, { id: `bench-${tag}`, maxInFlight: MAX_IN_FLIGHT }, async (m) => {
    const i = Number(String(m.event.attributes.id).slice(1));
    latencies[i] = performance.now() - started[i];
    if (++count === n) {
      last = performance.now();
      done();
    }
    return 'ack';
  });
  let refused = 0;
  const t0 = performance.now();
  await pump(n, WINDOW, async (i) => {
    started[i] = performance.now();
    const r = await backend.append(ref, { attributes: attributes(i), data: payload }, passthrough);
    if (!r.ok) {
      refused++;
      loud(`append refused: ${r.status} ${r.reason}`);
    }
  });
  if (refused > 0) throw new Error(`${refused} appends refused`);
  await finished;
  await backend.close();
  return result(n, t0, last, latencies);
}

const { startNats } = await loadTestServers();
const { JetStreamChannelBackend } = await loadBackend();
const nats = await startNats();
log(`nats-server ${nats.version} ready; warming up`);
const rows = [];
try {
  await raw(nats.url, 'warmup', WARMUP, false);
  await raw(nats.url, 'warmuph', WARMUP, true);
  await backendRun(JetStreamChannelBackend, nats.url, 'warmup', WARMUP);
  for (let round = 1; round <= ROUNDS; round++) {
    log(`round ${round}: ${N} messages of ${SIZE} B per path`);
    const r = await raw(nats.url, `r${round}`, N, false);
    const rh = await raw(nats.url, `rh${round}`, N, true);
    const b = await backendRun(JetStreamChannelBackend, nats.url, `r${round}`, N);
    const row = (path, x) => [
      String(round),
      path,
      fmt(x.rate, 0),
      fmt(x.p50, 2),
      fmt(x.p99, 2),
      `${fmt((x.rate / r.rate) * 100, 0)} %`,
    ];
    rows.push(
      row('raw @nats-io/jetstream publish → consume', r),
      row('raw + binary-mode and passthrough headers', rh),
      row(`JetStreamChannelBackend append → handler (maxInFlight ${MAX_IN_FLIGHT})`, b),
    );
  }
} finally {
  await nats.stop();
}
console.log(
  `\n${machineLine()}\nnats-server ${nats.version}, file storage, one stream per path and round; ${N} messages of ` +
    `${SIZE} B, ${WINDOW} appends/publishes in flight, each awaiting its PubAck, consumed at the same time\n`,
);
console.log(
  markdownTable(
    [
      ['round', 'r'],
      ['path', 'l'],
      ['events/s', 'r'],
      ['p50 ms', 'r'],
      ['p99 ms', 'r'],
      ['of raw', 'r'],
    ],
    rows,
  ),
);
console.log(
  '\nevents/s: from the first publish to the last message taken by the consumer; latency: from starting ' +
    'the publish/append to the consumer having the message.',
);
if (problems.length > 0) process.exitCode = 1;
