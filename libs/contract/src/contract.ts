/**
 * The data-plane contract: everything broker-ingress, broker-filter and the standalone data plane
 * need, compiled by the control plane from the resources. One JSON document, versioned; in
 * Kubernetes it is a mounted ConfigMap, in standalone it is handed over in memory.
 */
export const CONTRACT_VERSION = 1;

export interface Contract {
  version: typeof CONTRACT_VERSION;
  /** Increases with every change; lets the data plane skip stale documents. */
  generation: number;
  brokers: BrokerEntry[];
  triggers: TriggerEntry[];
  /** Channels served by the data plane (InMemoryChannel, or a Channel backed by one). */
  channels?: ChannelEntry[];
  subscriptions?: SubscriptionEntry[];
}

/** Which store holds a broker's or channel's events. */
export type StoreKind = 'memory' | 'kafka' | 'jetstream';

/** How a durable store is created: from the KafkaChannel or NatsJetStreamChannel spec, or broker config. */
export interface StoreSettings {
  numPartitions?: number;
  replicationFactor?: number;
  /** Kafka topic retention. */
  retentionMs?: number;
  /** JetStream stream settings as the NatsJetStreamChannel spec gives them. */
  stream?: Record<string, unknown>;
  /**
   * The Kafka topic, when the control plane names it rather than the store deriving it from the
   * channel's name: a `Kafka`-class Broker's `knative-broker-<namespace>-<name>`, as upstream's.
   */
  topic?: string;
}

export interface ChannelEntry {
  uid: string;
  namespace: string;
  name: string;
  /** Where its events are stored; memory when absent. */
  store?: StoreKind;
  storeSettings?: StoreSettings;
}

/** One subscriber of a channel (a Subscription, or a SubscriberSpec of the channel). */
export interface SubscriptionEntry {
  uid: string;
  namespace: string;
  name: string;
  channel: { namespace: string; name: string };
  /** Absent: the event goes straight to `replyUri`. */
  subscriberUri?: string;
  /** Where a subscriber's reply goes; absent ⇒ replies are dropped (R5). */
  replyUri?: string;
  deadLetterUri?: string;
  policy: RetryPolicy;
  format: 'binary' | 'json';
  maxInFlight?: number;
  /** Per-key order on partitioned stores (a KafkaChannel's subscriptions always are, as upstream). */
  ordered?: boolean;
}

export interface BrokerEntry {
  uid: string;
  namespace: string;
  name: string;
  /** Where ingress stores events when the channel is remote (channel-based broker in Kubernetes). */
  channelAddress?: string;
  /** Where its events are stored (the channel template's kind, or the Kafka class); memory when absent. */
  store?: StoreKind;
  storeSettings?: StoreSettings;
}

/** Retry policy in milliseconds, compiled from a DeliverySpec. */
export interface RetryPolicy {
  retry: number;
  backoffPolicy: 'linear' | 'exponential';
  backoffDelayMs: number;
  timeoutMs?: number;
  retryAfterMaxMs?: number;
}

export interface AttributesFilter {
  attributes?: Record<string, string>;
}

/** One element of a Trigger's `spec.filters` (CloudEvents Subscriptions API dialects). */
export interface DialectFilter {
  exact?: Record<string, string>;
  prefix?: Record<string, string>;
  suffix?: Record<string, string>;
  all?: DialectFilter[];
  any?: DialectFilter[];
  not?: DialectFilter;
  cesql?: string;
}

export interface TriggerEntry {
  uid: string;
  namespace: string;
  name: string;
  /** Name of the broker, in the trigger's namespace. */
  broker: string;
  filter?: AttributesFilter;
  filters?: DialectFilter[];
  subscriberUri: string;
  deadLetterUri?: string;
  policy: RetryPolicy;
  format: 'binary' | 'json';
  /** Most deliveries in flight for this trigger at once. */
  maxInFlight?: number;
  /** Per-key order on partitioned stores (`kafka.eventing.knative.dev/delivery.order: ordered`). */
  ordered?: boolean;
  /**
   * The consumer group (Kafka) or durable consumer (JetStream) the trigger reads its broker's store
   * in, named by the control plane: a `Kafka`-class Broker's Trigger `knative-trigger-<namespace>-<name>`
   * (upstream's `triggers.consumergroup.template`). Absent: the store derives it from the broker's
   * trigger channel and the trigger's uid, as for a Subscription of that channel.
   */
  consumerGroup?: string;
}

/** One PingSource as the ping runner schedules it: the sink is already resolved to a URI. */
export interface PingSchedule {
  /** The PingSource's uid, under which the scheduler reports what it did. */
  uid?: string;
  namespace: string;
  name: string;
  /** Cron: 5 fields, 6 with leading seconds, or a descriptor (`@hourly`, `@daily`…); `@every` is refused. */
  schedule: string;
  /** IANA time zone the schedule is read in; UTC when absent. */
  timezone?: string;
  contentType?: string;
  /** Payload as text (sent as its UTF-8 bytes); ignored when `dataBase64` is set. */
  data?: string;
  /** Payload as base64 (decoded and sent as raw bytes). */
  dataBase64?: string;
  ceOverrides?: { extensions?: Record<string, string> };
  sinkUri: string;
}

/**
 * What a data plane made of a contract: the uids of the brokers, channels, triggers and subscriptions
 * it serves now, and why each one it could not serve failed. The control plane derives conditions
 * from it instead of assuming success.
 */
export interface ApplyReport {
  generation: number;
  served: ReadonlySet<string>;
  failed: ReadonlyMap<string, string>;
}

/** An empty contract: no brokers, no triggers. */
export function emptyContract(): Contract {
  return { version: CONTRACT_VERSION, generation: 0, brokers: [], triggers: [] };
}
