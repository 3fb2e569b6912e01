// Soak: pushes events into the standalone broker for --seconds at a rate its subscriber cannot
// absorb, samples the broker's resident memory every second, then waits for the backlog to drain
// and checks that every accepted event was delivered or dead-lettered (accepted = delivered +
// dead-lettered, none lost), and that memory plateaued instead of growing with the backlog.
//
//   node bench/soak/run.mjs [--seconds 60] [--connections 64] [--delay 10] [--max-in-flight 20]
//                           [--queue-capacity 20000] [--fail-every 50] [--out FILE]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { killAllNow, removeTempDir, root, startChild, stopChild } from '../lib/children.mjs';
import { startStandalone } from '../lib/servers.mjs';
import { fmt, loud, machineLine, markdownTable, memoryOf, problems } from '../lib/report.mjs';
import { getJson } from '../lib/load.mjs';

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    connections: { type: 'string', default: '64' },
    delay: { type: 'string', default: '10' },
    'max-in-flight': { type: 'string', default: '20' },
    'queue-capacity': { type: 'string', default: '20000' },
    'fail-every': { type: 'string', default: '50' },
    'drain-timeout': { type: 'string', default: '180' },
    out: { type: 'string' },
  },
});
const seconds = Number(opt.seconds);
const connections = Number(opt.connections);

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(signal, () => {
    killAllNow();
    process.exit(130);
  });

const subscriber = await startChild(
  'subscriber',
  [join(root, 'bench/soak/slow-subscriber.mjs'), '--delay', opt.delay, '--fail-every', opt['fail-every']],
  {
    ready: (line) => line.match(/^subscriber listening on (\d+)$/)?.[1],
  },
);
const subUrl = `http://127.0.0.1:${subscriber.value}`;
const yaml = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: soak, namespace: default }
spec:
  broker: default
  subscriber: { uri: "${subUrl}/sub" }
  delivery:
    retry: 2
    backoffPolicy: exponential
    backoffDelay: PT0.05S
    deadLetterSink: { uri: "${subUrl}/dls" }
`;
const broker = await startStandalone({
  yaml,
  ready: ['Broker default/default', 'Trigger default/soak'],
  extraArgs: ['--max-in-flight', opt['max-in-flight'], '--queue-capacity', opt['queue-capacity']],
});
const ingress = `http://127.0.0.1:${broker.port}/default/default`;
console.log(machineLine());
console.log(
  `soak: ${seconds} s, ${connections} connections into ${ingress}; subscriber ${opt.delay} ms per event, ${opt['max-in-flight']} in flight per trigger (≈ ${Math.round((Number(opt['max-in-flight']) * 1000) / Number(opt.delay))} events/s it can absorb), queue capacity ${opt['queue-capacity']}, every ${opt['fail-every']}th event dead-lettered`,
);

const pool = new Pool(new URL(ingress).origin, { connections, pipelining: 1 });
const accepted = new Set();
const statuses = new Map();
let errors = 0;
let next = 0;
let sending = true;
const body = JSON.stringify({ soak: true, pad: 'x'.repeat(200) });

async function worker() {
  while (sending) {
    const id = `s${next++}`;
    try {
      const res = await pool.request({
        path: '/default/default',
        method: 'POST',
        headers: {
          'ce-specversion': '1.0',
          'ce-id': id,
          'ce-source': '/soak',
          'ce-type': 'soak.event',
          'content-type': 'application/json',
        },
        body,
      });
      await res.body.dump();
      if (res.statusCode === 202) accepted.add(id);
      else statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      // Back off briefly when refused, as a well-behaved producer honouring Retry-After would (scaled down).
      if (res.statusCode === 503 || res.statusCode === 429) await sleep(20);
    } catch {
      errors++;
    }
  }
}

