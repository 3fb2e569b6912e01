import { describeChannelDispatcher, withNats } from '@eventing/testing';

// nats-channel-dispatcher as deployed against a real nats-server: NatsJetStreamChannels received at
// /<namespace>/<channel> (202 on JetStream's publish ack) and dispatched to their subscriptions, each
// a durable consumer.
jest.setTimeout(120_000);

const nats = withNats();
describeChannelDispatcher({
  app: 'nats-channel-dispatcher',
  store: 'jetstream',
  env: () => ({ NATS_URL: nats.url, MAX_IN_FLIGHT: '16' }),
});
