// KafkaChannelBackend on a real single-node Kafka: the contract every backend owes, then what is
// particular to Kafka (record format, contiguous commits, ordered mode, malformed records, bounds).
import type { CloudEvent } from '@eventing/cloudevents';
import { withKafka } from '@eventing/testing';
import { Admin, type Message, Consumer as RawConsumer, Producer as RawProducer } from '@platformatic/kafka';
import type { ChannelMessage, ChannelRef } from '../backend';
import { describeChannelBackend } from '../testing/backend-contract';
import { KafkaChannelBackend, type MalformedKafkaRecord } from './kafka-backend';

jest.setTimeout(60_000);

const kafka = withKafka();
const run = `${process.pid}-${Date.now().toString(36)}`;
let n = 0;
const uniqueChannel = (namespace: string): ChannelRef => ({ namespace, name: `c-${run}-${n++}` });

describeChannelBackend('kafka', {
  durable: true,
  timeoutMs: 20_000,
  create: async () => {
    const backend = new KafkaChannelBackend({ bootstrap: [kafka.bootstrap], nackDelayMs: 50 });
    return { backend, close: () => backend.close() };
  },
  channel: () => uniqueChannel('contract'),
});

const event = (id: string, extra: Record<string, string> = {}): CloudEvent => ({
  attributes: {
    specversion: '1.0',
    id,
    source: '/kafka-backend',
    type: 'kafka.backend.test',
    datacontenttype: 'text/plain',
    ...extra,
  },
  data: Buffer.from(`data of ${id}`),
});

