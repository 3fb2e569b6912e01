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
import { type AttributeValue, type CloudEvent } from './event';
import { parseKafkaRecord, toKafkaRecord } from './kafka';

const VALUES = ['café ☕', '"quoted"', '50% off', 'ext value 1', '100%41', ' padded '];
const DATA: Record<string, { datacontenttype: string; data: Buffer; json?: boolean }> = {
  text: { datacontenttype: 'text/plain; charset=utf-8', data: Buffer.from('hello ☕') },
  json: { datacontenttype: 'application/json', data: Buffer.from('{"k": [1, 2.0], "s": "☕"}'), json: true },
  binary: { datacontenttype: 'application/octet-stream', data: Buffer.from([0, 1, 2, 0xfe, 0xff]) },
};
type Mode = 'binary' | 'structured';

let seq = 0;
/** One event with `value` in the subject and string extensions, typed extensions, and data of `kind`. */
function eventWith(value: string, kind: string): CloudEvent {
  const d = DATA[kind]!;
  return {
    attributes: {
      specversion: '1.0',
      id: `kafka-${++seq}`,
      source: '/interop/kafka',
      type: 'dev.interop.values',
      time: '2024-05-06T07:08:09.123Z',
      subject: value,
      datacontenttype: d.datacontenttype,
      myext: value,
      otherext: `a ${value} b`,
      partitionkey: `key ${value}`,
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

/** The event as the Java SDK takes it: attributes as text, extensions typed. */
function javaEvent(event: CloudEvent): JavaSdkEvent {
  const attributes: Record<string, string> = {};
  const extensions: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(event.attributes)) {
    if (
      [
        'specversion',
        'id',
        'source',
        'type',
        'time',
        'subject',
        'datacontenttype',
        'dataschema',
        'schemaurl',
      ].includes(k)
    )
      attributes[k] = String(v);
    else extensions[k] = v;
  }
  return { attributes, extensions, ...(event.data !== undefined ? { data: event.data } : {}) };
}

const asStrings = (a: Record<string, AttributeValue>) =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, String(v)]));
const split = (a: Record<string, AttributeValue>, typed: boolean) => {
  const attributes: Record<string, string> = {};
  const extensions: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(a)) {
    if (['specversion', 'id', 'source', 'type', 'time', 'subject', 'datacontenttype'].includes(k))
      attributes[k] = String(v);
    else extensions[k] = typed ? v : String(v);
  }
  return { attributes, extensions };
};

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
    it.each(CASES.map(([v, k], i) => [v, k, i] as const))('%j with %s data, binary mode', (_v, _k, i) => {
      const event = EVENTS[i]!;
      const record = written(fromJava[i]!).binary;
      const r = ours(record);
      if (!r.ok) throw new Error(r.reason);
      expect(r.event.attributes).toEqual(asStrings(event.attributes));
      expect(r.event.data).toEqual(event.data);
      expect(record.key).toBe(`key ${event.attributes.subject}`);
      // Byte for byte the headers we write, and the same key.
      const mine = toKafkaRecord(event);
      expect(Object.fromEntries(record.headers)).toEqual(mine.headers);
      expect(record.headers).toHaveLength(Object.keys(mine.headers).length);
      expect(record.key).toBe(mine.key);
    });

    it.each(CASES.map(([v, k], i) => [v, k, i] as const))('%j with %s data, structured mode', (_v, _k, i) => {
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
        const { attributes, extensions } = split(event.attributes, mode === 'structured');
        expect(read.attributes).toEqual(attributes);
        expect(read.extensions).toEqual(extensions);
        if (mode === 'structured' && DATA[CASES[i]![1]]!.json) {
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
      const event: CloudEvent = {
        attributes: {
          specversion: '1.0',
          id: '1',
          source: '/s',
          type: 't',
          time: '2024-05-06T07:08:09.120Z',
        },
        data: undefined,
      };
      const [w] = await javaKafkaWrite([javaEvent(event)]);
      const java = written(w!).binary;
      expect(Object.fromEntries(java.headers).ce_time!.toString()).toBe('2024-05-06T07:08:09.12Z');
      const r = parseKafkaRecord(toKafkaRecord(event));
      expect(r.ok && r.event.attributes.time).toBe('2024-05-06T07:08:09.120Z');
    });

    it('an event without data: a null value in binary mode from both', async () => {
      const event: CloudEvent = {
        attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' },
        data: undefined,
      };
      const [w] = await javaKafkaWrite([javaEvent(event)]);
      expect(written(w!).binary.value).toBeNull();
      expect(toKafkaRecord(event).value).toBeNull();
      expect(ours(written(w!).binary)).toEqual({ ok: true, event });
    });

    it('structured mode: data under a +json type with a dot (vnd.example+json) goes as data_base64, and reads back intact', async () => {
      const event: CloudEvent = {
        attributes: {
          specversion: '1.0',
          id: '1',
          source: '/s',
          type: 't',
          datacontenttype: 'application/vnd.example+json',
        },
        data: Buffer.from('{"a": 1}'),
      };
      const [w] = await javaKafkaWrite([javaEvent(event)]);
      const record = written(w!).structured;
      expect(JSON.parse(record.value!.toString()).data_base64).toBe(event.data!.toString('base64'));
      expect(ours(record)).toEqual({ ok: true, event });
    });

    it('structured mode: JSON-typed data that is not JSON is written raw, an invalid record; we refuse it naming data', async () => {
      const event: CloudEvent = {
        attributes: {
          specversion: '1.0',
          id: '1',
          source: '/s',
          type: 't',
          datacontenttype: 'application/json',
        },
        data: Buffer.from('not json'),
      };
      const [w] = await javaKafkaWrite([javaEvent(event)]);
      const record = written(w!).structured;
      expect(record.value!.toString()).toContain('"data":not json}');
      expect(ours(record)).toMatchObject({ ok: false, attribute: 'data' });
      // We write such bytes as data_base64, which the SDK reads back as the same bytes.
      const [java] = await javaKafkaRead([toKafkaRecord(event, 'structured')]);
      expect(readOk(java!).data).toEqual(event.data);
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
      const event: CloudEvent = {
        attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' },
        data: Buffer.from('{"v":1}'),
      };
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
