import { KafkaAppender } from './kafka-appender';
import type { ProducerRecord } from './kafka-records';

const record = (topic: string, n: number): ProducerRecord => ({
  topic,
  value: Buffer.from(String(n)),
  headers: new Map(),
});

/** A fake producer: each send waits until released by the test. */
function fakeSender() {
  const sends: { records: ProducerRecord[]; ok(): void; fail(error: Error): void }[] = [];
  const send = (records: ProducerRecord[]) =>
    new Promise<void>((ok, fail) => sends.push({ records, ok: () => ok(), fail }));
  return { sends, send };
}

const limits = { maxPending: 100, maxBatchRecords: 10, maxBatchBytes: 1000, maxInFlightRequests: 4 };
const failure = (error: unknown, topic: string) =>
  ({
    ok: false,
    status: 503,
    reason: `${topic}: ${(error as Error).message}`,
    retryAfterSeconds: 1,
  }) as const;
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KafkaAppender', () => {
  it('sends the appends of one tick together, and what came meanwhile in the next request', async () => {
    const { sends, send } = fakeSender();
    const appender = new KafkaAppender(send, limits, failure);
    const first = [1, 2, 3].map((n) => appender.append(record('a', n), 10));
    await tick();
    expect(sends.map((s) => s.records.length)).toEqual([3]);
    const second = [4, 5].map((n) => appender.append(record('a', n), 10));
    await tick();
    expect(sends).toHaveLength(1); // one request per topic in flight
    sends[0]!.ok();
    expect(await Promise.all(first)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    await tick();
    expect(sends.map((s) => s.records.length)).toEqual([3, 2]);
    sends[1]!.ok();
    expect(await Promise.all(second)).toEqual([{ ok: true }, { ok: true }]);
    expect(appender.pending).toBe(0);
  });

  it('bounds a request by records and bytes, and never holds one topic behind another', async () => {
    const { sends, send } = fakeSender();
    const appender = new KafkaAppender(send, limits, failure);
    for (let n = 0; n < 25; n++) void appender.append(record('a', n), 10);
    for (let n = 0; n < 3; n++) void appender.append(record('b', n), 400);
    await tick();
    expect(sends.map((s) => [s.records[0]!.topic, s.records.length])).toEqual([
      ['a', 10],
      ['b', 2],
    ]);
  });

  it('answers every append of a failed request with the refusal', async () => {
    const { sends, send } = fakeSender();
    const appender = new KafkaAppender(send, limits, failure);
    const results = [1, 2].map((n) => appender.append(record('a', n), 10));
    await tick();
    sends[0]!.fail(new Error('down'));
    expect(await Promise.all(results)).toEqual([
      { ok: false, status: 503, reason: 'a: down', retryAfterSeconds: 1 },
      { ok: false, status: 503, reason: 'a: down', retryAfterSeconds: 1 },
    ]);
  });

  it('refuses at once when maxPending appends wait, and after close', async () => {
    const { sends, send } = fakeSender();
    const appender = new KafkaAppender(send, { ...limits, maxPending: 2 }, failure);
    const waiting = [appender.append(record('a', 1), 10), appender.append(record('a', 2), 10)];
    expect(await appender.append(record('a', 3), 10)).toMatchObject({ ok: false, status: 503 });
    await tick();
    const closing = appender.close();
    expect(await appender.append(record('a', 4), 10)).toMatchObject({ ok: false, status: 503 });
    sends[0]!.ok();
    await closing;
    expect(await Promise.all(waiting)).toEqual([{ ok: true }, { ok: true }]);
  });
});
