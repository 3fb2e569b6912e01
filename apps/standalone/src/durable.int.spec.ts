import { eventually, startSubscriber, withKafka, withNats, type TestSubscriber } from '@eventing/testing';
import {
  durableResourcesYaml,
  startDurableStandalone,
  subscriptionYaml,
  triggerYaml,
} from './testing/durable-fixture';

// Standalone on real Kafka and NATS JetStream: KafkaChannel, NatsJetStreamChannel, brokers on either
// channel kind (through the channel template of their config ConfigMap) and the Kafka broker class,
// with retries and dead letters as on memory (CONFORMANCE 2.4, 2.13).

const ce = (id: string, type = 'com.example.durable') => ({
  'ce-specversion': '1.0',
  'ce-id': id,
  'ce-source': '/durable',
  'ce-type': type,
  // Raw UTF-8 on the wire, as the Go SDK sends it (fetch takes header strings as latin1 bytes).
  'ce-subject': Buffer.from('café ☕').toString('latin1'),
  'content-type': 'application/json',
});

describe('standalone on durable stores', () => {
  const kafka = withKafka();
  const nats = withNats();
  let lines: string[];
  let sink: TestSubscriber;
  let failing: TestSubscriber;
  let dls: TestSubscriber;
  let app: Awaited<ReturnType<typeof startDurableStandalone>>['app'];
  let standalone: Awaited<ReturnType<typeof startDurableStandalone>> | undefined;

  beforeAll(async () => {
    sink = await startSubscriber();
    failing = await startSubscriber(() => ({ status: 503 }));
    dls = await startSubscriber();
    const filter = 'filter: { attributes: { type: com.example.durable } }';
    const trig = (name: string, broker: string, uri: string) => triggerYaml(name, broker, uri, filter);
    const yaml =
      durableResourcesYaml(
        (broker) =>
          `delivery: { retry: 2, backoffDelay: PT0.05S, deadLetterSink: { uri: "${dls.url}/${broker}" } }`,
      ) +
      subscriptionYaml('orders-sink', 'KafkaChannel', 'orders', `${sink.url}/orders`) +
      subscriptionYaml('payments-sink', 'NatsJetStreamChannel', 'payments', `${sink.url}/payments`) +
      trig('on-kafka', 'on-kafka', `${sink.url}/on-kafka`) +
      trig('on-kafka-failing', 'on-kafka', failing.url) +
      trig('on-jetstream', 'on-jetstream', `${sink.url}/on-jetstream`) +
      trig('on-jetstream-failing', 'on-jetstream', failing.url) +
      trig('kafka-class', 'kafka-class', `${sink.url}/kafka-class`) +
      trig('kafka-class-failing', 'kafka-class', failing.url);
    standalone = await startDurableStandalone(yaml, { kafkaBootstrap: kafka.bootstrap, natsUrl: nats.url });
    app = standalone.app;
    lines = standalone.lines;
  }, 120_000);

  afterAll(async () => {
    await standalone?.close();
    await Promise.all([sink, failing, dls].map((s) => s?.close()));
  }, 60_000);

  it('every resource is Ready on its store', () => {
    for (const what of [
      'KafkaChannel default/orders',
      'NatsJetStreamChannel default/payments',
      'Broker default/on-kafka',
      'Broker default/on-jetstream',
      'Broker default/kafka-class',
      'Subscription default/orders-sink',
      'Subscription default/payments-sink',
      'Trigger default/on-kafka',
      'Trigger default/on-jetstream',
      'Trigger default/kafka-class',
    ])
      expect(lines.find((l) => l.includes(what))).toMatch(/^✓ /);
  });

  it.each([
    ['KafkaChannel', '/_channels/default/orders', '/orders'],
    ['NatsJetStreamChannel', '/_channels/default/payments', '/payments'],
    ['a broker on KafkaChannel', '/default/on-kafka', '/on-kafka'],
    ['a broker on NatsJetStreamChannel', '/default/on-jetstream', '/on-jetstream'],
    ['a Kafka-class broker', '/default/kafka-class', '/kafka-class'],
  ])(
    '%s: 202 only once stored, and every event reaches its subscriber intact',
    async (_what, path, at) => {
      const ids = Array.from({ length: 20 }, (_, i) => `${at.slice(1)}-${i}`);
      for (const id of ids) {
        const res = await fetch(`${app.service.url}${path}`, {
          method: 'POST',
          headers: ce(id),
          body: `{"id":"${id}"}`,
        });
        expect(res.status).toBe(202);
      }
      await eventually(
        () => ids.every((id) => sink.requests.some((r) => r.url === at && r.headers['ce-id'] === id)),
        30_000,
        `20 events at ${at}`,
      );
      const one = sink.requests.find((r) => r.url === at && r.headers['ce-id'] === ids[0])!;
      expect(one.headers['ce-subject']).toBe(Buffer.from('café ☕').toString('latin1'));
      expect(one.body.toString()).toBe(`{"id":"${ids[0]}"}`);
    },
    60_000,
  );

  it.each([['on-kafka'], ['on-jetstream'], ['kafka-class']])(
    '%s: a failing subscriber is retried, then the event is dead-lettered with the error extensions',
    async (broker) => {
      const id = `dl-${broker}`;
      expect(
        (await fetch(`${app.service.url}/default/${broker}`, { method: 'POST', headers: ce(id), body: '{}' }))
          .status,
      ).toBe(202);
      const dead = await eventually(
        () => dls.requests.find((r) => r.url === `/${broker}` && r.headers['ce-id'] === id),
        30_000,
        'the dead letter',
      );
      expect(failing.requests.filter((r) => r.headers['ce-id'] === id)).toHaveLength(3);
      expect(dead.headers['ce-knativeerrorcode']).toBe('503');
      expect(dead.headers['ce-knativeerrordest']).toBe(failing.url);
    },
    60_000,
  );
});
