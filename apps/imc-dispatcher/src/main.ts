import { envInt, envString, startService, runService, envLogLevel } from '@eventing/runtime';
import { ImcDispatcherModule, ImcDispatcher, type ImcDispatcherSettings } from './dispatcher.module';

const SERVICE = 'imc-dispatcher';

/** Reads imc-dispatcher settings from the environment (as the Helm chart sets them). */
export function settingsFromEnv(env: NodeJS.ProcessEnv): ImcDispatcherSettings & { port: number } {
  const logLevel = envLogLevel(env, 'LOG_LEVEL', 'info');
  return {
    port: envInt(env, 'PORT', 8080, 0, 65535),
    contractPath: envString(env, 'CONTRACT_PATH', '/etc/eventing/contract/contract.json'),
    maxBodyBytes: envInt(env, 'MAX_BODY_BYTES', 4 * 1024 * 1024, 1),
    queueCapacity: envInt(env, 'QUEUE_CAPACITY', 10_000, 1),
    maxInFlight: envInt(env, 'MAX_IN_FLIGHT', 100, 1),
    maxInFlightTotal: envInt(env, 'MAX_IN_FLIGHT_TOTAL', 1000, 1),
    redeliveryDelayMs: envInt(env, 'REDELIVERY_DELAY_MS', 1000, 0),
    redeliveryMaxDelayMs: envInt(env, 'REDELIVERY_MAX_DELAY_MS', 60_000, 0),
    shutdownGraceMs: envInt(env, 'SHUTDOWN_GRACE_MS', 30_000, 0),
    logLevel,
  };
}

/** Starts imc-dispatcher. */
export function startImcDispatcher(settings: ImcDispatcherSettings & { port: number; host?: string }) {
  return startService({
    module: ImcDispatcherModule.register(settings),
    port: settings.port,
    host: settings.host,
    fastPath: (app) => app.get(ImcDispatcher).sides.handler,
  });
}

if (require.main === module) runService(SERVICE, () => startImcDispatcher(settingsFromEnv(process.env)));
