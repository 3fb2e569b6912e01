import type { ServerResponse } from 'node:http';

const JSON_TYPE = 'application/json';
const EMPTY_BODY = ['content-length', '0'];

/** Ends a response with a status and, for errors, a short JSON body naming what went wrong. */
export function respond(
  res: ServerResponse,
  status: number,
  reason?: string,
  headers?: Record<string, string>,
): void {
  if (reason === undefined && headers === undefined) {
    // The answer to nearly every event: a status without a body, headers given as the flat list
    // node:http writes as they are.
    res.writeHead(status, EMPTY_BODY);
    res.end();
    return;
  }
  if (headers) for (const name in headers) res.setHeader(name, headers[name]!);
  if (reason === undefined) {
    res.statusCode = status;
    res.setHeader('content-length', '0');
    res.end();
    return;
  }
  const body = JSON.stringify({ error: reason });
  res.statusCode = status;
  res.setHeader('content-type', JSON_TYPE);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}
