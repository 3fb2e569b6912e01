/** How retries of a failing key are spaced, and how many keys are worked at once. */
export interface WorkQueueOptions {
  /** First retry delay of a failing key, doubled on each further failure (default 5 ms). */
  baseDelayMs?: number;
  /** Longest retry delay (default 5 minutes). */
  maxDelayMs?: number;
  /** Retries (not first attempts) allowed per second across all keys (default 10, burst 100). */
  retriesPerSecond?: number;
  retryBurst?: number;
  /** Keys worked at once (default 4). */
  concurrency?: number;
}

/**
 * A de-duplicating, rate-limited queue of keys, worked by a fixed number of workers. A key added
 * while queued is queued once; a key added while it is being worked is worked again afterwards
 * (never twice at once). Failing keys come back after a per-key exponential delay, and retries as a
 * whole are held to a token bucket, so a broken dependency cannot make the controller hammer the
 * API server.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while being worked: worked again when done. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout; soon: boolean }>();
  /** Delayed adds that are part of the current work (coalescing), not retries: idle waits for them. */
  private soon = 0;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly retriesPerSecond: number;
  private readonly retryBurst: number;
  private readonly concurrency: number;
  private tokens: number;
  private tokensAt = Date.now();
  private worker?: (key: string) => Promise<void>;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: WorkQueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 300_000;
    this.retriesPerSecond = options.retriesPerSecond ?? 10;
    this.retryBurst = options.retryBurst ?? 100;
    this.concurrency = options.concurrency ?? 4;
    this.tokens = this.retryBurst;
  }

  /** Keys waiting to be worked (not counting delayed retries). */
  get depth(): number {
    return this.queue.length - this.head;
  }

  /** Keys being worked now. */
  get busy(): number {
    return this.processing.size;
  }

  /** Queues a key now, unless it is already queued. */
  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Queues a key after `ms`; an earlier pending time wins. */
  addAfter(key: string, ms: number): void {
    this.delay(key, ms, false);
  }

  /**
   * Queues a key after `ms` as part of the work at hand (to coalesce a burst of changes): unlike a
   * retry, `idle()` waits for it.
   */
  addSoon(key: string, ms: number): void {
    this.delay(key, ms, true);
  }

  private delay(key: string, ms: number, soon: boolean): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing !== undefined && existing.at <= at) {
      if (soon && !existing.soon) {
        existing.soon = true;
        this.soon++;
      }
      return;
    }
    if (existing !== undefined) {
      clearTimeout(existing.timer);
      if (existing.soon) this.soon--;
    }
    const entry = {
      at,
      soon: soon || existing?.soon === true,
      timer: setTimeout(() => {
        this.timers.delete(key);
        if (entry.soon) this.soon--;
        this.add(key);
        this.wakeIdle();
      }, ms),
    };
    if (entry.soon) this.soon++;
    entry.timer.unref();
    this.timers.set(key, entry);
  }

  /** Queues a failed key again after its backoff (and the retry budget) allows. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const perKey = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n, 40));
    this.addAfter(key, Math.max(perKey, this.bucketDelay()));
  }

  /** Clears a key's failure count (call after it succeeded). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Failures recorded for a key since it last succeeded. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * Starts working keys with `worker` (again, after `stop`); a worker that throws gets its key
   * retried with backoff.
   */
  run(worker: (key: string) => Promise<void>): void {
    this.worker = worker;
    this.stopped = false;
    this.pump();
  }

  /** Resolves when nothing is queued, being worked or coming soon (delayed retries do not count). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking keys; resolves when the keys being worked are done. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.soon = 0;
    this.queue.length = 0;
    this.head = 0;
    this.queued.clear();
    this.dirty.clear();
    await this.idle();
  }

  private isIdle(): boolean {
    return this.depth === 0 && this.processing.size === 0 && this.soon === 0;
  }

  private wakeIdle(): void {
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private bucketDelay(): number {
    const now = Date.now();
    this.tokens = Math.min(
      this.retryBurst,
      this.tokens + ((now - this.tokensAt) / 1000) * this.retriesPerSecond,
    );
    this.tokensAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.retriesPerSecond) * 1000);
  }

  private pump(): void {
    const worker = this.worker;
    if (worker === undefined) return;
    while (this.processing.size < this.concurrency && this.depth > 0) {
      const key = this.queue[this.head++] as string;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      this.queued.delete(key);
      this.processing.add(key);
      void worker(key)
        .catch(() => this.addRateLimited(key))
        .finally(() => {
          this.processing.delete(key);
          if (this.dirty.delete(key)) this.add(key);
          this.pump();
          this.wakeIdle();
        });
    }
    this.wakeIdle();
  }
}
