// W3C trace context on JetStream messages as the CloudEvents distributed-tracing extension
// (`ce-traceparent`/`ce-tracestate`, as the NATS binding writes attributes), on a real nats-server.
import type { CloudEvent } from '@eventing/cloudevents';
import { withNats } from '@eventing/testing';
import {
  jetstream,
  jetstreamManager,
  type JetStreamManager,
  type JetStreamPublishOptions,
} from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { ChannelMessage, ChannelRef } from '../backend';
import { JetStreamChannelBackend } from './jetstream-backend';
import { publishSubject, streamName } from './naming';

jest.setTimeout(30_000);

const nats = withNats();
let n = 0;
const channel = (): ChannelRef => ({ namespace: 'trace', name: `c${n++}` });
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TS = 'congo=t61rcWkgMzE';

const event = (id: string, extra: Record<string, string> = {}): CloudEvent => ({
  attributes: { specversion: '1.0', id, source: '/trace', type: 'trace.test', ...extra },
  data: Buffer.from(`data of ${id}`),
});

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let nc: Awaited<ReturnType<typeof connect>>;
let jsm: JetStreamManager;
let backend: JetStreamChannelBackend;
beforeAll(async () => {
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
});
afterAll(() => nc?.close());
beforeEach(() => {
  backend = new JetStreamChannelBackend({ servers: [nats.url], nackDelayMs: 100 });
});
afterEach(() => backend.close());

async function subscribe(ref: ChannelRef): Promise<ChannelMessage[]> {
  await backend.ensureChannel(ref);
  const got: ChannelMessage[] = [];
  await backend.subscribe(ref, { id: 's', maxInFlight: 5 }, async (m) => {
    got.push(m);
    return 'ack';
  });
  return got;
}

async function stored(ref: ChannelRef, seq: number): Promise<Record<string, string>> {
  const m = await jsm.streams.getMessage(streamName(ref), { seq });
  return Object.fromEntries([...m!.header].map(([k, v]) => [k, v[0]!]));
}

describe('JetStream messages: trace context as the distributed-tracing extension', () => {
  it('writes traceparent/tracestate HTTP headers as ce-traceparent/ce-tracestate and hands them back as HTTP headers', async () => {
    const ref = channel();
    const got = await subscribe(ref);
    const headers = { traceparent: TP, tracestate: TS, 'x-request-id': 'r1' };
    expect(await backend.append(ref, event('t1'), headers)).toEqual({ ok: true });
    expect(await backend.append(ref, event('t2'), { 'x-request-id': 'r2' })).toEqual({ ok: true });
    await until(() => got.length === 2, 'two events');
    const byId = new Map(got.map((m) => [String(m.event.attributes.id), m]));
    expect(byId.get('t1')!.event).toEqual(event('t1'));
    expect(byId.get('t1')!.headers).toEqual(headers);
    expect(byId.get('t2')!.headers).toEqual({ 'x-request-id': 'r2' });
    const first = await stored(ref, 1);
    expect(first['ce-traceparent']).toBe(TP);
    expect(first['ce-tracestate']).toBe(TS);
    expect(
      Object.keys(first)
        .filter((k) => k.includes('trace'))
        .sort(),
    ).toEqual(['ce-traceparent', 'ce-tracestate']);
    expect(Object.keys(await stored(ref, 2)).filter((k) => k.includes('trace'))).toEqual([]);
  });

  it('delivers the ce-traceparent of a message another client wrote as the traceparent HTTP header', async () => {
    const ref = channel();
    const got = await subscribe(ref);
    const { headers } = (await import('@nats-io/transport-node')) as unknown as {
      headers(): NonNullable<JetStreamPublishOptions['headers']>;
    };
    const h = headers();
    h.append('ce-specversion', '1.0');
    h.append('ce-id', 'u1');
    h.append('ce-source', '/other');
    h.append('ce-type', 'other.test');
    h.append('ce-traceparent', TP);
    await jetstream(nc).publish(publishSubject(ref), 'x', { headers: h });
    await until(() => got.length === 1, 'the message');
    expect(got[0]!.headers).toEqual({ traceparent: TP });
    expect(got[0]!.event.attributes).toEqual({
      specversion: '1.0',
      id: 'u1',
      source: '/other',
      type: 'other.test',
    });
  });

  it('keeps an event’s own traceparent extension as an attribute, and the HTTP header as passthrough', async () => {
    const ref = channel();
    const got = await subscribe(ref);
    const own = '00-11111111111111111111111111111111-2222222222222222-00';
    await backend.append(ref, event('o1', { traceparent: own }), { traceparent: TP });
    await until(() => got.length === 1, 'the event');
    expect(got[0]!.event).toEqual(event('o1', { traceparent: own }));
    expect(got[0]!.headers).toEqual({ traceparent: TP });
    const m = await stored(ref, 1);
    expect(m['ce-traceparent']).toBe(own);
    expect(m['kn-http-traceparent']).toBe(TP);
    expect(m['kne-trace-ext']).toBe('1');
  });
});
