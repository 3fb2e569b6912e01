// Baseline for the broker benchmark: the least a Node.js HTTP hop can do. It buffers each request
// body, forwards method, headers and body unchanged to the target through an undici Pool
// (keep-alive, many connections) and answers the sender with the target's status. No parsing.
//
//   node bench/broker/passthrough.mjs --target http://127.0.0.1:<port>/ [--connections 128]
// Prints `passthrough listening on <port>` once it listens on 127.0.0.1.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: { target: { type: 'string' }, connections: { type: 'string', default: '128' } },
});
if (!values.target) {
  console.error('usage: passthrough.mjs --target URL [--connections N]');
  process.exit(2);
}
const target = new URL(values.target);
const pool = new Pool(target.origin, {
  connections: Number(values.connections),
  pipelining: 1,
  keepAliveTimeout: 60_000,
  headersTimeout: 30_000,
  bodyTimeout: 30_000,
});
// undici refuses hop-by-hop headers; host and content-length it sets itself.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'proxy-connection',
  'te',
  'trailer',
]);

function forward(req, res, body) {
  const headers = {};
  for (const name in req.headers) if (!HOP_BY_HOP.has(name)) headers[name] = req.headers[name];
  pool.request({ path: target.pathname, method: req.method, headers, body }).then(
    async (answer) => {
      await answer.body.dump();
      res.writeHead(answer.statusCode, { 'content-length': '0' });
      res.end();
    },
    (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`passthrough: ${err.message}`);
    },
  );
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => forward(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  console.log(`passthrough listening on ${server.address().port}`);
});
const stop = () => {
  server.close();
  server.closeAllConnections();
  pool.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
