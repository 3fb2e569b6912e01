import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FrameAnswer, FrameHandler } from '@eventing/frames';
import { parseHttp, type CloudEvent } from '@eventing/cloudevents';
import type { AppendResult } from '@eventing/channels';
import { pickPassthroughHeaders } from '@eventing/delivery';
import { SpanKind, TRACING, endHopSpan, startHopSpan, withTraceparent } from '@eventing/observability';
import { parseBrokerPath } from './path';
import { frameBody, httpBody, type TransportCore } from './body';
import { frameAnswer, respond } from './respond';
import { ARRIVAL_TIME_EXTENSION, applyIngressTtl } from './ttl';

/** Why an ingress target refused an event: the backend's answer, or 400 for a used-up TTL. */
export type IngestResult =
  AppendResult | { ok: false; status: 400; reason: string; retryAfterSeconds?: undefined };

/** Where an accepted event goes: a broker (with its extensions stamped) or a channel. */
export interface IngressTarget {
  append(event: CloudEvent, headers: Record<string, string>): Promise<IngestResult>;
}

/** Where a request is addressed, or the status that says why it cannot be. */
export type IngressRoute =
  | {
      ok: true;
      namespace: string;
      name: string;
      kind: 'broker' | 'channel';
      target: IngressTarget | undefined;
    }
  | { ok: false; status: 400 | 404; reason: string };

/** What happened to one request; for metrics and logs. */
export interface IngressResult {
  kind?: 'broker' | 'channel';
  namespace?: string;
  name?: string;
  status: number;
  eventType?: string;
  reason?: string;
  /** Seconds from the request's arrival to its answer. */
  seconds?: number;
  /** Headers of the answer beyond its status (Allow, Retry-After). */
  headers?: Record<string, string>;
}

export interface IngressOptions {
  /** Maps a request URL to its target (undefined target ⇒ 404 once the event is known valid). */
  route(url: string): IngressRoute;
  /** Largest body accepted; larger ones get 413. */
  maxBodyBytes: number;
  onResult?: (result: IngressResult) => void;
}

const OPTIONS_HEADERS = {
  allow: 'POST, OPTIONS',
  'webhook-allowed-origin': '*',
  'webhook-allowed-rate': '*',
};
const METHOD_NOT_ALLOWED_HEADERS = { allow: 'POST, OPTIONS' };

let arrivalMs = 0;
let arrivalText = '';

/** Now as an RFC 3339 timestamp (ms precision), formatted once per millisecond however many events arrive in it. */
function arrivalTime(): string {
  const now = Date.now();
  if (now !== arrivalMs) {
    arrivalMs = now;
    arrivalText = new Date(now).toISOString();
  }
  return arrivalText;
}

/**
 * Wraps a broker's store with the broker extensions (B9, B10): the TTL loop guard (400 when used up)
 * and `knativearrivaltime`. Used by HTTP ingress and by replies re-entering the broker alike.
 */
export function brokerTarget(store: IngressTarget, maxTtl: number): IngressTarget {
  return {
    append(event, headers) {
      if (!applyIngressTtl(event, maxTtl)) {
        return Promise.resolve({
          ok: false,
          status: 400,
          reason: 'knativebrokerttl exhausted: the event looped through brokers too often',
        });
      }
      event.attributes[ARRIVAL_TIME_EXTENSION] = arrivalTime();
      return store.append(event, headers);
    },
  };
}

/** Routes `/<namespace>/<broker>` through a lookup table (broker-ingress). */
export function brokerRoutes(
  lookup: (namespace: string, name: string) => IngressTarget | undefined,
): (url: string) => IngressRoute {
  return (url) => {
    const path = parseBrokerPath(url);
    if (!path.ok) return path;
    return {
      ok: true,
      namespace: path.namespace,
      name: path.name,
      kind: 'broker',
      target: lookup(path.namespace, path.name),
    };
  };
}

/**
 * The transport-neutral ingress of brokers and channels (CONFORMANCE 2.2, 2.4): method, path, headers
 * and a body source in, what to answer out (the result also goes to metrics). Order of checks follows
 * upstream: OPTIONS, method, path, body, CloudEvent (before the lookup), target, then 202 only after
 * the store accepted the event. The body is read only once the path is known good.
 */
