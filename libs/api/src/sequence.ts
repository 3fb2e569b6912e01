import { Type, type Static } from '@sinclair/typebox';
import { ConditionSchema, ConditionSet, StatusBaseProperties } from './conditions';
import { described } from './describe';
import {
  AddressSchema,
  AuthStatusSchema,
  DeliverySpecSchema,
  DestinationSchema,
  PoliciesSchema,
  setDestinationDefaults,
  validateDeliverySpec,
  validateDestination,
  type Destination,
  type DuckContext,
} from './duck';
import { channelTemplateFor, shippedChannelDefaults } from './channel';
import { FieldError, indexPath, joinPath } from './errors';
import type { ValidationContext } from './kind';
import { AGE_COLUMN, readyColumns, type DefaultsContext, type KindDefinition } from './kind';
import { ChannelTemplateSpecSchema, type ChannelTemplateSpec } from './messaging';
import { resourceSchema, validateObjectMeta } from './meta';
import { validateShape } from './structural';

/** API group of Sequence and Parallel. */
export const FLOWS_GROUP = 'flows.knative.dev';

/** A reference to an object the flow created (a Kubernetes ObjectReference). */
export const FlowObjectReferenceSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String({ description: 'API group and version of the object.' })),
    kind: Type.Optional(Type.String({ description: 'Kind of the object.' })),
    name: Type.Optional(Type.String({ description: 'Name of the object.' })),
    namespace: Type.Optional(Type.String({ description: 'Namespace of the object.' })),
    uid: Type.Optional(Type.String({ description: 'UID of the object.' })),
    resourceVersion: Type.Optional(
      Type.String({ description: 'The resourceVersion of the object this reference was made from.' }),
    ),
    fieldPath: Type.Optional(
      Type.String({ description: 'A field of the object this reference points into; unused here.' }),
    ),
  },
  { additionalProperties: false, description: 'A reference to an object the flow created.' },
);
export type FlowObjectReference = Static<typeof FlowObjectReferenceSchema>;

/** One channel a flow created, with its readiness. */
export const FlowChannelStatusSchema = Type.Object(
  {
    channel: described(FlowObjectReferenceSchema, 'The channel this flow created.'),
    ready: described(
      ConditionSchema,
      'Whether the channel is ready: its own Ready condition (Sequence) or whether it has an address (Parallel).',
    ),
  },
  { additionalProperties: false, description: 'A channel the flow created, and whether it is ready.' },
);
export type FlowChannelStatus = Static<typeof FlowChannelStatusSchema>;

/** One subscription a flow created, with its readiness. */
export const FlowSubscriptionStatusSchema = Type.Object(
  {
    subscription: described(FlowObjectReferenceSchema, 'The Subscription this flow created.'),
    ready: described(ConditionSchema, 'The Ready condition of the Subscription.'),
  },
  { additionalProperties: false, description: 'A Subscription the flow created, and whether it is ready.' },
);
export type FlowSubscriptionStatus = Static<typeof FlowSubscriptionStatusSchema>;

/** `channelTemplate` of a flow: the channel kind (and its spec) every channel of the flow is made from. */
export const FlowChannelTemplateSchema = described(
  ChannelTemplateSpecSchema,
  'The kind of channel (and the spec given to each) the flow creates between its parts, e.g. InMemoryChannel, KafkaChannel or NatsJetStreamChannel. Left out, the default channel of the namespace (default-ch-webhook) is filled in.',
);

/** The status fields Sequence and Parallel share besides their child statuses. */
export const FlowStatusProperties = {
  ...StatusBaseProperties,
  auth: Type.Optional(
    described(
      AuthStatusSchema,
      'The identities of the Subscriptions the flow created, when OIDC authentication is enabled.',
    ),
  ),
  policies: Type.Optional(PoliciesSchema),
};

const STEP_PROPERTIES = DestinationSchema.properties;

