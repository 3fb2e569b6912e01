import type { NatsConsumerConfigTemplate, NatsStream, NatsStreamConfig } from '@eventing/api';
import { parseNatsMessage, toNatsMessage, type CloudEvent } from '@eventing/cloudevents';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  type Consumer as NatsConsumer,
  type JetStreamClient,
  type JetStreamManager,
  type JetStreamPublishOptions,
  type JsMsg,
} from '@nats-io/jetstream';
import * as transport from '@nats-io/transport-node';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import type {
  Ack,
  AppendOptions,
  AppendResult,
  ChannelBackend,
  ChannelMessage,
  ChannelRef,
  Consumer,
  MessageHandler,
  SubscriptionOptions,
} from '../backend';
import { Deque } from '../memory/deque';
import { DISCARD_REASONS, nackDelay } from '../memory/memory-backend';
import {
  buildConsumerConfig,
  buildStreamConfig,
  consumerUpdate,
  goDurationMs,
  streamDifferences,
} from './config';
import { checkStreamName, consumerName, publishSubject, streamName } from './naming';

/** How a channel's stream and its subscriptions' consumers are set up: the NatsJetStreamChannel's spec fields. */
export interface JetStreamChannelSettings {
  /** `spec.stream`: an existing stream to bind (`overrideName`) and the stream's settings (`config`). */
  stream?: NatsStream;
  /** `spec.consumerConfigTemplate`: settings of every subscription's durable consumer. */
  consumerConfigTemplate?: NatsConsumerConfigTemplate;
}

/** A stored message that is not a CloudEvent: it is terminated, never handed to a handler. */
export interface MalformedJetStreamMessage {
  channel: ChannelRef;
  subscription: string;
  stream: string;
  /** Stream sequence of the message. */
  sequence: number;
  subject: string;
  /** Why it does not parse, as parseNatsMessage says. */
  reason: string;
}

export interface JetStreamChannelBackendOptions {
  /** NATS server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string[];
  /** Connection name the server shows (`/connz`). Default `knative-eventing-jetstream`. */
  name?: string;
  /** Further client options (credentials, TLS, pings); the backend always reconnects for ever. */
  connection?: Omit<NodeConnectionOptions, 'servers' | 'name'>;
  /** Stream settings of a channel whose `ensureChannel` brings none (`spec.stream.config`). */
  stream?: NatsStreamConfig;
  /** Consumer settings of a channel whose `ensureChannel` brings none (`spec.consumerConfigTemplate`). */
  consumer?: NatsConsumerConfigTemplate;
  /**
   * How long JetStream waits for an ack before it redelivers a message, unless the consumer template
   * sets `ackWait`. Default 30 000 ms. A handler that runs longer keeps its message with in-progress acks.
   */
  ackWaitMs?: number;
  /** Delay of the first redelivery after a `'nack'`; doubled with each redelivery. Default 1000 ms. */
  nackDelayMs?: number;
  /** Longest delay between redeliveries after a `'nack'`. Default 60 000 ms. */
  maxNackDelayMs?: number;
  /** How long an append waits for JetStream's acknowledgement. Default 5000 ms. */
  publishTimeoutMs?: number;
  /** Appends awaiting JetStream's acknowledgement at once; more are refused with 503. Default 1024. */
  maxPendingPublishes?: number;
  /** Told about every stored message that does not parse as a CloudEvent (for a log line). */
  onMalformedMessage?(report: MalformedJetStreamMessage): void;
}

/** Prefix of the message headers that carry an event's passthrough HTTP headers (`kn-http-traceparent`). */
export const PASSTHROUGH_HEADER_PREFIX = 'kn-http-';
/** `onDiscard` reason of a stored message that is not a CloudEvent. */
export const MALFORMED_MESSAGE = 'malformed_message';
/** Type of the stand-in event reported to `onDiscard` for a message that is not a CloudEvent. */
export const MALFORMED_EVENT_TYPE = 'dev.knative.eventing.jetstream.malformed';

