import { Type, type Static } from '@sinclair/typebox';
import { ConditionSet } from './conditions';
import { validateDeliverySpec } from './duck';
import { parseIsoDuration } from './duration';
import { jsonEqual } from './equality';
import { FieldError } from './errors';
import type { ValidationContext } from './kind';
import { AGE_COLUMN, readyColumns, type DefaultsContext, type KindDefinition } from './kind';
import {
  ChannelableSpecProperties,
  ChannelableStatusProperties,
  MESSAGING_GROUP,
  setChannelableSpecDefaults,
  validateScopeAnnotation,
  validateSubscribers,
  validateSubscribersChange,
  withSubscribableAnnotation,
} from './messaging';
import { resourceSchema, validateObjectMeta } from './meta';
import { validateShape } from './structural';

/** Partitions of the channel's topic when `spec.numPartitions` is absent or 0. */
export const KAFKA_CHANNEL_DEFAULT_NUM_PARTITIONS = 1;
/** Replication factor of the channel's topic when `spec.replicationFactor` is absent or 0. */
export const KAFKA_CHANNEL_DEFAULT_REPLICATION_FACTOR = 1;
/** Retention of the channel's topic when `spec.retentionDuration` is absent or empty: exactly 7 days. */
export const KAFKA_CHANNEL_DEFAULT_RETENTION_DURATION = 'PT168H';

const INT32_MAX = 2 ** 31 - 1;
// The topic settings; subscribers and delivery (the Channelable part) stay mutable.
const TOPIC_FIELDS = ['numPartitions', 'replicationFactor', 'retentionDuration'] as const;

export const KafkaChannelSpecSchema = Type.Object(
  {
    /** Partitions of the Kafka topic. */
    numPartitions: Type.Optional(
      Type.Integer({
        format: 'int32',
        default: KAFKA_CHANNEL_DEFAULT_NUM_PARTITIONS,
        description:
          'Number of partitions of the Kafka topic that stores the events; more partitions let more events be delivered in parallel. Greater than 0; 1 by default. Cannot be changed after creation.',
      }),
    ),
    /** Replication factor of the Kafka topic (a 16-bit integer upstream, hence the maximum). */
    replicationFactor: Type.Optional(
      Type.Integer({
        maximum: 32767,
        default: KAFKA_CHANNEL_DEFAULT_REPLICATION_FACTOR,
        description:
          'How many Kafka brokers keep a copy of each partition of the topic; at most the number of brokers in the cluster. Greater than 0; 1 by default. Cannot be changed after creation.',
      }),
    ),
    /** How long the topic keeps events, an ISO-8601 duration. */
    retentionDuration: Type.Optional(
      Type.String({
        description:
          'How long the topic keeps events, as an ISO-8601 duration such as P7D or PT24H; PT168H (7 days) by default. Cannot be changed after creation.',
      }),
    ),
    ...ChannelableSpecProperties,
  },
  {
    additionalProperties: false,
    description:
      'The desired state of the KafkaChannel: its topic settings, subscribers and their default delivery.',
  },
);
export type KafkaChannelSpec = Static<typeof KafkaChannelSpecSchema>;

export const KafkaChannelStatusSchema = Type.Object(ChannelableStatusProperties, {
  additionalProperties: false,
  description:
    'The observed state of the KafkaChannel, written by its controller: readiness, address and subscriber statuses.',
});
export type KafkaChannelStatus = Static<typeof KafkaChannelStatusSchema>;

export const KafkaChannelSchema = resourceSchema(
  Type.Optional(KafkaChannelSpecSchema),
  KafkaChannelStatusSchema,
  'A KafkaChannel stores the events it receives in a topic of an Apache Kafka cluster, which acknowledges each one before the sender gets its answer, and sends each event to every subscriber.',
);
export type KafkaChannel = Static<typeof KafkaChannelSchema>;

/**
 * Condition set of a KafkaChannel, as upstream's channel controller registers it: Ready when its
 * subscribers are, its topic exists, the data-plane contract is written and parsed, and the
 * receiver answers probes. `Addressable` and `EventPoliciesReady` are reported too but, as
 * upstream, are not dependents of Ready (kept with severity Info): see KAFKA_CHANNEL_INFO_CONDITIONS.
 */
export const KafkaChannelConditionSet = new ConditionSet('Ready', [
  'ConfigMapUpdated',
  'ConfigParsed',
  'ProbeSucceeded',
  'Subscribers',
  'TopicReady',
]);

/** Conditions a KafkaChannel reports that do not decide Ready. */
export const KAFKA_CHANNEL_INFO_CONDITIONS = ['Addressable', 'EventPoliciesReady'] as const;

