import type { CloudEvent } from '@eventing/cloudevents';
import {
  Admin,
  ConnectionPool,
  Consumer as KafkaConsumer,
  ListOffsetTimestamps,
  Producer,
  compatibilityPartitioner,
  findErrorBy,
} from '@platformatic/kafka';
import type {
  AppendOptions,
  AppendResult,
  ChannelBackend,
  ChannelRef,
  Consumer,
  MessageHandler,
  SubscriptionOptions,
} from '../backend';
import { DISCARD_REASONS } from '../memory/memory-backend';
import { KafkaAppender } from './kafka-appender';
import { type ProducerRecord, encodeRecord } from './kafka-records';
import { KafkaSubscription, type MalformedKafkaRecord, type SubscriptionHooks } from './kafka-subscription';
import { LogEnds } from './log-ends';

export type { MalformedKafkaRecord } from './kafka-subscription';

/** Upstream's KafkaChannel topic: `channels.topic.template` in config-kafka-features. */
export function channelTopicName(channel: ChannelRef): string {
  return `knative-messaging-kafka.${channel.namespace}.${channel.name}`;
}

/** Upstream's KafkaChannel consumer group of one subscription (`kafka.<namespace>.<channel>.<uid>`). */
export function subscriptionGroupId(channel: ChannelRef, subscriptionId: string): string {
  return `kafka.${channel.namespace}.${channel.name}.${subscriptionId}`;
}

/** How a channel's topic is created (upstream's KafkaChannel spec defaults). */
export interface KafkaTopicSettings {
  /** Default 1. */
  numPartitions?: number;
  /** Default 1. */
  replicationFactor?: number;
  /** `retention.ms`; default 7 days (upstream's `PT168H`). */
  retentionMs?: number;
  /**
   * The topic, when whoever provisions the channel names it (a `Kafka`-class Broker's
   * `knative-broker-<namespace>-<name>`); default `topicName(channel)`. Remembered for the channel's
   * appends, consumers and deletion in this backend.
   */
  topic?: string;
}

/** Consumer settings, shared by every subscription. */
export interface KafkaConsumerSettings {
  /**
   * Messages a subscription holds beyond its maxInFlight (fetched, waiting for a handler) before it
   * stops fetching. Default max(maxInFlight, 50) (upstream's channel consumer polls 50 records).
   */
  buffer?: number;
  /** How often finished offsets are committed (also on close and when partitions are revoked). Default 1000 ms. */
  commitIntervalMs?: number;
  /** Consumer group session timeout. Default 10 s (upstream's channel consumer). */
  sessionTimeoutMs?: number;
  /** Default 3 s. */
  heartbeatIntervalMs?: number;
  /** How long the broker may hold a fetch waiting for records. Default 500 ms. */
  maxWaitMs?: number;
  /** Most bytes fetched per partition per request. Default 64 KiB (upstream's `max.partition.fetch.bytes`). */
  partitionMaxBytes?: number;
  /** Most bytes per fetch request. Default 1 MiB. */
  maxBytes?: number;
  /** Wait after a failed fetch or rejoin, doubling per failure up to `retryMaxMs`. Default 250 ms. */
  retryMs?: number;
  /** Default 5 s. */
  retryMaxMs?: number;
}

/** Producer settings of the append path. */
export interface KafkaProducerSettings {
  /** Appends waiting for Kafka at once; past it appends are refused with 503. Default 10 000. */
  maxPendingAppends?: number;
  /** Most records per produce request. Default 1000. */
  maxBatchRecords?: number;
  /** Most bytes per produce request. Default 900 KiB (under the broker's 1 MiB `message.max.bytes`). */
  maxBatchBytes?: number;
  /** Produce requests in flight at once, across topics. Default 8. */
  maxInFlightRequests?: number;
  /** Attempts after the first before an append fails with 503. Default 3, at least 2. */
  retries?: number;
  /** Wait between attempts. Default 250 ms. */
  retryDelayMs?: number;
  /** Timeout of one request. Default 5000 ms. */
  requestTimeoutMs?: number;
}

