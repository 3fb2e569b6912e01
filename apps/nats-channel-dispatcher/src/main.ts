import { ConfigError, envInt, envString, startService, runService, envLogLevel } from '@eventing/runtime';
import {
  NatsChannelDispatcher,
  NatsChannelDispatcherModule,
  type NatsChannelDispatcherSettings,
} from './dispatcher.module';

const SERVICE = 'nats-channel-dispatcher';

/** Reads nats-channel-dispatcher settings from the environment (as the Helm chart sets them). */
export function settingsFromEnv(env: NodeJS.ProcessEnv): NatsChannelDispatcherSettings & { port: number } {
  const servers = envString(env, 'NATS_URL', '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0)
    throw new ConfigError('NATS_URL is required: nats://host:port[,nats://host:port…] of NATS servers');
  const logLevel = envLogLevel(env, 'LOG_LEVEL', 'info');
  return {
    port: envInt(env, 'PORT', 8080, 0, 65535),
    contractPath: envString(env, 'CONTRACT_PATH', '/etc/eventing/contract/contract.json'),
    servers,
    connectionName: envString(env, 'NATS_CONNECTION_NAME', SERVICE),
    maxBodyBytes: envInt(env, 'MAX_BODY_BYTES', 4 * 1024 * 1024, 1),
    maxInFlight: envInt(env, 'MAX_IN_FLIGHT', 100, 1),
    maxInFlightTotal: envInt(env, 'MAX_IN_FLIGHT_TOTAL', 1000, 1),
    ackWaitMs: envInt(env, 'ACK_WAIT_MS', 30_000, 1),
    redeliveryDelayMs: envInt(env, 'REDELIVERY_DELAY_MS', 1000, 0),
    redeliveryMaxDelayMs: envInt(env, 'REDELIVERY_MAX_DELAY_MS', 60_000, 0),
    publishTimeoutMs: envInt(env, 'PUBLISH_TIMEOUT_MS', 5000, 1),
    shutdownGraceMs: envInt(env, 'SHUTDOWN_GRACE_MS', 30_000, 0),
    logLevel,
  };
}

/** Starts nats-channel-dispatcher. */
export function startNatsChannelDispatcher(
  settings: NatsChannelDispatcherSettings & { port: number; host?: string },
) {
  return startService({
    module: NatsChannelDispatcherModule.register(settings),
    port: settings.port,
    host: settings.host,
    fastPath: (app) => app.get(NatsChannelDispatcher).sides.handler,
  });
}

if (require.main === module)
  runService(SERVICE, () => startNatsChannelDispatcher(settingsFromEnv(process.env)));
