import type { NatsConsumerConfigTemplate, NatsStream, NatsStreamConfig } from '@eventing/api';
import { parseNatsMessage, toNatsMessage, type CloudEvent } from '@eventing/cloudevents';
import { TRACE_EXTENSION_MARKER, hasTraceAttributes, traceIn, traceOut } from '../trace-extension';
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
  type JsMsg,
} from '@nats-io/jetstream';
import { randomBytes } from 'node:crypto';
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
import { checkConsumerName, checkStreamName, consumerName, publishSubject, streamName } from './naming';

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
  /**
   * Whether `ensureChannel` creates or updates a channel's stream (default true). False where the
   * control plane does: `ensureChannel` then only checks that the stream exists.
   */
  createStores?: boolean;
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
  /**
   * How long a consumer may go without receiving a message before `backlog()` asks JetStream for its
   * pending count again (at most this often per consumer). Default 5000 ms.
   */
  backlogRefreshMs?: number;
}

/** Prefix of the message headers that carry an event's passthrough HTTP headers (`kn-http-traceparent`). */
export const PASSTHROUGH_HEADER_PREFIX = 'kn-http-';
/** `onDiscard` reason of a stored message that is not a CloudEvent. */
export const MALFORMED_MESSAGE = 'malformed_message';
/** Type of the stand-in event reported to `onDiscard` for a message that is not a CloudEvent. */
export const MALFORMED_EVENT_TYPE = 'dev.knative.eventing.jetstream.malformed';

// Most of the client's types live in @nats-io/nats-core behind its package `exports` subpath
// (`/internal`), which this repository's module resolution (node10) does not follow: there they are
// `any`. The parts of them used here are declared here.
/** The parts of nats-core's Msg used here. */
interface NatsMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Status headers of a reply: code 503 = no responders. */
  readonly headers?: { readonly code: number } | undefined;
}
/** The parts of nats-core's NatsConnection used here. */
interface NatsConnection {
  status(): AsyncIterable<{ type: string }>;
  isClosed(): boolean;
  drain(): Promise<void>;
  close(): Promise<void>;
  subscribe(
    subject: string,
    options: { callback(err: Error | null, msg: NatsMsg): void },
  ): { unsubscribe(): void };
  /** What the server said when the client connected. */
  readonly info?: { readonly max_payload: number } | undefined;
  /** The connection's protocol handler (a public member of nats-core's NatsConnectionImpl). */
  readonly protocol?: Partial<NatsProtocol>;
}
/** The parts of nats-core's ProtocolHandler used here: how its publish() queues an encoded command. */
interface NatsProtocol {
  sendCommand(cmd: Uint8Array, ...payloads: Uint8Array[]): void;
  /** Set once the connection drains: nothing more may be published. */
  readonly noMorePublishing: boolean;
}
/** JetStream's "consumer already exists" and "consumer name already in use". */
const CONSUMER_EXISTS: ReadonlySet<number> = new Set([10148, 10013]);

const ACCEPTED: AppendResult = Object.freeze({ ok: true as const });
/** Close reasons after which the durable consumer's messages stay for the next start. */
const KEEP_REASONS: ReadonlySet<string> = new Set([DISCARD_REASONS.shutdown]);
const SUBSCRIPTION_DELETED = 'subscription_deleted';
/** JetStream's de-duplication header. */
const MSG_ID_HEADER = 'Nats-Msg-Id';
/** Pull requests ask for at most this many messages (and never more than the consumer may have unacked). */
const MAX_FETCH_BATCH = 256;

const channelKey = (ref: ChannelRef): string => `${ref.namespace}/${ref.name}`;
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const isApiError = (err: unknown, code: number): boolean =>
  err instanceof JetStreamApiError && err.code === code;

function unavailable(reason: string): AppendResult {
  return { ok: false, status: 503, reason, retryAfterSeconds: 1 };
}

const CR_OR_LF = /[\r\n]/;
const textDecoder = new TextDecoder();

/**
 * Message headers as nats-core writes a MsgHdrs (`NATS/1.0`, a `name: value` line each, an empty line)
 * and validated as it validates them: names of printable ASCII without `:`, values without CR or LF,
 * trimmed. The names here are distinct, so it needs no MsgHdrs, whose every `append` copies and
 * searches the names before it.
 */
