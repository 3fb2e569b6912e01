/** A subscriber URI for test objects. */
export const TEST_SINK = { uri: 'http://sink.example.com/' };

/**
 * A minimal valid spec of each kind (undefined: the kind needs none). The webhook tests take every
 * kind of the registry through admission with these: a kind added to the registry without an entry
 * here fails them, so a new kind is never served untested.
 */
export const VALID_SPECS: Record<string, Record<string, unknown> | undefined> = {
  Broker: undefined,
  Trigger: { broker: 'default', subscriber: TEST_SINK },
  PingSource: { sink: TEST_SINK },
  Channel: {},
  InMemoryChannel: {},
  Subscription: {
    channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', name: 'c' },
    subscriber: TEST_SINK,
  },
  KafkaChannel: {},
  NatsJetStreamChannel: {},
  Sequence: { steps: [TEST_SINK] },
  Parallel: { branches: [{ subscriber: TEST_SINK }] },
};
