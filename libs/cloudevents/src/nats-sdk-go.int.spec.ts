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
import { toStructured } from './http';
import { parseNatsMessage, toNatsMessage } from './nats';
import {
  MESSAGE_VALUES,
  MINIMAL_EVENT,
  V03_EVENT,
  attributeStrings,
  interopCases,
  minimalWith,
  sdkAttributes,
} from './testing/interop-events';

type Mode = 'binary' | 'structured';

const CASES = interopCases('nats', MESSAGE_VALUES);
const EVENTS = CASES.map((c) => c.event);
const TITLES = CASES.map((c, i) => [c.value, c.kind, i] as const);

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
    it.each(TITLES)('%j with %s data, binary mode', (_v, _k, i) => {
      const event = EVENTS[i]!;
      const msg = written(fromGo[i]!).binary;
      const r = ours(msg);
      if (!r.ok) throw new Error(r.reason);
      expect(r.event.attributes).toEqual(attributeStrings(event.attributes));
      expect(r.event.data).toEqual(event.data);
      // The headers we write, name for name and value for value: ce-datacontenttype, no content-type.
      expect(msg.headers).toEqual(
        Object.fromEntries(Object.entries(toNatsMessage(event).headers).map(([k, v]) => [k, [v]])),
      );
    });

    it.each(TITLES)('%j with %s data, structured mode', (_v, _k, i) => {
      const event = EVENTS[i]!;
      const msg = written(fromGo[i]!).structured;
      expect(msg.headers).toBeNull(); // no content-type: the SDK sets no header in structured mode
      const r = ours(msg);
      if (!r.ok) throw new Error(r.reason);
      expect(r.event.attributes).toEqual(event.attributes);
      // The SDK re-serialises JSON data compactly: same JSON, other bytes.
      if (CASES[i]!.json) sameJson(r.event.data, event.data);
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
        const { attributes, extensions } = sdkAttributes(event.attributes, mode === 'structured');
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
      const event = minimalWith({ time: '2024-05-06T09:08:09.120+02:00' });
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
      const event = MINIMAL_EVENT;
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
      const event = V03_EVENT;
      const [w] = await goNatsWrite([toStructured(event).body!]);
      for (const mode of ['binary', 'structured'] as const)
        expect(ours(written(w!)[mode])).toEqual({ ok: true, event });
      const go = await goNatsRead([toNatsMessage(event), toNatsMessage(event, 'structured')]);
      for (const r of go)
        expect(readOk(r).event).toEqual({ attributes: event.attributes, extensions: {}, data: event.data });
    });
  });
});
