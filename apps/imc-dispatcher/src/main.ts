import {
  ConfigError,
  closeOnSignals,
  envInt,
  envString,
  startService,
  type LogLevel,
} from '@eventing/runtime';
import { ImcDispatcherModule, ImcDispatcher, type ImcDispatcherSettings } from './dispatcher.module';

const SERVICE = 'imc-dispatcher';
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Reads imc-dispatcher settings from the environment (as the Helm chart sets them). */
export function settingsFromEnv(env: NodeJS.ProcessEnv): ImcDispatcherSettings & { port: number } {
  const logLevel = envString(env, 'LOG_LEVEL', 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError(`LOG_LEVEL=${logLevel}: expected ${LOG_LEVELS.join(', ')}`);
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

if (require.main === module) {
  const log = (level: string, msg: string) => console.log(JSON.stringify({ level, service: SERVICE, msg }));
  Promise.resolve()
    .then(() => startImcDispatcher(settingsFromEnv(process.env)))
    .then(
      (service) => {
        log('info', `listening on ${service.url}`);
        closeOnSignals(service, (m) => log('info', m));
      },
      (err: Error) => {
        log('error', `could not start: ${err.message}`);
        process.exit(1);
      },
    );
}