// Most of the client's types live in @nats-io/nats-core behind its package `exports` subpath
// (`/internal`), which this repository's module resolution (node10) does not follow: there they are
// `any`. The header type is taken from where it resolves, the connection's is the part used here.
/** Message headers (nats-core's MsgHdrs: iterable as name -> values). */
type MsgHdrs = NonNullable<JetStreamPublishOptions['headers']>;
/** The parts of nats-core's NatsConnection used here. */
interface NatsConnection {
  status(): AsyncIterable<{ type: string }>;
  isClosed(): boolean;
  drain(): Promise<void>;
  close(): Promise<void>;
}
/** nats-core's `headers()`, re-exported by the Node transport (at run time; see above). */
const natsHeaders = (transport as unknown as { headers(): MsgHdrs }).headers;
/** JetStream's "consumer already exists" and "consumer name already in use". */
const CONSUMER_EXISTS: ReadonlySet<number> = new Set([10148, 10013]);

const ACCEPTED: AppendResult = Object.freeze({ ok: true as const });
/** Close reasons after which the durable consumer's messages stay for the next start. */
const KEEP_REASONS: ReadonlySet<string> = new Set([DISCARD_REASONS.shutdown]);
const SUBSCRIPTION_DELETED = 'subscription_deleted';
/** Pull requests ask for at most this many messages (and never more than the consumer may have unacked). */
const MAX_FETCH_BATCH = 256;

const channelKey = (ref: ChannelRef): string => `${ref.namespace}/${ref.name}`;
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const isApiError = (err: unknown, code: number): boolean =>
  err instanceof JetStreamApiError && err.code === code;

function unavailable(reason: string): AppendResult {
  return { ok: false, status: 503, reason, retryAfterSeconds: 1 };
}

/** Passthrough HTTP headers written as prefixed message headers, the event's `ce-` headers beside them. */
function messageHeaders(ce: Record<string, string>, passthrough: Record<string, string>): MsgHdrs {
  const h = natsHeaders();
  for (const name in ce) h.append(name, ce[name]!);
  for (const name in passthrough) h.append(PASSTHROUGH_HEADER_PREFIX + name, passthrough[name]!);
  return h;
}

/** The passthrough HTTP headers carried by a message (names lower case, first value of each). */
function passthroughHeaders(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  const n = PASSTHROUGH_HEADER_PREFIX.length;
  for (const [name, values] of h) {
    if (name.length <= n || name.slice(0, n).toLowerCase() !== PASSTHROUGH_HEADER_PREFIX) continue;
    const key = name.slice(n).toLowerCase();
    if (!(key in out) && values[0] !== undefined) out[key] = values[0];
  }
  return out;
}

/** What the backend keeps about a channel it ensured: where its stream is and how consumers are made. */
interface ChannelState {
  stream: string;
  template: NatsConsumerConfigTemplate | undefined;
}

interface Connected {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** One message taken from JetStream and not settled yet (queued for a handler, or in one). */
interface Held {
  msg: JsMsg;
  /** When JetStream last heard about it (delivery or in-progress ack), for AckWait. */
  touched: number;
}

interface ConsumerParams {
  channel: ChannelRef;
  stream: string;
  name: string;
  ackWaitMs: number;
  maxInFlight: number;
  redelivery: { initialMs: number; maxMs: number };
  options: SubscriptionOptions;
  handler: MessageHandler;
  onMalformed: ((report: MalformedJetStreamMessage) => void) | undefined;
  detach(consumer: JetStreamSubscription): void;
}

/**
 * One subscription's consumer: pulls from its durable JetStream consumer (which holds at most
 * MaxAckPending unacked messages), runs at most maxInFlight handlers, keeps long-running messages
 * alive with in-progress acks, and maps settlements to ack, nak with delay, and term.
 */
class JetStreamSubscription implements Consumer {
  readonly id: string;
  private readonly held = new Set<Held>();
  private readonly queue = new Deque<Held>();
  private inFlight = 0;
  /** Nacked by a handler and waiting on the server for redelivery, by stream sequence. */
  private readonly awaiting = new Map<number, ChannelMessage>();
  private messages: ConsumerMessages | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private closed = false;
  private closeReason: string = DISCARD_REASONS.closed;
  private closing: Promise<void> | undefined;
  private onIdle: (() => void) | undefined;

