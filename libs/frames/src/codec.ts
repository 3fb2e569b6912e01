// The wire format of eventing frames: every frame is a 9-byte head (payload length u32, type u8,
// stream id u32, big-endian) and its payload. Strings (path, header names and values) are latin1,
// one byte per char, as node:http and undici put them on the wire, so a header value reads the same
// over frames as over HTTP/1.1.
//
//   request  payload: path length u16, path, pair count u16, pairs, body (the rest)
//   response payload: status u16, pair count u16, pairs, body (the rest)
//   goaway   payload: none; the stream id is the last request the sender will answer
//   pair: name length u16, name, value length u32, value

/** A request: the client asks, on a stream id of its choosing. */
export const REQUEST = 1;
/** The answer to the request of the same stream id. */
export const RESPONSE = 2;
/** The server takes no new requests on this connection; those already sent are answered. */
export const GOAWAY = 3;

/** Bytes of a frame's head. */
export const HEAD_BYTES = 9;

/** The response header by which a server says it accepts frames. */
export const FRAMES_HEADER = 'eventing-frames';
/** The protocol name of the HTTP/1.1 Upgrade. */
export const FRAMES_PROTOCOL = 'eventing-frames/1';

/** Sizes a reader refuses beyond: a frame over them is a protocol violation. */
export interface FrameLimits {
  /** Largest payload (headers and body) of one frame. */
  maxFrameBytes: number;
  /** Most header pairs in one frame. */
  maxHeaderPairs: number;
}

/** A malformed frame or one over the limits: the connection it came on is closed. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

/** A decoded request frame. */
export interface RequestFrame {
  stream: number;
  path: string;
  /** Names lower-cased, a repeated name's values joined with ", " (as node:http presents them). */
  headers: Record<string, string>;
  body: Buffer;
}

/** A decoded response frame. */
export interface ResponseFrame {
  stream: number;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** Header pairs as a flat `[name, value, name, value, ...]` list, or an object. */
export type HeaderPairs = readonly string[] | Readonly<Record<string, string>>;

function pairsBytes(headers: HeaderPairs | undefined): [bytes: number, count: number] {
  let bytes = 0;
  let count = 0;
  if (headers === undefined) return [0, 0];
  if (Array.isArray(headers)) {
    const flat = headers as readonly string[];
    for (let i = 0; i < flat.length; i++) bytes += flat[i]!.length;
    count = flat.length >> 1;
  } else {
    const map = headers as Readonly<Record<string, string>>;
    for (const name in map) {
      bytes += name.length + map[name]!.length;
      count++;
    }
  }
  return [bytes + count * 6, count];
}

function writePair(buf: Buffer, at: number, name: string, value: string): number {
  buf.writeUInt16BE(name.length, at);
  at += 2;
  at += buf.write(name, at, 'latin1');
  buf.writeUInt32BE(value.length, at);
  at += 4;
  return at + buf.write(value, at, 'latin1');
}

function writePairs(buf: Buffer, at: number, headers: HeaderPairs | undefined, count: number): number {
  buf.writeUInt16BE(count, at);
  at += 2;
  if (headers === undefined) return at;
  if (Array.isArray(headers)) {
    const flat = headers as readonly string[];
    for (let i = 0; i + 1 < flat.length; i += 2) at = writePair(buf, at, flat[i]!, flat[i + 1]!);
  } else {
    const map = headers as Readonly<Record<string, string>>;
    for (const name in map) at = writePair(buf, at, name, map[name]!);
  }
  return at;
}

function head(buf: Buffer, payload: number, type: number, stream: number): void {
  buf.writeUInt32BE(payload, 0);
  buf[4] = type;
  buf.writeUInt32BE(stream, 5);
}

/**
 * The head and header part of a request frame; the body (of `bodyBytes`) is written after it as it
 * is, so an event's body is never copied into the frame.
 */
export function encodeRequest(
  stream: number,
  path: string,
  headers: HeaderPairs | undefined,
  bodyBytes: number,
): Buffer {
  const [bytes, count] = pairsBytes(headers);
  const size = HEAD_BYTES + 2 + path.length + 2 + bytes;
  const buf = Buffer.allocUnsafe(size);
  head(buf, size - HEAD_BYTES + bodyBytes, REQUEST, stream);
  buf.writeUInt16BE(path.length, HEAD_BYTES);
  let at = HEAD_BYTES + 2;
  at += buf.write(path, at, 'latin1');
  writePairs(buf, at, headers, count);
  return buf;
}

/** The head and header part of a response frame (the body follows as it is). */
export function encodeResponse(
  stream: number,
  status: number,
  headers: HeaderPairs | undefined,
  bodyBytes: number,
): Buffer {
  const [bytes, count] = pairsBytes(headers);
  const size = HEAD_BYTES + 4 + bytes;
  const buf = Buffer.allocUnsafe(size);
  head(buf, size - HEAD_BYTES + bodyBytes, RESPONSE, stream);
  buf.writeUInt16BE(status, HEAD_BYTES);
  writePairs(buf, HEAD_BYTES + 2, headers, count);
  return buf;
}

/** A goaway frame naming the last stream the sender answers. */
export function encodeGoAway(lastStream: number): Buffer {
  const buf = Buffer.allocUnsafe(HEAD_BYTES);
  head(buf, 0, GOAWAY, lastStream);
  return buf;
}

/** Reads the pairs at `at` into `out`; returns where the body starts. */
function readPairs(p: Buffer, at: number, limits: FrameLimits, out: Record<string, string>): number {
  if (at + 2 > p.length) throw new FrameError('frame ends inside its header count');
  const count = p.readUInt16BE(at);
  at += 2;
  if (count > limits.maxHeaderPairs)
    throw new FrameError(`${count} header pairs: more than the limit of ${limits.maxHeaderPairs}`);
  for (let i = 0; i < count; i++) {
    if (at + 2 > p.length) throw new FrameError('frame ends inside a header name');
    const nameLength = p.readUInt16BE(at);
    at += 2;
    if (nameLength === 0 || at + nameLength + 4 > p.length)
      throw new FrameError('frame ends inside a header name');
    let name = p.toString('latin1', at, at + nameLength);
    at += nameLength;
    const valueLength = p.readUInt32BE(at);
    at += 4;
    if (at + valueLength > p.length) throw new FrameError(`frame ends inside the value of ${name}`);
    const value = p.toString('latin1', at, at + valueLength);
    at += valueLength;
    if (hasUpper(name)) name = name.toLowerCase();
    const before = out[name];
    out[name] = before === undefined ? value : `${before}, ${value}`;
  }
  return at;
}

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

/** Decodes a request frame's payload. */
export function decodeRequest(stream: number, p: Buffer, limits: FrameLimits): RequestFrame {
  if (p.length < 4) throw new FrameError('request frame too short');
  const pathLength = p.readUInt16BE(0);
  if (pathLength === 0 || 2 + pathLength > p.length) throw new FrameError('request frame has no path');
  const path = p.toString('latin1', 2, 2 + pathLength);
  const headers: Record<string, string> = {};
  const at = readPairs(p, 2 + pathLength, limits, headers);
  return { stream, path, headers, body: at === p.length ? EMPTY : p.subarray(at) };
}

/** Decodes a response frame's payload. */
export function decodeResponse(stream: number, p: Buffer, limits: FrameLimits): ResponseFrame {
  if (p.length < 4) throw new FrameError('response frame too short');
  const status = p.readUInt16BE(0);
  if (status < 100 || status > 599) throw new FrameError(`response status ${status}`);
  const headers: Record<string, string> = {};
  const at = readPairs(p, 2, limits, headers);
  return { stream, status, headers, body: at === p.length ? EMPTY : p.subarray(at) };
}

/**
 * Cuts a byte stream into frames: many frames from one chunk, one frame from many chunks. A frame
 * over `maxFrameBytes` or of an unknown type throws a FrameError before its payload is buffered.
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes of the frame being gathered in `pending`, once its head is there (0 before). */
  private need = 0;

