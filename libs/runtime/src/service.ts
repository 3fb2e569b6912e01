import 'reflect-metadata';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { DynamicModule, INestApplication, LogLevel as NestLogLevel, Type } from '@nestjs/common';
import type { FrameServer } from '@eventing/frames';

/** Paths served by the NestJS application (probes, metrics, admin); everything else is the fast path. */
export const ADMIN_PATHS = ['/healthz', '/readyz', '/metrics'];

export interface ServiceOptions {
  /** The service's root NestJS module. */
  module: Type<unknown> | DynamicModule;
  port: number;
  host?: string;
  /** Picks the plain per-event request handler out of the started application. */
  fastPath: (app: INestApplication) => (req: IncomingMessage, res: ServerResponse) => void;
  nestLogLevels?: NestLogLevel[];
  /** Idle keep-alive time for client connections (ms). */
  keepAliveTimeoutMs?: number;
  /**
   * Time a client has to send a request's headers, from its first byte (or from connecting) (ms;
   * default 10 s). Headers are a few KiB; 10 s is ample on any link, while Node's own 60 s would
   * let a client that never finishes them hold a socket for a minute.
   */
  headersTimeoutMs?: number;
  /**
   * Time a client has to send a whole request, headers and body (ms; default 30 s): a 4 MiB event
   * (the default body limit) arrives in time at 140 KiB/s. Raise it with the body limit. Only the
   * receiving is timed: a handler may take longer to answer a request it has read.
   */
  requestTimeoutMs?: number;
  /**
   * Eventing frames on the same port (HTTP/1.1 Upgrade): our own services send their events over
   * them once the fast path's answers say so. At shutdown it says goaway and answers what it has.
   */
  frames?: FrameServer;
}

/** Default of {@link ServiceOptions.headersTimeoutMs}. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** Default of {@link ServiceOptions.requestTimeoutMs}. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface RunningService {
  app: INestApplication;
  server: Server;
  /** `http://host:port` actually bound. */
  url: string;
  port: number;
  /** Stops accepting, lets the application's shutdown hooks finish in-flight work, then closes. */
  close(): Promise<void>;
}

/**
 * Admin paths are single segments matched exactly (a query is allowed): `/metrics/x` is not one, so a
 * namespace named `metrics`, `healthz` or `readyz` still reaches its brokers at `/<ns>/<name>`.
 */
export function isAdminPath(url: string | undefined): boolean {
  if (url === undefined) return false;
  for (const p of ADMIN_PATHS) {
    if (url.startsWith(p) && (url.length === p.length || url[p.length] === '?')) return true;
  }
  return false;
}

/**
 * Starts a NestJS service whose per-event requests bypass the framework: one Node HTTP server
 * sends admin paths to Nest (Express) and everything else to the plain handler built at start-up.
 */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const headersTimeout = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  for (const [name, ms] of [
    ['headersTimeoutMs', headersTimeout],
    ['requestTimeoutMs', requestTimeout],
  ] as const) {
    if (!Number.isInteger(ms) || ms < 1)
      throw new RangeError(`${name} ${ms}: expected an integer of at least 1`);
  }
  if (headersTimeout > requestTimeout)
    throw new RangeError(
      `headersTimeoutMs ${headersTimeout} is more than requestTimeoutMs ${requestTimeout}: the headers are part of the request`,
    );
  const app = await NestFactory.create(options.module, new ExpressAdapter(), {
    logger: options.nestLogLevels ?? ['error', 'warn'],
    abortOnError: false,
    // The admin endpoints take no body: parsing one would only let clients make them fail (and log).
    bodyParser: false,
  });
  await app.init();
  const nest = app.getHttpAdapter().getInstance() as (req: IncomingMessage, res: ServerResponse) => void;
  const fast = options.fastPath(app);
  // Node checks the timeouts on a timer (every 30 s by default); checking every second (or twice
  // per limit, for limits under 2 s) cuts a stalled client within about a second of its limit.
  // A cut client gets `408 Request Timeout` and `Connection: close` when no answer has started.
  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 2))),
    },
    (req, res) => (isAdminPath(req.url) ? nest(req, res) : fast(req, res)),
  );
  // Idle keep-alive connections are not timed by the two limits above, only by this one.
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
  const frames = options.frames;
  frames?.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Framed connections hear goaway now: their clients send new events elsewhere while the
      // requests already received are answered.
      const framesDrained = frames?.goAway(requestTimeout);
      await app.close();
      await framesDrained;
      server.closeAllConnections();
      await stopped;
    })();
    return closing;
  };
  return { app, server, url: `http://${host}:${port}`, port, close };
}

/** Closes the service on SIGTERM/SIGINT, then exits; a second signal exits at once. */
export function closeOnSignals(service: { close(): Promise<void> }, log: (msg: string) => void): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log(`${signal} received: finishing in-flight work, then exiting`);
    service.close().then(
      () => process.exit(0),
      (err: Error) => {
        log(`shutdown failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * The end of every service's main: starts it, logs where it listens as a JSON line, closes it on
 * SIGTERM/SIGINT, and exits 1 with the reason when it cannot start (settings included).
 */
export function runService(service: string, start: () => Promise<RunningService>): void {
  const log = (level: string, msg: string) => console.log(JSON.stringify({ level, service, msg }));
  Promise.resolve()
    .then(start)
    .then(
      (running) => {
        log('info', `listening on ${running.url}`);
        closeOnSignals(running, (m) => log('info', m));
      },
      (err: Error) => {
        log('error', `could not start: ${err.message}`);
        process.exit(1);
      },
    );
}