const samples = [];
/** The broker's V8 heap in use (MB), from its own /metrics. */
async function heapUsedMb() {
  try {
    const text = await (await fetch(`http://127.0.0.1:${broker.port}/metrics`)).text();
    return Number(text.match(/^nodejs_heap_size_used_bytes (\S+)$/m)?.[1]) / 1024 / 1024;
  } catch {
    return NaN;
  }
}
const started = Date.now();
const workers = Array.from({ length: connections }, worker);
const sampler = setInterval(async () => {
  const mem = memoryOf(broker.proc.pid);
  const counts = await getJson(`${subUrl}/counts`).catch(() => ({}));
  const heap = await heapUsedMb();
  const rejected = [...statuses.values()].reduce((a, b) => a + b, 0);
  samples.push({
    t: Math.round((Date.now() - started) / 1000),
    rss: mem?.rssMb ?? NaN,
    heap,
    accepted: accepted.size,
    rejected,
    delivered: counts.delivered ?? 0,
    dead: counts.dead ?? 0,
  });
}, 1000);
await sleep(seconds * 1000);
sending = false;
await Promise.all(workers);
const sendEnd = Date.now();

// Drain: wait until every accepted event is delivered or dead-lettered, or the timeout passes.
const drainUntil = Date.now() + Number(opt['drain-timeout']) * 1000;
let counts = await getJson(`${subUrl}/counts`);
while (counts.delivered + counts.dead < accepted.size && Date.now() < drainUntil) {
  await sleep(500);
  counts = await getJson(`${subUrl}/counts`);
}
clearInterval(sampler);
const drainSeconds = (Date.now() - sendEnd) / 1000;
const ids = await getJson(`${subUrl}/ids`);
const seen = new Set([...ids.delivered, ...ids.dead]);
const lost = [...accepted].filter((id) => !seen.has(id));
const both = ids.delivered.filter((id) => ids.dead.includes(id)).length;
const rejected = [...statuses.values()].reduce((a, b) => a + b, 0);

const every = Math.max(1, Math.floor(samples.length / 15));
const shown = samples.filter((s, i) => i % every === 0 || i === samples.length - 1);
const rssTable = markdownTable(
  ['t s', 'RSS MB', 'heap used MB', 'accepted', 'rejected (503)', 'delivered', 'dead-lettered'].map((t) => [
    t,
    'r',
  ]),
  shown.map((s) => [
    String(s.t),
    fmt(s.rss, 1),
    fmt(s.heap, 1),
    String(s.accepted),
    String(s.rejected),
    String(s.delivered),
    String(s.dead),
  ]),
);
const during = samples.filter((s) => s.t <= seconds);
const third = Math.max(1, Math.floor(during.length / 3));
const middlePeak = Math.max(...during.slice(third, 2 * third).map((s) => s.rss));
const lastPeak = Math.max(...during.slice(2 * third).map((s) => s.rss));
const growth = lastPeak / middlePeak - 1;
const mem = memoryOf(broker.proc.pid);
const summary = markdownTable(
  [
    'accepted',
    'delivered',
    'dead-lettered',
    'rejected',
    'send errors',
    'lost',
    'in both',
    'duplicates',
    'peak RSS MB',
    'drain s',
  ].map((t) => [t, 'r']),
  [
    [
      String(accepted.size),
      String(counts.delivered),
      String(counts.dead),
      `${rejected} (${[...statuses].map(([k, v]) => `${k}×${v}`).join(', ') || 'none'})`,
      String(errors),
      String(lost.length),
      String(both),
      String(counts.duplicates),
      fmt(mem?.peakMb ?? NaN, 1),
      fmt(drainSeconds, 1),
    ],
  ],
);
const plateau = `RSS peak in the last third of the run vs the middle third: ${fmt(lastPeak, 1)} MB vs ${fmt(middlePeak, 1)} MB (${growth >= 0 ? '+' : ''}${fmt(growth * 100, 1)}%) — ${growth < 0.1 ? 'plateau' : 'STILL GROWING'}`;
const balance = `accepted = delivered + dead-lettered: ${accepted.size} = ${counts.delivered} + ${counts.dead} → ${accepted.size === counts.delivered + counts.dead && lost.length === 0 ? 'holds, none lost' : 'DOES NOT HOLD'}`;
const report = [rssTable, '', summary, '', plateau, balance].join('\n');
console.log('\n' + report);
if (lost.length > 0) loud(`LOST ${lost.length} accepted events, e.g. ${lost.slice(0, 5).join(', ')}`);
if (growth >= 0.1) loud('resident memory kept growing during the soak');
if (opt.out) writeFileSync(opt.out, report + '\n');

await pool.close();
await stopChild(broker);
removeTempDir(broker.configDir);
await stopChild(subscriber);
process.exit(problems.length > 0 ? 1 : 0);