function headerBlock(
  ce: Record<string, string>,
  passthrough: Record<string, string>,
  msgId: string | undefined,
): string {
  let text = 'NATS/1.0\r\n';
  const add = (name: string, value: string): void => {
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c === 58 || c < 33 || c > 126)
        throw new Error(`'${name[i]}' is not a valid character in a header name (${name})`);
    }
    if (CR_OR_LF.test(value)) throw new Error(`the value of header ${name} contains CR or LF`);
    text += `${name}: ${value.trim()}\r\n`;
  };
  for (const name in ce) add(name, ce[name]!);
  for (const name in passthrough) add(PASSTHROUGH_HEADER_PREFIX + name, passthrough[name]!);
  // JetStream stores a message once per Nats-Msg-Id within the stream's duplicate window.
  if (msgId !== undefined) add(MSG_ID_HEADER, msgId);
  return `${text}\r\n`;
}

/** A message's headers: name and value(s), in the order of the message. */
type HeaderList = Iterable<readonly [string, string | readonly string[]]>;

/** The passthrough HTTP headers carried by a message (names lower case, first value of each). */
function passthroughHeaders(h: HeaderList | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  const n = PASSTHROUGH_HEADER_PREFIX.length;
  for (const [name, values] of h) {
    if (name.length <= n || name.slice(0, n).toLowerCase() !== PASSTHROUGH_HEADER_PREFIX) continue;
    const key = name.slice(n).toLowerCase();
    const value = typeof values === 'string' ? values : values[0];
    if (!(key in out) && value !== undefined) out[key] = value;
  }
  return out;
}

/** Whether a message carries TRACE_EXTENSION_MARKER (asked only of events with trace attributes). */
function hasTraceMarker(h: HeaderList | undefined): boolean {
  if (h === undefined) return false;
  for (const [name] of h) if (name.toLowerCase() === TRACE_EXTENSION_MARKER) return true;
  return false;
}

/** Whether String.trim removes this character (white space or a line terminator). */
function isTrimmed(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  if (c < 128) return false;
  return String.fromCharCode(c).trim() === '';
}

/** What nats-core's MsgImpl keeps of a message as received: the header block is the first `_msg.hdr` bytes of `_rdata` (hdr -1: none). */
interface ReceivedMsg {
  readonly _msg?: { readonly hdr?: unknown };
  readonly _rdata?: unknown;
}

/**
 * A delivered message's headers, read from the bytes received as MsgHdrs.decode reads them (UTF-8,
 * after the status line a `name: value` line each, values trimmed) into a list of lines. The client's
 * `headers` would build a MsgHdrs, whose decode appends every line with a copy and search of the names
 * before it; it is used where the bytes are not at hand.
 */
function headerLines(msg: JsMsg): HeaderList | undefined {
  const received = (msg as JsMsg & { readonly msg?: ReceivedMsg }).msg;
  const hdr = received?._msg?.hdr;
  const bytes = received?._rdata;
  if (typeof hdr !== 'number' || !(bytes instanceof Uint8Array)) return msg.headers;
  if (hdr <= 0) return undefined;
  const text = textDecoder.decode(bytes.subarray(0, hdr));
  const lines: Array<readonly [string, string]> = [];
  for (let start = text.indexOf('\r\n') + 2; start > 1 && start < text.length;) {
    let end = text.indexOf('\r\n', start);
    if (end === -1) end = text.length;
    const colon = text.indexOf(':', start);
    if (colon !== -1 && colon < end) {
      // The value trimmed as String.trim trims it, sliced once.
      let from = colon + 1;
      let to = end;
      while (from < to && isTrimmed(text.charCodeAt(from))) from++;
      while (to > from && isTrimmed(text.charCodeAt(to - 1))) to--;
      lines.push([text.slice(start, colon), text.slice(from, to)]);
    }
    start = end + 2;
  }
  return lines;
}

/** A publish waiting for its PubAck. */
interface Waiting {
  readonly deadline: number;
  /** Called once: undefined when JetStream stored the message, else why not. */
  readonly done: (error: string | undefined) => void;
}

const PUB_ACK_START = '{"stream":"';

