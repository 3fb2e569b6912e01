import { Type, type Static } from '@sinclair/typebox';
import { ConditionSet } from './conditions';
import { validateDeliverySpec } from './duck';
import type { FieldError } from './errors';
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

/** Respond 202 before fanning out (lossy), instead of after every subscriber answered. */
export const ASYNC_HANDLER_ANNOTATION = 'messaging.knative.dev/async-handler';

export const InMemoryChannelSpecSchema = Type.Object(ChannelableSpecProperties, {
  additionalProperties: false,
  description: 'The desired state of the InMemoryChannel: its subscribers and their default delivery.',
});
export type InMemoryChannelSpec = Static<typeof InMemoryChannelSpecSchema>;

export const InMemoryChannelStatusSchema = Type.Object(ChannelableStatusProperties, {
  additionalProperties: false,
  description:
    'The observed state of the InMemoryChannel, written by its controller: readiness, address and subscriber statuses.',
});
export type InMemoryChannelStatus = Static<typeof InMemoryChannelStatusSchema>;

export const InMemoryChannelSchema = resourceSchema(
  Type.Optional(InMemoryChannelSpecSchema),
  InMemoryChannelStatusSchema,
  'An InMemoryChannel keeps the events it receives in memory and sends each one to every subscriber. Fast and simple, but events not yet delivered are lost when the dispatcher stops: use a KafkaChannel or NatsJetStreamChannel for durable events.',
);
export type InMemoryChannel = Static<typeof InMemoryChannelSchema>;

/**
 * Condition set of an InMemoryChannel. `DispatcherReady` is reported too but, as upstream, is not a
 * dependent of Ready (it is kept with severity Info).
 */
export const InMemoryChannelConditionSet = new ConditionSet('Ready', [
  'Addressable',
  'ChannelServiceReady',
  'DeadLetterSinkResolved',
  'EndpointsReady',
  'EventPoliciesReady',
  'ServiceReady',
]);

/** Applies upstream's InMemoryChannel defaults (subscribable annotation, delivery ref namespaces). Pure. */
export function setDefaultsInMemoryChannel(
  obj: InMemoryChannel,
  _ctx: DefaultsContext = {},
): InMemoryChannel {
  const spec = setChannelableSpecDefaults({ ...(obj.spec ?? {}) }, obj.metadata.namespace);
  return { ...obj, metadata: withSubscribableAnnotation(obj.metadata), spec };
}

/** Validates an InMemoryChannel: subscribers, delivery, scope annotation, and on update who changed the subscribers. */
export function validateInMemoryChannel(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(InMemoryChannelSchema, obj);
  if (shape.length > 0) return shape;
  const imc = obj as InMemoryChannel;
  const errs = validateObjectMeta(imc.metadata);
  const spec = imc.spec ?? {};
  const duck = { features: ctx.features };
  if (spec.subscribers !== undefined)
    errs.push(...validateSubscribers(spec.subscribers, 'spec.subscribers', duck));
  if (spec.delivery !== undefined) errs.push(...validateDeliverySpec(spec.delivery, 'spec.delivery', duck));
  errs.push(...validateScopeAnnotation(imc.metadata));
  if (ctx.original !== undefined && ctx.original !== null) {
    const before = (ctx.original as InMemoryChannel).spec?.subscribers;
    errs.push(...validateSubscribersChange(before, spec.subscribers, ctx.user));
  }
  return errs;
}

export const InMemoryChannelKind: KindDefinition = {
  group: MESSAGING_GROUP,
  versions: ['v1'],
  kind: 'InMemoryChannel',
  plural: 'inmemorychannels',
  singular: 'inmemorychannel',
  shortNames: ['imc'],
  categories: ['all', 'knative', 'messaging', 'channel'],
  labels: { 'messaging.knative.dev/subscribable': 'true', 'duck.knative.dev/addressable': 'true' },
  schema: InMemoryChannelSchema,
  setDefaults: setDefaultsInMemoryChannel,
  validate: validateInMemoryChannel,
  conditionSet: InMemoryChannelConditionSet,
  conditionTypes: InMemoryChannelConditionSet.types,
  printerColumns: [
    { name: 'URL', type: 'string', jsonPath: '.status.address.url' },
    AGE_COLUMN,
    ...readyColumns(),
  ],
};
