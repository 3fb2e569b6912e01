import { Type, type Static } from '@sinclair/typebox';
import { ConditionSet } from './conditions';
import { KReferenceSchema, validateDeliverySpec } from './duck';
import { described } from './describe';
import { jsonEqual } from './equality';
import { FieldError, joinPath } from './errors';
import type { ValidationContext } from './kind';
import {
  AGE_COLUMN,
  readyColumns,
  type ChannelDefaults,
  type DefaultsContext,
  type KindDefinition,
} from './kind';
import {
  ChannelableSpecProperties,
  ChannelableStatusProperties,
  ChannelTemplateSpecSchema,
  MESSAGING_GROUP,
  setChannelableSpecDefaults,
  withSubscribableAnnotation,
  type ChannelTemplateSpec,
} from './messaging';
import { resourceSchema, validateObjectMeta } from './meta';
import { validateShape } from './structural';

export const ChannelSpecSchema = Type.Object(
  {
    channelTemplate: Type.Optional(
      described(
        ChannelTemplateSpecSchema,
        'Which channel kind backs this Channel, and the spec to create it with. Defaulted from the default-ch-webhook ConfigMap (InMemoryChannel as shipped); usually left to that default. Cannot be changed after creation.',
      ),
    ),
    subscribers: described(
      ChannelableSpecProperties.subscribers,
      'Must stay empty: Subscriptions to a Channel are written into its backing channel.',
    ),
    delivery: described(
      ChannelableSpecProperties.delivery,
      'Retries, timeout and dead-letter sink for every Subscription of this Channel that sets no delivery of its own; passed on to the backing channel. Cannot be changed after creation.',
    ),
  },
  {
    additionalProperties: false,
    description: 'The desired state of the Channel: which kind of channel backs it.',
  },
);
export type ChannelSpec = Static<typeof ChannelSpecSchema>;

export const ChannelStatusSchema = Type.Object(
  {
    ...ChannelableStatusProperties,
    /** The backing channel created from the template. */
    channel: Type.Optional(
      described(KReferenceSchema, 'The backing channel created from spec.channelTemplate.'),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The observed state of the Channel, mirrored from its backing channel: readiness, address and subscriber statuses.',
  },
);
export type ChannelStatus = Static<typeof ChannelStatusSchema>;

export const ChannelSchema = resourceSchema(
  Type.Optional(ChannelSpecSchema),
  ChannelStatusSchema,
  'A Channel is a channel of whichever kind the cluster or namespace prefers: it creates the backing channel named by spec.channelTemplate and receives events at its address. Subscriptions deliver what it receives.',
);
export type Channel = Static<typeof ChannelSchema>;

/** Condition set of a Channel: it is Ready when its backing channel is and it has an address. */
export const ChannelConditionSet = new ConditionSet('Ready', [
  'Addressable',
  'BackingChannelReady',
  'DeadLetterSinkResolved',
  'EventPoliciesReady',
]);

/** What upstream ships in `default-ch-webhook`: every Channel is backed by an InMemoryChannel. */
export const shippedChannelDefaults: Readonly<ChannelDefaults> = Object.freeze<ChannelDefaults>({
  clusterDefault: { apiVersion: `${MESSAGING_GROUP}/v1`, kind: 'InMemoryChannel' },
});

/** The channel template for a namespace: its namespace default, else the cluster default, else undefined. */
export function channelTemplateFor(
  defaults: ChannelDefaults,
  namespace: string | undefined,
): ChannelTemplateSpec | undefined {
  const ns = namespace === undefined ? undefined : defaults.namespaceDefaults?.[namespace];
  return ns ?? defaults.clusterDefault;
}

/** Applies upstream's Channel defaults (subscribable annotation, channelTemplate, delivery ref namespaces). Pure. */
export function setDefaultsChannel(obj: Channel, ctx: DefaultsContext = {}): Channel {
  const namespace = obj.metadata.namespace;
  const spec: ChannelSpec = setChannelableSpecDefaults({ ...(obj.spec ?? {}) }, namespace);
  if (spec.channelTemplate === undefined) {
    const template = channelTemplateFor(ctx.channelDefaults ?? shippedChannelDefaults, namespace);
    if (template !== undefined) spec.channelTemplate = structuredClone(template);
  }
  return { ...obj, metadata: withSubscribableAnnotation(obj.metadata), spec };
}

/** Validates a Channel: channelTemplate apiVersion/kind, no subscribers, delivery, and on update the immutable spec. */
export function validateChannel(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(ChannelSchema, obj);
  if (shape.length > 0) return shape;
  const c = obj as Channel;
  const errs = validateObjectMeta(c.metadata);
  const spec = c.spec ?? {};
  const template = spec.channelTemplate;
  if (template === undefined) errs.push(new FieldError('spec.channelTemplate', 'missing field(s)'));
  else {
    if (!template.apiVersion)
      errs.push(new FieldError('spec.channelTemplate.apiVersion', 'missing field(s)'));
    if (!template.kind) errs.push(new FieldError('spec.channelTemplate.kind', 'missing field(s)'));
  }
  // Subscriptions write into the backing channel, never into the Channel itself.
  if (spec.subscribers !== undefined && spec.subscribers.length > 0)
    errs.push(new FieldError('spec.subscribers', 'must not set the field(s)'));
  if (spec.delivery !== undefined)
    errs.push(...validateDeliverySpec(spec.delivery, 'spec.delivery', { features: ctx.features }));
  if (ctx.original !== undefined && ctx.original !== null) {
    // Upstream keeps the whole spec but subscribers immutable, delivery included.
    const before = { ...((ctx.original as Channel).spec ?? {}), subscribers: undefined } as Record<
      string,
      unknown
    >;
    const after = { ...spec, subscribers: undefined } as Record<string, unknown>;
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (!jsonEqual(before[key], after[key])) {
        errs.push(
          new FieldError(
            joinPath('spec', key),
            `immutable field changed (-old +new): -${JSON.stringify(before[key])} +${JSON.stringify(after[key])}`,
          ),
        );
      }
    }
  }
  return errs;
}

export const ChannelKind: KindDefinition = {
  group: MESSAGING_GROUP,
  versions: ['v1'],
  kind: 'Channel',
  plural: 'channels',
  singular: 'channel',
  shortNames: ['ch'],
  categories: ['all', 'knative', 'messaging', 'channel'],
  labels: { 'messaging.knative.dev/subscribable': 'true', 'duck.knative.dev/addressable': 'true' },
  schema: ChannelSchema,
  setDefaults: setDefaultsChannel,
  validate: validateChannel,
  conditionSet: ChannelConditionSet,
  conditionTypes: ChannelConditionSet.types,
  printerColumns: [
    { name: 'URL', type: 'string', jsonPath: '.status.address.url' },
    AGE_COLUMN,
    ...readyColumns(),
  ],
};
