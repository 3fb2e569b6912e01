import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FRAMES_HEADER, FrameServer, type FrameAnswer } from '@eventing/frames';
import type { CloudEvent } from '@eventing/cloudevents';
import { Dispatcher } from './dispatcher';
import { NO_RETRY } from './policy';

// The Dispatcher against real node:http servers on 127.0.0.1: one that takes eventing frames (and
// says so on its HTTP answers, as our services do) and one that does not.

type Script = (path: string, headers: Record<string, string>, body: Buffer) => Promise<FrameAnswer>;

interface TestServer {
  url: string;
  /** Requests served, by transport. */
  http: number;
  frames: number;
  upgrades: number;
  script: Script;
  frameServer: FrameServer | undefined;
  close(): Promise<void>;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

async function startServer(script: Script, frames: boolean): Promise<TestServer> {
  const server: Server = createServer();
  const state: TestServer = {
    url: '',
    http: 0,
    frames: 0,
    upgrades: 0,
    script,
    frameServer: undefined,
    close: async () => {
      state.frameServer?.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  server.on('request', (req, res) => {
    if (req.headers.upgrade !== undefined) state.upgrades++;
    void readAll(req).then(async (body) => {
      state.http++;
      const a = await state.script(req.url ?? '/', req.headers as Record<string, string>, body);
      const headers: Record<string, string> = {};
      if (Array.isArray(a.headers))
        for (let i = 0; i < a.headers.length; i += 2) headers[a.headers[i]!] = a.headers[i + 1]!;
      else Object.assign(headers, a.headers);
      if (frames) headers[FRAMES_HEADER] = '1';
      res.writeHead(a.status, headers);
      res.end(a.body);
    });
  });
  if (frames) {
    state.frameServer = new FrameServer({
      maxBodyBytes: 1 << 20,
      handler: (req) => {
        state.frames++;
        return state.script(req.path, req.headers, req.body);
      },
    });
    state.frameServer.attach(server);
    server.on('upgrade', () => state.upgrades++);
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

const event = (id: string): CloudEvent => ({
  attributes: { specversion: '1.0', id, source: '/test', type: 'test.event' },
  data: Buffer.from(`{"n":"${id}"}`),
});

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Dispatcher over eventing frames', () => {
  const closing: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closing.splice(0).reverse()) await c();
  });

  async function setup(script: Script, options: { frames?: boolean; server?: boolean } = {}) {
    const server = await startServer(script, options.server ?? true);
    const dispatcher = new Dispatcher({ frames: options.frames ?? true });
    closing.push(
      () => server.close(),
      () => dispatcher.close(),
    );
    return { server, dispatcher };
  }

  /** One send over HTTP (the answer offers frames), then waits until sends go over frames. */
  async function framed(server: TestServer, dispatcher: Dispatcher, path = '/'): Promise<void> {
    await dispatcher.send(server.url + path, event('warm'), {}, { format: 'binary' });
    await until(() => dispatcher.transport(server.url + path) === 'frames', 'framed connections');
  }

  const accepted: Script = async () => ({ status: 202 });

  it('sends over HTTP until the origin offers frames, then over frames', async () => {
    const { server, dispatcher } = await setup(accepted);
    expect(dispatcher.transport(server.url + '/ns/b')).toBe('http');
    await framed(server, dispatcher, '/ns/b');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        dispatcher.send(`${server.url}/ns/b`, event(String(i)), {}, { format: 'binary' }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(server.http).toBe(1);
    expect(server.frames).toBe(20);
  });

  it('carries path, binary headers, passthrough headers and body; a 2xx reply event comes back whole', async () => {
    let seen: { path: string; headers: Record<string, string>; body: string } | undefined;
    const { server, dispatcher } = await setup(async (path, headers, body) => {
      seen = { path, headers, body: body.toString() };
      return {
        status: 200,
        headers: ['ce-specversion', '1.0', 'ce-id', 'r1', 'ce-source', '/r', 'ce-type', 'reply.type'],
        body: Buffer.from('{"reply":true}'),
      };
    });
    await framed(server, dispatcher);
    const result = await dispatcher.send(
      `${server.url}/triggers/ns/t/u?x=1`,
      event('e1'),
      { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      { format: 'binary', preferReply: true, namespace: 'ns' },
    );
    expect(server.frames).toBe(1);
    expect(seen).toMatchObject({
      path: '/triggers/ns/t/u?x=1',
      headers: {
        'ce-id': 'e1',
        'ce-type': 'test.event',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        prefer: 'reply',
        'kn-namespace': 'ns',
      },
      body: '{"n":"e1"}',
    });
    expect(result).toMatchObject({
      ok: true,
      status: 200,
      headers: { 'ce-id': 'r1', 'ce-type': 'reply.type' },
    });
    expect(result.body.toString()).toBe('{"reply":true}');
  });

  it.each([
    [404, true],
    [400, false],
    [500, true],
    [503, true],
  ])('a %i answered over frames is a failure, retryable: %s', async (status, retryable) => {
    const { server, dispatcher } = await setup(async (path) =>
      path === '/' ? { status: 202 } : { status, body: Buffer.from('{"error":"no"}') },
    );
    await framed(server, dispatcher);
    const result = await dispatcher.send(`${server.url}/x`, event('e'), {}, { format: 'binary' });
    expect(server.frames).toBe(1);
    expect(result).toMatchObject({ ok: false, status, retryable, reason: `subscriber answered ${status}` });
    expect(result.body.toString()).toBe('{"error":"no"}');
  });

  it('honours Retry-After of a 503 answered over frames, then delivers', async () => {
    let calls = 0;
    const { server, dispatcher } = await setup(async (path) => {
      if (path === '/') return { status: 202 };
      calls++;
      return calls === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 202 };
    });
    await framed(server, dispatcher);
    const started = Date.now();
    const outcome = await dispatcher.deliver({
      event: event('e'),
      headers: {},
      subscriberUri: `${server.url}/busy`,
      namespace: 'ns',
      format: 'binary',
      policy: { retry: 2, backoffPolicy: 'linear', backoffDelayMs: 10, retryAfterMaxMs: 5_000 },
      malformedReply: 'fail',
    });
    expect(outcome).toMatchObject({ kind: 'delivered', status: 202, attempts: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(server.frames).toBe(2);
  });

  it('times an attempt out as over HTTP and ignores its late answer', async () => {
    const { server, dispatcher } = await setup(async (path) => {
      if (path === '/slow') await new Promise((r) => setTimeout(r, 800));
      return { status: 202 };
    });
    await framed(server, dispatcher);
    const result = await dispatcher.send(
      `${server.url}/slow`,
      event('e'),
      {},
      { format: 'binary', timeoutMs: 100 },
    );
    expect(result).toMatchObject({
      ok: false,
      status: 500,
      retryable: true,
      reason: 'timed out after 100 ms',
    });
    await new Promise((r) => setTimeout(r, 1_000));
    // The connection is still good: the late answer was dropped.
    const next = await dispatcher.send(`${server.url}/next`, event('f'), {}, { format: 'binary' });
    expect(next.status).toBe(202);
    expect(dispatcher.transport(`${server.url}/next`)).toBe('frames');
  });

  it('cancels an attempt in flight over frames', async () => {
    const { server, dispatcher } = await setup(async (path) => {
      if (path === '/held') await new Promise((r) => setTimeout(r, 2_000));
      return { status: 202 };
    });
    await framed(server, dispatcher);
    const cancel = new AbortController();
    const pending = dispatcher.send(
      `${server.url}/held`,
      event('e'),
      {},
      { format: 'binary', cancel: cancel.signal },
    );
    setTimeout(() => cancel.abort(), 100);
    expect(await pending).toMatchObject({
      ok: false,
      status: 0,
      retryable: false,
      reason: 'delivery cancelled',
    });
  });

  it('a connection closed before the answer fails as a reset connection would: retryable', async () => {
    const { server, dispatcher } = await setup(async (path) => {
      if (path === '/held') await new Promise(() => undefined);
      return { status: 202 };
    });
    await framed(server, dispatcher);
    const pending = dispatcher.send(`${server.url}/held`, event('e'), {}, { format: 'binary' });
    await until(() => server.frames === 1, 'the request to arrive');
    server.frameServer!.destroy();
    const result = await pending;
    expect(result).toMatchObject({ ok: false, status: 500, retryable: true });
    expect(result.ok ? '' : result.reason).toMatch(/^network error: /);
  });

  it('never asks a server that does not offer frames to upgrade', async () => {
    const { server, dispatcher } = await setup(accepted, { server: false });
    for (let i = 0; i < 20; i++) {
      const r = await dispatcher.send(`${server.url}/x`, event(String(i)), {}, { format: 'binary' });
      expect(r.status).toBe(202);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(server.upgrades).toBe(0);
    expect(server.http).toBe(20);
    expect(dispatcher.transport(`${server.url}/x`)).toBe('http');
  });

  it('with frames off, stays on HTTP to a server that offers them', async () => {
    const { server, dispatcher } = await setup(accepted, { frames: false });
    for (let i = 0; i < 5; i++)
      await dispatcher.send(`${server.url}/x`, event(String(i)), {}, { format: 'binary' });
    await new Promise((r) => setTimeout(r, 200));
    expect(server.upgrades).toBe(0);
    expect(server.http).toBe(5);
  });

  it('goes back to HTTP when the server goes away from frames, and no event is lost', async () => {
    const { server, dispatcher } = await setup(accepted);
    await framed(server, dispatcher);
    await server.frameServer!.goAway(5_000);
    const r = await dispatcher.send(`${server.url}/x`, event('after'), {}, { format: 'binary', ...NO_RETRY });
    expect(r.status).toBe(202);
    expect(server.http).toBe(2);
  });
});
