import type { ServerResponse } from 'node:http';
import { FRAMES_HEADER, type FrameAnswer } from '@eventing/frames';

const JSON_TYPE = 'application/json';
const EMPTY_BODY = ['content-length', '0'];
const EMPTY_BODY_FRAMES = ['content-length', '0', FRAMES_HEADER, '1'];
const JSON_HEADERS = ['content-type', JSON_TYPE];

/**
 * Ends a response with a status and, for errors, a short JSON body naming what went wrong. With
 * `advertiseFrames`, the answer carries `eventing-frames: 1`: this service also takes eventing frames.
 */
export function respond(
  res: ServerResponse,
  status: number,
  reason?: string,
  headers?: Record<string, string>,
  advertiseFrames = false,
): void {
  if (reason === undefined && headers === undefined) {
    // The answer to nearly every event: a status without a body, headers given as the flat list
    // node:http writes as they are.
    res.writeHead(status, advertiseFrames ? EMPTY_BODY_FRAMES : EMPTY_BODY);
    res.end();
    return;
  }
  if (headers) for (const name in headers) res.setHeader(name, headers[name]!);
  if (advertiseFrames) res.setHeader(FRAMES_HEADER, '1');
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

/** The same answer as {@link respond}, as an eventing frame. */
export function frameAnswer(
  status: number,
  reason: string | undefined,
  headers: Record<string, string> | undefined,
): FrameAnswer {
  if (reason === undefined) return headers === undefined ? { status } : { status, headers };
  const body = Buffer.from(JSON.stringify({ error: reason }));
  if (headers === undefined) return { status, headers: JSON_HEADERS, body };
  return { status, headers: { ...headers, 'content-type': JSON_TYPE }, body };
}
