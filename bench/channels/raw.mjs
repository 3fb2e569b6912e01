#!/usr/bin/env node
// Raw client throughput on real servers, in one run: kafkajs against @platformatic/kafka on a
// single-node Kafka (acks=all, one 3-partition topic per client and mode), and @nats-io/jetstream
// (publish awaiting the PubAck, then a durable pull consumer with explicit acks). No code of ours
// between client and server: this is the ceiling a Kafka or JetStream channel can reach here.
//
//   node bench/channels/raw.mjs [--messages 20000] [--size 256]
//
// Each produce mode writes its own topic; the consumer of the one-message-per-send topic then reads
// it from the earliest offset in a new group, timed from subscribing to the last message. Latencies
// are per send() (per batch in batch mode). Run it with Node 24: `npm run bench:channels-raw`.
import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Admin, Consumer as PConsumer, Producer as PProducer } from '@platformatic/kafka';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fmt, machineLine, markdownTable } from '../lib/report.mjs';
import { loadTestServers } from './test-servers.mjs';

const { values } = parseArgs({
  options: { messages: { type: 'string', default: '20000' }, size: { type: 'string', default: '256' } },
});
const N = Number(values.messages);
const SIZE = Number(values.size);
const PARTITIONS = 3;
const WINDOW = 64; // sends in flight, one message each
const BATCH = 100; // messages per send in batch mode
const BATCH_WINDOW = 4;
const WARMUP = 2_000;

const payload = randomBytes(SIZE);
const log = (s) => process.stderr.write(`${s}\n`);

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130)); // runs the harness's exit cleanup

/** Runs `count` calls of `op(i)` with `window` in flight; returns elapsed ms and each call's latency. */
async function pump(count, window, op) {
  const latencies = new Float64Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const t = performance.now();
      await op(i);
      latencies[i] = performance.now() - t;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  return { ms: performance.now() - t0, latencies };
}

