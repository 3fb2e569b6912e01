// The Kafka binding against the official Java SDK's (io.cloudevents:cloudevents-kafka 4.0.1, what upstream
// Knative's Kafka broker, sink and channel use), both directions, records in memory (no broker): what
// its CloudEventSerializer writes, parseKafkaRecord reads intact; what toKafkaRecord writes, its
// CloudEventDeserializer reads intact; in binary and structured mode.
import {
  type JavaKafkaRead,
  type JavaKafkaRecord,
  type JavaKafkaWritten,
  type JavaSdkEvent,
  javaKafkaRead,
  javaKafkaWrite,
  javaSdkKafkaJar,
} from '@eventing/testing';
import { type CloudEvent } from './event';
import { parseKafkaRecord, toKafkaRecord } from './kafka';
import {
  MESSAGE_VALUES,
  attributeStrings,
  interopCases,
  minimalWith,
  sdkAttributes,
  MINIMAL_EVENT,
  V03_EVENT,
} from './testing/interop-events';

type Mode = 'binary' | 'structured';

// Kafka header values are bytes: surrounding spaces travel too. Every event has a partition key.
const CASES = interopCases('kafka', [...MESSAGE_VALUES, ' padded '], (value) => ({
  partitionkey: `key ${value}`,
}));
const EVENTS = CASES.map((c) => c.event);
const TITLES = CASES.map((c, i) => [c.value, c.kind, i] as const);

/** The event as the Java SDK takes it: attributes as text, extensions typed. */
function javaEvent(event: CloudEvent): JavaSdkEvent {
  return {
    ...sdkAttributes(event.attributes, true),
    ...(event.data !== undefined ? { data: event.data } : {}),
  };
}

const written = (w: JavaKafkaWritten) => {
  if ('error' in w) throw new Error(w.error);
  return w;
};
const readOk = (r: JavaKafkaRead) => {
  if (!r.ok) throw new Error(r.error);
  return r.event;
};
const ours = (r: JavaKafkaRecord) => parseKafkaRecord({ headers: r.headers, value: r.value });

