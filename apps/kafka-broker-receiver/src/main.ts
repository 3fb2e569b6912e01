import {
  KAFKA_PRODUCER_SETTINGS,
  MAX_BODY_BYTES_SETTING,
  MAX_TTL_SETTING,
  kafkaSettings,
  kafkaStoreOptions,
  shutdownGraceSetting,
  defineStoreService,
} from '@eventing/broker';
import { KafkaChannelBackend, describeKafkaError } from '@eventing/channels/kafka';
import { ACCEPT_FRAMES_SETTING, LOG_LEVEL_SETTING, SERVICE_SETTINGS } from '@eventing/runtime';

const NAME = 'kafka-broker-receiver';

/** kafka-broker-receiver's settings, as the Helm chart sets them. */
export const SETTINGS = [
  ...SERVICE_SETTINGS,
  ...kafkaSettings(NAME, 'producer and admin client', 'broker'),
  ...KAFKA_PRODUCER_SETTINGS,
  MAX_BODY_BYTES_SETTING,
  MAX_TTL_SETTING,
  shutdownGraceSetting('appends in flight may still be acknowledged'),
  ACCEPT_FRAMES_SETTING,
  LOG_LEVEL_SETTING,
] as const;

/**
 * kafka-broker-receiver: the ingress of the contract's Kafka-class brokers. Each event is appended to
 * its broker's topic and answered 202 once every in-sync replica has it (acks=all); the
 * kafka-broker-dispatcher delivers it from there.
 */
export const kafkaBrokerReceiver = defineStoreService(NAME, SETTINGS, (settings) => ({
  store: 'kafka',
  resources: 'brokers',
  backend: (log) => new KafkaChannelBackend(kafkaStoreOptions(settings, log, describeKafkaError)),
  ingress: true,
}));

if (require.main === module) kafkaBrokerReceiver.main();
