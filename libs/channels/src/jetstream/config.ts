import {
  NATS_JETSTREAM_RUNTIME_DEFAULTS,
  parseGoDuration,
  type NatsConsumerConfigTemplate,
  type NatsStreamConfig,
  type NatsStreamSource,
} from '@eventing/api';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type StreamConfig,
  type StreamSource,
} from '@nats-io/jetstream';

// The NatsJetStreamChannel's stream and consumer settings as JetStream configurations, field for
// field as eventing-natss's dispatcher builds them (pkg/channel/jetstream/dispatcher/defaults.go):
// an empty enum takes the dispatcher's default (NATS_JETSTREAM_RUNTIME_DEFAULTS), a missing number
// or duration is left to the server. Durations are Go durations (`1h30m`) in the spec.

/** Stream settings JetStream is given; the rest keep the server's defaults. */
export type StreamSettings = Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'subjects'>;

const RETENTION = {
  Limits: RetentionPolicy.Limits,
  Interest: RetentionPolicy.Interest,
  Work: RetentionPolicy.Workqueue,
} as const;
const DISCARD = { Old: DiscardPolicy.Old, New: DiscardPolicy.New } as const;
const STORAGE = { File: StorageType.File, Memory: StorageType.Memory } as const;
const DELIVER = {
  All: DeliverPolicy.All,
  Last: DeliverPolicy.Last,
  New: DeliverPolicy.New,
  ByStartSequence: DeliverPolicy.StartSequence,
  ByStartTime: DeliverPolicy.StartTime,
} as const;
const REPLAY = { Instant: ReplayPolicy.Instant, Original: ReplayPolicy.Original } as const;

/** A Go duration as nanoseconds; throws naming `field` when Go would refuse it. */
export function goDurationNanos(value: string, field: string): number {
  const ms = parseGoDuration(value);
  if (ms === undefined || ms < 0)
    throw new RangeError(`${field}: ${JSON.stringify(value)} is not a non-negative Go duration such as 30s`);
  return Math.round(ms * 1e6);
}

/** A Go duration in milliseconds, or `fallback` when absent or zero (Go's zero value means unset). */
export function goDurationMs(value: string | undefined, field: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const ns = goDurationNanos(value, field);
  return ns === 0 ? fallback : ns / 1e6;
}

function source(s: NatsStreamSource): StreamSource {
  const out: StreamSource = { name: s.name ?? '' };
  if (s.optStartSeq !== undefined && s.optStartSeq > 0) out.opt_start_seq = s.optStartSeq;
  if (s.optStartTime !== undefined) out.opt_start_time = s.optStartTime;
  if (s.filterSubject !== undefined && s.filterSubject !== '') out.filter_subject = s.filterSubject;
  return out;
}

/**
 * The stream of a channel: its publish subject first, then the additional subjects; retention,
 * discard and storage default to Limits, Old and File as upstream's buildStreamConfig.
 */
export function buildStreamConfig(
  name: string,
  subject: string,
  config: NatsStreamConfig = {},
): StreamSettings {
  const d = NATS_JETSTREAM_RUNTIME_DEFAULTS;
  // Go's zero values are "unset" upstream: the server's default applies. The limits are spelled out
  // (-1: none) so that a limit removed from the spec is removed from the stream too.
  const out: StreamSettings = {
    name,
    subjects: [subject, ...(config.additionalSubjects ?? []).filter((s) => s !== subject)],
    retention: RETENTION[config.retention ?? d.retention],
    discard: DISCARD[config.discard ?? d.discard],
    storage: STORAGE[config.storage ?? d.storage],
    max_msgs: config.maxMsgs || -1,
    max_bytes: config.maxBytes || -1,
    max_msg_size: config.maxMsgSize || -1,
    max_age: config.maxAge ? goDurationNanos(config.maxAge, 'stream.config.maxAge') : 0,
    num_replicas: config.replicas || 1,
  };
  if (config.maxConsumers) out.max_consumers = config.maxConsumers;
  if (config.noAck) out.no_ack = true;
  if (config.duplicateWindow) {
    const ns = goDurationNanos(config.duplicateWindow, 'stream.config.duplicateWindow');
    if (ns > 0) out.duplicate_window = ns;
  }
  if (config.placement) {
    out.placement = { cluster: config.placement.cluster ?? '', tags: config.placement.tags ?? [] };
  }
  if (config.mirror) out.mirror = source(config.mirror);
  if (config.sources) out.sources = config.sources.map(source);
  return out;
}

