// The load generator and the subscriber polling shared by the benchmarks.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request } from 'undici';

/** Epoch milliseconds with sub-millisecond precision; the clock every process stamps with. */
export const now = () => performance.timeOrigin + performance.now();

/** GET url and parse the 200 JSON answer (10 s timeouts). */
export async function getJson(url) {
  const res = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode}`);
  return res.body.json();
}

/** A JSON body of exactly `size` bytes. */
export function makeBody(size, tag = 'broker') {
  const head = `{"bench":"${tag}","pad":"`;
  const tail = '"}';
  return Buffer.from(head + 'x'.repeat(Math.max(0, size - head.length - tail.length)) + tail);
}

/** The p-th percentile of an ascending array (nearest rank), NaN when empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const NO_RETRY = new Set();
const BENCH_EVENT = {
  'ce-specversion': '1.0',
  'ce-source': '/bench/loadgen',
  'ce-type': 'bench.event',
  'content-type': 'application/json',
};

/**
 * Sends `count` binary-mode CloudEvents to `url` with exactly `connections` requests in flight on as
 * many keep-alive connections. Event i carries `headersFor(i)` (default: type bench.event) plus
 * `ce-id: <idPrefix>-<i>` and `ce-benchsent` (first send time, epoch ms). An answer whose status is in
 * `retryStatuses` (default none) is sent again, same id and stamp, after 5 ms × attempt (at most 100 ms,
 * at most `maxAttempts`); `retries` counts those resends. Returns the start time, the last
 * acknowledgement time, sorted ack latencies (first send to final answer), and non-2xx statuses /
 * request errors of the final answers.
 */
export async function send(
  url,
  {
    count,
    connections,
    body,
    idPrefix,
    headersFor = () => BENCH_EVENT,
    retryStatuses = NO_RETRY,
    maxAttempts = 200,
  },
) {
  const target = new URL(url);
  const pool = new Pool(target.origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const acks = new Float64Array(count);
  const statuses = new Map();
  let errors = 0;
  let firstError;
  let next = 0;
  let lastAck = 0;
  let retries = 0;
  const start = now();
  async function worker() {
    while (next < count) {
      const i = next++;
      const sent = now();
      const headers = { ...headersFor(i), 'ce-id': `${idPrefix}-${i}`, 'ce-benchsent': String(sent) };
      try {
        for (let attempt = 1; ; attempt++) {
          const res = await pool.request({ path: target.pathname, method: 'POST', headers, body });
          await res.body.dump();
          if (retryStatuses.has(res.statusCode) && attempt < maxAttempts) {
            retries++;
            await sleep(Math.min(100, 5 * attempt));
            continue;
          }
          if (res.statusCode < 200 || res.statusCode > 299)
            statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          break;
        }
      } catch (err) {
        errors++;
        firstError ??= err;
      }
      lastAck = now();
      acks[i] = lastAck - sent;
    }
  }
  await Promise.all(Array.from({ length: Math.min(connections, count) }, worker));
  await pool.close();
  return { start, lastAck, acks: acks.sort(), statuses, errors, firstError, retries };
}

/** Number of sends that were not acknowledged 2xx. */
export const refusedCount = (sent) => sent.errors + [...sent.statuses.values()].reduce((a, b) => a + b, 0);

/** "N request errors (first: …), M answered 503", or that every send was acknowledged. */
export function describeFailures(sent) {
  const parts = [];
  if (sent.errors) parts.push(`${sent.errors} request errors (first: ${sent.firstError?.message})`);
  for (const [status, n] of sent.statuses) parts.push(`${n} answered ${status}`);
  return parts.length ? parts.join(', ') : 'every send was acknowledged 2xx';
}

/**
 * Polls the subscriber's /count until it has `expected` distinct deliveries, nothing arrives for
 * `stallMs`, or `timeoutMs` passes. Bounded by the deadline either way.
 */
export async function waitForSubscriber(subscriberUrl, expected, timeoutMs, stallMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  let seen = -1;
  let progressAt = Date.now();
  for (;;) {
    const { unique } = await getJson(`${subscriberUrl}/count`);
    if (unique >= expected) return { complete: true, unique };
    if (unique !== seen) {
      seen = unique;
      progressAt = Date.now();
    }
    const t = Date.now();
    if (t >= deadline) return { complete: false, unique, why: `timed out after ${timeoutMs} ms` };
    if (t - progressAt >= stallMs) return { complete: false, unique, why: `nothing new for ${stallMs} ms` };
    await sleep(20);
  }
}
