import { ConfigError, envInt, envString, startService, runService, envLogLevel } from '@eventing/runtime';
import {
  KafkaBrokerDispatcher,
  KafkaBrokerDispatcherModule,
  type KafkaBrokerDispatcherSettings,
} from './dispatcher.module';

const SERVICE = 'kafka-broker-dispatcher';

/** Reads kafka-broker-dispatcher settings from the environment (as the Helm chart sets them). */
export function settingsFromEnv(env: NodeJS.ProcessEnv): KafkaBrokerDispatcherSettings & { port: number } {
  const bootstrap = envString(env, 'KAFKA_BOOTSTRAP_SERVERS', '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (bootstrap.length === 0)
    throw new ConfigError('KAFKA_BOOTSTRAP_SERVERS is required: host:port[,host:port…] of Kafka brokers');
  const receiverUrl = envString(
    env,
    'RECEIVER_URL',
    'http://kafka-broker-ingress.knative-eventing.svc.cluster.local',
  );
  if (!/^https?:\/\/[^/]+\/?$/.test(receiverUrl))
    throw new ConfigError(
      `RECEIVER_URL=${receiverUrl}: expected http(s)://host[:port] of the kafka-broker-receiver`,
    );
  const logLevel = envLogLevel(env, 'LOG_LEVEL', 'info');
  return {
    port: envInt(env, 'PORT', 8080, 0, 65535),
    contractPath: envString(env, 'CONTRACT_PATH', '/etc/eventing/contract/contract.json'),
    bootstrap,
    clientId: envString(env, 'KAFKA_CLIENT_ID', SERVICE),
    receiverUrl,
    replyTimeoutMs: envInt(env, 'REPLY_TIMEOUT_MS', 30_000, 1),
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

/** Starts kafka-broker-dispatcher. */
export function startKafkaBrokerDispatcher(
  settings: KafkaBrokerDispatcherSettings & { port: number; host?: string },
) {
  return startService({
    module: KafkaBrokerDispatcherModule.register(settings),
    port: settings.port,
    host: settings.host,
    fastPath: (app) => app.get(KafkaBrokerDispatcher).sides.handler,
  });
}

if (require.main === module)
  runService(SERVICE, () => startKafkaBrokerDispatcher(settingsFromEnv(process.env)));