export function createIngressCore(options: IngressOptions): TransportCore<IngressResult> {
  return async (method, url, reqHeaders, source, read) => {
    if (method === 'OPTIONS') return { status: 200, headers: OPTIONS_HEADERS };
    if (method !== 'POST')
      return {
        status: 405,
        reason: `method ${method} not allowed: send events with POST`,
        headers: METHOD_NOT_ALLOWED_HEADERS,
      };
    const route = options.route(url);
    if (!route.ok) return { status: route.status, reason: route.reason };
    const { namespace, name, kind } = route;
    const body = await read(source, options.maxBodyBytes);
    if (!body.ok) return { kind, namespace, name, status: body.status, reason: body.reason };

    const parsed = parseHttp(reqHeaders, body.body);
    if (!parsed.ok) return { kind, namespace, name, status: 400, reason: parsed.reason };
    const event = parsed.event;
    const eventType = event.attributes.type as string;

    if (route.target === undefined) {
      return {
        kind,
        namespace,
        name,
        eventType,
        status: 404,
        reason: `${kind} ${namespace}/${name} not found`,
      };
    }
    let headers = pickPassthroughHeaders(reqHeaders);
    const tracer = TRACING.tracer;
    const span =
      tracer === undefined
        ? undefined
        : startHopSpan(tracer, `${kind} ingress ${namespace}/${name}`, SpanKind.SERVER, headers, {
            'messaging.destination.name': `${namespace}/${name}`,
            'cloudevents.event_id': event.attributes.id as string,
            'cloudevents.event_type': eventType,
          });
    if (span !== undefined) headers = withTraceparent(headers, span);
    const stored = await route.target.append(event, headers);
    if (span !== undefined)
      endHopSpan(span, stored.ok ? 202 : stored.status, stored.ok ? undefined : stored.reason);
    if (stored.ok) return { kind, namespace, name, eventType, status: 202 };
    const retryAfter =
      stored.retryAfterSeconds !== undefined
        ? { 'retry-after': String(stored.retryAfterSeconds) }
        : undefined;
    return {
      kind,
      namespace,
      name,
      eventType,
      status: stored.status,
      reason: stored.reason,
      headers: retryAfter,
    };
  };
}

/**
 * The ingress request handler of brokers and channels over node:http: plain code built once, no
 * framework per event. With `advertiseFrames`, answers say the service also takes eventing frames.
 */
export function createIngressHandler(
  options: IngressOptions & { advertiseFrames?: boolean },
): (req: IncomingMessage, res: ServerResponse) => void {
  const report = options.onResult ?? (() => undefined);
  const core = createIngressCore(options);
  const advertise = options.advertiseFrames === true;
  return (req, res) => {
    const started = performance.now();
    core(req.method, req.url ?? '/', req.headers, req, httpBody).then(
      (result) => {
        // A request refused before its body was read: drain it so the connection stays usable.
        if (req.readableFlowing === null) req.resume();
        respond(
          res,
          result.status,
          result.status >= 300 ? result.reason : undefined,
          result.headers,
          advertise,
        );
        result.seconds = (performance.now() - started) / 1000;
        report(result);
      },
      (err: Error) => {
        if (!res.headersSent) respond(res, 500, `internal error: ${err.message}`);
        else res.destroy(err);
        report({ status: 500, reason: err.message, seconds: (performance.now() - started) / 1000 });
      },
    );
  };
}

const ACCEPTED_FRAME: FrameAnswer = Object.freeze({ status: 202 });

/** The ingress over eventing frames: each request frame is a POST to its path. */
export function createIngressFrameHandler(options: IngressOptions): FrameHandler {
  const report = options.onResult ?? (() => undefined);
  const core = createIngressCore(options);
  return (req) => {
    const started = performance.now();
    return core('POST', req.path, req.headers, req.body, frameBody).then(
      (result) => {
        const answer =
          result.status === 202 ? ACCEPTED_FRAME : frameAnswer(result.status, result.reason, result.headers);
        result.seconds = (performance.now() - started) / 1000;
        report(result);
        return answer;
      },
      (err: Error) => {
        report({ status: 500, reason: err.message, seconds: (performance.now() - started) / 1000 });
        return frameAnswer(500, `internal error: ${err.message}`, undefined);
      },
    );
  };
}
