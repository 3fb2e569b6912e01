import type { ObservedEventType } from '@eventing/api';
import type { CloudEvent } from '@eventing/cloudevents';

/** The addressable an event arrived at, as the EventType's `reference` names it. */
export interface EventTypeReference {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** For the owner reference: the EventType goes away with its addressable. */
  uid: string;
}

/** One event type seen at one addressable: what an EventType is made of (CONFORMANCE 2.16). */
export type ObservedType = ObservedEventType;

/**
 * Where observed types go: an in-process registry (standalone) or the controller (Kubernetes).
 * Resolves `'disabled'` when the registry has auto-creation off: the recorder then stops recording
 * for `disabledRecheckMs` and asks again with the next new type after that.
 */
export type ObservedTypesSink = (batch: readonly ObservedType[]) => Promise<void | 'disabled'>;

export interface EventTypeRecorderOptions {
  sink: ObservedTypesSink;
  /** Whether `eventtype-auto-create` is on; `setEnabled` changes it. Default false. */
  enabled?: boolean;
  /** Types waiting to be handed over; beyond it new types are dropped (and counted). Default 1000. */
  maxPending?: number;
  /** Types remembered as handed over, so repeats cost no hand-over; oldest forgotten first. Default 10,000. */
  maxKnown?: number;
  /** Hand-overs per second at most (each carries up to `batchSize` types). Default 5. */
  handOversPerSecond?: number;
  /** Types per hand-over. Default 100. */
  batchSize?: number;
  /** Wait before a failed hand-over is tried again; doubles up to 30 s. Default 1000. */
  retryDelayMs?: number;
  /** How long recording stays off after the sink answered 'disabled'. Default 60 s. */
  disabledRecheckMs?: number;
  onError?: (error: Error, batch: readonly ObservedType[]) => void;
}

/** What the recorder did so far. */
export interface EventTypeRecorderStats {
  /** Distinct types observed and handed over successfully. */
  handedOver: number;
  /** Types dropped because the pending set was full. */
  dropped: number;
  /** Hand-overs that failed (their types were tried again). */
  failures: number;
  pending: number;
}

/**
 * Records the event types seen at broker and channel ingress for EventType auto-creation
 * (`eventtype-auto-create`), off the request path: `observe` is a flag check when off, and a Map
 * lookup when on; new types are handed to the sink in the background in rate-limited batches. The
 * pending and known sets are bounded, and a type already handed over is never handed over again
 * while remembered (the sink is idempotent anyway: EventType names are derived from the type).
 */
export class EventTypeRecorder {
  private on: boolean;
  private readonly sink: ObservedTypesSink;
  private readonly maxPending: number;
  private readonly maxKnown: number;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly retryDelayMs: number;
  private readonly onError: EventTypeRecorderOptions['onError'];
  private readonly disabledRecheckMs: number;
  private recheck: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, ObservedType>();
  /** Keys handed over, in insertion order (the oldest is forgotten first). */
  private readonly known = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastHandOver = -Infinity;
  private failuresInARow = 0;
  private closed = false;
  private readonly counts = { handedOver: 0, dropped: 0, failures: 0 };

  constructor(options: EventTypeRecorderOptions) {
    this.sink = options.sink;
    this.on = options.enabled ?? false;
    this.maxPending = options.maxPending ?? 1000;
    this.maxKnown = options.maxKnown ?? 10_000;
    this.intervalMs = 1000 / (options.handOversPerSecond ?? 5);
    this.batchSize = options.batchSize ?? 100;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.onError = options.onError;
    this.disabledRecheckMs = options.disabledRecheckMs ?? 60_000;
  }

  /** Whether auto-creation is on (read per event by the ingress hook). */
  get enabled(): boolean {
    return this.on;
  }

  /** Turns auto-creation on or off (config-features changed). Off drops what was pending. */
  setEnabled(enabled: boolean): void {
    this.on = enabled;
    if (this.recheck !== undefined) clearTimeout(this.recheck);
    this.recheck = undefined;
    if (!enabled) this.pending.clear();
  }

  /** Notes that `event` was accepted at `reference`. Never throws, never waits. */
  observe(reference: EventTypeReference, event: CloudEvent): void {
    if (!this.on) return;
    const attributes = event.attributes;
    const type = String(attributes['type']);
    const source = String(attributes['source']);
    const key = `${reference.uid}\u0000${type}\u0000${source}`;
    if (this.known.has(key) || this.pending.has(key)) return;
    if (this.pending.size >= this.maxPending) {
      this.counts.dropped++;
      return;
    }
    const schema = attributes['dataschema'];
    const { uid, ...ref } = reference;
    this.pending.set(key, {
      reference: ref,
      referenceUid: uid,
      type,
      source,
      schema: schema === undefined ? '' : String(schema),
      specversion: String(attributes['specversion']),
    });
    this.schedule();
  }

  /** Counts of what was handed over, dropped and failed. */
  stats(): EventTypeRecorderStats {
    return { ...this.counts, pending: this.pending.size };
  }

  /** Resolves once nothing is pending or being handed over (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.flushing !== undefined || (this.pending.size > 0 && this.timer !== undefined)) {
      await (this.flushing ?? new Promise((r) => setTimeout(r, 10)));
    }
  }

  /** Stops handing over; what is pending is dropped. */
  close(): void {
    this.closed = true;
    if (this.recheck !== undefined) clearTimeout(this.recheck);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private schedule(delayMs?: number): void {
    if (this.timer !== undefined || this.flushing !== undefined || this.closed) return;
    const wait = delayMs ?? Math.max(0, this.lastHandOver + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.pending.size > 0) {
          const backoff =
            this.failuresInARow > 0
              ? Math.min(30_000, this.retryDelayMs * 2 ** (this.failuresInARow - 1))
              : undefined;
          this.schedule(backoff);
        }
      });
    }, wait);
    this.timer.unref?.();
  }

  private async flush(): Promise<void> {
    const keys: string[] = [];
    const batch: ObservedType[] = [];
    for (const [key, observed] of this.pending) {
      keys.push(key);
      batch.push(observed);
      if (batch.length >= this.batchSize) break;
    }
    if (batch.length === 0) return;
    this.lastHandOver = Date.now();
    try {
      if ((await this.sink(batch)) === 'disabled') {
        // Off where EventTypes are made: record nothing for a while, then look again.
        this.setEnabled(false);
        if (!this.closed) {
          this.recheck = setTimeout(() => {
            this.recheck = undefined;
            this.on = true;
          }, this.disabledRecheckMs);
          this.recheck.unref?.();
        }
        return;
      }
    } catch (err) {
      this.counts.failures++;
      this.failuresInARow++;
      this.onError?.(err instanceof Error ? err : new Error(String(err)), batch);
      return;
    }
    this.failuresInARow = 0;
    for (const key of keys) {
      this.pending.delete(key);
      this.known.add(key);
      this.counts.handedOver++;
    }
    while (this.known.size > this.maxKnown) this.known.delete(this.known.values().next().value as string);
  }
}
