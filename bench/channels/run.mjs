#!/usr/bin/env node
// Channels and brokers end to end, per store, next to the raw clients on the same servers, in one run:
// the standalone process (dist/apps/standalone/main.js) with one channel and one Subscription, then
// one Broker on that channel kind with one Trigger, and on Kafka the Kafka broker class with 1 Trigger
// and with 1,000 Triggers (bench/filters' workload: 10 of them match each event). Kafka and NATS
// JetStream are real servers started through the libs/testing harnesses (test-servers.mjs).
//
//   node bench/channels/run.mjs [--events N] [--connections C] [--rounds R] [--size BYTES]
//                               [--warmup N] [--timeout S] [--only memory|kafka|jetstream]
//                               [--triggers N] [--fanout-events N] [--out FILE] [--profile DIR]
// See bench/channels/README.md for what each row means.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { killAllNow, removeTempDir, stopChild } from '../lib/children.mjs';
import {
  describeFailures,
  getJson,
  makeBody,
  percentile,
  refusedCount,
  send,
  waitForSubscriber,
} from '../lib/load.mjs';
import { fmt, loud, machineLine, markdownTable, memoryOf, problems } from '../lib/report.mjs';
import { startStandalone, startSubscriber } from '../lib/servers.mjs';
import {
  eventHeaders,
  expectedMatches,
  groupCount,
  groupOfEvent,
  makeTriggers,
  triggersYaml,
} from '../filters/workload.mjs';
import { RAW_PARTITIONS, rawJetStream, rawKafka } from './raw-e2e.mjs';
import { loadTestServers } from './test-servers.mjs';

const STORES = ['memory', 'kafka', 'jetstream'];
const TARGET_RATIO = 0.5;

const USAGE = `Usage: node bench/channels/run.mjs [options]
  --events N          measured events per round and path (default 10000)
  --connections C     keep-alive connections = requests in flight; also the raw clients' sends
                      in flight (default 64)
  --rounds R          rounds; in each, every path of a store takes one turn (default 2)
  --size BYTES        event body size; the raw clients send records of the same size (default 256)
  --warmup N          events sent and delivered before each measurement, not measured (default 1000)
  --timeout S         seconds to wait for every delivery of one measurement (default 60; it also
                      stops after 10 s without progress)
  --only STORE        run one store only: memory, kafka or jetstream
  --triggers N        Triggers of the Kafka-class fan-out case, 0 to skip it (default 1000)
  --fanout-events N   measured events of the fan-out case, one round (default 500)
  --out FILE          also write the report (Markdown) to FILE
  --profile DIR       run the standalone processes under --cpu-prof; their .cpuprofile files land in
                      DIR when they stop (read them with bench/broker/profile-top.mjs)
  --help              show this help`;

// ---------------------------------------------------------------------------------------------
// options

