import type { CloudEvent } from '@eventing/cloudevents';
import { ClaimedPingScheduler, MemoryTickLedger, type TickLedger } from './claimed-scheduler';
import type { PingSpec } from './types';

jest.setTimeout(20_000);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const everySecond: PingSpec = {
  uid: 'u-1',
  namespace: 'demo',
  name: 'tick',
  schedule: '* * * * * *',
  data: '{"n":1}',
  contentType: 'application/json',
  sinkUri: 'http://sink.invalid/',
};

interface Sent {
  by: string;
  key: string;
  tick: number;
  event: CloudEvent;
}

/** Runs a scheduler named `by` on the ledger, recording what it sends. */
function runner(by: string, ledger: TickLedger, sent: Sent[], jitterMs = 0) {
  const scheduler = new ClaimedPingScheduler({
    ledger,
    jitterMs,
    send: (spec, event) => {
      const time = Date.parse(String(event.attributes['time']));
      sent.push({ by, key: `${spec.namespace}/${spec.name}`, tick: Math.floor(time / 1000), event });
      return Promise.resolve();
    },
  });
  const abort = new AbortController();
  scheduler.sync([everySecond]);
  const running = scheduler.run(abort.signal);
  return {
    scheduler,
    /** As a SIGKILL: the loop stops where it is, nothing is released. */
    kill: async () => {
      abort.abort();
      await running;
      await scheduler.stop();
    },
  };
}

/** Every tick from the first to the last sent, each exactly once. */
function expectEachTickOnce(sent: Sent[]): void {
  const ticks = sent.map((s) => s.tick).sort((a, b) => a - b);
  const first = ticks[0]!;
  const last = ticks[ticks.length - 1]!;
  const expected = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  expect(ticks).toEqual(expected);
}

describe('ClaimedPingScheduler (CONFORMANCE 4.1: one fire per tick across replicas)', () => {
  it('two replicas on one ledger send each tick exactly once', async () => {
    const ledger = new MemoryTickLedger();
    const sent: Sent[] = [];
    const a = runner('a', ledger, sent);
    const b = runner('b', ledger, sent);
    await sleep(4_200);
    await a.kill();
    await b.kill();
    expect(sent.length).toBeGreaterThanOrEqual(4);
    expectEachTickOnce(sent);
    expect(sent.every((s) => s.event.attributes['type'] === 'dev.knative.sources.ping')).toBe(true);
  });

  it('a replica taking over sends the ticks missed meanwhile, late and once, then goes on', async () => {
    const ledger = new MemoryTickLedger();
    const sent: Sent[] = [];
    const a = runner('a', ledger, sent);
    await sleep(2_100);
    await a.kill();
    const before = sent.length;
    await sleep(2_500); // nobody leads: ticks are due but not sent
    expect(sent.length).toBe(before);
    const b = runner('b', ledger, sent);
    await sleep(1_600);
    await b.kill();
    expectEachTickOnce(sent);
    expect(sent.filter((s) => s.by === 'b').length).toBeGreaterThanOrEqual(3);
  });

  it('nothing is sent while the ledger cannot be written; the ticks go out once it can', async () => {
    const inner = new MemoryTickLedger();
    let broken = true;
    const ledger: TickLedger = {
      read: () => inner.read(),
      advance: (cursor, version) =>
        broken ? Promise.reject(new Error('API server unreachable')) : inner.advance(cursor, version),
    };
    const sent: Sent[] = [];
    const a = runner('a', ledger, sent);
    await sleep(1_600);
    expect(sent).toEqual([]);
    broken = false;
    await sleep(1_300);
    await a.kill();
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expectEachTickOnce(sent);
  });

  it('jitter is 0..jitterMs in slots, the same for a tick wherever it is computed', () => {
    const make = () =>
      new ClaimedPingScheduler({ ledger: new MemoryTickLedger(), send: () => Promise.resolve() });
    const one = make();
    const two = make();
    const offsets = new Set<number>();
    for (let tick = 0; tick < 200_000; tick += 1000) {
      const j = one.jitterOf(everySecond, tick);
      expect(j).toBe(two.jitterOf(everySecond, tick));
      offsets.add(j);
    }
    expect([...offsets].sort((a, b) => a - b)).toEqual([0, 100, 200, 300, 400, 500]);
  });

  it('ticks missed longer ago than the catch-up window are not sent', async () => {
    const ledger = new MemoryTickLedger();
    await ledger.advance(Date.now() - 3_600_000, '0');
    const sent: Sent[] = [];
    const scheduler = new ClaimedPingScheduler({
      ledger,
      jitterMs: 0,
      catchUpMs: 2_000,
      send: (spec, event) => {
        sent.push({
          by: 'a',
          key: spec.name,
          tick: Math.floor(Date.parse(String(event.attributes['time'])) / 1000),
          event,
        });
        return Promise.resolve();
      },
    });
    scheduler.sync([everySecond]);
    const abort = new AbortController();
    const running = scheduler.run(abort.signal);
    await sleep(300);
    abort.abort();
    await running;
    await scheduler.stop();
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(sent.length).toBeLessThanOrEqual(3);
  });

  it('reads a schedule in its time zone (timezone field and CRON_TZ prefix)', () => {
    const scheduler = new ClaimedPingScheduler({
      ledger: new MemoryTickLedger(),
      send: () => Promise.resolve(),
    });
    scheduler.sync([
      { ...everySecond, name: 'paris', schedule: '0 9 * * *', timezone: 'Europe/Paris' },
      { ...everySecond, name: 'kolkata', schedule: 'CRON_TZ=Asia/Kolkata 0 9 * * *' },
      { ...everySecond, name: 'utc', schedule: '0 9 * * *' },
    ]);
    const planned = scheduler.planned(Date.parse('2024-01-15T00:00:00Z'));
    const ticks = Object.fromEntries(planned.map((p) => [p.key, p.tick.toISOString()]));
    expect(ticks).toEqual({
      'demo/paris': '2024-01-15T08:00:00.000Z',
      'demo/kolkata': '2024-01-15T03:30:00.000Z',
      'demo/utc': '2024-01-15T09:00:00.000Z',
    });
    for (const p of planned) {
      const jitter = p.due.getTime() - p.tick.getTime();
      expect(jitter).toBeGreaterThanOrEqual(0);
      expect(jitter).toBeLessThanOrEqual(500);
    }
  });

  it('reports refused schedules by uid with the field, and keeps the others', () => {
    const scheduler = new ClaimedPingScheduler({
      ledger: new MemoryTickLedger(),
      send: () => Promise.resolve(),
    });
    const report = scheduler.sync([
      everySecond,
      { ...everySecond, uid: 'u-2', name: 'bad', schedule: '@every 1m' },
    ]);
    expect([...report.served]).toEqual(['u-1']);
    expect(report.failed.get('u-2')).toContain('spec.schedule: invalid value: unsupported descriptor @every');
    expect(scheduler.keys()).toEqual(['demo/tick']);
  });
});
