import type { IncomingMessage, ServerResponse } from 'node:http';
import { FRAMES_HEADER, type FrameHandler } from '@eventing/frames';
import { parseHttp, toBinary } from '@eventing/cloudevents';
import type { TriggerEntry } from '@eventing/contract';
import { pickPassthroughHeaders, type Dispatcher } from '@eventing/delivery';
import { compileTriggerFilter, type CompiledFilter } from '@eventing/filters';
import { SpanKind, TRACING, endHopSpan, startHopSpan, withTraceparent } from '@eventing/observability';
import { frameBody, httpBody, type TransportCore } from '../ingress/body';
import { frameAnswer, respond } from '../ingress/respond';
import { TTL_EXTENSION } from '../ingress/ttl';

/** A trigger as broker-filter serves it: its contract entry and compiled filter. */
export interface FilterTrigger {
  entry: TriggerEntry;
  filter: CompiledFilter;
}

/** Builds the lookup table broker-filter serves from the contract's triggers. */
export function indexTriggers(entries: TriggerEntry[]): Map<string, FilterTrigger> {
  const map = new Map<string, FilterTrigger>();
  for (const entry of entries) {
    map.set(`${entry.namespace}/${entry.name}`, {
      entry,
      filter: compileTriggerFilter(entry.filter, entry.filters),
    });
  }
  return map;
}

export interface FilterHandlerOptions {
  lookup(namespace: string, name: string): FilterTrigger | undefined;
  dispatcher: Dispatcher;
  maxBodyBytes: number;
  /** Told how each request ended; `filtered` when the trigger's filter did not pass the event (200, nothing sent). */
  onResult?: (result: {
    trigger?: string;
    status: number;
    reason?: string;
    filtered?: boolean;
    /** Seconds the subscriber took to answer, when it was sent the event. */
    seconds?: number;
  }) => void;
}

type TriggerPath = { ok: true; namespace: string; name: string; uid: string } | { ok: false; reason: string };

/** Splits `/triggers/<namespace>/<trigger>/<uid>` (T1). */
export function parseTriggerPath(url: string): TriggerPath {
  // The query is ignored and one trailing slash tolerated; the three segments are cut out in place.
  let end = url.indexOf('?');
  if (end < 0) end = url.length;
  if (end > 0 && url.charCodeAt(end - 1) === 47 /* / */) end--;
  const start = TRIGGERS_PREFIX.length;
  const name = url.startsWith(TRIGGERS_PREFIX) ? url.indexOf('/', start) + 1 : 0;
  const uid = name > 0 ? url.indexOf('/', name) + 1 : 0;
  if (
    name <= start + 1 ||
    uid <= name + 1 ||
    uid >= end ||
    (url.indexOf('/', uid) >= 0 && url.indexOf('/', uid) < end)
  ) {
    return {
      ok: false,
      reason: `malformed path '${url.slice(0, end)}': expected /triggers/<namespace>/<trigger>/<uid>`,
    };
  }
  return {
    ok: true,
    namespace: url.slice(start, name - 1),
    name: url.slice(name, uid - 1),
    uid: url.slice(uid, end),
  };
}

const TRIGGERS_PREFIX = '/triggers/';

const ALLOW_POST = { allow: 'POST' };

/** What broker-filter answers for one request, and what it reports of it. */
export interface FilterAnswer {
  status: number;
  /** Why it failed (answered as a JSON error body when there is no `body`). */
  reason?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  trigger?: string;
  filtered?: boolean;
  seconds?: number;
}

const FILTERED: FilterAnswer = Object.freeze({ status: 200, filtered: true });

/**
 * broker-filter, transport-neutral: receives an event for one trigger from the trigger channel,
 * filters it, and makes one delivery attempt to the subscriber; the channel dispatcher in front does
 * retries and dead letters (CONFORMANCE 2.3, T1–T14).
 */