function parseOptions() {
  const { values } = parseArgs({
    strict: true,
    options: {
      events: { type: 'string', default: '10000' },
      connections: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '2' },
      size: { type: 'string', default: '256' },
      warmup: { type: 'string', default: '1000' },
      timeout: { type: 'string', default: '60' },
      only: { type: 'string' },
      triggers: { type: 'string', default: '1000' },
      'fanout-events': { type: 'string', default: '500' },
      out: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const usage = (message) => {
    console.error(`error: ${message}\n\n${USAGE}`);
    process.exit(2);
  };
  const int = (flag, text, min, max) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max)
      usage(`--${flag} ${text}: expected an integer from ${min} to ${max}`);
    return n;
  };
  if (values.only !== undefined && !STORES.includes(values.only))
    usage(`--only ${values.only}: expected ${STORES.join(', ')}`);
  return {
    events: int('events', values.events, 1, 10_000_000),
    connections: int('connections', values.connections, 1, 4096),
    rounds: int('rounds', values.rounds, 1, 100),
    size: int('size', values.size, 32, 4 * 1024 * 1024 - 1),
    warmup: int('warmup', values.warmup, 0, 10_000_000),
    timeoutMs: int('timeout', values.timeout, 1, 3600) * 1000,
    stores: values.only ? [values.only] : STORES,
    triggers: int('triggers', values.triggers, 0, 10_000),
    fanoutEvents: int('fanout-events', values['fanout-events'], 1, 10_000_000),
    out: values.out,
    profile: values.profile ? resolve(values.profile) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// what runs: one standalone process per path, each with only that path's resources

const CHANNEL = {
  memory: { label: 'memory', apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' },
  kafka: {
    label: 'Kafka',
    apiVersion: 'messaging.knative.dev/v1beta1',
    kind: 'KafkaChannel',
    spec: { numPartitions: RAW_PARTITIONS, replicationFactor: 1 },
  },
  jetstream: {
    label: 'NATS JetStream',
    apiVersion: 'messaging.knative.dev/v1alpha1',
    kind: 'NatsJetStreamChannel',
  },
};

const specLine = (spec) => (spec ? `spec: ${JSON.stringify(spec)}\n` : '');

/** The single-trigger paths send bench/lib/load.mjs's default event (type bench.event); one delivery each. */
const singleEvent = { headersFor: undefined, expectedFor: () => 1 };

function trigger(name, broker, subscriberUrl) {
  return `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name}, namespace: default }
spec: { broker: ${broker}, subscriber: { uri: "${subscriberUrl}/" } }
`;
}

/** The ConfigMap of the Kafka-class brokers: topics of as many partitions as the raw topic. */
const KAFKA_BROKER_CONFIG = `apiVersion: v1
kind: ConfigMap
metadata: { name: bench-kafka-broker, namespace: knative-eventing }
data:
  default.topic.partitions: "${RAW_PARTITIONS}"
  default.topic.replication.factor: "1"
`;

function kafkaClassBroker(name) {
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${name}
  namespace: default
  annotations: { eventing.knative.dev/broker.class: Kafka }
spec:
  config: { apiVersion: v1, kind: ConfigMap, name: bench-kafka-broker, namespace: knative-eventing }
`;
}

/** The paths measured on a store besides its raw client. */
function pathsOf(store, subscriberUrl) {
  const { apiVersion, kind, spec } = CHANNEL[store];
  const paths = [
    {
      table: 'channel',
      name: `${kind} → 1 Subscription`,
      triggers: 1,
      urlPath: '/_channels/default/bench',
      ready: [`${kind} default/bench`, 'Subscription default/bench'],
      ...singleEvent,
      yaml: `apiVersion: ${apiVersion}
kind: ${kind}
metadata: { name: bench, namespace: default }
${specLine(spec)}---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: { name: bench, namespace: default }
spec:
  channel: { apiVersion: ${apiVersion}, kind: ${kind}, name: bench }
  subscriber: { uri: "${subscriberUrl}/" }
`,
    },
    {
      table: 'broker',
      name: `Broker on ${kind} → 1 Trigger`,
      triggers: 1,
      urlPath: '/default/bench',
      ready: ['Broker default/bench', 'Trigger default/bench'],
      ...singleEvent,
      yaml: `apiVersion: v1
kind: ConfigMap
metadata: { name: bench-channel, namespace: knative-eventing }
data:
  channel-template-spec: |
    apiVersion: ${apiVersion}
    kind: ${kind}
${spec ? `    ${specLine(spec)}` : ''}---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: bench, namespace: default }
spec:
  config: { apiVersion: v1, kind: ConfigMap, name: bench-channel, namespace: knative-eventing }
---
${trigger('bench', 'bench', subscriberUrl)}`,
    },
  ];
  if (store === 'kafka')
    paths.push({
      table: 'broker',
      name: 'Kafka-class Broker → 1 Trigger',
      triggers: 1,
      urlPath: '/default/kafka-class',
      ready: ['Broker default/kafka-class', 'Trigger default/kafka-class'],
      ...singleEvent,
      yaml: [
        KAFKA_BROKER_CONFIG,
        kafkaClassBroker('kafka-class'),
        trigger('kafka-class', 'kafka-class', subscriberUrl),
      ].join('---\n'),
    });
  return paths;
}

/** The Kafka-class Broker default/default with bench/filters' `n` Triggers (10 match each event). */
function fanoutPath(n, subscriberUrl) {
  const triggers = makeTriggers(n);
  const [brokerDoc, ...triggerDocs] = triggersYaml(triggers, subscriberUrl).split('---\n');
  if (!/kind: Broker\n/.test(brokerDoc))
    throw new Error('bench/filters/workload.mjs: expected the Broker first');
  const expectedPerGroup = Array.from(
    { length: groupCount(n) },
    (_, g) => expectedMatches(triggers, g).length,
  );
  const headersPerGroup = expectedPerGroup.map((_, g) => eventHeaders(g));
  return {
    table: 'broker',
    name: `Kafka-class Broker → ${n.toLocaleString('en-US')} Triggers`,
    triggers: n,
    urlPath: '/default/default',
    ready: ['Broker default/default', ...triggers.map((t) => `Trigger default/${t.name}`)],
    headersFor: (i) => headersPerGroup[groupOfEvent(i, n)],
    expectedFor: (i) => expectedPerGroup[groupOfEvent(i, n)],
    yaml: [KAFKA_BROKER_CONFIG, kafkaClassBroker('default'), ...triggerDocs].join('---\n'),
  };
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU a process has used, in ms (Linux /proc), or NaN. */
function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000;
  } catch {
    return NaN;
  }
}

async function startPath(path, store, servers, profileDir) {
  const extraArgs = [];
  if (store === 'kafka') extraArgs.push('--kafka-bootstrap', servers.kafka.bootstrap);
  if (store === 'jetstream') extraArgs.push('--nats-url', servers.nats.url);
  const started = Date.now();
  const child = await startStandalone({
    yaml: path.yaml,
    ready: path.ready,
    extraArgs,
    profileDir,
    timeoutMs: 60_000 + 300 * path.triggers,
    name: `standalone (${store}: ${path.name})`,
  });
  const setupMs = Date.now() - started;
  return {
    child,
    url: `http://127.0.0.1:${child.port}${path.urlPath}`,
    setupMs,
    setupCpuMs: cpuMsOf(child.proc.pid),
    setupRssMb: memoryOf(child.proc.pid)?.rssMb,
  };
}

// ---------------------------------------------------------------------------------------------
// measurement

function totalOf(path, count) {
  let sum = 0;
  for (let i = 0; i < count; i++) sum += path.expectedFor(i);
  return sum;
}

/** One warm-up and one measured run of `events` events through a standalone path. */
async function measureHttp(store, path, server, subscriberUrl, options, round, events, warmup) {
  const label = `${store} ${path.name} round ${round}`;
  const sendOptions = {
    connections: options.connections,
    body: makeBody(options.size, 'channels'),
    headersFor: path.headersFor,
    retryStatuses: new Set([429, 503]),
  };
  await getJson(`${subscriberUrl}/stats?reset=1`);
  if (warmup > 0) {
    const warm = await send(server.url, { ...sendOptions, count: warmup, idPrefix: `warm-${round}` });
    const arrived = await waitForSubscriber(subscriberUrl, totalOf(path, warmup), options.timeoutMs, 10_000);
    if (warm.errors || warm.statuses.size || !arrived.complete)
      loud(
        `${label}: warm-up incomplete: ${arrived.unique}/${totalOf(path, warmup)} deliveries, ${describeFailures(warm)}`,
      );
  }
  await getJson(`${subscriberUrl}/stats?reset=1`);
  const expected = totalOf(path, events);
  const idPrefix = `ev-${round}`;
  const cpuBefore = cpuMsOf(server.child.proc.pid);
  const sent = await send(server.url, { ...sendOptions, count: events, idPrefix });
  const arrived = await waitForSubscriber(subscriberUrl, expected, options.timeoutMs, 10_000);
  const cpuMs = cpuMsOf(server.child.proc.pid) - cpuBefore;
  const perId = await getJson(`${subscriberUrl}/per-id`);
  const stats = await getJson(`${subscriberUrl}/stats?reset=1`);

  let lost = 0;
  let extra = 0;
  const examples = [];
  for (let i = 0; i < events; i++) {
    const got = perId[`${idPrefix}-${i}`] ?? 0;
    const want = path.expectedFor(i);
    if (got < want) {
      lost += want - got;
      if (examples.length < 5) examples.push(`${idPrefix}-${i}: ${got} of ${want}`);
    } else if (got > want) extra += got - want;
  }
  if (lost > 0)
    loud(
      `${label}: LOST ${lost} of ${expected} deliveries (wait ended: ${arrived.why ?? 'complete'}; ` +
        `${refusedCount(sent)} events not accepted: ${describeFailures(sent)}). First: ${examples.join('; ')}`,
    );
  else if (sent.errors || sent.statuses.size)
    loud(`${label}: every delivery arrived but some sends failed: ${describeFailures(sent)}`);
  if (extra > 0) loud(`${label}: ${extra} deliveries to triggers that should not have matched`);
  if (stats.duplicates > 0)
    console.warn(`${label}: the subscriber saw ${stats.duplicates} duplicate deliveries (at least once)`);

  const elapsedMs = (stats.last || sent.lastAck) - sent.start;
  const delivered = stats.unique - extra;
  return {
    round,
    events,
    deliveries: delivered,
    eventsPerSec: ((events * (delivered / expected)) / elapsedMs) * 1000,
    deliveriesPerSec: (delivered / elapsedMs) * 1000,
    acceptedPerSec: (events / (sent.lastAck - sent.start)) * 1000,
    e2eP50: stats.p50 ?? NaN,
    e2eP99: stats.p99 ?? NaN,
    ackP50: percentile(sent.acks, 50),
    ackP99: percentile(sent.acks, 99),
    lost,
    duplicates: stats.duplicates,
    resends: sent.retries,
    cpuUsPerEvent: (cpuMs * 1000) / events,
  };
}

/** One warm-up and one measured run of a raw client. */
async function measureRaw(store, servers, options, round) {
  const run = (tag, count) => {
    const settings = {
      tag,
      count,
      window: options.connections,
      payload: makeBody(options.size, 'channels'),
      timeoutMs: options.timeoutMs,
    };
    return store === 'kafka'
      ? rawKafka(servers.kafka.bootstrap, settings)
      : rawJetStream(servers.nats.url, settings);
  };
  if (options.warmup > 0) {
    const warm = await run(`warm${round}`, options.warmup);
    if (warm.received < warm.sent || warm.errors)
      loud(
        `${store} raw round ${round}: warm-up incomplete: ${warm.received}/${warm.sent} consumed, ${warm.errors} send errors`,
      );
  }
  const r = await run(`r${round}`, options.events);
  const lost = r.sent - r.received;
  if (lost > 0 || r.errors)
    loud(
      `${store} raw round ${round}: ${lost} of ${r.sent} records never consumed (wait ended: ${r.why ?? 'complete'}), ` +
        `${r.errors} sends failed${r.firstError ? ` (first: ${r.firstError.message})` : ''}`,
    );
  const elapsedMs = (r.last || r.lastAck) - r.start;
  return {
    round,
    events: r.sent,
    deliveries: r.received,
    eventsPerSec: (r.received / elapsedMs) * 1000,
    deliveriesPerSec: (r.received / elapsedMs) * 1000,
    acceptedPerSec: (r.sent / (r.lastAck - r.start)) * 1000,
    e2eP50: percentile(r.e2e, 50),
    e2eP99: percentile(r.e2e, 99),
    ackP50: percentile(r.acks, 50),
    ackP99: percentile(r.acks, 99),
    lost,
    duplicates: r.duplicates,
    resends: 0,
    cpuUsPerEvent: (r.cpuMs * 1000) / r.sent,
  };
}

const RAW_NAME = {
  kafka: '@platformatic/kafka raw: acks=all, 1 record/send → consumer',
  jetstream: '@nats-io/jetstream raw: publish + PubAck → durable consumer',
};

function logRound(row, r) {
  const fanout = row.triggers > 1 ? `, ${fmt(r.deliveriesPerSec, 0)} deliveries/s` : '';
  console.log(
    `  round ${r.round} ${row.store.padEnd(9)} ${row.name.padEnd(62)} ${fmt(r.eventsPerSec, 0).padStart(6)} events/s${fanout} ` +
      `(accepted ${fmt(r.acceptedPerSec, 0)}/s), e2e p50 ${fmt(r.e2eP50)} p99 ${fmt(r.e2eP99)} ms, ack p50 ${fmt(r.ackP50)} p99 ${fmt(r.ackP99)} ms, ` +
      `${fmt(r.cpuUsPerEvent, 0)} µs CPU/event, lost ${r.lost}`,
  );
}

/** The round with the highest events/s; `lost` sums every round. */
function best(row) {
  const top = row.rounds.reduce((a, b) => (b.eventsPerSec > a.eventsPerSec ? b : a));
  return { ...top, lost: row.rounds.reduce((n, r) => n + r.lost, 0) };
}

/** Runs the raw client (if the store has one) and every standalone path of a store, rounds interleaved. */
async function runStore(store, servers, subscriber, options) {
  const rows = [];
  if (store !== 'memory')
    rows.push({ store, table: 'channel', name: RAW_NAME[store], raw: true, triggers: 1, rounds: [] });
  for (const path of pathsOf(store, subscriber.url)) {
    const server = await startPath(path, store, servers, options.profile);
    console.log(
      `${store}: ${path.name}: standalone ready in ${fmt(server.setupMs / 1000, 1)} s (pid ${server.child.proc.pid})`,
    );
    rows.push({ store, ...path, server, rounds: [] });
  }
  try {
    for (let round = 1; round <= options.rounds; round++)
      for (const row of rows) {
        const r = row.raw
          ? await measureRaw(store, servers, options, round)
          : await measureHttp(
              store,
              row,
              row.server,
              subscriber.url,
              options,
              round,
              options.events,
              options.warmup,
            );
        row.rounds.push(r);
        logRound(row, r);
      }
  } finally {
    for (const row of rows)
      if (row.server) {
        row.peakRssMb = memoryOf(row.server.child.proc.pid)?.peakMb;
        await stopChild(row.server.child);
        removeTempDir(row.server.child.configDir);
      }
  }
  if (store === 'kafka' && options.triggers > 0) rows.push(await runFanout(servers, subscriber, options));
  return rows;
}

/** The Kafka-class Broker with `options.triggers` Triggers: setup time, one round of fewer events. */
async function runFanout(servers, subscriber, options) {
  const n = options.triggers;
  const path = fanoutPath(n, subscriber.url);
  console.log(`kafka: ${path.name}: starting (one consumer group per Trigger)`);
  const server = await startPath(path, 'kafka', servers, options.profile);
  console.log(
    `kafka: ${path.name}: ready in ${fmt(server.setupMs / 1000, 1)} s, ${fmt(server.setupCpuMs / 1000, 1)} s CPU, ` +
      `rss ${fmt(server.setupRssMb, 0)} MB (pid ${server.child.proc.pid})`,
  );
  const row = { store: 'kafka', ...path, server, rounds: [] };
  try {
    const warmup = Math.min(options.warmup, Math.ceil(options.fanoutEvents / 5));
    const r = await measureHttp(
      'kafka',
      row,
      server,
      subscriber.url,
      options,
      1,
      options.fanoutEvents,
      warmup,
    );
    row.rounds.push(r);
    logRound(row, r);
  } finally {
    row.peakRssMb = memoryOf(server.child.proc.pid)?.peakMb;
    await stopChild(server.child, 30_000);
    removeTempDir(server.child.configDir);
  }
  return row;
}

// ---------------------------------------------------------------------------------------------
// report

const pct = (x) => (Number.isFinite(x) ? `${fmt(x * 100, 0)}%` : '—');
const lostCell = (n) => `${n}${n ? ' ‼' : ''}`;

function rawOf(rows, store) {
  const raw = rows.find((r) => r.raw && r.store === store);
  return raw ? best(raw) : undefined;
}

function channelTable(rows) {
  return markdownTable(
    [
      ['store', 'l'],
      ['path', 'l'],
      ['events', 'r'],
      ['events/s', 'r'],
      ['of raw', 'r'],
      ['accepted/s', 'r'],
      ['e2e p50 ms', 'r'],
      ['e2e p99 ms', 'r'],
      ['ack p50 ms', 'r'],
      ['ack p99 ms', 'r'],
      ['lost', 'r'],
      ['peak RSS MB', 'r'],
      ['CPU µs/event', 'r'],
    ],
    rows
      .filter((row) => row.table === 'channel')
      .map((row) => {
        const b = best(row);
        const raw = rawOf(rows, row.store);
        return [
          CHANNEL[row.store].label,
          row.name,
          b.events,
          fmt(b.eventsPerSec, 0),
          raw ? pct(b.eventsPerSec / raw.eventsPerSec) : '—',
          fmt(b.acceptedPerSec, 0),
          fmt(b.e2eP50),
          fmt(b.e2eP99),
          fmt(b.ackP50),
          fmt(b.ackP99),
          lostCell(b.lost),
          row.raw ? '—' : fmt(row.peakRssMb, 0),
          `${fmt(b.cpuUsPerEvent, 0)}${row.raw ? ' ¹' : ''}`,
        ];
      }),
  );
}

function brokerTable(rows) {
  return markdownTable(
    [
      ['store', 'l'],
      ['path', 'l'],
      ['events', 'r'],
      ['deliveries', 'r'],
      ['events/s', 'r'],
      ['deliveries/s', 'r'],
      ['of raw', 'r'],
      ['accepted/s', 'r'],
      ['e2e p50 ms', 'r'],
      ['e2e p99 ms', 'r'],
      ['ack p50 ms', 'r'],
      ['ack p99 ms', 'r'],
      ['lost', 'r'],
      ['setup s', 'r'],
      ['peak RSS MB', 'r'],
      ['CPU µs/event', 'r'],
    ],
    rows
      .filter((row) => row.table === 'broker')
      .map((row) => {
        const b = best(row);
        const raw = rawOf(rows, row.store);
        return [
          CHANNEL[row.store].label,
          row.name,
          b.events,
          b.deliveries,
          fmt(b.eventsPerSec, 0),
          fmt(b.deliveriesPerSec, 0),
          raw ? pct(b.eventsPerSec / raw.eventsPerSec) : '—',
          fmt(b.acceptedPerSec, 0),
          fmt(b.e2eP50),
          fmt(b.e2eP99),
          fmt(b.ackP50),
          fmt(b.ackP99),
          lostCell(b.lost),
          fmt(row.server.setupMs / 1000, 1),
          fmt(row.peakRssMb, 0),
          fmt(b.cpuUsPerEvent, 0),
        ];
      }),
  );
}

function roundsTable(rows) {
  const lines = [];
  for (const row of rows)
    for (const r of row.rounds)
      lines.push([
        CHANNEL[row.store].label,
        row.name,
        r.round,
        fmt(r.eventsPerSec, 0),
        fmt(r.acceptedPerSec, 0),
        fmt(r.e2eP50),
        fmt(r.e2eP99),
        fmt(r.ackP50),
        fmt(r.ackP99),
        r.resends,
        r.duplicates,
        lostCell(r.lost),
      ]);
  return markdownTable(
    [
      ['store', 'l'],
      ['path', 'l'],
      ['round', 'r'],
      ['events/s', 'r'],
      ['accepted/s', 'r'],
      ['e2e p50 ms', 'r'],
      ['e2e p99 ms', 'r'],
      ['ack p50 ms', 'r'],
      ['ack p99 ms', 'r'],
      ['429/503 resends', 'r'],
      ['duplicates', 'r'],
      ['lost', 'r'],
    ],
    lines,
  );
}

/** A signed difference, e.g. "+3.20 ms" or "−1.05 ms". */
const delta = (d, unit, digits = 2) =>
  Number.isFinite(d) ? `${d < 0 ? '−' : '+'}${fmt(Math.abs(d), digits)} ${unit}` : '—';

/** The target lines and what the HTTP hop costs, from the channel rows. */
function channelNotes(rows) {
  const lines = [];
  const channelOf = (store) => {
    const row = rows.find((r) => r.table === 'channel' && !r.raw && r.store === store);
    return row ? best(row) : undefined;
  };
  for (const store of ['kafka', 'jetstream']) {
    const raw = rawOf(rows, store);
    const channel = channelOf(store);
    if (!raw || !channel) continue;
    const ratio = channel.eventsPerSec / raw.eventsPerSec;
    lines.push(
      `- ${CHANNEL[store].kind}/raw: **${pct(ratio)}** (target ≥ ${pct(TARGET_RATIO)}: ${ratio >= TARGET_RATIO ? 'met' : '**not met**'}). ` +
        `The HTTP hop here: ack p50 ${delta(channel.ackP50 - raw.ackP50, 'ms')} (ingress 202 ${fmt(channel.ackP50)} ms, raw send ${fmt(raw.ackP50)} ms), ` +
        `e2e p50 ${delta(channel.e2eP50 - raw.e2eP50, 'ms')} (${fmt(channel.e2eP50)} vs ${fmt(raw.e2eP50)} ms), ` +
        `CPU ${delta(channel.cpuUsPerEvent - raw.cpuUsPerEvent, 'µs/event', 0)} (standalone ${fmt(channel.cpuUsPerEvent, 0)}, raw client ${fmt(raw.cpuUsPerEvent, 0)}).`,
    );
  }
  const memory = channelOf('memory');
  if (lines.length || memory)
    lines.push(
      '- The raw rows have no HTTP: the client writes to the server and a consumer in the same process reads back. ' +
        'A channel row adds one HTTP request per event into the standalone ingress (CloudEvent parsed, 202 only once the store acknowledged it) ' +
        'and one from the dispatcher to the subscriber, and two more busy processes (load generator, subscriber) on the same cores' +
        (memory
          ? `. The memory row has both HTTP legs and no store: its ${fmt(memory.eventsPerSec, 0)} events/s is roughly the most the HTTP hop alone allows on this machine.`
          : '.'),
    );
  if (channelOf('kafka'))
    lines.push(
      `- A KafkaChannel Subscription delivers in order, one event in flight per partition (${RAW_PARTITIONS} here), as upstream's dispatcher does; ` +
        'while ingress accepts faster than that drains, events wait in the topic, and the wait is part of its e2e latency. ' +
        'Triggers (the broker rows) are unordered. The raw client sends one record per request; the channel batches concurrent appends into one produce request.',
    );
  return lines;
}

// ---------------------------------------------------------------------------------------------
// main

async function main() {
  const options = parseOptions();
  if (options.profile) mkdirSync(options.profile, { recursive: true });
  const cores = availableParallelism();
  const machine = machineLine();
  console.log(machine);
  console.log(
    `load: ${options.events} events × ${options.rounds} rounds per path, ${options.connections} in flight, ${options.size} B body, ` +
      `${options.warmup} warm-up events per round${options.stores.includes('kafka') && options.triggers ? `; fan-out: ${options.triggers} Triggers, ${options.fanoutEvents} events` : ''}`,
  );
  const needKafka = options.stores.includes('kafka');
  const needNats = options.stores.includes('jetstream');
  const servers = {};
  let serverInfo = '';
  if (needKafka || needNats) {
    const { startKafka, startNats } = await loadTestServers();
    const t0 = Date.now();
    [servers.kafka, servers.nats] = await Promise.all([
      needKafka ? startKafka({ heapMb: 1024 }) : undefined,
      needNats ? startNats() : undefined,
    ]);
    serverInfo = [
      servers.kafka && `Kafka ${servers.kafka.version} single node (KRaft) at ${servers.kafka.bootstrap}`,
      servers.nats && `nats-server ${servers.nats.version} (JetStream, file storage) at ${servers.nats.url}`,
    ]
      .filter(Boolean)
      .join('; ');
    console.log(`${serverInfo}: ready in ${fmt((Date.now() - t0) / 1000, 1)} s`);
  }
  const maxDeliveries = Math.max(options.events, options.warmup, options.fanoutEvents * 10);
  const subscriber = await startSubscriber(maxDeliveries + 1000);
  const startedAt = Date.now();
  const rows = [];
  try {
    for (const store of options.stores) rows.push(...(await runStore(store, servers, subscriber, options)));
  } finally {
    await stopChild(subscriber);
    await Promise.all([servers.kafka?.stop(), servers.nats?.stop()]);
  }
  const minutes = (Date.now() - startedAt) / 60_000;

  const fanout = rows.find((r) => r.triggers > 1);
  const report = [
    `## Channels and brokers per store, next to the raw clients`,
    '',
    machine,
    `servers: ${serverInfo || 'none (memory only)'}; topics of ${RAW_PARTITIONS} partitions, acks=all`,
    `processes: this one (load generator and raw clients), one subscriber, one standalone per path, the servers — ` +
      `all share ${cores} cores; one path is loaded at a time`,
    `load: ${options.events} events per round and path, ${options.rounds} rounds (best shown, "lost" sums them), ` +
      `${options.connections} requests (raw: sends) in flight, ${options.size} B body, ${options.warmup} warm-up events per round; ` +
      `measured in ${fmt(minutes, 1)} min`,
    '',
    '### Channels: ingress → channel → Subscription → subscriber',
    '',
    channelTable(rows),
    '',
    '¹ raw rows: CPU of the benchmark process (producer and consumer together); other rows: of the standalone process.',
    '',
    ...channelNotes(rows),
    '',
    '### Brokers: ingress → broker → Trigger → subscriber',
    '',
    brokerTable(rows),
    '',
    '"of raw" compares events/s with the raw client row of the same store above.',
  ];
  if (fanout) {
    const b = best(fanout);
    report.push(
      '',
      `${fanout.name}: ${b.events} events of ${groupCount(fanout.triggers)} types, each matched by ${Math.min(10, fanout.triggers)} Triggers (bench/filters' workload). ` +
        `Kafka has no targeted appends: each Trigger has its own consumer group, and each group reads every record and ` +
        `filters it, so ${fanout.triggers} consumers read each event for its ${Math.min(10, fanout.triggers)} deliveries. ` +
        `Setup (process start until the Broker and all ${fanout.triggers} Triggers are Ready, consumer groups joined): ` +
        `${fmt(fanout.server.setupMs / 1000, 1)} s, ${fmt(fanout.server.setupCpuMs / 1000, 1)} s CPU, RSS ${fmt(fanout.server.setupRssMb, 0)} MB after it; ` +
        `peak RSS ${fmt(fanout.peakRssMb, 0)} MB; ${fmt(b.cpuUsPerEvent / 1000, 1)} ms CPU per event ` +
        `(${fmt(b.cpuUsPerEvent / fanout.triggers, 1)} µs per event and Trigger).`,
    );
  }
  report.push('', 'All rounds:', '', roundsTable(rows), '');
  if (problems.length) report.push('**Problems:**', '', ...problems.map((p) => `- ${p}`), '');
  const text = report.join('\n');
  console.log(`\n${text}`);
  if (options.out) {
    writeFileSync(options.out, text);
    console.log(`(written to ${options.out})`);
  }
  if (problems.length) {
    console.error(`\n!!! ${problems.length} problem(s), see above; exiting with status 1`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(`\nbench failed: ${err.stack ?? err}`);
  killAllNow();
  process.exit(1);
});
