import type { CloudEvent } from '@eventing/cloudevents';

/** Names one channel: the broker's or a Channel resource's backing store. */
export interface ChannelRef {
  namespace: string;
  name: string;
}

/**
 * Outcome of an append: accepted (with how many subscriptions' queues received it, when the backend
 * knows), or refused with the HTTP status ingress should answer.
 */
export type AppendResult =
  | { ok: true; copies?: number }
  | { ok: false; status: 429 | 500 | 503; reason: string; retryAfterSeconds?: number };

/** One event handed to a subscription's consumer. */
export interface ChannelMessage {
  event: CloudEvent;
  /** Passthrough HTTP headers captured at ingress (x-request-id, knative-*, x-b3-*, retry-after, traceparent...). */
  headers: Record<string, string>;
  /** How many times this message was handed out before (0 on the first delivery). */
  redeliveries: number;
}

/**
 * What the consumer says about a message, mapped by each backend (memory: release or requeue;
 * JetStream: ack, nak with delay, term; Kafka: mark the offset done or redeliver before committing):
 * - `'ack'`: done (delivered or dead-lettered);
 * - `'term'`: done without delivery, never to be redelivered (discarded and counted by the caller);
 * - `'nack'`: hand it back for later, after a delay that grows with each redelivery, up to a bound;
 * - `{ nack: ms }`: hand it back after exactly that delay.
 */
export type Ack = 'ack' | 'term' | 'nack' | { nack: number };

/** How an event is appended. */
export interface AppendOptions {
  /**
   * The subscriptions (ids) that receive it, when the backend supports targeted appends; others
   * hand every event to every subscription.
   */
  targets?: readonly string[];
  /**
   * Ordering key: events with one key keep their order (the Kafka record key; upstream takes it from
   * the `partitionkey` extension). Backends without partitions ignore it.
   */
  key?: string;
  /** Deduplication id: a backend that deduplicates (JetStream's `Nats-Msg-Id`) stores it once. */
  dedupId?: string;
}

export type MessageHandler = (message: ChannelMessage) => Promise<Ack>;

export interface SubscriptionOptions {
  /** Unique id of the subscription (Trigger or Subscription uid). */
  id: string;
  /**
   * The durable name of this subscription's position in the store, when the control plane names it:
   * the Kafka consumer group id, the JetStream durable consumer name (a `Kafka`-class Broker's Trigger:
   * `knative-trigger-<namespace>-<name>`, as upstream's). Absent: the backend derives it from the
   * channel and `id` (`kafka.<namespace>.<channel>.<id>`, `KN_SUB_<ID>`).
   */
  consumerGroup?: string;
  /** Most messages handed to the handler at once. */
  maxInFlight: number;
  /**
   * One message in flight per ordering key's partition, so per-key order holds even under retries
   * (upstream's `delivery.order: ordered`). Backends without partitions keep FIFO with maxInFlight 1.
   */
  ordered?: boolean;
  /**
   * Told about every message that leaves without an ack: discarded when the consumer closes (with the
   * reason given to `close`), or nacked after it closed. Nothing accepted leaves without one or the other.
   * A message that was nacked is reported with the redelivery count it would have been handed out with.
   */
  onDiscard?(messages: readonly ChannelMessage[], reason: string): void;
  /** Told when the handler throws; the message is then redelivered later, as for a nack. */
  onHandlerError?(message: ChannelMessage, error: unknown): void;
}

export interface Consumer {
  /**
   * Stops handing out messages and discards those not handed out yet (reported to `onDiscard` with
   * `reason`); resolves once in-flight handlers have settled. Callers need not wait for that.
   */
  close(reason?: string): Promise<void>;
}

/**
 * The seam between the broker/channel logic and where events are stored.
 * Implementations: in-memory (here), Kafka and NATS JetStream (later), and a remote HTTP channel.
 */
export interface ChannelBackend {
  readonly kind: string;
  /**
   * True when `append` honours `targets`: only the named subscriptions receive the event, so their
   * consumers need not filter it again. Backends without it hand every event to every subscription.
   */
  readonly targetedAppend: boolean;
  /**
   * True when stored events outlive the process (Kafka, JetStream): a consumer closed at shutdown
   * leaves its unacknowledged events in the store for the next start instead of discarding them.
   */
  readonly durable?: boolean;
  /**
   * True when `append` reports how many subscriptions received the event (`copies`). Otherwise each
   * consumer reads every event, and the deliveries owed are counted as consumers take them.
   */
  readonly countsCopies?: boolean;
  /**
   * Creates the channel's store if it does not exist (idempotent). `settings` (partitions, replication,
   * retention, stream settings) apply when it is created; backends without such settings ignore them.
   */
  ensureChannel(channel: ChannelRef, settings?: Record<string, unknown>): Promise<void>;
  /** Removes a channel; its consumers close with `reason` (default `channel_deleted`). */
  deleteChannel(channel: ChannelRef, reason?: string): Promise<void>;
  /**
   * Stores one event; resolves only once the backend has accepted it durably for that backend (memory:
   * queued; Kafka: acked by all in-sync replicas; JetStream: publish ack).
   */
  append(
    channel: ChannelRef,
    event: CloudEvent,
    headers: Record<string, string>,
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /** Starts a consumer that receives every event appended after it started. */
  subscribe(channel: ChannelRef, options: SubscriptionOptions, handler: MessageHandler): Promise<Consumer>;
  /**
   * Events each consumer of this process has not finished, by subscription id (read when metrics are
   * scraped, so synchronous and cheap): memory, its queue; Kafka, the lag of the partitions this
   * member owns; JetStream, what its durable consumer has not delivered plus what it holds unacked.
   */
  backlog?(): Iterable<readonly [string, number]>;
  /** Resolves once every accepted event has been acknowledged (graceful shutdown). */
  drain?(): Promise<void>;
  /** Closes every consumer (their undelivered messages are discarded with `reason`, default `shutdown`). */
  close(reason?: string): Promise<void>;
}