/** One step of a Sequence: where to send the event, and how. */
export const SequenceStepSchema = Type.Object(
  {
    ref: Type.Optional(
      described(
        STEP_PROPERTIES.ref,
        'The function of this step as an object: an Addressable (its status.address.url is used), a Kubernetes Service or a Knative Service. Give ref, uri, or both.',
      ),
    ),
    uri: Type.Optional(
      described(
        STEP_PROPERTIES.uri,
        'The URL of the function of this step. Alone, an absolute URL; with ref, a relative reference resolved against the address of ref.',
      ),
    ),
    CACerts: Type.Optional(
      described(
        STEP_PROPERTIES.CACerts,
        'PEM-encoded CA certificates to trust when calling this step over HTTPS.',
      ),
    ),
    audience: Type.Optional(
      described(STEP_PROPERTIES.audience, 'OIDC audience of the tokens sent when calling this step.'),
    ),
    delivery: Type.Optional(
      described(
        DeliverySpecSchema,
        "Retries, timeout and dead-letter sink of the calls to this step; it becomes the delivery of this step's Subscription. An event this step finally refuses goes to this dead-letter sink and no further along the sequence.",
      ),
    ),
  },
  {
    additionalProperties: false,
    description: 'One step: the function called with the event, and the delivery of those calls.',
  },
);
export type SequenceStep = Static<typeof SequenceStepSchema>;