  constructor(
    private readonly p: ConsumerParams,
    private readonly maxAwaiting: number,
  ) {
    this.id = p.options.id;
  }

  get stream(): string {
    return this.p.stream;
  }

  get consumer(): string {
    return this.p.name;
  }

  get channelKey(): string {
    return channelKey(this.p.channel);
  }

  /** Messages taken from JetStream and not settled yet. */
  get unsettled(): number {
    return this.held.size;
  }

  async start(consumer: NatsConsumer, batch: number, expiresMs: number | undefined): Promise<void> {
    const messages = await consumer.consume({
      max_messages: batch,
      ...(expiresMs === undefined ? {} : { expires: expiresMs }),
      callback: (msg) => this.receive(msg),
    });
    this.messages = messages;
    if (this.closed) {
      // Closed while the pull started.
      messages.close().catch(() => undefined);
      return;
    }
    // In-progress acks: checked every AckWait/4, sent for what has waited AckWait/2 since JetStream
    // last heard of it, so none reaches AckWait while it is held here.
    this.ticker = setInterval(() => this.keepAlive(), Math.max(25, this.p.ackWaitMs / 4));
    this.ticker.unref();
  }

  close(reason: string = DISCARD_REASONS.closed): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.closeReason = reason;
    this.p.detach(this);
    this.messages?.close().catch(() => undefined);
    // Never handed out: back to the store at once, for whoever consumes next.
    for (let h = this.queue.shift(); h !== undefined; h = this.queue.shift()) {
      this.held.delete(h);
      this.respond(() => h.msg.nak());
    }
    if (!KEEP_REASONS.has(reason)) {
      // The durable consumer goes with the subscription or channel: what waits there for a redelivery is gone.
      this.report([...this.awaiting.values()], reason);
    }
    this.awaiting.clear();
    this.closing = (
      this.inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.onIdle = resolve;
          })
    ).then(() => clearInterval(this.ticker));
    return this.closing;
  }

  private receive(msg: JsMsg): void {
    if (this.closed) {
      this.respond(() => msg.nak());
      return;
    }
    const h: Held = { msg, touched: Date.now() };
    this.held.add(h);
    if (msg.info.deliveryCount > 1) this.awaiting.delete(msg.seq);
    if (this.inFlight < this.p.maxInFlight) void this.run(h);
    else this.queue.push(h);
  }

  private async run(h: Held): Promise<void> {
    this.inFlight++;
    const msg = h.msg;
    const parsed = parseNatsMessage(msg.headers, msg.data);
    const headers = passthroughHeaders(msg.headers);
    if (!parsed.ok) {
      this.malformed(msg, headers, parsed.reason);
      this.finish(h);
      return;
    }
    const message: ChannelMessage = {
      event: parsed.event,
      headers,
      redeliveries: Math.max(0, msg.info.deliveryCount - 1),
    };
    let ack: Ack;
    try {
      ack = await this.p.handler(message);
    } catch (err) {
      // A throwing handler is a bug in the handler: say so, and keep the message rather than lose it.
      try {
        this.p.options.onHandlerError?.(message, err);
      } catch {
        // Reporting must not lose the message either.
      }
      ack = 'nack';
    }
    this.settle(h, message, ack);
  }

  private settle(h: Held, message: ChannelMessage, ack: Ack): void {
    const msg = h.msg;
    if (ack === 'ack') this.respond(() => msg.ack());
    else if (ack === 'term') this.respond(() => msg.term());
    else if (this.closed) {
      if (KEEP_REASONS.has(this.closeReason)) {
        // Stays in the durable consumer for the next start, without a delay.
        this.respond(() => msg.nak());
      } else {
        this.report([{ ...message, redeliveries: message.redeliveries + 1 }], this.closeReason);
        this.respond(() => msg.term());
      }
    } else {
      const delay =
        ack === 'nack'
          ? nackDelay(this.p.redelivery.initialMs, this.p.redelivery.maxMs, message.redeliveries)
          : Math.max(0, ack.nack);
      this.respond(() => msg.nak(delay));
      this.remember(msg.seq, { ...message, redeliveries: message.redeliveries + 1 });
    }
    this.finish(h);
  }

  private finish(h: Held): void {
    this.held.delete(h);
    this.inFlight--;
    if (this.closed) {
      if (this.inFlight === 0) this.onIdle?.();
      return;
    }
    while (this.inFlight < this.p.maxInFlight) {
      const next = this.queue.shift();
      if (next === undefined) return;
      void this.run(next);
    }
  }

  /** A stored message that is no CloudEvent: terminated (never redelivered) and reported, never stalling the consumer. */
  private malformed(msg: JsMsg, headers: Record<string, string>, reason: string): void {
    this.respond(() => msg.term(`not a CloudEvent: ${reason}`.slice(0, 200)));
    const report: MalformedJetStreamMessage = {
      channel: this.p.channel,
      subscription: this.id,
      stream: this.p.stream,
      sequence: msg.seq,
      subject: msg.subject,
      reason,
    };
    try {
      this.p.onMalformed?.(report);
    } catch {
      // Reporting must not stall the consumer.
    }
    const event: CloudEvent = {
      attributes: {
        specversion: '1.0',
        id: `${this.p.stream}-${msg.seq}`,
        source: `/jetstream/${this.p.stream}`,
        type: MALFORMED_EVENT_TYPE,
      },
      data: Buffer.from(msg.data),
    };
    this.report([{ event, headers, redeliveries: 0 }], MALFORMED_MESSAGE);
  }

  /** Nacked messages awaiting redelivery, bounded: the oldest is forgotten first (the server dropped it). */
  private remember(seq: number, message: ChannelMessage): void {
    this.awaiting.delete(seq);
    this.awaiting.set(seq, message);
    if (this.awaiting.size > this.maxAwaiting) {
      const oldest = this.awaiting.keys().next();
      if (!oldest.done) this.awaiting.delete(oldest.value);
    }
  }

  private keepAlive(): void {
    if (this.held.size === 0) return;
    const now = Date.now();
    const due = this.p.ackWaitMs / 2;
    for (const h of this.held) {
      if (now - h.touched < due) continue;
      h.touched = now;
      this.respond(() => h.msg.working());
    }
  }

  private report(messages: ChannelMessage[], reason: string): void {
    if (messages.length === 0) return;
    try {
      this.p.options.onDiscard?.(messages, reason);
    } catch {
      // Counting must never break consuming or closing.
    }
  }

  /** Acks are fire-and-forget: a closed connection means the server redelivers after AckWait. */
  private respond(send: () => void): void {
    try {
      send();
    } catch {
      // The connection is closed; JetStream redelivers what was not acknowledged.
    }
  }
}

