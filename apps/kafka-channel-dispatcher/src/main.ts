import { ConfigError, envInt, envString, startService, runService, envLogLevel } from '@eventing/runtime';
import {
  KafkaChannelDispatcher,
  KafkaChannelDispatcherModule,
  type KafkaChannelDispatcherSettings,
} from './dispatcher.module';

const SERVICE = 'kafka-channel-dispatcher';

/** Reads kafka-channel-dispatcher settings from the environment (as the Helm chart sets them). */
export function settingsFromEnv(env: NodeJS.ProcessEnv): KafkaChannelDispatcherSettings & { port: number } {
  const bootstrap = envString(env, 'KAFKA_BOOTSTRAP_SERVERS', '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (bootstrap.length === 0)
    throw new ConfigError('KAFKA_BOOTSTRAP_SERVERS is required: host:port[,host:port…] of Kafka brokers');
  const logLevel = envLogLevel(env, 'LOG_LEVEL', 'info');
  return {
    port: envInt(env, 'PORT', 8080, 0, 65535),
    contractPath: envString(env, 'CONTRACT_PATH', '/etc/eventing/contract/contract.json'),
    bootstrap,
    clientId: envString(env, 'KAFKA_CLIENT_ID', SERVICE),
    maxBodyBytes: envInt(env, 'MAX_BODY_BYTES', 4 * 1024 * 1024, 1),
    maxInFlight: envInt(env, 'MAX_IN_FLIGHT', 100, 1),
    maxInFlightTotal: envInt(env, 'MAX_IN_FLIGHT_TOTAL', 1000, 1),
    commitIntervalMs: envInt(env, 'KAFKA_COMMIT_INTERVAL_MS', 1000, 10),
    sessionTimeoutMs: envInt(env, 'KAFKA_SESSION_TIMEOUT_MS', 10_000, 1000),
    numPartitions: envInt(env, 'KAFKA_NUM_PARTITIONS', 1, 1),
    replicationFactor: envInt(env, 'KAFKA_REPLICATION_FACTOR', 1, 1),
    shutdownGraceMs: envInt(env, 'SHUTDOWN_GRACE_MS', 30_000, 0),
    logLevel,
  };
}

/** Starts kafka-channel-dispatcher. */
export function startKafkaChannelDispatcher(
  settings: KafkaChannelDispatcherSettings & { port: number; host?: string },
) {
  return startService({
    module: KafkaChannelDispatcherModule.register(settings),
    port: settings.port,
    host: settings.host,
    fastPath: (app) => app.get(KafkaChannelDispatcher).sides.handler,
  });
}

if (require.main === module)
  runService(SERVICE, () => startKafkaChannelDispatcher(settingsFromEnv(process.env)));
