import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@eventing/runtime';
import type { AdmissionHandler } from './handler';
import type { WebhookMetrics } from './metrics';
import {
  parseAdmissionReview,
  reviewResponse,
  type AdmissionRequest,
  type AdmissionResponse,
} from './review';

/**
 * Largest AdmissionReview read (bytes). The API server sends the new and the old object, each at
 * most ~1.5 MiB (etcd's request limit), plus the envelope.
 */
export const DEFAULT_MAX_REVIEW_BYTES = 7 * 1024 * 1024;

export interface AdmissionListenerOptions {
  handler: AdmissionHandler;
  metrics: WebhookMetrics;
  log: Logger;
  maxBodyBytes?: number;
}

type Decide = (req: AdmissionRequest) => AdmissionResponse;

/**
 * The per-request path of the webhook: `POST /defaulting` and `POST /validation` (also upstream's
 * `/resource-validation`) read an AdmissionReview and answer one. Plain functions built once; no
 * framework per request. A body that is not an AdmissionReview gets 400 with what is wrong.
 * Returns false for any other path, so the caller can route it elsewhere.
 */
export function admissionListener(
  options: AdmissionListenerOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const max = options.maxBodyBytes ?? DEFAULT_MAX_REVIEW_BYTES;
  const routes = new Map<string, { type: 'defaulting' | 'validation'; decide: Decide }>([
    ['/defaulting', { type: 'defaulting', decide: (r) => options.handler.defaulting(r) }],
    ['/validation', { type: 'validation', decide: (r) => options.handler.validation(r) }],
    ['/resource-validation', { type: 'validation', decide: (r) => options.handler.validation(r) }],
  ]);
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const route = routes.get(q < 0 ? url : url.slice(0, q));
    if (route === undefined) return false;
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${req.method ?? ''} not allowed: an AdmissionReview is POSTed\n`);
      return true;
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      tooLarge(res, max);
      req.resume();
      return true;
    }
    const started = process.hrtime.bigint();
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > max) {
        refused = true;
        chunks.length = 0;
        tooLarge(res, max);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const parsed = parseAdmissionReview(Buffer.concat(chunks, size));
      if (!parsed.ok) {
        options.log.warn({ path: url, error: parsed.message }, 'malformed AdmissionReview');
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`${parsed.message}\n`);
        return;
      }
      const { apiVersion, request } = parsed.review;
      let response: AdmissionResponse;
      try {
        response = route.decide(request);
      } catch (err) {
        // A defect of ours: refuse this one object with the reason rather than fail the request.
        options.log.error({ uid: request.uid, kind: request.kind, error: String(err) }, 'admission threw');
        response = {
          uid: request.uid,
          allowed: false,
          status: {
            status: 'Failure',
            message: `internal error in the ${route.type} webhook: ${String(err)}`,
            reason: 'BadRequest',
            code: 400,
            metadata: {},
          },
        };
      }
      const body = reviewResponse(apiVersion, response);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      options.metrics.observe(
        route.type,
        request,
        response.allowed,
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      if (!response.allowed)
        options.log.info(
          {
            uid: request.uid,
            kind: request.kind.kind,
            namespace: request.namespace,
            name: request.name,
            operation: request.operation,
            reason: response.status?.message,
          },
          `${route.type}: refused`,
        );
    });
    return true;
  };
}

function tooLarge(res: ServerResponse, max: number): void {
  res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(`an AdmissionReview of more than ${max} bytes is not read\n`);
}
