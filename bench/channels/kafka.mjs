#!/usr/bin/env node
// KafkaChannelBackend against the raw @platformatic/kafka client on the same single-node Kafka, in
// one run: events/s and latency from append (or send) to the handler (or consumer), end to end.
//
//   node bench/channels/kafka.mjs [--events 20000] [--size 256] [--window 64] [--rounds 3]
//
// raw: a Producer (acks=all) sends one record per send() with `window` sends in flight while a
// Consumer stream (new group, from the end of the topic, autocommit) reads them; the records carry
// the same ce_ headers and value the backend writes. backend: `window` appends in flight into a
// channel whose subscription (maxInFlight = window) acks at once, unordered and then ordered mode.
// Latency is per event, from the start of its send/append to its arrival in the consumer/handler.
// Needs Node 24 (`npx node bench/channels/kafka.mjs` uses the repository's).
import { Consumer, Producer } from '@platformatic/kafka';
import { build } from 'esbuild';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fmt, machineLine, markdownTable } from '../lib/report.mjs';
import { loadTestServers } from './test-servers.mjs';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    size: { type: 'string', default: '256' },
    window: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
  },
});
const N = Number(values.events);
const SIZE = Number(values.size);
const WINDOW = Number(values.window);
const ROUNDS = Number(values.rounds);
const PARTITIONS = 3;
const BATCH = 100; // records per send in the raw client's batched mode
const BATCH_WINDOW = 4;
const WARMUP = 2_000;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const log = (s) => process.stderr.write(`${s}\n`);

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130)); // runs the harness's exit cleanup

