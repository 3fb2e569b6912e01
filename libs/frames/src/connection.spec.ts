import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { FramesClient, type StreamHandler } from './client';
import { FrameServer, type FrameAnswer } from './server';
import type { RequestFrame } from './codec';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

interface Answered {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  error?: string;
}

function handler(): StreamHandler & { done: Promise<Answered> } {
  let resolve!: (a: Answered) => void;
  const done = new Promise<Answered>((r) => (resolve = r));
  return {
    frameConnection: undefined,
    frameStream: 0,
    done,
    onFrameResponse: (status, headers, body) => resolve({ status, headers, body: body.toString() }),
    onFrameError: (error) => resolve({ error: error.message }),
  };
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('eventing frames over a real node:http server', () => {
  const servers: Server[] = [];
  const clients: FramesClient[] = [];
  const frameServers: FrameServer[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const f of frameServers.splice(0)) f.destroy();
    await Promise.all(
      servers.splice(0).map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r)))),
    );
  });

  async function start(
    answer: (req: RequestFrame) => Promise<FrameAnswer>,
    options: { maxStreams?: number; maxBodyBytes?: number } = {},
  ) {
    const server = createServer((_req, res) => res.end('http'));
    servers.push(server);
    const frames = new FrameServer({
      handler: answer,
      maxBodyBytes: options.maxBodyBytes ?? 1024,
      ...options,
    });
    frames.attach(server);
    frameServers.push(frames);
    const origin = await listen(server);
    const client = new FramesClient({ connections: 2 });
    clients.push(client);
    const pool = client.pool(origin)!;
    pool.offered();
    await until(() => pool.size === 2, 'two framed connections');
    return { frames, pool, origin };
  }

  it('answers requests on framed connections, in any order, with status, headers and body', async () => {
    const { pool } = await start(async (req) => {
      if (req.path === '/slow') await new Promise((r) => setTimeout(r, 50));
      return { status: req.path === '/slow' ? 503 : 202, headers: ['retry-after', '3'], body: req.body };
    });
    const slow = handler();
    const fast = handler();
    pool.send('/slow', ['ce-id', '1'], Buffer.from('s'), slow);
    pool.send('/fast', ['ce-id', '2'], Buffer.from('f'), fast);
    const first = await Promise.race([slow.done.then(() => 'slow'), fast.done.then(() => 'fast')]);
    expect(first).toBe('fast');
    expect(await fast.done).toEqual({ status: 202, headers: { 'retry-after': '3' }, body: 'f' });
    expect(await slow.done).toEqual({ status: 503, headers: { 'retry-after': '3' }, body: 's' });
  });

  it('never upgrades to a server that does not take frames: the pool is refused and stays empty', async () => {
    const server = createServer((_req, res) => res.end('plain'));
    servers.push(server);
    let upgrades = 0;
    server.on('request', (req) => {
      if (req.headers.upgrade !== undefined) upgrades++;
    });
    const origin = await listen(server);
    const client = new FramesClient({ connections: 2 });
    clients.push(client);
    const pool = client.pool(origin)!;
    pool.offered();
    await until(() => upgrades === 2, 'the two attempts');
    await new Promise((r) => setTimeout(r, 100));
    expect(pool.ready).toBe(false);
    // Refused: not tried again before the back-off ends.
    pool.offered();
    await new Promise((r) => setTimeout(r, 100));
    expect(upgrades).toBe(2);
    expect(pool.send('/x', [], undefined, handler())).toBe(false);
  });

  it('closes a connection that sends a malformed frame; its requests fail as a reset connection', async () => {
    const { origin } = await start(async () => ({ status: 200 }));
    const port = Number(new URL(origin).port);
    const socket = connect({ port, host: '127.0.0.1' });
    const closed = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString('latin1');
        if (text.includes('\r\n\r\n')) socket.write(Buffer.from([0, 0, 0, 0, 77, 0, 0, 0, 1]));
      });
      socket.on('close', () => resolve(text));
    });
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: eventing-frames/1\r\n\r\n');
    expect(await closed).toMatch(/^HTTP\/1\.1 101 /);
  });

  it('stops reading a connection over its stream limit until answers go out', async () => {
    const held: (() => void)[] = [];
    let seen = 0;
    const { pool } = await start(
      (req) => {
        seen++;
        return new Promise((resolve) => held.push(() => resolve({ status: 200, body: req.body })));
      },
      { maxStreams: 2 },
    );
    // All on one connection: the pool alternates, so send to both and count per connection.
    const waits = Array.from({ length: 8 }, (_, i) => {
      const h = handler();
      pool.send('/x', [], Buffer.from(String(i)), h);
      return h;
    });
    await until(() => seen === 4, 'two requests per connection');
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toBe(4);
    while (seen < 8 || held.length > 0) {
      held.shift()?.();
      await new Promise((r) => setTimeout(r, 5));
    }
    const answers = await Promise.all(waits.map((w) => w.done));
    expect(answers.map((a) => a.body).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
  });

  it('goaway: requests in flight are answered, then connections close and the pool stops using them', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { pool, frames } = await start(async () => {
      await gate;
      return { status: 202 };
    });
    const inFlight = handler();
    pool.send('/x', [], undefined, inFlight);
    await new Promise((r) => setTimeout(r, 50));
    const drained = frames.goAway(10_000);
    await until(() => !pool.ready, 'the pool to retire both connections');
    release();
    expect(await inFlight.done).toEqual({ status: 202, headers: {}, body: '' });
    await drained;
    expect(frames.size).toBe(0);
  });

  it("outlives the HTTP server's keep-alive, header and request timeouts once switched", async () => {
    const server = createServer(
      { headersTimeout: 300, requestTimeout: 300, connectionsCheckingInterval: 50 },
      (_req, res) => res.end('http'),
    );
    server.keepAliveTimeout = 300;
    servers.push(server);
    const frames = new FrameServer({ handler: async () => ({ status: 202 }), maxBodyBytes: 1024 });
    frames.attach(server);
    frameServers.push(frames);
    const client = new FramesClient({ connections: 1 });
    clients.push(client);
    const pool = client.pool(await listen(server))!;
    pool.offered();
    await until(() => pool.size === 1, 'a framed connection');
    await new Promise((r) => setTimeout(r, 1_200));
    expect(pool.size).toBe(1);
    const h = handler();
    expect(pool.send('/x', [], undefined, h)).toBe(true);
    expect((await h.done).status).toBe(202);
  });

  it('replaces connections after their request budget, so new replicas behind an address get a share', async () => {
    const server = createServer((_req, res) => res.end('http'));
    servers.push(server);
    const frames = new FrameServer({ handler: async () => ({ status: 202 }), maxBodyBytes: 1024 });
    frames.attach(server);
    frameServers.push(frames);
    let upgrades = 0;
    server.on('upgrade', () => upgrades++);
    const client = new FramesClient({ connections: 2, maxRequestsPerConnection: 5 });
    clients.push(client);
    const pool = client.pool(await listen(server))!;
    pool.offered();
    await until(() => pool.size === 2, 'two framed connections');
    for (let i = 0; i < 40; i++) {
      await until(() => pool.ready, 'an open connection');
      const h = handler();
      pool.send('/x', [], undefined, h);
      expect((await h.done).status).toBe(202);
    }
    // 40 requests at 5 per connection: about 8 connections were opened in turn, never more than 2 at once.
    expect(upgrades).toBeGreaterThanOrEqual(6);
    await until(() => frames.size <= 2, 'retired connections to close');
  });

  it('fails the requests in flight when the server goes away without answering', async () => {
    const { pool } = await start(() => new Promise<FrameAnswer>(() => undefined));
    const waiting = handler();
    pool.send('/x', [], undefined, waiting);
    await new Promise((r) => setTimeout(r, 50));
    for (const s of servers) s.closeAllConnections();
    // Upgraded sockets are no longer the server's: cut them from the client's side instead.
    waiting.frameConnection!.close(new Error('cut'));
    expect((await waiting.done).error).toBe('cut');
  });
});
