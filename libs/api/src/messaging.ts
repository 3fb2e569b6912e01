import { Type, type Static } from '@sinclair/typebox';
import { StatusBaseProperties } from './conditions';
import {
  AddressableStatusProperties,
  AuthStatusSchema,
  DeliverySpecSchema,
  DeliveryStatusProperties,
  PoliciesSchema,
  setDeliveryDefaults,
  validateDeliverySpec,
  type DuckContext,
} from './duck';
import { described } from './describe';
import { jsonEqual } from './equality';
import { FieldError, indexPath, joinPath } from './errors';
import type { ObjectMeta } from './meta';
import { StringEnum } from './string-enum';

/** Annotation naming the Subscribable duck version a channel implements; defaulted to `v1`. */
export const SUBSCRIBABLE_ANNOTATION = 'messaging.knative.dev/subscribable';
export const SUBSCRIBABLE_DUCK_VERSION = 'v1';
export const MESSAGING_GROUP = 'messaging.knative.dev';
/** Which component handles a channel: `cluster` (the shared dispatcher) or `namespace`. */
export const SCOPE_ANNOTATION = 'eventing.knative.dev/scope';
/** The only user allowed to change a channel's `spec.subscribers` through an admission update. */
export const EVENTING_CONTROLLER_USER = 'system:serviceaccount:knative-eventing:eventing-controller';

/** Which channel kind backs a Channel (and later Sequence/Parallel): apiVersion, kind and an opaque spec. */
export const ChannelTemplateSpecSchema = Type.Object(
  {
    apiVersion: Type.Optional(
      Type.String({
        description: 'API version of the channel kind to create, e.g. messaging.knative.dev/v1.',
      }),
    ),
    kind: Type.Optional(
      Type.String({
        description:
          'The channel kind to create, e.g. InMemoryChannel, KafkaChannel or NatsJetStreamChannel.',
      }),
    ),
    // Passed verbatim to the backing channel's spec.
    spec: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description:
            'The spec of the channel to create, passed as it is (for a KafkaChannel, numPartitions and replicationFactor).',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type ChannelTemplateSpec = Static<typeof ChannelTemplateSpecSchema>;

/** One element of a channel's `spec.subscribers[]`, written by the Subscription controller (merge key `uid`). */
export const SubscriberSpecSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'Name of the Subscription this entry comes from.' })),
    uid: Type.Optional(
      Type.String({
        description:
          'UID of the Subscription this entry comes from; it identifies the entry (the list merges on it).',
      }),
    ),
    generation: Type.Optional(
      Type.Integer({
        format: 'int64',
        description: 'The metadata.generation of the Subscription this entry was written from.',
      }),
    ),
    subscriberUri: Type.Optional(
      Type.String({
        description:
          'URL each event of the channel is sent to. An entry needs subscriberUri, replyUri or both.',
      }),
    ),
    subscriberCACerts: Type.Optional(
      Type.String({ description: 'PEM-encoded CA certificates trusted when sending to subscriberUri.' }),
    ),
    subscriberAudience: Type.Optional(
      Type.String({ description: 'OIDC audience of the tokens sent to subscriberUri.' }),
    ),
    replyUri: Type.Optional(
      Type.String({
        description:
          'URL a reply of the subscriber is sent to; without subscriberUri, every event goes straight here.',
      }),
    ),
    replyCACerts: Type.Optional(
      Type.String({ description: 'PEM-encoded CA certificates trusted when sending to replyUri.' }),
    ),
    replyAudience: Type.Optional(
      Type.String({ description: 'OIDC audience of the tokens sent to replyUri.' }),
    ),
    delivery: Type.Optional(
      described(
        DeliverySpecSchema,
        "Retries, timeout and dead-letter sink for this subscriber; replaces the channel's spec.delivery as a whole.",
      ),
    ),
    auth: Type.Optional(AuthStatusSchema),
  },
  { additionalProperties: false },
);
export type SubscriberSpec = Static<typeof SubscriberSpecSchema>;

/** One element of a channel's `status.subscribers[]`: whether its data plane has the subscriber. */
export const SubscriberStatusSchema = Type.Object(
  {
    uid: Type.Optional(
      Type.String({ description: 'UID of the Subscription, as in the matching spec.subscribers entry.' }),
    ),
    observedGeneration: Type.Optional(
      Type.Integer({
        format: 'int64',
        description: 'The Subscription generation the data plane has taken on.',
      }),
    ),
    ready: Type.Optional(
      StringEnum(['True', 'False', 'Unknown'], {
        description:
          'Whether the data plane delivers to this subscriber: True, False, or Unknown while it is being set up.',
      }),
    ),
    message: Type.Optional(Type.String({ description: 'Why the subscriber is not ready, when it is not.' })),
    auth: Type.Optional(AuthStatusSchema),
  },
  { additionalProperties: false },
);
export type SubscriberStatus = Static<typeof SubscriberStatusSchema>;