export interface KafkaChannelBackendOptions {
  /** `host:port` of some brokers of the cluster. */
  bootstrap: string[];
  /** Client id of the producer, admin and consumers. Default `knative-eventing-ts`. */
  clientId?: string;
  /** The topic of a channel. Default upstream's `knative-messaging-kafka.<namespace>.<name>`. */
  topicName?: (channel: ChannelRef) => string;
  /** The consumer group of a subscription. Default upstream's `kafka.<namespace>.<channel>.<subscription>`. */
  groupId?: (channel: ChannelRef, subscriptionId: string) => string;
  /** Defaults for topics `ensureChannel` creates. */
  topic?: KafkaTopicSettings;
  /**
   * Whether `ensureChannel` creates a missing topic (default true). False where the control plane
   * creates and deletes topics: `ensureChannel` then only waits a moment for the topic to exist.
   */
  createStores?: boolean;
  /**
   * One message in flight per partition for every subscription (upstream's
   * `kafka.eventing.knative.dev/delivery.order: ordered`; a subscription may say otherwise). Default false.
   */
  ordered?: boolean;
  /** Wait before the first redelivery of a nacked message, doubling per redelivery. Default 1000 ms. */
  nackDelayMs?: number;
  /** Longest wait between redeliveries. Default 60 000 ms. */
  maxNackDelayMs?: number;
  consumer?: KafkaConsumerSettings;
  producer?: KafkaProducerSettings;
  /**
   * How old the end of a partition's log may be before `backlog()` has it listed again (one request
   * per topic at most this often; partitions being fetched need none). Default 5000 ms.
   */
  backlogRefreshMs?: number;
  /**
   * A consumed record that is not a CloudEvent (written to the topic by something else): it is
   * skipped and its offset committed past, never handed to a handler. Report it here (a counter and
   * a log line); it is never counted as a delivery, because nobody owed one.
   */
  onMalformedRecord?(record: MalformedKafkaRecord): void;
  /** Errors the backend recovers from by itself (fetch, commit, rejoin failures), for logs. */
  onError?(error: unknown, context: string): void;
}

/** Options of one subscription beyond the seam's. */
export interface KafkaSubscriptionOptions extends SubscriptionOptions {
  /** One message in flight per partition; default the backend's `ordered`. */
  ordered?: boolean;
}

/** Per-subscription counts of a channel, for metrics and tests. */
export interface KafkaSubscriptionStats {
  /** Taken from Kafka and waiting for a handler or a redelivery. */
  queued: number;
  inFlight: number;
  /** Records skipped because they are not CloudEvents. */
  malformed: number;
  /** Partitions assigned to this member. */
  partitions: number[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const channelKey = (ref: ChannelRef): string => `${ref.namespace}/${ref.name}`;

/** A short reason out of a client error: its message and those of the first errors it wraps. */
export function describeKafkaError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 4; depth++) {
    parts.push((e instanceof Error ? e.message : String(e)).replace(/\.$/, ''));
    const nested = (e as { errors?: unknown[] } | null)?.errors;
    e = Array.isArray(nested) ? nested[0] : undefined;
  }
  return parts.join(': ');
}

/** Throws unless `name` can name a Kafka topic (1 to 249 of `a-z A-Z 0-9 . _ -`, not `.` or `..`). */
function checkTopicName(name: string): string {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(name) || name === '.' || name === '..')
    throw new RangeError(
      `${JSON.stringify(name)} cannot name a Kafka topic (1 to 249 characters of a-z, A-Z, 0-9, '.', '_', '-')`,
    );
  return name;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Channel storage in Apache Kafka, as upstream's KafkaChannel: one topic per channel, events as
 * binary-mode CloudEvents records, one consumer group per subscription reading every event (so
 * `targetedAppend` and `countsCopies` are false), offsets committed only for finished deliveries
 * (`durable`: what was not finished at shutdown is delivered after the next start).
 */
