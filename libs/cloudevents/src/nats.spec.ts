import { type CloudEvent } from './event';
import { type NatsHeaders, parseNatsMessage, toNatsMessage } from './nats';

const REQUIRED = { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' };
const EVENT: CloudEvent = {
  attributes: {
    specversion: '1.0',
    id: 'n-1',
    source: '/sources/nats',
    type: 'dev.example',
    subject: 'café ☕ "q" 50%41',
    datacontenttype: 'application/json',
    count: 42,
    flag: false,
  },
  data: Buffer.from('{"k": [1, 2.0]}'),
};

describe('toNatsMessage', () => {
  it('binary mode: ce- headers as the values stand, ce-datacontenttype included, the data buffer as the payload', () => {
    const m = toNatsMessage(EVENT);
    expect(m.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'n-1',
      'ce-source': '/sources/nats',
      'ce-type': 'dev.example',
      'ce-subject': 'café ☕ "q" 50%41',
      'ce-datacontenttype': 'application/json',
      'ce-count': '42',
      'ce-flag': 'false',
    });
    expect(m.data).toBe(EVENT.data);
  });

  it('binary mode without data: an empty payload', () => {
    const m = toNatsMessage({
      attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' },
      data: undefined,
    });
    expect(m).toEqual({ headers: REQUIRED, data: new Uint8Array(0) });
  });

  it('structured mode: content-type application/cloudevents+json, the JSON event as the payload', () => {
    const m = toNatsMessage(EVENT, 'structured');
    expect(m.headers).toEqual({ 'content-type': 'application/cloudevents+json' });
    expect(Buffer.from(m.data).toString()).toContain('"data":{"k": [1, 2.0]}');
  });
});

