#!/usr/bin/env node
// Filters benchmark: what routing costs with 1, 10, 100 and 1,000 Triggers on one Broker.
//   A. routing alone, in process: TriggerIndex.match against a linear scan of every compiled filter.
//   B. ingress to subscriber, end to end, through the standalone broker with the same triggers.
//
//   node bench/filters/run.mjs [--triggers 1,10,100,1000] [--part a|b|both] [--events N]
//                              [--connections C] [--warmup N] [--size BYTES] [--timeout S]
//                              [--rounds R] [--ms MS] [--out FILE] [--profile DIR]
// See bench/filters/README.md for the workload, how to read the tables and how the index works.
import { mkdirSync, writeFileSync } from 'node:fs';
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
import { cesqlCompilerOf, loadRoutingCode, measureRouting } from './routing.mjs';
import {
  eventHeaders,
  expectedMatches,
  groupCount,
  groupOfEvent,
  kindCounts,
  makeTriggers,
  triggersYaml,
} from './workload.mjs';

const USAGE = `Usage: node bench/filters/run.mjs [options]
  --triggers LIST   trigger counts to measure, comma-separated (default 1,10,100,1000)
  --part P          a (routing in process), b (end to end) or both (default both)
  --events N        part B: measured events per trigger count (default 20000)
  --connections C   part B: keep-alive connections = requests in flight (default 64)
  --warmup N        part B: events sent and delivered before each measurement (default 2000)
  --size BYTES      part B: JSON body size (default 256)
  --timeout S       part B: seconds to wait for every delivery, per trigger count (default 180)
  --rounds R        part A: timed rounds per side, best kept (default 5)
  --ms MS           part A: milliseconds per round and side (default 300)
  --out FILE        also write the report (Markdown) to FILE
  --profile DIR     part B: run standalone under --cpu-prof, one .cpuprofile per trigger count in DIR
  --pass-cesql-compiler
                    part A: pass { cesql } built on @eventing/filters' parseCesql to compileTriggerFilter,
                    for a build whose broker does not pass one yet (part A then differs from the broker)
  --assume-no-cesql expect CESQL triggers never to match (a build without the CESQL engine);
                    figures are then not representative and the report says so
  --help            show this help`;

const TARGET_ROUTING_US = 5;
const TARGET_RATIO = 0.8;

