import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryChannelBackend } from '@eventing/channels';
import { KafkaChannelBackend } from '@eventing/channels/kafka';
import { JetStreamChannelBackend } from '@eventing/channels/jetstream';
import type { Contract, SubscriptionEntry, TriggerEntry } from '@eventing/contract';
import { Dispatcher } from '@eventing/delivery';
import { eventually, startSubscriber, withKafka, withNats, type TestSubscriber } from '@eventing/testing';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Admin } from '@platformatic/kafka';
import { BrokerDataPlane } from './data-plane';
import { IGNORE_OUTCOMES } from './egress/outcomes';

// The names of durable stores, read back from the real servers: they are upstream's, so a KafkaChannel,
// a NatsJetStreamChannel or a Broker moved from an upstream installation finds its topic or stream
// (CONFORMANCE 2.13). KafkaChannel (eventing-kafka-broker's channels.topic.template and consumerGroup):
// topic `knative-messaging-kafka.<ns>.<name>`, group `kafka.<ns>.<name>.<subscription uid>`. Kafka-class
// Broker (brokers.topic.template): `knative-broker-<ns>-<name>`. NatsJetStreamChannel (eventing-natss
// StreamName, PublishSubjectName, ConsumerName): stream `KN_<NS>__<NAME>` upper case with `_` for `-`,
// subject `<ns>.<name>._knative`, durable consumer `KN_SUB_<uid without '-', upper case>`. A
// channel-based Broker's store is its trigger channel `<broker>-kne-trigger` in the channel kind.
// Triggers: a Kafka-class Broker's reads in group `knative-trigger-<ns>-<name>` (eventing-kafka-broker's
// triggers.consumergroup.template, named by the control plane in the contract's `consumerGroup`); in
// standalone a channel-based Broker's Trigger reads the trigger channel as a Subscription of it would,
// its own uid standing for the Subscription's (`kafka.<ns>.<b>-kne-trigger.<uid>`, `KN_SUB_<UID>`).
jest.setTimeout(180_000);

