#!/usr/bin/env node
// Broker benchmark: throughput and latency of the standalone broker (ingress -> memory channel ->
// trigger filter -> delivery) next to a bare Node.js pass-through, in one run on one machine.
//
//   node bench/broker/run.mjs [--events N] [--connections C] [--rounds R] [--size BYTES]
//                             [--warmup N] [--timeout SECONDS]
//                             [--only baseline|chain|broker|three-process-http|three-process|three-process-traced]
//                             [--out FILE] [--profile DIR]
// See bench/broker/README.md for what is measured and how to read the table.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killAllNow, removeTempDir, startChild, stopChild } from '../lib/children.mjs';
import {
  describeFailures,
  getJson,
  makeBody,
  percentile,
  refusedCount,
  send,
  waitForSubscriber,
} from '../lib/load.mjs';
import { cpuMsOf, fmt, machineCpuMs, loud, machineLine, memoryOf, problems } from '../lib/report.mjs';
import { startStandalone, startSubscriber } from '../lib/servers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

const USAGE = `Usage: node bench/broker/run.mjs [options]
  --events N        measured events per round and path (default 20000)
  --connections C   concurrent keep-alive connections = requests in flight (default 64)
  --rounds R        rounds; each round runs baseline then broker (default 2)
  --size BYTES      JSON body size (default 256)
  --warmup N        events sent before each measurement, not measured (default 2000)
  --timeout S       seconds to wait for the subscriber to receive everything (default 30)
  --only PATHS      run only these (comma-separated): "baseline", "chain" (three pass-throughs in a
                    row), "broker", "three-process-http" (frames off), "three-process"
  --out FILE        also write the result table (Markdown) to FILE
  --dist DIR        take the three processes' bundles from DIR/apps/<app>/main.js (default dist;
                    DIR must be inside the repository, so that node_modules resolve)
  --dist-before DIR also run the three processes and standalone from DIR's bundles (another build,
                    e.g. of an earlier commit) as "three-process-before" and "broker-before" rows,
                    loaded in turn with the others
  --profile DIR     run every server under test under --cpu-prof, writing .cpuprofile files into DIR
  --help            show this help`;

// ---------------------------------------------------------------------------------------------
// options

const PATHS = ['baseline', 'chain', 'broker', 'three-process-http', 'three-process', 'three-process-traced'];

