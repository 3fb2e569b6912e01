import { Type, type Static } from '@sinclair/typebox';
import { ConditionSet } from './conditions';
import { validateDeliverySpec } from './duck';
import { FieldError, indexPath, joinPath } from './errors';
import type { ValidationContext } from './kind';
import { described } from './describe';
import { parseGoDuration, parseRfc3339 } from './go-time';
import { AGE_COLUMN, readyColumns, type DefaultsContext, type KindDefinition } from './kind';
import {
  ChannelableSpecProperties,
  ChannelableStatusProperties,
  MESSAGING_GROUP,
  setChannelableSpecDefaults,
  validateScopeAnnotation,
  validateSubscribers,
  withSubscribableAnnotation,
} from './messaging';
import { resourceSchema, validateObjectMeta } from './meta';
import { StringEnum } from './string-enum';
import { validateShape } from './structural';

const StringMap = Type.Record(Type.String(), Type.String());
// Kubernetes types this project passes through without interpreting (quantities, affinity terms).
const Opaque = Type.Object({}, { additionalProperties: true });

export const NatsRetentionPolicySchema = StringEnum(['Limits', 'Interest', 'Work'], {
  description:
    'When the stream lets go of messages: Limits keeps them until a limit (maxMsgs, maxBytes, maxAge) is reached, Interest until every consumer acknowledged them, Work until one consumer acknowledged them. Limits when unset.',
});
export const NatsDiscardPolicySchema = StringEnum(['Old', 'New'], {
  description:
    'What happens when the stream is full: Old removes the oldest messages, New refuses new ones (the sender gets an error). Old when unset.',
});
export const NatsStorageSchema = StringEnum(['File', 'Memory'], {
  description:
    'Where the stream keeps its messages: File (on disk, survives a server restart) or Memory. File when unset; cannot be changed on an existing stream.',
});
export const NatsDeliverPolicySchema = StringEnum(['All', 'Last', 'New', 'ByStartSequence', 'ByStartTime'], {
  description:
    "Where a new subscriber's consumer starts in the stream: All (from the first message kept), Last (the last message), New (messages that arrive after it is created), ByStartSequence (optStartSeq) or ByStartTime (optStartTime). New when unset.",
});
export const NatsReplayPolicySchema = StringEnum(['Instant', 'Original'], {
  description:
    'How fast stored messages are handed out: Instant as fast as possible, Original at the pace they were received. Instant when unset.',
});
export const NatsConsumerTypeSchema = StringEnum(['Push', 'Pull'], {
  description:
    'Whether consumers have messages pushed to them or fetch them in batches. Accepted for compatibility; this dispatcher always fetches (Pull), sized by fetchBatchSize and fetchMaxWait.',
});

/**
 * What upstream's dispatcher uses for an enum field left empty (it also falls back to these for an
 * unknown value, which validation here refuses instead).
 */
export const NATS_JETSTREAM_RUNTIME_DEFAULTS = Object.freeze({
  retention: 'Limits',
  discard: 'Old',
  storage: 'File',
  deliverPolicy: 'All',
  replayPolicy: 'Instant',
  consumerType: 'Push',
} as const);

/** JetStream's limit on stream replicas (0 means the server default, 1). */
export const NATS_MAX_STREAM_REPLICAS = 5;