const kafka = withKafka();
const nats = withNats();
// A namespace of this run: the servers may be shared with other test files and runs.
const ns = `names-${Date.now().toString(36)}`;
const NS = ns.toUpperCase().replace(/-/g, '_');
const KAFKA_SUB = '7d3f0c2e-5b1a-4c8e-9f60-1a2b3c4d5e6f';
const NATS_SUB = 'c0ffee00-1234-4abc-8def-00000000beef';
const KAFKA_TRIGGER = '5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
const NATS_TRIGGER = 'feed0000-aaaa-4bbb-8ccc-0000000d00d5';
const policy = { retry: 0, backoffPolicy: 'linear' as const, backoffDelayMs: 0 };
/** Resolves once `check` resolves true; rejects naming `what` after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const ce = (id: string) => ({
  'ce-specversion': '1.0',
  'ce-id': id,
  'ce-source': '/names',
  'ce-type': 'names.test',
});

describe('durable store names on real Kafka and NATS JetStream', () => {
  let server: Server;
  let base: string;
  let plane: BrokerDataPlane;
  let memory: MemoryChannelBackend;
  let kafkaStore: KafkaChannelBackend;
  let jetstream: JetStreamChannelBackend;
  let dispatcher: Dispatcher;
  let subscriber: TestSubscriber;
  let admin: Admin;
  let nc: Awaited<ReturnType<typeof connect>>;
  let contract: Contract;
  let jsm: JetStreamManager;

  const sub = (uid: string, channel: string): SubscriptionEntry => ({
    uid,
    namespace: ns,
    name: `sub-${channel}`,
    channel: { namespace: ns, name: channel },
    subscriberUri: subscriber.url,
    policy,
    format: 'binary',
  });
  const trigger = (uid: string, broker: string): TriggerEntry => ({
    uid,
    namespace: ns,
    name: uid,
    broker,
    subscriberUri: subscriber.url,
    policy,
    format: 'binary',
  });
  const post = (path: string, id: string) =>
    fetch(`${base}${path}`, { method: 'POST', headers: ce(id), body: id }).then((r) => r.status);

  beforeAll(async () => {
    subscriber = await startSubscriber();
    memory = new MemoryChannelBackend({ capacityPerSubscription: 100 });
    kafkaStore = new KafkaChannelBackend({
      bootstrap: [kafka.bootstrap],
      clientId: 'store-names',
      consumer: { commitIntervalMs: 100 },
    });
    jetstream = new JetStreamChannelBackend({ servers: [nats.url], name: 'store-names' });
    dispatcher = new Dispatcher();
    plane = new BrokerDataPlane({
      backend: memory,
      stores: { kafka: kafkaStore, jetstream },
      dispatcher,
      maxBodyBytes: 1024,
      observer: IGNORE_OUTCOMES,
    });
    server = createServer(plane.handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    admin = new Admin({ clientId: 'store-names-admin', bootstrapBrokers: [kafka.bootstrap] });
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);

    contract = {
      version: 1,
      generation: 1,
      brokers: [
        { uid: 'b-kc', namespace: ns, name: 'on-kafka', store: 'kafka' },
        {
          uid: 'b-kclass',
          namespace: ns,
          name: 'kclass',
          store: 'kafka',
          storeSettings: { topic: `knative-broker-${ns}-kclass` },
        },
        { uid: 'b-js', namespace: ns, name: 'on-nats', store: 'jetstream' },
      ],
      triggers: [
        // As the control plane names it for a Kafka-class Broker (libs/reconciler kafkaTriggerConsumerGroup).
        { ...trigger('t-kclass', 'kclass'), consumerGroup: `knative-trigger-${ns}-t-kclass` },
        trigger(KAFKA_TRIGGER, 'on-kafka'),
        trigger(NATS_TRIGGER, 'on-nats'),
      ],
      channels: [
        { uid: 'c-kc', namespace: ns, name: 'orders', store: 'kafka' },
        { uid: 'c-js', namespace: ns, name: 'audit-log', store: 'jetstream' },
      ],
      subscriptions: [sub(KAFKA_SUB, 'orders'), sub(NATS_SUB, 'audit-log')],
    };
    const report = await plane.apply(contract);
    expect(report.failed).toEqual(new Map());
  });

  afterAll(async () => {
    await plane?.close(5_000);
    await Promise.all([memory?.close(), kafkaStore?.close(), jetstream?.close(), dispatcher?.close()]);
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await admin?.close();
    await nc?.close();
    await subscriber?.close();
  });

  it('Kafka topics are upstream’s: KafkaChannel, a broker on KafkaChannel, a Kafka-class broker', async () => {
    const topics = (await admin.listTopics()).filter((t) => t.includes(ns));
    expect(topics.sort()).toEqual(
      [
        `knative-broker-${ns}-kclass`,
        `knative-messaging-kafka.${ns}.on-kafka-kne-trigger`,
        `knative-messaging-kafka.${ns}.orders`,
      ].sort(),
    );
  });

  it('a KafkaChannel subscription reads its topic in group kafka.<ns>.<channel>.<uid>', async () => {
    expect(await post(`/_channels/${ns}/orders`, 'k1')).toBe(202);
    await eventually(() => subscriber.requests.some((r) => r.headers['ce-id'] === 'k1'), 30_000, 'k1');
    const group = `kafka.${ns}.orders.${KAFKA_SUB}`;
    const topic = `knative-messaging-kafka.${ns}.orders`;
    // The delivered record's offset is committed by that group on that topic.
    await until(
      async () => {
        const [offsets] = await admin.listConsumerGroupOffsets({ groups: [group] });
        const committed = offsets?.topics.find((t) => t.name === topic)?.partitions ?? [];
        return committed.some((p) => p.committedOffset === 1n);
      },
      30_000,
      `group ${group} to commit offset 1 on ${topic}`,
    );
  });

  /** Resolves once `group` committed `offset` on some partition of `topic`. */
  const committedIn = (group: string, topic: string, offset: bigint) =>
    until(
      async () => {
        const [offsets] = await admin.listConsumerGroupOffsets({ groups: [group] });
        const committed = offsets?.topics.find((t) => t.name === topic)?.partitions ?? [];
        return committed.some((p) => p.committedOffset === offset);
      },
      30_000,
      `group ${group} to commit offset ${offset} on ${topic}`,
    );
  /** Resolves once `group`'s committed offsets on `topic` add up to `total` (every record before them read). */
  const committedTotal = (group: string, topic: string, total: bigint) =>
    until(
      async () => {
        const [offsets] = await admin.listConsumerGroupOffsets({ groups: [group] });
        const committed = offsets?.topics.find((t) => t.name === topic)?.partitions ?? [];
        return (
          committed.reduce((sum, p) => sum + (p.committedOffset > 0n ? p.committedOffset : 0n), 0n) === total
        );
      },
      30_000,
      `group ${group} to commit ${total} records of ${topic}`,
    );

  it('1.1 Kafka Broker: a Kafka-class broker stores in knative-broker-<ns>-<name>, its trigger reads in group knative-trigger-<ns>-<trigger>', async () => {
    expect(await post(`/${ns}/kclass`, 'kb1')).toBe(202);
    await eventually(() => subscriber.requests.some((r) => r.headers['ce-id'] === 'kb1'), 30_000, 'kb1');
    await committedIn(`knative-trigger-${ns}-t-kclass`, `knative-broker-${ns}-kclass`, 1n);
    const groups = [...(await admin.listGroups()).keys()];
    expect(groups.filter((g) => g.includes('t-kclass'))).toEqual([`knative-trigger-${ns}-t-kclass`]);
  });

  it('standalone: a trigger of a broker on KafkaChannel reads the trigger channel in group kafka.<ns>.<b>-kne-trigger.<trigger uid>', async () => {
    expect(await post(`/${ns}/on-kafka`, 'bk1')).toBe(202);
    await eventually(() => subscriber.requests.some((r) => r.headers['ce-id'] === 'bk1'), 30_000, 'bk1');
    await committedIn(
      `kafka.${ns}.on-kafka-kne-trigger.${KAFKA_TRIGGER}`,
      `knative-messaging-kafka.${ns}.on-kafka-kne-trigger`,
      1n,
    );
  });

  it('standalone: a trigger of a broker on NatsJetStreamChannel reads the trigger channel’s stream in consumer KN_SUB_<TRIGGER UID>', async () => {
    expect(await post(`/${ns}/on-nats`, 'bj1')).toBe(202);
    await eventually(() => subscriber.requests.some((r) => r.headers['ce-id'] === 'bj1'), 30_000, 'bj1');
    const consumers: string[] = [];
    for await (const c of jsm.consumers.list(`KN_${NS}__ON_NATS_KNE_TRIGGER`)) consumers.push(c.name);
    expect(consumers).toEqual(['KN_SUB_FEED0000AAAA4BBB8CCC0000000D00D5']);
  });

  it('JetStream streams, subjects and consumers are eventing-natss’s', async () => {
    const streams: string[] = [];
    for await (const s of jsm.streams.list()) if (s.config.name.includes(NS)) streams.push(s.config.name);
    expect(streams.sort()).toEqual([`KN_${NS}__AUDIT_LOG`, `KN_${NS}__ON_NATS_KNE_TRIGGER`]);
    const info = await jsm.streams.info(`KN_${NS}__AUDIT_LOG`);
    expect(info.config.subjects).toEqual([`${ns}.audit-log._knative`]);

    expect(await post(`/_channels/${ns}/audit-log`, 'j1')).toBe(202);
    await eventually(() => subscriber.requests.some((r) => r.headers['ce-id'] === 'j1'), 30_000, 'j1');
    expect((await jsm.streams.info(`KN_${NS}__AUDIT_LOG`)).state.messages).toBe(1);
    const consumers: string[] = [];
    for await (const c of jsm.consumers.list(`KN_${NS}__AUDIT_LOG`)) consumers.push(c.name);
    expect(consumers).toEqual(['KN_SUB_C0FFEE0012344ABC8DEF00000000BEEF']);
  });

  it('a NatsJetStreamChannel bound to its stream of the old name (overrideName) keeps its messages and consumers', async () => {
    // As a release before upstream's names left it: stream KN_<NS>__LEGACY_KN_CHANNEL on subject
    // <ns>.legacy-kn-channel._knative, a durable consumer that had not received the last event.
    const LEGACY_SUB = '0a1b2c3d-0000-4000-8000-00000000001e';
    const old = { namespace: ns, name: 'legacy-kn-channel' };
    await jetstream.ensureChannel(old);
    const consumer = await jetstream.subscribe(old, { id: LEGACY_SUB, maxInFlight: 1 }, async () => 'ack');
    await consumer.close();
    expect(
      await jetstream.append(
        old,
        { attributes: { specversion: '1.0', id: 'old-1', source: '/names', type: 't' }, data: undefined },
        {},
      ),
    ).toMatchObject({ ok: true });

    const report = await plane.apply({
      ...contract,
      generation: 2,
      channels: [
        ...(contract.channels ?? []),
        {
          uid: 'c-legacy',
          namespace: ns,
          name: 'legacy',
          store: 'jetstream',
          storeSettings: { stream: { overrideName: `KN_${NS}__LEGACY_KN_CHANNEL` } },
        },
      ],
      subscriptions: [...(contract.subscriptions ?? []), sub(LEGACY_SUB, 'legacy')],
    });
    expect(report.failed).toEqual(new Map());
    await eventually(() => subscriber.requests.some((r) => r.headers['ce-id'] === 'old-1'), 30_000, 'old-1');
    expect(await post(`/_channels/${ns}/legacy`, 'new-1')).toBe(202);
    await eventually(() => subscriber.requests.some((r) => r.headers['ce-id'] === 'new-1'), 30_000, 'new-1');
    const info = await jsm.streams.info(`KN_${NS}__LEGACY_KN_CHANNEL`);
    expect(info.config.subjects.sort()).toEqual(
      [`${ns}.legacy-kn-channel._knative`, `${ns}.legacy._knative`].sort(),
    );
    expect(info.state.messages).toBe(2);
  });

  it('a durable consumer named by the control plane (consumerGroup) is created under that name', async () => {
    const named = { namespace: ns, name: 'named' };
    await jetstream.ensureChannel(named);
    const consumer = await jetstream.subscribe(
      named,
      { id: 'n1', maxInFlight: 1, consumerGroup: `NAMED_${NS}` },
      async () => 'ack',
    );
    await consumer.close();
    const consumers: string[] = [];
    for await (const c of jsm.consumers.list(`KN_${NS}__NAMED`)) consumers.push(c.name);
    expect(consumers).toEqual([`NAMED_${NS}`]);
    await expect(
      jetstream.subscribe(named, { id: 'n2', maxInFlight: 1, consumerGroup: 'a.b' }, async () => 'ack'),
    ).rejects.toThrow(/consumerGroup "a.b" cannot name a JetStream consumer/);
  });

  it('a Kafka-class trigger upgraded from the old group name resumes where the old group stopped once its offsets are copied', async () => {
    // Before: the trigger read in the group the store derived (kafka.<ns>.kclass-kne-trigger.<uid>).
    // The operator stops the data plane, copies the old group's offsets to knative-trigger-<ns>-<name>
    // (kafka-consumer-groups.sh --reset-offsets does the same), and starts the new release.
    const topic = `knative-broker-${ns}-kclass`;
    const oldGroup = `kafka.${ns}.kclass-kne-trigger.t-upgrade`;
    const newGroup = `knative-trigger-${ns}-t-upgrade`;
    const upgradeUrl = new URL('/upgrade', subscriber.url).href;
    const delivered = (id: string) =>
      subscriber.requests.some((r) => r.url === '/upgrade' && r.headers['ce-id'] === id);
    const brokerOnly = {
      ...contract,
      brokers: contract.brokers.filter((b) => b.name === 'kclass'),
      triggers: [],
      channels: [],
      subscriptions: [],
    };
    const before = { ...trigger('t-upgrade', 'kclass'), subscriberUri: upgradeUrl };
    const older = new KafkaChannelBackend({
      bootstrap: [kafka.bootstrap],
      clientId: 'store-names-old',
      consumer: { commitIntervalMs: 100 },
    });
    const oldPlane = new BrokerDataPlane({
      backend: new MemoryChannelBackend({ capacityPerSubscription: 10 }),
      stores: { kafka: older },
      dispatcher,
      maxBodyBytes: 1024,
      observer: IGNORE_OUTCOMES,
    });
    expect((await oldPlane.apply({ ...brokerOnly, generation: 10, triggers: [before] })).failed).toEqual(
      new Map(),
    );
    expect(await post(`/${ns}/kclass`, 'up1')).toBe(202);
    await eventually(() => delivered('up1'), 30_000, 'up1 through the old group');
    await committedTotal(oldGroup, topic, 2n);
    await oldPlane.close(5_000);
    await older.close();

    // While the data plane is down, an event arrives; nothing reads it yet.
    expect(await post(`/${ns}/kclass`, 'up2')).toBe(202);
    const [old] = await admin.listConsumerGroupOffsets({ groups: [oldGroup] });
    const partitions = old?.topics.find((t) => t.name === topic)?.partitions ?? [];
    expect(partitions.length).toBeGreaterThan(0);
    await admin.alterConsumerGroupOffsets({
      groupId: newGroup,
      topics: [
        {
          name: topic,
          partitionOffsets: partitions.map((p) => ({
            partition: p.partitionIndex,
            offset: p.committedOffset,
          })),
        },
      ],
    });

    const report = await plane.apply({
      ...contract,
      generation: 11,
      triggers: [...contract.triggers, { ...before, consumerGroup: newGroup }],
    });
    expect(report.failed).toEqual(new Map());
    await eventually(() => delivered('up2'), 30_000, 'up2 through the new group, from the copied offset');
    await committedTotal(newGroup, topic, 3n);
    expect(
      subscriber.requests.filter((r) => r.url === '/upgrade' && r.headers['ce-id'] === 'up1'),
    ).toHaveLength(1);
  });
});
