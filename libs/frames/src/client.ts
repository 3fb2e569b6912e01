import { connect, type Socket } from 'node:net';
import {
  FRAMES_PROTOCOL,
  FrameError,
  FrameReader,
  GOAWAY,
  RESPONSE,
  decodeResponse,
  encodeRequest,
  type FrameLimits,
  type HeaderPairs,
} from './codec';
import { FrameWriter } from './writer';

/** Who waits for one response: told it, or why it will never come. Settles at most once. */
export interface StreamHandler {
  /** Set by the client on send: the connection and stream it went on (for `forget`). */
  frameConnection: ClientConnection | undefined;
  frameStream: number;
  onFrameResponse(status: number, headers: Record<string, string>, body: Buffer): void;
  onFrameError(error: Error): void;
}

export interface FramesClientOptions {
  /** Framed connections per origin; default 2. */
  connections?: number;
  /** Requests a connection carries before it is replaced; default 100 000. */
  maxRequestsPerConnection?: number;
  /** Age after which a connection is replaced (ms); default 30 s. */
  maxConnectionAgeMs?: number;
  /** Largest response body accepted; a larger frame closes the connection. Default 4 MiB. */
  maxResponseBytes?: number;
  /** Time to connect and be switched (ms); default 5 s. */
  connectTimeoutMs?: number;
  /** First wait before an origin that refused or failed an upgrade is tried again (ms); default 1 s, doubling to 60 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

interface Settings {
  connections: number;
  maxRequests: number;
  maxAgeMs: number;
  limits: FrameLimits;
  connectTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

/** A connection dropped, or was refused, before the response: retryable, as a reset HTTP connection is. */
export class FrameConnectionError extends Error {
  override readonly name = 'FrameConnectionError';
  constructor(
    message: string,
    readonly code = 'ECONNRESET',
  ) {
    super(message);
  }
}

/**
 * The client side of eventing frames: per origin a few framed connections, used round-robin,
 * replaced after an age or a number of requests so that new replicas behind one address get their
 * share. An origin gets connections only after it said it takes frames ({@link FramePool.offered}).
 */
export class FramesClient {
  private readonly pools = new Map<string, FramePool>();
  private readonly settings: Settings;
  private closed = false;

  constructor(options: FramesClientOptions = {}) {
    this.settings = {
      connections: options.connections ?? 2,
      maxRequests: options.maxRequestsPerConnection ?? 100_000,
      maxAgeMs: options.maxConnectionAgeMs ?? 30_000,
      limits: {
        maxFrameBytes: (options.maxResponseBytes ?? 4 * 1024 * 1024) + 64 * 1024,
        maxHeaderPairs: 1024,
      },
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      retryMinMs: options.retryMinMs ?? 1_000,
      retryMaxMs: options.retryMaxMs ?? 60_000,
    };
  }

  /** The pool of an `http:` origin (`http://host:port`); undefined for any other. */
  pool(origin: string): FramePool | undefined {
    if (this.closed || !origin.startsWith('http://')) return undefined;
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      const url = new URL(origin);
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      pool = new FramePool(host, Number(url.port || 80), url.host, this.settings);
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** The pool of an origin that offered frames before, if any. */
  existing(origin: string): FramePool | undefined {
    return this.pools.get(origin);
  }

  /** How many origins offered frames so far: unchanged, a lookup that found nothing still finds nothing. */
  get origins(): number {
    return this.pools.size;
  }

  /** Closes every connection; requests in flight fail. */
  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }
}

/** The framed connections to one origin. */
export class FramePool {
  private open: ClientConnection[] = [];
  private connecting = 0;
  private next = 0;
  private retryAt = 0;
  private retryMs: number;
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly authority: string,
    private readonly settings: Settings,
  ) {
    this.retryMs = settings.retryMinMs;
  }

  /** Whether a request can go on a framed connection now. */
  get ready(): boolean {
    return this.open.length > 0;
  }

  /** Connections open now. */
  get size(): number {
    return this.open.length;
  }

  /** The origin said it takes frames: opens connections unless it recently refused them. */
  offered(): void {
    if (this.closed || this.open.length + this.connecting >= this.settings.connections) return;
    if (Date.now() < this.retryAt) return;
    while (this.open.length + this.connecting < this.settings.connections) this.dial();
  }

  /** Sends a request on the next connection; false when none is open (send it over HTTP). */
  send(path: string, headers: HeaderPairs, body: Buffer | undefined, handler: StreamHandler): boolean {
    const open = this.open;
    if (open.length < this.settings.connections && this.connecting === 0) this.offered();
    if (open.length === 0) return false;
    const i = this.next++ % open.length;
    const connection = open[i]!;
    if (this.next >= 1 << 30) this.next = 0;
    connection.request(path, headers, body, handler);
    if (connection.requests >= this.settings.maxRequests) this.retire(connection);
    return true;
  }

  close(): void {
    this.closed = true;
    for (const c of this.open) c.close(new FrameConnectionError('client closed'));
    this.open = [];
  }

