import { Dispatcher, type DeliveryRequest } from './dispatcher';
import { NO_RETRY, type DeliveryPolicy } from './policy';
import { SubscriberServer } from '@eventing/testing';
import { testEvent } from './testing/events';

// Timing assertions: lower bounds are tight (a timer never fires early), upper bounds loose so a
// loaded 2-core machine does not make them flaky.
const EARLY_MS = 5;
const LATE_MS = 250;

describe('Dispatcher.deliver: attempts, backoff, timeout, Retry-After', () => {
  let server: SubscriberServer;
  let dispatcher: Dispatcher;

  beforeEach(async () => {
    server = await SubscriberServer.start();
    dispatcher = new Dispatcher();
  });
  afterEach(async () => {
    await dispatcher.close();
    await server.close();
  });

  function request(policy: DeliveryPolicy, extra: Partial<DeliveryRequest> = {}): DeliveryRequest {
    return {
      event: testEvent(),
      headers: {},
      subscriberUri: server.url,
      namespace: 'ns',
      format: 'binary',
      policy,
      malformedReply: 'fail',
      ...extra,
    };
  }

  const retry2: DeliveryPolicy = { retry: 2, backoffPolicy: 'linear', backoffDelayMs: 0 };

  it.each([404, 408, 409, 429, 500, 502, 503, 504])(
    '2.1/Y1: %i is retried: attempts = 1 + retry',
    async (status) => {
      server.setScript([{ status }]);
      const outcome = await dispatcher.deliver(request(retry2));
      expect(outcome).toMatchObject({ kind: 'failed', status, attempts: 3 });
      expect(server.requests).toHaveLength(3);
    },
  );

  it.each([301, 302, 304, 400, 401, 403, 405, 410, 413, 422])('2.1: %i is not retried', async (status) => {
    server.setScript([{ status, headers: { location: '/x' } }]);
    const outcome = await dispatcher.deliver(request(retry2));
    expect(outcome).toMatchObject({ kind: 'failed', status, attempts: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('Y2: NO_RETRY makes exactly one attempt', async () => {
    server.setScript([{ status: 503 }]);
    const outcome = await dispatcher.deliver(request(NO_RETRY));
    expect(outcome).toMatchObject({ kind: 'failed', status: 503, attempts: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('Y1: succeeds on the last allowed attempt', async () => {
    server.setScript([{ status: 500 }, { status: 429 }, { status: 202 }]);
    const outcome = await dispatcher.deliver(request(retry2));
    expect(outcome).toEqual({ kind: 'delivered', status: 202, attempts: 3, replied: false });
  });

  it('2.1: network errors are retried and recorded as 500', async () => {
    server.setScript([{ destroy: true }, { destroy: true }, { destroy: true }]);
    const outcome = await dispatcher.deliver(request(retry2));
    expect(outcome).toMatchObject({ kind: 'failed', status: 500, attempts: 3 });
    server.setScript([{ destroy: true }, { status: 200 }]);
    const again = await dispatcher.deliver(request(retry2));
    expect(again).toMatchObject({ kind: 'delivered', status: 200, attempts: 2 });
  });

  it('Y8: a timed-out attempt is retried', async () => {
    server.setScript([{ status: 202, delayMs: 1000 }, { status: 202 }]);
    const outcome = await dispatcher.deliver(request({ ...retry2, timeoutMs: 100 }));
    expect(outcome).toEqual({ kind: 'delivered', status: 202, attempts: 2, replied: false });
  });

  it.each([
    ['linear', [100, 200, 300]],
    ['exponential', [100, 200, 400]],
  ] as const)('Y4/§7: %s backoff of 100 ms waits %j', async (backoffPolicy, expected) => {
    server.setScript([{ status: 500 }]);
    const outcome = await dispatcher.deliver(request({ retry: 3, backoffPolicy, backoffDelayMs: 100 }));
    expect(outcome).toMatchObject({ kind: 'failed', attempts: 4 });
    const gaps = server.gaps();
    expect(gaps).toHaveLength(3);
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual((expected[i] as number) - EARLY_MS);
      expect(gap).toBeLessThan((expected[i] as number) + LATE_MS);
    });
  });

  it('Y9: Retry-After (delta-seconds) is ignored without retryAfterMaxMs', async () => {
    server.setScript([{ status: 429, headers: { 'retry-after': '2' } }, { status: 202 }]);
    await dispatcher.deliver(request({ retry: 1, backoffPolicy: 'linear', backoffDelayMs: 20 }));
    const [gap] = server.gaps();
    expect(gap).toBeGreaterThanOrEqual(20 - EARLY_MS);
    expect(gap).toBeLessThan(1000);
  });

  it('Y9: Retry-After on 429 is honoured up to retryAfterMaxMs', async () => {
    server.setScript([{ status: 429, headers: { 'retry-after': '5' } }, { status: 202 }]);
    const outcome = await dispatcher.deliver(
      request({ retry: 1, backoffPolicy: 'linear', backoffDelayMs: 20, retryAfterMaxMs: 300 }),
    );
    expect(outcome).toMatchObject({ kind: 'delivered', attempts: 2 });
    const [gap] = server.gaps();
    expect(gap).toBeGreaterThanOrEqual(300 - EARLY_MS);
    expect(gap).toBeLessThan(300 + LATE_MS);
  });

  it('Y9: Retry-After on 503 below the cap is honoured exactly (delta-seconds)', async () => {
    server.setScript([{ status: 503, headers: { 'retry-after': '1' } }, { status: 202 }]);
    await dispatcher.deliver(
      request({ retry: 1, backoffPolicy: 'linear', backoffDelayMs: 20, retryAfterMaxMs: 5000 }),
    );
    const [gap] = server.gaps();
    expect(gap).toBeGreaterThanOrEqual(1000 - EARLY_MS);
    expect(gap).toBeLessThan(1000 + LATE_MS);
  });

  it('Y9: Retry-After as an HTTP-date is honoured, capped', async () => {
    const date = new Date(Date.now() + 10_000).toUTCString();
    server.setScript([{ status: 503, headers: { 'retry-after': date } }, { status: 202 }]);
    await dispatcher.deliver(
      request({ retry: 1, backoffPolicy: 'linear', backoffDelayMs: 20, retryAfterMaxMs: 400 }),
    );
    const [gap] = server.gaps();
    expect(gap).toBeGreaterThanOrEqual(400 - EARLY_MS);
    expect(gap).toBeLessThan(400 + LATE_MS);
  });

  it('Y9: the backoff wins when it is longer than Retry-After', async () => {
    server.setScript([{ status: 429, headers: { 'retry-after': '0' } }, { status: 202 }]);
    await dispatcher.deliver(
      request({ retry: 1, backoffPolicy: 'linear', backoffDelayMs: 200, retryAfterMaxMs: 5000 }),
    );
    const [gap] = server.gaps();
    expect(gap).toBeGreaterThanOrEqual(200 - EARLY_MS);
  });

  it('Y9: Retry-After on a 500 is not honoured', async () => {
    server.setScript([{ status: 500, headers: { 'retry-after': '3' } }, { status: 202 }]);
    await dispatcher.deliver(
      request({ retry: 1, backoffPolicy: 'linear', backoffDelayMs: 20, retryAfterMaxMs: 5000 }),
    );
    const [gap] = server.gaps();
    expect(gap).toBeLessThan(1000);
  });

  it('stops waiting between retries when the signal aborts (shutdown)', async () => {
    server.setScript([{ status: 500 }]);
    const controller = new AbortController();
    const start = performance.now();
    const pending = dispatcher.deliver(
      request({ retry: 5, backoffPolicy: 'linear', backoffDelayMs: 5000 }, { signal: controller.signal }),
    );
    await server.waitForRequests(1);
    controller.abort();
    const outcome = await pending;
    expect(performance.now() - start).toBeLessThan(2000);
    expect(outcome).toMatchObject({ kind: 'failed', status: 500, attempts: 1 });
    if (outcome.kind === 'failed') expect(outcome.reason).toMatch(/shutting down/);
  });

  it('never throws: a bad subscriber URL is a failed outcome', async () => {
    const outcome = await dispatcher.deliver(request(retry2, { subscriberUri: 'ftp://nowhere' }));
    expect(outcome).toMatchObject({ kind: 'failed', attempts: 1 });
  });

  it('reuses keep-alive connections across many deliveries', async () => {
    server.setScript((_req, i) => (i % 2 === 0 ? { status: 202 } : { status: 400, body: 'nope' }));
    for (let i = 0; i < 50; i++) await dispatcher.deliver(request(NO_RETRY));
    expect(server.requests).toHaveLength(50);
    expect(new Set(server.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
  });
});
