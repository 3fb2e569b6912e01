import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { isCloudEventsString } from './attributes';
import { type AttributeValue, type CloudEvent } from './event';
import { parseHttp, toBinary, toStructured } from './http';

const RESERVED = new Set([
  'data',
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
  'schemaurl',
  'datacontentencoding',
]);

// Any allowed CloudEvents String, with the characters percent-encoding must handle made likely.
const ceString = fc
  .oneof(fc.string({ unit: 'binary', minLength: 1 }), fc.stringMatching(/^[ %"a-zé€😀\t]{1,12}$/))
  .filter(isCloudEventsString);
const extensionName = fc.stringMatching(/^[a-z0-9]{1,24}$/).filter((n) => !RESERVED.has(n));
const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
const time = fc
  .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const source = fc.oneof(
  fc.webUrl(),
  fc.constantFrom('/a/b', 'urn:x:y', '1-555-123-4567', 'mailto:a@example.com'),
);

type DataChoice = { datacontenttype?: string; data?: Buffer; base64?: boolean };

const dataChoice: fc.Arbitrary<DataChoice> = fc.oneof(
  fc.constant({}),
  fc.constant({ datacontenttype: 'application/json' }),
  fc.json().map((j) => ({ data: Buffer.from(j) })),
  fc
    .json()
    .map((j) => ({ datacontenttype: 'application/vnd.example+json; charset=utf-8', data: Buffer.from(j) })),
  ceString.map((s) => ({ datacontenttype: 'text/plain; charset=utf-8', data: Buffer.from(s) })),
  fc
    .uint8Array({ minLength: 1, maxLength: 64 })
    .map((b) => ({ datacontenttype: 'application/octet-stream', data: Buffer.from(b), base64: true })),
);

/** Random valid events; `typedExtensions` allows numbers and booleans (structured mode only). */
function events(typedExtensions: boolean): fc.Arbitrary<CloudEvent> {
  const extValue: fc.Arbitrary<AttributeValue> = typedExtensions
    ? fc.oneof(ceString, int32, fc.boolean())
    : ceString;
  return fc
    .record(
      {
        v03: fc.boolean(),
        id: ceString,
        source,
        type: ceString,
        subject: ceString,
        time,
        schema: fc.webUrl(),
        extensions: fc.dictionary(extensionName, extValue, { maxKeys: 4 }),
        data: dataChoice,
      },
      { requiredKeys: ['v03', 'id', 'source', 'type', 'extensions', 'data'] },
    )
    .map((r) => {
      const attributes: Record<string, AttributeValue> = {
        specversion: r.v03 ? '0.3' : '1.0',
        id: r.id,
        source: r.source,
        type: r.type,
      };
      if (r.subject !== undefined) attributes.subject = r.subject;
      if (r.time !== undefined) attributes.time = r.time;
      if (r.schema !== undefined) attributes[r.v03 ? 'schemaurl' : 'dataschema'] = r.schema;
      for (const [k, v] of Object.entries(r.extensions)) attributes[k] = v;
      if (r.data.datacontenttype !== undefined) attributes.datacontenttype = r.data.datacontenttype;
      // 0.3 has no data_base64: binary data travels base64 in `data`, which the event must declare.
      if (r.v03 && r.data.base64) attributes.datacontentencoding = 'base64';
      return { attributes, data: r.data.data };
    });
}

// A value written as it is ('upstream') that holds `%` and two hex digits reads back percent-decoded:
// the two header forms cannot be told apart there, and the reader takes the spec's.
const PERCENT_ESCAPE = /%[0-9a-f]{2}/i;
const noPercentEscape = (event: CloudEvent) =>
  !Object.values(event.attributes).some((v) => typeof v === 'string' && PERCENT_ESCAPE.test(v));

describe('round trips (property, E2)', () => {
  it('toBinary (percent) -> parseHttp returns the same event', () => {
    fc.assert(
      fc.property(events(false), (event) => {
        const msg = toBinary(event, 'percent');
        const r = parseHttp(msg.headers, msg.body);
        if (!r.ok) throw new Error(r.reason);
        expect(r.event.attributes).toEqual(event.attributes);
        expect(r.event.data).toBe(event.data);
      }),
      { numRuns: 500 },
    );
  });

  it('toBinary (upstream) -> parseHttp returns the same event when no value holds a %XX escape', () => {
    fc.assert(
      fc.property(events(false).filter(noPercentEscape), (event) => {
        const msg = toBinary(event, 'upstream');
        const r = parseHttp(msg.headers, msg.body);
        if (!r.ok) throw new Error(r.reason);
        expect(r.event.attributes).toEqual(event.attributes);
        expect(r.event.data).toBe(event.data);
      }),
      { numRuns: 500 },
    );
  });

  it('toStructured -> parseHttp returns the same event, typed extensions included', () => {
    fc.assert(
      fc.property(events(true), (event) => {
        const msg = toStructured(event);
        const r = parseHttp(msg.headers, msg.body);
        if (!r.ok) throw new Error(r.reason);
        expect(r.event.attributes).toEqual(event.attributes);
        expect(r.event.data).toEqual(event.data);
      }),
      { numRuns: 500 },
    );
  });
});

describe('over a real HTTP connection', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // Echo server: reads the request as a CloudEvent, answers 400 with the reason or the event in structured mode.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = parseHttp(req.headers, chunks.length === 0 ? undefined : Buffer.concat(chunks));
        if (!r.ok) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(r));
          return;
        }
        const reply = toStructured(r.event);
        res.writeHead(200, reply.headers).end(reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function post(msg: { headers: Record<string, string>; body: Buffer | undefined }) {
    const res = await fetch(url, { method: 'POST', headers: msg.headers, body: msg.body });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: Object.fromEntries(res.headers), body };
  }

  it.each(['upstream', 'percent'] as const)(
    'a binary request (%s header form) comes back as the same event in structured mode',
    async (encoding) => {
      const event: CloudEvent = {
        attributes: {
          specversion: '1.0',
          id: 'http-1',
          source: '/sources/http',
          type: 'com.example.http',
          subject: 'Euro € 😀 "quoted" 100%',
          datacontenttype: 'application/json',
          ext: 'a b',
        },
        data: Buffer.from('{"k": [1, 2.0]}'),
      };
      const res = await post(toBinary(event, encoding));
      expect(res.status).toBe(200);
      const r = parseHttp(res.headers, res.body);
      expect(r.ok && r.event).toEqual(event);
    },
  );

  it('a 0.3 structured request stays 0.3 (B6)', async () => {
    const event: CloudEvent = {
      attributes: { specversion: '0.3', id: 'http-2', source: '/s', type: 't', schemaurl: '/schema', n: 3 },
      data: Buffer.from('"text"'),
    };
    const res = await post(toStructured(event));
    const r = parseHttp(res.headers, res.body);
    expect(r.ok && r.event).toEqual(event);
  });

  it.each([
    ['a request that is not a CloudEvent (B4)', { 'content-type': 'application/json' }, 'specversion'],
    [
      'a bad specversion (B4)',
      { 'ce-specversion': '9.9', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't' },
      'specversion',
    ],
    ['a batch (B7)', { 'content-type': 'application/cloudevents-batch+json' }, undefined],
  ])('%s is refused with a reason', async (_, headers, attribute) => {
    const res = await post({ headers, body: Buffer.from('[]') });
    expect(res.status).toBe(400);
    const body = JSON.parse(res.body.toString());
    expect(body.attribute).toBe(attribute);
    expect(typeof body.reason).toBe('string');
  });
});
