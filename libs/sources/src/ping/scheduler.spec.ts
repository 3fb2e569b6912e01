import type { CloudEvent } from '@eventing/cloudevents';
import { InvalidScheduleError, type PingLogger, PingScheduler, type PingSend } from './scheduler';
import type { PingSpec } from './types';

jest.setTimeout(10_000);

const EVERY_SECOND = '*/1 * * * * *';
const spec = (overrides: Partial<PingSpec> = {}): PingSpec => ({
  namespace: 'demo',
  name: 'ping',
  schedule: EVERY_SECOND,
  sinkUri: 'http://sink-a',
  data: 'hello',
  ...overrides,
});
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Sent {
  event: CloudEvent;
  sinkUri: string;
  at: number;
}

/** A send function that records every attempt and answers from a script (default: accept). */
function collector(
  answer: (attempt: number) => Awaited<ReturnType<PingSend>> | Error = () => ({ ok: true }),
) {
  const sent: Sent[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const send: PingSend = async (event, sinkUri) => {
    sent.push({ event, sinkUri, at: Date.now() });
    for (const w of waiters.filter((w) => sent.length >= w.count)) w.resolve();
    const result = answer(sent.length);
    if (result instanceof Error) throw result;
    return result;
  };
  const waitFor = (count: number) =>
    sent.length >= count
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiters.push({ count, resolve }));
  return { sent, send, waitFor };
}

function recordingLogger() {
  const lines: { level: 'info' | 'warn'; obj: Record<string, unknown>; msg: string }[] = [];
  const logger: PingLogger = {
    info: (obj, msg) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
  };
  return { lines, logger };
}

