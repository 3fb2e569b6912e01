// Interoperability with the official CloudEvents JavaScript SDK, in both directions: what we write,
// the SDK reads to the same attributes and data; what the SDK writes, we read the same way.
import { CloudEvent as SdkEvent, HTTP } from 'cloudevents';
import { type AttributeValue, type CloudEvent, type HttpMessage } from './event';
import { parseHttp, toBinary, toStructured } from './http';
import { DataKind, dataKindOf } from './media-type';

const TIME = '2024-05-06T07:08:09.123Z'; // already in the SDK's normalised form (it rewrites time via Date)

type Case = [string, CloudEvent];

const cases: Case[] = [
  [
    '1.0 with JSON data and extensions',
    {
      attributes: {
        specversion: '1.0',
        id: 'e-1',
        source: 'https://example.com/src',
        type: 'com.example.json',
        time: TIME,
        subject: 'orders/42',
        dataschema: 'https://example.com/schema',
        datacontenttype: 'application/json',
        comexampleext: 'value',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
      data: Buffer.from('{"appinfoA":"abc","appinfoB":123,"appinfoC":true,"list":[1,2,{"x":null}]}'),
    },
  ],
  [
    '1.0 with text data',
    {
      attributes: {
        specversion: '1.0',
        id: 'e-2',
        source: '/mycontext',
        type: 'com.example.text',
        time: TIME,
        datacontenttype: 'text/plain',
      },
      data: Buffer.from('hello, world'),
    },
  ],
  [
    '1.0 with binary data',
    {
      attributes: {
        specversion: '1.0',
        id: 'e-3',
        source: 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66',
        type: 'com.example.binary',
        time: TIME,
        datacontenttype: 'application/octet-stream',
        partitionkey: 'k1',
      },
      data: Buffer.from([0, 1, 2, 127, 128, 254, 255]),
    },
  ],
  [
    '1.0 without data',
    {
      attributes: {
        specversion: '1.0',
        id: 'e-4',
        source: '/s',
        type: 'com.example.empty',
        time: TIME,
        knativebrokerttl: '255',
      },
      data: undefined,
    },
  ],
  [
    '0.3 with JSON data and schemaurl',
    {
      attributes: {
        specversion: '0.3',
        id: 'e-5',
        source: '/legacy',
        type: 'com.example.v03',
        time: TIME,
        schemaurl: 'https://example.com/schema',
        datacontenttype: 'application/json',
        ext: 'x',
      },
      data: Buffer.from('{"v":3}'),
    },
  ],
  [
    '0.3 with text data',
    {
      attributes: {
        specversion: '0.3',
        id: 'e-6',
        source: '/legacy',
        type: 'com.example.v03text',
        time: TIME,
        datacontenttype: 'text/plain',
      },
      data: Buffer.from('legacy text'),
    },
  ],
];

/** The SDK event's context attributes and extensions (everything but data). */
function sdkAttributes(ev: SdkEvent<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ev)) {
    if (k !== 'data' && k !== 'data_base64' && v !== undefined) out[k] = v;
  }
  return out;
}

/** Asserts the SDK's data equals our bytes under the event's datacontenttype. */
function expectSameData(
  ours: Buffer | undefined,
  sdkData: unknown,
  datacontenttype: AttributeValue | undefined,
): void {
  if (ours === undefined) {
    expect(sdkData).toBeUndefined();
    return;
  }
  const sdkBytes = ArrayBuffer.isView(sdkData) ? Buffer.from(sdkData as Uint8Array) : undefined;
  switch (dataKindOf(datacontenttype)) {
    case DataKind.Json:
      expect(sdkBytes !== undefined ? JSON.parse(sdkBytes.toString()) : sdkData).toEqual(
        JSON.parse(ours.toString()),
      );
      break;
    case DataKind.Text:
      expect(sdkBytes !== undefined ? sdkBytes.toString() : sdkData).toBe(ours.toString());
      break;
    default:
      expect(sdkBytes).toEqual(ours);
  }
}

const stringified = (a: Record<string, AttributeValue>) =>
  Object.fromEntries(Object.entries(a).map(([k, v]) => [k, String(v)]));

/** How a Node receiver using the SDK would hand it our message: text bodies as strings, binary as bytes. */
function forSdk(msg: HttpMessage, datacontenttype: AttributeValue | undefined, structured: boolean) {
  const asText = structured || dataKindOf(datacontenttype) !== DataKind.Binary;
  return {
    headers: msg.headers,
    body: msg.body === undefined ? undefined : asText ? msg.body.toString() : msg.body,
  };
}

