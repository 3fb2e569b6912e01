import 'reflect-metadata';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { isAdminPath, type Logger } from '@eventing/runtime';
import type { AdmissionHandler } from './admission/handler';
import { admissionListener } from './admission/listener';
import { WebhookMetrics } from './admission/metrics';
import { WebhookAdminModule } from './webhook.module';

export interface AdmissionServerOptions {
  handler: AdmissionHandler;
  /** The serving key and certificate (PEM); replace them later with `setIdentity`. */
  identity: { key: string; cert: string };
  port: number;
  host: string;
  log: Logger;
  maxBodyBytes?: number;
  /** More admission paths (the SinkBinding subjects' `/sinkbindings`): true when it served the request. */
  routes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface AdmissionServer {
  /** `https://host:port` actually bound. */
  url: string;
  port: number;
  server: Server;
  metrics: WebhookMetrics;
  /** Serves new connections with another key and certificate (a renewal); open ones keep theirs. */
  setIdentity(identity: { key: string; cert: string }): void;
  /** Stops accepting, reports not ready, finishes open requests, then closes. */
  close(): Promise<void>;
}

/**
 * Serves the admission webhook over HTTPS: `POST /defaulting` and `POST /validation` straight to
 * the handler (plain functions, no framework per request), `/healthz`, `/readyz` and `/metrics`
 * through a small NestJS application, anything else 404.
 */
export async function startAdmissionServer(options: AdmissionServerOptions): Promise<AdmissionServer> {
  const { handler, log } = options;
  const metrics = new WebhookMetrics((g, v, k) => handler.serves(g, v, k));
  let ready = false;
  const admin = await adminApp(
    { readiness: () => (ready ? { ready } : { ready, reason: 'starting or stopping' }) },
    metrics,
  );
  const nest = admin.getHttpAdapter().getInstance() as (req: IncomingMessage, res: ServerResponse) => void;
  const admit = admissionListener({ handler, metrics, log, maxBodyBytes: options.maxBodyBytes });
  const server = createServer(
    {
      key: options.identity.key,
      cert: options.identity.cert,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
    },
    (req, res) => {
      if (admit(req, res) || options.routes?.(req, res)) return;
      if (isAdminPath(req.url)) return nest(req, res);
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found: the webhook serves POST /defaulting and POST /validation\n');
    },
  );
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
  } catch (err) {
    await admin.close();
    throw err;
  }
  ready = true;
  const port = (server.address() as AddressInfo).port;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    server,
    metrics,
    setIdentity: (identity) => server.setSecureContext({ key: identity.key, cert: identity.cert }),
    close: () => {
      closing ??= (async () => {
        ready = false;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await admin.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

async function adminApp(
  readiness: { readiness(): { ready: boolean; reason?: string } },
  metrics: WebhookMetrics,
): Promise<INestApplication> {
  const app = await NestFactory.create(
    WebhookAdminModule.register(readiness, metrics.registry),
    new ExpressAdapter(),
    { logger: ['error', 'warn'], abortOnError: false, bodyParser: false },
  );
  await app.init();
  return app;
}
