import type { KafkaChannelBackendOptions } from '@eventing/channels/kafka';
import type { JetStreamChannelBackendOptions } from '@eventing/channels/jetstream';
import {
  intSetting,
  listSetting,
  textSetting,
  withSetting,
  type Logger,
  type SettingsOf,
} from '@eventing/runtime';

// The settings rows of the store services (channel dispatchers, the Kafka broker pair), as data: each
// service's table is made of these, and its README and chart print the same rows. Only types of the
// store clients are imported here: a service loads the client it uses, no other.

/** `MAX_BODY_BYTES`: the ingress side's body limit. */
export const MAX_BODY_BYTES_SETTING = intSetting(
  'maxBodyBytes',
  'MAX_BODY_BYTES',
  4 * 1024 * 1024,
  'larger events are refused with 413',
  { min: 1 },
);

/** `EVENTTYPE_REGISTRY_URL`: where observed event types go for EventType auto-creation. */
export const EVENTTYPE_REGISTRY_URL_SETTING = textSetting(
  'eventTypeRegistryUrl',
  'EVENTTYPE_REGISTRY_URL',
  '',
  "the controller's `/eventtypes/observed`, where the types of accepted events are reported for EventType auto-creation (`eventtype-auto-create`); empty: not reported",
);

/** `MAX_TTL`: the `knativebrokerttl` a broker's ingress gives an event that has none. */
export const MAX_TTL_SETTING = intSetting(
  'maxTtl',
  'MAX_TTL',
  255,
  '`knativebrokerttl` given to an event that has none',
  { min: 1 },
);

/** `MAX_IN_FLIGHT` and `MAX_IN_FLIGHT_TOTAL`, worded for what one consumer serves. */
export function dispatchSettings(per: 'subscription' | 'trigger') {
  return [
    intSetting(
      'maxInFlight',
      'MAX_IN_FLIGHT',
      100,
      `deliveries in flight per ${per} (unless the ${per} says otherwise)`,
      { min: 1 },
    ),
    intSetting('maxInFlightTotal', 'MAX_IN_FLIGHT_TOTAL', 1000, 'deliveries in flight across the process', {
      min: 1,
    }),
  ] as const;
}

/** `SHUTDOWN_GRACE_MS`, saying what is still finished in that time. */
export function shutdownGraceSetting(what: string) {
  return intSetting('shutdownGraceMs', 'SHUTDOWN_GRACE_MS', 30_000, `on SIGTERM, how long ${what}`);
}

/** Redelivery of what must be tried later (memory: a held event; JetStream: a nak'ed message). */
export function redeliverySettings(first: string, longest: string) {
  return [
    intSetting('redeliveryDelayMs', 'REDELIVERY_DELAY_MS', 1000, first),
    intSetting('redeliveryMaxDelayMs', 'REDELIVERY_MAX_DELAY_MS', 60_000, longest),
  ] as const;
}

/**
 * `CREATE_STORES`: whether the service creates missing topics or streams itself. In a cluster the
 * controller creates and deletes them (`--kafka-bootstrap`, `--nats-url`): set it to false there.
 */
export function createStoresSetting(stores: 'topics' | 'streams') {
  return textSetting(
    'createStores',
    'CREATE_STORES',
    'true',
    `create missing ${stores} (false where the controller creates and deletes them)`,
    { pattern: '^(true|false)$', expected: 'true or false' },
  );
}

/** Kafka client rows: where the brokers are, the client id (default the service's name), new topics. */
export function kafkaSettings(service: string, clientOf: string, resource: 'channel' | 'broker') {
  return [
    listSetting('bootstrap', 'KAFKA_BOOTSTRAP_SERVERS', '`host:port[,host:port…]` of Kafka brokers'),
    withSetting(textSetting('clientId', 'KAFKA_CLIENT_ID', '', `client id of the ${clientOf}`), {
      default: service,
    }),
    intSetting(
      'numPartitions',
      'KAFKA_NUM_PARTITIONS',
      1,
      `partitions of a topic it creates when the ${resource} names none`,
      { min: 1 },
    ),
    intSetting(
      'replicationFactor',
      'KAFKA_REPLICATION_FACTOR',
      1,
      `replication of a topic it creates when the ${resource} names none`,
      { min: 1 },
    ),
    createStoresSetting('topics'),
  ] as const;
}

