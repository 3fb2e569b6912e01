import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventuallyAsync,
  startSubscriber,
  withKafka,
  withNats,
  type TestSubscriber,
} from '@eventing/testing';
import { runStandalone } from './main';
import { optionsFrom } from './options';

// eventing_consumer_backlog on /metrics of standalone over real Kafka and NATS JetStream: the
// consumer of every Trigger and Subscription on a durable store reports the events it has not
// finished while its subscriber refuses them, and 0 once the subscriber takes them.

const ce = (id: string) => ({
  'ce-specversion': '1.0',
  'ce-id': id,
  'ce-source': '/durable-backlog',
  'ce-type': 'com.example.backlog',
  'content-type': 'application/json',
});

/** The value of `eventing_consumer_backlog` for one Trigger or Subscription, or undefined when absent. */
function backlogIn(text: string, kind: string, name: string): number | undefined {
  const line = text
    .split('\n')
    .find((l) =>
      l.startsWith(`eventing_consumer_backlog{namespace="default",kind="${kind}",name="${name}"}`),
    );
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('standalone on durable stores: consumer backlog', () => {
  const kafka = withKafka();
  const nats = withNats();
  let dir: string;
  let blocked = true;
  /** `<path> <ce-id>` of every event the subscriber took. */
  const taken = new Set<string>();
  let sink: TestSubscriber;
  let app: Awaited<ReturnType<typeof runStandalone>>;
  const EVENTS = 30;

  // What sends events, where, and whose backlog it is.
  const cases = [
    { via: '/_channels/default/orders', kind: 'Subscription', name: 'orders-sink' },
    { via: '/_channels/default/payments', kind: 'Subscription', name: 'payments-sink' },
    { via: '/default/on-kafka', kind: 'Trigger', name: 'on-kafka' },
    { via: '/default/on-jetstream', kind: 'Trigger', name: 'on-jetstream' },
    { via: '/default/kafka-class', kind: 'Trigger', name: 'kafka-class' },
  ];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'durable-backlog-'));
    // Refuses every event while blocked; the deliveries retry until it takes them.
    sink = await startSubscriber((req) => {
      if (blocked) return { status: 503 };
      taken.add(`${req.url} ${req.headers['ce-id']}`);
      return { status: 202 };
    });
    const delivery = 'delivery: { retry: 100, backoffPolicy: linear, backoffDelay: PT0.2S }';
    const sub = (name: string, kind: string, channel: string) => `---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: { name: ${name}, namespace: default }
spec:
  channel: { apiVersion: messaging.knative.dev/v1, kind: ${kind}, name: ${channel} }
  subscriber: { uri: "${sink.url}/${name}" }
  ${delivery}
`;
    const trig = (name: string) => `---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name}, namespace: default }
spec:
  broker: ${name}
  subscriber: { uri: "${sink.url}/${name}" }
  ${delivery}
`;
    writeFileSync(
      join(dir, 'resources.yaml'),
      `apiVersion: messaging.knative.dev/v1beta1
kind: KafkaChannel
metadata: { name: orders, namespace: default }
spec: { numPartitions: 3, replicationFactor: 1 }
---
apiVersion: messaging.knative.dev/v1alpha1
kind: NatsJetStreamChannel
metadata: { name: payments, namespace: default }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: kafka-channel, namespace: knative-eventing }
data:
  channel-template-spec: |
    apiVersion: messaging.knative.dev/v1beta1
    kind: KafkaChannel
    spec: { numPartitions: 2, replicationFactor: 1 }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: jetstream-channel, namespace: knative-eventing }
data:
  channel-template-spec: |
    apiVersion: messaging.knative.dev/v1alpha1
    kind: NatsJetStreamChannel
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: on-kafka, namespace: default }
spec:
  config: { apiVersion: v1, kind: ConfigMap, name: kafka-channel, namespace: knative-eventing }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: on-jetstream, namespace: default }
spec:
  config: { apiVersion: v1, kind: ConfigMap, name: jetstream-channel, namespace: knative-eventing }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: kafka-class
  namespace: default
  annotations: { eventing.knative.dev/broker.class: Kafka }
` +
        sub('orders-sink', 'KafkaChannel', 'orders') +
        sub('payments-sink', 'NatsJetStreamChannel', 'payments') +
        trig('on-kafka') +
        trig('on-jetstream') +
        trig('kafka-class'),
    );
    const lines: string[] = [];
    app = await runStandalone(
      optionsFrom([
        '--config',
        dir,
        '--port',
        '0',
        '--no-watch',
        '--log-format',
        'json',
        '--log-level',
        'error',
        '--kafka-bootstrap',
        kafka.bootstrap,
        '--nats-url',
        nats.url,
      ]),
      (l) => lines.push(l),
    );
    for (const c of cases)
      expect(lines.find((l) => l.includes(`${c.kind} default/${c.name}`))).toMatch(/^✓ /);
  }, 120_000);

  afterAll(async () => {
    await app?.service.close();
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const scrape = async () => (await fetch(`${app.service.url}/metrics`)).text();

  it('reports 0 for every idle consumer', async () => {
    await eventuallyAsync('a backlog of 0 for each', async () => {
      const text = await scrape();
      return cases.every((c) => backlogIn(text, c.kind, c.name) === 0) || undefined;
    });
  });

  it('reports what a refusing subscriber has not taken, and 0 once it takes everything', async () => {
    for (const c of cases)
      for (let i = 0; i < EVENTS; i++) {
        const res = await fetch(`${app.service.url}${c.via}`, {
          method: 'POST',
          headers: ce(`${c.name}-${i}`),
          body: '{}',
        });
        expect(res.status).toBe(202);
      }
    const seen = await eventuallyAsync(
      `a backlog of ${EVENTS} for each`,
      async () => {
        const text = await scrape();
        const values = cases.map((c) => backlogIn(text, c.kind, c.name) ?? -1);
        return values.every((v) => v === EVENTS) ? values : undefined;
      },
      60_000,
    );
    expect(seen).toEqual(cases.map(() => EVENTS));

    blocked = false;
    await eventuallyAsync(
      'every backlog back to 0',
      async () => {
        const text = await scrape();
        return cases.every((c) => backlogIn(text, c.kind, c.name) === 0) || undefined;
      },
      90_000,
    );
    for (const c of cases)
      for (let i = 0; i < EVENTS; i++) expect(taken).toContain(`/${c.name} ${c.name}-${i}`);
  }, 180_000);
});