export class KafkaChannelBackend implements ChannelBackend {
  readonly kind = 'kafka';
  readonly targetedAppend = false;
  readonly durable = true;
  readonly countsCopies = false;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly appender: KafkaAppender;
  private readonly clientId: string;
  private readonly topicName: (channel: ChannelRef) => string;
  private readonly groupId: (channel: ChannelRef, subscriptionId: string) => string;
  private readonly topicDefaults: Required<Omit<KafkaTopicSettings, 'topic'>>;
  private readonly consumerSettings: Required<Omit<KafkaConsumerSettings, 'buffer'>> & { buffer?: number };
  private readonly nack: { initialMs: number; maxMs: number };
  private readonly subscriptions = new Map<string, Set<KafkaSubscription>>();
  /** Topics known to exist (created or found by ensureChannel). */
  private readonly ensured = new Set<string>();
  /** Topics named by `ensureChannel` settings, by channel key. */
  private readonly named = new Map<string, string>();
  private readonly hooks: SubscriptionHooks;
  private readonly logEnds: LogEnds;
  private roundRobin = 0;
  private closed = false;
  private draining = false;
  private drainWaiters: (() => void)[] = [];

  constructor(private readonly options: KafkaChannelBackendOptions) {
    if (options.bootstrap.length === 0) throw new RangeError('bootstrap must name at least one broker');
    this.clientId = options.clientId ?? 'knative-eventing-ts';
    this.topicName = options.topicName ?? channelTopicName;
    this.groupId = options.groupId ?? subscriptionGroupId;
    this.topicDefaults = {
      numPartitions: options.topic?.numPartitions ?? 1,
      replicationFactor: options.topic?.replicationFactor ?? 1,
      retentionMs: options.topic?.retentionMs ?? 7 * DAY_MS,
    };
    const c = options.consumer ?? {};
    this.consumerSettings = {
      buffer: c.buffer,
      commitIntervalMs: c.commitIntervalMs ?? 1000,
      sessionTimeoutMs: c.sessionTimeoutMs ?? 10_000,
      heartbeatIntervalMs: c.heartbeatIntervalMs ?? 3000,
      maxWaitMs: c.maxWaitMs ?? 500,
      partitionMaxBytes: c.partitionMaxBytes ?? 64 * 1024,
      maxBytes: c.maxBytes ?? 1024 * 1024,
      retryMs: c.retryMs ?? 250,
      retryMaxMs: c.retryMaxMs ?? 5000,
    };
    const initialMs = options.nackDelayMs ?? 1000;
    const maxMs = options.maxNackDelayMs ?? Math.max(60_000, initialMs);
    if (!(initialMs >= 0)) throw new RangeError(`nackDelayMs must be >= 0, got ${initialMs}`);
    if (!(maxMs >= initialMs))
      throw new RangeError(`maxNackDelayMs must be >= nackDelayMs (${initialMs}), got ${maxMs}`);
    this.nack = { initialMs, maxMs };

    const p = options.producer ?? {};
    const base = { clientId: this.clientId, bootstrapBrokers: options.bootstrap };
    this.admin = new Admin({ ...base, retries: 3, retryDelay: 250 });
    this.producer = new Producer({
      ...base,
      acks: -1,
      idempotent: true,
      // Retries must be bounded: an append waits for them, and Kafka being away must end in a 503.
      // (The client makes an idempotent producer's retries unbounded when given fewer than 2.)
      retries: Math.max(2, p.retries ?? 3),
      retryDelay: p.retryDelayMs ?? 250,
      timeout: p.requestTimeoutMs ?? 5000,
      // Java-compatible placement (murmur2 of the key, positive): a key lands where upstream puts it.
      partitioner: (message, key) =>
        key ? compatibilityPartitioner(message, key) : this.roundRobin++ & 0x7fffffff,
    });
    for (const client of [this.admin, this.producer])
      client.on('error', (err: unknown) => this.reportError(err, 'Kafka client'));
    this.appender = new KafkaAppender(
      (records: ProducerRecord[]) => this.producer.send({ messages: records }),
      {
        maxPending: positiveInteger('producer.maxPendingAppends', p.maxPendingAppends ?? 10_000),
        maxBatchRecords: positiveInteger('producer.maxBatchRecords', p.maxBatchRecords ?? 1000),
        maxBatchBytes: positiveInteger('producer.maxBatchBytes', p.maxBatchBytes ?? 900 * 1024),
        maxInFlightRequests: positiveInteger('producer.maxInFlightRequests', p.maxInFlightRequests ?? 8),
      },
      (err, topic) => ({
        ok: false,
        status: 503,
        reason: `Kafka did not acknowledge the event (topic ${topic}): ${describeKafkaError(err)}`,
        retryAfterSeconds: 1,
      }),
    );
    const refreshMs = options.backlogRefreshMs ?? 5000;
    if (!(refreshMs >= 0)) throw new RangeError(`backlogRefreshMs must be >= 0, got ${refreshMs}`);
    this.logEnds = new LogEnds(
      (topic, partitions) => this.listLogEnds(topic, partitions),
      refreshMs,
      (err, topic) => this.reportError(err, `listing the log ends of ${topic}`),
    );
    this.hooks = {
      createConsumer: (groupId) => this.createConsumer(groupId),
      createFetchPool: () => new ConnectionPool(`${this.clientId}-fetch`, { connectTimeout: 5000 }),
      initOffsets: (groupId, topic) => this.initOffsets(groupId, topic),
      deleteGroup: (groupId) => this.deleteGroup(groupId),
      keepsOnClose: (reason) => reason === DISCARD_REASONS.shutdown,
      onMalformed: (record) => this.options.onMalformedRecord?.(record),
      onLogEnd: (topic, partition, highWatermark) => this.logEnds.seen(topic, partition, highWatermark),
      onError: (err, context) => this.reportError(err, context),
      onIdle: () => this.checkDrained(),
      detach: (sub) => this.subscriptions.get(channelKey(sub.channel))?.delete(sub),
    };
  }

