import type { ChannelBackend, ChannelRef } from '@eventing/channels';
import type { SubscriptionEntry, TriggerEntry } from '@eventing/contract';
import type { Dispatcher } from '@eventing/delivery';
import { TriggerRouter, type BrokerReplyFn, type CompiledTrigger } from '../egress/trigger-router';
import { SubscriptionRouter } from '../egress/subscription-router';
import { InFlightLimiter } from '../egress/limiter';
import type { DeliveryObserver } from '../egress/outcomes';

/** A store that can count each consumer's undelivered events by consumer id. */
interface BacklogReader {
  backlog(): Iterable<readonly [string, number]>;
}

export interface BrokerDispatchOptions {
  /** Where events are consumed from; only `subscribe` and `targetedAppend` are used. */
  backend: ChannelBackend;
  dispatcher: Dispatcher;
  /** Stores a trigger subscriber's reply back into its broker. */
  reply: BrokerReplyFn;
  observer: DeliveryObserver;
  /** In-flight deliveries per trigger or subscription unless it says otherwise (default 100). */
  defaultMaxInFlight?: number;
  /** In-flight deliveries across every trigger and subscription (default 1,000). */
  maxInFlightTotal?: number;
  /** A limiter shared with other dispatch sides of the same process (one per store); overrides maxInFlightTotal. */
  limiter?: InFlightLimiter;
  /** Public URL of a broker, for dead letters of replies that could not be stored. */
  brokerUrl?: (namespace: string, name: string) => string;
}

/** Where each trigger's and subscription's consumer reads; undefined ⇒ not consumed now. */
export interface ChannelsOf {
  trigger(t: TriggerEntry): ChannelRef | undefined;
  subscription(s: SubscriptionEntry): ChannelRef | undefined;
}

/**
 * The dispatch side: one consumer per Trigger and per Subscription — filter, deliver, reply,
 * dead-letter — sharing one in-flight limit. It never receives HTTP and never provisions stores, so
 * it runs alone in a dispatcher service or together with the ingress side in standalone.
 */
export class BrokerDispatch {
  private readonly triggers: TriggerRouter;
  private readonly subscriptions: SubscriptionRouter;
  private readonly limiter: InFlightLimiter;
  private readonly backend: ChannelBackend;

  constructor(options: BrokerDispatchOptions) {
    const defaultMaxInFlight = options.defaultMaxInFlight ?? 100;
    const limiter = options.limiter ?? new InFlightLimiter(options.maxInFlightTotal ?? 1000);
    this.limiter = limiter;
    this.backend = options.backend;
    const brokerUrl = options.brokerUrl;
    this.triggers = new TriggerRouter({
      backend: options.backend,
      dispatcher: options.dispatcher,
      defaultMaxInFlight,
      limiter,
      observer: options.observer,
      brokerUrl: brokerUrl ? (t) => brokerUrl(t.namespace, t.broker) : undefined,
      reply: options.reply,
    });
    this.subscriptions = new SubscriptionRouter({
      backend: options.backend,
      dispatcher: options.dispatcher,
      defaultMaxInFlight,
      limiter,
      observer: options.observer,
    });
  }

  /**
   * Events waiting per consumer in its store, as namespace, kind, name and count, when the store can
   * tell (one with `backlog()`, such as the memory store); read when metrics are scraped.
   */
  *backlog(): IterableIterator<readonly [string, string, string, number]> {
    const store = this.backend as Partial<BacklogReader>;
    if (typeof store.backlog !== 'function') return;
    for (const [uid, count] of store.backlog()) {
      const t = this.triggers.targetOf(uid) ?? this.subscriptions.targetOf(uid);
      if (t !== undefined) yield [t.namespace, t.kind, t.name, count];
    }
  }

  /** Deliveries running now and waiting for a slot (read when metrics are scraped). */
  inFlight(): { active: number; waiting: number } {
    return this.limiter.stats();
  }

  /**
   * Makes the running consumers match; returns the uids running now, and adds those that could not
   * start to `failed`.
   */
  async apply(
    triggers: CompiledTrigger[],
    subscriptions: SubscriptionEntry[],
    channelsOf: ChannelsOf,
    failed: Map<string, string>,
  ): Promise<Set<string>> {
    const running = await this.triggers.apply(triggers, (t) => channelsOf.trigger(t), failed);
    for (const uid of await this.subscriptions.apply(
      subscriptions,
      (s) => channelsOf.subscription(s),
      failed,
    ))
      running.add(uid);
    return running;
  }

  /** Cancels the consumers of a channel before it is deleted; their events are counted with `reason`. */
  closeChannel(channel: ChannelRef, reason: string): void {
    this.triggers.closeChannel(channel, reason);
    this.subscriptions.closeChannel(channel, reason);
  }

  /** Cancels every consumer; undelivered events are counted as discarded with `reason`. */
  close(reason: string): Promise<void> {
    return Promise.all([this.triggers.close(reason), this.subscriptions.close(reason)]).then(() => undefined);
  }
}