function parseOptions() {
  const { values } = parseArgs({
    strict: true,
    options: {
      events: { type: 'string', default: '20000' },
      connections: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '2' },
      size: { type: 'string', default: '256' },
      warmup: { type: 'string', default: '2000' },
      timeout: { type: 'string', default: '30' },
      only: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
      dist: { type: 'string', default: 'dist' },
      'dist-before': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (flag, text, min, max) => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      console.error(`error: --${flag} ${text}: expected an integer from ${min} to ${max}\n\n${USAGE}`);
      process.exit(2);
    }
    return n;
  };
  const only = values.only?.split(',');
  if (only !== undefined && !only.every((p) => PATHS.includes(p))) {
    console.error(`error: --only ${values.only}: expected some of ${PATHS.join(', ')}\n\n${USAGE}`);
    process.exit(2);
  }
  return {
    events: int('events', values.events, 1, 10_000_000),
    connections: int('connections', values.connections, 1, 4096),
    rounds: int('rounds', values.rounds, 1, 100),
    size: int('size', values.size, 32, 4 * 1024 * 1024 - 1),
    warmup: int('warmup', values.warmup, 0, 10_000_000),
    timeoutMs: int('timeout', values.timeout, 1, 3600) * 1000,
    only,
    out: values.out,
    profile: values.profile ? resolve(values.profile) : undefined,
    dist: resolve(root, values.dist),
    distBefore: values['dist-before'] ? resolve(root, values['dist-before']) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// the servers: subscriber and standalone come from bench/lib, the pass-through is this benchmark's own

async function startPassthrough(subscriberUrl, profileDir, name = 'passthrough') {
  const child = await startChild(
    name,
    [
      ...profileArgs(profileDir, name),
      join(here, 'passthrough.mjs'),
      '--target',
      `${subscriberUrl}/`,
      '--connections',
      '128',
    ],
    {
      ready: (line) => line.match(/^passthrough listening on (\d+)$/)?.[1],
    },
  );
  return { ...child, url: `http://127.0.0.1:${child.value}/` };
}

/**
 * Three pass-throughs in a row (load generator → 1 → 2 → 3 → subscriber): the least any topology of
 * three Node.js HTTP hops costs, for reading the three-process row against. Unlike that row it holds
 * no queue: every hop waits for the next.
 */
async function startPassthroughChain(subscriberUrl, profileDir) {
  const third = await startPassthrough(subscriberUrl, profileDir, 'passthrough-3');
  const second = await startPassthrough(third.url, profileDir, 'passthrough-2');
  const first = await startPassthrough(second.url, profileDir, 'passthrough-1');
  const children = [first, second, third];
  return {
    url: first.url,
    processes: children.map((c) => ({ name: c.name, pid: c.proc.pid })),
    stop: () => Promise.all(children.map((c) => stopChild(c))),
  };
}

function startBroker(subscriberUrl, profileDir, main) {
  return startStandalone({
    profileDir,
    main,
    name: main ? 'standalone-before' : 'standalone',
    ready: ['Broker default/default', 'Trigger default/bench'],
    yaml: `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: bench, namespace: default }
spec:
  broker: default
  filter: { attributes: { type: bench.event } }
  subscriber: { uri: ${subscriberUrl}/ }
`,
  }).then((child) => ({ ...child, url: `http://127.0.0.1:${child.port}/default/default` }));
}

/** `node --cpu-prof` arguments writing `<dir>/<name>-<pid>.cpuprofile`, or none without a dir. */
function profileArgs(dir, name) {
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}.cpuprofile`] : [];
}

/**
 * Upstream's channel-based broker as three processes on one contract file: broker-ingress → the
 * broker's channel in imc-dispatcher → one Subscription per Trigger to broker-filter → subscriber.
 * The processes start with an empty contract (so their ports are known), then get the real one.
 */
async function startThreeProcess(subscriberUrl, profileDir, distDir, extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-three-process-'));
  const contractPath = join(dir, 'contract.json');
  writeFileSync(contractPath, JSON.stringify({ version: 1, generation: 1, brokers: [], triggers: [] }));
  const start = (app) =>
    startChild(app, [...profileArgs(profileDir, app), join(distDir, 'apps', app, 'main.js')], {
      env: { PORT: '0', CONTRACT_PATH: contractPath, LOG_LEVEL: 'warn', ...extraEnv },
      ready: (line) => /listening on (http:\/\/[^"\s]+)/.exec(line)?.[1],
    });
  const [ingress, imc, filter] = [
    await start('broker-ingress'),
    await start('imc-dispatcher'),
    await start('broker-filter'),
  ];
  const policy = { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 0 };
  const contract = {
    version: 1,
    generation: 2,
    brokers: [
      {
        uid: 'b1',
        namespace: 'default',
        name: 'default',
        channelAddress: `${imc.value}/default/default-kne-trigger`,
      },
    ],
    triggers: [
      {
        uid: 't1',
        namespace: 'default',
        name: 'bench',
        broker: 'default',
        filter: { attributes: { type: 'bench.event' } },
        subscriberUri: `${subscriberUrl}/`,
        policy,
        format: 'binary',
      },
    ],
    channels: [{ uid: 'c1', namespace: 'default', name: 'default-kne-trigger' }],
    subscriptions: [
      {
        uid: 's1',
        namespace: 'default',
        name: 'bench',
        channel: { namespace: 'default', name: 'default-kne-trigger' },
        subscriberUri: `${filter.value}/triggers/default/bench/t1`,
        replyUri: `${ingress.value}/default/default`,
        policy: { retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 200 },
        format: 'binary',
      },
    ],
  };
  writeFileSync(contractPath, JSON.stringify(contract));
  // Ready once an event goes all the way through.
  const url = `${ingress.value}/default/default`;
  const until = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': 'probe', 'ce-source': '/bench', 'ce-type': 'bench.probe' },
    }).catch(() => undefined);
    if (res?.status === 202) break;
    if (Date.now() > until) throw new Error(`three-process topology not ready: last answer ${res?.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const children = [ingress, imc, filter];
  return {
    url,
    processes: children.map((c) => ({ name: c.name, pid: c.proc.pid })),
    stop: async () => {
      for (const c of children) await stopChild(c);
      removeTempDir(dir);
    },
  };
}

/**
 * An OTLP/HTTP receiver that reads and drops what the traced three processes export, counting
 * requests and bytes; it runs in this process, so its CPU is the load generator's, not the path's.
 */
async function startOtlpSink() {
  const stats = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on('data', (c) => (stats.bytes += c.length));
    req.on('end', () => {
      stats.requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stats,
    close: () => new Promise((r) => server.close(r)),
  };
}

// ---------------------------------------------------------------------------------------------
// measurement

/** CPU ms used so far by each of `processes` ({ name, pid }). */
const cpuSnapshot = (processes) => processes.map((p) => cpuMsOf(p.pid));

async function runPath(path, url, subscriberUrl, options, round, processes) {
  const body = makeBody(options.size);
  await getJson(`${subscriberUrl}/stats?reset=1`);
  if (options.warmup > 0) {
    const warm = await send(url, {
      count: options.warmup,
      connections: options.connections,
      body,
      idPrefix: `warm-${path}-${round}`,
    });
    const arrived = await waitForSubscriber(subscriberUrl, options.warmup, options.timeoutMs);
    if (warm.errors || warm.statuses.size || !arrived.complete) {
      loud(
        `${path} round ${round}: warm-up incomplete: ${arrived.unique}/${options.warmup} received, ${describeFailures(warm)}`,
      );
    }
  }
  await getJson(`${subscriberUrl}/stats?reset=1`);
  const cpuBefore = cpuSnapshot(processes);
  const machineBefore = machineCpuMs();
  const sent = await send(url, {
    count: options.events,
    connections: options.connections,
    body,
    idPrefix: `${path}-${round}`,
  });
  const arrived = await waitForSubscriber(subscriberUrl, options.events, options.timeoutMs);
  const cpuAfter = cpuSnapshot(processes);
  const machineAfter = machineCpuMs();
  const stats = await getJson(`${subscriberUrl}/stats?reset=1`);
  // Core-ms per delivered event, per process: on a machine with fewer cores than busy processes
  // this, not events/s, says what each hop costs.
  const cpu = processes.map((p, i) => ({
    name: p.name,
    msPerEvent: (cpuAfter[i] - cpuBefore[i]) / Math.max(1, stats.unique),
  }));
  const ownMs = cpuAfter.reduce((a, v, i) => a + (v - cpuBefore[i]), 0);
  // How busy the cores were while the round ran: by this run's processes, and by anything else.
  const machine =
    machineBefore && machineAfter
      ? {
          busy: (machineAfter.busyMs - machineBefore.busyMs) / (machineAfter.totalMs - machineBefore.totalMs),
          others:
            Math.max(0, machineAfter.busyMs - machineBefore.busyMs - ownMs) /
            (machineAfter.totalMs - machineBefore.totalMs),
        }
      : undefined;
  const lost = Math.max(0, options.events - stats.unique);
  if (lost > 0) {
    const refused = refusedCount(sent);
    const vanished = Math.max(0, options.events - refused - stats.unique);
    loud(
      `${path} round ${round}: LOST ${lost} of ${options.events} events (subscriber received ${stats.unique}; wait ended: ${arrived.why ?? 'complete'}): ` +
        `${vanished} acknowledged 2xx but never delivered, ${refused} not accepted (${describeFailures(sent)})`,
    );
  } else if (sent.errors || sent.statuses.size) {
    loud(`${path} round ${round}: all events arrived but some sends failed: ${describeFailures(sent)}`);
  }
  if (stats.duplicates > 0)
    loud(`${path} round ${round}: subscriber saw ${stats.duplicates} duplicate deliveries`);
  const elapsedMs = (stats.last || sent.lastAck) - sent.start;
  return {
    path,
    round,
    events: options.events,
    throughput: (stats.unique / elapsedMs) * 1000,
    ingressRate: (options.events / (sent.lastAck - sent.start)) * 1000,
    e2eP50: stats.p50,
    e2eP99: stats.p99,
    e2eMax: stats.max,
    ackP50: percentile(sent.acks, 50),
    ackP99: percentile(sent.acks, 99),
    lost,
    failedSends: refusedCount(sent),
    cpu,
    machine,
  };
}

// ---------------------------------------------------------------------------------------------
// report

function table(rows) {
  const lines = [
    '| path | events | events/s | e2e p50 ms | e2e p99 ms | ack p50 ms | ack p99 ms | lost |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const name = r.round === undefined ? r.path : `${r.path} #${r.round}`;
    lines.push(
      `| ${name} | ${r.events} | ${fmt(r.throughput, 0)} | ${fmt(r.e2eP50)} | ${fmt(r.e2eP99)} | ${fmt(r.ackP50)} | ${fmt(r.ackP99)} | ${r.lost}${r.lost ? ' ‼' : ''} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Core-ms per event for each process of each row; `harness` (load generator, subscriber) is listed
 * apart from the processes of the path under test, whose sum is the path's own cost per event.
 */
function cpuTable(rows) {
  const lines = [
    '| path | core-ms/event per process (path under test) | path total | load generator | subscriber | all processes | cores busy | of which others |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const name = r.round === undefined ? r.path : `${r.path} #${r.round}`;
    const own = r.cpu.filter((c) => !HARNESS.has(c.name));
    const of = (n) => r.cpu.find((c) => c.name === n)?.msPerEvent;
    const sum = (list) => list.reduce((a, c) => a + c.msPerEvent, 0);
    lines.push(
      `| ${name} | ${own.map((c) => `${c.name} ${fmt(c.msPerEvent, 3)}`).join(', ')} | ${fmt(sum(own), 3)} | ${fmt(of('load generator'), 3)} | ${fmt(of('subscriber'), 3)} | ${fmt(sum(r.cpu), 3)} | ${r.machine ? `${fmt(r.machine.busy * 100, 0)}%` : '—'} | ${r.machine ? `${fmt(r.machine.others * 100, 0)}%` : '—'} |`,
    );
  }
  return lines.join('\n');
}

const HARNESS = new Set(['load generator', 'subscriber']);

function best(results, path) {
  const mine = results.filter((r) => r.path === path);
  if (mine.length === 0) return undefined;
  return {
    ...mine.reduce((a, b) => (b.throughput > a.throughput ? b : a)),
    lost: mine.reduce((n, r) => n + r.lost, 0),
    round: undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// main

async function main() {
  const options = parseOptions();
  const wants = (path) => !options.only || options.only.includes(path);
  const cores = availableParallelism();
  const machine = machineLine();
  const paths = [
    wants('baseline') && 'pass-through',
    wants('chain') && '3 pass-throughs in a row',
    wants('broker') && 'standalone broker',
    wants('three-process') && 'broker-ingress + imc-dispatcher + broker-filter',
    wants('three-process-traced') &&
      'the same three with tracing on (every event sampled, OTLP/HTTP to a sink here)',
  ].filter(Boolean);
  const processes = `processes: load generator (this one), subscriber, ${paths.join(', ')} — one path is loaded at a time: 3 busy processes (one-process paths) or 5 (three-process paths) share ${cores} cores`;
  console.log(machine);
  console.log(processes);
  console.log(
    `load: ${options.events} events × ${options.rounds} rounds per path, ${options.connections} connections (= requests in flight), ${options.size} B JSON body, ${options.warmup} warm-up events per round`,
  );
  if (options.profile) {
    mkdirSync(options.profile, { recursive: true });
    console.log(`profiling: the servers under test run with --cpu-prof, profiles go to ${options.profile}`);
  }

  const subscriber = await startSubscriber(Math.max(options.events, options.warmup) + 1000);
  const passthrough = wants('baseline') ? await startPassthrough(subscriber.url, options.profile) : undefined;
  const chain = wants('chain') ? await startPassthroughChain(subscriber.url, options.profile) : undefined;
  const broker = wants('broker') ? await startBroker(subscriber.url, options.profile) : undefined;
  const brokerBefore =
    options.distBefore && wants('broker')
      ? await startBroker(
          subscriber.url,
          options.profile,
          join(options.distBefore, 'apps', 'standalone', 'main.js'),
        )
      : undefined;
  const three = wants('three-process')
    ? await startThreeProcess(subscriber.url, options.profile, options.dist)
    : undefined;
  // The same three with eventing frames off: one HTTP request per event on every hop.
  const http = wants('three-process-http')
    ? await startThreeProcess(subscriber.url, options.profile, options.dist, {
        DELIVERY_FRAMES: 'off',
        ACCEPT_FRAMES: 'off',
      })
    : undefined;
  const before =
    options.distBefore && wants('three-process')
      ? await startThreeProcess(subscriber.url, options.profile, options.distBefore)
      : undefined;
  const sink = wants('three-process-traced') ? await startOtlpSink() : undefined;
  const traced = sink
    ? await startThreeProcess(subscriber.url, options.profile, options.dist, {
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_TRACES_SAMPLER_ARG: '1',
        OTEL_BSP_SCHEDULE_DELAY: '1000',
      })
    : undefined;
  console.log(
    `subscriber ${subscriber.url}${passthrough ? `, baseline ${passthrough.url}` : ''}${broker ? `, broker ${broker.url} (pid ${broker.proc.pid})` : ''}\n`,
  );

  const results = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const [path, server] of [
        ['baseline', passthrough],
        ['chain', chain],
        ['broker-before', brokerBefore],
        ['broker', broker],
        ['three-process-before', before],
        ['three-process-http', http],
        ['three-process', three],
        ['three-process-traced', traced],
      ]) {
        if (!server) continue;
        const processes = [
          { name: 'load generator', pid: process.pid },
          { name: 'subscriber', pid: subscriber.proc.pid },
          ...(server.processes ?? [{ name: server.name, pid: server.proc.pid }]),
        ];
        const r = await runPath(path, server.url, subscriber.url, options, round, processes);
        results.push(r);
        console.log(
          `round ${round} ${path.padEnd(8)} ${fmt(r.throughput, 0).padStart(7)} events/s (ingress ${fmt(r.ingressRate, 0)}/s), e2e p50 ${fmt(r.e2eP50)} p99 ${fmt(r.e2eP99)} max ${fmt(r.e2eMax)} ms, ack p50 ${fmt(r.ackP50)} p99 ${fmt(r.ackP99)} ms, lost ${r.lost}`,
        );
        console.log(
          `        cpu core-ms/event: ${r.cpu.map((c) => `${c.name} ${fmt(c.msPerEvent, 3)}`).join(', ')}${r.machine ? `; cores ${fmt(r.machine.busy * 100, 0)}% busy, ${fmt(r.machine.others * 100, 0)}% by other processes` : ''}`,
        );
      }
    }
    const brokerMemory = broker ? memoryOf(broker.proc.pid) : undefined;

    const summary = [
      best(results, 'baseline'),
      best(results, 'chain'),
      best(results, 'broker-before'),
      best(results, 'broker'),
      best(results, 'three-process-before'),
      best(results, 'three-process-http'),
      best(results, 'three-process'),
      best(results, 'three-process-traced'),
    ].filter(Boolean);
    const lines = [
      `## Broker benchmark`,
      '',
      machine,
      processes,
      `load: ${options.events} events per round, ${options.connections} connections, ${options.size} B body, ${options.warmup} warm-up, ${options.rounds} rounds`,
      '',
      `Best round per path (highest events/s; "lost" sums all rounds):`,
      '',
      table(summary),
      '',
    ];
    const base = summary.find((r) => r.path === 'baseline');
    const brk = summary.find((r) => r.path === 'broker');
    if (base && brk) {
      const ratio = brk.throughput / base.throughput;
      lines.push(
        `broker/baseline throughput ratio: ${ratio.toFixed(2)} (target ≥ 0.70)${ratio < 0.7 ? ' — below target' : ''}`,
        '',
      );
    }
    const brkBefore = summary.find((r) => r.path === 'broker-before');
    if (brk && brkBefore) {
      const own = (r) => r.cpu.filter((c) => !HARNESS.has(c.name)).reduce((a, c) => a + c.msPerEvent, 0);
      lines.push(
        `standalone against the --dist-before build: ${fmt(own(brk) - own(brkBefore), 3)} core-ms/event ` +
          `(${fmt(own(brk), 3)} vs ${fmt(own(brkBefore), 3)}), throughput ${fmt(brk.throughput / brkBefore.throughput, 2)}×`,
        '',
      );
    }
    const tri = summary.find((r) => r.path === 'three-process');
    if (base && tri) {
      const ratio = tri.throughput / base.throughput;
      lines.push(
        `three-process/baseline throughput ratio: ${ratio.toFixed(2)} (target ≥ 0.60; upstream's same topology measured 0.23–0.30 here)${ratio < 0.6 ? ' — below target' : ''}`,
        '',
      );
    }
    const httpRow = summary.find((r) => r.path === 'three-process-http');
    if (base && httpRow) {
      lines.push(
        `three-process-http/baseline throughput ratio: ${(httpRow.throughput / base.throughput).toFixed(2)} (the same three processes, eventing frames off: one HTTP request per event per hop)`,
        '',
      );
    }
    const beforeRow = summary.find((r) => r.path === 'three-process-before');
    if (tri && beforeRow) {
      const own = (r) => r.cpu.filter((c) => !HARNESS.has(c.name)).reduce((a, c) => a + c.msPerEvent, 0);
      lines.push(
        `three-process against the --dist-before build: ${fmt(own(tri) - own(beforeRow), 3)} core-ms/event ` +
          `(${fmt(own(tri), 3)} vs ${fmt(own(beforeRow), 3)}), throughput ${fmt(tri.throughput / beforeRow.throughput, 2)}×`,
        '',
      );
    }
    const tracedRow = summary.find((r) => r.path === 'three-process-traced');
    if (tri && tracedRow) {
      const own = (r) => r.cpu.filter((c) => !HARNESS.has(c.name)).reduce((a, c) => a + c.msPerEvent, 0);
      lines.push(
        `tracing on (every event sampled): ${fmt(own(tracedRow) - own(tri), 3)} core-ms/event more for the three processes ` +
          `(${fmt(own(tracedRow), 3)} vs ${fmt(own(tri), 3)}), throughput ${fmt(tracedRow.throughput / tri.throughput, 2)}× tracing off; ` +
          `the sink received ${sink.stats.requests} OTLP exports, ${fmt(sink.stats.bytes / 1024 / 1024, 1)} MB`,
        '',
      );
    }
    const chained = summary.find((r) => r.path === 'chain');
    if (base && chained)
      lines.push(
        `chain/baseline throughput ratio: ${(chained.throughput / base.throughput).toFixed(2)} (three bare Node.js hops, no queue)`,
        '',
      );
    if (brokerMemory)
      lines.push(
        `broker memory after the run: rss ${fmt(brokerMemory.rssMb, 0)} MB, peak ${fmt(brokerMemory.peakMb, 0)} MB`,
        '',
      );
    lines.push(
      'CPU per delivered event, best round per path (core-ms; user + system from /proc, 10 ms resolution per process):',
      '',
      cpuTable(summary),
      '',
    );
    lines.push('All rounds:', '', table(results), '', cpuTable(results), '');
    if (problems.length) lines.push('**Problems:**', '', ...problems.map((p) => `- ${p}`), '');
    const report = lines.join('\n');
    console.log(`\n${report}`);
    if (options.out) {
      writeFileSync(options.out, report);
      console.log(`(written to ${options.out})`);
    }
  } finally {
    await Promise.all(
      [subscriber, passthrough, broker, brokerBefore].filter(Boolean).map((c) => stopChild(c)),
    );
    await three?.stop();
    await http?.stop();
    await traced?.stop();
    await before?.stop();
    await sink?.close();
    await chain?.stop();
    if (broker) removeTempDir(broker.configDir);
    if (brokerBefore) removeTempDir(brokerBefore.configDir);
    if (options.profile) console.log(`profile: ${options.profile}`);
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
