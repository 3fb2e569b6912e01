import { Agent, type Dispatcher as UndiciDispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import {
  type CloudEvent,
  type HeaderEncoding,
  parseHttp,
  pushBinaryHeaders,
  toStructured,
} from '@eventing/cloudevents';
import {
  SpanKind,
  TRACING,
  endHopSpan,
  startHopSpan,
  traceparentOf,
  withActiveSpan,
  withTraceparent,
  type Tracer,
} from '@eventing/observability';
import {
  FRAMES_HEADER,
  FramesClient,
  type ClientConnection,
  type FramePool,
  type FramesClientOptions,
  type StreamHandler,
} from '@eventing/frames';
import { withErrorExtensions } from './dead-letter';
import { pickPassthroughHeaders } from './headers';
import { type DeliveryPolicy, isRetryableStatus, parseRetryAfter, retryWait } from './policy';

/** The answer to one HTTP POST: a 2xx, or a failure saying whether another attempt may help. */
export type SendResult =
  | { ok: true; status: number; headers: Record<string, string>; body: Buffer }
  | {
      ok: false;
      status: number;
      headers: Record<string, string>;
      body: Buffer;
      reason: string;
      retryable: boolean;
      retryAfterMs?: number;
    };

/** Where replies of a delivery are stored when they are not POSTed to a URL. */
export interface ReplySink {
  /** Where the reply goes (e.g. the broker's URL); named in `knativeerrordest` when storing fails. */
  readonly destination?: string;
  /** Stores a reply with the passthrough headers of the response; ok:false fails the original delivery (R4). */
  send(
    event: CloudEvent,
    headers: Record<string, string>,
  ): Promise<{ ok: true } | { ok: false; status: number; reason: string }>;
}

/** Everything needed to deliver one event to one subscriber. */
export interface DeliveryRequest {
  event: CloudEvent;
  /** Passthrough headers to forward (already filtered by the caller). */
  headers: Record<string, string>;
  subscriberUri: string;
  /** Sent as Kn-Namespace. */
  namespace: string;
  /** Outbound content mode (T8); also used for reply-by-URL and the dead letter sink. */
  format: 'binary' | 'json';
  policy: DeliveryPolicy;
  deadLetterUri?: string;
  /** Absent ⇒ replies are dropped (R5). */
  reply?: ReplySink | { uri: string };
  /** Broker: a non-empty non-CloudEvent 2xx body fails with 502 (T10); channel: ignored (C8). */
  malformedReply: 'fail' | 'ignore';
  /** Graceful shutdown: stop waiting between retries. */
  signal?: AbortSignal;
  /**
   * Cancels the delivery outright (its trigger or subscription was deleted, or shutdown's grace
   * ended): the attempt in flight is aborted and no further attempt or dead letter is made.
   */
  cancel?: AbortSignal;
}

/** How a delivery ended. */
export type DeliveryOutcome = (
  | { kind: 'delivered'; status: number; attempts: number; replied: boolean }
  | { kind: 'dead-lettered'; status: number; attempts: number; deadLetterStatus: number }
  | { kind: 'failed'; status: number; attempts: number; reason: string }
) & {
  /** With tracing on: the `traceparent` of the delivery's span, so its log lines name the trace. */
  traceparent?: string;
};

/** Connection and size limits of a Dispatcher. */
export interface DispatcherOptions {
  /** Keep-alive connections per origin; default 100. */
  connectionsPerOrigin?: number;
  /** How long an idle connection is kept; default 4000 ms. */
  keepAliveTimeoutMs?: number;
  /** Largest response body read; default 4 MiB. A bigger 2xx (reply) body is a failure (502). */
  maxResponseBytes?: number;
  /** Sent as User-Agent when set. */
  userAgent?: string;
  /**
   * How binary-mode `ce-` header values are written, for every send (deliveries, replies by URL, dead
   * letters). 'upstream' (default): as the Go SDK and upstream Knative do, raw UTF-8, so Go subscribers
   * see the exact strings; 'percent': percent-encoded per the HTTP binding (3.1.3.2).
   */
  headerEncoding?: HeaderEncoding;
  /**
   * Eventing frames to origins that offer them (default on): once a response of an `http:` origin
   * carries `eventing-frames: 1` (our broker-ingress, channel dispatchers and broker-filter do), its
   * requests go over a few multiplexed framed connections instead of one HTTP request each; any other
   * origin, a refused upgrade or a dropped connection means plain HTTP. `false` (the services'
   * `DELIVERY_FRAMES=off`): always HTTP. An object: on, with those connection settings.
   */
  frames?: boolean | Omit<FramesClientOptions, 'maxResponseBytes'>;
}

/** Options of one send. */
export interface SendOptions {
  format: 'binary' | 'json';
  timeoutMs?: number;
  preferReply?: boolean;
  namespace?: string;
  /** Aborts the request in flight; the result is a non-retryable failure. */
  cancel?: AbortSignal;
}

const DEFAULT_CONNECTIONS = 100;
const DEFAULT_KEEP_ALIVE_MS = 4_000;
const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
/** Parsed targets kept; the set of subscriber URLs is small, so a full cache is simply cleared. */
const TARGET_CACHE_LIMIT = 4096;
const EMPTY = Buffer.alloc(0);
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;
/** Stands for a reply stored in a ReplySink without a destination, in `knativeerrordest`. */
const REPLY_SINK_DESTINATION = 'reply';

interface Target {
  origin: string;
  path: string;
  /** Set once the origin offered frames: its framed connections. */
  pool: FramePool | undefined;
  /** The Dispatcher's frames client, when frames are on. */
  frames: FramesClient | undefined;
  /** `frames.origins` when its pool was last looked up. */
  originsSeen: number;
}

/** Why the previous attempt failed; becomes the dead-letter extensions. */
interface Failure {
  status: number;
  body: Buffer;
  reason: string;
  retryable: boolean;
  retryAfterMs: number | undefined;
  /** The URL that failed: the subscriber, or the reply target. */
  destination: string;
}

/**
 * Sends events over HTTP with undici: one keep-alive pool per origin (pipelining 1), reused by every
 * delivery, each response read up to a size limit and always consumed so its socket can be reused.
 */
export class Dispatcher {
  private readonly agent: Agent;
  private readonly maxResponseBytes: number;
  private readonly userAgent: string | undefined;
  private readonly headerEncoding: HeaderEncoding;
  private readonly targets = new Map<string, Target | null>();
  private readonly frames: FramesClient | undefined;

  constructor(options: DispatcherOptions = {}) {
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.userAgent = options.userAgent;
    this.headerEncoding = options.headerEncoding ?? 'upstream';
    const frames = options.frames ?? true;
    this.frames =
      frames === false
        ? undefined
        : new FramesClient({
            ...(frames === true ? {} : frames),
            maxResponseBytes: this.maxResponseBytes,
          });
    this.agent = new Agent({
      connections: options.connectionsPerOrigin ?? DEFAULT_CONNECTIONS,
      pipelining: 1,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS,
    });
  }

  /** One HTTP POST of the event, no retries. */
  send(
    uri: string,
    event: CloudEvent,
    headers: Record<string, string>,
    opts: SendOptions,
  ): Promise<SendResult> {
    const tracer = TRACING.tracer;
    if (tracer !== undefined) return this.sendTraced(tracer, uri, event, headers, opts);
    return this.post(uri, event, headers, opts);
  }

  private post(
    uri: string,
    event: CloudEvent,
    headers: Record<string, string>,
    opts: SendOptions,
  ): Promise<SendResult> {
    const target = this.target(uri);
    if (target === null) {
      return Promise.resolve(failure(500, NO_HEADERS, EMPTY, `invalid target URL "${uri}"`, false));
    }
    const requestHeaders: string[] = [];
    let body: Buffer | undefined;
    if (opts.format === 'json') {
      const message = toStructured(event);
      for (const name in message.headers) requestHeaders.push(name, message.headers[name] as string);
      body = message.body;
    } else body = pushBinaryHeaders(event, this.headerEncoding, requestHeaders);
    for (const name in headers) requestHeaders.push(name, headers[name] as string);
    if (opts.preferReply) requestHeaders.push('prefer', 'reply');
    if (opts.namespace !== undefined) requestHeaders.push('kn-namespace', opts.namespace);
    if (this.userAgent !== undefined) requestHeaders.push('user-agent', this.userAgent);
    const dispatchOptions: UndiciDispatcher.DispatchOptions = {
      origin: target.origin,
      path: target.path,
      method: 'POST',
      headers: requestHeaders,
      body: body ?? null,
    };
    const agent = this.agent;
    const maxBytes = this.maxResponseBytes;
    const timeoutMs = opts.timeoutMs ?? 0;
    const cancel = opts.cancel;
    if (cancel?.aborted) return Promise.resolve(cancelled());
    // Another URL of the same origin may have found its framed connections already (looked up again
    // only when some origin offered frames since the last look).
    let pool = target.pool;
    const frames = target.frames;
    if (pool === undefined && frames !== undefined && frames.origins !== target.originsSeen) {
      target.originsSeen = frames.origins;
      pool = target.pool = frames.existing(target.origin);
    }
    if (pool !== undefined && pool.ready) {
      return new Promise<SendResult>((resolve) => {
        const attempt = new Attempt(resolve, maxBytes, timeoutMs, cancel, undefined);
        if (!pool.send(target.path, requestHeaders, body, attempt))
          dispatchHttp(agent, dispatchOptions, attempt);
      });
    }
    return new Promise<SendResult>((resolve) => {
      const attempt = new Attempt(resolve, maxBytes, timeoutMs, cancel, target.frames && target);
      try {
        agent.dispatch(dispatchOptions, attempt);
      } catch (err) {
        attempt.fail(err);
      }
    });
  }

  /** `send` inside a client span, the request's `traceparent` naming that span. */
  private sendTraced(
    tracer: Tracer,
    uri: string,
    event: CloudEvent,
    headers: Record<string, string>,
    opts: SendOptions,
  ): Promise<SendResult> {
    const span = startHopSpan(tracer, 'POST', SpanKind.CLIENT, headers, {
      'url.full': uri,
      'cloudevents.event_id': event.attributes.id as string,
      // Which transport carries it: `eventing-frames` between our services once offered, else `http`.
      'network.protocol.name': this.transport(uri) === 'frames' ? 'eventing-frames' : 'http',
    });
    return this.post(uri, event, withTraceparent(headers, span), opts).then((result) => {
      endHopSpan(span, result.status, result.ok ? undefined : result.reason);
      return result;
    });
  }

  /** The whole delivery: attempts, backoff, reply handling, dead-lettering. Never throws. */
  deliver(request: DeliveryRequest): Promise<DeliveryOutcome> {
    const tracer = TRACING.tracer;
    if (tracer !== undefined) {
      // One span for the whole delivery; each attempt (and the reply's POST) is a child of it.
      const span = startHopSpan(
        tracer,
        `deliver ${request.subscriberUri}`,
        SpanKind.PRODUCER,
        request.headers,
        {
          'url.full': request.subscriberUri,
          'cloudevents.event_id': request.event.attributes.id as string,
        },
      );
      const traced = { ...request, headers: withTraceparent(request.headers, span) };
      // Active while it runs: log lines of its attempts, reply and dead letter name it.
      return withActiveSpan(span, () => this.deliver0(traced)).then((outcome) => {
        span.setAttribute('eventing.delivery.outcome', outcome.kind);
        endHopSpan(span, outcome.status, outcome.kind === 'failed' ? outcome.reason : undefined);
        outcome.traceparent = traceparentOf(span);
        return outcome;
      });
    }
    return this.deliver0(request);
  }

  private deliver0(request: DeliveryRequest): Promise<DeliveryOutcome> {
    return this.deliverToSubscriber(request).catch((err: unknown) => ({
      kind: 'failed' as const,
      status: 500,
      attempts: 0,
      reason: `internal error: ${describe(err)}`,
    }));
  }

  /** How a send to `uri` would go now: over an open framed connection, or plain HTTP. */
  transport(uri: string): 'frames' | 'http' {
    const target = this.target(uri);
    const pool = target?.pool ?? target?.frames?.existing(target.origin);
    return pool !== undefined && pool.ready ? 'frames' : 'http';
  }

  /** Closes every pooled connection once in-flight requests finish (framed ones at once). */
  async close(): Promise<void> {
    this.frames?.close();
    await this.agent.close();
  }

  private async deliverToSubscriber(request: DeliveryRequest): Promise<DeliveryOutcome> {
    const { policy, signal } = request;
    const maxAttempts = attemptsAllowed(policy);
    const opts: SendOptions = {
      format: request.format,
      timeoutMs: policy.timeoutMs,
      preferReply: true,
      namespace: request.namespace,
      cancel: request.cancel,
    };
    let attempts = 0;
    let last: Failure;
    for (;;) {
      attempts++;
      const result = await this.send(request.subscriberUri, request.event, request.headers, opts);
      if (result.ok) {
        // An empty body without ce-specversion carries no event (a binary reply may have no data, T9):
        // nothing to store, and no need to go through the reply path.
        const handled =
          result.body.length === 0 && result.headers['ce-specversion'] === undefined
            ? false
            : await this.handleSuccess(request, result);
        if (handled === true || handled === false) {
          return { kind: 'delivered', status: result.status, attempts, replied: handled };
        }
        last = handled;
      } else {
        last = {
          status: result.status,
          body: result.body,
          reason: result.reason,
          retryable: result.retryable,
          retryAfterMs: result.retryAfterMs,
          destination: request.subscriberUri,
        };
      }
      if (request.cancel?.aborted)
        return { kind: 'failed', status: last.status, attempts, reason: 'delivery cancelled' };
      if (!last.retryable || attempts >= maxAttempts) break;
      if (!(await pause(retryWait(policy, attempts, last.retryAfterMs), signal, request.cancel))) {
        return {
          kind: 'failed',
          status: last.status,
          attempts,
          reason: `${last.reason}; retries stopped: shutting down`,
        };
      }
    }
    return this.deadLetter(request, last, attempts);
  }

  /** A 2xx from the subscriber: true = reply stored, false = nothing to store, or why it failed. */
  private async handleSuccess(
    request: DeliveryRequest,
    result: { status: number; headers: Record<string, string>; body: Buffer },
  ): Promise<boolean | Failure> {
    const parsed = parseHttp(result.headers, result.body);
    if (!parsed.ok) {
      if (request.malformedReply === 'ignore') return false;
      return {
        status: 502,
        body: result.body,
        reason: `subscriber answered ${result.status} with a body that is not a CloudEvent: ${parsed.reason}`,
        retryable: true,
        retryAfterMs: undefined,
        destination: request.subscriberUri,
      };
    }
    const reply = request.reply;
    if (reply === undefined) return false;
    const replyHeaders = pickPassthroughHeaders(result.headers);
    // A reply without its own trace context continues the delivery's trace.
    if (replyHeaders['traceparent'] === undefined && request.headers['traceparent'] !== undefined) {
      replyHeaders['traceparent'] = request.headers['traceparent'];
      if (request.headers['tracestate'] !== undefined)
        replyHeaders['tracestate'] = request.headers['tracestate'];
    }
    if ('uri' in reply) {
      const sent = await this.send(reply.uri, parsed.event, replyHeaders, {
        format: request.format,
        timeoutMs: request.policy.timeoutMs,
        namespace: request.namespace,
      });
      if (sent.ok) return true;
      return {
        status: sent.status,
        body: sent.body,
        reason: `reply to ${reply.uri} failed: ${sent.reason}`,
        retryable: true,
        retryAfterMs: sent.retryAfterMs,
        destination: reply.uri,
      };
    }
    let stored: Awaited<ReturnType<ReplySink['send']>>;
    try {
      stored = await reply.send(parsed.event, replyHeaders);
    } catch (err) {
      stored = { ok: false, status: 500, reason: describe(err) };
    }
    if (stored.ok) return true;
    return {
      status: stored.status,
      body: EMPTY,
      reason: `storing the reply failed: ${stored.reason}`,
      retryable: true,
      retryAfterMs: undefined,
      destination: reply.destination ?? REPLY_SINK_DESTINATION,
    };
  }

  /** Sends the original event with the error extensions to the dead letter sink, same retry policy (D1–D6). */
  private async deadLetter(
    request: DeliveryRequest,
    last: Failure,
    attempts: number,
  ): Promise<DeliveryOutcome> {
    const dls = request.deadLetterUri;
    if (dls === undefined) return { kind: 'failed', status: last.status, attempts, reason: last.reason };
    const { policy, signal, cancel } = request;
    const event = withErrorExtensions(request.event, last.destination, last.status, last.body);
    const opts: SendOptions = {
      format: request.format,
      timeoutMs: policy.timeoutMs,
      namespace: request.namespace,
      cancel,
    };
    const maxAttempts = attemptsAllowed(policy);
    for (let k = 1; ; k++) {
      const result = await this.send(dls, event, request.headers, opts);
      if (result.ok)
        return { kind: 'dead-lettered', status: last.status, attempts, deadLetterStatus: result.status };
      const reason = `${last.reason}; dead letter sink ${dls} failed: ${result.reason}`;
      if (cancel?.aborted)
        return { kind: 'failed', status: last.status, attempts, reason: 'delivery cancelled' };
      if (!result.retryable || k >= maxAttempts)
        return { kind: 'failed', status: last.status, attempts, reason };
      if (!(await pause(retryWait(policy, k, result.retryAfterMs), signal, cancel))) {
        return {
          kind: 'failed',
          status: last.status,
          attempts,
          reason: `${reason}; retries stopped: shutting down`,
        };
      }
    }
  }

  private target(uri: string): Target | null {
    let target = this.targets.get(uri);
    if (target !== undefined) return target;
    target = parseTarget(uri, this.frames);
    if (this.targets.size >= TARGET_CACHE_LIMIT) this.targets.clear();
    this.targets.set(uri, target);
    return target;
  }
}

/**
 * One HTTP exchange as an undici dispatch handler: collects the response body up to a limit and
 * resolves exactly once, on the response end, an error, the size limit or the attempt timeout.
 */
class Attempt implements UndiciDispatcher.DispatchHandler, StreamHandler {
  private controller: UndiciDispatcher.DispatchController | null = null;
  frameConnection: ClientConnection | undefined = undefined;
  frameStream = 0;
  private timer: NodeJS.Timeout | undefined;
  private settled = false;
  private status = 0;
  private headers: Record<string, string> = NO_HEADERS;
  private chunks: Buffer[] = [];
  private size = 0;

  /** The attempts in flight under the same cancel signal, this one among them until it settles. */
  private readonly cancelGroup: Set<Attempt> | undefined;

  constructor(
    private readonly resolve: (result: SendResult) => void,
    private readonly maxBytes: number,
    private readonly timeoutMs: number,
    cancel: AbortSignal | undefined,
    /** Sent over HTTP to a target that may offer frames. */
    private readonly offer: Target | undefined,
  ) {
    if (timeoutMs > 0) this.timer = setTimeout(onAttemptTimeout, timeoutMs, this);
    if (cancel !== undefined) {
      this.cancelGroup = cancelGroupOf(cancel);
      this.cancelGroup.add(this);
    }
  }

  /** Its cancel signal aborted: settles as cancelled and aborts the request in flight. */
  cancelled(): void {
    if (this.settled) return;
    this.settle(cancelled());
    this.controller?.abort(new Error('delivery cancelled'));
    this.frameConnection?.forget(this.frameStream);
  }

  onRequestStart(controller: UndiciDispatcher.DispatchController): void {
    this.controller = controller;
    // Timed out while waiting for a connection: do not send it at all.
    if (this.settled) controller.abort(new Error('attempt already timed out'));
  }

  onResponseStart(
    _c: UndiciDispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.status = statusCode;
    this.headers = flattenHeaders(headers);
    const offer = this.offer;
    if (offer !== undefined && this.headers[FRAMES_HEADER] !== undefined) offerFrames(offer);
  }

  /** The response, whole, from a framed connection. */
  onFrameResponse(status: number, headers: Record<string, string>, body: Buffer): void {
    if (this.settled) return;
    this.status = status;
    this.headers = headers;
    if (body.length > this.maxBytes) {
      this.size = this.maxBytes;
      this.chunks = [body.subarray(0, this.maxBytes)];
      this.settleOversized();
    } else this.settle(this.response(body));
  }

  /** The framed connection closed before the response: as a reset HTTP connection. */
  onFrameError(error: Error): void {
    this.fail(error);
  }

  onResponseData(controller: UndiciDispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.settleOversized();
      controller.abort(new Error(`response body larger than ${this.maxBytes} bytes`));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settle(this.response(this.body()));
  }

  onResponseError(_c: UndiciDispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  /** A network error (or a dispatch that could not start): status 500, retryable (2.1). */
  fail(error: unknown): void {
    if (this.settled) return;
    this.settle(failure(500, this.headers, EMPTY, `network error: ${describe(error)}`, true));
  }

  timeout(): void {
    this.timer = undefined;
    if (this.settled) return;
    this.settle(failure(500, this.headers, EMPTY, `timed out after ${this.timeoutMs} ms`, true));
    this.controller?.abort(new Error(`timed out after ${this.timeoutMs} ms`));
    this.frameConnection?.forget(this.frameStream);
  }

  private settleOversized(): void {
    const reason = `response body larger than ${this.maxBytes} bytes`;
    const status = this.status;
    // A too-large reply is a failed delivery like a malformed one (502); an error body is cut.
    if (status >= 200 && status < 300) this.settle(failure(502, this.headers, EMPTY, reason, true));
    else this.settle(this.response(this.body()));
  }

  private response(body: Buffer): SendResult {
    const status = this.status;
    if (status >= 200 && status < 300) return { ok: true, status, headers: this.headers, body };
    const result = failure(
      status,
      this.headers,
      body,
      `subscriber answered ${status}`,
      isRetryableStatus(status),
    );
    if (status === 429 || status === 503) {
      const retryAfterMs = parseRetryAfter(this.headers['retry-after']);
      if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
    }
    return result;
  }

  private body(): Buffer {
    const chunks = this.chunks;
    if (chunks.length === 0) return EMPTY;
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.size);
  }

  private settle(result: SendResult): void {
    this.settled = true;
    this.chunks = [];
    this.cancelGroup?.delete(this);
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.resolve(result);
  }
}

/**
 * Attempts in flight per cancel signal. A signal (one per consumer) gets one `abort` listener for its
 * lifetime, which cancels every attempt in its group: adding and removing an EventTarget listener per
 * attempt costs more than the request's own bookkeeping.
 */
const cancelGroups = new WeakMap<AbortSignal, Set<Attempt>>();

function cancelGroupOf(signal: AbortSignal): Set<Attempt> {
  let group = cancelGroups.get(signal);
  if (group === undefined) {
    const attempts = new Set<Attempt>();
    signal.addEventListener(
      'abort',
      () => {
        for (const attempt of attempts) attempt.cancelled();
        attempts.clear();
      },
      { once: true },
    );
    cancelGroups.set(signal, attempts);
    group = attempts;
  }
  return group;
}

/** The result of a send that was cancelled: not retryable, nothing was answered. */
function cancelled(): Extract<SendResult, { ok: false }> {
  return failure(0, NO_HEADERS, EMPTY, 'delivery cancelled', false);
}

function onAttemptTimeout(attempt: Attempt): void {
  attempt.timeout();
}

function failure(
  status: number,
  headers: Record<string, string>,
  body: Buffer,
  reason: string,
  retryable: boolean,
): Extract<SendResult, { ok: false }> {
  return { ok: false, status, headers, body, reason, retryable };
}

/** undici's header object with repeated values joined, converted in place (it is ours). */
function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  for (const name in headers) {
    const value = headers[name];
    if (typeof value !== 'string') {
      if (value === undefined) delete headers[name];
      else (headers as Record<string, string>)[name] = value.join(', ');
    }
  }
  return headers as Record<string, string>;
}