describe('PingScheduler', () => {
  // Tests run concurrently (each waits for wall-clock cron ticks); each has its own scheduler.
  const schedulers: PingScheduler[] = [];
  const track = (scheduler: PingScheduler) => (schedulers.push(scheduler), scheduler);
  afterAll(() => schedulers.forEach((scheduler) => scheduler.stop()));

  it.concurrent('fires a 6-field (seconds) schedule every second with a fresh ping event', async () => {
    const c = collector();
    const scheduler = track(
      new PingScheduler({ send: c.send, jitterMs: 0, logger: recordingLogger().logger }),
    );
    scheduler.upsert('demo/ping', spec({ contentType: 'text/plain' }));
    await c.waitFor(3);
    const [a, b, third] = c.sent as [Sent, Sent, Sent];
    expect(b.at - a.at).toBeGreaterThan(700);
    expect(third.at - b.at).toBeGreaterThan(700);
    for (const { event, sinkUri, at } of c.sent.slice(0, 3)) {
      expect(sinkUri).toBe('http://sink-a');
      expect(event.attributes).toMatchObject({
        specversion: '1.0',
        type: 'dev.knative.sources.ping',
        source: '/apis/v1/namespaces/demo/pingsources/ping',
        datacontenttype: 'text/plain',
      });
      expect(event.data?.toString()).toBe('hello');
      // time = send time
      expect(Math.abs(Date.parse(String(event.attributes['time'])) - at)).toBeLessThan(50);
    }
    expect(new Set(c.sent.map((s) => s.event.attributes['id'])).size).toBe(c.sent.length);
  });

  it.concurrent('waits a random jitter of at most jitterMs after the tick before sending', async () => {
    const c = collector();
    const scheduler = track(
      new PingScheduler({ send: c.send, jitterMs: 300, logger: recordingLogger().logger }),
    );
    scheduler.upsert('demo/ping', spec());
    await c.waitFor(3);
    for (const { at } of c.sent) expect(at % 1000).toBeLessThan(300 + 150);
  });

  it.concurrent('uses the injected clock for the event time', async () => {
    const c = collector();
    const fixed = new Date('2030-01-01T00:00:00.000Z');
    const scheduler = track(
      new PingScheduler({ send: c.send, jitterMs: 0, now: () => fixed, logger: recordingLogger().logger }),
    );
    scheduler.upsert('demo/ping', spec());
    await c.waitFor(1);
    expect(c.sent[0]?.event.attributes['time']).toBe('2030-01-01T00:00:00.000Z');
  });

  it.concurrent(
    'retries a failed send with exponential backoff, keeping the same event, then succeeds',
    async () => {
      const c = collector((n) => (n <= 2 ? { ok: false, status: 503, reason: 'busy' } : { ok: true }));
      const log = recordingLogger();
      const scheduler = track(
        new PingScheduler({ send: c.send, jitterMs: 0, retryBaseMs: 40, logger: log.logger }),
      );
      scheduler.upsert('demo/ping', spec({ schedule: '@hourly' }));
      scheduler.remove('demo/ping');
      scheduler.upsert('demo/ping', spec());
      await c.waitFor(3);
      await sleep(10);
      const [first, second, third] = c.sent as [Sent, Sent, Sent];
      expect(second.event).toBe(first.event);
      expect(third.event).toBe(first.event);
      expect(second.at - first.at).toBeGreaterThanOrEqual(38);
      expect(third.at - second.at).toBeGreaterThanOrEqual(78);
      expect(log.lines.map((l) => [l.level, l.msg, l.obj['attempt'], l.obj['status']])).toEqual([
        ['warn', 'ping event delivery failed; will retry', 1, 503],
        ['warn', 'ping event delivery failed; will retry', 2, 503],
        ['info', 'ping event delivered after retries', 3, undefined],
      ]);
      expect(log.lines[0]?.obj).toMatchObject({
        key: 'demo/ping',
        namespace: 'demo',
        name: 'ping',
        sink: 'http://sink-a',
        reason: 'busy',
      });
    },
  );

  it.concurrent('logs the loss after the last retry (a throwing send counts as a failure)', async () => {
    const c = collector(() => new Error('connect ECONNREFUSED'));
    const log = recordingLogger();
    const scheduler = track(
      new PingScheduler({ send: c.send, jitterMs: 0, retries: 2, retryBaseMs: 10, logger: log.logger }),
    );
    scheduler.upsert('demo/ping', spec());
    await c.waitFor(3);
    await sleep(20);
    scheduler.remove('demo/ping');
    expect(log.lines.slice(0, 3).map((l) => [l.msg, l.obj['attempt'], l.obj['reason']])).toEqual([
      ['ping event delivery failed; will retry', 1, 'connect ECONNREFUSED'],
      ['ping event delivery failed; will retry', 2, 'connect ECONNREFUSED'],
      ['ping event lost: every delivery attempt failed', 3, 'connect ECONNREFUSED'],
    ]);
    expect(new Set(c.sent.slice(0, 3).map((s) => s.event.attributes['id'])).size).toBe(1);
  });

  it.concurrent('upsert replaces the schedule for a key', async () => {
    const c = collector();
    const scheduler = track(
      new PingScheduler({ send: c.send, jitterMs: 0, logger: recordingLogger().logger }),
    );
    scheduler.upsert('demo/ping', spec());
    await c.waitFor(1);
    scheduler.upsert('demo/ping', spec({ sinkUri: 'http://sink-b', data: 'v2' }));
    const before = c.sent.length;
    await c.waitFor(before + 2);
    expect(c.sent.slice(before).map((s) => [s.sinkUri, s.event.data?.toString()])).toEqual([
      ['http://sink-b', 'v2'],
      ['http://sink-b', 'v2'],
    ]);
    expect(scheduler.keys()).toEqual(['demo/ping']);
  });

  it.concurrent('upsert with an unchanged spec keeps the running job (pending retries survive)', async () => {
    const c = collector((n) => (n === 1 ? { ok: false, status: 500 } : { ok: true }));
    const scheduler = track(
      new PingScheduler({ send: c.send, jitterMs: 0, retryBaseMs: 300, logger: recordingLogger().logger }),
    );
    scheduler.upsert('demo/ping', spec({ schedule: '* * * * * *' }));
    await c.waitFor(1);
    scheduler.upsert('demo/ping', spec({ schedule: '* * * * * *' }));
    await c.waitFor(2);
    expect(c.sent[1]?.event).toBe(c.sent[0]?.event);
  });

  it.concurrent('remove stops the schedule and abandons pending retries', async () => {
    const c = collector(() => ({ ok: false, status: 503 }));
    const scheduler = track(
      new PingScheduler({ send: c.send, jitterMs: 0, retryBaseMs: 300, logger: recordingLogger().logger }),
    );
    scheduler.upsert('demo/ping', spec());
    await c.waitFor(1);
    scheduler.remove('demo/ping');
    await sleep(1300);
    expect(c.sent).toHaveLength(1);
    expect(scheduler.keys()).toEqual([]);
    scheduler.remove('demo/ping'); // unknown key: no-op
  });

  it.concurrent('stop stops every schedule', async () => {
    const c = collector();
    const scheduler = track(
      new PingScheduler({ send: c.send, jitterMs: 0, logger: recordingLogger().logger }),
    );
    scheduler.upsert('demo/a', spec({ name: 'a' }));
    scheduler.upsert('demo/b', spec({ name: 'b' }));
    await c.waitFor(2);
    scheduler.stop();
    await sleep(50);
    const count = c.sent.length;
    await sleep(1200);
    expect(c.sent.length).toBe(count);
    expect(scheduler.keys()).toEqual([]);
  });

  it.concurrent('refuses an invalid schedule on upsert, keeping the previous one', async () => {
    const c = collector();
    const scheduler = track(
      new PingScheduler({ send: c.send, jitterMs: 0, logger: recordingLogger().logger }),
    );
    scheduler.upsert('demo/ping', spec());
    expect(() => scheduler.upsert('demo/ping', spec({ schedule: '@every 1m' }))).toThrow(
      InvalidScheduleError,
    );
    expect(() =>
      scheduler.upsert('demo/ping', spec({ schedule: '0 9 * * *', timezone: 'Nope/Nowhere' })),
    ).toThrow(
      'PingSource demo/ping: spec.timezone: invalid value: provided bad location Nope/Nowhere: unknown time zone Nope/Nowhere',
    );
    await c.waitFor(1);
    expect(scheduler.keys()).toEqual(['demo/ping']);
  });
});
