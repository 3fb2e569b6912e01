/** A subscriber URI for test objects. */
export const TEST_SINK = { uri: 'http://sink.example.com/' };

/**
 * A minimal valid spec of each kind (undefined: the kind needs none), by `Kind` or, where versions
 * differ, by `Kind/version`. The webhook tests take every kind of the registry through admission
 * with these: a kind added to the registry without an entry here fails them, so a new kind is never
 * served untested.
 */
const VALID_SPECS: Record<string, Record<string, unknown> | undefined> = {
  Broker: undefined,
  Trigger: { broker: 'default', subscriber: TEST_SINK },
  PingSource: { sink: TEST_SINK },
  ApiServerSource: { resources: [{ apiVersion: 'v1', kind: 'Event' }], sink: TEST_SINK },
  ContainerSource: {
    template: { spec: { containers: [{ name: 'adapter', image: 'registry.example.com/adapter:1' }] } },
    sink: TEST_SINK,
  },
  SinkBinding: { subject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' }, sink: TEST_SINK },
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
  'EventType/v1beta3': {
    attributes: [
      { name: 'type', required: true, value: 'dev.example.created' },
      { name: 'source', required: true, value: 'https://example.com/' },
      { name: 'specversion', required: true },
      { name: 'id', required: true },
    ],
  },
  'EventType/v1beta2': { type: 'dev.example.created' },
};

/** The minimal valid spec of a kind at a version; throws, naming what to add, when there is none. */
export function validSpecOf(kind: string, version: string): Record<string, unknown> | undefined {
  for (const key of [`${kind}/${version}`, kind])
    if (Object.hasOwn(VALID_SPECS, key)) return VALID_SPECS[key];
  throw new Error(
    `no example of ${kind} ${version}: add a minimal valid spec to apps/webhook/src/testing/valid-specs.ts`,
  );
}