  /** The topic that stores `channel`. */
  topicOf(channel: ChannelRef): string {
    // Per append: no key is built while no channel has a named topic.
    return (this.named.size > 0 && this.named.get(channelKey(channel))) || this.topicName(channel);
  }

  /**
   * Creates the channel's topic if it does not exist (idempotent), and waits until every partition
   * has a leader. A topic that exists already is kept as it is, even when its partitions,
   * replication or retention differ from `settings`: changing them is an operator's decision (fewer
   * partitions is impossible in Kafka, more would move keys to other partitions), as upstream keeps
   * an existing topic too.
   */
  async ensureChannel(channel: ChannelRef, settings: KafkaTopicSettings = {}): Promise<void> {
    if (this.closed) throw new Error('channel backend is closed');
    const topic = settings.topic === undefined ? this.topicName(channel) : checkTopicName(settings.topic);
    if (settings.topic === undefined) this.named.delete(channelKey(channel));
    else this.named.set(channelKey(channel), topic);
    if (this.ensured.has(topic)) return;
    if (this.options.createStores === false) {
      await this.waitForLeaders(topic, 5_000).catch((err: Error) => {
        throw new Error(
          `topic ${topic} of channel ${channelKey(channel)} is not there yet (the control plane creates it): ${err.message}`,
          { cause: err },
        );
      });
      this.ensured.add(topic);
      return;
    }
    const numPartitions = positiveInteger(
      'numPartitions',
      settings.numPartitions ?? this.topicDefaults.numPartitions,
    );
    const replicationFactor = positiveInteger(
      'replicationFactor',
      settings.replicationFactor ?? this.topicDefaults.replicationFactor,
    );
    const retentionMs = settings.retentionMs ?? this.topicDefaults.retentionMs;
    if (!Number.isInteger(retentionMs) || retentionMs < -1)
      throw new RangeError(`retentionMs must be an integer >= -1, got ${retentionMs}`);
    try {
      await this.admin.createTopics({
        topics: [topic],
        partitions: numPartitions,
        replicas: replicationFactor,
        configs: [{ name: 'retention.ms', value: String(retentionMs) }],
      });
    } catch (err) {
      if (!findErrorBy(err as Error, 'apiId', 'TOPIC_ALREADY_EXISTS'))
        throw new Error(
          `cannot create topic ${topic} for channel ${channelKey(channel)}: ${describeKafkaError(err)}`,
          {
            cause: err,
          },
        );
    }
    await this.waitForLeaders(topic);
    this.ensured.add(topic);
  }