/** The backend and the binding, bundled from the TypeScript sources (npm packages stay external). */
async function loadBackend() {
  const outfile = join(root, 'dist', 'bench', 'kafka-backend.mjs');
  await build({
    stdin: {
      contents:
        "export { KafkaChannelBackend } from './kafka/kafka-backend'; export { toKafkaRecord } from '@eventing/cloudevents';",
      resolveDir: join(root, 'libs', 'channels', 'src'),
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    packages: 'external',
    tsconfig: join(root, 'tsconfig.json'),
    outfile,
    logLevel: 'warning',
  });
  return import(pathToFileURL(outfile).href);
}

const data = randomBytes(SIZE);
const eventOf = (id) => ({
  attributes: {
    specversion: '1.0',
    id,
    source: '/bench/channels',
    type: 'dev.knative.bench',
    datacontenttype: 'application/octet-stream',
  },
  data,
});

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `count` calls of `op(i)` with `window` in flight. */
async function pump(count, window, op) {
  let next = 0;
  const worker = async () => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
}

/** Waits for `count` arrivals recorded in `arrived`; returns rate and latency percentiles. */
function summary(count, started, arrivedAt, startedAt) {
  const latencies = new Float64Array(count);
  let last = 0;
  for (let i = 0; i < count; i++) {
    latencies[i] = arrivedAt[i] - startedAt[i];
    if (arrivedAt[i] > last) last = arrivedAt[i];
  }
  latencies.sort();
  return {
    rate: (count / (last - started)) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

function waitFor(check, what, timeoutMs = 120_000) {
  return new Promise((done, fail) => {
    const end = Date.now() + timeoutMs;
    const poll = () => {
      if (check()) return done();
      if (Date.now() > end) return fail(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

// --- raw @platformatic/kafka --------------------------------------------------------------------

/** Raw produce → consume; `batch` records per send, `window` sends in flight. */
async function rawRun(bootstrap, backendModule, tag, count, batch, window) {
  const topic = `raw-${tag}`;
  const { KafkaChannelBackend, toKafkaRecord } = backendModule;
  // The topic made as the backend makes it; the records carry what the backend's records carry.
  const setup = new KafkaChannelBackend({ bootstrap: [bootstrap], topicName: () => topic });
  await setup.ensureChannel({ namespace: 'bench', name: tag }, { numPartitions: PARTITIONS });
  await setup.close();
  const binding = toKafkaRecord(eventOf('0000000000'));
  const headers = new Map(Object.entries(binding.headers).map(([k, v]) => [Buffer.from(k), v]));

  // A new topic read from its start: no record can slip past a consumer that joins late.
  const consumer = new Consumer({
    clientId: 'bench',
    groupId: `raw-${tag}`,
    bootstrapBrokers: [bootstrap],
    maxWaitTime: 500, // as the backend's consumers
  });
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 1000 });
  const producer = new Producer({ clientId: 'bench', bootstrapBrokers: [bootstrap], acks: -1 });
  const startedAt = new Float64Array(count);
  const arrivedAt = new Float64Array(count);
  let arrived = 0;
  stream.on('data', (message) => {
    arrivedAt[message.key.readUInt32BE(0)] = performance.now();
    arrived++;
  });
  const started = performance.now();
  await pump(Math.ceil(count / batch), window, async (b) => {
    const messages = [];
    const now = performance.now();
    for (let i = b * batch; i < Math.min(count, (b + 1) * batch); i++) {
      const key = Buffer.alloc(4);
      key.writeUInt32BE(i);
      startedAt[i] = now;
      messages.push({ topic, key, value: data, headers });
    }
    await producer.send({ messages });
  });
  await waitFor(() => arrived >= count, `${count} raw records`);
  const result = summary(count, started, arrivedAt, startedAt);
  await stream.close();
  await consumer.close(true);
  await producer.close();
  return result;
}

// --- KafkaChannelBackend ------------------------------------------------------------------------

async function backendRun(bootstrap, backendModule, tag, count, ordered) {
  const { KafkaChannelBackend } = backendModule;
  const backend = new KafkaChannelBackend({ bootstrap: [bootstrap], ordered });
  const ref = { namespace: 'bench', name: tag };
  await backend.ensureChannel(ref, { numPartitions: PARTITIONS });
  const startedAt = new Float64Array(count);
  const arrivedAt = new Float64Array(count);
  let arrived = 0;
  await backend.subscribe(ref, { id: 'bench', maxInFlight: WINDOW }, async (m) => {
    arrivedAt[Number(m.event.attributes.id)] = performance.now();
    arrived++;
    return 'ack';
  });
  let refused = 0;
  const started = performance.now();
  await pump(count, WINDOW, async (i) => {
    startedAt[i] = performance.now();
    const result = await backend.append(ref, eventOf(String(i)), { 'x-request-id': `r${i}` });
    if (!result.ok) refused++;
  });
  if (refused > 0) throw new Error(`${refused} appends refused`);
  await waitFor(() => arrived >= count, `${count} deliveries`);
  const result = summary(count, started, arrivedAt, startedAt);
  await backend.close();
  return result;
}

// --- run ----------------------------------------------------------------------------------------

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const [backendModule, { startKafka }] = await Promise.all([loadBackend(), loadTestServers()]);
const t0 = performance.now();
const kafka = await startKafka({ heapMb: 1024 });
log(`Kafka ready in ${fmt((performance.now() - t0) / 1000, 1)} s; warming up`);
try {
  const paths = [
    {
      name: '@platformatic/kafka raw',
      detail: `1 record/send, ${WINDOW} in flight → consumer stream`,
      run: (tag, count) => rawRun(kafka.bootstrap, backendModule, tag, count, 1, WINDOW),
    },
    {
      name: '@platformatic/kafka raw',
      detail: `${BATCH} records/send, ${BATCH_WINDOW} in flight → consumer stream`,
      run: (tag, count) => rawRun(kafka.bootstrap, backendModule, tag, count, BATCH, BATCH_WINDOW),
    },
    {
      name: 'KafkaChannelBackend',
      detail: `${WINDOW} appends in flight → handler, unordered, maxInFlight ${WINDOW}`,
      run: (tag, count) => backendRun(kafka.bootstrap, backendModule, tag, count, false),
    },
    {
      name: 'KafkaChannelBackend',
      detail: `${WINDOW} appends in flight → handler, ordered (1 in flight per partition)`,
      run: (tag, count) => backendRun(kafka.bootstrap, backendModule, tag, count, true),
    },
  ];
  for (const [i, path] of paths.entries()) await path.run(`warmup-${i}`, WARMUP);
  const results = paths.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    log(`round ${round + 1}/${ROUNDS}: ${N} events of ${SIZE} B per path`);
    // Paths take turns within a round, so that drift on the machine touches all of them alike.
    for (const [i, path] of paths.entries()) results[i].push(await path.run(`r${round}-${i}`, N));
  }
  const rates = results.map((rs) => rs.map((r) => r.rate));
  const [raw, rawBatched] = rates.map(median);
  const rows = paths.map((path, i) => {
    const rate = median(rates[i]);
    return [
      path.name,
      path.detail,
      `${fmt(rate, 0)} (${fmt(Math.min(...rates[i]), 0)}–${fmt(Math.max(...rates[i]), 0)})`,
      `${fmt((rate / raw) * 100, 0)}%`,
      `${fmt((rate / rawBatched) * 100, 0)}%`,
      fmt(median(results[i].map((r) => r.p50)), 2),
      fmt(median(results[i].map((r) => r.p99)), 2),
    ];
  });
  console.log(
    `\n${machineLine()}\n${N} events of ${SIZE} B data (binary mode: ce_ headers + data) per path and round, ` +
      `${ROUNDS} rounds; Kafka ${kafka.version} single node, topics of ${PARTITIONS} partitions, acks=all\n`,
  );
  console.log(
    markdownTable(
      [
        ['path', 'l'],
        ['how', 'l'],
        ['events/s median (min–max)', 'r'],
        ['of raw 1/send', 'r'],
        ['of raw batched', 'r'],
        ['p50 ms', 'r'],
        ['p99 ms', 'r'],
      ],
      rows,
    ),
  );
  console.log(
    '\nevents/s: events over the time from the first send/append to the last arrival; latency: from the ' +
      'start of one send/append to its arrival in the consumer/handler (medians over the rounds). The ' +
      'backend uses the idempotent producer and batches concurrent appends per topic into one request; ' +
      'the raw producer is not idempotent. Consumers run in the same process as the producers.',
  );
} finally {
  await kafka.stop();
}
