// The NATS binding against the official Go SDK's JetStream binding (protocol/nats_jetstream/v2 v2.16.2),
// both directions, messages in memory (no server): what its WriteMsg fills, parseNatsMessage reads
// intact; what toNatsMessage writes, its NewMessage + binding.ToEvent read intact; in binary and
// structured mode.
import {
  type GoNatsMsg,
  type GoNatsRead,
  type GoNatsWritten,
  goNatsRead,
  goNatsWrite,
  goSdkBinary,
} from '@eventing/testing';
import { type AttributeValue, type CloudEvent } from './event';
import { toStructured } from './http';
import { parseNatsMessage, toNatsMessage } from './nats';

const VALUES = ['café ☕', '"quoted"', '50% off', 'ext value 1', '100%41'];
const DATA: Record<string, { datacontenttype: string; data: Buffer; json?: boolean }> = {
  text: { datacontenttype: 'text/plain; charset=utf-8', data: Buffer.from('hello ☕') },
  json: { datacontenttype: 'application/json', data: Buffer.from('{"k": [1, 2.0], "s": "☕"}'), json: true },
  binary: { datacontenttype: 'application/octet-stream', data: Buffer.from([0, 1, 2, 0xfe, 0xff]) },
};
type Mode = 'binary' | 'structured';

let seq = 0;
function eventWith(value: string, kind: string): CloudEvent {
  const d = DATA[kind]!;
  return {
    attributes: {
      specversion: '1.0',
      id: `nats-${++seq}`,
      source: '/interop/nats',
      type: 'dev.interop.values',
      time: '2024-05-06T07:08:09.123Z',
      subject: value,
      datacontenttype: d.datacontenttype,
      myext: value,
      otherext: `a ${value} b`,
      count: 42,
      negative: -7,
      flag: true,
      off: false,
    },
    data: d.data,
  };
}

const CASES: Array<[string, string]> = VALUES.flatMap((v) =>
  Object.keys(DATA).map((k): [string, string] => [v, k]),
);
const EVENTS = CASES.map(([v, k]) => eventWith(v, k));
const isJson = (i: number) => DATA[CASES[i]![1]]!.json === true;

const CONTEXT = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'schemaurl',
];
const asStrings = (a: Record<string, AttributeValue>) =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, String(v)]));
const split = (a: Record<string, AttributeValue>, typed: boolean) => {
  const attributes: Record<string, string> = {};
  const extensions: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(a)) {
    if (CONTEXT.includes(k)) attributes[k] = String(v);
    else extensions[k] = typed ? v : String(v);
  }
  return { attributes, extensions };
};

const written = (w: GoNatsWritten) => {
  if ('error' in w) throw new Error(w.error);
  return w;
};
const readOk = (r: GoNatsRead) => {
  if (!r.ok) throw new Error(r.error);
  return r;
};
const ours = (m: GoNatsMsg) => parseNatsMessage(m.headers, m.data);
const sameJson = (a: Buffer | undefined, b: Buffer | undefined) =>
  expect(JSON.parse(a!.toString())).toEqual(JSON.parse(b!.toString()));

