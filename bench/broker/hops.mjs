#!/usr/bin/env node
// What each process of the three-process broker costs as one HTTP hop, next to the bare pass-through
// in the same run: load generator → <one process> → subscriber, one process at a time.
//
//   node bench/broker/hops.mjs [--events N] [--connections C] [--rounds R] [--size BYTES]
//                              [--warmup N] [--dist DIR] [--out FILE]
// See bench/broker/README.md ("One hop at a time").
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killAllNow, removeTempDir, startChild, stopChild } from '../lib/children.mjs';
import { describeFailures, getJson, makeBody, refusedCount, send, waitForSubscriber } from '../lib/load.mjs';
import { cpuMsOf, fmt, loud, machineCpuMs, machineLine, markdownTable, problems } from '../lib/report.mjs';
import { startSubscriber } from '../lib/servers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

const USAGE = `Usage: node bench/broker/hops.mjs [options]
  --events N        measured events per round and hop (default 20000)
  --connections C   keep-alive connections = requests in flight (default 64)
  --rounds R        rounds; each round loads every hop once (default 3)
  --size BYTES      JSON body size (default 256)
  --warmup N        events sent before each measurement, not measured (default 2000)
  --dist DIR        take the apps' bundles from DIR/apps/<app>/main.js (default dist)
  --out FILE        also write the result table (Markdown) to FILE`;

