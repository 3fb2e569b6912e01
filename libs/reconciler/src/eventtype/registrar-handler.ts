import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ObservedEventType } from '@eventing/api';
import type { EventTypeRegistrar } from './eventtype';

/** Where the controller takes the event types the data plane observed. */
export const OBSERVED_TYPES_PATH = '/eventtypes/observed';

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_ITEMS = 1000;

/**
 * The controller's end of EventType auto-creation in a cluster: `POST /eventtypes/observed` with
 * `{"items":[ObservedEventType…]}` from broker and channel ingress. Answers 202 with what was
 * created, `{"enabled":false}` when `eventtype-auto-create` is off, 400 naming what is malformed, 413
 * beyond 1 MiB or 1,000 items.
 */
export function registrarHandler(
  registrar: Pick<EventTypeRegistrar, 'register'>,
  options: { enabled: () => boolean },
): (req: IncomingMessage, res: ServerResponse) => void {
  const answer = (res: ServerResponse, status: number, body: object) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  return (req, res) => {
    if (req.method !== 'POST') {
      req.resume();
      answer(res, 405, { error: `${req.method} is not allowed on ${OBSERVED_TYPES_PATH}: use POST` });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        if (!refused) answer(res, 413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
        refused = true;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      if (!options.enabled()) {
        answer(res, 200, { enabled: false });
        return;
      }
      const parsed = parseItems(Buffer.concat(chunks).toString('utf8'));
      if (typeof parsed === 'string') {
        answer(res, parsed.startsWith('items: more than') ? 413 : 400, { error: parsed });
        return;
      }
      registrar.register(parsed).then(
        (report) => answer(res, 202, { enabled: true, ...report }),
        (err: unknown) => answer(res, 500, { error: err instanceof Error ? err.message : String(err) }),
      );
    });
  };
}

/** The items of a request, or what is wrong with them (naming the field). */
function parseItems(text: string): ObservedEventType[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  const items = (doc as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) return 'items: expected an array';
  if (items.length > MAX_ITEMS) return `items: more than ${MAX_ITEMS}`;
  for (let i = 0; i < items.length; i++) {
    const o = items[i] as Partial<ObservedEventType> | null;
    const ref = o?.reference;
    for (const [field, value] of [
      ['type', o?.type],
      ['source', o?.source],
      ['reference.apiVersion', ref?.apiVersion],
      ['reference.kind', ref?.kind],
      ['reference.namespace', ref?.namespace],
      ['reference.name', ref?.name],
    ] as const)
      if (typeof value !== 'string' || value === '')
        return `items[${i}].${field}: expected a non-empty string`;
    if (o?.schema !== undefined && typeof o.schema !== 'string')
      return `items[${i}].schema: expected a string`;
    if (typeof o?.specversion !== 'string') return `items[${i}].specversion: expected a string`;
  }
  return items as ObservedEventType[];
}
