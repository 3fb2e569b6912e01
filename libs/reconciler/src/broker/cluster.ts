import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import type { Broker, Condition, Resource, Trigger } from '@eventing/api';
import type { StoreKind, TriggerEntry } from '@eventing/contract';
import type { ConfigMapLookup } from './store';

/**
 * How a channel-based broker is laid out in a cluster, as upstream's MTChannelBasedBroker: each
 * Broker owns a channel `<broker>-kne-trigger` of its template's kind, which broker-ingress appends
 * to; each Trigger owns a Subscription on that channel whose subscriber is broker-filter (which
 * filters and delivers once) and whose reply is the broker's ingress. Retries and dead letters are
 * the Subscription's, so the channel dispatcher does them.
 */
export interface ClusterTopology {
  /** broker-filter's URL for one Trigger (`…/triggers/<namespace>/<trigger>/<uid>`). */
  filterUrl(namespace: string, trigger: string, uid: string): string;
}

/** The kind of channel each store is, for a broker's trigger channel. */
const CHANNEL_OF_STORE: Record<StoreKind, { apiVersion: string; kind: string }> = {
  memory: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' },
  kafka: { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel' },
  jetstream: { apiVersion: 'messaging.knative.dev/v1alpha1', kind: 'NatsJetStreamChannel' },
};

/** The name of a broker's trigger channel, as upstream names it. */
export function triggerChannelName(broker: string): string {
  return `${broker}-kne-trigger`;
}

/** A child name of at most 63 characters: `prefix + suffix`, or a hash-shortened form as upstream's ChildName. */
export function childName(prefix: string, suffix: string): string {
  const whole = prefix + suffix;
  if (whole.length <= 63) return whole;
  const digest = createHash('md5').update(whole).digest('hex');
  const head = whole.slice(0, 63 - digest.length);
  return (head.endsWith('-') ? head.slice(0, -1) : head) + digest;
}

/** The owner reference a controller sets on a child. */
export function ownerReference(owner: Resource): Record<string, unknown> {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The channel template a broker's `spec.config` names (InMemoryChannel when none). */
export function brokerChannelTemplate(
  broker: Broker,
  store: StoreKind,
  configMap: ConfigMapLookup,
): { apiVersion: string; kind: string; spec?: Record<string, unknown> } {
  const fallback = CHANNEL_OF_STORE[store];
  const config = broker.spec?.config;
  if (config?.kind !== 'ConfigMap' || !config.name) return fallback;
  const text = configMap(config.namespace ?? broker.metadata.namespace ?? 'default', config.name)?.[
    'channel-template-spec'
  ];
  if (text === undefined) return fallback;
  try {
    const t = (parse(text) ?? {}) as { apiVersion?: unknown; kind?: unknown; spec?: unknown };
    return {
      apiVersion: typeof t.apiVersion === 'string' ? t.apiVersion : fallback.apiVersion,
      kind: typeof t.kind === 'string' ? t.kind : fallback.kind,
      ...(t.spec !== null && typeof t.spec === 'object' ? { spec: t.spec as Record<string, unknown> } : {}),
    };
  } catch {
    return fallback;
  }
}

/** The trigger channel a broker owns. */
export function brokerTriggerChannel(
  broker: Broker,
  template: { apiVersion: string; kind: string; spec?: Record<string, unknown> },
): Resource {
  const name = broker.metadata.name ?? '';
  return {
    apiVersion: template.apiVersion,
    kind: template.kind,
    metadata: {
      name: triggerChannelName(name),
      namespace: broker.metadata.namespace ?? 'default',
      labels: { 'eventing.knative.dev/broker': name, 'eventing.knative.dev/brokerEverything': 'true' },
      ownerReferences: [ownerReference(broker)],
    },
    spec: { ...(template.spec ?? {}) },
  };
}

/** The Subscription a Trigger owns: the broker's channel → broker-filter, replies to the broker. */
export function triggerSubscription(
  trigger: Trigger,
  broker: Broker,
  channel: { apiVersion: string; kind: string },
  topology: ClusterTopology,
  brokerUrl: string,
): Resource {
  const namespace = trigger.metadata.namespace ?? 'default';
  const name = trigger.metadata.name ?? '';
  const uid = trigger.metadata.uid ?? '';
  const brokerName = broker.metadata.name ?? '';
  const delivery = trigger.spec.delivery ?? broker.spec?.delivery;
  const spec: Record<string, unknown> = {
    channel: { apiVersion: channel.apiVersion, kind: channel.kind, name: triggerChannelName(brokerName) },
    subscriber: { uri: topology.filterUrl(namespace, name, uid) },
    reply: { uri: brokerUrl },
  };
  if (delivery !== undefined) spec['delivery'] = delivery;
  return {
    apiVersion: 'messaging.knative.dev/v1',
    kind: 'Subscription',
    metadata: {
      name: childName(`${brokerName}-${name}-`, uid),
      namespace,
      labels: { 'eventing.knative.dev/broker': brokerName, 'eventing.knative.dev/trigger': name },
      ownerReferences: [ownerReference(trigger)],
    },
    spec,
  };
}

/**
 * The Trigger's contract entry as broker-filter runs it in a cluster: one attempt, no dead letter
 * (the Subscription's channel dispatcher retries and dead-letters the whole filter call).
 */
export function filterOnlyEntry(entry: TriggerEntry): TriggerEntry {
  const { deadLetterUri: _dls, ...rest } = entry;
  return { ...rest, policy: { ...entry.policy, retry: 0 } };
}

/** A child's Ready condition, or why it is not ready. */
export function childReady(
  child: Resource | undefined,
  what: string,
): { ok: true } | { ok: false; reason: string; message: string } {
  if (child === undefined) return { ok: false, reason: 'NotFound', message: `${what} does not exist yet` };
  const ready = ((child.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find(
    (c) => c.type === 'Ready',
  );
  if (ready?.status === 'True') return { ok: true };
  return {
    ok: false,
    reason: ready?.reason ?? 'NotReady',
    message: ready?.message ?? `${what} is not ready yet`,
  };
}