  private dial(): void {
    this.connecting++;
    const connection = new ClientConnection(this.settings.limits, {
      opened: () => {
        this.connecting--;
        this.retryMs = this.settings.retryMinMs;
        if (this.closed) return connection.close(new FrameConnectionError('client closed'));
        this.open.push(connection);
        setTimeout(() => this.retire(connection), this.settings.maxAgeMs).unref();
      },
      refused: () => {
        this.connecting--;
        this.retryAt = Date.now() + this.retryMs;
        this.retryMs = Math.min(this.retryMs * 2, this.settings.retryMaxMs);
      },
      retiring: () => this.retire(connection),
    });
    connection.connect(this.host, this.port, this.authority, this.settings.connectTimeoutMs);
  }

  /** Takes a connection out of the rotation; it closes once its requests are answered. */
  private retire(connection: ClientConnection): void {
    const i = this.open.indexOf(connection);
    if (i < 0) return;
    this.open.splice(i, 1);
    connection.drain();
    // Its replacement, unless the origin refused recently.
    this.offered();
  }
}

interface ConnectionEvents {
  opened(): void;
  /** Connecting or switching failed: the origin is not tried again for a while. */
  refused(): void;
  /** The server said goaway, or the connection closed: take it out of the rotation. */
  retiring(): void;
}

const HEAD_LIMIT = 8 * 1024;

/** One framed connection: an HTTP/1.1 Upgrade, then request frames out and response frames in. */
export class ClientConnection {
  private socket: Socket | undefined;
  private writer: FrameWriter | undefined;
  private readonly reader: FrameReader;
  private readonly streams = new Map<number, StreamHandler>();
  private nextStream = 1;
  private state: 'connecting' | 'open' | 'draining' | 'closed' = 'connecting';
  /** Requests sent so far. */
  requests = 0;

  constructor(
    private readonly limits: FrameLimits,
    private readonly events: ConnectionEvents,
  ) {
    this.reader = new FrameReader(limits, (type, stream, payload) => this.frame(type, stream, payload));
  }

  connect(host: string, port: number, authority: string, timeoutMs: number): void {
    const socket = connect({ host, port, noDelay: true });
    this.socket = socket;
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(new Error('upgrade timed out')), timeoutMs);
    const onHead = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > HEAD_LIMIT) socket.destroy(new Error('upgrade answer too long'));
        return;
      }
      clearTimeout(timer);
      socket.off('data', onHead);
      const lines = head.toString('latin1', 0, end).split('\r\n');
      const switched =
        /^HTTP\/1\.1 101 /.test(lines[0] ?? '') &&
        lines.some((l) => l.toLowerCase() === `upgrade: ${FRAMES_PROTOCOL}`);
      if (!switched) {
        this.state = 'closed';
        socket.destroy();
        this.events.refused();
        return;
      }
      this.state = 'open';
      this.writer = new FrameWriter(socket);
      socket.on('data', (c: Buffer) => this.data(c));
      this.events.opened();
      if (head.length > end + 4) this.data(head.subarray(end + 4));
    };
    socket.on('data', onHead);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      if (this.state === 'connecting') {
        this.state = 'closed';
        this.events.refused();
        return;
      }
      this.close(new FrameConnectionError('connection closed before the response'));
    });
    socket.once('connect', () =>
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${authority}\r\nConnection: Upgrade\r\nUpgrade: ${FRAMES_PROTOCOL}\r\n\r\n`,
      ),
    );
  }

  request(path: string, headers: HeaderPairs, body: Buffer | undefined, handler: StreamHandler): void {
    const stream = this.nextStream;
    this.nextStream = stream >= 0x7fffffff ? 1 : stream + 1;
    this.requests++;
    handler.frameConnection = this;
    handler.frameStream = stream;
    this.streams.set(stream, handler);
    this.writer!.write(encodeRequest(stream, path, headers, body?.length ?? 0), body);
  }

  /** Stops waiting for a stream's response (timed out or cancelled); a late one is dropped. */
  forget(stream: number): void {
    this.streams.delete(stream);
    if (this.state === 'draining' && this.streams.size === 0) this.socket?.end();
  }

  /** Sends nothing more; closes once every response came. */
  drain(): void {
    if (this.state !== 'open') return;
    this.state = 'draining';
    if (this.streams.size === 0) this.socket?.end();
  }

  /** Closes now: every request still waiting fails with `error`. */
  close(error: Error): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.socket?.destroy();
    const waiting = [...this.streams.values()];
    this.streams.clear();
    if (wasOpen) this.events.retiring();
    for (const handler of waiting) handler.onFrameError(error);
  }

  private data(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.close(new FrameConnectionError(`protocol error: ${err.message}`, 'EPROTO'));
    }
  }

  private frame(type: number, stream: number, payload: Buffer): void {
    if (type === GOAWAY) {
      this.events.retiring();
      return;
    }
    if (type !== RESPONSE) throw new FrameError(`frame type ${type} sent to a client`);
    const response = decodeResponse(stream, payload, this.limits);
    const handler = this.streams.get(stream);
    if (handler === undefined) return;
    this.streams.delete(stream);
    handler.onFrameResponse(response.status, response.headers, response.body);
    if (this.state === 'draining' && this.streams.size === 0) this.socket?.end();
  }
}
