import {
  KAFKA_CONSUMER_SETTINGS,
  EVENTTYPE_REGISTRY_URL_SETTING,
  MAX_BODY_BYTES_SETTING,
  defineStoreService,
  dispatchSettings,
  kafkaSettings,
  kafkaStoreOptions,
  shutdownGraceSetting,
} from '@eventing/broker';
import { KafkaChannelBackend, describeKafkaError } from '@eventing/channels/kafka';
import { FRAMES_SETTINGS, LOG_LEVEL_SETTING, SERVICE_SETTINGS } from '@eventing/runtime';

const NAME = 'kafka-channel-dispatcher';

/** kafka-channel-dispatcher's settings, as the Helm chart sets them. */
export const SETTINGS = [
  ...SERVICE_SETTINGS,
  ...kafkaSettings(NAME, 'producer, admin client and consumers', 'channel'),
  ...KAFKA_CONSUMER_SETTINGS,
  MAX_BODY_BYTES_SETTING,
  EVENTTYPE_REGISTRY_URL_SETTING,
  ...dispatchSettings('subscription'),
  shutdownGraceSetting('fetched events may still be delivered'),
  ...FRAMES_SETTINGS,
  LOG_LEVEL_SETTING,
] as const;

/**
 * kafka-channel-dispatcher: the contract's KafkaChannels, received (appended to their topic, 202 once
 * every in-sync replica has it) and dispatched (a consumer group per Subscription, so replicas share
 * the partitions).
 */
export const kafkaChannelDispatcher = defineStoreService(NAME, SETTINGS, (settings) => ({
  store: 'kafka',
  resources: 'channels',
  backend: (log) => new KafkaChannelBackend(kafkaStoreOptions(settings, log, describeKafkaError)),
  ingress: true,
  dispatch: {},
}));

if (require.main === module) kafkaChannelDispatcher.main();
