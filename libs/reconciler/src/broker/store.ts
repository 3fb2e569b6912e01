import { parse } from 'yaml';
import { BROKER_CLASS_ANNOTATION, parseIsoDuration, type Broker } from '@eventing/api';
import type { StoreKind, StoreSettings } from '@eventing/contract';
import { KAFKA_BROKER_CLASS, STORE_OF_CHANNEL_KIND, type Capabilities } from '../observation/observation';

/** Looks up a ConfigMap's string data by namespace and name. */
export type ConfigMapLookup = (namespace: string, name: string) => Record<string, string> | undefined;

/** Where a broker's or channel's events are stored, or why they cannot be. */
export type StoreChoice =
  { ok: true; store: StoreKind; settings?: StoreSettings } | { ok: false; reason: string; message: string };

/**
 * The topic of a `Kafka`-class Broker: upstream's default `brokers.topic.template`
 * (`knative-broker-{{ .Namespace }}-{{ .Name }}`), so the topic of a Broker moved from upstream is found.
 */
export function kafkaBrokerTopic(namespace: string, name: string): string {
  return `knative-broker-${namespace}-${name}`;
}

/**
 * The consumer group a `Kafka`-class Broker's Trigger reads the broker's topic in: upstream's default
 * `triggers.consumergroup.template` (`knative-trigger-{{ .Namespace }}-{{ .Name }}`), so a Trigger moved
 * from upstream resumes at its group's committed offsets.
 */
export function kafkaTriggerConsumerGroup(namespace: string, name: string): string {
  return `knative-trigger-${namespace}-${name}`;
}

/** The ConfigMap upstream ships as the default broker config: the channel template of brokers. */
const SHIPPED_BROKER_CONFIG = 'config-br-default-channel';

/** Topic or stream settings from a channel's spec (KafkaChannel, NatsJetStreamChannel). */
export function channelStoreSettings(
  kind: string,
  spec: Record<string, unknown> | undefined,
): StoreSettings | undefined {
  if (spec === undefined) return undefined;
  if (kind === 'KafkaChannel') {
    const settings: StoreSettings = {};
    if (typeof spec['numPartitions'] === 'number') settings.numPartitions = spec['numPartitions'];
    if (typeof spec['replicationFactor'] === 'number') settings.replicationFactor = spec['replicationFactor'];
    const retention =
      typeof spec['retentionDuration'] === 'string' ? parseIsoDuration(spec['retentionDuration']) : undefined;
    if (retention !== undefined) settings.retentionMs = retention;
    return settings;
  }
  if (kind === 'NatsJetStreamChannel' && typeof spec['stream'] === 'object' && spec['stream'] !== null)
    return { stream: spec['stream'] as Record<string, unknown> };
  return undefined;
}

/** What to do to serve a durable channel kind in standalone mode. */
const HINTS: Record<string, string> = {
  KafkaChannel: '; give Kafka with --kafka-bootstrap or a kafka-channel-config ConfigMap',
  NatsJetStreamChannel: '; give NATS with --nats-url or a config-nats ConfigMap',
};

/** The store of a channel kind, or why this process cannot serve it. */
export function storeOfChannelKind(
  apiVersion: string,
  kind: string,
  spec: Record<string, unknown> | undefined,
  capabilities: Capabilities,
): StoreChoice {
  const store = STORE_OF_CHANNEL_KIND[kind];
  if (store === undefined || !capabilities.channelKinds.includes(kind))
    return {
      ok: false,
      reason: 'ChannelKindNotSupported',
      message: `channel kind ${apiVersion}/${kind} is not served here (served: ${capabilities.channelKinds.join(', ')})${HINTS[kind] ?? ''}`,
    };
  const settings = channelStoreSettings(kind, spec);
  return settings === undefined ? { ok: true, store } : { ok: true, store, settings };
}

/**
 * Where a Broker's events live: for the channel-based class, in the store of the channel template its
 * `spec.config` ConfigMap names (`channel-template-spec`, as upstream's config-br-default-channel);
 * for the Kafka class, in a Kafka topic of its own with the config's `default.topic.*` settings.
 */
export function brokerStore(
  broker: Broker,
  capabilities: Capabilities,
  configMap: ConfigMapLookup,
): StoreChoice {
  const brokerClass = broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION] ?? '';
  const namespace = broker.metadata.namespace ?? 'default';
  const config = broker.spec?.config;
  const data =
    config?.kind === 'ConfigMap' && config.name
      ? configMap(config.namespace ?? namespace, config.name)
      : undefined;
  if (brokerClass === KAFKA_BROKER_CLASS) {
    const settings: StoreSettings = { topic: kafkaBrokerTopic(namespace, broker.metadata.name ?? '') };
    const partitions = Number(data?.['default.topic.partitions']);
    const replication = Number(data?.['default.topic.replication.factor']);
    const retention = Number(data?.['default.topic.retention.ms']);
    if (Number.isInteger(partitions) && partitions > 0) settings.numPartitions = partitions;
    if (Number.isInteger(replication) && replication > 0) settings.replicationFactor = replication;
    if (Number.isInteger(retention) && retention > 0) settings.retentionMs = retention;
    return { ok: true, store: 'kafka', settings };
  }
  if (config === undefined || config.kind !== 'ConfigMap') return { ok: true, store: 'memory' };
  if (data === undefined) {
    if (config.name === SHIPPED_BROKER_CONFIG) return { ok: true, store: 'memory' };
    return {
      ok: false,
      reason: 'ChannelTemplateFailed',
      message: `ConfigMap ${config.namespace ?? namespace}/${config.name} named by spec.config was not found: add it to the folder`,
    };
  }
  const text = data['channel-template-spec'];
  if (text === undefined) return { ok: true, store: 'memory' };
  let template: { apiVersion?: unknown; kind?: unknown; spec?: unknown };
  try {
    template = (parse(text) ?? {}) as typeof template;
  } catch (err) {
    return {
      ok: false,
      reason: 'ChannelTemplateFailed',
      message: `channel-template-spec of ConfigMap ${config.name} is not YAML: ${(err as Error).message}`,
    };
  }
  if (typeof template.kind !== 'string')
    return {
      ok: false,
      reason: 'ChannelTemplateFailed',
      message: `channel-template-spec of ConfigMap ${config.name} names no kind`,
    };
  return storeOfChannelKind(
    String(template.apiVersion ?? ''),
    template.kind,
    typeof template.spec === 'object' && template.spec !== null
      ? (template.spec as Record<string, unknown>)
      : undefined,
    capabilities,
  );
}