function dispatchHttp(agent: Agent, options: UndiciDispatcher.DispatchOptions, attempt: Attempt): void {
  try {
    agent.dispatch(options, attempt);
  } catch (err) {
    attempt.fail(err);
  }
}

/** An origin answered with `eventing-frames`: open its framed connections (unless backing off). */
function offerFrames(target: Target): void {
  const pool = target.pool ?? (target.pool = target.frames?.pool(target.origin));
  pool?.offered();
}

function parseTarget(uri: string, frames: FramesClient | undefined): Target | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return {
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    pool: undefined,
    frames: url.protocol === 'http:' ? frames : undefined,
    originsSeen: 0,
  };
}

function attemptsAllowed(policy: DeliveryPolicy): number {
  const retry = Math.floor(policy.retry);
  return retry > 0 ? retry + 1 : 1;
}

/** Waits ms; resolves false at once, or as soon as either signal aborts (shutdown, cancellation). */
function pause(ms: number, signal: AbortSignal | undefined, cancel?: AbortSignal): Promise<boolean> {
  if (signal?.aborted || cancel?.aborted) return Promise.resolve(false);
  if (!(ms > 0)) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      cancel?.removeEventListener('abort', onAbort);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      cancel?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    cancel?.addEventListener('abort', onAbort, { once: true });
  });
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
