import 'reflect-metadata';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { DynamicModule, INestApplication, LogLevel as NestLogLevel, Type } from '@nestjs/common';

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
}

export interface RunningService {
  app: INestApplication;
  server: Server;
  /** `http://host:port` actually bound. */
  url: string;
  port: number;
  /** Stops accepting, lets the application's shutdown hooks finish in-flight work, then closes. */
  close(): Promise<void>;
}

function isAdminPath(url: string | undefined): boolean {
  if (url === undefined) return false;
  for (const p of ADMIN_PATHS) {
    if (url.startsWith(p) && (url.length === p.length || url[p.length] === '?' || url[p.length] === '/'))
      return true;
  }
  return false;
}

/**
 * Starts a NestJS service whose per-event requests bypass the framework: one Node HTTP server
 * sends admin paths to Nest (Express) and everything else to the plain handler built at start-up.
 */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const app = await NestFactory.create(options.module, new ExpressAdapter(), {
    logger: options.nestLogLevels ?? ['error', 'warn'],
    abortOnError: false,
  });
  await app.init();
  const nest = app.getHttpAdapter().getInstance() as (req: IncomingMessage, res: ServerResponse) => void;
  const fast = options.fastPath(app);
  const server = createServer((req, res) => (isAdminPath(req.url) ? nest(req, res) : fast(req, res)));
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
  server.headersTimeout = Math.max(server.keepAliveTimeout + 1_000, 66_000);
  server.requestTimeout = 0;
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
      await app.close();
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
