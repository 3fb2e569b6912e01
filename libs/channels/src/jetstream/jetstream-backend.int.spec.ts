import { parseNatsMessage, type CloudEvent } from '@eventing/cloudevents';
import { withNats } from '@eventing/testing';
import { jetstreamManager, type JetStreamManager, type JetStreamPublishOptions } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { ChannelMessage, ChannelRef } from '../backend';
import {
  JetStreamChannelBackend,
  MALFORMED_EVENT_TYPE,
  MALFORMED_MESSAGE,
  type JetStreamChannelBackendOptions,
  type MalformedJetStreamMessage,
} from './jetstream-backend';
import { consumerName, publishSubject, streamName } from './naming';

// Behaviour of the JetStream backend beyond the shared contract, on a real nats-server.
jest.setTimeout(30_000);

const nats = withNats();
let n = 0;
const channel = (): ChannelRef => ({ namespace: 'behaviour', name: `c${n++}` });

const event = (id: string, extra: Record<string, string> = {}): CloudEvent => ({
  attributes: {
    specversion: '1.0',
    id,
    source: '/behaviour',
    type: 'behaviour.test',
    datacontenttype: 'application/json',
    ...extra,
  },
  data: Buffer.from(`{"id":"${id}"}`),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

let backends: JetStreamChannelBackend[] = [];
const open = (options: Partial<JetStreamChannelBackendOptions> = {}) => {
  const backend = new JetStreamChannelBackend({ servers: [nats.url], nackDelayMs: 100, ...options });
  backends.push(backend);
  return backend;
};

let nc: Awaited<ReturnType<typeof connect>>;
let jsm: JetStreamManager;
beforeAll(async () => {
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
});
afterAll(() => nc?.close());
afterEach(async () => {
  await Promise.all(backends.map((b) => b.close()));
  backends = [];
});

describe('JetStreamChannelBackend', () => {
  it('writes binary mode with ce- headers, passthrough headers prefixed, Nats-Msg-Id from dedupId, on upstream names', async () => {
    const backend = open();
    const ref = channel();
    await backend.ensureChannel(ref);
    const stored = await backend.append(
      ref,
      event('wire-1', { subject: 'café ☕' }),
      { 'x-request-id': 'r1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      { dedupId: 'wire-1' },
    );
    expect(stored).toEqual({ ok: true });
    const info = await jsm.streams.info(streamName(ref));
    expect(info.config.subjects).toEqual([publishSubject(ref)]);
    const m = await jsm.streams.getMessage(streamName(ref), { seq: 1 });
    expect(m?.subject).toBe(`${ref.namespace}.${ref.name}._knative`);
    expect(Object.fromEntries([...m!.header].map(([k, v]) => [k, v[0]]))).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'wire-1',
      'ce-source': '/behaviour',
      'ce-type': 'behaviour.test',
      'ce-datacontenttype': 'application/json',
      'ce-subject': 'café ☕',
      'ce-traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'kn-http-x-request-id': 'r1',
      'Nats-Msg-Id': 'wire-1',
    });
    expect(Buffer.from(m!.data).toString()).toBe('{"id":"wire-1"}');
  });

  it('reads the headers of messages other clients wrote as nats.js reads them: any case, trimmed, first value', async () => {
    const backend = open();
    const ref = channel();
    await backend.ensureChannel(ref);
    const got: ChannelMessage[] = [];
    await backend.subscribe(ref, { id: 'foreign', maxInFlight: 1 }, async (m) => {
      got.push(m);
      return 'ack';
    });
    const { jetstream } = await import('@nats-io/jetstream');
    // nats-core's headers(), re-exported by the Node transport (its type does not resolve here).
    const { headers } = (await import('@nats-io/transport-node')) as unknown as {
      headers(): NonNullable<JetStreamPublishOptions['headers']>;
    };
    const h = headers();
    h.append('CE-SpecVersion', '1.0');
    h.append('Ce-Id', '  foreign-1 ');
    h.append('ce-source', '/other/client');
    h.append('ce-type', 'other.type');
    h.append('ce-type', 'ignored.second.value');
    h.append('ce-subject', ' café  ☕ ');
    h.append('Content-Type', 'text/plain');
    h.append('KN-HTTP-X-Custom', ' a  b ');
    h.append('kn-http-traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    h.append('Other', 'not passed through');
    await jetstream(nc).publish(publishSubject(ref), 'plain text', { headers: h });
    await until(() => got.length === 1, 'the delivery');
    const stored = await jsm.streams.getMessage(streamName(ref), { seq: 1 });
    const expected = parseNatsMessage(stored!.header, stored!.data);
    expect(expected.ok).toBe(true);
    expect(got[0]!.event).toEqual(expected.ok && expected.event);
    expect(got[0]!.event.attributes).toMatchObject({
      id: 'foreign-1',
      type: 'other.type',
      subject: 'café  ☕',
      datacontenttype: 'text/plain',
    });
    expect(got[0]!.headers).toEqual({
      'x-custom': 'a  b',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
  });

  it('stores two appends with one dedupId within the duplicate window once', async () => {
    const backend = open();
    const ref = channel();
    await backend.ensureChannel(ref, { stream: { config: { duplicateWindow: '1m' } } });
    const seen: string[] = [];
    await backend.subscribe(ref, { id: 'dedup', maxInFlight: 10 }, async (m) => {
      seen.push(String(m.event.attributes.id));
      return 'ack';
    });
    expect(await backend.append(ref, event('a'), {}, { dedupId: 'same' })).toEqual({ ok: true });
    expect(await backend.append(ref, event('a-again'), {}, { dedupId: 'same' })).toEqual({ ok: true });
    expect(await backend.append(ref, event('b'), {}, { dedupId: 'other' })).toEqual({ ok: true });
    await until(() => seen.length >= 2, 'two deliveries');
    await sleep(300);
    expect((await jsm.streams.info(streamName(ref))).state.messages).toBe(2);
    expect(seen.sort()).toEqual(['a', 'b']);
  });

  it('keeps a handler that runs 3× AckWait from redelivery with in-progress acks, and acks it once', async () => {
    const backend = open({ ackWaitMs: 1000 });
    const ref = channel();
    await backend.ensureChannel(ref);
    const calls: number[] = [];
    let done = false;
    await backend.subscribe(ref, { id: 'slow', maxInFlight: 2 }, async (m) => {
      calls.push(m.redeliveries);
      await sleep(3000);
      done = true;
      return 'ack';
    });
    await backend.append(ref, event('slow-1'), {});
    await until(() => done, 'the slow handler', 10_000);
    await sleep(1500); // past another AckWait: a missed ack would redeliver now
    expect(calls).toEqual([0]);
    const info = await jsm.consumers.info(streamName(ref), consumerName('slow'));
    expect(info.config.ack_wait).toBe(1e9);
    expect(info).toMatchObject({ num_ack_pending: 0, num_redelivered: 0, num_pending: 0 });
    expect(info.ack_floor.stream_seq).toBe(1);
  });

  it('terminates a stored message that is not a CloudEvent, reports it, and goes on with the next', async () => {
    const malformed: MalformedJetStreamMessage[] = [];
    const backend = open({ onMalformedMessage: (r) => malformed.push(r) });
    const ref = channel();
    await backend.ensureChannel(ref);
    const discarded: [ChannelMessage[], string][] = [];
    const seen: string[] = [];
    await backend.subscribe(
      ref,
      { id: 'malformed', maxInFlight: 1, onDiscard: (m, reason) => discarded.push([[...m], reason]) },
      async (m) => {
        seen.push(String(m.event.attributes.id));
        return 'ack';
      },
    );
    const { jetstream } = await import('@nats-io/jetstream');
    await jetstream(nc).publish(publishSubject(ref), 'not an event');
    await backend.append(ref, event('after'), {});
    await until(() => seen.includes('after'), 'the event after the malformed one', 10_000);
    expect(malformed).toEqual([
      expect.objectContaining({
        channel: ref,
        subscription: 'malformed',
        stream: streamName(ref),
        sequence: 1,
        reason: expect.stringMatching(/not a CloudEvent/),
      }),
    ]);
    expect(discarded).toHaveLength(1);
    expect(discarded[0]![1]).toBe(MALFORMED_MESSAGE);
    expect(discarded[0]![0][0]!.event.attributes.type).toBe(MALFORMED_EVENT_TYPE);
    expect(Buffer.from(discarded[0]![0][0]!.event.data!).toString()).toBe('not an event');
    await sleep(300);
    const info = await jsm.consumers.info(streamName(ref), consumerName('malformed'));
    expect(info).toMatchObject({ num_ack_pending: 0, num_redelivered: 0 });
  });

  it("'nack' redelivers after the initial delay doubling per delivery; redeliveries is JetStream's count − 1", async () => {
    const backend = open({ nackDelayMs: 200 });
    const ref = channel();
    await backend.ensureChannel(ref);
    const at: [number, number][] = [];
    await backend.subscribe(ref, { id: 'backoff', maxInFlight: 1 }, async (m) => {
      at.push([m.redeliveries, Date.now()]);
      return m.redeliveries < 2 ? 'nack' : 'ack';
    });
    await backend.append(ref, event('b'), {});
    await until(() => at.length >= 3, 'two redeliveries');
    expect(at.map(([r]) => r)).toEqual([0, 1, 2]);
    const first = at[1]![1] - at[0]![1];
    const second = at[2]![1] - at[1]![1];
    expect(first).toBeGreaterThanOrEqual(180);
    expect(second).toBeGreaterThanOrEqual(380);
    expect(first).toBeLessThan(second);
  });

  it('refuses an append to a channel without a stream with 503 and a reason', async () => {
    const backend = open({ publishTimeoutMs: 1000 });
    const result = await backend.append({ namespace: 'behaviour', name: 'missing' }, event('x'), {});
    expect(result).toMatchObject({ ok: false, status: 503, retryAfterSeconds: 1 });
    expect(!result.ok && result.reason).toMatch(/behaviour\.missing\._knative/);
  });

  it('bounds the appends awaiting acknowledgement: beyond maxPendingPublishes, 503 at once', async () => {
    const backend = open({ maxPendingPublishes: 4 });
    const ref = channel();
    await backend.ensureChannel(ref);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => backend.append(ref, event(`p${i}`), {})),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(4);
    expect(results.filter((r) => !r.ok && r.status === 503 && /await JetStream/.test(r.reason))).toHaveLength(
      6,
    );
  });

  it('ensureChannel creates, keeps, updates the stream; refuses an impossible change with the server reason', async () => {
    const backend = open();
    const ref = channel();
    await backend.ensureChannel(ref, { stream: { config: { maxMsgs: 100 } } });
    await backend.ensureChannel(ref, { stream: { config: { maxMsgs: 100 } } });
    expect((await jsm.streams.info(streamName(ref))).config.max_msgs).toBe(100);
    await backend.ensureChannel(ref, {
      stream: { config: { maxMsgs: 200, additionalSubjects: ['extra.one'] } },
    });
    const info = await jsm.streams.info(streamName(ref));
    expect(info.config.max_msgs).toBe(200);
    expect(info.config.subjects).toEqual([publishSubject(ref), 'extra.one']);
    await backend.ensureChannel(ref); // no stream settings: the stream stays as it is
    expect((await jsm.streams.info(streamName(ref))).config.max_msgs).toBe(200);
    await backend.ensureChannel(ref, { stream: {} }); // settings removed: back to the defaults
    const reverted = await jsm.streams.info(streamName(ref));
    expect(reverted.config).toMatchObject({ max_msgs: -1, subjects: [publishSubject(ref)] });
    await expect(backend.ensureChannel(ref, { stream: { config: { storage: 'Memory' } } })).rejects.toThrow(
      new RegExp(`cannot change storage of JetStream stream ${streamName(ref)}: .*storage type`),
    );
  });

  it('binds an overridden stream name and takes the consumer template', async () => {
    const backend = open();
    const ref = channel();
    const stream = `OVERRIDE_${n}`;
    await backend.ensureChannel(ref, {
      stream: { overrideName: stream },
      consumerConfigTemplate: { ackWait: '7s', maxAckPending: 50 },
    });
    const seen: string[] = [];
    await backend.subscribe(ref, { id: 'tmpl', maxInFlight: 5 }, async (m) => {
      seen.push(String(m.event.attributes.id));
      return 'ack';
    });
    await backend.append(ref, event('o'), {});
    await until(() => seen.length === 1, 'the event');
    const info = await jsm.consumers.info(stream, consumerName('tmpl'));
    expect(info.config).toMatchObject({ ack_wait: 7e9, max_ack_pending: 50, deliver_policy: 'new' });
  });

  it('close(shutdown) waits for in-flight handlers and keeps a nacked message for the next start', async () => {
    const backend = open();
    const ref = channel();
    await backend.ensureChannel(ref);
    const discarded: string[] = [];
    let release!: () => void;
    const started = new Promise<void>((resolve) => {
      release = resolve;
    });
    let finished = false;
    const first = await backend.subscribe(
      ref,
      { id: 'kept', maxInFlight: 1, onDiscard: (_m, reason) => discarded.push(reason) },
      async () => {
        release();
        await sleep(300);
        finished = true;
        return 'nack'; // what the dispatcher answers for a delivery cut by shutdown
      },
    );
    await backend.append(ref, event('k'), {});
    await started;
    await first.close('shutdown');
    expect(finished).toBe(true);
    const again: number[] = [];
    await backend.subscribe(ref, { id: 'kept', maxInFlight: 1 }, async (m) => {
      again.push(m.redeliveries);
      return 'ack';
    });
    await until(() => again.length === 1, 'the kept message');
    expect(again[0]).toBeGreaterThanOrEqual(1);
    expect(discarded).toEqual([]);
  });

  it('a consumer closed for another reason reports what is nacked after the close; deleteSubscription removes the consumer', async () => {
    const backend = open();
    const ref = channel();
    await backend.ensureChannel(ref);
    const discarded: [number, string][] = [];
    let release!: () => void;
    const started = new Promise<void>((resolve) => {
      release = resolve;
    });
    const consumer = await backend.subscribe(
      ref,
      {
        id: 'gone',
        maxInFlight: 1,
        onDiscard: (m, reason) => m.forEach((x) => discarded.push([x.redeliveries, reason])),
      },
      async () => {
        release();
        await sleep(200);
        return 'nack';
      },
    );
    await backend.append(ref, event('g'), {});
    await started;
    await consumer.close('subscription_deleted');
    expect(discarded).toEqual([[1, 'subscription_deleted']]);
    await backend.deleteSubscription(ref, 'gone');
    await expect(jsm.consumers.info(streamName(ref), consumerName('gone'))).rejects.toThrow(
      /consumer not found/,
    );
    await backend.deleteSubscription(ref, 'gone'); // nothing left to delete: fine
    await backend.deleteChannel(ref);
    await expect(jsm.streams.info(streamName(ref))).rejects.toThrow(/stream not found/);
  });

  it('drain() resolves once every consumer has settled what it was handed', async () => {
    const backend = open();
    const ref = channel();
    await backend.ensureChannel(ref);
    let acked = 0;
    await backend.subscribe(ref, { id: 'drain', maxInFlight: 4 }, async () => {
      await sleep(20);
      acked++;
      return 'ack';
    });
    for (let i = 0; i < 20; i++) await backend.append(ref, event(`d${i}`), {});
    await backend.drain();
    expect(acked).toBe(20);
  });
});