/**
 * Channel storage on NATS JetStream, named and configured as knative-extensions/eventing-natss:
 * one stream per channel (`KN_<NS>__<NAME>` on subject `<ns>.<name>._knative`), one durable pull
 * consumer per subscription (`KN_SUB_<ID>`), events in the CloudEvents NATS binding's binary mode.
 * Durable: what was acknowledged by JetStream outlives this process, and a consumer resumes where its
 * durable consumer stands. Every subscription reads every event (no targeted appends).
 */
export class JetStreamChannelBackend implements ChannelBackend {
  readonly kind = 'jetstream';
  readonly targetedAppend = false;
  readonly durable = true;
  readonly countsCopies = false;
  private readonly servers: string[];
  private readonly connectionName: string;
  private readonly ackWaitMs: number;
  private readonly publishTimeoutMs: number;
  private readonly maxPendingPublishes: number;
  private readonly redelivery: { initialMs: number; maxMs: number };
  private connecting: Promise<Connected> | undefined;
  private connected: Connected | undefined;
  /** False while the connection is down and reconnecting. */
  private up = false;
  private pendingPublishes = 0;
  private closed = false;
  private readonly channels = new Map<string, ChannelState>();
  private readonly consumers = new Map<string, JetStreamSubscription>();
  /** Subscription keys being set up, so that one id cannot subscribe twice at once. */
  private readonly starting = new Set<string>();

