// What the official SDKs' own emitters send over a real connection, read by parseHttp behind node:http:
// the Go SDK (what upstream Knative and most Go producers use) and the JavaScript SDK's httpTransport,
// in both content modes, for values with spaces, double quotes, '%' and non-ASCII.
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { goSdkBinary, goSend } from '@eventing/testing';
import { CloudEvent as SdkEvent, Mode, emitterFor, httpTransport } from 'cloudevents';
import { type ParseResult } from './json-format';
import { parseHttp } from './http';
import { HEADER_VALUES as VALUES } from './testing/interop-events';

const TIME = '2024-05-06T07:08:09.123Z';
const DATA = 'hello ☕';

let seq = 0;
function attributesWith(value: string): Record<string, string> {
  return {
    specversion: '1.0',
    id: `sdk-${++seq}`,
    source: '/interop/sdk',
    type: 'dev.interop.values',
    time: TIME,
    subject: value,
    myext: value,
    otherext: `a ${value} b`,
    datacontenttype: 'text/plain',
  };
}

describe('parseHttp reads what the SDKs send', () => {
  let server: Server;
  let url: string;
  const parsed: ParseResult[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = parseHttp(req.headers, chunks.length === 0 ? undefined : Buffer.concat(chunks));
        parsed.push(r);
        if (r.ok) res.writeHead(202).end();
        else res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(r));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  type Case = [string, 'binary' | 'structured'];
  const cases: Case[] = VALUES.flatMap((v): Case[] => [
    [v, 'binary'],
    [v, 'structured'],
  ]);

  describe('the Go SDK client (sdk-go v2.16.2)', () => {
    beforeAll(() => goSdkBinary(), 300_000); // the first build downloads modules

    it.each(cases)('%j in %s mode reads as exactly that string', async (value, mode) => {
      const attributes = attributesWith(value);
      const result = await goSend(url, { ...attributes, data: DATA }, mode);
      expect(result.status).toBe(202);
      const r = parsed.pop()!;
      if (!r.ok) throw new Error(r.reason);
      expect(r.event.attributes).toEqual(attributes);
      expect(r.event.data?.toString()).toBe(DATA);
    });
  });

  describe('the JavaScript SDK emitter (cloudevents 10, httpTransport over node:http)', () => {
    const emit = (attributes: Record<string, string>, mode: Mode) =>
      emitterFor(httpTransport(url), { mode })(new SdkEvent({ ...attributes, data: DATA }));

    const isAscii = (v: string) => /^[\x20-\x7e]*$/.test(v);
    const readable = cases.filter(([v, mode]) => mode === 'structured' || isAscii(v));

    it.each(readable)('%j in %s mode reads as exactly that string', async (value, mode) => {
      const attributes = attributesWith(value);
      await emit(attributes, mode === 'binary' ? Mode.BINARY : Mode.STRUCTURED);
      const r = parsed.pop()!;
      if (!r.ok) throw new Error(r.reason);
      expect(r.event.attributes).toEqual(attributes);
      expect(r.event.data?.toString()).toBe(DATA);
    });

    it.each(VALUES.filter((v) => !isAscii(v)))(
      'binary mode cannot send %j: the SDK hands it to node:http unencoded, which refuses chars above U+00FF',
      async (value) => {
        await expect(emit(attributesWith(value), Mode.BINARY)).rejects.toMatchObject({
          code: 'ERR_INVALID_CHAR',
        });
      },
    );

    it('binary mode with only Latin-1 non-ASCII: node:http sends one latin1 byte per char, refused as not UTF-8', async () => {
      await emit({ ...attributesWith('ascii'), subject: 'café' }, Mode.BINARY);
      expect(parsed.pop()).toEqual({
        ok: false,
        attribute: 'subject',
        reason: expect.stringContaining('"subject"'),
      });
    });
  });
});