describe('parseNatsMessage', () => {
  it.each<[string, NatsHeaders, Record<string, string>]>([
    [
      'values as they stand: no percent-decoding, quotes kept',
      { ...REQUIRED, 'ce-subject': '100%41 "x"', 'ce-myext': 'a%20b' },
      { subject: '100%41 "x"', myext: 'a%20b' },
    ],
    ['non-ASCII text', { ...REQUIRED, 'ce-subject': 'café ☕' }, { subject: 'café ☕' }],
    [
      'header names in any case (NATS headers are case-insensitive)',
      { 'Ce-Specversion': '1.0', 'CE-ID': '1', 'ce-Source': '/s', 'ce-type': 't', 'Ce-MyExt': 'x' },
      { myext: 'x' },
    ],
    [
      'a repeated name by its first value (as nats.go Header.Get and the Go SDK)',
      { ...REQUIRED, 'ce-myext': ['first', 'second'] },
      { myext: 'first' },
    ],
    [
      'a name repeated in another case by the first one',
      [...Object.entries(REQUIRED), ['ce-myext', 'first'], ['CE-MYEXT', 'second']] as [string, string][],
      { myext: 'first' },
    ],
    [
      'ce-datacontenttype is datacontenttype',
      { ...REQUIRED, 'ce-datacontenttype': 'text/plain' },
      { datacontenttype: 'text/plain' },
    ],
    [
      'content-type when there is no ce-datacontenttype',
      { ...REQUIRED, 'Content-Type': 'text/plain' },
      { datacontenttype: 'text/plain' },
    ],
    [
      'ce-datacontenttype over content-type',
      { ...REQUIRED, 'content-type': 'text/plain', 'ce-datacontenttype': 'application/json' },
      { datacontenttype: 'application/json' },
    ],
    ['other headers are not attributes', { ...REQUIRED, 'Nats-Msg-Id': 'x', ce_id: 'no' }, {}],
  ])('binary mode: %s', (_, headers, expected) => {
    const r = parseNatsMessage(headers, undefined);
    if (!r.ok) throw new Error(r.reason);
    expect(r.event.attributes).toEqual({ specversion: '1.0', id: '1', source: '/s', type: 't', ...expected });
  });

  it('binary mode: headers iterable as name -> values (nats.js MsgHdrs) are read as they are', () => {
    const h = new Map<string, string[]>(Object.entries(REQUIRED).map(([k, v]) => [k, [v]]));
    h.set('ce-myext', ['first', 'second']);
    const r = parseNatsMessage(h, new Uint8Array([1, 2]));
    expect(r.ok && r.event.attributes.myext).toBe('first');
    expect(r.ok && [...r.event.data!]).toEqual([1, 2]);
  });

  it('binary mode: an empty payload is no data', () => {
    const r = parseNatsMessage(REQUIRED, new Uint8Array(0));
    expect(r.ok && r.event.data).toBeUndefined();
  });

  const STRUCTURED = Buffer.from(
    '{"specversion":"1.0","id":"s","source":"/s","type":"t","b":true,"data":{"k": [1, 2.0]}}',
  );

  it.each<[string, NatsHeaders | undefined]>([
    [
      'content-type application/cloudevents+json',
      { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    ],
    ['no headers at all (as the Go SDK writes structured mode)', undefined],
    ['headers, but neither ce-specversion nor content-type', { 'Nats-Msg-Id': 'x' }],
  ])('structured mode: %s', (_, headers) => {
    const r = parseNatsMessage(headers, STRUCTURED);
    if (!r.ok) throw new Error(r.reason);
    expect(r.event.attributes).toEqual({ specversion: '1.0', id: 's', source: '/s', type: 't', b: true });
    expect(r.event.data!.toString()).toBe('{"k": [1, 2.0]}');
  });

  it('writes and reads 0.3 as 0.3', () => {
    const event: CloudEvent = {
      attributes: { specversion: '0.3', id: '1', source: '/s', type: 't', schemaurl: 'http://x/s' },
      data: Buffer.from([0xff, 0, 1]), // not UTF-8: 0.3 structured mode needs datacontentencoding
    };
    for (const mode of ['binary', 'structured'] as const) {
      const m = toNatsMessage(event, mode);
      const r = parseNatsMessage(m.headers, m.data);
      expect(r.ok && r.event.attributes).toEqual(
        mode === 'binary' ? event.attributes : { ...event.attributes, datacontentencoding: 'base64' },
      );
      expect(r.ok && r.event.data).toEqual(event.data);
    }
  });

  it.each<[string, NatsHeaders | undefined, string | undefined, string | undefined, string]>([
    [
      'no ce-specversion under a non-CloudEvents content-type',
      { 'content-type': 'application/json', 'ce-id': '1' },
      '{}',
      'specversion',
      'ce-specversion',
    ],
    [
      'a payload that is no JSON event, without headers',
      undefined,
      'hello',
      'specversion',
      'no ce-specversion header',
    ],
    ['an empty message', undefined, undefined, 'specversion', 'empty'],
    [
      'a headerless JSON event missing its id',
      undefined,
      '{"specversion":"1.0","source":"/s","type":"t"}',
      'id',
      'required',
    ],
    ['a bad specversion', { ...REQUIRED, 'ce-specversion': '9.9' }, undefined, 'specversion', '9.9'],
    ['a bad source', { ...REQUIRED, 'ce-source': 'a b' }, undefined, 'source', 'URI'],
    ['an invalid attribute name', { ...REQUIRED, 'ce-my_ext': 'x' }, undefined, 'my_ext', 'invalid name'],
    ['a noncharacter', { ...REQUIRED, 'ce-myext': 'a\uffffb' }, undefined, 'myext', 'noncharacter'],
    ['a batch', { 'content-type': 'application/cloudevents-batch+json' }, '[]', undefined, 'batch'],
    [
      'another format',
      { 'content-type': 'application/cloudevents+avro' },
      'x',
      undefined,
      'unsupported event format',
    ],
  ])('refuses %s', (_, headers, payload, attribute, words) => {
    const r = parseNatsMessage(headers, payload === undefined ? undefined : Buffer.from(payload));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.attribute).toBe(attribute);
      expect(r.reason).toContain(words);
    }
  });
});
