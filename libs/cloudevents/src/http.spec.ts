import { type CloudEvent } from './event';
import { fromJsonFormat, toJsonFormat } from './json-format';
import { isCloudEventsBatch } from './media-type';
import { parseHttp, toBinary, toStructured } from './http';
import { decodeHeaderValue, percentEncode } from './percent';

const ceHeaders = {
  'ce-specversion': '1.0',
  'ce-id': 'A234-1234-1234',
  'ce-source': '/mycontext',
  'ce-type': 'com.example.someevent',
};

const structured = (json: unknown) => ({
  headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
  body: Buffer.from(typeof json === 'string' ? json : JSON.stringify(json)),
});

function ok(headers: Record<string, string | string[] | undefined>, body: Buffer | undefined): CloudEvent {
  const r = parseHttp(headers, body);
  if (!r.ok) throw new Error(`expected a CloudEvent, got: ${r.reason}`);
  return r.event;
}

describe('binary mode read (E1)', () => {
  it('maps ce- headers to attributes, content-type to datacontenttype, and keeps the body Buffer itself', () => {
    const body = Buffer.from('{"a":1}');
    const event = ok(
      { ...ceHeaders, 'content-type': 'application/json', 'ce-comexampleext': 'v', host: 'x' },
      body,
    );
    expect(event.attributes).toEqual({
      specversion: '1.0',
      id: 'A234-1234-1234',
      source: '/mycontext',
      type: 'com.example.someevent',
      comexampleext: 'v',
      datacontenttype: 'application/json',
    });
    expect(event.data).toBe(body);
  });

  it('treats an empty body as no data', () => {
    expect(ok(ceHeaders, Buffer.alloc(0)).data).toBeUndefined();
    expect(ok(ceHeaders, undefined).data).toBeUndefined();
  });

  it('percent-decodes header values (HTTP binding 3.1.3.2)', () => {
    const event = ok(
      { ...ceHeaders, 'ce-subject': 'Euro%20%E2%82%AC%20%f0%9f%98%80', 'ce-ext': '%41%42c' },
      undefined,
    );
    expect(event.attributes.subject).toBe('Euro € 😀');
    expect(event.attributes.ext).toBe('ABc');
  });

  it('reads double quotes literally, as the Go and JavaScript SDKs write them', () => {
    expect(ok({ ...ceHeaders, 'ce-subject': '"quoted"' }, undefined).attributes.subject).toBe('"quoted"');
    expect(ok({ ...ceHeaders, 'ce-subject': '"a \\"b\\" c"' }, undefined).attributes.subject).toBe(
      '"a \\"b\\" c"',
    );
  });

  it('decodes raw UTF-8 header bytes (Node hands them over as latin1)', () => {
    const raw = Buffer.from('Euro € 😀', 'utf8').toString('latin1');
    expect(ok({ ...ceHeaders, 'ce-subject': raw }, undefined).attributes.subject).toBe('Euro € 😀');
  });

  it('rejects raw header bytes that are not UTF-8, naming the attribute', () => {
    expect(parseHttp({ ...ceHeaders, 'ce-subject': 'caf\u00e9' }, undefined)).toEqual({
      ok: false,
      attribute: 'subject',
      reason: expect.stringContaining('"subject"'),
    });
  });

  it('rejects percent-encoded bytes that are not UTF-8, naming the attribute', () => {
    expect(parseHttp({ ...ceHeaders, 'ce-subject': 'x%C0%A0' }, undefined)).toEqual({
      ok: false,
      attribute: 'subject',
      reason: expect.stringContaining('"subject"'),
    });
  });

  it('takes the first value of a repeated header', () => {
    expect(ok({ ...ceHeaders, 'ce-ext': ['a', 'b'] }, undefined).attributes.ext).toBe('a');
  });

  it.each([
    ['no ce-specversion (B4)', { 'content-type': 'application/json', 'ce-id': '1' }, 'specversion'],
    ['no headers at all (B4)', {}, 'specversion'],
    ['missing ce-id (B4)', { ...ceHeaders, 'ce-id': undefined }, 'id'],
    ['missing ce-source (B4)', { ...ceHeaders, 'ce-source': undefined }, 'source'],
    ['missing ce-type (B4)', { ...ceHeaders, 'ce-type': undefined }, 'type'],
    ['bad specversion (B4, B6)', { ...ceHeaders, 'ce-specversion': '2.0' }, 'specversion'],
    ['invalid extension name (E4)', { ...ceHeaders, 'ce-my-ext': 'x' }, 'my-ext'],
    ['invalid time', { ...ceHeaders, 'ce-time': 'yesterday' }, 'time'],
    ['invalid content-type', { ...ceHeaders, 'content-type': 'json' }, 'datacontenttype'],
  ])('rejects %s, naming the attribute', (_, headers, attribute) => {
    const r = parseHttp(headers, undefined);
    expect(r).toEqual({ ok: false, attribute, reason: expect.stringContaining(`"${attribute}"`) });
  });

  it('keeps specversion 0.3 and its attributes (B6)', () => {
    const event = ok(
      {
        ...ceHeaders,
        'ce-specversion': '0.3',
        'ce-schemaurl': '/schema',
        'ce-datacontentencoding': 'base64',
      },
      Buffer.from('xyz'),
    );
    expect(event.attributes.specversion).toBe('0.3');
    expect(event.attributes.schemaurl).toBe('/schema');
    expect(event.attributes.datacontentencoding).toBe('base64');
    expect(toBinary(event).headers['ce-specversion']).toBe('0.3');
  });
});