const idOf = (m: ChannelMessage): string => String(m.event.attributes.id);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(10);
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleepOrAbort(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => resolve(true), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

describe('KafkaChannelBackend', () => {
  let backend: KafkaChannelBackend;
  let malformed: MalformedKafkaRecord[];
  const extra: { close(): Promise<void> }[] = [];

  beforeEach(() => {
    malformed = [];
    backend = new KafkaChannelBackend({
      bootstrap: [kafka.bootstrap],
      nackDelayMs: 20,
      maxNackDelayMs: 100,
      onMalformedRecord: (record) => malformed.push(record),
    });
  });
  afterEach(async () => {
    await backend.close();
    await Promise.all(extra.splice(0).map((c) => c.close()));
  });

  it("writes binary-mode records as upstream does: ce_ headers, the partition key, passthrough headers under 'kne-h-'", async () => {
    const ref = uniqueChannel('format');
    await backend.ensureChannel(ref);
    const topic = backend.topicOf(ref);
    expect(topic).toBe(`knative-messaging-kafka.format.${ref.name}`);
    const seen: ChannelMessage[] = [];
    await backend.subscribe(ref, { id: 'format', maxInFlight: 1 }, async (m) => {
      seen.push(m);
      return 'ack';
    });
    // Passthrough headers named like binding headers must neither be read as attributes nor collide.
    const headers = {
      'x-request-id': 'r-1',
      'content-type': 'text/evil',
      ce_id: 'not-the-id',
      traceparent: 't',
    };
    const stored = await backend.append(
      ref,
      event('f1', { partitionkey: 'pk-1', subject: 'café ☕' }),
      headers,
      {
        key: 'pk-1',
      },
    );
    expect(stored).toEqual({ ok: true });
    await until(
      () => seen.length === 1,
      20_000,
      () => 'the event',
    );
    expect(seen[0]!.event.attributes).toEqual(
      event('f1', { partitionkey: 'pk-1', subject: 'café ☕' }).attributes,
    );
    expect(seen[0]!.headers).toEqual(headers);

    const raw = new RawConsumer({
      clientId: 'test',
      groupId: `raw-${run}-${n++}`,
      bootstrapBrokers: [kafka.bootstrap],
    });
    extra.push({ close: () => raw.close(true) });
    const stream = await raw.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    const [record] = (await stream.take(1).toArray()) as Message[];
    await stream.close();
    const headerMap = new Map(record!.headerEntries.map(([k, v]) => [k.toString(), v.toString()]));
    const header = (name: string) => headerMap.get(name);
    const names = [...headerMap.keys()].sort();
    expect(record!.key.toString()).toBe('pk-1');
    expect(record!.value.toString()).toBe('data of f1');
    expect(names).toEqual(
      [
        'ce_id',
        'ce_partitionkey',
        'ce_source',
        'ce_specversion',
        'ce_subject',
        'ce_type',
        'content-type',
        'kne-h-ce_id',
        'kne-h-content-type',
        'ce_traceparent',
        'kne-h-x-request-id',
      ].sort(),
    );
    expect(header('ce_id')).toBe('f1');
    expect(header('ce_subject')).toBe('café ☕');
    expect(header('content-type')).toBe('text/plain');
  });

  it('commits only the contiguous prefix of finished deliveries: after a restart it redelivers what was unfinished and nothing before it', async () => {
    const ref = uniqueChannel('contiguous');
    await backend.ensureChannel(ref);
    const N = 200;
    const index = (id: string) => Number(id.slice(1));
    const shutdown = new AbortController();
    const acked = new Set<string>();
    const discarded: ChannelMessage[] = [];
    const first = await backend.subscribe(
      ref,
      { id: 'contiguous', maxInFlight: 10, onDiscard: (messages) => discarded.push(...messages) },
      async (m) => {
        // Every tenth event is slow: the ones after it finish first.
        const finished = await sleepOrAbort(index(idOf(m)) % 10 === 3 ? 400 : 5, shutdown.signal);
        if (!finished) return 'nack'; // cut by the shutdown: left in the store, as the broker's dispatch does
        acked.add(idOf(m));
        return 'ack';
      },
    );
    for (let i = 0; i < N; i++) expect(await backend.append(ref, event(`e${i}`), {})).toEqual({ ok: true });
    await until(
      () => acked.size >= 80,
      20_000,
      () => `80 acks (have ${acked.size})`,
    );
    shutdown.abort();
    await first.close('shutdown');

    const unfinished = Array.from({ length: N }, (_, i) => `e${i}`).filter((id) => !acked.has(id));
    const firstUnfinished = index(unfinished[0]!);
    // The deliveries did finish out of order: some after the first unfinished one were acked.
    expect([...acked].some((id) => index(id) > firstUnfinished)).toBe(true);
    expect(discarded).toEqual([]); // shutdown keeps them in Kafka: nothing is reported as discarded

    const again = new Map<string, number>();
    await backend.subscribe(ref, { id: 'contiguous', maxInFlight: 10 }, async (m) => {
      again.set(idOf(m), (again.get(idOf(m)) ?? 0) + 1);
      return 'ack';
    });
    await until(
      () => unfinished.every((id) => again.has(id)),
      20_000,
      () => `the ${unfinished.length} unfinished events (have ${again.size})`,
    );
    await sleep(500);
    // Nothing before the first unfinished event comes again; everything else comes exactly once.
    for (const id of again.keys()) expect(index(id)).toBeGreaterThanOrEqual(firstUnfinished);
    expect([...again.values()].every((count) => count === 1)).toBe(true);
    // Redelivered beyond the unfinished ones: only finished events past the first unfinished one.
    const twice = [...again.keys()].filter((id) => acked.has(id));
    expect(twice.every((id) => index(id) > firstUnfinished)).toBe(true);
    expect(acked.size + unfinished.length).toBe(N);
  });

  it('keeps per-key order in ordered mode even when deliveries are nacked and redelivered', async () => {
    const ref = uniqueChannel('ordered');
    await backend.ensureChannel(ref, { numPartitions: 3 });
    const keys = ['alpha', 'beta', 'gamma'];
    const delivered = new Map<string, number[]>(keys.map((k) => [k, []]));
    let attempts = 0;
    let running = 0;
    let peak = 0;
    await backend.subscribe(ref, { id: 'ordered', maxInFlight: 10, ordered: true }, async (m) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(2);
      running--;
      if (++attempts % 3 === 0) return 'nack';
      const [key, seq] = idOf(m).split(':') as [string, string];
      delivered.get(key)!.push(Number(seq));
      return 'ack';
    });
    await Promise.all(
      keys.map(async (key) => {
        for (let i = 0; i < 50; i++) {
          const stored = await backend.append(ref, event(`${key}:${i}`, { partitionkey: key }), {}, { key });
          expect(stored.ok).toBe(true);
        }
      }),
    );
    await until(
      () => keys.every((k) => delivered.get(k)!.length >= 50),
      30_000,
      () => `50 deliveries per key (${keys.map((k) => delivered.get(k)!.length).join(', ')})`,
    );
    for (const key of keys) expect(delivered.get(key)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(attempts).toBeGreaterThan(150 + 40); // about a third were nacked
    expect(peak).toBeLessThanOrEqual(3); // one per partition
  });

  it('skips a record that is not a CloudEvent, reports it, and delivers what follows; it is committed past', async () => {
    const ref = uniqueChannel('malformed');
    await backend.ensureChannel(ref);
    const seen: string[] = [];
    const consumer = await backend.subscribe(ref, { id: 'malformed', maxInFlight: 5 }, async (m) => {
      seen.push(idOf(m));
      return 'ack';
    });
    const raw = new RawProducer({ clientId: 'test', bootstrapBrokers: [kafka.bootstrap] });
    extra.push({ close: () => raw.close() });
    const topic = backend.topicOf(ref);
    await backend.append(ref, event('m0'), {});
    await raw.send({
      messages: [
        { topic, value: Buffer.from('plain bytes, no headers') },
        {
          topic,
          value: Buffer.from('x'),
          headers: new Map([[Buffer.from('ce_specversion'), Buffer.from('1.0')]]),
        },
      ],
    });
    for (let i = 1; i <= 5; i++) await backend.append(ref, event(`m${i}`), {});
    await until(
      () => seen.length >= 6,
      20_000,
      () => `6 events (have ${seen.join(',')})`,
    );
    expect(seen.sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(malformed.map((r) => [r.topic, r.partition, r.offset, r.subscription])).toEqual([
      [topic, 0, 1n, 'malformed'],
      [topic, 0, 2n, 'malformed'],
    ]);
    expect(malformed[0]!.reason).toMatch(/specversion|content type/);
    expect(malformed[1]!.reason).toMatch(/id|source|type/);
    expect(backend.stats(ref)?.['malformed']).toMatchObject({ malformed: 2, queued: 0, inFlight: 0 });

    // Committed past: the next start neither reports them again nor redelivers anything.
    await consumer.close('shutdown');
    const after: string[] = [];
    await backend.subscribe(ref, { id: 'malformed', maxInFlight: 5 }, async (m) => {
      after.push(idOf(m));
      return 'ack';
    });
    await backend.append(ref, event('m6'), {});
    await until(
      () => after.includes('m6'),
      20_000,
      () => 'm6',
    );
    expect(after).toEqual(['m6']);
    expect(malformed).toHaveLength(2);
  });

  it('shares a subscription between two processes by partition, and hands a leaving one’s partitions to the other', async () => {
    const ref = uniqueChannel('members');
    await backend.ensureChannel(ref, { numPartitions: 3 });
    const other = new KafkaChannelBackend({
      bootstrap: [kafka.bootstrap],
      consumer: { heartbeatIntervalMs: 500 },
    });
    extra.push(other);
    const byA: string[] = [];
    const byB: string[] = [];
    const a = await backend.subscribe(ref, { id: 'members', maxInFlight: 5 }, async (m) => {
      byA.push(idOf(m));
      return 'ack';
    });
    const b = await other.subscribe(ref, { id: 'members', maxInFlight: 5 }, async (m) => {
      byB.push(idOf(m));
      return 'ack';
    });
    await until(
      () =>
        (backend.stats(ref)?.['members']?.partitions.length ?? 0) +
          (other.stats(ref)?.['members']?.partitions.length ?? 0) ===
        3,
      20_000,
      () => 'the partitions split between both members',
    );
    expect(other.stats(ref)?.['members']?.partitions.length).toBeGreaterThan(0);
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
    for (let i = 0; i < 60; i++)
      await backend.append(ref, event(`s${i}`), {}, { key: keys[i % keys.length]! });
    await until(
      () => new Set([...byA, ...byB]).size === 60,
      20_000,
      () => `60 events across both members (have ${byA.length} + ${byB.length})`,
    );
    expect(byB.length).toBeGreaterThan(0);

    await b.close('shutdown');
    await until(
      () => backend.stats(ref)?.['members']?.partitions.length === 3,
      30_000,
      () => 'all partitions back on the remaining member',
    );
    for (let i = 60; i < 90; i++)
      await backend.append(ref, event(`s${i}`), {}, { key: keys[i % keys.length]! });
    await until(
      () => new Set([...byA, ...byB]).size === 90,
      20_000,
      () => `90 events (have ${new Set([...byA, ...byB]).size})`,
    );
    expect(byA.filter((id) => Number(id.slice(1)) >= 60)).toHaveLength(30);
    await a.close('shutdown');
  });

  it('stops fetching at maxInFlight + buffer held messages instead of queueing the topic in memory', async () => {
    const ref = uniqueChannel('bounded');
    await backend.ensureChannel(ref);
    const bounded = new KafkaChannelBackend({ bootstrap: [kafka.bootstrap], consumer: { buffer: 8 } });
    extra.push(bounded);
    const release = new AbortController();
    let started = 0;
    await bounded.subscribe(ref, { id: 'bounded', maxInFlight: 2 }, async () => {
      started++;
      await sleepOrAbort(60_000, release.signal);
      return 'ack';
    });
    for (let i = 0; i < 100; i++) await backend.append(ref, event(`b${i}`), {});
    await until(
      () => started === 2,
      20_000,
      () => '2 handlers',
    );
    await sleep(1500);
    const stats = bounded.stats(ref)!['bounded']!;
    expect(stats.inFlight).toBe(2);
    expect(stats.queued).toBeLessThanOrEqual(8);
    release.abort();
  });

  it('refuses to subscribe to a channel whose topic does not exist, naming the topic', async () => {
    const ref = uniqueChannel('missing');
    await expect(
      backend.subscribe(ref, { id: 'missing', maxInFlight: 1 }, async () => 'ack'),
    ).rejects.toThrow(backend.topicOf(ref));
  });

  it('refuses appends with 503 once too many wait for Kafka', async () => {
    const ref = uniqueChannel('pending');
    await backend.ensureChannel(ref);
    const small = new KafkaChannelBackend({
      bootstrap: [kafka.bootstrap],
      producer: { maxPendingAppends: 5 },
    });
    extra.push(small);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => small.append(ref, event(`p${i}`), {})),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    for (const r of results.slice(5)) {
      expect(r).toMatchObject({ ok: false, status: 503, retryAfterSeconds: 1 });
      expect(!r.ok && r.reason).toMatch(/buffer is full/);
    }
  });

  it('keeps an existing topic as it is, whatever settings ensureChannel is given', async () => {
    const ref = uniqueChannel('existing');
    await backend.ensureChannel(ref, { numPartitions: 2 });
    const other = new KafkaChannelBackend({ bootstrap: [kafka.bootstrap] });
    extra.push(other);
    await other.ensureChannel(ref, { numPartitions: 5 });
    const seen: string[] = [];
    await other.subscribe(ref, { id: 'existing', maxInFlight: 1 }, async (m) => {
      seen.push(idOf(m));
      return 'ack';
    });
    expect(other.stats(ref)?.['existing']?.partitions).toEqual([0, 1]);
  });

  it('keeps a channel in the topic its provisioner names, for appends, consumers and deletion; refuses a name Kafka cannot take', async () => {
    const ref = uniqueChannel('named');
    const topic = `knative-broker-named-${ref.name}`;
    await backend.ensureChannel(ref, { topic });
    expect(backend.topicOf(ref)).toBe(topic);
    const seen: string[] = [];
    await backend.subscribe(ref, { id: 'named', maxInFlight: 1 }, async (m) => {
      seen.push(idOf(m));
      return 'ack';
    });
    expect(await backend.append(ref, event('n1'), {})).toMatchObject({ ok: true });
    await until(
      () => seen.length === 1,
      20_000,
      () => 'n1',
    );
    const admin = new Admin({ clientId: 'named-test', bootstrapBrokers: [kafka.bootstrap] });
    extra.push({ close: () => admin.close() });
    const topics = await admin.listTopics();
    expect(topics).toContain(topic);
    expect(topics).not.toContain(`knative-messaging-kafka.named.${ref.name}`);
    await backend.deleteChannel(ref);
    expect(await admin.listTopics()).not.toContain(topic);
    await expect(backend.ensureChannel(uniqueChannel('named'), { topic: 'no/slashes' })).rejects.toThrow(
      '"no/slashes" cannot name a Kafka topic',
    );
  });

  it('deletes a channel: its consumers close, what they held is reported with the reason, the topic is gone', async () => {
    const ref = uniqueChannel('deleted');
    await backend.ensureChannel(ref);
    const discarded: string[] = [];
    const reasons = new Set<string>();
    const cancel = new AbortController();
    await backend.subscribe(
      ref,
      {
        id: 'deleted',
        maxInFlight: 1,
        onDiscard: (messages, reason) => {
          discarded.push(...messages.map(idOf));
          reasons.add(reason);
        },
      },
      async () => ((await sleepOrAbort(60_000, cancel.signal)) ? 'ack' : 'term'),
    );
    for (let i = 0; i < 5; i++) await backend.append(ref, event(`d${i}`), {});
    await until(
      () => (backend.stats(ref)?.['deleted']?.queued ?? 0) === 4,
      20_000,
      () => '4 queued',
    );
    const deleting = backend.deleteChannel(ref);
    cancel.abort(); // the caller cancels the delivery in flight
    await deleting;
    expect(discarded.sort()).toEqual(['d1', 'd2', 'd3', 'd4']);
    expect([...reasons]).toEqual(['channel_deleted']);
    expect(backend.stats(ref)).toBeUndefined();
    const late = await backend.append(ref, event('late'), {});
    expect(late).toMatchObject({ ok: false, status: 503 });
  });

  it('drain stops fetching and resolves once what is held is finished', async () => {
    const ref = uniqueChannel('drain');
    await backend.ensureChannel(ref);
    let done = 0;
    await backend.subscribe(ref, { id: 'drain', maxInFlight: 2 }, async () => {
      await sleep(30);
      done++;
      return 'ack';
    });
    for (let i = 0; i < 10; i++) await backend.append(ref, event(`r${i}`), {});
    await until(
      () => done >= 1,
      20_000,
      () => 'a delivery',
    );
    await backend.drain();
    const stats = backend.stats(ref)!['drain']!;
    expect(stats).toMatchObject({ queued: 0, inFlight: 0 });
    const at = done;
    await backend.append(ref, event('after-drain'), {});
    await sleep(800);
    expect(done).toBe(at);
  });
});