/** Absent, false and empty are one value (the server omits them). */
const normal = (v: unknown): string | undefined =>
  v === undefined || v === null || v === false || (Array.isArray(v) && v.length === 0)
    ? undefined
    : JSON.stringify(v);

/** Stream settings that differ between what runs and what is wanted, by field name (empty when equal). */
export function streamDifferences(current: Partial<StreamConfig>, wanted: StreamSettings): string[] {
  const differs: string[] = [];
  for (const [key, value] of Object.entries(wanted)) {
    if (normal(current[key as keyof StreamConfig]) !== normal(value)) differs.push(key);
  }
  if (current.no_ack === true && wanted.no_ack === undefined) differs.push('no_ack');
  return differs;
}

/** What a subscription's consumer needs besides the channel's template. */
export interface ConsumerDefaults {
  /** How long a message may stay unacknowledged before JetStream redelivers it. */
  ackWaitMs: number;
  /** Unacknowledged messages the consumer may have at once (the subscription's maxInFlight). */
  maxAckPending: number;
}

/**
 * The durable pull consumer of one subscription (upstream's buildPullConsumerConfig): explicit acks,
 * name and durable name `KN_SUB_<id>`, the template's settings where given. Unlike upstream, the deliver
 * policy defaults to New (a subscription receives what is appended after it started, the
 * ChannelBackend contract; upstream's zero value is All, which replays the stream), MaxDeliver is
 * unlimited (retries and dead letters are the caller's: nothing is dropped by the server), and
 * AckWait and MaxAckPending come from the backend (AckWait: the template's when set).
 */
export function buildConsumerConfig(
  name: string,
  template: NatsConsumerConfigTemplate = {},
  defaults: ConsumerDefaults,
): ConsumerConfig {
  const config: ConsumerConfig = {
    name,
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DELIVER[template.deliverPolicy ?? 'New'],
    replay_policy: REPLAY[template.replayPolicy ?? NATS_JETSTREAM_RUNTIME_DEFAULTS.replayPolicy],
    ack_wait: Math.round(
      goDurationMs(template.ackWait, 'consumerConfigTemplate.ackWait', defaults.ackWaitMs) * 1e6,
    ),
    max_ack_pending:
      template.maxAckPending !== undefined && template.maxAckPending > 0
        ? template.maxAckPending
        : defaults.maxAckPending,
    max_deliver: template.maxDeliver !== undefined && template.maxDeliver > 0 ? template.maxDeliver : -1,
  };
  if (template.optStartSeq !== undefined && template.optStartSeq > 0)
    config.opt_start_seq = template.optStartSeq;
  if (template.optStartTime !== undefined) config.opt_start_time = template.optStartTime;
  if (template.filterSubject) config.filter_subject = template.filterSubject;
  if (template.rateLimitBPS) config.rate_limit_bps = template.rateLimitBPS;
  if (template.sampleFrequency) config.sample_freq = template.sampleFrequency;
  return config;
}

/** Consumer fields JetStream lets an existing consumer change. */
const UPDATABLE_CONSUMER_FIELDS = [
  'ack_wait',
  'max_ack_pending',
  'max_deliver',
  'filter_subject',
  'rate_limit_bps',
  'sample_freq',
] as const;

/** The updatable fields of `wanted` that differ from the running consumer's; undefined when none do. */
export function consumerUpdate(
  current: Partial<ConsumerConfig>,
  wanted: ConsumerConfig,
): Partial<ConsumerConfig> | undefined {
  const update: Record<string, unknown> = {};
  let changed = false;
  for (const key of UPDATABLE_CONSUMER_FIELDS) {
    const value = wanted[key];
    // An unset field in `wanted` leaves the running value alone (the server filled in its default).
    if (value === undefined || current[key] === value) continue;
    update[key] = value;
    changed = true;
  }
  return changed ? (update as Partial<ConsumerConfig>) : undefined;
}
