import type { CloudEvent } from '@eventing/cloudevents';
import type { Ack, ChannelBackend, ChannelMessage, ChannelRef } from '@eventing/channels';
import type { TriggerEntry } from '@eventing/contract';
import type { DeliveryOutcome, Dispatcher, ReplySink } from '@eventing/delivery';
import type { CompiledFilter } from '@eventing/filters';
import { TTL_EXTENSION } from '../ingress/ttl';
import { ConsumerSet, type ConsumerContext } from './consumer-set';
import type { InFlightLimiter } from './limiter';
import { conclude, discard, handlerFailed, type DeliveryObserver, type DeliveryTarget } from './outcomes';

/** Stores a reply coming from a trigger's subscriber back into its broker. */
export type BrokerReplyFn = (
  trigger: TriggerEntry,
  event: CloudEvent,
  headers: Record<string, string>,
) => Promise<{ ok: true } | { ok: false; status: number; reason: string }>;

export interface TriggerRouterOptions {
  backend: ChannelBackend;
  dispatcher: Dispatcher;
  reply: BrokerReplyFn;
  defaultMaxInFlight: number;
  observer: DeliveryObserver;
  /** Shared cap on deliveries in flight across all triggers and subscriptions. */
  limiter?: InFlightLimiter;
  /** The public URL of a trigger's broker, named in dead letters when its reply cannot be stored. */
  brokerUrl?: (trigger: TriggerEntry) => string;
}

/** A trigger with its filter compiled once per contract change. */
export interface CompiledTrigger {
  entry: TriggerEntry;
  filter: CompiledFilter;
  /** Who the observer is told about; built once per contract change. */
  target: DeliveryTarget;
}

/** The observer's view of a trigger. */
export function triggerTarget(entry: TriggerEntry): DeliveryTarget {
  return {
    kind: 'Trigger',
    namespace: entry.namespace,
    name: entry.name,
    broker: entry.broker,
    deadLetterUri: entry.deadLetterUri,
  };
}

/**
 * Runs one consumer per Trigger on its broker's channel: filter, deliver, reply, dead-letter
 * (CONFORMANCE 2.3). A trigger update swaps the configuration without dropping queued events; a
 * deleted or moved trigger's queued and in-flight events are cancelled and counted with the reason.
 */
export class TriggerRouter {
  private readonly consumers: ConsumerSet<CompiledTrigger>;

  constructor(private readonly options: TriggerRouterOptions) {
    const observer = options.observer;
    this.consumers = new ConsumerSet(
      options.backend,
      (context, message) => this.handle(context, message),
      {
        discarded: (t, messages, reason) => discard(observer, t.target, messages, reason),
        handlerError: (t, message, error) => handlerFailed(observer, t.target, message, error),
      },
      { deleted: 'trigger_deleted', moved: 'trigger_moved' },
    );
  }

  /**
   * Makes the running consumers match `triggers`; `channelOf` gives each trigger's broker channel.
   * Returns the uids running now; those that could not start are added to `failed`.
   */
  apply(
    triggers: CompiledTrigger[],
    channelOf: (t: TriggerEntry) => ChannelRef | undefined,
    failed: Map<string, string>,
  ): Promise<Set<string>> {
    const specs = [];
    for (const trigger of triggers) {
      const channel = channelOf(trigger.entry);
      if (channel === undefined) continue;
      const maxInFlight = trigger.entry.maxInFlight ?? this.options.defaultMaxInFlight;
      specs.push({
        uid: trigger.entry.uid,
        channel,
        maxInFlight,
        ordered: trigger.entry.ordered,
        consumerGroup: trigger.entry.consumerGroup,
        config: trigger,
      });
    }
    return this.consumers.apply(specs, failed);
  }

  /** The Trigger whose consumer has this uid, if it runs here. */
  targetOf(uid: string): DeliveryTarget | undefined {
    return this.consumers.configOf(uid)?.target;
  }

  /** Cancels the consumers of a broker's channel before it is deleted. */
  closeChannel(channel: ChannelRef, reason: string): void {
    this.consumers.closeChannel(channel, reason);
  }

  /** Cancels every consumer; undelivered events are counted as discarded with `reason`. */
  close(reason: string): Promise<void> {
    return this.consumers.close(reason);
  }

  private async handle(context: ConsumerContext<CompiledTrigger>, message: ChannelMessage): Promise<Ack> {
    const { entry, filter, target } = context.config;
    const original = message.event;
    // A backend with targeted appends only hands out events the routing index matched already.
    if (!this.options.backend.targetedAppend && !filter.match(original)) return 'ack';
    if (!this.options.backend.countsCopies && message.redeliveries === 0) this.options.observer.owed(target);
    const ttl = original.attributes[TTL_EXTENSION];
    const event = withoutAttribute(original, TTL_EXTENSION);
    const reply: ReplySink = {
      destination: this.options.brokerUrl?.(entry),
      send: (replyEvent, headers) => {
        // T11: the reply re-enters the broker with the TTL the original had; ingress decrements it.
        if (ttl !== undefined) replyEvent.attributes[TTL_EXTENSION] = ttl;
        return this.options.reply(entry, replyEvent, headers);
      },
    };
    const limiter = this.options.limiter;
    const slot = limiter?.acquire();
    if (slot) await slot;
    const startedAt = performance.now();
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.options.dispatcher.deliver({
        event,
        headers: message.headers,
        subscriberUri: entry.subscriberUri,
        namespace: entry.namespace,
        format: entry.format,
        policy: entry.policy,
        deadLetterUri: entry.deadLetterUri,
        reply,
        malformedReply: 'fail',
        cancel: context.cancel,
      });
    } finally {
      limiter?.release();
    }
    return conclude(this.options.observer, target, message, event, outcome, context, startedAt);
  }
}

/** A shallow copy of the event without one attribute; data is shared, never copied. */
function withoutAttribute(event: CloudEvent, name: string): CloudEvent {
  if (!(name in event.attributes)) return event;
  const attributes: CloudEvent['attributes'] = {};
  for (const key in event.attributes) if (key !== name) attributes[key] = event.attributes[key]!;
  return { attributes, data: event.data };
}
