import { LogEnds } from './log-ends';

/** A listing function that records its calls and answers when the test says. */
function lister() {
  const calls: { topic: string; partitions: readonly number[]; answer(ends: Map<number, bigint>): void }[] =
    [];
  const list = (topic: string, partitions: readonly number[]) =>
    new Promise<Map<number, bigint>>((resolve) => calls.push({ topic, partitions, answer: resolve }));
  return { calls, list };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('LogEnds', () => {
  it('reports what fetch answers told, and lists nothing while they are fresh', () => {
    const { calls, list } = lister();
    const ends = new LogEnds(list, 1000, () => undefined);
    ends.seen('t', 0, 42n, 0);
    expect(ends.end('t', 0, 500)).toBe(42n);
    ends.refresh(500);
    expect(calls).toHaveLength(0);
  });

  it('lists stale and unknown partitions of a topic in one request, at most once per interval', async () => {
    const { calls, list } = lister();
    const ends = new LogEnds(list, 1000, () => undefined);
    ends.seen('t', 0, 10n, 0);
    expect(ends.end('t', 0, 2000)).toBe(10n);
    expect(ends.end('t', 1, 2000)).toBeUndefined();
    ends.refresh(2000);
    ends.refresh(2000);
    expect(calls.map((c) => [c.topic, c.partitions])).toEqual([['t', [0, 1]]]);
    calls[0]!.answer(
      new Map([
        [0, 15n],
        [1, 7n],
      ]),
    );
    await settle();
    expect(ends.end('t', 0, 2100)).toBe(15n);
    expect(ends.end('t', 1, 2100)).toBe(7n);
    // Read as stale again soon after, but the last request started less than an interval ago.
    ends.end('t', 0, 3500);
    ends.refresh(2500);
    expect(calls).toHaveLength(1);
    ends.refresh(3500);
    expect(calls).toHaveLength(2);
  });

  it('keeps a fetch answer that came while a listing was on its way', async () => {
    const { calls, list } = lister();
    const ends = new LogEnds(list, 1000, () => undefined);
    ends.end('t', 0, 0);
    ends.refresh(0);
    ends.seen('t', 0, 30n, 10);
    calls[0]!.answer(new Map([[0, 20n]]));
    await settle();
    expect(ends.end('t', 0, 20)).toBe(30n);
  });

  it('reports a failed listing and tries again after the interval', async () => {
    const errors: string[] = [];
    let fail = true;
    const asked: number[] = [];
    const ends = new LogEnds(
      async (_topic, partitions) => {
        asked.push(partitions.length);
        if (fail) throw new Error('broker away');
        return new Map([[0, 5n]]);
      },
      1000,
      (err, topic) => errors.push(`${topic}: ${(err as Error).message}`),
    );
    ends.end('t', 0, 0);
    ends.refresh(0);
    await settle();
    expect(errors).toEqual(['t: broker away']);
    fail = false;
    ends.end('t', 0, 1000);
    ends.refresh(1000);
    await settle();
    expect(ends.end('t', 0, 1001)).toBe(5n);
    expect(asked).toEqual([1, 1]);
  });

  it('forgets a deleted topic', () => {
    const ends = new LogEnds(lister().list, 1000, () => undefined);
    ends.seen('t', 0, 9n, 0);
    ends.forget('t');
    expect(ends.end('t', 0, 1)).toBeUndefined();
  });
});
