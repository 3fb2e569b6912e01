import { isDeepStrictEqual } from 'node:util';
import {
  kindFor,
  type ChannelTemplateSpec,
  type Condition,
  type DefaultsContext,
  type DeliverySpec,
  type Destination,
  type FlowObjectReference,
  type Resource,
  type Subscription,
} from '@eventing/api';
import type { AddressResolver } from '../resolver/address-resolver';
import { groupOf, type ResourceStore } from '../store/store';

/** What a flow reconciler reads: the store's cache (synchronous) and the address resolver. */
export interface FlowContext {
  store: Pick<ResourceStore, 'get' | 'list'>;
  resolver?: AddressResolver;
  /** `default-ch-webhook` and friends, for defaulting the children as the webhook would. */
  defaults?: DefaultsContext;
}

/** A flow's status and the children (channels, then subscriptions) it wants to exist. */
export interface FlowResult<S> {
  status: S;
  children: Resource[];
}

export const MESSAGING_V1 = 'messaging.knative.dev/v1';

/** Kinds a flow's children can have: every channel kind and Subscription. Owned ones not wanted are deleted. */
export const FLOW_CHILD_KINDS: readonly { group: string; kind: string }[] = [
  { group: 'messaging.knative.dev', kind: 'InMemoryChannel' },
  { group: 'messaging.knative.dev', kind: 'KafkaChannel' },
  { group: 'messaging.knative.dev', kind: 'NatsJetStreamChannel' },
  { group: 'messaging.knative.dev', kind: 'Channel' },
  { group: 'messaging.knative.dev', kind: 'Subscription' },
];

