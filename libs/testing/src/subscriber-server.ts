import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** One request the server received. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** performance.now() when the request head arrived. */
  at: number;
  /** Client port: equal ports mean one reused keep-alive connection. */
  remotePort: number;
}

/** How to answer one request. */
export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before sending anything. */
  delayMs?: number;
  /** Send the head, then wait this long before sending the body. */
  bodyDelayMs?: number;
  /** Drop the connection without answering (a network error for the sender). */
  destroy?: boolean;
}

/** Answers for requests 0, 1, 2…; the last one repeats. Or a function of the request and its index. */
export type Script = Answer[] | ((request: RecordedRequest, index: number) => Answer);

/** A real HTTP subscriber on 127.0.0.1 that records requests and answers from a script. */
export class SubscriberServer {
  readonly requests: RecordedRequest[] = [];
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private readonly sockets = new Set<Socket>();
  private scriptStart = 0;

  private constructor(
    private readonly server: Server,
    private script: Script,
  ) {}

  /** Starts a server on an ephemeral port. */
  static async start(script: Script = [{ status: 202 }]): Promise<SubscriberServer> {
    const server = createServer();
    const subscriber = new SubscriberServer(server, script);
    server.on('connection', (socket: Socket) => {
      subscriber.sockets.add(socket);
      socket.on('close', () => subscriber.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      const at = performance.now();
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const recorded: RecordedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
          at,
          remotePort: req.socket.remotePort ?? 0,
        };
        const index = subscriber.requests.push(recorded) - 1;
        subscriber.notify();
        subscriber.answer(subscriber.pick(recorded, index), res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return subscriber;
  }

  /** Base URL, e.g. http://127.0.0.1:41234 */
  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Replaces the script; its first answer goes to the next request. */
  setScript(script: Script): void {
    this.script = script;
    this.scriptStart = this.requests.length;
  }

  /** Resolves once `count` requests have arrived (rejects after timeoutMs, saying how many came). */
  waitForRequests(count: number, timeoutMs = 5000): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `expected ${count} requests at ${this.url}, got ${this.requests.length} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Gaps between consecutive request arrivals, in ms. */
  gaps(): number[] {
    const out: number[] = [];
    for (let i = 1; i < this.requests.length; i++) {
      out.push((this.requests[i] as RecordedRequest).at - (this.requests[i - 1] as RecordedRequest).at);
    }
    return out;
  }

  private readonly timers = new Set<NodeJS.Timeout>();

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pick(request: RecordedRequest, absolute: number): Answer {
    const script = this.script;
    const index = absolute - this.scriptStart;
    if (typeof script === 'function') return script(request, index);
    return script[Math.min(index, script.length - 1)] ?? { status: 202 };
  }

  private answer(answer: Answer, res: ServerResponse): void {
    const send = (): void => {
      if (res.destroyed || res.socket === null || res.socket.destroyed) return;
      if (answer.destroy) {
        res.socket?.destroy();
        return;
      }
      res.writeHead(answer.status ?? 200, answer.headers);
      if (answer.bodyDelayMs !== undefined) {
        res.flushHeaders();
        this.later(() => {
          if (!res.destroyed) res.end(answer.body);
        }, answer.bodyDelayMs);
        return;
      }
      res.end(answer.body);
    };
    if (answer.delayMs !== undefined) this.later(send, answer.delayMs);
    else send();
  }

  /** A delayed answer; cleared on close so that a long delay never outlives the server. */
  private later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private notify(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i] as { count: number; resolve: () => void };
      if (this.requests.length >= waiter.count) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }
}
