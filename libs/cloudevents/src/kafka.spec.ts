import { type CloudEvent } from './event';
import { type KafkaHeaders, parseKafkaRecord, toKafkaRecord } from './kafka';

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));
const text = (h: Record<string, Buffer>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.toString()]));

const REQUIRED = { ce_specversion: b('1.0'), ce_id: b('1'), ce_source: b('/s'), ce_type: b('t') };
const EVENT: CloudEvent = {
  attributes: {
    specversion: '1.0',
    id: 'k-1',
    source: '/sources/kafka',
    type: 'dev.example',
    subject: 'café ☕ "q" 50%41 ',
    time: '2024-05-06T07:08:09.120Z',
    datacontenttype: 'application/json',
    partitionkey: 'pk ☕',
    count: 42,
    flag: true,
  },
  data: Buffer.from('{"k": [1, 2.0]}'),
};

describe('toKafkaRecord', () => {
  it('binary mode: ce_ headers as raw UTF-8, datacontenttype in content-type, the data buffer as the value, keyed by partitionkey', () => {
    const r = toKafkaRecord(EVENT);
    expect(text(r.headers)).toEqual({
      ce_specversion: '1.0',
      ce_id: 'k-1',
      ce_source: '/sources/kafka',
      ce_type: 'dev.example',
      ce_subject: 'café ☕ "q" 50%41 ',
      ce_time: '2024-05-06T07:08:09.120Z',
      'content-type': 'application/json',
      ce_partitionkey: 'pk ☕',
      ce_count: '42',
      ce_flag: 'true',
    });
    expect(r.headers.ce_subject).toEqual(Buffer.from('café ☕ "q" 50%41 ', 'utf8'));
    expect(r.value).toBe(EVENT.data);
    expect(r.key).toBe('pk ☕');
  });

  it('binary mode without data: a null value (3.2.2), no content-type without datacontenttype, no key without partitionkey', () => {
    const r = toKafkaRecord({
      attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' },
      data: undefined,
    });
    expect(r).toEqual({ value: null, headers: REQUIRED });
    expect('key' in r).toBe(false);
  });

  it('structured mode: only content-type application/cloudevents+json, the JSON event as the value', () => {
    const r = toKafkaRecord(EVENT, 'structured');
    expect(text(r.headers)).toEqual({ 'content-type': 'application/cloudevents+json' });
    expect(JSON.parse(r.value!.toString())).toEqual({
      ...EVENT.attributes,
      data: { k: [1, 2.0] },
    });
    expect(r.value!.toString()).toContain('"data":{"k": [1, 2.0]}');
    expect(r.key).toBe('pk ☕');
  });

  it('a numeric partitionkey keys the record by its text', () => {
    const event: CloudEvent = { attributes: { ...EVENT.attributes, partitionkey: 7 }, data: undefined };
    expect(toKafkaRecord(event, 'structured').key).toBe('7');
  });
});

