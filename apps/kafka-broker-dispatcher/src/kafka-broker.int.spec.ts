import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  eventuallyAsync,
  startSubscriber,
  withKafka,
  type TestSubscriber,
} from '@eventing/testing';
import { buildApps, ce, spawnApp, waitReady, writeContract, type AppProcess } from '@eventing/testing';

// The Kafka broker data plane as deployed: kafka-broker-receiver takes events into the broker's topic,
// kafka-broker-dispatcher runs one consumer group per Trigger, filters and delivers, and POSTs replies
// back to the receiver. Both are the bundled processes with settings in the environment.
jest.setTimeout(120_000);

const kafka = withKafka();
const policy = (retry: number) => ({ retry, backoffPolicy: 'linear', backoffDelayMs: 50 });
const trigger = (uid: string, subscriberUri: string, extra: object = {}) => ({
  uid,
  namespace: 'kb',
  name: uid,
  broker: 'orders',
  subscriberUri,
  policy: policy(0),
  format: 'binary',
  ...extra,
});
const brokers = [
  {
    uid: 'b1',
    namespace: 'kb',
    name: 'orders',
    store: 'kafka',
    storeSettings: { numPartitions: 2, topic: 'knative-broker-kb-orders' },
  },
  { uid: 'b2', namespace: 'kb', name: 'in-memory' },
];