/** Why a PubAck says the message was not stored, or undefined when it was. */
function pubAckError(msg: NatsMsg): string | undefined {
  if (msg.data.length === 0) {
    return msg.headers?.code === 503 ? 'no responders' : `empty reply (status ${msg.headers?.code ?? 0})`;
  }
  const text = textDecoder.decode(msg.data);
  // A PubAck (`{"stream":"…","seq":…}`) is parsed only when it may carry an error.
  if (text.startsWith(PUB_ACK_START) && text[PUB_ACK_START.length] !== '"' && !text.includes('"error"'))
    return undefined;
  let ack: { stream?: string; error?: { code?: number; description?: string } };
  try {
    ack = JSON.parse(text) as typeof ack;
  } catch {
    return 'invalid ack response';
  }
  if (ack.error) return ack.error.description ?? `error ${ack.error.code ?? 'without a code'}`;
  return ack.stream ? undefined : 'invalid ack response';
}

/**
 * What the backend writes to one NATS connection: publishes, whose PubAcks it awaits, and acks, nacks
 * and in-progress acks. Two costs of the client's `publish()` are spared:
 * - A socket write per command. The client writes what was queued since its last write on the next
 *   microtask, so a publish or an ack issued on its own (one per HTTP request into ingress, one per
 *   delivery's response) costs a write each, and on loopback the server's read with it. Here the
 *   commands of one turn of the event loop go out in one write.
 * - Encoding per command: the client checks both subjects, stringifies the headers and encodes each
 *   command line into a new Uint8Array with an ArrayBuffer of its own. Here the command lines and
 *   headers of one turn are one string, encoded once; the payloads go out as they are.
 * PubAcks are matched on one reply subscription (`<inbox>.<n>`) as nats-core's request() matches
 * replies, without what request() costs per publish (a timer, a promise race, an Error made for its
 * cancellation): one timer, armed for the oldest publish, times out the unanswered.
 */
class Outbox {
  private text = '';
  private readonly chunks: Uint8Array[] = [];
  /** Tokens of the publishes queued since the last write. */
  private readonly queued: number[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private readonly prefix: string;
  private next = 0;
  /** By token, oldest first (all wait the same time, so that is also by deadline). */
  private readonly waiting = new Map<number, Waiting>();
  private timer: NodeJS.Timeout | undefined;
  private readonly sub: { unsubscribe(): void };
  private readonly runner = (): void => {
    this.scheduled = undefined;
    this.flush();
  };
  private readonly expire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    for (const [token, w] of this.waiting) {
      if (w.deadline > now) break;
      this.waiting.delete(token);
      w.done(`no acknowledgement within ${this.timeoutMs} ms`);
    }
    this.arm();
  };

  constructor(
    private readonly nc: NatsConnection,
    private readonly protocol: NatsProtocol,
    inboxPrefix: string,
    private readonly timeoutMs: number,
  ) {
    this.prefix = `${inboxPrefix}.${randomBytes(11).toString('hex')}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (err, msg) => this.answer(err, msg) });
  }

  /**
   * Publishes a message with headers (`headers`: a header block as headerBlock writes it); resolves
   * with undefined once JetStream stored it, else with why not.
   */
  publish(subject: string, headers: string, data: Uint8Array): Promise<string | undefined> {
    const hlen = Buffer.byteLength(headers);
    const max = this.nc.info?.max_payload;
    if (max !== undefined && hlen + data.length > max) {
      return Promise.resolve(
        `the message (${hlen + data.length} bytes with headers) exceeds the server's max_payload (${max} bytes)`,
      );
    }
    return new Promise((done) => {
      const token = this.next++;
      this.waiting.set(token, { deadline: Date.now() + this.timeoutMs, done });
      if (this.timer === undefined) this.arm();
      this.text += `HPUB ${subject} ${this.prefix}${token} ${hlen} ${hlen + data.length}\r\n${headers}`;
      if (data.length > 0) {
        this.chunks.push(Buffer.from(this.text), data);
        this.text = '\r\n';
      } else {
        this.text += '\r\n';
      }
      this.queued.push(token);
      this.schedule();
    });
  }

  /** Answers a JetStream message on its ack subject: `+ACK`, `-NAK`, `+WPI`, `+TERM`. */
  respond(reply: string, payload: string): void {
    if (reply === '') return;
    this.text += `PUB ${reply} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`;
    this.schedule();
  }

  /** Writes what is queued now. */
  flush(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    if (this.text !== '') {
      this.chunks.push(Buffer.from(this.text));
      this.text = '';
    }
    if (this.chunks.length === 0) return;
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks.length = 0;
    try {
      if (this.nc.isClosed() || this.protocol.noMorePublishing) throw new Error('the connection is closed');
      // Into the client's outbound buffer, where its publish() puts each command: written on the next
      // microtask, or at once beyond its flush threshold. As with publish(), what a lost connection
      // held is dropped when it reconnects (the appends time out, JetStream redelivers the unacked).
      this.protocol.sendCommand(bytes);
    } catch (err) {
      // Acks, nacks and in-progress acks are lost with the connection: JetStream redelivers after AckWait.
      const reason = errorText(err);
      for (const token of this.queued) this.answered(token, reason);
    }
    this.queued.length = 0;
  }

  /** Fails what still waits (the connection is gone) and stops listening. */
  close(reason: string): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      this.sub.unsubscribe();
    } catch {
      // Closed with the connection.
    }
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.done(reason);
  }

  private schedule(): void {
    this.scheduled ??= setImmediate(this.runner);
  }

  private answer(err: Error | null, msg: NatsMsg): void {
    if (err !== null) {
      this.close(errorText(err));
      return;
    }
    this.answered(Number(msg.subject.slice(this.prefix.length)), pubAckError(msg));
  }

  private answered(token: number, error: string | undefined): void {
    const w = this.waiting.get(token);
    if (w === undefined) return; // Answered after it timed out.
    this.waiting.delete(token);
    w.done(error);
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    const oldest = this.waiting.values().next();
    if (oldest.done) return;
    this.timer = setTimeout(this.expire, Math.max(1, oldest.value.deadline - Date.now()));
    this.timer.unref();
  }
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
  outbox: Outbox;
}

