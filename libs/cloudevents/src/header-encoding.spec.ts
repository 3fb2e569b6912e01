import { createServer, type Server, validateHeaderValue } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { type CloudEvent } from './event';
import { type HeaderEncoding, textOfHeaderValue, upstreamEncode } from './header-encoding';
import { parseHttp, toBinary } from './http';

const base = { specversion: '1.0', id: '1', source: '/s', type: 't' };

/** The bytes a header value goes on the wire as: undici and node:http write header strings as latin1. */
const wireBytes = (headerValue: string): Buffer => Buffer.from(headerValue, 'latin1');
const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

const table: Array<[string, string, Buffer, Buffer]> = [
  // value, what it is, 'upstream' bytes, 'percent' bytes
  ['plain', 'printable ASCII', bytes('plain'), bytes('plain')],
  ['ext value 1', 'spaces', bytes('ext value 1'), bytes('ext%20value%201')],
  ['"quoted"', 'double quotes', bytes('"quoted"'), bytes('%22quoted%22')],
  ['50% off', 'a percent sign', bytes('50% off'), bytes('50%25%20off')],
  ['100%41', 'a percent sign before hex digits', bytes('100%41'), bytes('100%2541')],
  [
    'café ☕',
    'non-ASCII',
    bytes('caf', [0xc3, 0xa9], ' ', [0xe2, 0x98, 0x95]),
    bytes('caf%C3%A9%20%E2%98%95'),
  ],
  ['\u{1f600}', 'a character outside the BMP', bytes([0xf0, 0x9f, 0x98, 0x80]), bytes('%F0%9F%98%80')],
  ['\u0085', 'a C1 control (obs-text bytes)', bytes([0xc2, 0x85]), bytes('%C2%85')],
  ['\ud800', 'a lone surrogate (as U+FFFD)', bytes([0xef, 0xbf, 0xbd]), bytes('%EF%BF%BD')],
  ['a\tb', 'a tab', bytes('a\tb'), bytes('a%09b')],
  ['a\r\nb', 'CR LF', bytes('a%0D%0Ab'), bytes('a%0D%0Ab')],
  ['\u0000\u001f\u007f', 'NUL, US and DEL', bytes('%00%1F%7F'), bytes('%00%1F%7F')],
  ['é\n', 'non-ASCII and a newline', bytes([0xc3, 0xa9], '%0A'), bytes('%C3%A9%0A')],
];

describe('header value encoding (strings -> bytes on the wire)', () => {
  it.each(table)('%j (%s)', (value, _, upstream, percent) => {
    for (const [encoding, expected] of [
      ['upstream', upstream],
      ['percent', percent],
    ] as Array<[HeaderEncoding, Buffer]>) {
      const header = toBinary({ attributes: { ...base, subject: value }, data: undefined }, encoding).headers[
        'ce-subject'
      ]!;
      expect([encoding, wireBytes(header).toString('hex')]).toEqual([encoding, expected.toString('hex')]);
      expect(() => validateHeaderValue('ce-subject', header)).not.toThrow();
    }
  });

  it("defaults to 'upstream'", () => {
    expect(toBinary({ attributes: { ...base, subject: 'a b' }, data: undefined }).headers['ce-subject']).toBe(
      'a b',
    );
  });

  it('returns a printable ASCII value itself', () => {
    const s = ['ext', 'value', String(Date.now())].join(' ');
    expect(upstreamEncode(s)).toBe(s);
  });

  it('leaves Content-Type and non-string attributes alone', () => {
    const msg = toBinary(
      {
        attributes: { ...base, datacontenttype: 'text/plain; charset=utf-8', n: 5, b: true },
        data: undefined,
      },
      'percent',
    );
    expect(msg.headers).toMatchObject({
      'content-type': 'text/plain; charset=utf-8',
      'ce-n': '5',
      'ce-b': 'true',
    });
  });
});

describe('header value reading (both forms)', () => {
  it.each([
    ['plain ASCII', 'ext value 1', 'ext value 1'],
    [
      'raw UTF-8 bytes as Node delivers them',
      wireBytes(upstreamEncode('café ☕')).toString('latin1'),
      'café ☕',
    ],
    ['a value already decoded in-process', 'café ☕', 'café ☕'],
  ])('%s', (_, raw, text) => {
    expect(textOfHeaderValue(raw)).toBe(text);
  });

  it('refuses raw bytes that are not UTF-8', () => {
    expect(textOfHeaderValue('caf\u00e9')).toBeUndefined();
  });

  it.each([
    ['spaces, upstream form', 'ext value 1', 'ext value 1'],
    ['spaces, percent form', 'ext%20value%201', 'ext value 1'],
    ['double quotes, upstream form (read literally)', '"quoted"', '"quoted"'],
    ['double quotes, percent form', '%22quoted%22', '"quoted"'],
    ['a stray percent', '50% off', '50% off'],
    ['a percent-encoded percent', '50%25%20off', '50% off'],
    ['raw UTF-8', bytes('caf', [0xc3, 0xa9], ' ', [0xe2, 0x98, 0x95]).toString('latin1'), 'café ☕'],
    ['percent-encoded UTF-8', 'caf%C3%A9%20%E2%98%95', 'café ☕'],
    [
      'raw UTF-8 and percent escapes together',
      bytes('caf', [0xc3, 0xa9], '%20x').toString('latin1'),
      'café x',
    ],
  ])('parseHttp reads %s', (_, header, subject) => {
    const r = parseHttp(
      { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'ce-subject': header },
      undefined,
    );
    expect(r.ok && r.event.attributes.subject).toBe(subject);
  });

  it('parseHttp refuses raw bytes that are not UTF-8, naming the attribute', () => {
    const r = parseHttp(
      { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'ce-myext': 'caf\u00e9' },
      undefined,
    );
    expect(r).toEqual({ ok: false, attribute: 'myext', reason: expect.stringContaining('"myext"') });
  });
});

describe('raw bytes over a real connection', () => {
  let server: Server;
  let port: number;
  const seen: Array<ReturnType<typeof parseHttp>> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(parseHttp(req.headers, undefined));
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  /** Writes one request byte for byte, as a Go client would, and waits for the answer. */
  function rawRequest(headerLines: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          Buffer.concat([
            Buffer.from('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n'),
            headerLines,
            Buffer.from('\r\n'),
          ]),
        );
      });
      socket.on('data', () => undefined);
      socket.on('end', () => resolve());
      socket.on('error', reject);
    });
  }

  it('node:http hands raw UTF-8 header bytes over as latin1 and parseHttp decodes them', async () => {
    const event: CloudEvent = {
      attributes: { ...base, subject: 'café ☕ "quoted" 50% off', myext: 'ext value 1' },
      data: undefined,
    };
    const msg = toBinary(event);
    const lines = Object.entries(msg.headers).map(([k, v]) => wireBytes(`${k}: ${v}\r\n`));
    await rawRequest(Buffer.concat(lines));
    const r = seen.pop();
    expect(r?.ok && r.event.attributes).toEqual(event.attributes);
  });
});
