import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import {
  FRAMES_PROTOCOL,
  FrameError,
  FrameReader,
  GOAWAY,
  REQUEST,
  decodeRequest,
  encodeGoAway,
  encodeResponse,
  type FrameLimits,
  type HeaderPairs,
  type RequestFrame,
} from './codec';
import { FrameWriter } from './writer';

/** What a frame handler answers: as an HTTP response, without the transport. */
export interface FrameAnswer {
  status: number;
  headers?: HeaderPairs;
  body?: Buffer;
}

/** Handles one request frame (the same work the service's HTTP handler does for a POST). */
export type FrameHandler = (request: RequestFrame) => Promise<FrameAnswer>;

export interface FrameServerOptions {
  handler: FrameHandler;
  /** Largest request body; with `maxHeaderBytes` it makes the largest frame accepted. */
  maxBodyBytes: number;
  /** Room for the path and headers of a frame; default 64 KiB (node:http allows 16 KiB of headers). */
  maxHeaderBytes?: number;
  /** Most header pairs in a frame; default 256. */
  maxHeaderPairs?: number;
  /**
   * Requests one connection may have in flight; default 1024. Over it, the server stops reading the
   * connection until answers go out (TCP pushes back on the client), never queueing without bound.
   */
  maxStreams?: number;
}

const SWITCHING = `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${FRAMES_PROTOCOL}\r\n\r\n`;
const REFUSED = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
const INTERNAL_ERROR = Buffer.from(JSON.stringify({ error: 'internal error' }));
const JSON_HEADERS = ['content-type', 'application/json'];

/**
 * The server side of eventing frames on a node:http server: takes `Upgrade: eventing-frames/1` on
 * its 'upgrade' event and serves each request frame through the handler, answers written as they
 * are ready (in any order). `goAway` is its part of a graceful shutdown.
 */
export class FrameServer {
  private readonly connections = new Set<ServerConnection>();
  private readonly limits: FrameLimits;
  private readonly maxStreams: number;
  private closing = false;

  constructor(private readonly options: FrameServerOptions) {
    this.limits = {
      maxFrameBytes: options.maxBodyBytes + (options.maxHeaderBytes ?? 64 * 1024),
      maxHeaderPairs: options.maxHeaderPairs ?? 256,
    };
    this.maxStreams = options.maxStreams ?? 1024;
  }

  /** Serves upgrades on `server`. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
  }

  /** Connections open now. */
  get size(): number {
    return this.connections.size;
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (this.closing || req.headers.upgrade?.toLowerCase() !== FRAMES_PROTOCOL) {
      socket.end(REFUSED);
      return;
    }
    socket.setNoDelay(true);
    socket.write(SWITCHING);
    const connection = new ServerConnection(socket, this.options.handler, this.limits, this.maxStreams);
    this.connections.add(connection);
    socket.once('close', () => this.connections.delete(connection));
    connection.start(head);
  }

  /**
   * Sends goaway on every connection and refuses new ones; resolves once every request already
   * received was answered and its connection closed, or after `graceMs` (then the rest are cut).
   */
  async goAway(graceMs = 30_000): Promise<void> {
    this.closing = true;
    const drained = [...this.connections].map((c) => c.goAway());
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(drained), late]);
    clearTimeout(timer);
    this.destroy();
  }

  /** Cuts every connection at once. */
  destroy(): void {
    this.closing = true;
    for (const c of this.connections) c.destroy();
  }
}

class ServerConnection {
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private inFlight = 0;
  private lastStream = 0;
  private paused = false;
  /** Requests read past the stream limit (at most the rest of one chunk): run as answers go out. */
  private readonly waiting: RequestFrame[] = [];
  private goingAway = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly handler: FrameHandler,
    private readonly limits: FrameLimits,
    private readonly maxStreams: number,
  ) {
    this.writer = new FrameWriter(socket);
    this.reader = new FrameReader(limits, (type, stream, payload) => this.frame(type, stream, payload));
  }

  start(head: Buffer): void {
    const socket = this.socket;
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    socket.on('error', () => socket.destroy());
    // The client closed its side (node:http sockets allow half-open ones): answer what is in flight, then close ours.
    socket.once('end', () => {
      this.goingAway = true;
      this.endIfDone();
    });
    socket.once('close', () => this.drained?.());
    if (head.length > 0) this.data(head);
  }

  goAway(): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    this.goingAway = true;
    this.writer.write(encodeGoAway(this.lastStream), undefined);
    return new Promise<void>((resolve) => {
      this.drained = resolve;
      this.endIfDone();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private data(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
    } catch (err) {
      // A protocol violation: nothing more on this connection can be trusted.
      if (err instanceof FrameError) this.socket.destroy();
      else throw err;
    }
  }

  private frame(type: number, stream: number, payload: Buffer): void {
    if (type !== REQUEST) {
      if (type === GOAWAY) return;
      throw new FrameError(`frame type ${type} sent to a server`);
    }
    const request = decodeRequest(stream, payload, this.limits);
    this.lastStream = stream;
    if (this.inFlight >= this.maxStreams) {
      // Over the limit: the rest of this chunk waits here, and nothing more is read until it ran.
      this.waiting.push(request);
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    this.run(request);
  }

  private run(request: RequestFrame): void {
    const stream = request.stream;
    this.inFlight++;
    let answer: Promise<FrameAnswer>;
    try {
      answer = this.handler(request);
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (a) => this.answer(stream, a),
      () => this.answer(stream, { status: 500, headers: JSON_HEADERS, body: INTERNAL_ERROR }),
    );
  }

  private answer(stream: number, a: FrameAnswer): void {
    this.inFlight--;
    const body = a.body;
    this.writer.write(encodeResponse(stream, a.status, a.headers, body?.length ?? 0), body);
    if (this.paused) {
      const waiting = this.waiting;
      while (waiting.length > 0 && this.inFlight < this.maxStreams) this.run(waiting.shift()!);
      if (waiting.length === 0) {
        this.paused = false;
        this.socket.resume();
      }
    }
    if (this.goingAway) this.endIfDone();
  }

  private endIfDone(): void {
    if (this.inFlight > 0 || this.waiting.length > 0) return;
    this.writer.flush();
    // Resolved on 'close', once the client closed its side too.
    this.socket.end();
  }
}
