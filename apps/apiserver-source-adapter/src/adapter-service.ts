import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { KubeConfig } from '@kubernetes/client-node';
import { parseApiServerAdapterConfig, type ApiServerAdapterConfig } from '@eventing/api';
import { KubeClient, ListWatch } from '@eventing/kube';
import { METRICS_REGISTRY, MetricsController } from '@eventing/observability';
import {
  ConfigError,
  HealthController,
  READINESS,
  createLogger,
  envInt,
  envLogLevel,
  startService,
  type Logger,
  type LogLevel,
  type Readiness,
  type RunningService,
} from '@eventing/runtime';
import { SourceClient, readSourceEnv, type SourceEnv } from '@eventing/source-runtime';
import { ApiServerAdapter, ListWatchFeed, discoverTargets, type KubeObjectLike } from '@eventing/sources';

/** What one adapter process runs for: its ApiServerSource, its sink, its API server. */
export interface AdapterSettings {
  port: number;
  host?: string;
  env: SourceEnv;
  config: ApiServerAdapterConfig;
  /** The kubeconfig to watch through; default as kubectl finds one (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfig?: string;
  logLevel: LogLevel;
}

/** Reads the settings as the adapter Deployment sets them; throws a ConfigError naming the variable. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): AdapterSettings {
  let source: SourceEnv;
  let config: ApiServerAdapterConfig;
  try {
    source = readSourceEnv(env);
    config = parseApiServerAdapterConfig(env['K_SOURCE_CONFIG']);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const settings: AdapterSettings = {
    port: envInt(env, 'PORT', 8080, 0, 65535),
    env: source,
    config,
    logLevel: envLogLevel(env, 'LOG_LEVEL', 'info'),
  };
  if (env['KUBECONFIG']) settings.kubeconfig = env['KUBECONFIG'];
  return settings;
}

/**
 * One ApiServerSource's adapter: discovers the watched resources, lists and watches them through the
 * API server (events from the first change on; `source` = the API server's URL), and sends through
 * the source runtime. Ready once every watch has its first list.
 */
export class AdapterProcess implements Readiness, OnApplicationShutdown {
  readonly client: SourceClient;
  readonly adapter: Promise<ApiServerAdapter>;
  private readonly kube: KubeClient;
  private ready = false;
  private failure: string | undefined;
  private running: ApiServerAdapter | undefined;
  private stopped = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly settings: AdapterSettings,
    private readonly log: Logger,
    private readonly onFatal: (reason: string) => void,
  ) {
    const kc = new KubeConfig();
    if (settings.kubeconfig) kc.loadFromFile(settings.kubeconfig);
    else kc.loadFromDefault();
    const server = kc.getCurrentCluster()?.server ?? '';
    this.kube = new KubeClient(kc, { userAgent: 'apiserver-source-adapter' });
    this.client = new SourceClient({ resourceGroup: 'apiserversources.sources.knative.dev' });
    this.adapter = this.start(server.replace(/\/+$/, ''));
  }

  private async start(source: string): Promise<ApiServerAdapter> {
    const { config, env } = this.settings;
    const found = await discoverTargets(config, (path) => this.kube.request('GET', path, { purpose: 'get' }));
    for (const missing of found.missing) this.log.error({ resource: missing }, 'resource not watched');
    if (found.missing.length > 0 && config.failFast) {
      this.failure = `not served: ${found.missing.join('; ')}`;
      this.onFatal(this.failure);
    }
    const feed = new ListWatchFeed(found.targets, (target, onEvent) => {
      const loop = new ListWatch(
        this.kube,
        target,
        (e) => onEvent({ type: e.type, object: e.object as KubeObjectLike }),
        {
          logger: this.log,
        },
      );
      return loop;
    });
    const adapter = new ApiServerAdapter({
      config,
      sink: this.client.envSink(env),
      source,
      feed,
      log: this.log,
    });
    if (this.stopped) return adapter;
    this.running = adapter;
    await adapter.start();
    this.ready = true;
    this.log.info(
      {
        source,
        targets: found.targets.map((t) => `${t.plural}${t.group ? '.' + t.group : ''}/${t.namespace ?? '*'}`),
      },
      'watching',
    );
    return adapter;
  }

  readiness(): { ready: boolean; reason?: string } {
    if (this.failure !== undefined) return { ready: false, reason: this.failure };
    return this.ready ? { ready: true } : { ready: false, reason: 'listing the watched resources' };
  }

  /** Stops watching and sending (once: the module provides this object under two tokens). */
  onApplicationShutdown(): Promise<void> {
    this.closing ??= (async () => {
      this.stopped = true;
      await this.running?.stop();
      await this.kube.close();
      await this.client.close();
    })();
    return this.closing;
  }
}

@Module({})
class AdapterModule {
  static register(process: AdapterProcess): DynamicModule {
    return {
      module: AdapterModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: AdapterProcess, useValue: process },
        { provide: READINESS, useValue: process },
        { provide: METRICS_REGISTRY, useValue: process.client.metrics.registry },
      ],
    };
  }
}

function notFound(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('not found: the adapter serves /healthz, /readyz and /metrics\n');
}

/** Starts the adapter and its probes and metrics server. */
export async function startAdapter(
  settings: AdapterSettings,
  onFatal: (reason: string) => void = () => process.exit(1),
): Promise<RunningService & { adapter: AdapterProcess }> {
  const log = createLogger({ service: 'apiserver-source-adapter', level: settings.logLevel });
  const adapter = new AdapterProcess(settings, log, onFatal);
  adapter.adapter.catch((err: Error) => {
    log.error({ error: err.message }, 'adapter could not start');
    onFatal(err.message);
  });
  const running = await startService({
    module: AdapterModule.register(adapter),
    port: settings.port,
    host: settings.host,
    fastPath: () => notFound,
  });
  return { ...running, adapter };
}