describe('Kafka binding and the Java SDK (cloudevents-kafka 4.0.1)', () => {
  let fromJava: JavaKafkaWritten[];

  beforeAll(async () => {
    await javaSdkKafkaJar(); // the first build downloads Maven artifacts
    fromJava = await javaKafkaWrite(EVENTS.map(javaEvent));
  }, 600_000);

  describe('what the SDK writes, parseKafkaRecord reads intact', () => {
    it.each(TITLES)('%j with %s data, binary mode', (_v, _k, i) => {
      const event = EVENTS[i]!;
      const record = written(fromJava[i]!).binary;
      const r = ours(record);
      if (!r.ok) throw new Error(r.reason);
      expect(r.event.attributes).toEqual(attributeStrings(event.attributes));
      expect(r.event.data).toEqual(event.data);
      expect(record.key).toBe(`key ${event.attributes.subject}`);
      // Byte for byte the headers we write, and the same key.
      const mine = toKafkaRecord(event);
      expect(Object.fromEntries(record.headers)).toEqual(mine.headers);
      expect(record.headers).toHaveLength(Object.keys(mine.headers).length);
      expect(record.key).toBe(mine.key);
    });

    it.each(TITLES)('%j with %s data, structured mode', (_v, _k, i) => {
      const event = EVENTS[i]!;
      const record = written(fromJava[i]!).structured;
      expect(record.headers).toEqual([['content-type', Buffer.from('application/cloudevents+json')]]);
      const r = ours(record);
      if (!r.ok) throw new Error(r.reason);
      expect(r.event.attributes).toEqual(event.attributes);
      expect(r.event.data).toEqual(event.data);
      expect(record.key).toBe(toKafkaRecord(event, 'structured').key);
    });
  });

  describe('what toKafkaRecord writes, the SDK reads intact', () => {
    const readBack = (mode: Mode) => javaKafkaRead(EVENTS.map((e) => toKafkaRecord(e, mode)));

    it.each<Mode>(['binary', 'structured'])('in %s mode', async (mode) => {
      const results = await readBack(mode);
      results.forEach((r, i) => {
        const event = EVENTS[i]!;
        const read = readOk(r);
        const { attributes, extensions } = sdkAttributes(event.attributes, mode === 'structured');
        expect(read.attributes).toEqual(attributes);
        expect(read.extensions).toEqual(extensions);
        if (mode === 'structured' && CASES[i]!.json) {
          // Jackson holds JSON data as a tree and re-serialises it: same JSON, other bytes.
          expect(read.dataClass).toBe('JsonCloudEventData');
          expect(JSON.parse(read.data!.toString())).toEqual(JSON.parse(event.data!.toString()));
        } else {
          expect(read.data).toEqual(event.data);
        }
      });
    });
  });

  describe('where the SDK differs', () => {
    const base: Array<[string, Buffer]> = [
      ['ce_specversion', Buffer.from('1.0')],
      ['ce_id', Buffer.from('1')],
      ['ce_source', Buffer.from('/s')],
      ['ce_type', Buffer.from('t')],
    ];

    it('a repeated header: both take the last value', async () => {
      const headers: Array<[string, Buffer]> = [
        ...base,
        ['ce_myext', Buffer.from('first')],
        ['ce_myext', Buffer.from('last')],
      ];
      const [java] = await javaKafkaRead([{ headers, value: null }]);
      expect(readOk(java!).extensions).toEqual({ myext: 'last' });
      const r = parseKafkaRecord({ headers });
      expect(r.ok && r.event.attributes.myext).toBe('last');
    });

    it('a ce_ prefix in upper case: the SDK skips the header, we read it', async () => {
      const headers: Array<[string, Buffer]> = [...base, ['CE_MYEXT', Buffer.from('x')]];
      const [java] = await javaKafkaRead([{ headers, value: null }]);
      expect(readOk(java!).extensions).toEqual({});
      const r = parseKafkaRecord({ headers });
      expect(r.ok && r.event.attributes.myext).toBe('x');
    });

    it('header bytes that are not UTF-8: the SDK substitutes U+FFFD, we refuse naming the attribute', async () => {
      const headers: Array<[string, Buffer]> = [
        ...base,
        ['ce_subject', Buffer.from([0x63, 0x61, 0x66, 0xe9])],
      ];
      const [java] = await javaKafkaRead([{ headers, value: null }]);
      expect(readOk(java!).attributes.subject).toBe('caf\ufffd');
      expect(parseKafkaRecord({ headers })).toMatchObject({ ok: false, attribute: 'subject' });
    });

    it('time: the SDK re-formats it (.120Z becomes .12Z), we keep the text', async () => {
      const event = minimalWith({ time: '2024-05-06T07:08:09.120Z' });
      const [w] = await javaKafkaWrite([javaEvent(event)]);
      const java = written(w!).binary;
      expect(Object.fromEntries(java.headers).ce_time!.toString()).toBe('2024-05-06T07:08:09.12Z');
      const r = parseKafkaRecord(toKafkaRecord(event));
      expect(r.ok && r.event.attributes.time).toBe('2024-05-06T07:08:09.120Z');
    });

    it('an event without data: a null value in binary mode from both', async () => {
      const event = MINIMAL_EVENT;
      const [w] = await javaKafkaWrite([javaEvent(event)]);
      expect(written(w!).binary.value).toBeNull();
      expect(toKafkaRecord(event).value).toBeNull();
      expect(ours(written(w!).binary)).toEqual({ ok: true, event });
    });

    it('structured mode: data under a +json type with a dot (vnd.example+json) goes as data_base64, and reads back intact', async () => {
      const event = minimalWith({ datacontenttype: 'application/vnd.example+json' }, Buffer.from('{"a": 1}'));
      const [w] = await javaKafkaWrite([javaEvent(event)]);
      const record = written(w!).structured;
      expect(JSON.parse(record.value!.toString()).data_base64).toBe(event.data!.toString('base64'));
      expect(ours(record)).toEqual({ ok: true, event });
    });

    it('structured mode: JSON-typed data that is not JSON is written raw, an invalid record; we refuse it naming data', async () => {
      const event = minimalWith({ datacontenttype: 'application/json' }, Buffer.from('not json'));
      const [w] = await javaKafkaWrite([javaEvent(event)]);
      const record = written(w!).structured;
      expect(record.value!.toString()).toContain('"data":not json}');
      expect(ours(record)).toMatchObject({ ok: false, attribute: 'data' });
      // We write such bytes as data_base64, which the SDK reads back as the same bytes.
      const [java] = await javaKafkaRead([toKafkaRecord(event, 'structured')]);
      expect(readOk(java!).data).toEqual(event.data);
    });

    it('0.3 events travel both ways in both modes', async () => {
      const event = V03_EVENT;
      const [w] = await javaKafkaWrite([javaEvent(event)]);
      for (const mode of ['binary', 'structured'] as const) {
        expect(ours(written(w!)[mode])).toEqual({ ok: true, event });
      }
      const [binary, structured] = await javaKafkaRead([
        toKafkaRecord(event),
        toKafkaRecord(event, 'structured'),
      ]);
      expect(readOk(binary!).attributes).toEqual(event.attributes);
      expect(readOk(structured!).attributes).toEqual({
        ...event.attributes,
        datacontenttype: 'application/json',
      });
    });

    it('structured mode: JSON data without datacontenttype, the SDK reads datacontenttype application/json into the event', async () => {
      const event = minimalWith({}, Buffer.from('{"v":1}'));
      const [structured] = await javaKafkaRead([toKafkaRecord(event, 'structured')]);
      expect(readOk(structured!).attributes).toEqual({
        ...event.attributes,
        datacontenttype: 'application/json',
      });
      const [w] = await javaKafkaWrite([javaEvent(event)]);
      expect(ours(written(w!).structured)).toEqual({ ok: true, event });
    });
  });
});
