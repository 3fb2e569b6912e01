/**
 * Which store the suite's brokers and channels use: `CONFORMANCE_STORE=memory` (default), `kafka`,
 * `jetstream`, or `kafka-class` (Brokers of the `Kafka` class, channels on Kafka). One suite, every
 * store: the same tests run against each.
 */
export type ConformanceStore = 'memory' | 'kafka' | 'jetstream' | 'kafka-class';

export const STORE: ConformanceStore = parseStore(process.env['CONFORMANCE_STORE']);

function parseStore(value: string | undefined): ConformanceStore {
  if (value === undefined || value === '' || value === 'memory') return 'memory';
  if (value === 'kafka' || value === 'jetstream' || value === 'kafka-class') return value;
  throw new Error(`CONFORMANCE_STORE=${value}: expected memory, kafka, jetstream or kafka-class`);
}

/** The channel kind the suite's channels have on each store. */
export const CHANNEL_TYPE: Record<ConformanceStore, { apiVersion: string; kind: string }> = {
  memory: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' },
  kafka: { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel' },
  jetstream: { apiVersion: 'messaging.knative.dev/v1alpha1', kind: 'NatsJetStreamChannel' },
  'kafka-class': { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel' },
};

/** Whether the suite's Brokers are of upstream's `Kafka` class (a topic per broker, no channel). */
export const KAFKA_CLASS = STORE === 'kafka-class';

/** The real server a store needs. */
export function serverOf(store: ConformanceStore): 'kafka' | 'nats' | undefined {
  return store === 'kafka' || store === 'kafka-class' ? 'kafka' : store === 'jetstream' ? 'nats' : undefined;
}

/** The ConfigMap (in `knative-eventing`) whose channel template puts the suite's brokers on the store. */
export const BROKER_CONFIG = 'conformance-broker-channel';

/** That ConfigMap as YAML, or undefined on memory (the default channel template). */
export function brokerConfigYaml(store: ConformanceStore): string | undefined {
  if (store === 'memory' || store === 'kafka-class') return undefined;
  const { apiVersion, kind } = CHANNEL_TYPE[store];
  return `apiVersion: v1
kind: ConfigMap
metadata: { name: ${BROKER_CONFIG}, namespace: knative-eventing }
data:
  channel-template-spec: |
    apiVersion: ${apiVersion}
    kind: ${kind}
`;
}