describe('NATS binding and the Go SDK (sdk-go protocol/nats_jetstream/v2 v2.16.2)', () => {
  let fromGo: GoNatsWritten[];

  beforeAll(async () => {
    await goSdkBinary(); // the first build downloads Go modules
    // The SDK reads each event from the JSON format, as a Go producer's event would be built.
    fromGo = await goNatsWrite(EVENTS.map((e) => toStructured(e).body!));
  }, 600_000);

  describe('what the SDK writes, parseNatsMessage reads intact', () => {
    it.each(CASES.map(([v, k], i) => [v, k, i] as const))('%j with %s data, binary mode', (_v, _k, i) => {
      const event = EVENTS[i]!;
      const msg = written(fromGo[i]!).binary;
      const r = ours(msg);
      if (!r.ok) throw new Error(r.reason);
      expect(r.event.attributes).toEqual(asStrings(event.attributes));
      expect(r.event.data).toEqual(event.data);
      // The headers we write, name for name and value for value: ce-datacontenttype, no content-type.
      expect(msg.headers).toEqual(
        Object.fromEntries(Object.entries(toNatsMessage(event).headers).map(([k, v]) => [k, [v]])),
      );
    });

    it.each(CASES.map(([v, k], i) => [v, k, i] as const))('%j with %s data, structured mode', (_v, _k, i) => {
      const event = EVENTS[i]!;
      const msg = written(fromGo[i]!).structured;
      expect(msg.headers).toBeNull(); // no content-type: the SDK sets no header in structured mode
      const r = ours(msg);
      if (!r.ok) throw new Error(r.reason);
      expect(r.event.attributes).toEqual(event.attributes);
      // The SDK re-serialises JSON data compactly: same JSON, other bytes.
      if (isJson(i)) sameJson(r.event.data, event.data);
      else expect(r.event.data).toEqual(event.data);
    });
  });

  describe('what toNatsMessage writes, the SDK reads intact', () => {
    it.each<Mode>(['binary', 'structured'])('in %s mode', async (mode) => {
      const results = await goNatsRead(EVENTS.map((e) => toNatsMessage(e, mode)));
      results.forEach((r, i) => {
        const event = EVENTS[i]!;
        const read = readOk(r);
        expect(read.encoding).toBe(mode);
        const { attributes, extensions } = split(event.attributes, mode === 'structured');
        expect(read.event.attributes).toEqual(attributes);
        expect(read.event.extensions).toEqual(extensions);
        expect(read.event.data).toEqual(event.data);
      });
    });
  });

  describe('where the SDK differs', () => {
    const base = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' };

    it('a repeated header: both take the first value', async () => {
      const headers = { ...base, 'ce-myext': ['first', 'second'] };
      const [go] = await goNatsRead([{ headers }]);
      expect(readOk(go!).event.extensions).toEqual({ myext: 'first' });
      const r = parseNatsMessage(headers, undefined);
      expect(r.ok && r.event.attributes.myext).toBe('first');
    });

    it('header names: the SDK matches the ce- prefix case-sensitively, we in any case', async () => {
      const headers = { ...base, 'Ce-Myext': 'x', 'ce-OTHER': 'y' };
      const [go] = await goNatsRead([{ headers }]);
      expect(readOk(go!).event.extensions).toEqual({ other: 'y' });
      const r = parseNatsMessage(headers, undefined);
      expect(r.ok && r.event.attributes).toMatchObject({ myext: 'x', other: 'y' });
    });

    it('a Ce-Specversion header: the SDK takes the message as structured and fails, we read it as binary', async () => {
      const headers = { 'Ce-Specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' };
      const [go] = await goNatsRead([{ headers }]);
      expect(go).toMatchObject({ ok: false, encoding: 'structured' });
      expect(parseNatsMessage(headers, undefined).ok).toBe(true);
    });

    it('time: binary mode keeps the offset and drops trailing zeros, structured mode turns it to UTC; both read', async () => {
      const event: CloudEvent = {
        attributes: {
          specversion: '1.0',
          id: '1',
          source: '/s',
          type: 't',
          time: '2024-05-06T09:08:09.120+02:00',
        },
        data: undefined,
      };
      const [w] = await goNatsWrite([toStructured(event).body!]);
      const { binary, structured } = written(w!);
      expect(binary.headers!['ce-time']).toEqual(['2024-05-06T09:08:09.12+02:00']);
      expect(JSON.parse(structured.data.toString()).time).toBe('2024-05-06T07:08:09.12Z');
      expect(ours(binary)).toMatchObject({
        ok: true,
        event: { attributes: { time: '2024-05-06T09:08:09.12+02:00' } },
      });
      expect(ours(structured)).toMatchObject({
        ok: true,
        event: { attributes: { time: '2024-05-06T07:08:09.12Z' } },
      });
    });

    it('an event without data: an empty payload from both, read as no data', async () => {
      const event: CloudEvent = {
        attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' },
        data: undefined,
      };
      const [w] = await goNatsWrite([toStructured(event).body!]);
      const go = written(w!).binary;
      expect(go.data).toHaveLength(0);
      expect(toNatsMessage(event).data).toHaveLength(0);
      expect(ours(go)).toEqual({ ok: true, event });
    });

    it('content-type alone (no ce-datacontenttype) is read as datacontenttype by both', async () => {
      const headers = { ...base, 'content-type': 'text/plain' };
      const [go] = await goNatsRead([{ headers, data: Buffer.from('x') }]);
      expect(readOk(go!).event.attributes.datacontenttype).toBe('text/plain');
      const r = parseNatsMessage(headers, Buffer.from('x'));
      expect(r.ok && r.event.attributes.datacontenttype).toBe('text/plain');
    });

    it('0.3 events travel both ways in both modes', async () => {
      const event: CloudEvent = {
        attributes: {
          specversion: '0.3',
          id: '1',
          source: '/s',
          type: 't',
          schemaurl: 'http://example.com/s',
        },
        data: Buffer.from('{"v":3}'),
      };
      const [w] = await goNatsWrite([toStructured(event).body!]);
      for (const mode of ['binary', 'structured'] as const)
        expect(ours(written(w!)[mode])).toEqual({ ok: true, event });
      const go = await goNatsRead([toNatsMessage(event), toNatsMessage(event, 'structured')]);
      for (const r of go)
        expect(readOk(r).event).toEqual({ attributes: event.attributes, extensions: {}, data: event.data });
    });
  });
});
