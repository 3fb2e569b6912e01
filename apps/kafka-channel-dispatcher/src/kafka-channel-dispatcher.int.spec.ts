import { describeChannelDispatcher, withKafka } from '@eventing/testing';

// kafka-channel-dispatcher as deployed against a real Kafka: KafkaChannels received at
// /<namespace>/<channel> (202 once every in-sync replica has the record) and dispatched to their
// subscriptions, each a consumer group.
jest.setTimeout(120_000);

const kafka = withKafka();
describeChannelDispatcher({
  app: 'kafka-channel-dispatcher',
  store: 'kafka',
  storeSettings: { numPartitions: 2 },
  env: () => ({ KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrap, MAX_IN_FLIGHT: '16' }),
});
