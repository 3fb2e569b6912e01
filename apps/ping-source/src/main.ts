import { Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { METRICS_REGISTRY, MetricsController } from '@eventing/observability';
import {
  ConfigError,
  HealthController,
  READINESS,
  envInt,
  envLogLevel,
  envString,
  runService,
  startService,
} from '@eventing/runtime';
import { PingSourceAdapter, type PingSourceSettings } from './ping-source';

const SERVICE = 'ping-source';

/** Reads the adapter's settings from the environment (as the Helm chart sets them). */
export function settingsFromEnv(env: NodeJS.ProcessEnv): PingSourceSettings & { port: number } {
  const coordination = envString(env, 'COORDINATION', 'kubernetes');
  if (coordination !== 'kubernetes' && coordination !== 'none')
    throw new ConfigError(
      `COORDINATION=${coordination}: expected kubernetes (leader election and tick ledger on Leases) or none (a single replica)`,
    );
  const settings = {
    port: envInt(env, 'PORT', 8080, 0, 65535),
    schedulesPath: envString(env, 'SCHEDULES_PATH', '/etc/eventing/ping-source/schedules.json'),
    coordination,
    kubeconfig: envString(env, 'KUBECONFIG', ''),
    systemNamespace: envString(env, 'SYSTEM_NAMESPACE', 'knative-eventing'),
    leaseName: envString(env, 'LEASE_NAME', 'pingsource-mt-adapter'),
    identity: envString(env, 'POD_NAME', ''),
    leaseDurationMs: envInt(env, 'LEASE_DURATION_MS', 15_000, 1),
    renewDeadlineMs: envInt(env, 'RENEW_DEADLINE_MS', 10_000, 1),
    retryPeriodMs: envInt(env, 'RETRY_PERIOD_MS', 2_000, 1),
    jitterMs: envInt(env, 'JITTER_MS', 500, 0, 60_000),
    catchUpMs: envInt(env, 'CATCH_UP_MS', 60_000, 0),
    shutdownGraceMs: envInt(env, 'SHUTDOWN_GRACE_MS', 10_000, 0),
    logLevel: envLogLevel(env, 'LOG_LEVEL', 'info'),
  } as const;
  if (!(
    settings.leaseDurationMs > settings.renewDeadlineMs && settings.renewDeadlineMs > settings.retryPeriodMs
  ))
    throw new ConfigError(
      `LEASE_DURATION_MS=${settings.leaseDurationMs} > RENEW_DEADLINE_MS=${settings.renewDeadlineMs} > RETRY_PERIOD_MS=${settings.retryPeriodMs} must hold`,
    );
  return settings;
}

/** Closes the adapter when the application shuts down (after the port stopped accepting). */
class AdapterShutdown implements OnApplicationShutdown {
  constructor(private readonly adapter: PingSourceAdapter) {}
  onApplicationShutdown(): Promise<void> {
    return this.adapter.close();
  }
}

@Module({})
class PingSourceModule {
  static register(adapter: PingSourceAdapter): DynamicModule {
    return {
      module: PingSourceModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: READINESS, useValue: adapter },
        { provide: METRICS_REGISTRY, useValue: adapter.registry },
        { provide: AdapterShutdown, useFactory: () => new AdapterShutdown(adapter) },
      ],
    };
  }
}

/** Starts the adapter and its admin endpoints (`/healthz`, `/readyz`, `/metrics`). */
export async function startPingSource(settings: PingSourceSettings & { port: number; host?: string }) {
  const adapter = new PingSourceAdapter(settings);
  try {
    const running = await startService({
      module: PingSourceModule.register(adapter),
      port: settings.port,
      host: settings.host,
      fastPath: () => adapter.handler,
    });
    return { ...running, adapter };
  } catch (err) {
    await adapter.close().catch(() => undefined);
    throw err;
  }
}

if (require.main === module) runService(SERVICE, () => startPingSource(settingsFromEnv(process.env)));