  constructor(private readonly options: JetStreamChannelBackendOptions) {
    if (options.servers.length === 0) throw new RangeError('servers must name at least one NATS server');
    this.servers = [...options.servers];
    this.connectionName = options.name ?? 'knative-eventing-jetstream';
    this.ackWaitMs = options.ackWaitMs ?? 30_000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
    this.maxPendingPublishes = options.maxPendingPublishes ?? 1024;
    const initialMs = options.nackDelayMs ?? 1000;
    const maxMs = options.maxNackDelayMs ?? Math.max(60_000, initialMs);
    if (!(this.ackWaitMs >= 1)) throw new RangeError(`ackWaitMs must be >= 1, got ${this.ackWaitMs}`);
    if (!(this.publishTimeoutMs >= 1))
      throw new RangeError(`publishTimeoutMs must be >= 1, got ${this.publishTimeoutMs}`);
    if (!Number.isInteger(this.maxPendingPublishes) || this.maxPendingPublishes < 1)
      throw new RangeError(`maxPendingPublishes must be a positive integer, got ${this.maxPendingPublishes}`);
    if (!(initialMs >= 0)) throw new RangeError(`nackDelayMs must be >= 0, got ${initialMs}`);
    if (!(maxMs >= initialMs))
      throw new RangeError(`maxNackDelayMs must be >= nackDelayMs (${initialMs}), got ${maxMs}`);
    this.redelivery = { initialMs, maxMs };
  }

  /** Connects now (otherwise the first call does); rejects when no server answers. */
  async connect(): Promise<void> {
    await this.connection();
  }

  /**
   * Creates the channel's stream, or updates it to `settings.stream` (idempotent); without
   * `settings.stream` an existing stream is left as it is. A bound stream (`stream.overrideName`) keeps
   * its own subjects and gains the channel's. Throws with the server's reason when JetStream refuses a
   * change (the storage of an existing stream, for one).
   */
  async ensureChannel(channel: ChannelRef, settings?: JetStreamChannelSettings): Promise<void> {
    if (this.closed) throw new Error('channel backend is closed');
    const { jsm } = await this.connection();
    const override = settings?.stream?.overrideName;
    const name = override ? checkStreamName(override) : streamName(channel);
    const wanted = buildStreamConfig(
      name,
      publishSubject(channel),
      settings?.stream?.config ?? this.options.stream,
    );
    let current;
    try {
      current = await jsm.streams.info(name);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw streamError(name, 'look up', err);
    }
    if (current === undefined) {
      try {
        await jsm.streams.add(wanted);
      } catch (err) {
        throw streamError(name, 'create', err);
      }
    } else if (settings?.stream !== undefined) {
      if (override) wanted.subjects = [...new Set([...current.config.subjects, ...wanted.subjects])];
      const differs = streamDifferences(current.config, wanted);
      if (differs.length > 0) {
        try {
          await jsm.streams.update(name, wanted);
        } catch (err) {
          throw streamError(name, `change ${differs.join(', ')} of`, err);
        }
      }
    }
    this.channels.set(channelKey(channel), {
      stream: name,
      template: settings?.consumerConfigTemplate ?? this.options.consumer,
    });
  }