  constructor(
    private readonly limits: FrameLimits,
    private readonly onFrame: (type: number, stream: number, payload: Buffer) => void,
  ) {}

  /** Feeds one chunk; calls onFrame for every frame it completes. */
  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      // Nothing to join until the head, then the whole frame, is there.
      if (this.need === 0) {
        if (this.pendingBytes < HEAD_BYTES) return;
        const joined = Buffer.concat(this.pending, this.pendingBytes);
        this.pending = [joined];
        const length = joined.readUInt32BE(0);
        this.check(length, joined);
        this.need = HEAD_BYTES + length;
      }
      if (this.pendingBytes < this.need) return;
      buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.need = 0;
    }
    let at = 0;
    const end = buf.length;
    while (end - at >= HEAD_BYTES) {
      const length = buf.readUInt32BE(at);
      this.check(length, buf.subarray(at));
      if (end - at - HEAD_BYTES < length) break;
      const type = buf[at + 4]!;
      const stream = buf.readUInt32BE(at + 5);
      const start = at + HEAD_BYTES;
      at = start + length;
      this.onFrame(type, stream, buf.subarray(start, at));
    }
    if (at < end) {
      const rest = buf.subarray(at);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
      if (rest.length >= HEAD_BYTES) this.need = HEAD_BYTES + rest.readUInt32BE(0);
    }
  }

  private check(length: number, headBytes: Buffer): void {
    if (length > this.limits.maxFrameBytes)
      throw new FrameError(`frame of ${length} bytes: more than the limit of ${this.limits.maxFrameBytes}`);
    if (headBytes.length > 4) {
      const type = headBytes[4]!;
      if (type !== REQUEST && type !== RESPONSE && type !== GOAWAY)
        throw new FrameError(`unknown frame type ${type}`);
    }
  }
}