  /**
   * Closes the channel's consumers with `reason` (what they hold in memory is reported to their
   * `onDiscard`; what is still in the topic is gone with it, as upstream loses it with the topic) and
   * deletes the topic.
   */
  async deleteChannel(channel: ChannelRef, reason: string = DISCARD_REASONS.channelDeleted): Promise<void> {
    const subs = [...(this.subscriptions.get(channelKey(channel)) ?? [])];
    this.subscriptions.delete(channelKey(channel));
    await Promise.all(subs.map((sub) => sub.close(reason)));
    const topic = this.topicOf(channel);
    this.named.delete(channelKey(channel));
    this.ensured.delete(topic);
    this.logEnds.forget(topic);
    try {
      await this.admin.deleteTopics({ topics: [topic] });
    } catch (err) {
      if (!findErrorBy(err as Error, 'apiId', 'UNKNOWN_TOPIC_OR_PARTITION'))
        throw new Error(
          `cannot delete topic ${topic} of channel ${channelKey(channel)}: ${describeKafkaError(err)}`,
          {
            cause: err,
          },
        );
    }
  }

  /**
   * Produces the event as one binary-mode record keyed by `options.key`, with the passthrough headers
   * under `kne-h-`; resolves `{ ok: true }` once every in-sync replica has it (acks=all, idempotent
   * producer), and `503` with `retryAfterSeconds: 1` on any failure or when too many appends wait
   * for Kafka. `targets` and `dedupId` are ignored: every subscription reads every record.
   */
  append(
    channel: ChannelRef,
    event: CloudEvent,
    headers: Record<string, string>,
    options?: AppendOptions,
  ): Promise<AppendResult> {
    if (this.closed)
      return Promise.resolve({
        ok: false,
        status: 503,
        reason: 'channel backend is closed',
        retryAfterSeconds: 1,
      });
    let encoded: ReturnType<typeof encodeRecord>;
    try {
      encoded = encodeRecord(this.topicOf(channel), event, headers, options?.key);
    } catch (err) {
      return Promise.resolve({
        ok: false,
        status: 500,
        reason: `cannot encode the event: ${describeKafkaError(err)}`,
      });
    }
    return this.appender.append(encoded.record, encoded.bytes);
  }

  /**
   * Starts a consumer in the subscription's own consumer group; resolves once its partitions are
   * assigned and positioned (events appended from then on are delivered). A new group starts at the
   * end of the topic, an existing one where it committed. The id must be unique within the channel
   * in this process.
   */
  async subscribe(
    channel: ChannelRef,
    options: KafkaSubscriptionOptions,
    handler: MessageHandler,
  ): Promise<Consumer> {
    if (this.closed) throw new Error('channel backend is closed');
    positiveInteger('maxInFlight', options.maxInFlight);
    const key = channelKey(channel);
    let subs = this.subscriptions.get(key);
    if (subs && [...subs].some((sub) => sub.id === options.id))
      throw new Error(`subscription ${options.id} already consumes channel ${key}`);
    if (options.consumerGroup === '') throw new RangeError('consumerGroup must not be empty when given');
    const { buffer, ...consumer } = this.consumerSettings;
    const sub = new KafkaSubscription(
      {
        channel: { namespace: channel.namespace, name: channel.name },
        topic: this.topicOf(channel),
        groupId: options.consumerGroup ?? this.groupId(channel, options.id),
        ordered: options.ordered ?? this.options.ordered ?? false,
        buffer: positiveInteger('consumer.buffer', buffer ?? Math.max(options.maxInFlight, 50)),
        nack: this.nack,
        commitIntervalMs: consumer.commitIntervalMs,
        maxWaitMs: consumer.maxWaitMs,
        partitionMaxBytes: consumer.partitionMaxBytes,
        maxBytes: consumer.maxBytes,
        retryMs: consumer.retryMs,
        retryMaxMs: consumer.retryMaxMs,
      },
      options,
      handler,
      this.hooks,
    );
    await sub.start();
    if (this.closed) {
      await sub.close(DISCARD_REASONS.shutdown);
      throw new Error('channel backend is closed');
    }
    if (this.draining) sub.stopFetching();
    subs = this.subscriptions.get(key);
    if (subs === undefined) this.subscriptions.set(key, (subs = new Set()));
    subs.add(sub);
    return sub;
  }

