// Consumer lag of KafkaChannelBackend subscriptions on a real Kafka: what `backlog()` reports while
// a subscriber is stuck, once it is released, and across members of one consumer group.
import type { CloudEvent } from '@eventing/cloudevents';
import { eventually, withKafka } from '@eventing/testing';
import type { ChannelRef } from '../backend';
import { gates } from '../testing/gates';
import { KafkaChannelBackend } from './kafka-backend';

jest.setTimeout(120_000);

const kafka = withKafka();
const run = `${process.pid}-${Date.now().toString(36)}`;
let n = 0;
const uniqueChannel = (): ChannelRef => ({ namespace: 'backlog', name: `c-${run}-${n++}` });

const event = (id: string): CloudEvent => ({
  attributes: { specversion: '1.0', id, source: '/kafka-backlog', type: 'kafka.backlog.test' },
  data: Buffer.from(id),
});

// Opened after each test whatever happened, so that closing never waits on a held handler.
const { gate, openAll } = gates();

const backlogOf = (backend: KafkaChannelBackend, id: string): number | undefined =>
  new Map(backend.backlog()).get(id);

describe('KafkaChannelBackend backlog', () => {
  const backends: KafkaChannelBackend[] = [];
  const open = (): KafkaChannelBackend => {
    const backend = new KafkaChannelBackend({
      bootstrap: [kafka.bootstrap],
      backlogRefreshMs: 200,
      consumer: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 },
    });
    backends.push(backend);
    return backend;
  };
  afterEach(async () => {
    openAll();
    await Promise.all(backends.splice(0).map((b) => b.close()));
  });

  it('counts every event a stuck subscriber has not finished, beyond what its consumer fetched, and 0 once released', async () => {
    const backend = open();
    const channel = uniqueChannel();
    await backend.ensureChannel(channel, { numPartitions: 3 });
    const stuck = gate();
    const consumer = await backend.subscribe(channel, { id: 'stuck', maxInFlight: 5 }, stuck.handler);
    expect(backlogOf(backend, 'stuck')).toBe(0);

    for (let i = 0; i < 200; i++) expect((await backend.append(channel, event(`e${i}`), {})).ok).toBe(true);
    // It holds at most maxInFlight + buffer (5 + 50) in memory; the rest is only in the topic.
    const stats = backend.stats(channel)!['stuck']!;
    expect(stats.queued + stats.inFlight).toBeLessThanOrEqual(55);
    await eventually(() => backlogOf(backend, 'stuck') === 200, 30_000, 'a backlog of 200');

    stuck.open();
    await eventually(() => backlogOf(backend, 'stuck') === 0, 60_000, 'the backlog to fall to 0');
    expect(stuck.handled).toBe(200);
    await consumer.close('shutdown');
    expect(backlogOf(backend, 'stuck')).toBeUndefined();
  });

  it('each member of a group reports the partitions it owns, and together the whole lag', async () => {
    const channel = uniqueChannel();
    const a = open();
    const b = open();
    await a.ensureChannel(channel, { numPartitions: 4 });
    await b.ensureChannel(channel, { numPartitions: 4 });
    const stuck = gate();
    const group = `backlog-${run}-shared`;
    await a.subscribe(channel, { id: 'shared', consumerGroup: group, maxInFlight: 1 }, stuck.handler);
    await b.subscribe(channel, { id: 'shared', consumerGroup: group, maxInFlight: 1 }, stuck.handler);
    await eventually(
      () => {
        const pa = a.stats(channel)!['shared']!.partitions;
        const pb = b.stats(channel)!['shared']!.partitions;
        return pa.length > 0 && pb.length > 0 && pa.length + pb.length === 4;
      },
      60_000,
      'the four partitions shared by both members',
    );

    for (let i = 0; i < 120; i++) expect((await a.append(channel, event(`s${i}`), {})).ok).toBe(true);
    await eventually(
      () => {
        const sa = backlogOf(a, 'shared') ?? 0;
        const sb = backlogOf(b, 'shared') ?? 0;
        return sa > 0 && sb > 0 && sa + sb === 120;
      },
      30_000,
      'shares of the backlog adding up to 120',
    );
    stuck.open();
    await eventually(
      () => backlogOf(a, 'shared') === 0 && backlogOf(b, 'shared') === 0,
      60_000,
      'both shares to fall to 0',
    );
  });
});