  /** Closes the channel's consumers (with `reason`, default `channel_deleted`) and deletes its stream and consumers. */
  async deleteChannel(channel: ChannelRef, reason: string = DISCARD_REASONS.channelDeleted): Promise<void> {
    const key = channelKey(channel);
    const stream = this.streamOf(channel);
    this.channels.delete(key);
    await Promise.all(
      [...this.consumers.values()].filter((c) => c.channelKey === key).map((c) => c.close(reason)),
    );
    const { jsm } = await this.connection();
    try {
      await jsm.streams.delete(stream);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw streamError(stream, 'delete', err);
    }
  }

  /**
   * Deletes a subscription's durable consumer, closing its consumer here first (reason
   * `subscription_deleted`). Closing a consumer keeps the durable consumer for the next start; the
   * data plane calls this once the Subscription or Trigger is gone. Deleting what does not exist is fine.
   */
  async deleteSubscription(channel: ChannelRef, id: string): Promise<void> {
    await this.consumers.get(`${channelKey(channel)}\n${id}`)?.close(SUBSCRIPTION_DELETED);
    const { jsm } = await this.connection();
    const stream = this.streamOf(channel);
    try {
      await jsm.consumers.delete(stream, consumerName(id));
    } catch (err) {
      if (
        isApiError(err, JetStreamApiCodes.ConsumerNotFound) ||
        isApiError(err, JetStreamApiCodes.StreamNotFound)
      )
        return;
      throw new Error(`cannot delete consumer ${consumerName(id)} of stream ${stream}: ${errorText(err)}`, {
        cause: err,
      });
    }
  }

  /**
   * Publishes the event on the channel's subject and resolves once JetStream acknowledged it
   * (`Nats-Msg-Id` = `dedupId`: stored once within the stream's duplicate window). Refused with 503
   * while NATS is unreachable, when JetStream does not acknowledge within `publishTimeoutMs`, or when
   * `maxPendingPublishes` appends already await their acknowledgement.
   */
  async append(
    channel: ChannelRef,
    event: CloudEvent,
    headers: Record<string, string>,
    options?: AppendOptions,
  ): Promise<AppendResult> {
    if (this.closed) return unavailable('channel backend is closed');
    let c = this.connected;
    if (c === undefined) {
      try {
        c = await this.connection();
      } catch (err) {
        return unavailable(`cannot connect to NATS (${this.servers.join(', ')}): ${errorText(err)}`);
      }
    }
    if (!this.up) return unavailable(`not connected to NATS (${this.servers.join(', ')}); reconnecting`);
    if (this.pendingPublishes >= this.maxPendingPublishes) {
      return unavailable(`${this.pendingPublishes} appends already await JetStream's acknowledgement`);
    }
    const subject = publishSubject(channel);
    let h: MsgHdrs;
    let data: Uint8Array;
    try {
      const m = toNatsMessage(event);
      h = messageHeaders(m.headers, headers);
      data = m.data;
    } catch (err) {
      return {
        ok: false,
        status: 500,
        reason: `cannot write the event as a NATS message: ${errorText(err)}`,
      };
    }
    this.pendingPublishes++;
    try {
      const dedupId = options?.dedupId;
      await c.js.publish(
        subject,
        data,
        dedupId === undefined
          ? { headers: h, timeout: this.publishTimeoutMs }
          : { headers: h, timeout: this.publishTimeoutMs, msgID: dedupId },
      );
      return ACCEPTED;
    } catch (err) {
      return unavailable(`JetStream did not store the event on ${subject}: ${publishErrorText(err)}`);
    } finally {
      this.pendingPublishes--;
    }
  }