export function createFilterCore(options: FilterHandlerOptions): TransportCore<FilterAnswer> {
  return async (method, url, reqHeaders, source, read) => {
    if (method !== 'POST')
      return { status: 405, reason: `method ${method} not allowed`, headers: ALLOW_POST };
    const path = parseTriggerPath(url);
    if (!path.ok) return { status: 400, reason: path.reason };
    const key = `${path.namespace}/${path.name}`;
    const trigger = options.lookup(path.namespace, path.name);
    if (trigger === undefined) return { status: 404, reason: `trigger ${key} not found`, trigger: key };
    if (trigger.entry.uid !== path.uid)
      return {
        status: 400,
        reason: `trigger ${key} has uid ${trigger.entry.uid}, not ${path.uid}`,
        trigger: key,
      };
    const body = await read(source, options.maxBodyBytes);
    if (!body.ok) return { status: body.status, reason: body.reason, trigger: key };
    const parsed = parseHttp(reqHeaders, body.body);
    if (!parsed.ok) return { status: 400, reason: parsed.reason, trigger: key };
    const event = parsed.event;
    const ttl = event.attributes[TTL_EXTENSION];
    if (ttl === undefined)
      return {
        status: 400,
        reason: `event has no ${TTL_EXTENSION}: it was not sent by a broker`,
        trigger: key,
      };
    if (!trigger.filter.match(event)) return { ...FILTERED, trigger: key };

    delete event.attributes[TTL_EXTENSION];
    const { entry } = trigger;
    let headers = pickPassthroughHeaders(reqHeaders);
    let answerHeaders: Record<string, string> | undefined;
    const tracer = TRACING.tracer;
    const span =
      tracer === undefined
        ? undefined
        : startHopSpan(tracer, `trigger ${key}`, SpanKind.SERVER, headers, {
            'messaging.destination.name': key,
            'cloudevents.event_id': event.attributes.id as string,
            'cloudevents.event_type': event.attributes.type as string,
          });
    if (span !== undefined) {
      headers = withTraceparent(headers, span);
      // The reply continues the trace where the subscriber leaves it, else under the filter's span.
      answerHeaders = { traceparent: headers['traceparent']! };
    }
    const sentAt = performance.now();
    const sent = await options.dispatcher.send(entry.subscriberUri, event, headers, {
      format: entry.format,
      timeoutMs: entry.policy.timeoutMs,
      preferReply: true,
      namespace: entry.namespace,
    });
    const seconds = (performance.now() - sentAt) / 1000;
    if (span !== undefined) endHopSpan(span, sent.status, sent.ok ? undefined : sent.reason);
    if (sent.ok && sent.headers['traceparent'] !== undefined)
      (answerHeaders ??= {})['traceparent'] = sent.headers['traceparent'];
    if (!sent.ok) {
      // T12/T13: the subscriber's status, and where it failed, so dead letters name the real subscriber.
      const errorBody = JSON.stringify({
        errdestination: entry.subscriberUri,
        errresponsebody: sent.body.toString('base64'),
      });
      return {
        status: sent.status,
        reason: sent.reason,
        trigger: key,
        seconds,
        headers: { ...answerHeaders, 'content-type': 'application/json' },
        body: Buffer.from(errorBody),
      };
    }
    // An empty body without ce-* headers carries no reply (T9); a binary event may have no data.
    if (sent.body.length === 0 && sent.headers['ce-specversion'] === undefined)
      return { status: sent.status, trigger: key, seconds, headers: answerHeaders };
    const reply = parseHttp(sent.headers, sent.body);
    if (!reply.ok)
      return {
        status: 502,
        reason: `subscriber answered ${sent.status} with a body that is not a CloudEvent: ${reply.reason}`,
        trigger: key,
        seconds,
        headers: answerHeaders,
      };
    // T11: the reply carries the same TTL; the broker's ingress decrements it.
    reply.event.attributes[TTL_EXTENSION] = ttl;
    const message = toBinary(reply.event);
    const replyHeaders = answerHeaders ?? {};
    for (const name in message.headers) replyHeaders[name] = message.headers[name]!;
    return {
      status: sent.status,
      trigger: key,
      seconds,
      headers: replyHeaders,
      body: message.body ?? EMPTY,
    };
  };
}

const EMPTY = Buffer.alloc(0);

function reportOf(answer: FilterAnswer) {
  return {
    status: answer.status,
    reason: answer.reason,
    trigger: answer.trigger,
    filtered: answer.filtered,
    seconds: answer.seconds,
  };
}

/**
 * broker-filter over node:http. With `advertiseFrames`, answers say the service also takes eventing
 * frames.
 */
export function createFilterHandler(
  options: FilterHandlerOptions & { advertiseFrames?: boolean },
): (req: IncomingMessage, res: ServerResponse) => void {
  const report = options.onResult ?? (() => undefined);
  const core = createFilterCore(options);
  const advertise = options.advertiseFrames === true;
  return (req, res) => {
    core(req.method, req.url ?? '/', req.headers, req, httpBody).then(
      (answer) => {
        if (req.readableFlowing === null) req.resume();
        const body = answer.body;
        if (body === undefined) {
          respond(
            res,
            answer.status,
            answer.status >= 300 ? answer.reason : undefined,
            answer.headers,
            advertise,
          );
        } else {
          const headers = answer.headers;
          if (headers !== undefined) for (const name in headers) res.setHeader(name, headers[name]!);
          if (advertise) res.setHeader(FRAMES_HEADER, '1');
          res.statusCode = answer.status;
          res.setHeader('content-length', body.length);
          res.end(body);
        }
        report(reportOf(answer));
      },
      (err: Error) => {
        if (!res.headersSent) respond(res, 500, `internal error: ${err.message}`);
        else res.destroy(err);
        report({ status: 500, reason: err.message });
      },
    );
  };
}

/** broker-filter over eventing frames: each request frame is a POST to its path. */
export function createFilterFrameHandler(options: FilterHandlerOptions): FrameHandler {
  const report = options.onResult ?? (() => undefined);
  const core = createFilterCore(options);
  return (req) =>
    core('POST', req.path, req.headers, req.body, frameBody).then(
      (answer) => {
        report(reportOf(answer));
        if (answer.body !== undefined)
          return { status: answer.status, headers: answer.headers, body: answer.body };
        return frameAnswer(answer.status, answer.status >= 300 ? answer.reason : undefined, answer.headers);
      },
      (err: Error) => {
        report({ status: 500, reason: err.message });
        return frameAnswer(500, `internal error: ${err.message}`, undefined);
      },
    );
}