function percentile(latencies, p) {
  const sorted = Float64Array.from(latencies).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Produce rate and send latency percentiles for `messages` messages. */
function produceStats(messages, { ms, latencies }) {
  return { rate: (messages / ms) * 1000, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

// --- kafkajs -------------------------------------------------------------------------------------

async function kafkajsRun(bootstrap, tag, measure) {
  const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const single = `kafkajs-single-${tag}`;
  const batched = `kafkajs-batch-${tag}`;
  await admin.createTopics({
    topics: [single, batched].map((topic) => ({ topic, numPartitions: PARTITIONS })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const n = measure ? N : WARMUP;
  const one = await pump(n, WINDOW, () =>
    producer.send({ topic: single, acks: -1, messages: [{ value: payload }] }),
  );
  const batchMessages = Array.from({ length: BATCH }, () => ({ value: payload }));
  const many = await pump(Math.ceil(n / BATCH), BATCH_WINDOW, () =>
    producer.send({ topic: batched, acks: -1, messages: batchMessages }),
  );
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `bench-${tag}` });
  await consumer.connect();
  await consumer.subscribe({ topic: single, fromBeginning: true });
  const t0 = performance.now();
  let first = 0;
  let count = 0;
  await new Promise((done, fail) => {
    consumer
      .run({
        eachMessage: async () => {
          if (count === 0) first = performance.now();
          if (++count === n) done();
        },
      })
      .catch(fail);
  });
  const last = performance.now();
  await consumer.disconnect();
  return {
    single: produceStats(n, one),
    batch: produceStats(Math.ceil(n / BATCH) * BATCH, many),
    consume: { rate: (n / (last - t0)) * 1000, firstMs: first - t0, count },
  };
}

// --- @platformatic/kafka -------------------------------------------------------------------------

async function platformaticRun(bootstrap, tag, measure) {
  const admin = new Admin({ clientId: 'bench', bootstrapBrokers: [bootstrap] });
  const single = `platformatic-single-${tag}`;
  const batched = `platformatic-batch-${tag}`;
  await admin.createTopics({ topics: [single, batched], partitions: PARTITIONS, replicas: 1 });
  await admin.close();
  const producer = new PProducer({ clientId: 'bench', bootstrapBrokers: [bootstrap], acks: -1 });
  const n = measure ? N : WARMUP;
  const one = await pump(n, WINDOW, () => producer.send({ messages: [{ topic: single, value: payload }] }));
  const batchMessages = Array.from({ length: BATCH }, () => ({ topic: batched, value: payload }));
  const many = await pump(Math.ceil(n / BATCH), BATCH_WINDOW, () =>
    producer.send({ messages: batchMessages }),
  );
  await producer.close();

  const consumer = new PConsumer({
    clientId: 'bench',
    groupId: `bench-${tag}`,
    bootstrapBrokers: [bootstrap],
  });
  const t0 = performance.now();
  const stream = await consumer.consume({ topics: [single], mode: 'earliest', autocommit: true });
  let first = 0;
  let count = 0;
  for await (const _message of stream) {
    if (count === 0) first = performance.now();
    if (++count === n) break;
  }
  const last = performance.now();
  await stream.close();
  await consumer.close(true);
  return {
    single: produceStats(n, one),
    batch: produceStats(Math.ceil(n / BATCH) * BATCH, many),
    consume: { rate: (n / (last - t0)) * 1000, firstMs: first - t0, count },
  };
}

// --- @nats-io/jetstream --------------------------------------------------------------------------

async function jetstreamRun(url, tag, measure) {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  const stream = `RAW_${tag}`;
  await jsm.streams.add({ name: stream, subjects: [`raw.${tag}.>`], storage: StorageType.File });
  await jsm.consumers.add(stream, { durable_name: 'bench', ack_policy: AckPolicy.Explicit });
  const js = jetstream(nc);
  const n = measure ? N : WARMUP;
  const one = await pump(n, WINDOW, (i) => js.publish(`raw.${tag}.${i % PARTITIONS}`, payload));

  const consumer = await js.consumers.get(stream, 'bench');
  const t0 = performance.now();
  const messages = await consumer.consume({ max_messages: 1_000 });
  let first = 0;
  let count = 0;
  for await (const m of messages) {
    if (count === 0) first = performance.now();
    m.ack();
    if (++count === n) break;
  }
  const last = performance.now();
  await messages.close();
  await nc.close();
  return {
    single: produceStats(n, one),
    consume: { rate: (n / (last - t0)) * 1000, firstMs: first - t0, count },
  };
}

// --- run -----------------------------------------------------------------------------------------

const { startKafka, startNats } = await loadTestServers();
const started = performance.now();
const [kafka, nats] = await Promise.all([startKafka({ heapMb: 1024 }), startNats()]);
log(`servers ready in ${fmt((performance.now() - started) / 1000, 1)} s; warming up`);
try {
  await kafkajsRun(kafka.bootstrap, 'warmup', false);
  await platformaticRun(kafka.bootstrap, 'warmup', false);
  await jetstreamRun(nats.url, 'warmup', false);
  log(`measuring ${N} messages of ${SIZE} B per client`);
  const kj = await kafkajsRun(kafka.bootstrap, 'run', true);
  log('kafkajs done');
  const pk = await platformaticRun(kafka.bootstrap, 'run', true);
  log('@platformatic/kafka done');
  const js = await jetstreamRun(nats.url, 'run', true);
  log('@nats-io/jetstream done');

  for (const [name, r] of [
    ['kafkajs', kj],
    ['@platformatic/kafka', pk],
    ['@nats-io/jetstream', js],
  ])
    if (r.consume.count !== N) throw new Error(`${name} consumed ${r.consume.count} of ${N}`);

  const single = `1 msg/send, ${WINDOW} in flight`;
  const batch = `${BATCH} msgs/send, ${BATCH_WINDOW} in flight`;
  const row = (client, server, mode, p, c) => [
    client,
    server,
    mode,
    fmt(p.rate, 0),
    fmt(p.p50, 2),
    fmt(p.p99, 2),
    c ? fmt(c.rate, 0) : '—',
    c ? fmt(c.firstMs, 0) : '—',
  ];
  console.log(
    `\n${machineLine()}\n${N} messages of ${SIZE} B; Kafka ${kafka.version} single node, acks=all, ` +
      `topics of ${PARTITIONS} partitions; nats-server ${nats.version} file-storage stream, PubAck awaited per publish\n`,
  );
  console.log(
    markdownTable(
      [
        ['client', 'l'],
        ['server', 'l'],
        ['produce mode', 'l'],
        ['produce msg/s', 'r'],
        ['send p50 ms', 'r'],
        ['send p99 ms', 'r'],
        ['consume msg/s', 'r'],
        ['first message after ms', 'r'],
      ],
      [
        row('kafkajs 2.2', 'Kafka', single, kj.single, kj.consume),
        row('kafkajs 2.2', 'Kafka', batch, kj.batch),
        row('@platformatic/kafka 2.12', 'Kafka', single, pk.single, pk.consume),
        row('@platformatic/kafka 2.12', 'Kafka', batch, pk.batch),
        row(
          '@nats-io/jetstream 3.4',
          'NATS JetStream',
          `1 msg/publish, ${WINDOW} in flight`,
          js.single,
          js.consume,
        ),
      ],
    ),
  );
  console.log(
    '\nconsume: a new group (Kafka) or durable pull consumer with explicit acks (JetStream) reads the ' +
      '1 msg/send topic from the start; msg/s counts from subscribing (connect, group join, first ' +
      'fetch included) to the last message; "first message after" is the part before the first message.',
  );
} finally {
  await Promise.all([kafka.stop(), nats.stop()]);
}
