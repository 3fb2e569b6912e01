import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StandaloneRuntime } from './standalone-runtime';

/** Where standalone lists its EventTypes: one segment, so no broker path (two segments) can shadow it. */
export const EVENT_TYPES_PATH = '/eventtypes';

/** Whether a request URL is `/eventtypes`, with or without a query. */
export function isEventTypesPath(url: string): boolean {
  return url.length === EVENT_TYPES_PATH.length || url[EVENT_TYPES_PATH.length] === '?';
}

/**
 * `GET /eventtypes` answers the EventTypes of the event registry as a Kubernetes-style list
 * (`{"apiVersion":"eventing.knative.dev/v1beta3","kind":"EventTypeList","items":[…]}`);
 * `?namespace=<ns>` and `?name=<broker or channel>` narrow it to one addressable's types.
 */
export function eventTypesEndpoint(runtime: Pick<StandaloneRuntime, 'listEventTypes'>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end(`${req.method} is not allowed on ${EVENT_TYPES_PATH}: use GET\n`);
      req.resume();
      return;
    }
    const query = new URL(req.url ?? EVENT_TYPES_PATH, 'http://localhost').searchParams;
    const items = runtime.listEventTypes({
      namespace: query.get('namespace') ?? undefined,
      name: query.get('name') ?? undefined,
    });
    const body = JSON.stringify({ apiVersion: 'eventing.knative.dev/v1beta3', kind: 'EventTypeList', items });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    req.resume();
  };
}
