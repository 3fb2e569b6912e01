import type { CloudEvent } from '@eventing/cloudevents';
import type { ChannelBackend, ChannelMessage, ChannelRef, Consumer, Ack } from '@eventing/channels';
import type { TriggerEntry } from '@eventing/contract';
import type { DeliveryOutcome, Dispatcher, ReplySink } from '@eventing/delivery';
import type { CompiledFilter } from '@eventing/filters';
import { TTL_EXTENSION } from '../ingress/ttl';

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
}

/** A trigger with its filter compiled once per contract change. */
export interface CompiledTrigger {
  entry: TriggerEntry;
  filter: CompiledFilter;
}

/** The live configuration of one trigger; swapped in place when the trigger changes. */
interface TriggerState {
  entry: TriggerEntry;
  filter: CompiledFilter;
  channelKey: string;
  consumer?: Consumer;
}

/**
 * Runs one consumer per Trigger on its broker's channel: filter, deliver, reply, dead-letter
 * (CONFORMANCE 2.3). A trigger update swaps the configuration without dropping queued events.
 */
export class TriggerRouter {
  private readonly triggers = new Map<string, TriggerState>();

  constructor(private readonly options: TriggerRouterOptions) {}

  /** Makes the running consumers match `triggers`; `channelOf` gives each trigger's broker channel. */
  async apply(triggers: CompiledTrigger[], channelOf: (t: TriggerEntry) => ChannelRef | undefined): Promise<void> {
    const wanted = new Set<string>();
    for (const { entry, filter } of triggers) {
      const channel = channelOf(entry);
      if (channel === undefined) continue;
      wanted.add(entry.uid);
      const channelKey = `${channel.namespace}/${channel.name}`;
      const current = this.triggers.get(entry.uid);
      if (current && current.channelKey === channelKey && current.consumer) {
        current.entry = entry;
        current.filter = filter;
        continue;
      }
      if (current?.consumer) await current.consumer.close();
      const state: TriggerState = { entry, filter, channelKey };
      this.triggers.set(entry.uid, state);
      state.consumer = await this.options.backend.subscribe(
        channel,
        { id: entry.uid, maxInFlight: entry.maxInFlight ?? this.options.defaultMaxInFlight },
        (message) => this.handle(state, message),
      );
    }
    for (const [uid, state] of this.triggers) {
      if (wanted.has(uid)) continue;
      this.triggers.delete(uid);
      await state.consumer?.close();
    }
  }

  /** Forgets the consumers of a channel that the backend already closed (broker deleted). */
  forgetChannel(channel: ChannelRef): void {
    const key = `${channel.namespace}/${channel.name}`;
    for (const [uid, state] of this.triggers) if (state.channelKey === key) this.triggers.delete(uid);
  }

  async close(): Promise<void> {
    const closing = [...this.triggers.values()].map((s) => s.consumer?.close());
    this.triggers.clear();
    await Promise.all(closing);
  }

  private async handle(state: TriggerState, message: ChannelMessage): Promise<Ack> {
    const { entry, filter } = state;
    const original = message.event;
    // A backend with targeted appends only hands out events the routing index matched already.
    if (!this.options.backend.targetedAppend && !filter.match(original)) return 'ack';
    const ttl = original.attributes[TTL_EXTENSION];
    const event = withoutAttribute(original, TTL_EXTENSION);
    const reply: ReplySink = {
      send: (replyEvent, headers) => {
        // T11: the reply re-enters the broker with the TTL the original had; ingress decrements it.
        if (ttl !== undefined) replyEvent.attributes[TTL_EXTENSION] = ttl;
        return this.options.reply(entry, replyEvent, headers);
      },
    };
    const outcome = await this.options.dispatcher.deliver({
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
    this.options.onOutcome?.(entry, event, outcome);
    // A dead-letter sink that failed too: hold the event and try again later rather than drop it.
    if (outcome.kind === 'failed' && entry.deadLetterUri !== undefined && !this.options.signal?.aborted) return 'nack';
    return 'ack';
  }
}

/** A shallow copy of the event without one attribute; data is shared, never copied. */
function withoutAttribute(event: CloudEvent, name: string): CloudEvent {
  if (!(name in event.attributes)) return event;
  const attributes: CloudEvent['attributes'] = {};
  for (const key in event.attributes) if (key !== name) attributes[key] = event.attributes[key]!;
  return { attributes, data: event.data };
}