/** The Channelable duck spec fields: subscribers and the channel-wide delivery. */
export const ChannelableSpecProperties = {
  subscribers: Type.Optional(
    Type.Array(SubscriberSpecSchema, {
      description:
        'Where the channel sends each event: one entry per Subscription, written by the Subscription controller. Do not edit it by hand; create a Subscription instead.',
    }),
  ),
  delivery: Type.Optional(
    described(
      DeliverySpecSchema,
      'Retries, timeout and dead-letter sink for every subscriber of this channel that sets no delivery of its own.',
    ),
  ),
};

/** The Channelable duck status fields: address(es), subscriber statuses, dead-letter sink, policies. */
export const ChannelableStatusProperties = {
  ...StatusBaseProperties,
  ...AddressableStatusProperties,
  subscribers: Type.Optional(
    Type.Array(SubscriberStatusSchema, {
      description: 'For each entry of spec.subscribers, whether the data plane delivers to it.',
    }),
  ),
  ...DeliveryStatusProperties,
  policies: Type.Optional(PoliciesSchema),
};

/** The Channelable duck status on its own (what Channel mirrors from its backing channel). */
export const ChannelableStatusSchema = Type.Object(ChannelableStatusProperties, {
  additionalProperties: false,
});
export type ChannelableStatus = Static<typeof ChannelableStatusSchema>;

/** Adds the subscribable annotation (`v1`) when absent; returns the same metadata when present. */
export function withSubscribableAnnotation(meta: ObjectMeta): ObjectMeta {
  const annotations = meta.annotations ?? {};
  if (SUBSCRIBABLE_ANNOTATION in annotations) return meta;
  return { ...meta, annotations: { ...annotations, [SUBSCRIBABLE_ANNOTATION]: SUBSCRIBABLE_DUCK_VERSION } };
}

/** Defaults the dead-letter sink ref namespace of a channel's delivery and of each subscriber's delivery. */
export function setChannelableSpecDefaults<
  T extends { subscribers?: SubscriberSpec[]; delivery?: Static<typeof DeliverySpecSchema> },
>(spec: T, namespace: string | undefined): T {
  const out = { ...spec };
  if (out.delivery !== undefined) out.delivery = setDeliveryDefaults(out.delivery, namespace);
  if (out.subscribers !== undefined) {
    out.subscribers = out.subscribers.map((s) =>
      s.delivery === undefined ? s : { ...s, delivery: setDeliveryDefaults(s.delivery, namespace) },
    );
  }
  return out;
}

/** Validates `spec.subscribers[]` of a channel: each needs subscriberUri or replyUri; delivery valid. */
export function validateSubscribers(
  subscribers: readonly SubscriberSpec[],
  path: string,
  ctx: DuckContext = {},
): FieldError[] {
  const errs: FieldError[] = [];
  subscribers.forEach((s, i) => {
    const at = indexPath(path, i);
    if (!s.subscriberUri && !s.replyUri)
      errs.push(new FieldError(at, 'expected at least one, got none: subscriberUri, replyUri'));
    if (s.delivery !== undefined)
      errs.push(...validateDeliverySpec(s.delivery, joinPath(at, 'delivery'), ctx));
  });
  return errs;
}

const SCOPE_PATH = indexPath('metadata.annotations', SCOPE_ANNOTATION);

/** Validates the `eventing.knative.dev/scope` annotation of a channel: `cluster` or `namespace` when present. */
export function validateScopeAnnotation(meta: ObjectMeta): FieldError[] {
  const scope = meta.annotations?.[SCOPE_ANNOTATION];
  if (scope === undefined || scope === 'cluster' || scope === 'namespace') return [];
  return [new FieldError(SCOPE_PATH, `invalid value: ${scope}: expected either 'cluster' or 'namespace'`)];
}

/**
 * On an admission update by `user`, refuses a change of `spec.subscribers` unless the user is the
 * eventing controller (which writes them for Subscriptions). Without a user there is nobody to check.
 */
export function validateSubscribersChange(
  before: readonly SubscriberSpec[] | undefined,
  after: readonly SubscriberSpec[] | undefined,
  user: string | undefined,
): FieldError[] {
  if (user === undefined || user === EVENTING_CONTROLLER_USER) return [];
  if (jsonEqual(before ?? [], after ?? [])) return [];
  return [
    new FieldError(
      'spec.subscribers',
      `changed by user ${user} which is not the ${EVENTING_CONTROLLER_USER} service account`,
    ),
  ];
}
