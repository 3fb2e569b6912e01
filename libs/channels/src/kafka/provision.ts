import { Admin, findErrorBy } from '@platformatic/kafka';
import type { ChannelRef } from '../backend';
import type { StoreProvisioner } from '../provisioner';
import { channelTopicName, describeKafkaError, type KafkaTopicSettings } from './kafka-backend';

export interface KafkaProvisionerOptions {
  /** `host:port` of some brokers of the cluster. */
  bootstrap: string[];
  /** Client id of the admin client. Default `knative-eventing-controller`. */
  clientId?: string;
  /** Defaults of topics created without settings of their own (upstream's KafkaChannel defaults). */
  topic?: KafkaTopicSettings;
  /** How long `ensure` waits for every partition of a new topic to have a leader. Default 15 000 ms. */
  leaderTimeoutMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Kafka topics of channels and brokers, created and deleted by the control plane with an admin client:
 * a channel's topic is upstream's `knative-messaging-kafka.<namespace>.<name>` unless `settings.topic`
 * names it (a `Kafka`-class Broker's `knative-broker-<namespace>-<name>`). An existing topic is kept as
 * it is, whatever its partitions, replication or retention (as upstream keeps it).
 */
export class KafkaTopicProvisioner implements StoreProvisioner {
  private readonly admin: Admin;

  constructor(private readonly options: KafkaProvisionerOptions) {
    if (options.bootstrap.length === 0) throw new RangeError('bootstrap must name at least one broker');
    this.admin = new Admin({
      clientId: options.clientId ?? 'knative-eventing-controller',
      bootstrapBrokers: options.bootstrap,
      retries: 2,
      retryDelay: 250,
    });
  }

  /** The topic of a store: `settings.topic`, or the channel topic of upstream's template. */
  topicOf(store: ChannelRef, settings?: Record<string, unknown>): string {
    const topic = (settings as KafkaTopicSettings | undefined)?.topic;
    return typeof topic === 'string' && topic !== '' ? topic : channelTopicName(store);
  }

  async ensure(store: ChannelRef, settings?: Record<string, unknown>): Promise<void> {
    const s = (settings ?? {}) as KafkaTopicSettings;
    const d = this.options.topic ?? {};
    const topic = this.topicOf(store, settings);
    const partitions = s.numPartitions ?? d.numPartitions ?? 1;
    const replicas = s.replicationFactor ?? d.replicationFactor ?? 1;
    const retentionMs = s.retentionMs ?? d.retentionMs ?? 7 * DAY_MS;
    try {
      await this.admin.createTopics({
        topics: [topic],
        partitions,
        replicas,
        configs: [{ name: 'retention.ms', value: String(retentionMs) }],
      });
    } catch (err) {
      if (!findErrorBy(err as Error, 'apiId', 'TOPIC_ALREADY_EXISTS'))
        throw new Error(`cannot create topic ${topic}: ${describeKafkaError(err)}`, { cause: err });
    }
    await this.waitForLeaders(topic);
  }

  async remove(store: ChannelRef, settings?: Record<string, unknown>): Promise<void> {
    const topic = this.topicOf(store, settings);
    try {
      await this.admin.deleteTopics({ topics: [topic] });
    } catch (err) {
      if (!findErrorBy(err as Error, 'apiId', 'UNKNOWN_TOPIC_OR_PARTITION'))
        throw new Error(`cannot delete topic ${topic}: ${describeKafkaError(err)}`, { cause: err });
    }
  }

  /** Topics that exist, for checks and tools. */
  async topics(): Promise<string[]> {
    return this.admin.listTopics({ includeInternals: false });
  }

  async close(): Promise<void> {
    await this.admin.close();
  }

  private async waitForLeaders(topic: string): Promise<void> {
    const timeoutMs = this.options.leaderTimeoutMs ?? 15_000;
    const end = Date.now() + timeoutMs;
    for (;;) {
      let reason = 'partitions without a leader';
      try {
        const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true });
        const partitions = metadata.topics.get(topic)?.partitions ?? [];
        if (partitions.length > 0 && partitions.every((p) => p !== undefined && p.leader >= 0)) return;
      } catch (err) {
        reason = describeKafkaError(err);
      }
      if (Date.now() > end) throw new Error(`topic ${topic} has no leader after ${timeoutMs} ms: ${reason}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
