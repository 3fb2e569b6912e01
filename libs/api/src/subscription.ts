import { Type, type Static } from '@sinclair/typebox';
import { ConditionSet, StatusBaseProperties } from './conditions';
import {
  AuthStatusSchema,
  DeliverySpecSchema,
  DeliveryStatusProperties,
  DestinationSchema,
  KReferenceSchema,
  setDeliveryDefaults,
  setDestinationDefaults,
  validateDeliverySpec,
  validateDestination,
  validateKReference,
  type Destination,
} from './duck';
import { described } from './describe';
import { jsonEqual } from './equality';
import { FieldError } from './errors';
import { isEnabled } from './features';
import type { ValidationContext } from './kind';
import { AGE_COLUMN, readyColumns, type DefaultsContext, type KindDefinition } from './kind';
import { MESSAGING_GROUP } from './messaging';
import { resourceSchema, validateObjectMeta } from './meta';
import { validateShape } from './structural';

export const SubscriptionSpecSchema = Type.Object(
  {
    channel: described(
      KReferenceSchema,
      'The channel to receive events from: apiVersion, kind and name of a Channel, InMemoryChannel, KafkaChannel or other channel kind, in the namespace of the Subscription (another namespace only with the cross-namespace-event-links feature). Required; cannot be changed after creation: to move, delete the Subscription and create a new one.',
    ),
    subscriber: described(
      DestinationSchema,
      'Where each event of the channel is sent: a ref to an Addressable or Service and/or a URI. Required.',
    ),
    reply: Type.Optional(
      described(
        DestinationSchema,
        'Where an event the subscriber answers with is sent (for example another channel). Unset: replies are dropped.',
      ),
    ),
    delivery: Type.Optional(
      described(
        DeliverySpecSchema,
        "Retries, timeout and dead-letter sink for deliveries to the subscriber; when set it replaces the channel's spec.delivery as a whole.",
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The desired state of the Subscription: which channel, to which subscriber, and where replies go.',
  },
);
export type SubscriptionSpec = Static<typeof SubscriptionSpecSchema>;

/** The resolved endpoints of a Subscription, as written into the channel's `spec.subscribers[]`. */
export const PhysicalSubscriptionSchema = Type.Object(
  {
    subscriberUri: Type.Optional(Type.String({ description: 'The URL spec.subscriber resolved to.' })),
    subscriberCACerts: Type.Optional(
      Type.String({ description: 'PEM-encoded CA certificates trusted when sending to the subscriber.' }),
    ),
    subscriberAudience: Type.Optional(
      Type.String({ description: 'OIDC audience of the tokens sent to the subscriber.' }),
    ),
    replyUri: Type.Optional(Type.String({ description: 'The URL spec.reply resolved to.' })),
    replyCACerts: Type.Optional(
      Type.String({ description: 'PEM-encoded CA certificates trusted when sending replies.' }),
    ),
    replyAudience: Type.Optional(
      Type.String({ description: 'OIDC audience of the tokens sent with replies.' }),
    ),
    ...DeliveryStatusProperties,
  },
  {
    additionalProperties: false,
    description: "The resolved URLs of this Subscription, as written into the channel's spec.subscribers.",
  },
);
export type PhysicalSubscription = Static<typeof PhysicalSubscriptionSchema>;

export const SubscriptionStatusSchema = Type.Object(
  {
    ...StatusBaseProperties,
    physicalSubscription: Type.Optional(PhysicalSubscriptionSchema),
    auth: Type.Optional(AuthStatusSchema),
  },
  {
    additionalProperties: false,
    description:
      'The observed state of the Subscription, written by its controller: whether it is Ready and the URLs its references resolved to.',
  },
);
export type SubscriptionStatus = Static<typeof SubscriptionStatusSchema>;

export const SubscriptionSchema = resourceSchema(
  SubscriptionSpecSchema,
  SubscriptionStatusSchema,
  'A Subscription sends every event a channel receives to a subscriber, and what the subscriber answers to an optional reply destination.',
);
export type Subscription = Static<typeof SubscriptionSchema>;

export const SubscriptionConditionSet = new ConditionSet('Ready', [
  'AddedToChannel',
  'ChannelReady',
  'OIDCIdentityCreated',
  'ReferencesResolved',
]);

/** Applies upstream's Subscription defaults (subscriber, reply and dead-letter sink ref namespaces). Pure. */
export function setDefaultsSubscription(obj: Subscription, _ctx: DefaultsContext = {}): Subscription {
  const namespace = obj.metadata.namespace;
  const spec: SubscriptionSpec = { ...obj.spec };
  // The channel ref is left alone: a namespace on it means a cross-namespace link, which is flag-gated.
  if (spec.subscriber !== undefined) spec.subscriber = setDestinationDefaults(spec.subscriber, namespace);
  if (spec.reply !== undefined) spec.reply = setDestinationDefaults(spec.reply, namespace);
  if (spec.delivery !== undefined) spec.delivery = setDeliveryDefaults(spec.delivery, namespace);
  return { ...obj, spec };
}

function isEmptyDestination(d: Destination | undefined): boolean {
  return d === undefined || jsonEqual(d, {});
}

/** Validates a Subscription: channel, subscriber, reply, delivery, and on update spec.channel immutability. */
export function validateSubscription(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(SubscriptionSchema, obj);
  if (shape.length > 0) return shape;
  const s = obj as Subscription;
  const errs = validateObjectMeta(s.metadata);
  const spec = s.spec;
  const duck = { features: ctx.features };
  const ch = spec.channel;
  if (!ch.name && !ch.kind && !ch.apiVersion && !ch.namespace && !ch.group) {
    errs.push(new FieldError('spec.channel', 'missing field(s): the Subscription must reference a channel'));
  } else errs.push(...validateKReference(ch, 'spec.channel', duck));
  if (spec.channel.namespace && !isEnabled(ctx.features, 'cross-namespace-event-links')) {
    errs.push(
      new FieldError(
        'spec.channel.namespace',
        'must not set the field(s): only name, apiVersion and kind are supported when feature cross-namespace-event-links is disabled',
      ),
    );
  }
  if (isEmptyDestination(spec.subscriber)) {
    errs.push(
      new FieldError('spec.subscriber', 'missing field(s): the Subscription must reference a subscriber'),
    );
  } else errs.push(...validateDestination(spec.subscriber, 'spec.subscriber', duck));
  if (!isEmptyDestination(spec.reply))
    errs.push(...validateDestination(spec.reply as Destination, 'spec.reply', duck));
  if (spec.delivery !== undefined) errs.push(...validateDeliverySpec(spec.delivery, 'spec.delivery', duck));
  if (ctx.original !== undefined && ctx.original !== null) {
    const before = (ctx.original as Subscription).spec?.channel;
    if (!jsonEqual(before, spec.channel)) {
      errs.push(
        new FieldError(
          'spec.channel',
          `immutable field changed (-old +new): -${JSON.stringify(before)} +${JSON.stringify(spec.channel)}`,
        ),
      );
    }
  }
  return errs;
}

export const SubscriptionKind: KindDefinition = {
  group: MESSAGING_GROUP,
  versions: ['v1'],
  kind: 'Subscription',
  plural: 'subscriptions',
  singular: 'subscription',
  shortNames: ['sub'],
  categories: ['all', 'knative', 'messaging'],
  schema: SubscriptionSchema,
  setDefaults: setDefaultsSubscription,
  validate: validateSubscription,
  conditionSet: SubscriptionConditionSet,
  conditionTypes: SubscriptionConditionSet.types,
  printerColumns: [AGE_COLUMN, ...readyColumns()],
};
