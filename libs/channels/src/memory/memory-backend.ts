import type { CloudEvent } from '@eventing/cloudevents';
import type {
  Ack,
  AppendOptions,
  AppendResult,
  ChannelBackend,
  ChannelMessage,
  ChannelRef,
  Consumer,
  MessageHandler,
  SubscriptionOptions,
} from '../backend';
import { Deque } from './deque';

export interface MemoryChannelBackendOptions {
  /** Most undelivered events (queued + in flight + awaiting redelivery) per subscription. Default 10 000. */
  capacityPerSubscription?: number;
  /**
   * How long a nacked message waits before its first redelivery. Default 1000 ms. Each further
   * redelivery waits twice as long, up to `maxNackDelayMs`.
   */
  nackDelayMs?: number;
  /** Longest wait between redeliveries of a nacked message. Default 60 000 ms. */
  maxNackDelayMs?: number;
}

/** Reasons a message leaves a consumer without an ack, as counted by callers. */
export const DISCARD_REASONS = {
  channelDeleted: 'channel_deleted',
  shutdown: 'shutdown',
  closed: 'consumer_closed',
} as const;

/** Wait before redelivery number `redeliveries + 1`: initial · 2^redeliveries, capped. */
export function nackDelay(initialMs: number, maxMs: number, redeliveries: number): number {
  if (initialMs <= 0) return 0;
  return Math.min(maxMs, initialMs * 2 ** Math.min(redeliveries, 30));
}

/** Counts for one subscription, for metrics and tests. */
export interface SubscriptionStats {
  /** Waiting to be handed out, including nacked messages waiting for their redelivery delay. */
  queued: number;
  /** Handed to the handler and not settled yet. */
  inFlight: number;
}

/** Accepted results by number of copies, shared so that an append allocates nothing. */
const ACCEPTED: readonly AppendResult[] = Array.from({ length: 65 }, (_, copies) =>
  Object.freeze({ ok: true as const, copies }),
);
const accepted = (copies: number): AppendResult => ACCEPTED[copies] ?? { ok: true, copies };

const channelKey = (ref: ChannelRef): string => `${ref.namespace}/${ref.name}`;

/** Whether a settlement hands the message back for later. */
function isNack(ack: Ack): ack is 'nack' | { nack: number } {
  return ack === 'nack' || typeof ack === 'object';
}

/** The message as it is handed out again after a nack. */
function redelivery(message: ChannelMessage): ChannelMessage {
  return { event: message.event, headers: message.headers, redeliveries: message.redeliveries + 1 };
}

/** Backend-wide bookkeeping a subscription reports to (drain accounting). */
interface Ledger {
  release(count: number): void;
}

interface ChannelState {
  ref: ChannelRef;
  /** Kept as an array for a tight loop in append; rebuilt on (un)subscribe, which is rare. */
  subscriptions: SubscriptionQueue[];
  /** The same subscriptions by id, for targeted appends. */
  byId: Map<string, SubscriptionQueue>;
}

/** One subscription's bounded FIFO and its dispatch loop. */
class SubscriptionQueue implements Consumer {
  private readonly queue = new Deque<ChannelMessage>();
  private inFlight = 0;
  /** Nacked messages waiting for their redelivery timer; still count against capacity. */
  private readonly delayed = new Map<NodeJS.Timeout, ChannelMessage>();
  private scheduled = false;
  private closed = false;
  private closeReason = DISCARD_REASONS.closed as string;
  private closing: Promise<void> | undefined;
  private onIdle: (() => void) | undefined;
  private readonly pumpTask = (): void => this.pump();

  constructor(
    readonly id: string,
    private readonly maxInFlight: number,
    private readonly handler: MessageHandler,
    private readonly redelivery: { initialMs: number; maxMs: number },
    private readonly ledger: Ledger,
    private readonly detach: (sub: SubscriptionQueue) => void,
    private readonly options: SubscriptionOptions,
  ) {}

  /** Undelivered events held for this subscription. */
  get undelivered(): number {
    return this.queue.length + this.inFlight + this.delayed.size;
  }

  stats(): SubscriptionStats {
    return { queued: this.queue.length + this.delayed.size, inFlight: this.inFlight };
  }

  enqueue(message: ChannelMessage): void {
    this.queue.push(message);
    this.schedule();
  }