describe('our output read by the official SDK (E1, E2, B6)', () => {
  it.each(cases)('binary mode: %s', (_, event) => {
    const sdk = HTTP.toEvent(
      forSdk(toBinary(event), event.attributes.datacontenttype, false),
    ) as SdkEvent<unknown>;
    expect(sdkAttributes(sdk)).toEqual(stringified(event.attributes));
    expectSameData(event.data, sdk.data, event.attributes.datacontenttype);
  });

  it.each(cases)('structured mode: %s', (_, event) => {
    const sdk = HTTP.toEvent(
      forSdk(toStructured(event), event.attributes.datacontenttype, true),
    ) as SdkEvent<unknown>;
    expect(sdkAttributes(sdk)).toEqual(event.attributes);
    expectSameData(event.data, sdk.data, event.attributes.datacontenttype);
  });

  it('structured mode keeps typed extensions for the SDK (E7)', () => {
    const event: CloudEvent = {
      attributes: { specversion: '1.0', id: '1', source: '/s', type: 't', time: TIME, count: 5, on: true },
      data: undefined,
    };
    const sdk = HTTP.toEvent(forSdk(toStructured(event), undefined, true)) as SdkEvent<unknown>;
    expect(sdk.count).toBe(5);
    expect(sdk.on).toBe(true);
  });
});

/** The SDK's message as our Node handler would see it: string header values, the body as bytes. */
function fromSdk(msg: { headers: Record<string, unknown>; body: unknown }) {
  const headers = Object.fromEntries(
    Object.entries(msg.headers).map(([k, v]) => [k.toLowerCase(), String(v)]),
  );
  const body = msg.body;
  return {
    headers,
    body:
      body === undefined || body === null
        ? undefined
        : typeof body === 'string'
          ? Buffer.from(body)
          : Buffer.from(body as Uint8Array),
  };
}

describe('SDK output read by us (E1, E2, B6)', () => {
  const sdkEvents: Array<[string, SdkEvent<unknown>]> = [
    [
      '1.0 with JSON data and extensions',
      new SdkEvent({
        id: 's-1',
        source: 'https://example.com/sdk',
        type: 'com.example.sdk.json',
        time: TIME,
        subject: 'sub',
        dataschema: 'https://example.com/schema',
        datacontenttype: 'application/json',
        comexampleext: 'value',
        data: { a: 1, b: [true, null, 'x'], c: { d: 2.5 } },
      }),
    ],
    [
      '1.0 with text data',
      new SdkEvent({
        id: 's-2',
        source: '/sdk',
        type: 'com.example.sdk.text',
        time: TIME,
        datacontenttype: 'text/plain',
        data: 'plain text',
      }),
    ],
    [
      '1.0 with binary data',
      new SdkEvent({
        id: 's-3',
        source: '/sdk',
        type: 'com.example.sdk.bin',
        time: TIME,
        datacontenttype: 'application/octet-stream',
        data: Buffer.from([0, 255, 10, 13, 34]),
      }),
    ],
    [
      '1.0 without data',
      new SdkEvent({ id: 's-4', source: '/sdk', type: 'com.example.sdk.nodata', time: TIME, ext: 'e' }),
    ],
    [
      '0.3 with JSON data and schemaurl',
      new SdkEvent({
        specversion: '0.3',
        id: 's-5',
        source: '/sdk/legacy',
        type: 'com.example.sdk.v03',
        time: TIME,
        schemaurl: 'https://example.com/schema',
        datacontenttype: 'application/json',
        data: { legacy: true },
      }),
    ],
    [
      '0.3 with text data',
      new SdkEvent({
        specversion: '0.3',
        id: 's-6',
        source: '/sdk/legacy',
        type: 'com.example.sdk.v03text',
        time: TIME,
        datacontenttype: 'text/plain',
        data: 'old',
      }),
    ],
  ];

  it.each(sdkEvents)('binary mode: %s', (_, sdk) => {
    const msg = fromSdk(HTTP.binary(sdk));
    const r = parseHttp(msg.headers, msg.body);
    if (!r.ok) throw new Error(r.reason);
    const expected = stringified(sdkAttributes(sdk) as Record<string, AttributeValue>);
    // The SDK defaults Content-Type to JSON when the event has no datacontenttype.
    if (expected.datacontenttype === undefined) expected.datacontenttype = 'application/json; charset=utf-8';
    expect(r.event.attributes).toEqual(expected);
    expectSameData(r.event.data, sdk.data, r.event.attributes.datacontenttype);
  });

  it.each(sdkEvents)('structured mode: %s', (_, sdk) => {
    const msg = fromSdk(HTTP.structured(sdk));
    const r = parseHttp(msg.headers, msg.body);
    if (!r.ok) throw new Error(r.reason);
    expect(r.event.attributes).toEqual(sdkAttributes(sdk));
    expectSameData(r.event.data, sdk.data, r.event.attributes.datacontenttype);
  });

  it('structured mode keeps the SDK typed extensions (E7)', () => {
    const sdk = new SdkEvent({ id: '1', source: '/s', type: 't', time: TIME, count: 7, on: false });
    const msg = fromSdk(HTTP.structured(sdk));
    const r = parseHttp(msg.headers, msg.body);
    expect(r.ok && r.event.attributes).toMatchObject({ count: 7, on: false });
  });
});