/** Another stream a stream mirrors or sources from. */
export const NatsStreamSourceSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'Name of the stream to copy messages from.' })),
    /** Sequence to start from; wins over optStartTime. */
    optStartSeq: Type.Optional(
      Type.Integer({
        format: 'int64',
        minimum: 0,
        description:
          'Sequence number of the first message to copy; wins over optStartTime. 0 or unset: from the start.',
      }),
    ),
    /** RFC 3339 time to start after. */
    optStartTime: Type.Optional(
      Type.String({
        description: 'Copy only messages stored after this RFC 3339 time, e.g. 2026-01-02T15:04:05Z.',
      }),
    ),
    filterSubject: Type.Optional(
      Type.String({
        description: 'Copy only messages whose subject matches this NATS subject (wildcards allowed).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type NatsStreamSource = Static<typeof NatsStreamSourceSchema>;

/** The JetStream stream backing the channel. Durations are Go durations (`1h30m`), as upstream's metav1.Duration. */
export const NatsStreamConfigSchema = Type.Object(
  {
    /** Subjects the stream also captures besides the channel's own. */
    additionalSubjects: Type.Optional(
      Type.Array(Type.String(), {
        description:
          'More NATS subjects the stream stores messages from, besides the subject the channel publishes on (always included).',
      }),
    ),
    retention: Type.Optional(NatsRetentionPolicySchema),
    maxConsumers: Type.Optional(
      Type.Integer({
        format: 'int32',
        description: 'Most consumers the stream may have (one per subscriber). 0 or unset: no limit.',
      }),
    ),
    maxMsgs: Type.Optional(
      Type.Integer({
        format: 'int64',
        description:
          'Most messages the stream keeps; discard says what happens beyond. 0 or unset: no limit.',
      }),
    ),
    maxBytes: Type.Optional(
      Type.Integer({
        format: 'int64',
        description: 'Most bytes the stream keeps; discard says what happens beyond. 0 or unset: no limit.',
      }),
    ),
    discard: Type.Optional(NatsDiscardPolicySchema),
    maxAge: Type.Optional(
      Type.String({
        description:
          'How long a message is kept at most, as a Go duration such as 72h. Unset or 0: no limit.',
      }),
    ),
    maxMsgSize: Type.Optional(
      Type.Integer({
        format: 'int32',
        description:
          "Largest message the stream accepts, in bytes, within the server's own limit (1 MiB by default). 0 or unset: the server's limit.",
      }),
    ),
    storage: Type.Optional(NatsStorageSchema),
    replicas: Type.Optional(
      Type.Integer({
        format: 'int32',
        description:
          'How many servers of a clustered JetStream keep a copy of each message, 0 to 5. 0 or unset: 1.',
      }),
    ),
    noAck: Type.Optional(
      Type.Boolean({
        description:
          'When true, the stream does not acknowledge stored messages to publishers. False by default.',
      }),
    ),
    duplicateWindow: Type.Optional(
      Type.String({
        description:
          "How long the stream remembers message ids to drop duplicates, as a Go duration such as 2m. Unset: the server's default (2 minutes).",
      }),
    ),
    placement: Type.Optional(
      Type.Object(
        {
          cluster: Type.Optional(
            Type.String({ description: 'Name of the JetStream cluster to put the stream in.' }),
          ),
          tags: Type.Optional(
            Type.Array(Type.String(), {
              description: 'Put the stream only on servers that carry all of these tags.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'Which JetStream servers hold the stream.',
        },
      ),
    ),
    mirror: Type.Optional(
      described(
        NatsStreamSourceSchema,
        'Make the stream a copy of another stream. A mirror takes no messages of its own.',
      ),
    ),
    sources: Type.Optional(
      Type.Array(NatsStreamSourceSchema, {
        description: 'Other streams whose messages are copied into this stream as well.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Settings of the JetStream stream that stores the events. Unset numbers and durations take the NATS server defaults.',
  },
);
export type NatsStreamConfig = Static<typeof NatsStreamConfigSchema>;

export const NatsStreamSchema = Type.Object(
  {
    /** Binds an existing stream instead of the generated `KN_<NAMESPACE>__<NAME>`. */
    overrideName: Type.Optional(
      Type.String({
        description:
          "Name of the stream to use instead of the generated KN_<NAMESPACE>__<NAME>; an existing stream keeps its subjects and gains the channel's. No whitespace, '.', '*', '>', '/' or '\\'.",
      }),
    ),
    config: Type.Optional(NatsStreamConfigSchema),
  },
  {
    additionalProperties: false,
    description: 'The JetStream stream that stores the events of this channel.',
  },
);
export type NatsStream = Static<typeof NatsStreamSchema>;

/** Template of the durable consumer created for each subscriber. */
export const NatsConsumerConfigTemplateSchema = Type.Object(
  {
    deliverPolicy: Type.Optional(NatsDeliverPolicySchema),
    /** Only with deliverPolicy ByStartSequence. */
    optStartSeq: Type.Optional(
      Type.Integer({
        format: 'int64',
        minimum: 0,
        description:
          'Sequence number of the first message; required with deliverPolicy ByStartSequence, refused otherwise.',
      }),
    ),
    /** RFC 3339; only with deliverPolicy ByStartTime. */
    optStartTime: Type.Optional(
      Type.String({
        description:
          'Start with the first message stored after this RFC 3339 time; required with deliverPolicy ByStartTime, refused otherwise.',
      }),
    ),
    ackWait: Type.Optional(
      Type.String({
        description:
          "How long a message handed to the dispatcher may stay unacknowledged before JetStream hands it out again, as a Go duration such as 30s. Unset: the dispatcher's default.",
      }),
    ),
    maxDeliver: Type.Optional(
      Type.Integer({
        format: 'int32',
        description:
          'How many times JetStream hands out one message at most. 0 or unset: no limit (retries and dead letters follow spec.delivery).',
      }),
    ),
    filterSubject: Type.Optional(
      Type.String({
        description: 'Deliver only messages whose subject matches this NATS subject (wildcards allowed).',
      }),
    ),
    replayPolicy: Type.Optional(NatsReplayPolicySchema),
    rateLimitBPS: Type.Optional(
      Type.Integer({
        format: 'int64',
        minimum: 0,
        description: 'Most bits per second JetStream hands to one consumer. 0 or unset: no limit.',
      }),
    ),
    /** Percentage of acknowledgements sampled, `0`–`100`, with or without `%`. */
    sampleFrequency: Type.Optional(
      Type.String({
        description:
          'Percentage of acknowledgements JetStream reports as advisories for monitoring, 0 to 100, written as 30 or 30%.',
      }),
    ),
    maxAckPending: Type.Optional(
      Type.Integer({
        format: 'int32',
        description:
          "Most messages a consumer may hold unacknowledged at once; JetStream pauses it beyond. 0 or unset: the dispatcher's in-flight limit.",
      }),
    ),
    consumerType: Type.Optional(NatsConsumerTypeSchema),
    fetchMaxWait: Type.Optional(
      Type.String({
        description:
          'How long one fetch waits for messages when fewer than a batch are there, as a Go duration (at least 1s is used).',
      }),
    ),
    fetchBatchSize: Type.Optional(
      Type.Integer({
        format: 'int32',
        minimum: 1,
        description:
          'Most messages one fetch asks for, 1 or more. Unset: maxAckPending, capped by the dispatcher.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Settings of the durable JetStream consumer created for each subscriber of this channel.',
  },
);
export type NatsConsumerConfigTemplate = Static<typeof NatsConsumerConfigTemplateSchema>;

/** Placement and resources of the channel's dispatcher Deployment. */
export const NatsDispatcherDeploymentTemplateSchema = Type.Object(
  {
    annotations: Type.Optional(described(StringMap, "Annotations added to the dispatcher's pods.")),
    labels: Type.Optional(described(StringMap, "Labels added to the dispatcher's pods.")),
    nodeSelector: Type.Optional(
      described(StringMap, 'Node labels the dispatcher pods must run on, as a Pod nodeSelector.'),
    ),
    resources: Type.Optional(
      Type.Object(
        {
          limits: Type.Optional(
            described(
              Opaque,
              'Most of each resource (cpu, memory) the dispatcher may use, as Kubernetes quantities.',
            ),
          ),
          requests: Type.Optional(
            described(
              Opaque,
              'Resources (cpu, memory) reserved for the dispatcher, as Kubernetes quantities.',
            ),
          ),
          claims: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  name: Type.String({
                    description: "Name of an entry of the pod's resourceClaims.",
                  }),
                },
                { additionalProperties: false },
              ),
              { description: 'Dynamic resource claims of the pod the dispatcher uses.' },
            ),
          ),
        },
        {
          additionalProperties: false,
          description: 'CPU and memory of the dispatcher container, as a container resources block.',
        },
      ),
    ),
    affinity: Type.Optional(
      described(Opaque, 'Scheduling constraints of the dispatcher pods, as a Pod affinity block.'),
    ),
  },
  { additionalProperties: false },
);
export type NatsDispatcherDeploymentTemplate = Static<typeof NatsDispatcherDeploymentTemplateSchema>;

export const NatsJetStreamChannelSpecSchema = Type.Object(
  {
    ...ChannelableSpecProperties,
    stream: Type.Optional(NatsStreamSchema),
    consumerConfigTemplate: Type.Optional(NatsConsumerConfigTemplateSchema),
    deploymentSpecTemplate: Type.Optional(
      described(
        NatsDispatcherDeploymentTemplateSchema,
        'Labels, annotations, placement and resources of the dispatcher Deployment of this channel.',
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The desired state of the NatsJetStreamChannel: its stream and consumer settings, subscribers and their default delivery.',
  },
);
export type NatsJetStreamChannelSpec = Static<typeof NatsJetStreamChannelSpecSchema>;

export const NatsJetStreamChannelStatusSchema = Type.Object(ChannelableStatusProperties, {
  additionalProperties: false,
  description:
    'The observed state of the NatsJetStreamChannel, written by its controller: readiness, address and subscriber statuses.',
});
export type NatsJetStreamChannelStatus = Static<typeof NatsJetStreamChannelStatusSchema>;

export const NatsJetStreamChannelSchema = resourceSchema(
  Type.Optional(NatsJetStreamChannelSpecSchema),
  NatsJetStreamChannelStatusSchema,
  'A NatsJetStreamChannel stores the events it receives in a NATS JetStream stream, which acknowledges each one before the sender gets its answer, and sends each event to every subscriber through a durable consumer of its own.',
);
export type NatsJetStreamChannel = Static<typeof NatsJetStreamChannelSchema>;

/** Condition set of a NatsJetStreamChannel, as upstream: every condition is a dependent of Ready. */
export const NatsJetStreamChannelConditionSet = new ConditionSet('Ready', [
  'Addressable',
  'ChannelServiceReady',
  'DispatcherReady',
  'EndpointsReady',
  'ServiceReady',
  'StreamReady',
]);

/**
 * Applies upstream's NatsJetStreamChannel defaults: only the subscribable annotation (stream and
 * consumer settings are defaulted by the dispatcher, see NATS_JETSTREAM_RUNTIME_DEFAULTS), plus
 * dead-letter sink ref namespaces as for every channel here. Pure.
 */
export function setDefaultsNatsJetStreamChannel(
  obj: NatsJetStreamChannel,
  _ctx: DefaultsContext = {},
): NatsJetStreamChannel {
  const spec = setChannelableSpecDefaults({ ...(obj.spec ?? {}) }, obj.metadata.namespace);
  return { ...obj, metadata: withSubscribableAnnotation(obj.metadata), spec };
}

function validateGoDuration(value: string | undefined, path: string): FieldError[] {
  if (value === undefined) return [];
  const ms = parseGoDuration(value);
  if (ms !== undefined && ms >= 0) return [];
  return [
    new FieldError(path, `invalid value: ${value}: must be a non-negative Go duration such as 30s or 1h30m`),
  ];
}

function validateTime(value: string | undefined, path: string): FieldError[] {
  if (value === undefined || parseRfc3339(value) !== undefined) return [];
  return [
    new FieldError(path, `invalid value: ${value}: must be an RFC 3339 time such as 2026-01-02T15:04:05Z`),
  ];
}

// JetStream refuses these in stream names: whitespace, `.`, `*`, `>` and path separators.
const BAD_STREAM_NAME = /[\s.*>/\\]/u;

function validateSubject(subject: string, path: string): FieldError[] {
  // Tokens are separated by `.`; none may be empty or hold whitespace.
  if (subject !== '' && !/\s/u.test(subject) && !subject.split('.').includes('')) return [];
  return [new FieldError(path, `invalid value: ${JSON.stringify(subject)}: not a NATS subject`)];
}

function validateStreamSource(source: NatsStreamSource, path: string): FieldError[] {
  const errs = validateTime(source.optStartTime, joinPath(path, 'optStartTime'));
  if (source.filterSubject !== undefined && source.filterSubject !== '')
    errs.push(...validateSubject(source.filterSubject, joinPath(path, 'filterSubject')));
  return errs;
}

function validateStream(stream: NatsStream, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (stream.overrideName !== undefined && BAD_STREAM_NAME.test(stream.overrideName)) {
    errs.push(
      new FieldError(
        joinPath(path, 'overrideName'),
        `invalid value: ${stream.overrideName}: a stream name cannot contain whitespace, '.', '*', '>', '/' or '\\'`,
      ),
    );
  }
  const config = stream.config;
  if (config === undefined) return errs;
  const at = joinPath(path, 'config');
  config.additionalSubjects?.forEach((s, i) =>
    errs.push(...validateSubject(s, indexPath(joinPath(at, 'additionalSubjects'), i))),
  );
  errs.push(...validateGoDuration(config.maxAge, joinPath(at, 'maxAge')));
  errs.push(...validateGoDuration(config.duplicateWindow, joinPath(at, 'duplicateWindow')));
  if (config.replicas !== undefined && (config.replicas < 0 || config.replicas > NATS_MAX_STREAM_REPLICAS)) {
    errs.push(
      new FieldError(
        joinPath(at, 'replicas'),
        `invalid value: ${config.replicas}: must be between 0 and ${NATS_MAX_STREAM_REPLICAS}`,
      ),
    );
  }
  if (config.mirror !== undefined) errs.push(...validateStreamSource(config.mirror, joinPath(at, 'mirror')));
  config.sources?.forEach((s, i) =>
    errs.push(...validateStreamSource(s, indexPath(joinPath(at, 'sources'), i))),
  );
  return errs;
}

const SAMPLE_FREQUENCY = /^(\d{1,3})%?$/;

function validateConsumerTemplate(t: NatsConsumerConfigTemplate, path: string): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validateTime(t.optStartTime, joinPath(path, 'optStartTime')));
  errs.push(...validateGoDuration(t.ackWait, joinPath(path, 'ackWait')));
  errs.push(...validateGoDuration(t.fetchMaxWait, joinPath(path, 'fetchMaxWait')));
  if (t.filterSubject !== undefined && t.filterSubject !== '')
    errs.push(...validateSubject(t.filterSubject, joinPath(path, 'filterSubject')));
  if (t.sampleFrequency !== undefined && t.sampleFrequency !== '') {
    const m = SAMPLE_FREQUENCY.exec(t.sampleFrequency);
    if (m === null || Number(m[1]) > 100) {
      errs.push(
        new FieldError(
          joinPath(path, 'sampleFrequency'),
          `invalid value: ${t.sampleFrequency}: must be a percentage from 0 to 100, such as 30 or 30%`,
        ),
      );
    }
  }
  // JetStream's own rule: the start position is given exactly when the policy names it.
  const policy = t.deliverPolicy ?? NATS_JETSTREAM_RUNTIME_DEFAULTS.deliverPolicy;
  const seq = t.optStartSeq !== undefined && t.optStartSeq > 0;
  const time = t.optStartTime !== undefined;
  if (policy === 'ByStartSequence' && !seq)
    errs.push(
      new FieldError(
        joinPath(path, 'optStartSeq'),
        'missing field(s): required by deliverPolicy ByStartSequence',
      ),
    );
  if (policy === 'ByStartTime' && !time)
    errs.push(
      new FieldError(
        joinPath(path, 'optStartTime'),
        'missing field(s): required by deliverPolicy ByStartTime',
      ),
    );
  if (policy !== 'ByStartSequence' && seq)
    errs.push(
      new FieldError(joinPath(path, 'optStartSeq'), `must not set the field(s): deliverPolicy is ${policy}`),
    );
  if (policy !== 'ByStartTime' && time)
    errs.push(
      new FieldError(joinPath(path, 'optStartTime'), `must not set the field(s): deliverPolicy is ${policy}`),
    );
  return errs;
}

/**
 * Validates a NatsJetStreamChannel: subscribers, delivery and scope annotation as upstream; stream
 * and consumer settings the decoder or JetStream would refuse (Go durations, RFC 3339 times, replicas,
 * names and subjects, start position against the deliver policy, sample frequency).
 */
export function validateNatsJetStreamChannel(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(NatsJetStreamChannelSchema, obj);
  if (shape.length > 0) return shape;
  const c = obj as NatsJetStreamChannel;
  const errs = validateObjectMeta(c.metadata);
  const spec = c.spec ?? {};
  const duck = { features: ctx.features };
  if (spec.subscribers !== undefined)
    errs.push(...validateSubscribers(spec.subscribers, 'spec.subscribers', duck));
  if (spec.delivery !== undefined) errs.push(...validateDeliverySpec(spec.delivery, 'spec.delivery', duck));
  if (spec.stream !== undefined) errs.push(...validateStream(spec.stream, 'spec.stream'));
  if (spec.consumerConfigTemplate !== undefined)
    errs.push(...validateConsumerTemplate(spec.consumerConfigTemplate, 'spec.consumerConfigTemplate'));
  errs.push(...validateScopeAnnotation(c.metadata));
  return errs;
}

export const NatsJetStreamChannelKind: KindDefinition = {
  group: MESSAGING_GROUP,
  versions: ['v1alpha1'],
  kind: 'NatsJetStreamChannel',
  plural: 'natsjetstreamchannels',
  singular: 'natsjetstreamchannel',
  shortNames: ['natsjsmc'],
  categories: ['all', 'knative', 'messaging', 'channel'],
  labels: { 'messaging.knative.dev/subscribable': 'true', 'duck.knative.dev/addressable': 'true' },
  schema: NatsJetStreamChannelSchema,
  setDefaults: setDefaultsNatsJetStreamChannel,
  validate: validateNatsJetStreamChannel,
  conditionSet: NatsJetStreamChannelConditionSet,
  conditionTypes: NatsJetStreamChannelConditionSet.types,
  printerColumns: [
    ...readyColumns(),
    { name: 'URL', type: 'string', jsonPath: '.status.address.url' },
    AGE_COLUMN,
  ],
};