function parseOptions() {
  const { values } = parseArgs({
    strict: true,
    options: {
      events: { type: 'string', default: '20000' },
      connections: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '3' },
      size: { type: 'string', default: '256' },
      warmup: { type: 'string', default: '2000' },
      dist: { type: 'string', default: 'dist' },
      out: { type: 'string' },
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
  return {
    events: int('events', values.events, 1, 10_000_000),
    connections: int('connections', values.connections, 1, 4096),
    rounds: int('rounds', values.rounds, 1, 100),
    size: int('size', values.size, 32, 4 * 1024 * 1024 - 1),
    warmup: int('warmup', values.warmup, 0, 10_000_000),
    dist: resolve(root, values.dist),
    out: values.out,
  };
}

const BENCH_EVENT = {
  'ce-specversion': '1.0',
  'ce-source': '/bench/loadgen',
  'ce-type': 'bench.event',
  'content-type': 'application/json',
};
// broker-filter takes only what a broker's channel sends: events that carry the broker's TTL.
const FILTER_EVENT = { ...BENCH_EVENT, 'ce-knativebrokerttl': '254' };

/**
 * The three apps on one contract, each wired to the subscriber alone: broker-ingress appends to a
 * broker whose channel address is the subscriber (it answers 202 once the subscriber did, like the
 * pass-through); imc-dispatcher serves a channel whose one Subscription is the subscriber (202 once
 * queued); broker-filter serves a Trigger whose subscriber is the subscriber.
 */
async function startApps(subscriberUrl, distDir) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-hops-'));
  const contractPath = join(dir, 'contract.json');
  const policy = { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 0 };
  writeFileSync(
    contractPath,
    JSON.stringify({
      version: 1,
      generation: 1,
      brokers: [{ uid: 'b1', namespace: 'default', name: 'default', channelAddress: `${subscriberUrl}/` }],
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
      channels: [{ uid: 'c1', namespace: 'default', name: 'bench' }],
      subscriptions: [
        {
          uid: 's1',
          namespace: 'default',
          name: 'bench',
          channel: { namespace: 'default', name: 'bench' },
          subscriberUri: `${subscriberUrl}/`,
          policy,
          format: 'binary',
        },
      ],
    }),
  );
  const start = (app) =>
    startChild(app, [join(distDir, 'apps', app, 'main.js')], {
      env: { PORT: '0', CONTRACT_PATH: contractPath, LOG_LEVEL: 'warn' },
      ready: (line) => /listening on (http:\/\/[^"\s]+)/.exec(line)?.[1],
    });
  const ingress = await start('broker-ingress');
  const imc = await start('imc-dispatcher');
  const filter = await start('broker-filter');
  return {
    hops: [
      { name: 'broker-ingress', child: ingress, url: `${ingress.value}/default/default`, event: BENCH_EVENT },
      { name: 'imc-dispatcher', child: imc, url: `${imc.value}/default/bench`, event: BENCH_EVENT },
      {
        name: 'broker-filter',
        child: filter,
        url: `${filter.value}/triggers/default/bench/t1`,
        event: FILTER_EVENT,
      },
    ],
    stop: async () => {
      for (const c of [ingress, imc, filter]) await stopChild(c);
      removeTempDir(dir);
    },
  };
}

/** Sends until one event goes through (the contract is read shortly after start). */
async function waitUntilServing(hop, subscriberUrl) {
  const until = Date.now() + 30_000;
  for (;;) {
    await getJson(`${subscriberUrl}/stats?reset=1`);
    const sent = await send(hop.url, {
      count: 1,
      connections: 1,
      body: makeBody(64),
      idPrefix: `probe-${hop.name}`,
      headersFor: () => hop.event,
    });
    if (refusedCount(sent) === 0 && (await waitForSubscriber(subscriberUrl, 1, 2_000, 2_000)).complete)
      return;
    if (Date.now() > until) throw new Error(`${hop.name} not serving: ${describeFailures(sent)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function measure(hop, subscriberUrl, options, round) {
  const body = makeBody(options.size);
  const load = (count, idPrefix) =>
    send(hop.url, { count, connections: options.connections, body, idPrefix, headersFor: () => hop.event });
  await getJson(`${subscriberUrl}/stats?reset=1`);
  if (options.warmup > 0) {
    await load(options.warmup, `warm-${hop.name}-${round}`);
    await waitForSubscriber(subscriberUrl, options.warmup, 30_000);
  }
  await getJson(`${subscriberUrl}/stats?reset=1`);
  const pids = [process.pid, hop.subscriberPid, hop.child.proc.pid];
  const before = pids.map(cpuMsOf);
  const machineBefore = machineCpuMs();
  const sent = await load(options.events, `${hop.name}-${round}`);
  const arrived = await waitForSubscriber(subscriberUrl, options.events, 30_000);
  const after = pids.map(cpuMsOf);
  const machineAfter = machineCpuMs();
  const stats = await getJson(`${subscriberUrl}/stats?reset=1`);
  const lost = Math.max(0, options.events - stats.unique);
  if (lost > 0 || refusedCount(sent) > 0)
    loud(
      `${hop.name} round ${round}: ${lost} lost (${arrived.why ?? 'complete'}), ${describeFailures(sent)}`,
    );
  const per = (i) => (after[i] - before[i]) / Math.max(1, stats.unique);
  const ownMs = after.reduce((a, v, i) => a + v - before[i], 0);
  const total = machineAfter && machineBefore ? machineAfter.totalMs - machineBefore.totalMs : NaN;
  return {
    hop: hop.name,
    round,
    throughput: (stats.unique / ((stats.last || sent.lastAck) - sent.start)) * 1000,
    loadgen: per(0),
    subscriber: per(1),
    process: per(2),
    others:
      machineAfter && machineBefore ? (machineAfter.busyMs - machineBefore.busyMs - ownMs) / total : NaN,
    lost,
  };
}

async function main() {
  const options = parseOptions();
  console.log(machineLine());
  console.log(
    `load: ${options.events} events × ${options.rounds} rounds per hop, ${options.connections} connections, ${options.size} B body, ${options.warmup} warm-up`,
  );
  const subscriber = await startSubscriber(Math.max(options.events, options.warmup) + 1000);
  const passthrough = await startChild(
    'passthrough',
    [join(here, 'passthrough.mjs'), '--target', `${subscriber.url}/`, '--connections', '128'],
    { ready: (line) => line.match(/^passthrough listening on (\d+)$/)?.[1] },
  );
  const apps = await startApps(subscriber.url, options.dist);
  const hops = [
    {
      name: 'passthrough',
      child: passthrough,
      url: `http://127.0.0.1:${passthrough.value}/`,
      event: BENCH_EVENT,
    },
    ...apps.hops,
  ];
  for (const hop of hops) hop.subscriberPid = subscriber.proc.pid;
  const results = [];
  try {
    for (const hop of hops) await waitUntilServing(hop, subscriber.url);
    for (let round = 1; round <= options.rounds; round++) {
      for (const hop of hops) {
        const r = await measure(hop, subscriber.url, options, round);
        results.push(r);
        console.log(
          `round ${round} ${hop.name.padEnd(15)} ${fmt(r.throughput, 0).padStart(6)} events/s, core-ms/event: ${hop.name} ${fmt(r.process, 3)}, load generator ${fmt(r.loadgen, 3)}, subscriber ${fmt(r.subscriber, 3)}; ${fmt(r.others * 100, 0)}% of the cores used by other processes`,
        );
      }
    }
    // Per hop, its cheapest round (the first round of a run is slower everywhere: the processes and
    // the load generator are still warming up); the ratio compares the process with the pass-through
    // of the same round, median over the rounds.
    const rows = [];
    for (const hop of hops) {
      const mine = results.filter((r) => r.hop === hop.name);
      const ratios = mine
        .map((r) => r.process / results.find((b) => b.hop === 'passthrough' && b.round === r.round).process)
        .sort((a, b) => a - b);
      const best = mine.reduce((a, b) => (b.process < a.process ? b : a));
      rows.push([
        hop.name,
        fmt(best.throughput, 0),
        fmt(best.process, 3),
        fmt(best.loadgen + best.subscriber, 3),
        `${fmt(ratios[Math.floor(ratios.length / 2)], 2)} (${fmt(ratios[0], 2)}–${fmt(ratios[ratios.length - 1], 2)})`,
        `${fmt(best.others * 100, 0)}%`,
      ]);
    }
    const report = [
      '## One hop at a time',
      '',
      machineLine(),
      `load: ${options.events} events per round, ${options.connections} connections, ${options.size} B body, ${options.rounds} rounds`,
      '',
      markdownTable(
        [
          ['hop (load generator → it → subscriber)', 'l'],
          ['events/s', 'r'],
          ['core-ms/event', 'r'],
          ['harness core-ms/event', 'r'],
          ['× pass-through, median (range)', 'r'],
          ['others busy', 'r'],
        ],
        rows,
      ),
      '',
      "Each row: the hop's cheapest round; \"× pass-through\" is the process's core-ms/event over the pass-through's in the same round, median and range over the rounds.",
      '',
    ].join('\n');
    console.log(`\n${report}`);
    if (options.out) writeFileSync(options.out, report);
  } finally {
    await apps.stop();
    await Promise.all([subscriber, passthrough].map((c) => stopChild(c)));
  }
  if (problems.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`\nbench failed: ${err.stack ?? err}`);
  killAllNow();
  process.exit(1);
});
