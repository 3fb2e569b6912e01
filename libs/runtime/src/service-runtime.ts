import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import {
  METRICS_REGISTRY,
  MetricsController,
  processMetrics,
  startTracing,
  type TracingOptions,
} from '@eventing/observability';
import { Registry } from 'prom-client';
import { FrameServer, type FrameHandler } from '@eventing/frames';
import { HealthController, READINESS, type Readiness } from './health';
import { runService, startService, type RunningService } from './service';
import { TRACING_SETTINGS, readSettings, settingsMarkdown, type Setting, type SettingsOf } from './settings';

/** What a data-plane service runs: its per-event handler, its readiness, its metrics, how it stops. */
export interface ServiceCore extends Readiness {
  /** Every request that is not `/healthz`, `/readyz` or `/metrics`, outside the framework. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Served at `/metrics` (with Node's process metrics); without one, `/metrics` has those only. */
  readonly registry?: Registry;
  /** Its events over eventing frames too (the same work as `handler` for a POST), with the body limit. */
  readonly frames?: { handler: FrameHandler; maxBodyBytes: number };
  /** Finishes in-flight work and releases what the core holds (called once the port stopped accepting). */
  close(): Promise<void>;
}

/** A service as a name, its settings table and how its core is made from the settings read. */
export interface ServiceDefinition<T extends readonly Setting[], C extends ServiceCore> {
  name: string;
  /** The table its environment is read through (include `SERVICE_SETTINGS` for `PORT`). */
  settings: T;
  create(settings: SettingsOf<T>): C;
}

/** A running service with its core. */
export interface RunningCore<C extends ServiceCore> extends RunningService {
  core: C;
}

/** A defined service: read its settings, start it, or run it as the process's main. */
export interface DefinedService<T extends readonly Setting[], C extends ServiceCore> {
  readonly name: string;
  readonly settings: T;
  /** Reads the settings from an environment; throws a ConfigError naming what is wrong. */
  fromEnv(env: NodeJS.ProcessEnv): SettingsOf<T>;
  /** The settings table as Markdown, as the service's README prints it. */
  settingsMarkdown(): string;
  /** Starts the core and its HTTP server on `port` (`host` default all interfaces). */
  start(settings: SettingsOf<T> & { port: number; host?: string }): Promise<RunningCore<C>>;
  /** The process main: settings from `process.env`, a JSON line once listening, SIGTERM/SIGINT handled. */
  main(): void;
}

/** Calls the core's close when the application shuts down (after the server stopped accepting). */
class CoreShutdown implements OnApplicationShutdown {
  constructor(private readonly core: ServiceCore) {}
  onApplicationShutdown(): Promise<void> {
    return this.core.close();
  }
}

@Module({})
class ServiceRuntimeModule {}

/**
 * The NestJS module of a core: probes, `/metrics` (the core's registry, or one with the process
 * metrics only, so every service can be scraped alike), and its shutdown.
 */
function coreModule(core: ServiceCore): DynamicModule {
  const registry = core.registry ?? new Registry();
  processMetrics(registry);
  return {
    module: ServiceRuntimeModule,
    controllers: [HealthController, MetricsController],
    providers: [
      { provide: READINESS, useValue: core },
      { provide: CoreShutdown, useFactory: () => new CoreShutdown(core) },
      { provide: METRICS_REGISTRY, useValue: registry },
    ],
  };
}

/**
 * One runtime for every data-plane service: settings from a table, a core made from them, served by
 * the shared shell (admin paths through NestJS, everything else straight to the core's handler).
 */
export function defineService<const T extends readonly Setting[], C extends ServiceCore>(
  definition: ServiceDefinition<T, C>,
): DefinedService<T, C> {
  const fromEnv = (env: NodeJS.ProcessEnv) => readSettings(definition.settings, env);
  const start = async (
    settings: SettingsOf<T> & { port: number; host?: string },
  ): Promise<RunningCore<C>> => {
    const core = definition.create(settings);
    try {
      const running = await startService({
        module: coreModule(core),
        port: settings.port,
        host: settings.host,
        fastPath: () => core.handler,
        frames: core.frames && new FrameServer(core.frames),
      });
      return { ...running, core };
    } catch (err) {
      await core.close().catch(() => undefined);
      throw err;
    }
  };
  return {
    name: definition.name,
    settings: definition.settings,
    fromEnv,
    settingsMarkdown: () => settingsMarkdown(definition.settings),
    start,
    main: () =>
      runService(definition.name, async () => {
        const settings = fromEnv(process.env) as SettingsOf<T> & { port?: unknown };
        if (typeof settings.port !== 'number')
          throw new Error(`${definition.name}: its settings table has no PORT row`);
        const tracing = await startTracing(tracingOptions(definition.name, process.env));
        const running = await start(settings as SettingsOf<T> & { port: number }).catch(
          async (err: Error) => {
            await tracing.shutdown();
            throw err;
          },
        );
        const close = running.close;
        // Spans still buffered are exported before the process exits.
        running.close = () => close().finally(() => tracing.shutdown());
        return running;
      }),
  };
}

/** The tracing options of a service from the OTEL_* rows of its environment. */
export function tracingOptions(service: string, env: NodeJS.ProcessEnv): TracingOptions {
  const t = readSettings(TRACING_SETTINGS, env);
  return {
    endpoint: t.otlpEndpoint,
    serviceName: t.otelServiceName || service,
    sampleRatio: Number(t.traceSampleRatio),
    exportIntervalMs: t.traceExportDelayMs,
  };
}
