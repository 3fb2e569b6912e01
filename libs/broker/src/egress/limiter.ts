/**
 * Caps deliveries in flight across every trigger and subscription of a data plane, so memory stays
 * bounded however many triggers there are (each also has its own per-trigger cap). Waiters are
 * served in arrival order.
 */
export class InFlightLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private head = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`in-flight limit must be a positive integer, got ${limit}`);
  }

  /** Resolves once a slot is free; undefined when one was free at once (no promise allocated). */
  acquire(): Promise<void> | undefined {
    if (this.active < this.limit && this.head === this.waiting.length) {
      this.active++;
      return undefined;
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Frees a slot, handing it straight to the longest waiter. */
  release(): void {
    if (this.head < this.waiting.length) {
      const next = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined as never;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      next();
      return;
    }
    this.active--;
  }

  /** Deliveries running now and waiting for a slot. */
  stats(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length - this.head };
  }
}
