import { InFlightLimiter } from './limiter';

describe('InFlightLimiter', () => {
  it('lets `limit` through at once and hands freed slots to waiters in arrival order', async () => {
    const limiter = new InFlightLimiter(2);
    expect(limiter.acquire()).toBeUndefined();
    expect(limiter.acquire()).toBeUndefined();
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) => limiter.acquire()!.then(() => order.push(n)));
    expect(limiter.stats()).toEqual({ active: 2, waiting: 3 });
    limiter.release();
    limiter.release();
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual([1, 2]);
    limiter.release();
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
    limiter.release();
    limiter.release();
    expect(limiter.stats()).toEqual({ active: 0, waiting: 0 });
  });

  it('never has more than its limit running under many concurrent users', async () => {
    const limiter = new InFlightLimiter(5);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 3000 }, async () => {
        await limiter.acquire();
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setImmediate(r));
        running--;
        limiter.release();
      }),
    );
    expect(peak).toBe(5);
    expect(limiter.stats()).toEqual({ active: 0, waiting: 0 });
  });
});
