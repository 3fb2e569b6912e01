import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseHttp, toBinary } from '@eventing/cloudevents';
import type { TriggerEntry } from '@eventing/contract';
import { pickPassthroughHeaders, type Dispatcher } from '@eventing/delivery';
import { compileTriggerFilter, type CompiledFilter } from '@eventing/filters';
import { SpanKind, TRACING, endHopSpan, startHopSpan, withTraceparent } from '@eventing/observability';
import { readBody } from '../ingress/body';
import { respond } from '../ingress/respond';
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

/**
 * broker-filter: receives an event for one trigger from the trigger channel, filters it, and makes
 * one delivery attempt to the subscriber; the channel dispatcher in front does retries and dead
 * letters (CONFORMANCE 2.3, T1–T14).
 */
export function createFilterHandler(
  options: FilterHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const report = options.onResult ?? (() => undefined);
  const finish = (
    res: ServerResponse,
    status: number,
    reason?: string,
    trigger?: string,
    headers?: Record<string, string>,
    seconds?: number,
  ) => {
    respond(res, status, reason, headers);
    report({ status, reason, trigger, seconds });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      req.resume();
      return finish(res, 405, `method ${req.method} not allowed`, undefined, ALLOW_POST);
    }
    const path = parseTriggerPath(req.url ?? '/');
    if (!path.ok) {
      req.resume();
      return finish(res, 400, path.reason);
    }
    const key = `${path.namespace}/${path.name}`;
    const trigger = options.lookup(path.namespace, path.name);
    if (trigger === undefined) {
      req.resume();
      return finish(res, 404, `trigger ${key} not found`, key);
    }
    if (trigger.entry.uid !== path.uid) {
      req.resume();
      return finish(res, 400, `trigger ${key} has uid ${trigger.entry.uid}, not ${path.uid}`, key);
    }
    const body = await readBody(req, options.maxBodyBytes);
    if (!body.ok) return finish(res, body.status, body.reason, key);
    const parsed = parseHttp(req.headers, body.body);
    if (!parsed.ok) return finish(res, 400, parsed.reason, key);
    const event = parsed.event;
    const ttl = event.attributes[TTL_EXTENSION];
    if (ttl === undefined)
      return finish(res, 400, `event has no ${TTL_EXTENSION}: it was not sent by a broker`, key);
    if (!trigger.filter.match(event)) {
      respond(res, 200);
      return report({ status: 200, trigger: key, filtered: true });
    }

    delete event.attributes[TTL_EXTENSION];
    const { entry } = trigger;
    let headers = pickPassthroughHeaders(req.headers);
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
      res.setHeader('traceparent', headers['traceparent']!);
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
      res.setHeader('traceparent', sent.headers['traceparent']);
    if (!sent.ok) {
      // T12/T13: the subscriber's status, and where it failed, so dead letters name the real subscriber.
      const errorBody = JSON.stringify({
        errdestination: entry.subscriberUri,
        errresponsebody: sent.body.toString('base64'),
      });
      res.statusCode = sent.status;
      res.setHeader('content-type', 'application/json');
      res.setHeader('content-length', Buffer.byteLength(errorBody));
      res.end(errorBody);
      return report({ status: sent.status, reason: sent.reason, trigger: key, seconds });
    }
    // An empty body without ce-* headers carries no reply (T9); a binary event may have no data.
    if (sent.body.length === 0 && sent.headers['ce-specversion'] === undefined)
      return finish(res, sent.status, undefined, key, undefined, seconds);
    const reply = parseHttp(sent.headers, sent.body);
    if (!reply.ok)
      return finish(
        res,
        502,
        `subscriber answered ${sent.status} with a body that is not a CloudEvent: ${reply.reason}`,
        key,
        undefined,
        seconds,
      );
    // T11: the reply carries the same TTL; the broker's ingress decrements it.
    reply.event.attributes[TTL_EXTENSION] = ttl;
    const message = toBinary(reply.event);
    for (const name in message.headers) res.setHeader(name, message.headers[name]!);
    res.statusCode = sent.status;
    res.setHeader('content-length', message.body ? message.body.length : 0);
    res.end(message.body);
    report({ status: sent.status, trigger: key, seconds });
  };

  return (req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) respond(res, 500, `internal error: ${err.message}`);
      else res.destroy(err);
      report({ status: 500, reason: err.message });
    });
  };
}