/** Kafka consumer rows: commits and the group session. */
export const KAFKA_CONSUMER_SETTINGS = [
  intSetting(
    'commitIntervalMs',
    'KAFKA_COMMIT_INTERVAL_MS',
    1000,
    'how often finished offsets are committed (also on rebalance and shutdown)',
    { min: 10 },
  ),
  intSetting(
    'sessionTimeoutMs',
    'KAFKA_SESSION_TIMEOUT_MS',
    10_000,
    "consumer group session: how long a crashed replica's partitions wait before another takes them",
    { min: 1000 },
  ),
] as const;

/** Kafka producer row: how many appends may wait for Kafka. */
export const KAFKA_PRODUCER_SETTINGS = [
  intSetting(
    'maxPendingAppends',
    'KAFKA_MAX_PENDING_APPENDS',
    10_000,
    'appends waiting for Kafka at once; past it, 503',
    { min: 1 },
  ),
] as const;

/** NATS client rows. */
export function natsSettings(service: string) {
  return [
    listSetting('servers', 'NATS_URL', '`nats://host:port[,nats://host:port…]` of NATS servers'),
    withSetting(
      textSetting('connectionName', 'NATS_CONNECTION_NAME', '', 'the connection name the server shows'),
      {
        default: service,
      },
    ),
    intSetting(
      'ackWaitMs',
      'ACK_WAIT_MS',
      30_000,
      'how long JetStream waits for an ack before it redelivers (unless the consumer template says otherwise)',
      { min: 1 },
    ),
    ...redeliverySettings("first delay of a nak'ed message (doubling)", 'longest such delay'),
    intSetting(
      'publishTimeoutMs',
      'PUBLISH_TIMEOUT_MS',
      5000,
      "how long a publish waits for JetStream's ack before 503",
      { min: 1 },
    ),
    createStoresSetting('streams'),
  ] as const;
}

type KafkaRows = ReturnType<typeof kafkaSettings>;
/** What the Kafka store needs from a service's settings (consumer and producer rows when it has them). */
export type KafkaStoreSettings = SettingsOf<KafkaRows> &
  Partial<SettingsOf<typeof KAFKA_CONSUMER_SETTINGS> & SettingsOf<typeof KAFKA_PRODUCER_SETTINGS>>;

/**
 * The Kafka store's options from a service's settings; recoverable errors (told by `describeError`, the
 * client's `describeKafkaError`) and skipped records are logged.
 */
export function kafkaStoreOptions(
  s: KafkaStoreSettings,
  log: Logger,
  describeError: (error: unknown) => string,
): KafkaChannelBackendOptions {
  const consumer =
    s.commitIntervalMs === undefined || s.sessionTimeoutMs === undefined
      ? undefined
      : {
          commitIntervalMs: s.commitIntervalMs,
          sessionTimeoutMs: s.sessionTimeoutMs,
          heartbeatIntervalMs: Math.min(3_000, Math.floor(s.sessionTimeoutMs / 3)),
        };
  return {
    bootstrap: s.bootstrap,
    clientId: s.clientId,
    topic: { numPartitions: s.numPartitions, replicationFactor: s.replicationFactor },
    createStores: s.createStores !== 'false',
    ...(consumer ? { consumer } : {}),
    ...(s.maxPendingAppends === undefined ? {} : { producer: { maxPendingAppends: s.maxPendingAppends } }),
    onError: (error, context) => log.warn({ context, error: describeError(error) }, 'Kafka error'),
    onMalformedRecord: (r) =>
      log.warn(
        { topic: r.topic, partition: r.partition, offset: String(r.offset), reason: r.reason },
        'a record that is not a CloudEvent was skipped',
      ),
  };
}

/** The JetStream store's options from a service's settings; skipped messages are logged. */
export function jetStreamStoreOptions(
  s: SettingsOf<ReturnType<typeof natsSettings>>,
  log: Logger,
): JetStreamChannelBackendOptions {
  return {
    servers: s.servers,
    name: s.connectionName,
    ackWaitMs: s.ackWaitMs,
    nackDelayMs: s.redeliveryDelayMs,
    maxNackDelayMs: s.redeliveryMaxDelayMs,
    publishTimeoutMs: s.publishTimeoutMs,
    createStores: s.createStores !== 'false',
    onMalformedMessage: (m) =>
      log.warn(
        { stream: m.stream, sequence: m.sequence, subject: m.subject, reason: m.reason },
        'a message that is not a CloudEvent was terminated',
      ),
  };
}
