import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { HTTP } from 'cloudevents';
import { Dispatcher } from './dispatcher';
import { SubscriberServer } from '@eventing/testing';
import { testEvent } from './testing/events';

describe('Dispatcher.send', () => {
  let server: SubscriberServer;
  let dispatcher: Dispatcher;

  beforeEach(async () => {
    server = await SubscriberServer.start([{ status: 202 }]);
    dispatcher = new Dispatcher();
  });
  afterEach(async () => {
    await dispatcher.close();
    await server.close();
  });

  it('T7/T8: binary mode by default, with Prefer: reply, Kn-Namespace and passthrough headers', async () => {
    const event = testEvent({ knativearrivaltime: '2026-01-01T00:00:00Z' });
    const result = await dispatcher.send(
      `${server.url}/path?q=1`,
      event,
      { 'x-request-id': 'rid-1', 'knative-foo': 'bar' },
      { format: 'binary', preferReply: true, namespace: 'ns1' },
    );
    expect(result).toMatchObject({ ok: true, status: 202 });
    const [req] = server.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/path?q=1');
    expect(req?.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-id': 'evt-1',
      'ce-source': '/test/source',
      'ce-type': 'dev.test.event',
      'ce-knativearrivaltime': '2026-01-01T00:00:00Z',
      'content-type': 'application/json',
      prefer: 'reply',
      'kn-namespace': 'ns1',
      'x-request-id': 'rid-1',
      'knative-foo': 'bar',
    });
    expect(req?.body.toString()).toBe('{"n":1}');
    // An independent decoder agrees on the event.
    const decoded = HTTP.toEvent({ headers: req?.headers ?? {}, body: req?.body.toString() });
    expect(decoded).toMatchObject({ id: 'evt-1', type: 'dev.test.event', data: { n: 1 } });
  });

  it('T8: structured mode when format is json', async () => {
    await dispatcher.send(server.url, testEvent(), {}, { format: 'json' });
    const [req] = server.requests;
    expect(req?.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(req?.headers['ce-id']).toBeUndefined();
    const body = JSON.parse(req?.body.toString() ?? '') as Record<string, unknown>;
    expect(body).toMatchObject({ specversion: '1.0', id: 'evt-1', data: { n: 1 } });
  });

  it('R1: no Prefer header unless asked for', async () => {
    await dispatcher.send(server.url, testEvent(), {}, { format: 'binary' });
    expect(server.requests[0]?.headers.prefer).toBeUndefined();
    expect(server.requests[0]?.headers['kn-namespace']).toBeUndefined();
  });

  it('sends the configured User-Agent', async () => {
    const d = new Dispatcher({ userAgent: 'eventing-test/1' });
    await d.send(server.url, testEvent(), {}, { format: 'binary' });
    await d.close();
    expect(server.requests[0]?.headers['user-agent']).toBe('eventing-test/1');
  });

  it('returns status, headers and body of a 2xx', async () => {
    server.setScript([{ status: 200, headers: { 'x-a': 'b' }, body: 'hello' }]);
    const result = await dispatcher.send(server.url, testEvent(), {}, { format: 'binary' });
    expect(result.ok).toBe(true);
    expect(result.status).toBe(200);
    expect(result.headers['x-a']).toBe('b');
    expect(result.body.toString()).toBe('hello');
  });

  it.each([
    [404, true],
    [408, true],
    [409, true],
    [429, true],
    [500, true],
    [503, true],
    [301, false],
    [400, false],
    [401, false],
    [403, false],
    [413, false],
  ])('2.1: %i is a failure, retryable=%s', async (status, retryable) => {
    server.setScript([{ status, body: 'why', headers: { location: '/elsewhere' } }]);
    const result = await dispatcher.send(server.url, testEvent(), {}, { format: 'binary' });
    expect(result).toMatchObject({ ok: false, status, retryable });
    expect(result.body.toString()).toBe('why');
    expect(server.requests).toHaveLength(1); // 3xx are not followed
  });

  it('Y9: reports Retry-After on 429 and 503 only', async () => {
    server.setScript([
      { status: 429, headers: { 'retry-after': '2' } },
      { status: 503, headers: { 'retry-after': '1' } },
      { status: 500, headers: { 'retry-after': '1' } },
    ]);
    const a = await dispatcher.send(server.url, testEvent(), {}, { format: 'binary' });
    const b = await dispatcher.send(server.url, testEvent(), {}, { format: 'binary' });
    const c = await dispatcher.send(server.url, testEvent(), {}, { format: 'binary' });
    expect(a).toMatchObject({ ok: false, retryAfterMs: 2000 });
    expect(b).toMatchObject({ ok: false, retryAfterMs: 1000 });
    expect(c).not.toHaveProperty('retryAfterMs');
  });

  it('2.1: a dropped connection is a retryable failure with status 500', async () => {
    server.setScript([{ destroy: true }]);
    const result = await dispatcher.send(server.url, testEvent(), {}, { format: 'binary' });
    expect(result).toMatchObject({ ok: false, status: 500, retryable: true });
    if (!result.ok) expect(result.reason).toMatch(/network error/);
  });

  it('2.1: a refused connection is a retryable failure with status 500', async () => {
    const port = await freePort();
    const result = await dispatcher.send(`http://127.0.0.1:${port}/`, testEvent(), {}, { format: 'binary' });
    expect(result).toMatchObject({ ok: false, status: 500, retryable: true });
  });

  it('an invalid target URL fails without retry', async () => {
    const result = await dispatcher.send('not a url', testEvent(), {}, { format: 'binary' });
    expect(result).toMatchObject({ ok: false, status: 500, retryable: false });
  });

  it('Y8: the timeout covers the response head', async () => {
    server.setScript([{ status: 200, delayMs: 1000 }]);
    const start = performance.now();
    const result = await dispatcher.send(server.url, testEvent(), {}, { format: 'binary', timeoutMs: 100 });
    const elapsed = performance.now() - start;
    expect(result).toMatchObject({ ok: false, status: 500, retryable: true });
    if (!result.ok) expect(result.reason).toMatch(/timed out after 100 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(800);
  });

  it('Y8: the timeout covers the response body too', async () => {
    server.setScript([
      { status: 200, headers: { 'content-type': 'text/plain' }, body: 'late', bodyDelayMs: 1000 },
    ]);
    const start = performance.now();
    const result = await dispatcher.send(server.url, testEvent(), {}, { format: 'binary', timeoutMs: 150 });
    const elapsed = performance.now() - start;
    expect(result).toMatchObject({ ok: false, status: 500, retryable: true });
    expect(elapsed).toBeGreaterThanOrEqual(145);
    expect(elapsed).toBeLessThan(900);
  });

  it('a 2xx body over maxResponseBytes is a 502 failure; an error body is cut at the limit', async () => {
    const d = new Dispatcher({ maxResponseBytes: 1024 });
    server.setScript([
      { status: 200, body: Buffer.alloc(64 * 1024, 'a') },
      { status: 500, body: Buffer.alloc(64 * 1024, 'b') },
      { status: 200, body: Buffer.alloc(1024, 'c') },
    ]);
    const big = await d.send(server.url, testEvent(), {}, { format: 'binary' });
    expect(big).toMatchObject({ ok: false, status: 502, retryable: true });
    const err = await d.send(server.url, testEvent(), {}, { format: 'binary' });
    expect(err).toMatchObject({ ok: false, status: 500, retryable: true });
    expect(err.body.length).toBeLessThanOrEqual(1024);
    const fits = await d.send(server.url, testEvent(), {}, { format: 'binary' });
    expect(fits).toMatchObject({ ok: true, status: 200 });
    expect(fits.body.length).toBe(1024);
    await d.close();
  });

  it('reuses keep-alive connections for sequential sends, error bodies included', async () => {
    server.setScript((_req, i) =>
      i % 3 === 1 ? { status: 500, body: 'x'.repeat(10_000) } : { status: 202 },
    );
    for (let i = 0; i < 30; i++) await dispatcher.send(server.url, testEvent(), {}, { format: 'binary' });
    expect(server.requests).toHaveLength(30);
    // The pool may hand the next request to a second idle connection before the first is marked
    // free again; what matters is that sockets are reused, not opened per request.
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
  });

  it('opens at most connectionsPerOrigin connections', async () => {
    const d = new Dispatcher({ connectionsPerOrigin: 4 });
    server.setScript([{ status: 202, delayMs: 20 }]);
    await Promise.all(
      Array.from({ length: 40 }, () => d.send(server.url, testEvent(), {}, { format: 'binary' })),
    );
    await d.close();
    expect(server.requests).toHaveLength(40);
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBe(4);
  });

  it('a cancel signal aborts every send in flight under it at once, and only those', async () => {
    // A subscriber that never answers: only the cancellation can end these sends.
    server.setScript([{ status: 202, delayMs: 60_000 }]);
    const consumer = new AbortController();
    const other = new AbortController();
    const cancelled = Array.from({ length: 5 }, () =>
      dispatcher.send(server.url, testEvent(), {}, { format: 'binary', cancel: consumer.signal }),
    );
    const survivor = dispatcher.send(server.url, testEvent(), {}, { format: 'binary', cancel: other.signal });
    await server.waitForRequests(6);
    const started = performance.now();
    consumer.abort();
    const results = await Promise.all(cancelled);
    expect(performance.now() - started).toBeLessThan(1_000);
    for (const r of results)
      expect(r).toMatchObject({ ok: false, status: 0, retryable: false, reason: 'delivery cancelled' });
    // A send under an aborted signal is not made at all.
    expect(
      await dispatcher.send(server.url, testEvent(), {}, { format: 'binary', cancel: consumer.signal }),
    ).toMatchObject({ ok: false, reason: 'delivery cancelled' });
    expect(server.requests).toHaveLength(6);
    // The send under the other signal is still waiting for its answer; aborting it ends it too.
    const pending = await Promise.race([survivor, new Promise((r) => setTimeout(r, 100, 'pending'))]);
    expect(pending).toBe('pending');
    other.abort();
    expect(await survivor).toMatchObject({ ok: false, reason: 'delivery cancelled' });
  });

  it('a send that ended before its cancel signal aborted keeps its answer', async () => {
    const consumer = new AbortController();
    const first = await dispatcher.send(
      server.url,
      testEvent(),
      {},
      { format: 'binary', cancel: consumer.signal },
    );
    consumer.abort();
    expect(first).toMatchObject({ ok: true, status: 202 });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