describe('parseKafkaRecord', () => {
  const read = (headers: KafkaHeaders, value: Buffer | null = null) => parseKafkaRecord({ headers, value });

  it.each<[string, KafkaHeaders, Record<string, string>]>([
    [
      'values as they stand: no percent-decoding, spaces and quotes kept',
      { ...REQUIRED, ce_subject: b(' 100%41 "x" '), ce_myext: b('a%20b') },
      { subject: ' 100%41 "x" ', myext: 'a%20b' },
    ],
    ['raw UTF-8', { ...REQUIRED, ce_subject: b('café ☕') }, { subject: 'café ☕' }],
    [
      'header names in any case',
      { CE_SPECVERSION: b('1.0'), Ce_Id: b('1'), ce_SOURCE: b('/s'), ce_type: b('t'), CE_MYEXT: b('x') },
      { myext: 'x' },
    ],
    [
      'a repeated name (kafkajs gives an array) by its last value',
      { ...REQUIRED, ce_myext: [b('first'), b('last')] },
      { myext: 'last' },
    ],
    [
      'a repeated name in record order (pairs, as @platformatic/kafka) by its last value, across cases',
      [...Object.entries(REQUIRED), ['ce_myext', b('first')], ['CE_MYEXT', b('last')]] as [string, Buffer][],
      { myext: 'last' },
    ],
    [
      'a Map with Buffer names',
      new Map<Buffer, Buffer>([
        ...Object.entries(REQUIRED).map(([k, v]): [Buffer, Buffer] => [b(k), v]),
        [b('ce_x'), b('y')],
      ]),
      { x: 'y' },
    ],
    [
      'a null header value is no value: the earlier one counts',
      { ...REQUIRED, ce_x: [b('y'), null] },
      { x: 'y' },
    ],
    ['string values (records built in-process)', { ...REQUIRED, ce_x: 'text ☕' }, { x: 'text ☕' }],
    [
      'content-type is datacontenttype, over a ce_datacontenttype header',
      { ...REQUIRED, ce_datacontenttype: b('text/plain'), 'content-type': b('application/json') },
      { datacontenttype: 'application/json' },
    ],
    [
      'ce_datacontenttype when there is no content-type',
      { ...REQUIRED, ce_datacontenttype: b('text/plain') },
      { datacontenttype: 'text/plain' },
    ],
    [
      'Content-Type in any case',
      { ...REQUIRED, 'Content-Type': b('text/plain') },
      { datacontenttype: 'text/plain' },
    ],
    ['other headers are not attributes', { ...REQUIRED, traceparent: b('00-x'), 'ce-id': b('no') }, {}],
    ['ce_ alone is not an attribute', { ...REQUIRED, ce_: b('x') }, {}],
  ])('binary mode: %s', (_, headers, expected) => {
    const r = read(headers);
    if (!r.ok) throw new Error(r.reason);
    expect(r.event.attributes).toEqual({ specversion: '1.0', id: '1', source: '/s', type: 't', ...expected });
  });

  it('binary mode: the value is the data, not copied; an empty or null value is no data', () => {
    const value = b('\u0000\u0001');
    const r = read(REQUIRED, value);
    expect(r.ok && r.event.data).toBe(value);
    expect(
      read(REQUIRED, b('')).ok && (read(REQUIRED, b('')) as { event: CloudEvent }).event.data,
    ).toBeUndefined();
    const none = read(REQUIRED, null);
    expect(none.ok && none.event.data).toBeUndefined();
  });

  it('binary mode: a Uint8Array value is viewed, not copied', () => {
    const bytes = new Uint8Array([0, 1, 2, 3]).subarray(1);
    const r = parseKafkaRecord({ headers: REQUIRED, value: bytes });
    expect(r.ok && [...r.event.data!]).toEqual([1, 2, 3]);
    expect(r.ok && r.event.data!.buffer).toBe(bytes.buffer);
  });

  it('structured mode: content-type application/cloudevents+json in any case and with parameters', () => {
    const body = b('{"specversion":"1.0","id":"s","source":"/s","type":"t","n":5,"data":{"k": [1, 2.0]}}');
    for (const ct of ['application/cloudevents+json', 'Application/CloudEvents+JSON; charset=UTF-8']) {
      const r = read({ 'content-type': b(ct), ce_id: b('ignored') }, body);
      if (!r.ok) throw new Error(r.reason);
      expect(r.event.attributes).toEqual({ specversion: '1.0', id: 's', source: '/s', type: 't', n: 5 });
      expect(r.event.data!.toString()).toBe('{"k": [1, 2.0]}');
    }
  });

  it('writes and reads 0.3 as 0.3', () => {
    const event: CloudEvent = {
      attributes: { specversion: '0.3', id: '1', source: '/s', type: 't', schemaurl: 'http://x/s' },
      data: b([0xff, 0, 1]), // not UTF-8: 0.3 structured mode needs datacontentencoding
    };
    for (const mode of ['binary', 'structured'] as const) {
      const r = parseKafkaRecord(toKafkaRecord(event, mode));
      expect(r.ok && r.event.attributes).toEqual(
        mode === 'binary' ? event.attributes : { ...event.attributes, datacontentencoding: 'base64' },
      );
      expect(r.ok && r.event.data).toEqual(event.data);
    }
  });

  it.each<[string, KafkaHeaders, Buffer | null, string | undefined, string]>([
    ['no ce_specversion', { ce_id: b('1') }, null, 'specversion', 'ce_specversion'],
    ['nothing at all', {}, b('{}'), 'specversion', 'specversion'],
    ['a bad specversion', { ...REQUIRED, ce_specversion: b('9.9') }, null, 'specversion', '9.9'],
    [
      'a missing id',
      { ce_specversion: b('1.0'), ce_source: b('/s'), ce_type: b('t') },
      null,
      'id',
      'required',
    ],
    ['a bad time', { ...REQUIRED, ce_time: b('yesterday') }, null, 'time', 'RFC 3339'],
    ['a value that is not UTF-8', { ...REQUIRED, ce_subject: b([0x63, 0xe9]) }, null, 'subject', 'UTF-8'],
    [
      'a content-type that is not UTF-8',
      { ...REQUIRED, 'content-type': b([0xff]) },
      null,
      'datacontenttype',
      'UTF-8',
    ],
    ['an invalid attribute name', { ...REQUIRED, 'ce_my-ext': b('x') }, null, 'my-ext', 'invalid name'],
    ['a control character', { ...REQUIRED, ce_myext: b('a\nb') }, null, 'myext', 'control character'],
    ['a batch', { 'content-type': b('application/cloudevents-batch+json') }, b('[]'), undefined, 'batch'],
    [
      'another format',
      { 'content-type': b('application/cloudevents+avro') },
      b('x'),
      undefined,
      'unsupported event format',
    ],
    [
      'an empty structured value',
      { 'content-type': b('application/cloudevents+json') },
      null,
      undefined,
      'empty',
    ],
    [
      'structured JSON data that is not JSON (as the Java SDK writes JSON-typed bytes that are not JSON)',
      { 'content-type': b('application/cloudevents+json') },
      b('{"specversion":"1.0","id":"1","source":"/s","type":"t","data":not json}'),
      'data',
      'data',
    ],
  ])('refuses %s', (_, headers, value, attribute, words) => {
    const r = read(headers, value);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.attribute).toBe(attribute);
      expect(r.reason).toContain(words);
    }
  });
});