/**
 * Applies upstream's KafkaChannel defaults: the subscribable annotation; numPartitions and
 * replicationFactor 1 and retentionDuration PT168H when absent or zero (upstream cannot tell 0
 * from absent); dead-letter sink ref namespaces. Pure.
 */
export function setDefaultsKafkaChannel(obj: KafkaChannel, _ctx: DefaultsContext = {}): KafkaChannel {
  const spec = setChannelableSpecDefaults({ ...(obj.spec ?? {}) }, obj.metadata.namespace);
  if (!spec.numPartitions) spec.numPartitions = KAFKA_CHANNEL_DEFAULT_NUM_PARTITIONS;
  if (!spec.replicationFactor) spec.replicationFactor = KAFKA_CHANNEL_DEFAULT_REPLICATION_FACTOR;
  if (!spec.retentionDuration) spec.retentionDuration = KAFKA_CHANNEL_DEFAULT_RETENTION_DURATION;
  return { ...obj, metadata: withSubscribableAnnotation(obj.metadata), spec };
}

function validatePositive(value: number | undefined, path: string): FieldError[] {
  if (value === undefined) return [new FieldError(path, 'missing field(s)')];
  if (value <= 0) return [new FieldError(path, `invalid value: ${value}: must be > 0`)];
  if (value > INT32_MAX) return [new FieldError(path, `invalid value: ${value}: must be <= ${INT32_MAX}`)];
  return [];
}

/**
 * Validates a KafkaChannel: numPartitions and replicationFactor > 0, retentionDuration a
 * non-negative ISO-8601 duration, subscribers, delivery, scope annotation; on update the topic
 * settings are immutable and only the eventing controller may change the subscribers.
 */
export function validateKafkaChannel(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(KafkaChannelSchema, obj);
  if (shape.length > 0) return shape;
  const kc = obj as KafkaChannel;
  const errs = validateObjectMeta(kc.metadata);
  const spec = kc.spec ?? {};
  const duck = { features: ctx.features };
  errs.push(...validatePositive(spec.numPartitions, 'spec.numPartitions'));
  errs.push(...validatePositive(spec.replicationFactor, 'spec.replicationFactor'));
  if (spec.retentionDuration === undefined) {
    errs.push(new FieldError('spec.retentionDuration', 'missing field(s)'));
  } else {
    const retention = parseIsoDuration(spec.retentionDuration);
    if (retention === undefined || retention < 0) {
      errs.push(
        new FieldError(
          'spec.retentionDuration',
          `invalid value: ${spec.retentionDuration}: must be a non-negative ISO-8601 duration`,
        ),
      );
    }
  }
  if (spec.subscribers !== undefined)
    errs.push(...validateSubscribers(spec.subscribers, 'spec.subscribers', duck));
  if (spec.delivery !== undefined) errs.push(...validateDeliverySpec(spec.delivery, 'spec.delivery', duck));
  errs.push(...validateScopeAnnotation(kc.metadata));
  if (ctx.original !== undefined && ctx.original !== null) {
    const before = (ctx.original as KafkaChannel).spec ?? {};
    for (const field of TOPIC_FIELDS) {
      // Channels stored before retentionDuration existed may gain one (upstream's upgrade exception).
      if (field === 'retentionDuration' && !before.retentionDuration) continue;
      if (!jsonEqual(before[field], spec[field])) {
        errs.push(
          new FieldError(
            `spec.${field}`,
            `immutable field changed (-old +new): -${JSON.stringify(before[field])} +${JSON.stringify(spec[field])}`,
          ),
        );
      }
    }
    errs.push(...validateSubscribersChange(before.subscribers, spec.subscribers, ctx.user));
  }
  return errs;
}

export const KafkaChannelKind: KindDefinition = {
  group: MESSAGING_GROUP,
  // v1beta1 is upstream's storage version; v1 is served with the same schema.
  versions: ['v1beta1', 'v1'],
  kind: 'KafkaChannel',
  plural: 'kafkachannels',
  singular: 'kafkachannel',
  shortNames: ['kc'],
  categories: ['all', 'knative', 'messaging', 'channel'],
  labels: { 'messaging.knative.dev/subscribable': 'true', 'duck.knative.dev/addressable': 'true' },
  schema: KafkaChannelSchema,
  setDefaults: setDefaultsKafkaChannel,
  validate: validateKafkaChannel,
  conditionSet: KafkaChannelConditionSet,
  conditionTypes: KafkaChannelConditionSet.types,
  printerColumns: [
    ...readyColumns(),
    { name: 'URL', type: 'string', jsonPath: '.status.address.url' },
    AGE_COLUMN,
  ],
};