  /**
   * Stops dispatching and discards undelivered messages (reported with `reason`); resolves once
   * in-flight handlers settle.
   */
  close(reason: string = DISCARD_REASONS.closed): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closeReason = reason;
    this.detach(this);
    const discarded: ChannelMessage[] = [];
    for (let m = this.queue.shift(); m !== undefined; m = this.queue.shift()) discarded.push(m);
    for (const [timer, message] of this.delayed) {
      clearTimeout(timer);
      discarded.push(message);
    }
    this.delayed.clear();
    this.report(discarded, reason);
    this.closing =
      this.inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.onIdle = resolve;
          });
    return this.closing;
  }

  private report(messages: ChannelMessage[], reason: string): void {
    if (messages.length === 0) return;
    this.ledger.release(messages.length);
    try {
      this.options.onDiscard?.(messages, reason);
    } catch {
      // Counting must never break closing.
    }
  }

  /** One microtask per burst of appends, not one per event. */
  private schedule(): void {
    if (this.scheduled || this.closed || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    queueMicrotask(this.pumpTask);
  }

  private pump(): void {
    this.scheduled = false;
    while (!this.closed && this.inFlight < this.maxInFlight) {
      const message = this.queue.shift();
      if (message === undefined) return;
      this.inFlight++;
      void this.run(message);
    }
  }

  private async run(message: ChannelMessage): Promise<void> {
    let ack: Ack;
    try {
      ack = await this.handler(message);
    } catch (err) {
      // A throwing handler is a bug in the handler: say so, and keep the message rather than lose it.
      try {
        this.options.onHandlerError?.(message, err);
      } catch {
        // Reporting must not lose the message either.
      }
      ack = 'nack';
    }
    this.settle(message, ack);
  }

  private settle(message: ChannelMessage, ack: Ack): void {
    this.inFlight--;
    if (this.closed) {
      // A nacked message is reported as the redelivery it would have become.
      if (isNack(ack)) this.report([redelivery(message)], this.closeReason);
      else this.ledger.release(1);
      if (this.inFlight === 0) this.onIdle?.();
      return;
    }
    if (isNack(ack)) {
      const delay =
        ack === 'nack'
          ? nackDelay(this.redelivery.initialMs, this.redelivery.maxMs, message.redeliveries)
          : Math.max(0, ack.nack);
      const next = redelivery(message);
      const timer: NodeJS.Timeout = setTimeout(() => {
        this.delayed.delete(timer);
        this.queue.unshift(next);
        this.pump();
      }, delay);
      this.delayed.set(timer, next);
    } else {
      this.ledger.release(1);
    }
    this.pump();
  }
}

/**
 * In-memory channel storage: each subscription has its own bounded FIFO; nothing survives a restart
 * (the in-memory channel's contract). Appends are all-or-nothing across a channel's subscriptions.
 */
export class MemoryChannelBackend implements ChannelBackend {
  readonly kind = 'memory';
  readonly targetedAppend = true;
  readonly countsCopies = true;
  private readonly capacity: number;
  private readonly redelivery: { initialMs: number; maxMs: number };
  private readonly channels = new Map<string, ChannelState>();
  /** Messages enqueued anywhere and not yet acked or discarded. */
  private outstanding = 0;
  private drainWaiters: (() => void)[] = [];
  private closed = false;
  private readonly ledger: Ledger = { release: (count) => this.release(count) };

  constructor(options: MemoryChannelBackendOptions = {}) {
    this.capacity = options.capacityPerSubscription ?? 10_000;
    const initialMs = options.nackDelayMs ?? 1000;
    const maxMs = options.maxNackDelayMs ?? Math.max(60_000, initialMs);
    if (!Number.isInteger(this.capacity) || this.capacity < 1) {
      throw new RangeError(`capacityPerSubscription must be a positive integer, got ${this.capacity}`);
    }
    if (!(initialMs >= 0)) throw new RangeError(`nackDelayMs must be >= 0, got ${initialMs}`);
    if (!(maxMs >= initialMs))
      throw new RangeError(`maxNackDelayMs must be >= nackDelayMs (${initialMs}), got ${maxMs}`);
    this.redelivery = { initialMs, maxMs };
  }

  /** Creates the channel if it does not exist yet (idempotent). */
  async ensureChannel(channel: ChannelRef): Promise<void> {
    if (this.closed) throw new Error('channel backend is closed');
    const key = channelKey(channel);
    if (!this.channels.has(key)) {
      this.channels.set(key, {
        ref: { namespace: channel.namespace, name: channel.name },
        subscriptions: [],
        byId: new Map(),
      });
    }
  }

  /** Removes the channel and closes its consumers (their undelivered messages are discarded with `reason`). */
  async deleteChannel(channel: ChannelRef, reason: string = DISCARD_REASONS.channelDeleted): Promise<void> {
    const state = this.channels.get(channelKey(channel));
    if (!state) return;
    this.channels.delete(channelKey(channel));
    await Promise.all(state.subscriptions.map((sub) => sub.close(reason)));
  }