export const SequenceSpecSchema = Type.Object(
  {
    steps: Type.Optional(
      Type.Array(SequenceStepSchema, {
        description:
          "The functions an event goes through, in order. Each step gets the event (the reply of the step before it, for every step but the first) and its reply goes to the next step; the last step's reply goes to reply. At least one.",
      }),
    ),
    channelTemplate: Type.Optional(FlowChannelTemplateSchema),
    reply: Type.Optional(
      described(
        DestinationSchema,
        'Where the reply of the last step goes. Left out, the replies of the last step are dropped.',
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The desired state of the Sequence: its steps in order, the kind of channel between them, and where the last reply goes.',
  },
);
export type SequenceSpec = Static<typeof SequenceSpecSchema>;

export const SequenceStatusSchema = Type.Object(
  {
    ...FlowStatusProperties,
    subscriptionStatuses: Type.Optional(
      Type.Array(FlowSubscriptionStatusSchema, {
        description: 'The Subscription of each step, in the order of spec.steps.',
      }),
    ),
    channelStatuses: Type.Optional(
      Type.Array(FlowChannelStatusSchema, {
        description: 'The channel in front of each step, in the order of spec.steps.',
      }),
    ),
    address: Type.Optional(
      described(
        AddressSchema,
        'Where the Sequence receives events: the address of the channel in front of the first step.',
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The observed state of the Sequence, written by its controller: whether it is Ready, its address, and the channels and Subscriptions it created.',
  },
);
export type SequenceStatus = Static<typeof SequenceStatusSchema>;

export const SequenceSchema = resourceSchema(
  Type.Optional(SequenceSpecSchema),
  SequenceStatusSchema,
  'A Sequence sends each event it receives through its steps in order, each step getting the reply of the one before, and the last reply on to spec.reply. It is made of one channel and one Subscription per step.',
);
export type Sequence = Static<typeof SequenceSchema>;

/** Condition set of a Sequence (upstream's): Ready when its channels, subscriptions and address are. */
export const SequenceConditionSet = new ConditionSet('Ready', [
  'ChannelsReady',
  'SubscriptionsReady',
  'Addressable',
  'EventPoliciesReady',
]);

/** The channel template a flow gets when it names none: the namespace default, else the cluster default. */
export function defaultFlowChannelTemplate(
  namespace: string | undefined,
  ctx: DefaultsContext,
): ChannelTemplateSpec | undefined {
  const template = channelTemplateFor(ctx.channelDefaults ?? shippedChannelDefaults, namespace);
  return template === undefined ? undefined : structuredClone(template);
}

/** Defaults a Destination's ref namespace when it is given. */
export function defaultOptionalDestination<D extends Destination | undefined>(
  dest: D,
  namespace: string | undefined,
): D {
  return (dest === undefined ? dest : setDestinationDefaults(dest, namespace)) as D;
}

/**
 * Applies upstream's Sequence defaults: the channel template from `default-ch-webhook` when absent,
 * and the namespace of every step's and the reply's ref. Pure.
 */
export function setDefaultsSequence(obj: Sequence, ctx: DefaultsContext = {}): Sequence {
  const namespace = obj.metadata.namespace;
  const spec: SequenceSpec = { ...(obj.spec ?? {}) };
  if (spec.channelTemplate === undefined) {
    const template = defaultFlowChannelTemplate(namespace, ctx);
    if (template !== undefined) spec.channelTemplate = template;
  }
  // A step is a Destination with a delivery; upstream leaves the delivery alone.
  if (spec.steps !== undefined)
    spec.steps = spec.steps.map((step) => setDestinationDefaults(step, namespace) as SequenceStep);
  spec.reply = defaultOptionalDestination(spec.reply, namespace);
  if (spec.reply === undefined) delete spec.reply;
  return { ...obj, spec };
}

/** Validates a channel template at `path`: present, with apiVersion and kind. */
export function validateFlowChannelTemplate(
  template: ChannelTemplateSpec | undefined,
  path: string,
): FieldError[] {
  if (template === undefined)
    return [
      new FieldError(
        path,
        'missing field(s): name the channel kind (apiVersion and kind), or configure a default channel in default-ch-webhook',
      ),
    ];
  const errs: FieldError[] = [];
  if (!template.apiVersion) errs.push(new FieldError(joinPath(path, 'apiVersion'), 'missing field(s)'));
  if (!template.kind) errs.push(new FieldError(joinPath(path, 'kind'), 'missing field(s)'));
  return errs;
}

/** Validates an optional Destination at `path`: absent is fine, given it must be valid. */
export function validateOptionalDestination(
  dest: Destination | undefined,
  path: string,
  ctx: DuckContext,
): FieldError[] {
  return dest === undefined ? [] : validateDestination(dest, path, ctx);
}

/**
 * Validates a Sequence (upstream's rules): at least one step, each a valid Destination with a valid
 * delivery, a channel template with apiVersion and kind, and a valid reply when given.
 */
export function validateSequence(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(SequenceSchema, obj);
  if (shape.length > 0) return shape;
  const s = obj as Sequence;
  const errs = validateObjectMeta(s.metadata);
  const spec = s.spec ?? {};
  const duck: DuckContext = { features: ctx.features };
  const steps = spec.steps ?? [];
  if (steps.length === 0)
    errs.push(new FieldError('spec.steps', 'missing field(s): a Sequence needs at least one step'));
  steps.forEach((step, i) => {
    const at = indexPath('spec.steps', i);
    const { delivery, ...destination } = step;
    errs.push(...validateDestination(destination, at, duck));
    if (delivery !== undefined) errs.push(...validateDeliverySpec(delivery, joinPath(at, 'delivery'), duck));
  });
  errs.push(...validateFlowChannelTemplate(spec.channelTemplate, 'spec.channelTemplate'));
  errs.push(...validateOptionalDestination(spec.reply, 'spec.reply', duck));
  return errs;
}

/** Printer columns of Sequence and Parallel (upstream's). */
export const FLOW_PRINTER_COLUMNS = [
  { name: 'URL', type: 'string', jsonPath: '.status.address.url' },
  AGE_COLUMN,
  ...readyColumns(),
] as const;

export const SequenceKind: KindDefinition = {
  group: FLOWS_GROUP,
  versions: ['v1'],
  kind: 'Sequence',
  plural: 'sequences',
  singular: 'sequence',
  categories: ['all', 'knative', 'flows'],
  labels: { 'duck.knative.dev/addressable': 'true' },
  schema: SequenceSchema,
  setDefaults: setDefaultsSequence,
  validate: validateSequence,
  conditionSet: SequenceConditionSet,
  conditionTypes: SequenceConditionSet.types,
  printerColumns: [...FLOW_PRINTER_COLUMNS],
};
