import type { CloudEvent } from '@eventing/cloudevents';
import type { Ack, ChannelBackend, ChannelMessage, ChannelRef } from '@eventing/channels';
import type { SubscriptionEntry } from '@eventing/contract';
import type { DeliveryOutcome, Dispatcher } from '@eventing/delivery';
import { ConsumerSet } from './consumer-set';
import type { InFlightLimiter } from './limiter';
import { settle } from './trigger-router';

export interface SubscriptionRouterOptions {
  backend: ChannelBackend;
  dispatcher: Dispatcher;
  defaultMaxInFlight: number;
  onOutcome?: (subscription: SubscriptionEntry, event: CloudEvent, outcome: DeliveryOutcome) => void;
  signal?: AbortSignal;
  /** Shared cap on deliveries in flight across all triggers and subscriptions. */
  limiter?: InFlightLimiter;
}

/**
 * Runs one consumer per channel subscriber: the event as received (C4), `Prefer: reply`, the reply
 * to `replyUri` or dropped (R5), a non-CloudEvent 2xx body ignored (C8), dead letters as for triggers.
 */
export class SubscriptionRouter {
  private readonly consumers: ConsumerSet<SubscriptionEntry>;

  constructor(private readonly options: SubscriptionRouterOptions) {
    this.consumers = new ConsumerSet(options.backend, (subscription, message) =>
      this.handle(subscription, message),
    );
  }

  apply(
    subscriptions: SubscriptionEntry[],
    channelOf: (s: SubscriptionEntry) => ChannelRef | undefined,
  ): Promise<void> {
    const specs = [];
    for (const s of subscriptions) {
      const channel = channelOf(s);
      if (channel === undefined) continue;
      specs.push({
        uid: s.uid,
        channel,
        maxInFlight: s.maxInFlight ?? this.options.defaultMaxInFlight,
        config: s,
      });
    }
    return this.consumers.apply(specs);
  }

  forgetChannel(channel: ChannelRef): void {
    this.consumers.forgetChannel(channel);
  }

  close(): Promise<void> {
    return this.consumers.close();
  }

  private async handle(s: SubscriptionEntry, message: ChannelMessage): Promise<Ack> {
    // A subscriber spec with only a reply forwards the event there.
    const target = s.subscriberUri ?? s.replyUri;
    if (target === undefined) return 'ack';
    const limiter = this.options.limiter;
    const slot = limiter?.acquire();
    if (slot) await slot;
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
        signal: this.options.signal,
      });
    } finally {
      limiter?.release();
    }
    this.options.onOutcome?.(s, message.event, outcome);
    return settle(outcome, s.deadLetterUri, this.options.signal);
  }
}