/** One message taken from JetStream and not settled yet (queued for a handler, or in one). */
interface Held {
  msg: JsMsg;
  /** Its ack subject, where acks, nacks and in-progress acks go. */
  reply: string;
  /** JetStream's delivery count of it (1 on the first delivery). */
  deliveries: number;
  /** When JetStream last heard about it (delivery or in-progress ack), for AckWait. */
  touched: number;
}

const ACK = '+ACK';
const NAK = '-NAK';
const WORKING = '+WPI';
const TERM = '+TERM';

/** `-NAK` with a redelivery delay in nanoseconds, as JsMsg.nak(ms) writes it (whole, as the server reads it). */
const nakAfter = (ms: number): string => (ms ? `${NAK} {"delay":${Math.round(ms * 1_000_000)}}` : NAK);

/** The stream sequence of a message (from its ack subject, as JsMsg.seq reads it). */
function sequenceOf(h: Held): number {
  const seq = ackSubjectNumber(h.reply, 1);
  return Number.isNaN(seq) ? h.msg.seq : seq;
}

/**
 * The `index`th number after the consumer name in a JetStream ack subject (0: delivery count, 1: stream
 * sequence, 4: messages the consumer had not delivered yet besides this one):
 * `$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<count>.<stream seq>.…` or, from older servers,
 * `$JS.ACK.<stream>.<consumer>.<count>.<stream seq>.…` (9 tokens). As JsMsg.info reads them, without
 * splitting the subject and filling an object for every message; NaN when the subject is no JetStream
 * ack subject.
 */