/** The owner reference a flow puts on every child: it controls it and blocks its deletion. */
export function controllerRef(owner: Resource): Record<string, unknown> {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Applies the child kind's defaults, so the child is stored as the webhook would store it. */
function defaulted(child: Resource, ctx: FlowContext): Resource {
  const kind = kindFor(child.apiVersion, child.kind);
  return kind === undefined ? child : (kind.setDefaults(child, ctx.defaults) as Resource);
}

/** A channel of the template's kind, named `name`, with the template's spec. */
export function channelChild(
  owner: Resource,
  template: ChannelTemplateSpec,
  name: string,
  ctx: FlowContext,
): Resource {
  const channel: Resource = {
    apiVersion: template.apiVersion ?? '',
    kind: template.kind ?? '',
    metadata: { name, namespace: owner.metadata.namespace, ownerReferences: [controllerRef(owner)] },
  };
  if (template.spec !== undefined) channel.spec = structuredClone(template.spec);
  return defaulted(channel, ctx);
}

/** A reference to a channel of the template's kind, with a namespace only when given (as upstream). */
export function channelRef(
  template: ChannelTemplateSpec,
  name: string,
  namespace?: string,
): NonNullable<Destination['ref']> {
  const ref: NonNullable<Destination['ref']> = {
    apiVersion: template.apiVersion ?? '',
    kind: template.kind ?? '',
    name,
  };
  if (namespace !== undefined) ref.namespace = namespace;
  return ref;
}

/** A Destination with only its own fields (a step carries a delivery too). */
export function destinationOf(d: Destination): Destination {
  const out: Destination = {};
  if (d.ref !== undefined) out.ref = structuredClone(d.ref);
  if (d.uri !== undefined) out.uri = d.uri;
  if (d.CACerts !== undefined) out.CACerts = d.CACerts;
  if (d.audience !== undefined) out.audience = d.audience;
  return out;
}

/** A Subscription child of `owner` on a channel of the template's kind. */
export function subscriptionChild(
  owner: Resource,
  name: string,
  spec: {
    channel: NonNullable<Destination['ref']>;
    subscriber: Destination;
    reply?: Destination;
    delivery?: DeliverySpec;
  },
  ctx: FlowContext,
): Resource {
  const sub: Subscription = {
    apiVersion: MESSAGING_V1,
    kind: 'Subscription',
    metadata: { name, namespace: owner.metadata.namespace, ownerReferences: [controllerRef(owner)] },
    spec: { channel: spec.channel, subscriber: spec.subscriber },
  };
  if (spec.reply !== undefined) sub.spec.reply = spec.reply;
  if (spec.delivery !== undefined) sub.spec.delivery = structuredClone(spec.delivery);
  return defaulted(sub, ctx);
}

/** The stored copy of a child, or undefined when it is not (yet) in the store. */
export function storedChild(child: Resource, ctx: FlowContext): Resource | undefined {
  return ctx.store.get(
    groupOf(child.apiVersion),
    child.kind,
    child.metadata.namespace ?? '',
    child.metadata.name ?? '',
  );
}

/** The ObjectReference of a child as a flow's status names it. */
export function objectRef(child: Resource): FlowObjectReference {
  return {
    apiVersion: child.apiVersion,
    kind: child.kind,
    name: child.metadata.name ?? '',
    namespace: child.metadata.namespace ?? '',
  };
}

type ChildStatus = {
  conditions?: Condition[];
  address?: { name?: string; url?: string; CACerts?: string; audience?: string };
  auth?: { serviceAccountName?: string };
};

/** The status of a stored child (undefined when it has none yet). */
export function statusOf(child: Resource | undefined): ChildStatus | undefined {
  return child?.status as ChildStatus | undefined;
}

/** The Ready condition of a stored child, if it has one. */
export function readyOf(child: Resource | undefined): Condition | undefined {
  return statusOf(child)?.conditions?.find((c) => c.type === 'Ready');
}

/** What `makeBeforeBreak` decided for one Subscription. */
export interface Gated {
  /** The child to return: as wanted, the stored one kept as it is, or none yet (not created). */
  child?: Resource;
  /** Set when the wanted change waits: says for what. */
  waiting?: string;
}

/**
 * Make before break for a Subscription that sends into a channel of the flow (its reply, or for a
 * Parallel branch without a filter its subscriber): it is created or changed only once `downstream`,
 * the Subscription that reads that channel, is Ready. Until then the stored copy stays as it is, or
 * it is not created yet (unless the channel it reads does not exist either: a new flow carries
 * nothing yet, so it is created whole). A durable channel's new consumer starts at the end of the log, so events sent
 * into the channel before it runs would never be read: this keeps an edit of a flow (a step inserted,
 * a branch added) from losing events that were accepted. Upstream switches everything at once.
 */
export function makeBeforeBreak(wanted: Resource, downstream: Resource, ctx: FlowContext): Gated {
  if (readyOf(storedChild(downstream, ctx))?.status === 'True') return { child: wanted };
  const stored = storedChild(wanted, ctx);
  if (stored !== undefined && isDeepStrictEqual(stored.spec, wanted.spec)) return { child: wanted };
  // A new Subscription on a channel that does not exist yet (a new flow) carries nothing yet.
  if (stored === undefined && !channelExists((wanted as Subscription).spec.channel, wanted, ctx))
    return { child: wanted };
  const waiting = `${wanted.kind} ${wanted.metadata.name ?? ''} waits for ${downstream.kind} ${downstream.metadata.name ?? ''} to be ready before it sends into its channel`;
  if (stored === undefined) return { waiting };
  return { child: { ...wanted, spec: structuredClone(stored.spec) }, waiting };
}

function channelExists(ref: Subscription['spec']['channel'], sub: Resource, ctx: FlowContext): boolean {
  const namespace = ref.namespace ?? sub.metadata.namespace ?? '';
  return ctx.store.get(groupOf(ref.apiVersion ?? ''), ref.kind, namespace, ref.name) !== undefined;
}

/** What a flow reports for a child that has no Ready condition yet (created, or not yet stored). */
export function noReady(what: 'Channel' | 'Subscription'): Condition {
  return {
    type: 'Ready',
    status: 'Unknown',
    reason: 'NoReady',
    message: `${what} does not have Ready condition`,
  };
}

/** Says which child is not ready and why (its Ready reason and message), for a flow's condition message. */
export function notReadyDetail(
  wanted: Resource,
  stored: Resource | undefined,
  ready: Condition | undefined,
): string {
  const what = `${wanted.kind} ${wanted.metadata.name ?? ''}`;
  if (stored === undefined) return `${what} does not exist yet`;
  if (ready === undefined) return `${what} has no Ready condition yet`;
  const why = [ready.reason, ready.message].filter((s) => s !== undefined && s !== '').join(': ');
  return why === '' ? `${what} is not ready` : `${what} is not ready (${why})`;
}

/** The service accounts of the Subscriptions that have one (OIDC), or undefined when none does. */
export function authOf(
  subscriptions: readonly (Resource | undefined)[],
): { serviceAccountNames: string[] } | undefined {
  const names: string[] = [];
  for (const s of subscriptions) {
    const name = statusOf(s)?.auth?.serviceAccountName;
    if (name !== undefined) names.push(name);
  }
  return names.length === 0 ? undefined : { serviceAccountNames: names };
}

/** Upstream's EventPoliciesReady while OIDC authentication is off: True, saying why. */
export const EVENT_POLICIES_OIDC_DISABLED = {
  reason: 'OIDCDisabled',
  message: 'Feature "authentication-oidc" must be enabled to support Authorization',
} as const;