function parseOptions() {
  const { values } = parseArgs({
    strict: true,
    options: {
      triggers: { type: 'string', default: '1,10,100,1000' },
      part: { type: 'string', default: 'both' },
      events: { type: 'string', default: '20000' },
      connections: { type: 'string', default: '64' },
      warmup: { type: 'string', default: '2000' },
      size: { type: 'string', default: '256' },
      timeout: { type: 'string', default: '180' },
      rounds: { type: 'string', default: '5' },
      ms: { type: 'string', default: '300' },
      out: { type: 'string' },
      profile: { type: 'string' },
      'assume-no-cesql': { type: 'boolean', default: false },
      'pass-cesql-compiler': { type: 'boolean', default: false },
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
  if (!['a', 'b', 'both'].includes(values.part)) usage(`--part ${values.part}: expected a, b or both`);
  const triggers = values.triggers.split(',').map((t) => int('triggers', t.trim(), 1, 10_000));
  return {
    triggers: [...new Set(triggers)].sort((a, b) => a - b),
    partA: values.part !== 'b',
    partB: values.part !== 'a',
    events: int('events', values.events, 1, 10_000_000),
    connections: int('connections', values.connections, 1, 4096),
    warmup: int('warmup', values.warmup, 0, 10_000_000),
    size: int('size', values.size, 32, 4 * 1024 * 1024 - 1),
    timeoutMs: int('timeout', values.timeout, 1, 3600) * 1000,
    rounds: int('rounds', values.rounds, 1, 100),
    ms: int('ms', values.ms, 10, 60_000),
    out: values.out,
    profile: values.profile ? resolve(values.profile) : undefined,
    cesql: !values['assume-no-cesql'],
    passCesqlCompiler: values['pass-cesql-compiler'],
  };
}

// ---------------------------------------------------------------------------------------------
// part A: routing alone

async function partA(options) {
  const code = await loadRoutingCode();
  let cesqlCompiler;
  if (options.passCesqlCompiler) {
    cesqlCompiler = cesqlCompilerOf(code);
    if (!cesqlCompiler) throw new Error('--pass-cesql-compiler: @eventing/filters exports no parseCesql');
    console.log(
      'part A passes { cesql: parseCesql-based compiler } to compileTriggerFilter (the broker may not)',
    );
  } else if (options.cesql) {
    // Tell apart "CESQL engine missing" from "engine present but compileTriggerFilter(filter, filters) does not use it".
    const probe = code.compileTriggerFilter(undefined, [{ cesql: "type = 'x'" }]);
    if (
      !probe.match({ attributes: { specversion: '1.0', id: '1', source: '/s', type: 'x' }, data: undefined })
    ) {
      loud(
        typeof code.parseCesql === 'function'
          ? "compileTriggerFilter(filter, filters) does not evaluate CESQL: @eventing/filters has parseCesql, but without a { cesql } option every cesql element fails (the broker's data plane passes none). Use --pass-cesql-compiler for part A's figures."
          : 'compileTriggerFilter(filter, filters) does not evaluate CESQL and @eventing/filters has no parseCesql: the CESQL engine has not landed (use --assume-no-cesql for a dry run)',
      );
    }
  }
  const results = [];
  for (const n of options.triggers) {
    const r = measureRouting(code, n, {
      rounds: options.rounds,
      ms: options.ms,
      poolSize: 1024,
      cesql: options.cesql,
      cesqlCompiler,
      report: loud,
    });
    results.push(r);
    console.log(
      `A  N=${String(n).padStart(4)}  index ${fmt(r.indexNs, 0).padStart(7)} ns/event   linear scan ${fmt(r.linearNs, 0).padStart(7)} ns/event   ` +
        `${fmt(r.matches, 1)} matches, ${fmt(r.evaluated, 1)} filters evaluated per event by the index`,
    );
  }
  return results;
}

function tableA(results) {
  return markdownTable(
    [
      ['triggers', 'r'],
      ['index ns/event', 'r'],
      ['index µs/event', 'r'],
      ['linear scan ns/event', 'r'],
      ['linear scan µs/event', 'r'],
      ['linear / index', 'r'],
      ['matches/event', 'r'],
      ['filters evaluated/event (index)', 'r'],
      ['buckets type / source / prefix / extension / unindexed', 'l'],
    ],
    results.map((r) => [
      r.n,
      fmt(r.indexNs, 0),
      fmt(r.indexNs / 1000, 3),
      fmt(r.linearNs, 0),
      fmt(r.linearNs / 1000, 3),
      `${fmt(r.linearNs / r.indexNs, 1)}×`,
      fmt(r.matches, 1),
      fmt(r.evaluated, 1),
      `${r.buckets.type} / ${r.buckets.source} / ${r.buckets.prefix} / ${r.buckets.extension} / ${r.buckets.unindexed}`,
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// part B: ingress to subscriber

async function partB(options, subscriber) {
  const results = [];
  const body = makeBody(options.size, 'filters');
  for (const n of options.triggers) {
    const triggers = makeTriggers(n);
    const groups = groupCount(n);
    const expectedPerGroup = Array.from(
      { length: groups },
      (_, g) => expectedMatches(triggers, g, { cesql: options.cesql }).length,
    );
    const headersPerGroup = Array.from({ length: groups }, (_, g) => eventHeaders(g));
    const headersFor = (i) => headersPerGroup[groupOfEvent(i, n)];
    const expectedFor = (i) => expectedPerGroup[groupOfEvent(i, n)];
    const total = (count) => {
      let sum = 0;
      for (let i = 0; i < count; i++) sum += expectedFor(i);
      return sum;
    };

    const startedAt = Date.now();
    const broker = await startStandalone({
      yaml: triggersYaml(triggers, subscriber.url),
      ready: ['Broker default/default', ...triggers.map((t) => `Trigger default/${t.name}`)],
      profileDir: options.profile,
      timeoutMs: 60_000 + 60 * n,
      name: `standalone (${n} triggers)`,
    });
    const url = `http://127.0.0.1:${broker.port}/default/default`;
    console.log(
      `B  N=${String(n).padStart(4)}  standalone ready in ${Date.now() - startedAt} ms (pid ${broker.proc.pid}), ${url}`,
    );
    try {
      const sendOptions = {
        connections: options.connections,
        body,
        headersFor,
        retryStatuses: new Set([429, 503]),
      };
      await getJson(`${subscriber.url}/stats?reset=1`);
      if (options.warmup > 0) {
        const warm = await send(url, { ...sendOptions, count: options.warmup, idPrefix: `warm-${n}` });
        const arrived = await waitForSubscriber(
          subscriber.url,
          total(options.warmup),
          options.timeoutMs,
          10_000,
        );
        if (warm.errors || warm.statuses.size || !arrived.complete) {
          loud(
            `N=${n}: warm-up incomplete: ${arrived.unique}/${total(options.warmup)} deliveries, ${describeFailures(warm)}`,
          );
        }
      }
      await getJson(`${subscriber.url}/stats?reset=1`);
      const expected = total(options.events);
      const sent = await send(url, { ...sendOptions, count: options.events, idPrefix: `ev-${n}` });
      const arrived = await waitForSubscriber(subscriber.url, expected, options.timeoutMs, 10_000);
      const perId = await getJson(`${subscriber.url}/per-id`);
      const stats = await getJson(`${subscriber.url}/stats?reset=1`);
      const memory = memoryOf(broker.proc.pid);
      const missing = checkDeliveries(n, options.events, expectedFor, perId, stats, sent, arrived);
      const elapsedMs = (stats.last || sent.lastAck) - sent.start;
      const r = {
        n,
        events: options.events,
        expected,
        deliveries: stats.unique,
        missing,
        eventsPerSec: (options.events / elapsedMs) * 1000,
        deliveriesPerSec: (stats.unique / elapsedMs) * 1000,
        ingressPerSec: (options.events / (sent.lastAck - sent.start)) * 1000,
        e2eP50: stats.p50,
        e2eP99: stats.p99,
        ackP50: percentile(sent.acks, 50),
        ackP99: percentile(sent.acks, 99),
        retries: sent.retries,
        duplicates: stats.duplicates,
        rssMb: memory?.peakMb,
      };
      results.push(r);
      console.log(
        `B  N=${String(n).padStart(4)}  ${fmt(r.eventsPerSec, 0)} events/s, ${fmt(r.deliveriesPerSec, 0)} deliveries/s end to end ` +
          `(ingress ${fmt(r.ingressPerSec, 0)} events/s, ${r.retries} resends after 429/503), e2e p50 ${fmt(r.e2eP50)} p99 ${fmt(r.e2eP99)} ms, ` +
          `${r.deliveries}/${expected} deliveries, peak rss ${fmt(r.rssMb, 0)} MB`,
      );
    } finally {
      await stopChild(broker);
      removeTempDir(broker.configDir);
    }
  }
  return results;
}

/** Compares every event's distinct deliveries to its expected count; reports loudly; returns the missing count. */
function checkDeliveries(n, events, expectedFor, perId, stats, sent, arrived) {
  let missing = 0;
  let extra = 0;
  const examples = [];
  for (let i = 0; i < events; i++) {
    const got = perId[`ev-${n}-${i}`] ?? 0;
    const want = expectedFor(i);
    if (got < want) {
      missing += want - got;
      if (examples.length < 5) examples.push(`ev-${n}-${i}: ${got} of ${want}`);
    } else if (got > want) extra += got - want;
  }
  if (missing > 0) {
    loud(
      `N=${n}: MISSING ${missing} of ${stats.unique + missing - extra} expected deliveries (wait ended: ${arrived.why ?? 'complete'}; ` +
        `sends: ${describeFailures(sent)}, ${refusedCount(sent)} events not accepted). First: ${examples.join('; ')}`,
    );
  }
  if (extra > 0) loud(`N=${n}: ${extra} deliveries to triggers that should not have matched`);
  if (stats.duplicates > 0)
    loud(`N=${n}: subscriber saw ${stats.duplicates} duplicate deliveries (same event, same trigger)`);
  if (missing === 0 && (sent.errors || sent.statuses.size))
    loud(`N=${n}: every delivery arrived but some sends failed: ${describeFailures(sent)}`);
  return missing;
}

function tableB(results) {
  const base = results.find((r) => r.n === 1);
  const base10 = results.find((r) => r.n === 10);
  return markdownTable(
    [
      ['triggers', 'r'],
      ['events', 'r'],
      ['deliveries', 'r'],
      ['events/s e2e', 'r'],
      ['deliveries/s', 'r'],
      ['deliveries/s ÷ N=1', 'r'],
      ['deliveries/s ÷ N=10', 'r'],
      ['ingress events/s', 'r'],
      ['e2e p50 ms', 'r'],
      ['e2e p99 ms', 'r'],
      ['ack p50 ms', 'r'],
      ['ack p99 ms', 'r'],
      ['429/503 resends', 'r'],
      ['missing', 'r'],
      ['peak rss MB', 'r'],
    ],
    results.map((r) => [
      r.n,
      r.events,
      r.deliveries,
      fmt(r.eventsPerSec, 0),
      fmt(r.deliveriesPerSec, 0),
      base ? fmt(r.deliveriesPerSec / base.deliveriesPerSec, 2) : '—',
      base10 && r.n >= 10 ? fmt(r.deliveriesPerSec / base10.deliveriesPerSec, 2) : '—',
      fmt(r.ingressPerSec, 0),
      fmt(r.e2eP50),
      fmt(r.e2eP99),
      fmt(r.ackP50),
      fmt(r.ackP99),
      r.retries,
      `${r.missing}${r.missing ? ' ‼' : ''}`,
      fmt(r.rssMb, 0),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// main

async function main() {
  const options = parseOptions();
  const cores = availableParallelism();
  const largest = options.triggers[options.triggers.length - 1];
  const mix = kindCounts(makeTriggers(largest));
  const header = [
    machineLine(),
    `triggers: ${options.triggers.join(', ')} on one broker; mix at N=${largest}: ${mix.exact} exact type, ${mix.prefix} type prefix, ${mix.cesql} CESQL; ` +
      `each event matches the 10 triggers of its group (all of them below 10)`,
  ];
  if (!options.cesql)
    header.push(
      '**--assume-no-cesql: CESQL triggers are expected never to match; these figures are not representative.**',
    );
  if (options.passCesqlCompiler)
    header.push(
      '**--pass-cesql-compiler: part A compiles CESQL with parseCesql passed explicitly; part B uses whatever the broker does.**',
    );
  for (const line of header) console.log(line);

  const report = ['## Filters benchmark', '', ...header, ''];
  if (options.partA) {
    console.log(
      `\nA. routing in process: ${options.rounds} alternating rounds × ${options.ms} ms per side, best kept\n`,
    );
    const a = await partA(options);
    const worst = a.find((r) => r.n === 1000);
    report.push(
      '### A. Routing alone, in process',
      '',
      `TriggerIndex.match vs a linear scan of every compiled filter, same compiled filters and 1,024 events per N; ` +
        `best of ${options.rounds} alternating rounds of ${options.ms} ms per side. One process, one core.`,
      '',
      tableA(a),
      '',
    );
    if (worst) {
      const us = worst.indexNs / 1000;
      report.push(
        `target: routing < ${TARGET_ROUTING_US} µs/event with 1,000 triggers — measured ${fmt(us, 2)} µs: ${us < TARGET_ROUTING_US ? 'met' : '**not met**'}`,
        '',
      );
    }
  }
  if (options.partB) {
    const processes = `processes: load generator (this one), one subscriber, one standalone broker — 3 busy processes share ${cores} cores, so absolute figures are bounded by the machine; compare rows of one run`;
    console.log(`\nB. end to end: ${processes}`);
    console.log(
      `load: ${options.events} events per N (${options.warmup} warm-up, not measured), ${options.connections} connections, ${options.size} B body; 429/503 answers are resent\n`,
    );
    if (options.profile) mkdirSync(options.profile, { recursive: true });
    const maxMatches = Math.min(10, largest);
    const subscriber = await startSubscriber((Math.max(options.events, options.warmup) + 1000) * maxMatches);
    let b;
    try {
      b = await partB(options, subscriber);
    } finally {
      await stopChild(subscriber);
    }
    report.push(
      '### B. Ingress to subscriber, end to end',
      '',
      processes,
      `load: ${options.events} events per N, ${options.connections} connections, ${options.size} B body, ${options.warmup} warm-up; every trigger delivers to the same subscriber process`,
      '',
      tableB(b),
      '',
      'With 10 or more triggers every event fans out to 10 deliveries, with 1 trigger to one, so events/s alone would compare ' +
        'different amounts of work: deliveries/s is the fair unit, and its ratio to N=1 is the figure the target is about. ' +
        'One caveat cuts the other way: at N=1 each delivery pays for a whole ingress request, at N≥10 one request feeds 10 deliveries, ' +
        'so deliveries/s ÷ N=1 can exceed 1. "deliveries/s ÷ N=10" compares equal fan-out (10 deliveries per event) and isolates what the ' +
        'extra non-matching triggers cost. ' +
        '"events/s e2e" = events ÷ (last delivery − first send); "ingress" = events ÷ (last 202 − first send), i.e. how fast the broker accepted them; ' +
        'e2e latency includes the wait in the memory channel, which grows while ingress outpaces delivery.',
      '',
    );
    const base = b.find((r) => r.n === 1);
    const base10 = b.find((r) => r.n === 10);
    const worst = b.find((r) => r.n === 1000);
    if (base && worst) {
      const ratio = worst.deliveriesPerSec / base.deliveriesPerSec;
      const same = base10
        ? `; against 10 triggers (same fan-out) ${fmt((worst.deliveriesPerSec / base10.deliveriesPerSec) * 100, 0)}%`
        : '';
      report.push(
        `target: deliveries/s with 1,000 triggers ≥ ${TARGET_RATIO * 100}% of 1 trigger — measured ${fmt(ratio * 100, 0)}%: ${ratio >= TARGET_RATIO ? 'met' : '**not met**'}${same}`,
        `events/s with 1,000 triggers vs 1 trigger: ${fmt((worst.eventsPerSec / base.eventsPerSec) * 100, 0)}% (each event does 10× the delivery work)`,
        '',
      );
    }
    if (options.profile)
      report.push(
        `profiles: ${options.profile} (one per trigger count; read with node bench/broker/profile-top.mjs)`,
        '',
      );
  }
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
