// Benchmark subscriber: answers every POST with 202 and records, per delivery, the end-to-end
// latency (receive time minus the `ce-benchsent` header the load generator stamped on the event).
// A delivery is identified by (ce-id, request path), so several triggers delivering the same event
// to different paths count once each, and the same event on the same path twice is a duplicate.
//
//   node bench/lib/subscriber.mjs [--capacity N]
// Prints `subscriber listening on <port>` once it listens on 127.0.0.1 (port picked by the OS).
//   GET /count           {"count","unique","last"}         cheap, for polling
//   GET /stats[?reset=1] {"count","unique","duplicates","missingStamp","first","last","p50","p90","p99","max","mean"}
//   GET /per-id          {"<ce-id>": distinct deliveries, ...}   for checking every event's fan-out
// Times are epoch milliseconds (performance.timeOrigin + performance.now()), latencies milliseconds.
// `capacity` bounds the latencies kept; deliveries past it are counted but not in the percentiles.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { capacity: { type: 'string', default: '1000000' } } });
const capacity = Number(values.capacity);
const origin = performance.timeOrigin;

const latencies = new Float64Array(capacity);
let count = 0;
let recorded = 0;
let missingStamp = 0;
let first = 0;
let last = 0;
let deliveries = new Set();
let perId = new Map();

function reset() {
  count = 0;
  recorded = 0;
  missingStamp = 0;
  first = 0;
  last = 0;
  deliveries = new Set();
  perId = new Map();
}

function record(req) {
  const now = origin + performance.now();
  if (count === 0) first = now;
  last = now;
  count++;
  const id = req.headers['ce-id'];
  if (id !== undefined) {
    const key = `${id} ${req.url}`;
    if (!deliveries.has(key)) {
      deliveries.add(key);
      perId.set(id, (perId.get(id) ?? 0) + 1);
    }
  }
  const sent = Number(req.headers['ce-benchsent']);
  if (sent > 0 && recorded < capacity) latencies[recorded++] = now - sent;
  else missingStamp++;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function stats() {
  const sorted = latencies.slice(0, recorded).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  return {
    count,
    unique: deliveries.size,
    duplicates: count - deliveries.size,
    missingStamp,
    first,
    last,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
    mean: sorted.length ? sum / sorted.length : null,
  };
}

function json(res, body) {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    if (req.url === '/count') return json(res, { count, unique: deliveries.size, last });
    if (req.url === '/per-id') return json(res, Object.fromEntries(perId));
    if (req.url?.startsWith('/stats')) {
      const body = stats();
      if (req.url.includes('reset=1')) reset();
      return json(res, body);
    }
    res.writeHead(404).end();
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    record(req);
    res.writeHead(202, { 'content-length': '0' });
    res.end();
  });
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`subscriber listening on ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());
process.on('SIGINT', () => process.exit(0));