  /** Per-subscription counts of a channel's consumers in this process, keyed by subscription id. */
  stats(channel: ChannelRef): Record<string, KafkaSubscriptionStats> | undefined {
    const subs = this.subscriptions.get(channelKey(channel));
    if (subs === undefined) return undefined;
    const out: Record<string, KafkaSubscriptionStats> = {};
    for (const sub of subs) out[sub.id] = sub.stats();
    return out;
  }

  /**
   * Consumer lag of every subscription in this process, by subscription id: for each partition this
   * member of its group owns, the records from its first unfinished offset to the end of the log.
   * Members elsewhere report their own partitions, so the group's lag is the sum. Synchronous: the
   * ends come from fetch answers, or (for partitions not fetched for `backlogRefreshMs`, such as those
   * of a consumer whose handlers are all busy) from a listing this call starts in the background, whose
   * result the next call reports.
   */
  backlog(): Array<readonly [string, number]> {
    const now = Date.now();
    const out: Array<readonly [string, number]> = [];
    for (const subs of this.subscriptions.values())
      for (const sub of subs) {
        const topic = sub.topic;
        out.push([sub.id, sub.backlog((partition) => this.logEnds.end(topic, partition, now))]);
      }
    if (!this.closed) this.logEnds.refresh(now);
    return out;
  }

  /**
   * Graceful shutdown: stops fetching (what is not fetched stays in Kafka for the next start) and
   * resolves once every consumer finished what it holds and every append was answered. A handler
   * that never settles keeps it pending: callers bound it with a timeout.
   */
  drain(): Promise<void> {
    this.draining = true;
    for (const subs of this.subscriptions.values()) for (const sub of subs) sub.stopFetching();
    const done = new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    this.appender.whenIdle().then(
      () => this.checkDrained(),
      () => this.checkDrained(),
    );
    this.checkDrained();
    return done;
  }

