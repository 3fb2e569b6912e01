import { Type, type Static } from '@sinclair/typebox';
import { ConditionSet } from './conditions';
import { validateDeliverySpec } from './duck';
import { jsonEqual } from './equality';
import { FieldError, indexPath } from './errors';
import type { ValidationContext } from './features';
import { AGE_COLUMN, readyColumns, type DefaultsContext, type KindDefinition } from './kind';
import {
  ChannelableSpecProperties,
  ChannelableStatusProperties,
  MESSAGING_GROUP,
  setChannelableSpecDefaults,
  validateSubscribers,
  withSubscribableAnnotation,
} from './messaging';
import { resourceSchema, validateObjectMeta } from './meta';
import { validateShape } from './structural';

/** Which component handles a resource: `cluster` (the shared dispatcher) or `namespace`. */
export const SCOPE_ANNOTATION = 'eventing.knative.dev/scope';
/** Respond 202 before fanning out (lossy), instead of after every subscriber answered. */
export const ASYNC_HANDLER_ANNOTATION = 'messaging.knative.dev/async-handler';
/** The only user allowed to change an InMemoryChannel's `spec.subscribers` through an admission update. */
export const EVENTING_CONTROLLER_USER = 'system:serviceaccount:knative-eventing:eventing-controller';

export const InMemoryChannelSpecSchema = Type.Object(ChannelableSpecProperties, {
  additionalProperties: false,
});
export type InMemoryChannelSpec = Static<typeof InMemoryChannelSpecSchema>;

export const InMemoryChannelStatusSchema = Type.Object(ChannelableStatusProperties, {
  additionalProperties: false,
});
export type InMemoryChannelStatus = Static<typeof InMemoryChannelStatusSchema>;

export const InMemoryChannelSchema = resourceSchema(
  Type.Optional(InMemoryChannelSpecSchema),
  InMemoryChannelStatusSchema,
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

const SCOPE_PATH = indexPath('metadata.annotations', SCOPE_ANNOTATION);

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
  const scope = imc.metadata.annotations?.[SCOPE_ANNOTATION];
  if (scope !== undefined && scope !== 'cluster' && scope !== 'namespace') {
    errs.push(
      new FieldError(SCOPE_PATH, `invalid value: ${scope}: expected either 'cluster' or 'namespace'`),
    );
  }
  if (
    ctx.original !== undefined &&
    ctx.original !== null &&
    ctx.user !== undefined &&
    ctx.user !== EVENTING_CONTROLLER_USER
  ) {
    const before = (ctx.original as InMemoryChannel).spec?.subscribers;
    if (!jsonEqual(before ?? [], spec.subscribers ?? [])) {
      errs.push(
        new FieldError(
          'spec.subscribers',
          `changed by user ${ctx.user} which is not the ${EVENTING_CONTROLLER_USER} service account`,
        ),
      );
    }
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