function ackSubjectNumber(reply: string, index: 0 | 1 | 4): number {
  if (!reply.startsWith('$JS.ACK.')) return NaN;
  let dots = 0;
  for (let i = reply.indexOf('.'); i !== -1; i = reply.indexOf('.', i + 1)) dots++;
  if (dots !== 8 && dots < 10) return NaN;
  let at = 0;
  for (let token = (dots === 8 ? 4 : 6) + index; token > 0; token--) at = reply.indexOf('.', at) + 1;
  let n = 0;
  let digits = 0;
  for (; at < reply.length; at++, digits++) {
    const d = reply.charCodeAt(at) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  return digits === 0 ? NaN : n;
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
  /** Where acks, nacks and in-progress acks are written (with the appends of the same turn). */
  outbox: Outbox;
  onMalformed: ((report: MalformedJetStreamMessage) => void) | undefined;
  detach(consumer: JetStreamSubscription): void;
  /** The durable consumer's count of messages not delivered yet (its `num_pending`), asked of JetStream. */
  pendingInStore(): Promise<number>;
  /** How long without a message before `backlog` asks `pendingInStore` again. */
  backlogRefreshMs: number;
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
  /** The ack subject of the message received last (it tells the consumer's pending count then), and when. */
  private lastReply = '';
  private lastReceived = -Infinity;
  /** The pending count JetStream answered last, and when it was asked. */
  private listedPending = 0;
  private listedAt = -Infinity;
  /** When JetStream was last asked (answered or not), and whether it is being asked now. */
  private askedAt = -Infinity;
  private listing = false;

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

  /**
   * Messages of this subscription not finished yet: those its durable consumer has not delivered (as
   * the last message received or the last consumer info told), those held here unacknowledged, and
   * those nacked and waiting for their redelivery. When no message came for `backlogRefreshMs` (idle,
   * or all handlers busy so JetStream delivers no more), it asks JetStream again in the background, at
   * most that often; the next call reports the answer.
   */
  backlog(now: number): number {
    let pending = this.listedPending;
    if (this.lastReceived > this.listedAt) {
      const told = ackSubjectNumber(this.lastReply, 4);
      if (!Number.isNaN(told)) pending = told;
    }
    const refreshMs = this.p.backlogRefreshMs;
    if (!this.closed && !this.listing && now - Math.max(this.lastReceived, this.askedAt) >= refreshMs) {
      this.listing = true;
      this.askedAt = now;
      this.p.pendingInStore().then(
        (count) => {
          this.listing = false;
          this.listedPending = count;
          this.listedAt = now;
        },
        () => {
          // Unreachable now: the last known count stands, and a later call asks again.
          this.listing = false;
        },
      );
    }
    return pending + this.held.size + this.awaiting.size;
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
      this.p.outbox.respond(h.reply, NAK);
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
    const reply = (msg as JsMsg & { readonly reply: string }).reply;
    if (this.closed) {
      this.p.outbox.respond(reply, NAK);
      return;
    }
    const count = ackSubjectNumber(reply, 0);
    const h: Held = {
      msg,
      reply,
      deliveries: Number.isNaN(count) ? msg.info.deliveryCount : count,
      touched: Date.now(),
    };
    this.held.add(h);
    this.lastReply = reply;
    this.lastReceived = h.touched;
    if (h.deliveries > 1) this.awaiting.delete(sequenceOf(h));
    if (this.inFlight < this.p.maxInFlight) void this.run(h);
    else this.queue.push(h);
  }

  private async run(h: Held): Promise<void> {
    this.inFlight++;
    const msg = h.msg;
    const lines = headerLines(msg);
    const parsed = parseNatsMessage(lines, msg.data);
    const headers = passthroughHeaders(lines);
    if (!parsed.ok) {
      this.malformed(h, headers, parsed.reason);
      this.finish(h);
      return;
    }
    const message: ChannelMessage = {
      event: hasTraceAttributes(parsed.event)
        ? traceIn(parsed.event, headers, hasTraceMarker(lines))
        : parsed.event,
      headers,
      redeliveries: Math.max(0, h.deliveries - 1),
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
    const outbox = this.p.outbox;
    if (ack === 'ack') outbox.respond(h.reply, ACK);
    else if (ack === 'term') outbox.respond(h.reply, TERM);
    else if (this.closed) {
      if (KEEP_REASONS.has(this.closeReason)) {
        // Stays in the durable consumer for the next start, without a delay.
        outbox.respond(h.reply, NAK);
      } else {
        this.report([{ ...message, redeliveries: message.redeliveries + 1 }], this.closeReason);
        outbox.respond(h.reply, TERM);
      }
    } else {
      const delay =
        ack === 'nack'
          ? nackDelay(this.p.redelivery.initialMs, this.p.redelivery.maxMs, message.redeliveries)
          : Math.max(0, ack.nack);
      outbox.respond(h.reply, nakAfter(delay));
      this.remember(sequenceOf(h), { ...message, redeliveries: message.redeliveries + 1 });
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
  private malformed(h: Held, headers: Record<string, string>, reason: string): void {
    const msg = h.msg;
    this.p.outbox.respond(h.reply, `${TERM} ${`not a CloudEvent: ${reason}`.slice(0, 200)}`);
    const report: MalformedJetStreamMessage = {
      channel: this.p.channel,
      subscription: this.id,
      stream: this.p.stream,
      sequence: sequenceOf(h),
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
        id: `${this.p.stream}-${report.sequence}`,
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
      this.p.outbox.respond(h.reply, WORKING);
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
  private readonly backlogRefreshMs: number;
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
    this.backlogRefreshMs = options.backlogRefreshMs ?? 5000;
    if (!(this.backlogRefreshMs >= 0))
      throw new RangeError(`backlogRefreshMs must be >= 0, got ${this.backlogRefreshMs}`);
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
    if (this.options.createStores === false) {
      if (current === undefined)
        throw new Error(
          `stream ${name} of channel ${channelKey(channel)} is not there yet (the control plane creates it)`,
        );
    } else if (current === undefined) {
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
    let h: string;
    let data: Uint8Array;
    try {
      const t = traceOut(event, headers);
      const m = toNatsMessage(t.event);
      if (t.marker) m.headers[TRACE_EXTENSION_MARKER] = '1';
      h = headerBlock(m.headers, t.passthrough, options?.dedupId);
      data = m.data;
    } catch (err) {
      return {
        ok: false,
        status: 500,
        reason: `cannot write the event as a NATS message: ${errorText(err)}`,
      };
    }
    this.pendingPublishes++;
    const error = await c.outbox.publish(subject, h, data);
    this.pendingPublishes--;
    return error === undefined
      ? ACCEPTED
      : unavailable(`JetStream did not store the event on ${subject}: ${publishErrorText(error)}`);
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
    const name =
      options.consumerGroup === undefined
        ? consumerName(options.id)
        : checkConsumerName(options.consumerGroup);
    const key = `${channelKey(channel)}\n${options.id}`;
    if (this.consumers.has(key) || this.starting.has(key)) {
      throw new Error(
        `subscription ${options.id} already consumes channel ${channel.namespace}/${channel.name}`,
      );
    }
    this.starting.add(key);
    try {
      const { js, jsm, outbox } = await this.connection();
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
          outbox,
          onMalformed: this.options.onMalformedMessage,
          detach: (s) => {
            if (this.consumers.get(key) === s) this.consumers.delete(key);
          },
          pendingInStore: () => this.pendingInStore(stream, name),
          backlogRefreshMs: this.backlogRefreshMs,
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
   * Messages not finished per subscription of this process, by subscription id: not delivered yet by
   * its durable consumer, plus held here unacknowledged or waiting for a redelivery. Synchronous: the
   * pending count comes with every message received; a consumer that received none for
   * `backlogRefreshMs` has it asked of JetStream in the background, reported by the next call. Replicas
   * pulling from one durable consumer each see its whole pending count (see docs/observability.md).
   */
  backlog(): Array<readonly [string, number]> {
    const now = Date.now();
    const out: Array<readonly [string, number]> = [];
    for (const sub of this.consumers.values()) out.push([sub.id, sub.backlog(now)]);
    return out;
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
    if (c === undefined) return;
    // The settlements of the consumers just closed go out before the connection drains.
    c.outbox.flush();
    if (!c.nc.isClosed()) {
      try {
        await c.nc.drain();
      } catch {
        await c.nc.close().catch(() => undefined);
      }
    }
    c.outbox.close('channel backend is closed');
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

  /** A durable consumer's `num_pending`, asked of JetStream; rejects while not connected. */
  private async pendingInStore(stream: string, consumer: string): Promise<number> {
    const c = this.connected;
    if (c === undefined || !this.up) throw new Error('not connected to NATS');
    return (await c.jsm.consumers.info(stream, consumer)).num_pending;
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
      const protocol = nc.protocol;
      if (typeof protocol?.sendCommand !== 'function' || typeof protocol.noMorePublishing !== 'boolean') {
        throw new Error(
          'this version of @nats-io/nats-core has no ProtocolHandler.sendCommand to write with',
        );
      }
      const outbox = new Outbox(
        nc,
        protocol as NatsProtocol,
        this.options.connection?.inboxPrefix ?? '_INBOX',
        this.publishTimeoutMs,
      );
      const c: Connected = { nc, js, jsm, outbox };
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
    c.outbox.close('connection to NATS closed');
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
function publishErrorText(text: string): string {
  if (/jetstream is not enabled|no responders/i.test(text)) {
    return 'no stream takes this subject (the channel was not created, or JetStream is unavailable)';
  }
  return text;
}
