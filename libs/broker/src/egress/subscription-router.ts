import type { Ack, ChannelBackend, ChannelMessage, ChannelRef } from '@eventing/channels';
import type { SubscriptionEntry } from '@eventing/contract';
import type { DeliveryOutcome, Dispatcher } from '@eventing/delivery';
import { ConsumerSet, type ConsumerContext } from './consumer-set';
import type { InFlightLimiter } from './limiter';
import { conclude, discard, handlerFailed, type DeliveryObserver, type DeliveryTarget } from './outcomes';

export interface SubscriptionRouterOptions {
  backend: ChannelBackend;
  dispatcher: Dispatcher;
  defaultMaxInFlight: number;
  observer: DeliveryObserver;
  /** Shared cap on deliveries in flight across all triggers and subscriptions. */
  limiter?: InFlightLimiter;
}

interface RunningSubscription {
  entry: SubscriptionEntry;
  target: DeliveryTarget;
}

/**
 * Runs one consumer per channel subscriber: the event as received (C4), `Prefer: reply`, the reply
 * to `replyUri` or dropped (R5), a non-CloudEvent 2xx body ignored (C8), dead letters as for triggers.
 */
export class SubscriptionRouter {
  private readonly consumers: ConsumerSet<RunningSubscription>;

  constructor(private readonly options: SubscriptionRouterOptions) {
    const observer = options.observer;
    this.consumers = new ConsumerSet(
      options.backend,
      (context, message) => this.handle(context, message),
      {
        discarded: (s, messages, reason) => discard(observer, s.target, messages, reason),
        handlerError: (s, message, error) => handlerFailed(observer, s.target, message, error),
      },
      { deleted: 'subscription_deleted', moved: 'subscription_moved' },
    );
  }

  /** Makes the running consumers match; returns the uids running, adds those that failed to `failed`. */
  apply(
    subscriptions: SubscriptionEntry[],
    channelOf: (s: SubscriptionEntry) => ChannelRef | undefined,
    failed: Map<string, string>,
  ): Promise<Set<string>> {
    const specs = [];
    for (const s of subscriptions) {
      const channel = channelOf(s);
      if (channel === undefined) continue;
      const target: DeliveryTarget = {
        kind: 'Subscription',
        namespace: s.namespace,
        name: s.name,
        channel: s.channel.name,
        deadLetterUri: s.deadLetterUri,
      };
      specs.push({
        uid: s.uid,
        channel,
        maxInFlight: s.maxInFlight ?? this.options.defaultMaxInFlight,
        ordered: s.ordered,
        config: { entry: s, target },
      });
    }
    return this.consumers.apply(specs, failed);
  }

  /** The Subscription whose consumer has this uid, if it runs here. */
  targetOf(uid: string): DeliveryTarget | undefined {
    return this.consumers.configOf(uid)?.target;
  }

  closeChannel(channel: ChannelRef, reason: string): void {
    this.consumers.closeChannel(channel, reason);
  }

  close(reason: string): Promise<void> {
    return this.consumers.close(reason);
  }

  private async handle(context: ConsumerContext<RunningSubscription>, message: ChannelMessage): Promise<Ack> {
    const { entry: s, target: who } = context.config;
    if (!this.options.backend.countsCopies && message.redeliveries === 0) this.options.observer.owed(who);
    // A subscriber spec with only a reply forwards the event there.
    const target = s.subscriberUri ?? s.replyUri;
    if (target === undefined) {
      discard(this.options.observer, who, [message], 'no_subscriber');
      return 'ack';
    }
    const limiter = this.options.limiter;
    const slot = limiter?.acquire();
    if (slot) await slot;
    const startedAt = performance.now();
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.options.dispatcher.deliver({
        event: message.event,
        headers: message.headers,
        subscriberUri: target,
        namespace: s.namespace,
        format: s.format,
        policy: s.policy,
        deadLetterUri: s.deadLetterUri,
        reply: s.subscriberUri !== undefined && s.replyUri !== undefined ? { uri: s.replyUri } : undefined,
        malformedReply: 'ignore',
        cancel: context.cancel,
      });
    } finally {
      limiter?.release();
    }
    return conclude(this.options.observer, who, message, message.event, outcome, context, startedAt);
  }
}
