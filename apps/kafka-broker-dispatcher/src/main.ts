import {
  KAFKA_CONSUMER_SETTINGS,
  dispatchSettings,
  kafkaSettings,
  kafkaStoreOptions,
  pathOf,
  receiverReply,
  shutdownGraceSetting,
  defineStoreService,
} from '@eventing/broker';
import { KafkaChannelBackend, describeKafkaError } from '@eventing/channels/kafka';
import {
  DELIVERY_FRAMES_SETTING,
  LOG_LEVEL_SETTING,
  SERVICE_SETTINGS,
  intSetting,
  textSetting,
  withSetting,
} from '@eventing/runtime';

const NAME = 'kafka-broker-dispatcher';

/** kafka-broker-dispatcher's settings, as the Helm chart sets them. */
export const SETTINGS = [
  withSetting(SERVICE_SETTINGS[0], { description: 'HTTP port (probes and metrics)' }),
  SERVICE_SETTINGS[1],
  ...kafkaSettings(NAME, 'admin client and consumers', 'broker'),
  ...KAFKA_CONSUMER_SETTINGS,
  textSetting(
    'receiverUrl',
    'RECEIVER_URL',
    'http://kafka-broker-ingress.knative-eventing.svc.cluster.local',
    'where the kafka-broker-receiver serves brokers: replies go there',
    { pattern: '^https?://[^/]+/?$', expected: 'http(s)://host[:port] of the kafka-broker-receiver' },
  ),
  intSetting('replyTimeoutMs', 'REPLY_TIMEOUT_MS', 30_000, 'how long a reply POST to the receiver may take', {
    min: 1,
  }),
  ...dispatchSettings('trigger'),
  shutdownGraceSetting('fetched events may still be delivered'),
  DELIVERY_FRAMES_SETTING,
  LOG_LEVEL_SETTING,
] as const;

/**
 * kafka-broker-dispatcher: the Triggers of the contract's Kafka-class brokers, one consumer group each
 * reading every record of the broker's topic, filtering and delivering (replicas share the partitions
 * of each group); replies go back in through the receiver. It takes no events over HTTP.
 */
export const kafkaBrokerDispatcher = defineStoreService(NAME, SETTINGS, (settings) => {
  const receiverUrl = settings.receiverUrl.replace(/\/+$/, '');
  return {
    store: 'kafka',
    resources: 'brokers',
    backend: (log) => new KafkaChannelBackend(kafkaStoreOptions(settings, log, describeKafkaError)),
    ingress: false,
    dispatch: {
      reply: (dispatcher) => receiverReply(dispatcher, receiverUrl, settings.replyTimeoutMs),
      brokerUrl: (namespace, name) => `${receiverUrl}${pathOf('broker', namespace, name)}`,
    },
  };
});

if (require.main === module) kafkaBrokerDispatcher.main();
