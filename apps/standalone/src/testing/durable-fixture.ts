import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startQuietStandalone, type QuietStandalone } from './quiet-standalone';

// What the tests of standalone on real Kafka and NATS JetStream share: the same durable resources
// (both channel kinds, a Broker on each through its config's channel template, a Kafka-class
// Broker) in a folder, and standalone started on them with both stores' addresses.

/** Extra lines of a Broker's spec (e.g. its delivery), by Broker name; none by default. */
export type BrokerSpecLines = (broker: 'on-kafka' | 'on-jetstream' | 'kafka-class') => string;

/**
 * KafkaChannel `orders` (3 partitions), NatsJetStreamChannel `payments`, ConfigMaps
 * `knative-eventing/kafka-channel` and `jetstream-channel` naming each kind as a channel template,
 * and the Brokers `on-kafka`, `on-jetstream` (on those templates) and `kafka-class` (class Kafka).
 */
export function durableResourcesYaml(brokerSpec: BrokerSpecLines = () => ''): string {
  const spec = (broker: Parameters<BrokerSpecLines>[0]) => {
    const lines = brokerSpec(broker);
    return lines === '' ? '' : `  ${lines}\n`;
  };
  return `apiVersion: messaging.knative.dev/v1beta1
kind: KafkaChannel
metadata: { name: orders, namespace: default }
spec: { numPartitions: 3, replicationFactor: 1 }
---
apiVersion: messaging.knative.dev/v1alpha1
kind: NatsJetStreamChannel
metadata: { name: payments, namespace: default }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: kafka-channel, namespace: knative-eventing }
data:
  channel-template-spec: |
    apiVersion: messaging.knative.dev/v1beta1
    kind: KafkaChannel
    spec: { numPartitions: 2, replicationFactor: 1 }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: jetstream-channel, namespace: knative-eventing }
data:
  channel-template-spec: |
    apiVersion: messaging.knative.dev/v1alpha1
    kind: NatsJetStreamChannel
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: on-kafka, namespace: default }
spec:
  config: { apiVersion: v1, kind: ConfigMap, name: kafka-channel, namespace: knative-eventing }
${spec('on-kafka')}---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: on-jetstream, namespace: default }
spec:
  config: { apiVersion: v1, kind: ConfigMap, name: jetstream-channel, namespace: knative-eventing }
${spec('on-jetstream')}---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: kafka-class
  namespace: default
  annotations: { eventing.knative.dev/broker.class: Kafka }
${spec('kafka-class') === '' ? '' : `spec:\n${spec('kafka-class')}`}`;
}

/** A Subscription of channel `kind`/`channel` to `uri`, with `extra` lines in its spec. */
export const subscriptionYaml = (name: string, kind: string, channel: string, uri: string, extra = '') =>
  `---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: { name: ${name}, namespace: default }
spec:
  channel: { apiVersion: messaging.knative.dev/v1, kind: ${kind}, name: ${channel} }
  subscriber: { uri: "${uri}" }
${extra === '' ? '' : `  ${extra}\n`}`;

/** A Trigger of `broker` to `uri`, with `extra` lines in its spec (a filter, a delivery). */
export const triggerYaml = (name: string, broker: string, uri: string, extra = '') =>
  `---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name}, namespace: default }
spec:
  broker: ${broker}
  subscriber: { uri: "${uri}" }
${extra === '' ? '' : `  ${extra}\n`}`;

/** Standalone on a new folder holding `yaml`, with both stores; `close()` stops it and removes the folder. */
export async function startDurableStandalone(
  yaml: string,
  stores: { kafkaBootstrap: string; natsUrl: string },
): Promise<QuietStandalone & { close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'durable-'));
  writeFileSync(join(dir, 'resources.yaml'), yaml);
  try {
    const { app, lines } = await startQuietStandalone(dir, [
      ...['--kafka-bootstrap', stores.kafkaBootstrap],
      ...['--nats-url', stores.natsUrl],
    ]);
    return {
      app,
      lines,
      close: async () => {
        await app.service.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