  /**
   * Closes every consumer with `reason` (default `shutdown`: unfinished messages stay in Kafka for
   * the next start), refuses appends not sent yet (503), waits for those in flight, and closes the
   * producer and admin clients.
   */
  async close(reason: string = DISCARD_REASONS.shutdown): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.subscriptions.values()].flatMap((subs) => [...subs]);
    this.subscriptions.clear();
    await Promise.all(all.map((sub) => sub.close(reason)));
    await this.appender.close();
    await Promise.all([
      this.producer.close().catch((err: unknown) => this.reportError(err, 'closing the producer')),
      this.admin.close().catch((err: unknown) => this.reportError(err, 'closing the admin client')),
    ]);
    this.checkDrained();
  }

  private createConsumer(groupId: string): KafkaConsumer {
    const c = this.consumerSettings;
    return new KafkaConsumer({
      clientId: this.clientId,
      bootstrapBrokers: this.options.bootstrap,
      groupId,
      autocommit: false,
      sessionTimeout: c.sessionTimeoutMs,
      heartbeatInterval: c.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(c.sessionTimeoutMs, 30_000),
      retries: 3,
      retryDelay: 250,
    });
  }

  /**
   * Upstream's InitOffsets: before a group consumes for the first time, its offsets are committed at
   * the end of every partition, so that it starts at the latest event whichever member gets which
   * partition when, and a restart before its first commit does not skip what came in between. An
   * active group (another member) is left as it is.
   */
  private async initOffsets(groupId: string, topic: string): Promise<void> {
    const metadata = await this.admin.metadata({ topics: [topic] }).catch((err: unknown) => {
      throw new Error(`channel topic ${topic} does not exist or is unavailable: ${describeKafkaError(err)}`, {
        cause: err,
      });
    });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    if (count === 0) throw new Error(`channel topic ${topic} does not exist`);
    const partitions = Array.from({ length: count }, (_, i) => i);
    const [group] = await this.admin.listConsumerGroupOffsets({
      groups: [{ groupId, topics: [{ name: topic, partitionIndexes: partitions }] }],
    });
    const committed = new Map<number, bigint>();
    for (const t of group?.topics ?? [])
      for (const p of t.partitions) if (t.name === topic) committed.set(p.partitionIndex, p.committedOffset);
    const missing = partitions.filter((p) => (committed.get(p) ?? -1n) < 0n);
    if (missing.length === 0) return;
    const [listed] = await this.admin.listOffsets({
      topics: [
        {
          name: topic,
          partitions: missing.map((p) => ({ partitionIndex: p, timestamp: ListOffsetTimestamps.LATEST })),
        },
      ],
    });
    try {
      await this.admin.alterConsumerGroupOffsets({
        groupId,
        topics: [
          {
            name: topic,
            partitionOffsets: (listed?.partitions ?? []).map((p) => ({
              partition: p.partitionIndex,
              offset: p.offset,
            })),
          },
        ],
      });
    } catch (err) {
      // A group with active members refuses it; they consume already, and a partition without an
      // offset still starts at the end of the log when assigned.
      this.reportError(err, `initializing offsets of consumer group ${groupId}`);
    }
  }

  /** The end of the log (high watermark) of some partitions of a topic, in one request. */
  private async listLogEnds(topic: string, partitions: readonly number[]): Promise<Map<number, bigint>> {
    const listed = await this.admin.listOffsets({
      topics: [
        {
          name: topic,
          partitions: partitions.map((p) => ({ partitionIndex: p, timestamp: ListOffsetTimestamps.LATEST })),
        },
      ],
    });
    const out = new Map<number, bigint>();
    for (const t of listed)
      if (t.name === topic) for (const p of t.partitions) out.set(p.partitionIndex, p.offset);
    return out;
  }

  private async deleteGroup(groupId: string): Promise<void> {
    try {
      await this.admin.deleteGroups({ groups: [groupId] });
    } catch (err) {
      const e = err as Error;
      if (findErrorBy(e, 'apiId', 'GROUP_ID_NOT_FOUND') || findErrorBy(e, 'apiId', 'NON_EMPTY_GROUP')) return;
      throw err;
    }
  }

  /** Waits until every partition of a new topic has a leader (produce and consume need one). */
  private async waitForLeaders(topic: string, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true });
        const partitions = metadata.topics.get(topic)?.partitions ?? [];
        if (partitions.length > 0 && partitions.every((p) => p !== undefined && p.leader >= 0)) return;
      } catch (err) {
        if (Date.now() > end)
          throw new Error(`topic ${topic} has no leader: ${describeKafkaError(err)}`, { cause: err });
      }
      if (Date.now() > end)
        throw new Error(`topic ${topic} has partitions without a leader after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private reportError(err: unknown, context: string): void {
    try {
      this.options.onError?.(err, context);
    } catch {
      // Logging must not break the data path.
    }
  }

  private checkDrained(): void {
    if (!this.draining || this.drainWaiters.length === 0 || this.appender.pending > 0) return;
    for (const subs of this.subscriptions.values()) for (const sub of subs) if (sub.pending > 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
