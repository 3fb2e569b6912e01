// The functions of the flows example: a tiny HTTP server whose paths are CloudEvent functions. Each
// one gets an event in binary mode and replies with a changed copy (200 + the event), or with an empty
// 200 to drop it (how a Parallel filter says "not this branch").
//
//   node examples/flows/functions.mjs [port]      (default 8081; port 0 picks a free one)
//
//   /tax          adds data.tax, 20% of data.amount
//   /shout        upper-cases data.customer
//   /stamp        appends "stamped" to data.steps
//   /big-orders   passes orders with data.amount >= 100, drops the others
//   /small-orders passes orders with data.amount < 100, drops the others
import { createServer } from 'node:http';

const functions = {
  '/tax': (data) => ({ ...data, tax: Math.round(Number(data.amount ?? 0) * 20) / 100 }),
  '/shout': (data) => ({ ...data, customer: String(data.customer ?? '').toUpperCase() }),
  '/stamp': (data) => ({ ...data, steps: [...(Array.isArray(data.steps) ? data.steps : []), 'stamped'] }),
  '/big-orders': (data) => (Number(data.amount ?? 0) >= 100 ? data : undefined),
  '/small-orders': (data) => (Number(data.amount ?? 0) < 100 ? data : undefined),
};

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const fn = functions[req.url ?? ''];
    if (fn === undefined || req.method !== 'POST') {
      res.writeHead(404).end(`no function at ${req.url}; try ${Object.keys(functions).join(', ')}\n`);
      return;
    }
    let data;
    try {
      data = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      res.writeHead(400).end('expected a JSON body\n');
      return;
    }
    const out = fn(data);
    const id = req.headers['ce-id'];
    console.log(`${req.url} ${id}: ${out === undefined ? 'dropped' : JSON.stringify(out)}`);
    if (out === undefined) {
      res.writeHead(200).end();
      return;
    }
    // The reply keeps the event's attributes; only the data changes.
    const headers = { 'content-type': 'application/json' };
    for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('ce-')) headers[k] = v;
    res.writeHead(200, headers).end(JSON.stringify(out));
  });
});

const port = Number(process.argv[2] ?? 8081);
server.listen(port, '127.0.0.1', () => {
  console.log(`flow functions on http://127.0.0.1:${server.address().port}`);
});
