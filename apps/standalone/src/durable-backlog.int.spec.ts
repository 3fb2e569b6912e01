import {
  eventuallyAsync,
  startSubscriber,
  withKafka,
  withNats,
  type TestSubscriber,
} from '@eventing/testing';
import {
  durableResourcesYaml,
  startDurableStandalone,
  subscriptionYaml,
  triggerYaml,
} from './testing/durable-fixture';

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
  let blocked = true;
  /** `<path> <ce-id>` of every event the subscriber took. */
  const taken = new Set<string>();
  let sink: TestSubscriber;
  let app: Awaited<ReturnType<typeof startDurableStandalone>>['app'];
  let standalone: Awaited<ReturnType<typeof startDurableStandalone>> | undefined;
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
    // Refuses every event while blocked; the deliveries retry until it takes them.
    sink = await startSubscriber((req) => {
      if (blocked) return { status: 503 };
      taken.add(`${req.url} ${req.headers['ce-id']}`);
      return { status: 202 };
    });
    const delivery = 'delivery: { retry: 100, backoffPolicy: linear, backoffDelay: PT0.2S }';
    const sub = (name: string, kind: string, channel: string) =>
      subscriptionYaml(name, kind, channel, `${sink.url}/${name}`, delivery);
    const trig = (name: string) => triggerYaml(name, name, `${sink.url}/${name}`, delivery);
    const yaml =
      durableResourcesYaml() +
      sub('orders-sink', 'KafkaChannel', 'orders') +
      sub('payments-sink', 'NatsJetStreamChannel', 'payments') +
      trig('on-kafka') +
      trig('on-jetstream') +
      trig('kafka-class');
    standalone = await startDurableStandalone(yaml, { kafkaBootstrap: kafka.bootstrap, natsUrl: nats.url });
    app = standalone.app;
    const lines = standalone.lines;
    for (const c of cases)
      expect(lines.find((l) => l.includes(`${c.kind} default/${c.name}`))).toMatch(/^✓ /);
  }, 120_000);

  afterAll(async () => {
    await standalone?.close();
    await sink?.close();
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
