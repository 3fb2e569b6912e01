import type { Condition, ConditionSet } from '@eventing/api';
import type { ApplyReport, StoreKind } from '@eventing/contract';

/** What the data plane says about one resource it was asked to serve. */
export type Observation =
  { status: 'True' } | { status: 'False' | 'Unknown'; reason: string; message: string };

const PENDING: Observation = {
  status: 'Unknown',
  reason: 'DataPlanePending',
  message: 'waiting for the data plane to apply the contract',
};

/**
 * Reads a resource's state out of the data plane's last apply report: served, failed (with why),
 * or not applied yet. Conditions that depend on the data plane are derived from this, never assumed.
 */
export function observe(report: ApplyReport | undefined, uid: string): Observation {
  if (report === undefined) return PENDING;
  const failed = report.failed.get(uid);
  if (failed !== undefined) return { status: 'False', reason: 'DataPlaneFailed', message: failed };
  const whole = report.failed.get('');
  if (whole !== undefined && !report.served.has(uid))
    return { status: 'False', reason: 'DataPlaneFailed', message: whole };
  return report.served.has(uid) ? { status: 'True' } : PENDING;
}

/** Sets one condition from an observation. */
export function markObserved(
  set: ConditionSet,
  conds: readonly Condition[],
  type: string,
  observed: Observation,
): Condition[] {
  if (observed.status === 'True') return set.markTrue(conds, type);
  if (observed.status === 'False') return set.markFalse(conds, type, observed.reason, observed.message);
  return set.markUnknown(conds, type, observed.reason, observed.message);
}

/** The classes and channel kinds a data plane serves; anything else is reported, not assumed. */
export interface Capabilities {
  /** Broker classes (the `eventing.knative.dev/broker.class` annotation). */
  brokerClasses: readonly string[];
  /** Channel kinds served, directly or as a Channel's `channelTemplate`. */
  channelKinds: readonly string[];
}

/** Which store holds each channel kind's events. */
export const STORE_OF_CHANNEL_KIND: Readonly<Record<string, StoreKind>> = {
  InMemoryChannel: 'memory',
  KafkaChannel: 'kafka',
  NatsJetStreamChannel: 'jetstream',
};

/** The broker class upstream's Kafka broker registers: a topic per broker, no channel hop. */
export const KAFKA_BROKER_CLASS = 'Kafka';

/** What a data plane with these stores serves: channel-based brokers over each, and the Kafka class. */
export function capabilitiesOf(stores: readonly StoreKind[]): Capabilities {
  const channelKinds = Object.entries(STORE_OF_CHANNEL_KIND)
    .filter(([, store]) => stores.includes(store))
    .map(([kind]) => kind);
  const brokerClasses = ['MTChannelBasedBroker', ...(stores.includes('kafka') ? [KAFKA_BROKER_CLASS] : [])];
  return { brokerClasses, channelKinds };
}

/** What standalone mode serves by default: channel-based brokers over the in-memory channel. */
export const MEMORY_CAPABILITIES: Capabilities = capabilitiesOf(['memory']);
