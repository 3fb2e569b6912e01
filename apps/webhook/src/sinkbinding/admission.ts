import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@eventing/runtime';
import { createJsonPatch } from '../admission/json-patch';
import { DEFAULT_MAX_REVIEW_BYTES } from '../admission/listener';
import {
  parseAdmissionReview,
  reviewResponse,
  type AdmissionRequest,
  type AdmissionResponse,
} from '../admission/review';
import { applyBindings, type BindingIndex, type SubjectObject } from './binding-index';

/** Where the API server sends the subjects of SinkBindings (upstream's path). */
export const SINK_BINDING_PATH = '/sinkbindings';

/**
 * Upstream's binding admission (Do/Undo): a subject created or updated gets the environment of every
 * SinkBinding that selects it (K_SINK, K_CE_OVERRIDES, K_CA_CERTS on each container and init
 * container), and loses it for a binding being deleted. Anything else is allowed unchanged.
 */
export function admitSubject(index: BindingIndex, request: AdmissionRequest): AdmissionResponse {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE')
    return { uid: request.uid, allowed: true };
  const object = request.object as SubjectObject | undefined;
  if (object === undefined || object === null) return { uid: request.uid, allowed: true };
  // The namespace of a new object may come only with the request.
  const namespace = object.metadata?.namespace ?? request.namespace ?? '';
  const seen: SubjectObject = {
    ...object,
    kind: object.kind ?? request.kind.kind,
    metadata: { ...object.metadata, namespace },
  };
  const bindings = index.selecting(request.kind.group, seen);
  if (bindings.length === 0) return { uid: request.uid, allowed: true };
  const mutated = applyBindings(bindings, request.kind.group, seen);
  if (mutated === undefined) return { uid: request.uid, allowed: true };
  const ops = createJsonPatch(seen.spec, mutated.spec, '/spec');
  if (ops.length === 0) return { uid: request.uid, allowed: true };
  return {
    uid: request.uid,
    allowed: true,
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
  };
}

/**
 * The HTTP side of {@link admitSubject}: `POST /sinkbindings` with an AdmissionReview. Returns false
 * for other paths so the server can route them elsewhere.
 */
export function sinkBindingListener(
  index: BindingIndex,
  log: Logger,
  maxBodyBytes = DEFAULT_MAX_REVIEW_BYTES,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== SINK_BINDING_PATH) return false;
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${req.method ?? ''} not allowed: an AdmissionReview is POSTed\n`);
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        refused = true;
        chunks.length = 0;
        res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end(`an AdmissionReview of more than ${maxBodyBytes} bytes is not read\n`);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const parsed = parseAdmissionReview(Buffer.concat(chunks, size));
      if (!parsed.ok) {
        log.warn({ path: url, error: parsed.message }, 'malformed AdmissionReview');
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`${parsed.message}\n`);
        return;
      }
      const { apiVersion, request } = parsed.review;
      let response: AdmissionResponse;
      try {
        response = admitSubject(index, request);
      } catch (err) {
        // A defect of ours must not stop workloads from being deployed: let the object through as it is.
        log.error(
          { uid: request.uid, kind: request.kind, error: String(err) },
          'sinkbinding admission threw',
        );
        response = { uid: request.uid, allowed: true, warnings: [`SinkBinding not applied: ${String(err)}`] };
      }
      if (response.patch !== undefined)
        log.debug(
          {
            kind: request.kind.kind,
            namespace: request.namespace,
            name: request.name,
            operation: request.operation,
          },
          'sinkbinding: subject bound',
        );
      const body = reviewResponse(apiVersion, response);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    return true;
  };
}