describe('binary mode write', () => {
  it('writes ce- headers, content-type and the same body Buffer; numbers and booleans stringified', () => {
    const data = Buffer.from('<x/>');
    const msg = toBinary({
      attributes: {
        ...Object.fromEntries(Object.entries(ceHeaders).map(([k, v]) => [k.slice(3), v])),
        datacontenttype: 'application/xml',
        n: 5,
        b: true,
      },
      data,
    });
    expect(msg.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'A234-1234-1234',
      'ce-source': '/mycontext',
      'ce-type': 'com.example.someevent',
      'content-type': 'application/xml',
      'ce-n': '5',
      'ce-b': 'true',
    });
    expect(msg.body).toBe(data);
  });

  it("'percent' encodes space, double quote, percent and non-ASCII, nothing else", () => {
    const msg = toBinary(
      { attributes: { subject: 'Euro € 😀 "100%" a/b:c?d=e' }, data: undefined },
      'percent',
    );
    expect(msg.headers['ce-subject']).toBe('Euro%20%E2%82%AC%20%F0%9F%98%80%20%22100%25%22%20a/b:c?d=e');
  });

  it("'upstream' (the default) writes the value as it is, non-ASCII as raw UTF-8 bytes", () => {
    const msg = toBinary({ attributes: { subject: 'Euro € 😀 "100%" a/b:c?d=e' }, data: undefined });
    expect(Buffer.from(msg.headers['ce-subject']!, 'latin1').toString('utf8')).toBe(
      'Euro € 😀 "100%" a/b:c?d=e',
    );
  });
});

describe('percent encoding', () => {
  it.each([
    ['plain', 'plain'],
    ['a b', 'a%20b'],
    ['\u0000\u001f\u007f', '%00%1F%7F'],
    ['é', '%C3%A9'],
    ['\u20ac', '%E2%82%AC'],
    ['\u{1f600}', '%F0%9F%98%80'],
    ['\ud800', '%EF%BF%BD'],
  ])('encodes %j as %s', (raw, encoded) => {
    expect(percentEncode(raw)).toBe(encoded);
  });

  it.each([
    ['100%', '100%'],
    ['%zz%41', '%zzA'],
    ['%', '%'],
    ['a%2', 'a%2'],
    ['%e2%82%ac', '€'],
  ])('decodes %j as %j (stray % kept)', (raw, decoded) => {
    expect(decodeHeaderValue(raw)).toBe(decoded);
  });

  it.each(['%C0%A0', '%FF', '%E2%82', '%ED%A0%80'])('rejects invalid UTF-8 %s', (raw) => {
    expect(decodeHeaderValue(raw)).toBeUndefined();
  });

  it('decodes long runs', () => {
    const s = 'é'.repeat(200);
    expect(decodeHeaderValue(percentEncode(s))).toBe(s);
  });
});

