// Soak subscriber: one process, two paths. POST /sub answers 202 after --delay ms, except that every
// event whose numeric id is a multiple of --fail-every always gets 500 (so it ends in the dead-letter
// sink). POST /dls records dead letters. GET /counts reports unique ids seen on each path.
//
//   node bench/soak/slow-subscriber.mjs [--delay MS] [--fail-every N]
// Prints `subscriber listening on <port>` once it listens on 127.0.0.1.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { delay: { type: 'string', default: '10' }, 'fail-every': { type: 'string', default: '50' } },
});
const delay = Number(values.delay);
const failEvery = Number(values['fail-every']);
const delivered = new Set();
const dead = new Set();
let attempts = 0;
let duplicates = 0;

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/counts') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ delivered: delivered.size, dead: dead.size, attempts, duplicates }));
      return;
    }
    if (req.method === 'GET' && req.url === '/ids') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ delivered: [...delivered], dead: [...dead] }));
      return;
    }
    const id = String(req.headers['ce-id'] ?? '');
    if (req.url === '/dls') {
      if (dead.has(id)) duplicates++;
      dead.add(id);
      res.statusCode = 202;
      res.end();
      return;
    }
    attempts++;
    setTimeout(() => {
      const n = Number(id.replace(/\D/g, ''));
      if (failEvery > 0 && n % failEvery === 0) {
        res.statusCode = 500;
        res.end('refused on purpose');
        return;
      }
      if (delivered.has(id)) duplicates++;
      delivered.add(id);
      res.statusCode = 202;
      res.end();
    }, delay);
  });
});
server.listen(0, '127.0.0.1', () => console.log(`subscriber listening on ${server.address().port}`));
