import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseHttp, type CloudEvent } from '@eventing/cloudevents';
import type { AppendResult } from '@eventing/channels';
import { pickPassthroughHeaders } from '@eventing/delivery';
import { parseBrokerPath } from './path';
import { readBody } from './body';
import { respond } from './respond';
import { ARRIVAL_TIME_EXTENSION, DEFAULT_MAX_TTL, applyIngressTtl } from './ttl';

/** Where an accepted event goes: the broker's channel. */
export interface IngressTarget {
  append(event: CloudEvent, headers: Record<string, string>): Promise<AppendResult>;
}

/** What happened to one request; for metrics and logs. */
export interface IngressResult {
  namespace?: string;
  name?: string;
  status: number;
  eventType?: string;
  reason?: string;
}

export interface IngressOptions {
  /** Finds the broker a request is addressed to. */
  lookup(namespace: string, name: string): IngressTarget | undefined;
  /** Largest body accepted; larger ones get 413. */
  maxBodyBytes: number;
  /** Hops an event may make through brokers (knativebrokerttl). */
  maxTtl?: number;
  onResult?: (result: IngressResult) => void;
}

const OPTIONS_HEADERS = {
  allow: 'POST, OPTIONS',
  'webhook-allowed-origin': '*',
  'webhook-allowed-rate': '*',
};
const METHOD_NOT_ALLOWED_HEADERS = { allow: 'POST, OPTIONS' };

/**
 * Stamps the broker extensions on an accepted event and stores it. Shared by HTTP ingress and
 * in-process replies, so both follow the same TTL and arrival-time rules (B9, B10).
 */
export async function ingest(
  target: IngressTarget,
  event: CloudEvent,
  headers: Record<string, string>,
  maxTtl: number,
): Promise<AppendResult | { ok: false; status: 400; reason: string }> {
  if (!applyIngressTtl(event, maxTtl)) {
    return { ok: false, status: 400, reason: 'knativebrokerttl exhausted: the event looped through brokers too often' };
  }
  event.attributes[ARRIVAL_TIME_EXTENSION] = new Date().toISOString();
  return target.append(event, headers);
}

/**
 * The broker ingress request handler (CONFORMANCE 2.2): plain code built once, no framework per
 * event. Order of checks follows upstream: OPTIONS, method, path, body, CloudEvent (before the
 * broker lookup), broker, TTL, then 202 only after the channel accepted the event.
 */
export function createIngressHandler(options: IngressOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const maxTtl = options.maxTtl ?? DEFAULT_MAX_TTL;
  const report = options.onResult ?? (() => undefined);

  const finish = (res: ServerResponse, result: IngressResult, headers?: Record<string, string>) => {
    respond(res, result.status, result.status >= 300 ? result.reason : undefined, headers);
    report(result);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === 'OPTIONS') {
      req.resume();
      return finish(res, { status: 200 }, OPTIONS_HEADERS);
    }
    if (req.method !== 'POST') {
      req.resume();
      return finish(
        res,
        { status: 405, reason: `method ${req.method} not allowed: send events with POST` },
        METHOD_NOT_ALLOWED_HEADERS,
      );
    }
    const path = parseBrokerPath(req.url ?? '/');
    if (!path.ok) {
      req.resume();
      return finish(res, { status: path.status, reason: path.reason });
    }
    const { namespace, name } = path;
    const body = await readBody(req, options.maxBodyBytes);
    if (!body.ok) return finish(res, { namespace, name, status: body.status, reason: body.reason });

    const parsed = parseHttp(req.headers, body.body);
    if (!parsed.ok) return finish(res, { namespace, name, status: 400, reason: parsed.reason });
    const event = parsed.event;
    const eventType = event.attributes.type as string;

    const target = options.lookup(namespace, name);
    if (target === undefined) {
      return finish(res, { namespace, name, eventType, status: 404, reason: `broker ${namespace}/${name} not found` });
    }
    const stored = await ingest(target, event, pickPassthroughHeaders(req.headers), maxTtl);
    if (stored.ok) return finish(res, { namespace, name, eventType, status: 202 });
    const retryAfter =
      'retryAfterSeconds' in stored && stored.retryAfterSeconds !== undefined
        ? { 'retry-after': String(stored.retryAfterSeconds) }
        : undefined;
    return finish(res, { namespace, name, eventType, status: stored.status, reason: stored.reason }, retryAfter);
  };

  return (req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) respond(res, 500, `internal error: ${err.message}`);
      else res.destroy(err);
      report({ status: 500, reason: err.message });
    });
  };
}
