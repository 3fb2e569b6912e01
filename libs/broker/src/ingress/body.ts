import type { IncomingMessage } from 'node:http';

export type BodyResult = { ok: true; body: Buffer } | { ok: false; status: 400 | 413; reason: string };

/**
 * Reads a request body up to `maxBytes`. A declared or actual size over the limit answers 413
 * without buffering the rest (the remainder is drained so the connection stays usable).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    req.resume();
    return Promise.resolve(tooLarge(maxBytes));
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        chunks.length = 0;
        resolve(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      resolve({ ok: false, status: 400, reason: `could not read the request body: ${err.message}` });
    });
  });
}

/** The refusal of a body over the limit. */
export function tooLarge(maxBytes: number): BodyResult {
  return { ok: false, status: 413, reason: `request body exceeds the limit of ${maxBytes} bytes` };
}

/** Reads a request body from where it is (a node:http request, or a frame's bytes) up to a limit. */
export type ReadBody<S> = (source: S, maxBytes: number) => Promise<BodyResult> | BodyResult;

/** A node:http request's body, read as `readBody` reads it. */
export const httpBody: ReadBody<IncomingMessage> = readBody;

/** A frame's body: already whole, refused when over the limit. */
export const frameBody: ReadBody<Buffer> = (body, maxBytes) =>
  body.length > maxBytes ? tooLarge(maxBytes) : { ok: true, body };

/**
 * A handler's transport-neutral core: method, path, headers and a body source (read only when the
 * core wants it) in, its answer `A` out. The node:http and eventing-frames adapters call the same one.
 */
export type TransportCore<A> = <S>(
  method: string | undefined,
  url: string,
  headers: Record<string, string | string[] | undefined>,
  source: S,
  read: ReadBody<S>,
) => Promise<A>;
