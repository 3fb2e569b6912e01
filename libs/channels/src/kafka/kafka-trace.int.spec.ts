// W3C trace context on Kafka records as the CloudEvents distributed-tracing extension
// (`ce_traceparent`/`ce_tracestate`, as upstream's Kafka broker and channel write it), on a real Kafka.
import type { CloudEvent } from '@eventing/cloudevents';
import { withKafka } from '@eventing/testing';
import { type Message, Consumer as RawConsumer, Producer as RawProducer } from '@platformatic/kafka';
import type { ChannelMessage, ChannelRef } from '../backend';
import { KafkaChannelBackend } from './kafka-backend';

jest.setTimeout(60_000);

const kafka = withKafka();
const run = `${process.pid}-${Date.now().toString(36)}`;
let n = 0;
const channel = (): ChannelRef => ({ namespace: 'trace', name: `c-${run}-${n++}` });
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TS = 'congo=t61rcWkgMzE';

const event = (id: string, extra: Record<string, string> = {}): CloudEvent => ({
  attributes: { specversion: '1.0', id, source: '/trace', type: 'trace.test', ...extra },
  data: Buffer.from(`data of ${id}`),
});

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Kafka records: trace context as the distributed-tracing extension', () => {
  let backend: KafkaChannelBackend;
  const extra: { close(): Promise<void> }[] = [];
  beforeEach(() => {
    backend = new KafkaChannelBackend({ bootstrap: [kafka.bootstrap], nackDelayMs: 20 });
  });
  afterEach(async () => {
    await backend.close();
    await Promise.all(extra.splice(0).map((c) => c.close()));
  });

  async function subscribe(ref: ChannelRef): Promise<ChannelMessage[]> {
    await backend.ensureChannel(ref);
    const seen: ChannelMessage[] = [];
    await backend.subscribe(ref, { id: 's', maxInFlight: 5 }, async (m) => {
      seen.push(m);
      return 'ack';
    });
    return seen;
  }

  async function rawHeaders(ref: ChannelRef, count: number): Promise<Map<string, string>[]> {
    const raw = new RawConsumer({
      clientId: 'test',
      groupId: `raw-${run}-${n++}`,
      bootstrapBrokers: [kafka.bootstrap],
    });
    extra.push({ close: () => raw.close(true) });
    const stream = await raw.consume({ topics: [backend.topicOf(ref)], mode: 'earliest', autocommit: false });
    const records = (await stream.take(count).toArray()) as Message[];
    await stream.close();
    return records.map((r) => new Map(r.headerEntries.map(([k, v]) => [k.toString(), v.toString()])));
  }

  it('writes traceparent/tracestate HTTP headers as ce_traceparent/ce_tracestate and hands them back as HTTP headers', async () => {
    const ref = channel();
    const seen = await subscribe(ref);
    const headers = { traceparent: TP, tracestate: TS, 'x-request-id': 'r1' };
    expect(await backend.append(ref, event('t1'), headers)).toEqual({ ok: true });
    expect(await backend.append(ref, event('t2'), { 'x-request-id': 'r2' })).toEqual({ ok: true });
    await until(() => seen.length === 2, 'two events');
    const byId = new Map(seen.map((m) => [String(m.event.attributes.id), m]));
    // Delivered exactly as appended: the trace context as HTTP headers, not as attributes.
    expect(byId.get('t1')!.event.attributes).toEqual(event('t1').attributes);
    expect(byId.get('t1')!.headers).toEqual(headers);
    expect(byId.get('t2')!.headers).toEqual({ 'x-request-id': 'r2' });

    const [first, second] = await rawHeaders(ref, 2);
    expect(first!.get('ce_traceparent')).toBe(TP);
    expect(first!.get('ce_tracestate')).toBe(TS);
    expect(first!.get('kne-h-x-request-id')).toBe('r1');
    expect([...first!.keys()].filter((k) => k.includes('trace')).sort()).toEqual([
      'ce_traceparent',
      'ce_tracestate',
    ]);
    expect([...second!.keys()].filter((k) => k.includes('trace'))).toEqual([]);
  });

  it('delivers the ce_traceparent of an upstream-style record as the traceparent HTTP header', async () => {
    const ref = channel();
    const seen = await subscribe(ref);
    const raw = new RawProducer({ clientId: 'test', bootstrapBrokers: [kafka.bootstrap] });
    extra.push({ close: () => raw.close() });
    const h = (k: string, v: string): [Buffer, Buffer] => [Buffer.from(k), Buffer.from(v)];
    await raw.send({
      messages: [
        {
          topic: backend.topicOf(ref),
          value: Buffer.from('up'),
          headers: new Map([
            h('ce_specversion', '1.0'),
            h('ce_id', 'u1'),
            h('ce_source', '/upstream'),
            h('ce_type', 'up.test'),
            h('ce_traceparent', TP),
            h('content-type', 'text/plain'),
          ]),
        },
      ],
    });
    await until(() => seen.length === 1, 'the upstream record');
    expect(seen[0]!.headers).toEqual({ traceparent: TP });
    expect(seen[0]!.event.attributes).toEqual({
      specversion: '1.0',
      id: 'u1',
      source: '/upstream',
      type: 'up.test',
      datacontenttype: 'text/plain',
    });
  });

  it('keeps an event’s own traceparent extension as an attribute, and the HTTP header as passthrough', async () => {
    const ref = channel();
    const seen = await subscribe(ref);
    const own = '00-11111111111111111111111111111111-2222222222222222-00';
    const headers = { traceparent: TP };
    await backend.append(ref, event('o1', { traceparent: own }), headers);
    await until(() => seen.length === 1, 'the event');
    expect(seen[0]!.event.attributes).toEqual(event('o1', { traceparent: own }).attributes);
    expect(seen[0]!.headers).toEqual(headers);
    const [rec] = await rawHeaders(ref, 1);
    expect(rec!.get('ce_traceparent')).toBe(own);
    expect(rec!.get('kne-h-traceparent')).toBe(TP);
    expect(rec!.get('kne-trace-ext')).toBe('1');
  });
});
