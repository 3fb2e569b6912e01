import { setTimeout as sleep } from 'node:timers/promises';
import { WorkQueue } from './work-queue';

describe('WorkQueue', () => {
  it('works a key added many times while queued once', async () => {
    const q = new WorkQueue();
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) q.add('a');
    q.add('b');
    q.run(async (key) => {
      seen.push(key);
    });
    await q.idle();
    expect(seen).toEqual(['a', 'b']);
  });

  it('never works one key twice at once, and works it again when added meanwhile', async () => {
    const q = new WorkQueue({ concurrency: 4 });
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    q.run(async () => {
      running++;
      runs++;
      maxRunning = Math.max(maxRunning, running);
      if (runs === 1) {
        q.add('k');
        q.add('k');
      }
      await sleep(5);
      running--;
    });
    q.add('k');
    await q.idle();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('holds workers to the concurrency', async () => {
    const q = new WorkQueue({ concurrency: 2 });
    let running = 0;
    let maxRunning = 0;
    q.run(async () => {
      maxRunning = Math.max(maxRunning, ++running);
      await sleep(2);
      running--;
    });
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    await q.idle();
    expect(maxRunning).toBe(2);
  });

  it('retries a failing key with growing delays, and forget resets them', async () => {
    const q = new WorkQueue({ baseDelayMs: 10 });
    const at: number[] = [];
    const start = Date.now();
    q.run(async () => {
      at.push(Date.now() - start);
      if (at.length < 4) throw new Error('not yet');
    });
    q.add('k');
    while (at.length < 4) await sleep(5);
    // 10, 20, 40 ms apart (at least).
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(9);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(19);
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(39);
    expect(q.retries('k')).toBe(3);
    q.forget('k');
    expect(q.retries('k')).toBe(0);
  });

  it('holds retries across keys to its budget', async () => {
    const q = new WorkQueue({ baseDelayMs: 1, retriesPerSecond: 20, retryBurst: 2 });
    let runs = 0;
    q.run(async () => {
      runs++;
      throw new Error('always');
    });
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    await sleep(200);
    // 10 first attempts, then 2 retries of burst and about 20/s: far fewer than 10 keys retrying freely.
    expect(runs).toBeGreaterThanOrEqual(12);
    expect(runs).toBeLessThan(20);
    await q.stop();
  });

  it('stop drops what is queued and waits for the keys being worked', async () => {
    const q = new WorkQueue({ concurrency: 1 });
    const done: string[] = [];
    q.run(async (key) => {
      await sleep(10);
      done.push(key);
    });
    q.add('a');
    q.add('b');
    await q.stop();
    expect(done).toEqual(['a']);
    q.add('c');
    await sleep(20);
    expect(done).toEqual(['a']);
  });
});
