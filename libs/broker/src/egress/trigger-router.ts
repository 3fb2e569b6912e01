import type { CloudEvent } from '@eventing/cloudevents';
import type { Ack, ChannelBackend, ChannelMessage, ChannelRef } from '@eventing/channels';
import type { TriggerEntry } from '@eventing/contract';
import type { DeliveryOutcome, Dispatcher, ReplySink } from '@eventing/delivery';
import type { CompiledFilter } from '@eventing/filters';
import { TTL_EXTENSION } from '../ingress/ttl';
import { ConsumerSet } from './consumer-set';
import type { InFlightLimiter } from './limiter';

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
  onOutcome?: (trigger: TriggerEntry, event: CloudEvent, outcome: DeliveryOutcome) => void;
  /** Aborted on shutdown: deliveries stop waiting between retries. */
  signal?: AbortSignal;
  /** Shared cap on deliveries in flight across all triggers and subscriptions. */
  limiter?: InFlightLimiter;
  /** The public URL of a trigger's broker, named in dead letters when its reply cannot be stored. */
  brokerUrl?: (trigger: TriggerEntry) => string;
}

/** A trigger with its filter compiled once per contract change. */
export interface CompiledTrigger {
  entry: TriggerEntry;
  filter: CompiledFilter;
}

/**
 * Runs one consumer per Trigger on its broker's channel: filter, deliver, reply, dead-letter
 * (CONFORMANCE 2.3). A trigger update swaps the configuration without dropping queued events.
 */
export class TriggerRouter {
  private readonly consumers: ConsumerSet<CompiledTrigger>;

  constructor(private readonly options: TriggerRouterOptions) {
    this.consumers = new ConsumerSet(options.backend, (trigger, message) => this.handle(trigger, message));
  }

  /** Makes the running consumers match `triggers`; `channelOf` gives each trigger's broker channel. */
  apply(triggers: CompiledTrigger[], channelOf: (t: TriggerEntry) => ChannelRef | undefined): Promise<void> {
    const specs = [];
    for (const trigger of triggers) {
      const channel = channelOf(trigger.entry);
      if (channel === undefined) continue;
      const maxInFlight = trigger.entry.maxInFlight ?? this.options.defaultMaxInFlight;
      specs.push({ uid: trigger.entry.uid, channel, maxInFlight, config: trigger });
    }
    return this.consumers.apply(specs);
  }

  /** Forgets the consumers of a channel that the backend already closed (broker deleted). */
  forgetChannel(channel: ChannelRef): void {
    this.consumers.forgetChannel(channel);
  }

  close(): Promise<void> {
    return this.consumers.close();
  }

  private async handle({ entry, filter }: CompiledTrigger, message: ChannelMessage): Promise<Ack> {
    const original = message.event;
    // A backend with targeted appends only hands out events the routing index matched already.
    if (!this.options.backend.targetedAppend && !filter.match(original)) return 'ack';
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
        signal: this.options.signal,
      });
    } finally {
      limiter?.release();
    }
    this.options.onOutcome?.(entry, event, outcome);
    return settle(outcome, entry.deadLetterUri, this.options.signal);
  }
}

/**
 * What the backend is told after a delivery: done, unless a dead-letter sink exists and failed too —
 * then the event is held and tried again later rather than dropped (not while shutting down).
 */
export function settle(
  outcome: DeliveryOutcome,
  deadLetterUri: string | undefined,
  signal?: AbortSignal,
): Ack {
  return outcome.kind === 'failed' && deadLetterUri !== undefined && !signal?.aborted ? 'nack' : 'ack';
}

/** A shallow copy of the event without one attribute; data is shared, never copied. */
function withoutAttribute(event: CloudEvent, name: string): CloudEvent {
  if (!(name in event.attributes)) return event;
  const attributes: CloudEvent['attributes'] = {};
  for (const key in event.attributes) if (key !== name) attributes[key] = event.attributes[key]!;
  return { attributes, data: event.data };
}