  /**
   * Hands the event to every current subscription of the channel (or to the `targets` among them),
   * or to none if any of those is full. The result says how many queues received it (0 when the
   * channel has no subscription, or none of the targets consumes it any more).
   */
  async append(
    channel: ChannelRef,
    event: CloudEvent,
    headers: Record<string, string>,
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const targets = options?.targets;
    if (this.closed)
      return { ok: false, status: 503, reason: 'channel backend is closed', retryAfterSeconds: 1 };
    const state = this.channels.get(channelKey(channel));
    if (state === undefined) {
      return {
        ok: false,
        status: 500,
        reason: `channel ${channel.namespace}/${channel.name} does not exist`,
      };
    }
    const subscriptions = targets === undefined ? state.subscriptions : pick(state.byId, targets);
    const count = subscriptions.length;
    for (let i = 0; i < count; i++) {
      const sub = subscriptions[i] as SubscriptionQueue;
      const undelivered = sub.undelivered;
      if (undelivered >= this.capacity) {
        return {
          ok: false,
          status: 503,
          reason: `channel ${channel.namespace}/${channel.name} is full (subscription ${sub.id} has ${undelivered} undelivered events)`,
          retryAfterSeconds: 1,
        };
      }
    }
    for (let i = 0; i < count; i++) {
      (subscriptions[i] as SubscriptionQueue).enqueue({ event, headers, redeliveries: 0 });
    }
    this.outstanding += count;
    return accepted(count);
  }

  /** Starts a consumer for events appended from now on; the id must be unique within the channel. */
  async subscribe(
    channel: ChannelRef,
    options: SubscriptionOptions,
    handler: MessageHandler,
  ): Promise<Consumer> {
    if (this.closed) throw new Error('channel backend is closed');
    const state = this.channels.get(channelKey(channel));
    if (!state) throw new Error(`channel ${channel.namespace}/${channel.name} does not exist`);
    if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be a positive integer, got ${options.maxInFlight}`);
    }
    if (state.subscriptions.some((sub) => sub.id === options.id)) {
      throw new Error(
        `subscription ${options.id} already consumes channel ${channel.namespace}/${channel.name}`,
      );
    }
    const sub = new SubscriptionQueue(
      options.id,
      options.maxInFlight,
      handler,
      this.redelivery,
      this.ledger,
      (s) => {
        state.subscriptions = state.subscriptions.filter((other) => other !== s);
        if (state.byId.get(s.id) === s) state.byId.delete(s.id);
      },
      options,
    );
    state.subscriptions = [...state.subscriptions, sub];
    state.byId.set(sub.id, sub);
    return { close: (reason) => sub.close(reason) };
  }

  /**
   * Undelivered events (queued, in flight, awaiting redelivery) of every subscription, by its id: a
   * snapshot read when metrics are scraped.
   */
  *backlog(): IterableIterator<readonly [string, number]> {
    for (const state of this.channels.values())
      for (const sub of state.subscriptions) yield [sub.id, sub.undelivered];
  }

  /** Per-subscription counts of a channel, keyed by subscription id; undefined for an unknown channel. */
  stats(channel: ChannelRef): Record<string, SubscriptionStats> | undefined {
    const state = this.channels.get(channelKey(channel));
    if (!state) return undefined;
    const result: Record<string, SubscriptionStats> = {};
    for (const sub of state.subscriptions) result[sub.id] = sub.stats();
    return result;
  }

  /**
   * Resolves once every queue is empty and nothing is in flight or awaiting redelivery.
   * A handler that never settles keeps this pending; callers bound it with their own timeout.
   */
  drain(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Events accepted but not yet acknowledged, across all subscriptions. */
  pending(): number {
    return this.outstanding;
  }

  /** Closes every consumer of every channel (discarding with `reason`); later appends are refused with 503. */
  async close(reason: string = DISCARD_REASONS.shutdown): Promise<void> {
    this.closed = true;
    const all = [...this.channels.values()].flatMap((state) => state.subscriptions);
    this.channels.clear();
    await Promise.all(all.map((sub) => sub.close(reason)));
  }

  /** Called by subscriptions when messages leave the system (acked or discarded). */
  private release(count: number): void {
    if (count === 0) return;
    this.outstanding -= count;
    if (this.outstanding === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

/** The subscriptions named by `ids`; unknown ids are ignored. */
function pick(byId: Map<string, SubscriptionQueue>, ids: readonly string[]): SubscriptionQueue[] {
  const out: SubscriptionQueue[] = [];
  for (let i = 0; i < ids.length; i++) {
    const sub = byId.get(ids[i] as string);
    if (sub !== undefined) out.push(sub);
  }
  return out;
}
