import { ConfigError, envInt, envString, startService, runService, envLogLevel } from '@eventing/runtime';
import {
  KafkaBrokerReceiver,
  KafkaBrokerReceiverModule,
  type KafkaBrokerReceiverSettings,
} from './receiver.module';

const SERVICE = 'kafka-broker-receiver';

/** Reads kafka-broker-receiver settings from the environment (as the Helm chart sets them). */
export function settingsFromEnv(env: NodeJS.ProcessEnv): KafkaBrokerReceiverSettings & { port: number } {
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
    maxTtl: envInt(env, 'MAX_TTL', 255, 1),
    maxPendingAppends: envInt(env, 'KAFKA_MAX_PENDING_APPENDS', 10_000, 1),
    numPartitions: envInt(env, 'KAFKA_NUM_PARTITIONS', 1, 1),
    replicationFactor: envInt(env, 'KAFKA_REPLICATION_FACTOR', 1, 1),
    shutdownGraceMs: envInt(env, 'SHUTDOWN_GRACE_MS', 30_000, 0),
    logLevel,
  };
}

/** Starts kafka-broker-receiver. */
export function startKafkaBrokerReceiver(
  settings: KafkaBrokerReceiverSettings & { port: number; host?: string },
) {
  return startService({
    module: KafkaBrokerReceiverModule.register(settings),
    port: settings.port,
    host: settings.host,
    fastPath: (app) => app.get(KafkaBrokerReceiver).sides.handler,
  });
}

if (require.main === module)
  runService(SERVICE, () => startKafkaBrokerReceiver(settingsFromEnv(process.env)));