describe('kafka-broker-receiver and kafka-broker-dispatcher', () => {
  let dir: string;
  let contractPath: string;
  let receiver: AppProcess;
  let dispatcher: AppProcess;
  let all: TestSubscriber;
  let created: TestSubscriber;
  let replied: TestSubscriber;
  let failing: TestSubscriber;
  let deadLetters: TestSubscriber;

  const post = (id: string, type: string) =>
    fetch(`${receiver.url}/kb/orders`, { method: 'POST', headers: ce(id, type), body: `body-${id}` });
  const ids = (s: TestSubscriber) => s.requests.map((r) => String(r.headers['ce-id']));

  beforeAll(async () => {
    buildApps('kafka-broker-receiver', 'kafka-broker-dispatcher');
    dir = mkdtempSync(join(tmpdir(), 'kb-'));
    contractPath = join(dir, 'contract.json');
    all = await startSubscriber();
    replied = await startSubscriber();
    // Answers each order.created with an order.replied event: it goes back into the broker.
    created = await startSubscriber((req) => ({
      status: 200,
      headers: ce(`reply-${String(req.headers['ce-id'])}`, 'order.replied'),
      body: 'reply',
    }));
    failing = await startSubscriber(() => ({ status: 503 }));
    deadLetters = await startSubscriber();
    const env = { CONTRACT_PATH: contractPath, KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrap };
    receiver = await spawnApp('kafka-broker-receiver', env);
    dispatcher = await spawnApp('kafka-broker-dispatcher', { ...env, RECEIVER_URL: receiver.url });
  });

  afterAll(async () => {
    receiver?.kill('SIGKILL');
    dispatcher?.kill('SIGKILL');
    await Promise.all([all, created, replied, failing, deadLetters].map((s) => s?.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the dispatcher turns ready once the contract is applied (a consumer group per trigger)', async () => {
    expect((await fetch(`${dispatcher.url}/readyz`)).status).toBe(503);
    writeContract(contractPath, {
      generation: 1,
      brokers,
      triggers: [
        trigger('t-all', all.url),
        trigger('t-created', created.url, { filter: { attributes: { type: 'order.created' } } }),
        trigger('t-replied', replied.url, { filter: { attributes: { type: 'order.replied' } } }),
        trigger('t-fail', failing.url, {
          filter: { attributes: { type: 'order.failing' } },
          policy: policy(2),
          deadLetterUri: deadLetters.url,
        }),
        { ...trigger('t-memory', all.url), broker: 'in-memory' },
      ],
    });
    await waitReady(dispatcher.url, 60_000);
    await waitReady(receiver.url, 60_000);
    // The dispatcher takes no events.
    expect((await fetch(`${dispatcher.url}/kb/orders`, { method: 'POST', headers: ce('x') })).status).toBe(
      404,
    );
  });

  it('delivers each event to every trigger whose filter matches; replies re-enter the broker', async () => {
    for (let i = 0; i < 20; i++) expect((await post(`c${i}`, 'order.created')).status).toBe(202);
    for (let i = 0; i < 5; i++) expect((await post(`o${i}`, 'order.other')).status).toBe(202);
    await created.waitFor(20, 30_000);
    await replied.waitFor(20, 30_000);
    // t-all sees the 25 events and the 20 replies.
    await all.waitFor(45, 30_000);
    const created20 = Array.from({ length: 20 }, (_, i) => `c${i}`);
    expect(ids(created).sort()).toEqual([...created20].sort());
    expect(ids(replied).sort()).toEqual(created20.map((id) => `reply-${id}`).sort());
    expect(ids(all)).toHaveLength(45);
    // T11: a reply carries the original's TTL into the receiver, which decrements it; the subscriber
    // never sees the TTL.
    const reply = all.requests.find((r) => r.headers['ce-id'] === 'reply-c0')!;
    expect(reply.headers['ce-knativebrokerttl']).toBeUndefined();
    expect(reply.headers['ce-knativearrivaltime']).toMatch(/^\d{4}-/);
    const metrics = await (await fetch(`${receiver.url}/metrics`)).text();
    expect(metrics).toMatch(
      /mt_broker_ingress_event_count\{[^}]*event_type="order.replied"[^}]*response_code="202"[^}]*\} 20/,
    );
  });

  it('retries a failing subscriber, then dead-letters the event', async () => {
    expect((await post('f1', 'order.failing')).status).toBe(202);
    const [dead] = await deadLetters.waitFor(1, 30_000);
    expect(failing.requests).toHaveLength(3);
    expect(dead!.headers['ce-id']).toBe('f1');
    expect(dead!.headers['ce-knativeerrorcode']).toBe('503');
    const metrics = await (await fetch(`${dispatcher.url}/metrics`)).text();
    expect(metrics).toMatch(
      /mt_broker_filter_event_count\{broker_name="orders",trigger_name="t-fail"[^}]*\} 1/,
    );
    expect(metrics).toMatch(
      /eventing_delivery_outcomes_total\{[^}]*name="t-fail",outcome="dead_lettered"\} 1/,
    );
    // Each trigger's consumer group reports its lag: none once everything is delivered.
    await eventuallyAsync('a backlog of 0 for t-all and t-fail', async () => {
      const text = await (await fetch(`${dispatcher.url}/metrics`)).text();
      return (
        ['t-all', 't-fail'].every((name) =>
          text.includes(`eventing_consumer_backlog{namespace="kb",kind="Trigger",name="${name}"} 0\n`),
        ) || undefined
      );
    });
  });

  it('applies a contract edit live: a new trigger gets what is posted from then on', async () => {
    const late = await startSubscriber();
    try {
      writeContract(contractPath, {
        generation: 2,
        brokers,
        triggers: [trigger('t-all', all.url), trigger('t-late', late.url)],
      });
      let i = 0;
      while (late.requests.length === 0 && i < 100) {
        expect((await post(`late-${i++}`, 'order.created')).status).toBe(202);
        await new Promise((r) => setTimeout(r, 100));
      }
      await late.waitFor(1, 10_000);
      // t-created left the contract: its subscriber gets nothing new.
      const before = created.requests.length;
      expect((await post('after-edit', 'order.created')).status).toBe(202);
      await eventually(() => ids(late).includes('after-edit'), 30_000, 'the new trigger');
      expect(created.requests.length).toBe(before);
    } finally {
      await late.close();
    }
  });

  it('both exit 0 on SIGTERM', async () => {
    dispatcher.kill('SIGTERM');
    receiver.kill('SIGTERM');
    expect(await dispatcher.exited).toBe(0);
    expect(await receiver.exited).toBe(0);
  });
});
