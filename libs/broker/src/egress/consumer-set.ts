import type { Ack, ChannelBackend, ChannelMessage, ChannelRef, Consumer } from '@eventing/channels';
import { TRACING, inTraceOf } from '@eventing/observability';

/** One consumer wanted on a channel: an id, where it reads, and the configuration its handler uses. */
export interface ConsumerSpec<C> {
  uid: string;
  channel: ChannelRef;
  maxInFlight: number;
  /** Per-key order on a partitioned store. */
  ordered?: boolean;
  /** The consumer group / durable consumer name the control plane gave; absent: the backend's own. */
  consumerGroup?: string;
  config: C;
}

/**
 * What a handler gets besides the message: the consumer's configuration now, and a signal that
 * aborts when the consumer is removed (its deliveries stop at once) with the reason it was.
 */
export interface ConsumerContext<C> {
  config: C;
  readonly cancel: AbortSignal;
  /** Why the consumer was cancelled; set before `cancel` aborts. */
  cancelReason: string | undefined;
  /**
   * Whether a delivery cut by the cancellation goes back to the store for a later start (a durable
   * backend shutting down) rather than being discarded.
   */
  requeueOnCancel: boolean;
}

/** How the set reports messages that leave without delivery, and handler bugs. */
export interface ConsumerSetEvents<C> {
  discarded(config: C, messages: readonly ChannelMessage[], reason: string): void;
  handlerError(config: C, message: ChannelMessage, error: unknown): void;
}

/** Reasons a consumer is removed, as counted in `eventing_events_discarded_total`. */
export interface RemovalReasons {
  /** The resource is gone from the contract (`trigger_deleted`, `subscription_deleted`). */
  deleted: string;
  /** The resource now reads another channel (`trigger_moved`, `subscription_moved`). */
  moved: string;
}

interface ConsumerState<C> extends ConsumerContext<C> {
  channelKey: string;
  consumerGroup: string | undefined;
  abort: AbortController;
  consumer?: Consumer;
}

/**
 * Keeps one backend consumer per spec running. A changed configuration is swapped in place (queued
 * events stay and use the new one); a consumer moves only when its channel changes. A removed
 * consumer is cancelled and closed without waiting for its subscriber: a reload never waits on one.
 */
export class ConsumerSet<C> {
  private readonly states = new Map<string, ConsumerState<C>>();

  /** The configuration of the consumer running with `uid` now. */
  configOf(uid: string): C | undefined {
    return this.states.get(uid)?.config;
  }
  /** Consumers closing in the background, awaited only by `close()`. */
  private readonly closing = new Set<Promise<void>>();

  constructor(
    private readonly backend: ChannelBackend,
    private readonly handle: (context: ConsumerContext<C>, message: ChannelMessage) => Promise<Ack>,
    private readonly events: ConsumerSetEvents<C>,
    private readonly reasons: RemovalReasons,
  ) {}

  /**
   * Makes the running consumers match `specs`. Each consumer that cannot start is reported in
   * `failed` (uid → reason) and the others still start.
   */
  async apply(specs: readonly ConsumerSpec<C>[], failed: Map<string, string>): Promise<Set<string>> {
    const wanted = new Set<string>();
    const running = new Set<string>();
    for (const spec of specs) wanted.add(spec.uid);
    for (const [uid, state] of this.states) {
      if (!wanted.has(uid)) this.remove(uid, state, this.reasons.deleted);
    }
    for (const spec of specs) {
      const channelKey = `${spec.channel.namespace}/${spec.channel.name}`;
      const current = this.states.get(spec.uid);
      // A consumer whose group was renamed starts again in the new group, as one that moved.
      if (
        current &&
        current.channelKey === channelKey &&
        current.consumerGroup === spec.consumerGroup &&
        current.consumer
      ) {
        current.config = spec.config;
        running.add(spec.uid);
        continue;
      }
      if (current) this.remove(spec.uid, current, this.reasons.moved);
      const abort = new AbortController();
      const state: ConsumerState<C> = {
        config: spec.config,
        channelKey,
        consumerGroup: spec.consumerGroup,
        abort,
        cancel: abort.signal,
        cancelReason: undefined,
        requeueOnCancel: false,
      };
      try {
        state.consumer = await this.backend.subscribe(
          spec.channel,
          {
            id: spec.uid,
            maxInFlight: spec.maxInFlight,
            ...(spec.ordered ? { ordered: true } : {}),
            ...(spec.consumerGroup !== undefined ? { consumerGroup: spec.consumerGroup } : {}),
            onDiscard: (messages, reason) => this.events.discarded(state.config, messages, reason),
            onHandlerError: (message, error) => this.events.handlerError(state.config, message, error),
          },
          // Tracing on: the handling runs in the stored event's trace (its log lines name it). Off:
          // one check, no closure.
          (message) =>
            TRACING.tracer === undefined
              ? this.handle(state, message)
              : inTraceOf(message.headers, () => this.handle(state, message)),
        );
        this.states.set(spec.uid, state);
        running.add(spec.uid);
      } catch (err) {
        failed.set(spec.uid, `cannot consume channel ${channelKey}: ${(err as Error).message}`);
      }
    }
    return running;
  }

  /** Cancels and closes the consumers of a channel (before the channel itself is deleted). */
  closeChannel(channel: ChannelRef, reason: string): void {
    const key = `${channel.namespace}/${channel.name}`;
    for (const [uid, state] of this.states) if (state.channelKey === key) this.remove(uid, state, reason);
  }

  /** Cancels every consumer (undelivered events are discarded with `reason`) and waits for them. */
  async close(reason: string): Promise<void> {
    for (const [uid, state] of this.states) this.remove(uid, state, reason);
    await Promise.all([...this.closing]);
  }

  private remove(uid: string, state: ConsumerState<C>, reason: string): void {
    this.states.delete(uid);
    state.cancelReason = reason;
    state.requeueOnCancel = reason === 'shutdown' && this.backend.durable === true;
    state.abort.abort();
    const closed = state.consumer?.close(reason);
    if (closed === undefined) return;
    const tracked = closed.then(
      () => void this.closing.delete(tracked),
      () => void this.closing.delete(tracked),
    );
    this.closing.add(tracked);
  }
}