describe('structured mode read (E1)', () => {
  const attrs = { specversion: '1.0', id: 'C234', source: '/mycontext', type: 'com.example.someevent' };

  it('keeps the exact JSON text of data, including big integers and formatting (E2)', () => {
    const body = `{"specversion":"1.0","id":"C234","source":"/mycontext","type":"t","data": {"n": 12345678901234567890, "f": 1.50} }`;
    const event = ok(structured(body).headers, Buffer.from(body));
    expect(event.data?.toString()).toBe('{"n": 12345678901234567890, "f": 1.50}');
  });

  it('reads a JSON string data member as its JSON text when the type is JSON or absent', () => {
    expect(
      ok(
        structured({ ...attrs, data: "I'm just a string" }).headers,
        structured({ ...attrs, data: "I'm just a string" }).body,
      ).data?.toString(),
    ).toBe('"I\'m just a string"');
  });

  it('reads string data with a non-JSON type as its UTF-8 bytes', () => {
    const m = structured({ ...attrs, datacontenttype: 'application/xml', data: '<much wow="xml"/>' });
    expect(ok(m.headers, m.body).data?.toString()).toBe('<much wow="xml"/>');
  });

  it('decodes data_base64', () => {
    const m = structured({ ...attrs, datacontenttype: 'application/octet-stream', data_base64: 'AAEC/w==' });
    expect(ok(m.headers, m.body).data).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('keeps an explicit null data as JSON null, and null attributes as unset', () => {
    const m = structured({ ...attrs, subject: null, data: null });
    const event = ok(m.headers, m.body);
    expect(event.data?.toString()).toBe('null');
    expect(event.attributes).toEqual(attrs);
  });

  it('keeps JSON numbers and booleans of extensions typed (E7)', () => {
    const m = structured({ ...attrs, comexampleothervalue: 5, flag: true });
    const event = ok(m.headers, m.body);
    expect(event.attributes.comexampleothervalue).toBe(5);
    expect(event.attributes.flag).toBe(true);
  });

  it('accepts the content type with parameters in any case', () => {
    const m = structured(attrs);
    expect(ok({ 'content-type': 'Application/CloudEvents+JSON;charset=UTF-8' }, m.body).attributes).toEqual(
      attrs,
    );
  });

  it('takes the last of duplicate data members, as JSON.parse does', () => {
    const body = Buffer.from(
      '{"specversion":"1.0","id":"1","source":"/s","type":"t","data":[1,{"data":2}],"d\\u0061ta":{"x":"}"}}',
    );
    expect(ok(structured('').headers, body).data?.toString()).toBe('{"x":"}"}');
  });

  it('keeps 0.3 as 0.3 and decodes datacontentencoding base64 (B6)', () => {
    const m = structured({
      ...attrs,
      specversion: '0.3',
      schemaurl: '/s',
      datacontentencoding: 'base64',
      data: 'aGk=',
    });
    const event = ok(m.headers, m.body);
    expect(event.attributes.specversion).toBe('0.3');
    expect(event.attributes.datacontentencoding).toBe('base64');
    expect(event.data?.toString()).toBe('hi');
  });

  it.each([
    ['invalid JSON', '{"specversion":', undefined],
    [
      'malformed JSON data',
      '{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":[1,}}',
      'data',
    ],
    [
      'a number with a leading zero as data',
      '{"specversion":"1.0","id":"1","source":"/s","type":"t","data":01}',
      undefined,
    ],
    ['a body that is not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), undefined],
    ['a JSON array', '[]', undefined],
    ['an empty body', '', undefined],
    ['both data and data_base64', JSON.stringify({ ...attrs, data: 1, data_base64: 'AA==' }), 'data'],
    ['non-string data_base64', JSON.stringify({ ...attrs, data_base64: 5 }), 'data_base64'],
    ['object extension', JSON.stringify({ ...attrs, ext: { a: 1 } }), 'ext'],
    ['array extension', JSON.stringify({ ...attrs, ext: [1] }), 'ext'],
    ['float extension', JSON.stringify({ ...attrs, ext: 1.5 }), 'ext'],
    ['invalid attribute name', JSON.stringify({ ...attrs, 'My-Ext': 1 }), 'My-Ext'],
    ['numeric id (B4)', JSON.stringify({ ...attrs, id: 1 }), 'id'],
    ['missing type (B4)', JSON.stringify({ ...attrs, type: undefined }), 'type'],
    ['specversion 0.2 (B4)', JSON.stringify({ ...attrs, specversion: '0.2' }), 'specversion'],
    [
      'non-string 0.3 base64 data',
      JSON.stringify({ ...attrs, specversion: '0.3', datacontentencoding: 'base64', data: 1 }),
      'data',
    ],
  ] as Array<[string, string | Buffer, string | undefined]>)('rejects %s', (_, body, attribute) => {
    const r = parseHttp(structured('').headers, Buffer.isBuffer(body) ? body : Buffer.from(body));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.attribute).toBe(attribute);
      if (attribute !== undefined) expect(r.reason).toContain(`"${attribute}"`);
    }
  });

  it('rejects batch mode (B7, E5)', () => {
    const r = parseHttp({ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from('[]'));
    expect(r).toEqual({ ok: false, reason: expect.stringContaining('batch mode is not supported') });
    expect(isCloudEventsBatch('application/cloudevents-batch+json; charset=utf-8')).toBe(true);
    expect(isCloudEventsBatch('application/cloudevents+json')).toBe(false);
    expect(isCloudEventsBatch(undefined)).toBe(false);
  });

  it.each(['application/cloudevents+avro', 'application/cloudevents'])(
    'rejects the unknown event format %s',
    (ct) => {
      const r = parseHttp({ 'content-type': ct, ...ceHeaders }, Buffer.from('x'));
      expect(r).toEqual({ ok: false, reason: expect.stringContaining('unsupported event format') });
    },
  );
});

describe('structured mode write', () => {
  const attributes = { specversion: '1.0', id: '1', source: '/s', type: 't' };
  const json = (event: CloudEvent) => {
    const msg = toStructured(event);
    expect(msg.headers).toEqual({ 'content-type': 'application/cloudevents+json; charset=utf-8' });
    return JSON.parse(msg.body!.toString());
  };

  it('embeds JSON data as a JSON value, byte for byte', () => {
    const data = Buffer.from('{"n": 12345678901234567890}');
    const body = toStructured({
      attributes: { ...attributes, datacontenttype: 'application/json' },
      data,
    }).body!.toString();
    expect(body.endsWith(',"data":{"n": 12345678901234567890}}')).toBe(true);
  });

  it('treats absent datacontenttype as JSON and +json types as JSON', () => {
    expect(json({ attributes, data: Buffer.from('[1,2]') }).data).toEqual([1, 2]);
    expect(
      json({
        attributes: { ...attributes, datacontenttype: 'application/geo+json' },
        data: Buffer.from('"x"'),
      }).data,
    ).toBe('x');
    expect(
      json({ attributes: { ...attributes, datacontenttype: 'text/json' }, data: Buffer.from('1') }).data,
    ).toBe(1);
  });

  it('falls back to data_base64 when JSON-typed data is not valid JSON', () => {
    const out = json({
      attributes: { ...attributes, datacontenttype: 'application/json' },
      data: Buffer.from('not json'),
    });
    expect(out.data).toBeUndefined();
    expect(Buffer.from(out.data_base64, 'base64').toString()).toBe('not json');
  });

  it('writes text types as strings and everything else as data_base64', () => {
    expect(
      json({ attributes: { ...attributes, datacontenttype: 'text/plain' }, data: Buffer.from('héllo') }).data,
    ).toBe('héllo');
    expect(
      json({ attributes: { ...attributes, datacontenttype: 'application/xml' }, data: Buffer.from('<a/>') })
        .data,
    ).toBe('<a/>');
    const bin = json({
      attributes: { ...attributes, datacontenttype: 'image/png' },
      data: Buffer.from([1, 2, 255]),
    });
    expect(bin.data_base64).toBe('AQL/');
    const badText = json({
      attributes: { ...attributes, datacontenttype: 'text/plain' },
      data: Buffer.from([0xff]),
    });
    expect(badText.data_base64).toBe('/w==');
  });

  it('keeps extension types and omits data when there is none', () => {
    expect(json({ attributes: { ...attributes, n: 5, b: false }, data: undefined })).toEqual({
      ...attributes,
      n: 5,
      b: false,
    });
  });

  it('writes 0.3 binary data as base64 in data with datacontentencoding', () => {
    const v03 = { ...attributes, specversion: '0.3', datacontenttype: 'application/octet-stream' };
    expect(json({ attributes: { ...v03, datacontentencoding: 'base64' }, data: Buffer.from('hi') })).toEqual({
      ...v03,
      datacontentencoding: 'base64',
      data: 'aGk=',
    });
    expect(json({ attributes: v03, data: Buffer.from([0xff]) })).toEqual({
      ...v03,
      datacontentencoding: 'base64',
      data: '/w==',
    });
    expect(json({ attributes: v03, data: Buffer.from('plain') })).toEqual({ ...v03, data: 'plain' });
  });

  it('round-trips through structured mode with data kept exactly', () => {
    const event: CloudEvent = {
      attributes: { ...attributes, datacontenttype: 'application/json', n: 7 },
      data: Buffer.from('{"a" : [1, 2.50]}'),
    };
    const msg = toStructured(event);
    const back = ok(msg.headers, msg.body);
    expect(back.attributes).toEqual(event.attributes);
    expect(back.data?.toString()).toBe('{"a" : [1, 2.50]}');
  });
});

describe('JSON event format helpers', () => {
  it('fromJsonFormat re-serialises JSON data and validates', () => {
    const r = fromJsonFormat({ specversion: '1.0', id: '1', source: '/s', type: 't', data: { a: 1 } });
    expect(r.ok && r.event.data?.toString()).toBe('{"a":1}');
    expect(fromJsonFormat({ specversion: '1.0', id: '1', source: '/s' })).toEqual({
      ok: false,
      attribute: 'type',
      reason: expect.stringContaining('"type"'),
    });
    expect(fromJsonFormat('x')).toEqual({ ok: false, reason: expect.any(String) });
  });

  it('toJsonFormat renders data per datacontenttype', () => {
    const attributes = { specversion: '1.0', id: '1', source: '/s', type: 't' };
    expect(toJsonFormat({ attributes, data: Buffer.from('{"a":1}') })).toEqual({
      ...attributes,
      data: { a: 1 },
    });
    expect(
      toJsonFormat({ attributes: { ...attributes, datacontenttype: 'text/plain' }, data: Buffer.from('x') })
        .data,
    ).toBe('x');
    expect(
      toJsonFormat({
        attributes: { ...attributes, datacontenttype: 'application/octet-stream' },
        data: Buffer.from('x'),
      }).data_base64,
    ).toBe('eA==');
  });
});