  /**
   * Starts (or resumes) the subscription's durable pull consumer `KN_SUB_<id>`: explicit acks,
   * MaxAckPending = `maxInFlight` (unless the channel's template sets it), deliver policy New for a new
   * consumer (what is appended from now on), AckWait from the template or `ackWaitMs`. An existing
   * consumer keeps its position; its changeable settings are updated.
   */
  async subscribe(
    channel: ChannelRef,
    options: SubscriptionOptions,
    handler: MessageHandler,
  ): Promise<Consumer> {
    if (this.closed) throw new Error('channel backend is closed');
    if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be a positive integer, got ${options.maxInFlight}`);
    }
    const name = consumerName(options.id);
    const key = `${channelKey(channel)}\n${options.id}`;
    if (this.consumers.has(key) || this.starting.has(key)) {
      throw new Error(
        `subscription ${options.id} already consumes channel ${channel.namespace}/${channel.name}`,
      );
    }
    this.starting.add(key);
    try {
      const { js, jsm } = await this.connection();
      const stream = this.streamOf(channel);
      const template = this.channels.get(channelKey(channel))?.template ?? this.options.consumer;
      const wanted = buildConsumerConfig(name, template, {
        ackWaitMs: this.ackWaitMs,
        maxAckPending: options.maxInFlight,
      });
      const info = await ensureConsumer(jsm, channel, stream, wanted);
      const maxAckPending = info.config.max_ack_pending ?? options.maxInFlight;
      const sub = new JetStreamSubscription(
        {
          channel: { namespace: channel.namespace, name: channel.name },
          stream,
          name,
          ackWaitMs: (info.config.ack_wait ?? this.ackWaitMs * 1e6) / 1e6,
          maxInFlight: options.maxInFlight,
          redelivery: this.redelivery,
          options,
          handler,
          onMalformed: this.options.onMalformedMessage,
          detach: (s) => {
            if (this.consumers.get(key) === s) this.consumers.delete(key);
          },
        },
        Math.max(1, maxAckPending) * 2,
      );
      const batch =
        template?.fetchBatchSize ??
        Math.min(MAX_FETCH_BATCH, maxAckPending > 0 ? maxAckPending : MAX_FETCH_BATCH);
      const expires = template?.fetchMaxWait
        ? Math.max(1000, goDurationMs(template.fetchMaxWait, 'consumerConfigTemplate.fetchMaxWait', 0))
        : undefined;
      const consumer = await js.consumers.get(stream, name);
      if (this.closed) throw new Error('channel backend is closed');
      this.consumers.set(key, sub);
      try {
        await sub.start(consumer, batch, expires);
      } catch (err) {
        if (this.consumers.get(key) === sub) this.consumers.delete(key);
        throw err;
      }
      return { close: (reason) => sub.close(reason) };
    } finally {
      this.starting.delete(key);
    }
  }

  /**
   * Resolves once no consumer of this backend has unfinished messages: none held here, and none pending
   * or awaiting acknowledgement in its durable consumer. A message that keeps failing keeps this
   * pending; callers bound it with their own timeout.
   */
  async drain(): Promise<void> {
    while (!(await this.idle())) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /**
   * Closes every consumer (with `reason`, default `shutdown`: their unacknowledged messages stay in
   * JetStream for the next start), then drains and closes the connection. Later appends answer 503.
   */
  async close(reason: string = DISCARD_REASONS.shutdown): Promise<void> {
    this.closed = true;
    await Promise.all([...this.consumers.values()].map((c) => c.close(reason)));
    const connecting = this.connecting;
    this.connecting = undefined;
    this.connected = undefined;
    this.up = false;
    const c = await connecting?.catch(() => undefined);
    if (c === undefined || c.nc.isClosed()) return;
    try {
      await c.nc.drain();
    } catch {
      await c.nc.close().catch(() => undefined);
    }
  }

  private async idle(): Promise<boolean> {
    const consumers = [...this.consumers.values()];
    if (consumers.length === 0) return true;
    if (consumers.some((c) => c.unsettled > 0)) return false;
    const c = this.connected;
    if (c === undefined || !this.up) return false;
    for (const sub of consumers) {
      try {
        const info = await c.jsm.consumers.info(sub.stream, sub.consumer);
        if (info.num_pending > 0 || info.num_ack_pending > 0) return false;
      } catch {
        return false;
      }
    }
    return true;
  }

  private streamOf(channel: ChannelRef): string {
    return this.channels.get(channelKey(channel))?.stream ?? streamName(channel);
  }

  private connection(): Promise<Connected> {
    if (this.closed) return Promise.reject(new Error('channel backend is closed'));
    if (this.connecting === undefined) {
      const pending = this.open();
      this.connecting = pending;
      pending.catch(() => {
        if (this.connecting === pending) this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  private async open(): Promise<Connected> {
    const nc = (await connect({
      ...this.options.connection,
      servers: this.servers,
      name: this.connectionName,
      maxReconnectAttempts: -1,
      reconnectTimeWait: this.options.connection?.reconnectTimeWait ?? 1000,
      timeout: this.options.connection?.timeout ?? this.publishTimeoutMs,
      // Without this the client builds an Error (with a stack) for every publish and ack, in case it
      // times out: a tenth of the CPU per event on the append path. Our errors say where already.
      noAsyncTraces: this.options.connection?.noAsyncTraces ?? true,
    })) as NatsConnection;
    try {
      const jsm = await jetstreamManager(nc, { timeout: this.publishTimeoutMs });
      const js = jetstream(nc, { timeout: this.publishTimeoutMs });
      const c: Connected = { nc, js, jsm };
      if (this.closed) throw new Error('channel backend is closed');
      this.connected = c;
      this.up = true;
      void this.watch(c);
      return c;
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /** Follows the connection: appends are refused while it is down; a closed connection is opened anew on next use. */
  private async watch(c: Connected): Promise<void> {
    for await (const s of c.nc.status()) {
      if (this.connected !== c) return;
      if (s.type === 'disconnect') this.up = false;
      else if (s.type === 'reconnect') this.up = true;
    }
    if (this.connected === c) {
      this.connected = undefined;
      this.connecting = undefined;
      this.up = false;
    }
  }
}

/** Creates the durable consumer, or updates the settings JetStream lets change on an existing one. */
async function ensureConsumer(
  jsm: JetStreamManager,
  channel: ChannelRef,
  stream: string,
  wanted: ConsumerConfig,
): Promise<ConsumerInfo> {
  const name = wanted.name as string;
  for (let attempt = 0; ; attempt++) {
    let current: ConsumerInfo | undefined;
    try {
      current = await jsm.consumers.info(stream, name);
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) {
        throw new Error(
          `channel ${channel.namespace}/${channel.name} does not exist (no JetStream stream ${stream})`,
          { cause: err },
        );
      }
      if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) {
        throw new Error(`cannot look up consumer ${name} of stream ${stream}: ${errorText(err)}`, {
          cause: err,
        });
      }
    }
    try {
      if (current === undefined) return await jsm.consumers.add(stream, wanted);
      if (current.config.deliver_subject) {
        throw new Error(
          `consumer ${name} of stream ${stream} is a push consumer; this backend pulls (delete the consumer to let it be re-created)`,
        );
      }
      const update = consumerUpdate(current.config, wanted);
      return update === undefined ? current : await jsm.consumers.update(stream, name, update);
    } catch (err) {
      // Created by another replica between our look-up and create: look it up again, once.
      if (
        current === undefined &&
        attempt === 0 &&
        err instanceof JetStreamApiError &&
        CONSUMER_EXISTS.has(err.code)
      )
        continue;
      if (err instanceof Error && err.message.startsWith(`consumer ${name} of stream`)) throw err;
      throw new Error(
        `cannot ${current === undefined ? 'create' : 'update'} consumer ${name} of stream ${stream}: ${errorText(err)}`,
        { cause: err },
      );
    }
  }
}

function streamError(stream: string, what: string, err: unknown): Error {
  return new Error(`cannot ${what} JetStream stream ${stream}: ${errorText(err)}`, { cause: err });
}

/** A publish failure in words: "no responders" means no stream takes the subject, or JetStream is down. */
function publishErrorText(err: unknown): string {
  const text = errorText(err);
  if (/jetstream is not enabled|no responders/i.test(text)) {
    return 'no stream takes this subject (the channel was not created, or JetStream is unavailable)';
  }
  return text;
}
