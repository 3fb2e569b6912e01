import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInThisContext } from 'node:vm';
import fc from 'fast-check';
import { eventually, startSubscriber, type RecordedRequest, type TestSubscriber } from '@eventing/testing';
import { runStandalone } from './main';
import { optionsFrom } from './options';

// Fuzzing at the HTTP boundary: raw requests over TCP sockets (HTTP clients refuse to send most of
// these) against the running standalone server, with one broker and a catch-all Trigger delivering
// to a real recording subscriber. Properties: no uncaught exception or unhandled rejection, no 5xx
// for bad input, the server keeps serving, and every event answered 202 reaches the subscriber.

/** The default --max-body-bytes. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Node's default limit on the request head (--max-http-header-size). */
const NODE_MAX_HEADER_BYTES = 16 * 1024;
/** How long a request the server can answer may take. */
const ANSWER_TIMEOUT_MS = 2_000;
/** How long a request the server must wait on (its body never ends) is left open before the client closes it. */
const STALL_WAIT_MS = 250;
// FUZZ_SEED replays a reported failure; FUZZ_SCALE multiplies the number of runs for a longer campaign;
// FUZZ_VERBOSE prints how often each answer was seen, by category.
const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const FUZZ_SCALE = Number(process.env.FUZZ_SCALE ?? 1);

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client: writes bytes, reads back every response on the connection.

interface RawRequest {
  /** Request line and header lines, latin1 (one char per byte), without the blank line; none to send only `tail`. */
  head: string[];
  /** Everything after the blank line: the body as framed, plus any pipelined requests. */
  tail: Buffer;
  /** The server can see where this request ends, so it must answer within ANSWER_TIMEOUT_MS. */
  complete: boolean;
  /** The first request is HEAD: its response has no body. */
  headMethod: boolean;
  /** Responses to wait for before closing (pipelined requests); 1 when absent. */
  responses?: number;
}

interface RawAnswer {
  statuses: number[];
  /** Response heads, for reporting. */
  heads: string[];
  timedOut: boolean;
  /** The server closed or reset the connection. */
  closed: boolean;
}

function wire(req: RawRequest): Buffer {
  if (req.head.length === 0) return req.tail;
  return Buffer.concat([Buffer.from(req.head.join('\r\n') + '\r\n\r\n', 'latin1'), req.tail]);
}

/** Parses the complete responses at the start of `buf`; `rest` is true when a partial one follows. */
function parseResponses(
  buf: Buffer,
  headMethod: boolean,
  ended = false,
): { statuses: number[]; heads: string[]; rest: boolean } {
  const statuses: number[] = [];
  const heads: string[] = [];
  let off = 0;
  while (off < buf.length) {
    const end = buf.indexOf('\r\n\r\n', off, 'latin1');
    if (end < 0) return { statuses, heads, rest: true };
    const head = buf.toString('latin1', off, end);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!status) return { statuses: [...statuses, -1], heads: [...heads, head], rest: false };
    const code = Number(status[1]);
    let bodyEnd = end + 4;
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    const noBody = (headMethod && statuses.length === 0) || code < 200 || code === 204 || code === 304;
    if (!noBody && length) bodyEnd += Number(length[1]);
    else if (!noBody && /\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
      const last = buf.indexOf('\r\n0\r\n\r\n', end, 'latin1');
      if (last < 0) return { statuses, heads, rest: true };
      bodyEnd = last + 7;
    } else if (!noBody) bodyEnd = ended ? buf.length : Number.POSITIVE_INFINITY; // until the connection closes
    if (bodyEnd > buf.length) return { statuses, heads, rest: true };
    if (code >= 200) {
      statuses.push(code);
      heads.push(head + '\r\n\r\n' + buf.toString('latin1', end + 4, Math.min(bodyEnd, end + 204)));
    }
    off = bodyEnd;
  }
  return { statuses, heads, rest: false };
}

/** Sends one raw request on a new connection and collects the answers until enough came, the server closed, or the wait ran out. */
function sendRaw(port: number, req: RawRequest): Promise<RawAnswer> {
  const waitMs = req.complete ? ANSWER_TIMEOUT_MS : STALL_WAIT_MS;
  const wanted = req.responses ?? 1;
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let closed = false;
    let finished = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = (timedOut: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(idle);
      socket.destroy();
      const parsed = parseResponses(Buffer.concat(chunks), req.headMethod, closed);
      resolve({ statuses: parsed.statuses, heads: parsed.heads, timedOut, closed });
    };
    const timer = setTimeout(() => finish(true), waitMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const parsed = parseResponses(Buffer.concat(chunks), req.headMethod);
      clearTimeout(idle);
      // Enough answers: give the server a moment to send more (it should not), then close.
      if (parsed.statuses.length >= wanted && !parsed.rest) idle = setTimeout(() => finish(false), 20);
    });
    socket.on('error', () => {
      closed = true;
    });
    socket.on('close', () => {
      closed = true;
      finish(false);
    });
    socket.write(wire(req), () => undefined);
  });
}

// ---------------------------------------------------------------------------------------------
// Encoding helpers.

/** The latin1 string whose bytes are the UTF-8 encoding of `s` (what goes on the wire). */
const utf8Wire = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/** Header value encoding of the HTTP binding (section 3.1.3.2), optionally escaping needlessly too. */
function pctEncode(s: string, needless = false): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const plain = b > 0x20 && b < 0x7f && b !== 0x22 && b !== 0x25;
    if (plain && !(needless && /[a-z]/.test(String.fromCharCode(b)))) out += String.fromCharCode(b);
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function withLength(headers: [string, string][], body: Buffer): [string, string][] {
  return [...headers, ['content-length', String(body.length)]];
}

const headerLines = (headers: [string, string][]) => headers.map(([n, v]) => `${n}: ${v}`);

const isPassthrough = (name: string) =>
  /^(ce-|knative-|x-b3-)/.test(name) ||
  ['x-request-id', 'traceparent', 'tracestate', 'content-type'].includes(name);

/**
 * An upper bound on the head of the request delivering this request's event: every header that travels
 * with the event, each byte counted as often as percent-encoding may multiply it, plus what the
 * dispatcher adds.
 */
function deliveredHeadBound(req: RawRequest): number {
  // A byte above 0x7f may be read as a latin1 char and written back as two percent-encoded bytes.
  const encoded = (v: string) => {
    let n = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      n += c > 0x20 && c < 0x7f && c !== 0x22 && c !== 0x25 ? 1 : c < 0x80 ? 3 : 6;
    }
    return n;
  };
  let size = 600;
  let structured = false;
  for (const line of req.head.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    if (name === 'content-type' && /cloudevents\+json/i.test(line)) structured = true;
    if (colon > 0 && isPassthrough(name)) size += colon + 4 + encoded(line.slice(colon + 1));
  }
  if (structured) {
    try {
      const members = JSON.parse(req.tail.toString('utf8')) as Record<string, unknown>;
      for (const [k, v] of Object.entries(members))
        if (k !== 'data' && k !== 'data_base64') size += k.length + 7 + encoded(utf8Wire(String(v)));
    } catch {
      // Not JSON: not accepted either.
    }
  }
  return size;
}

// ---------------------------------------------------------------------------------------------
// Valid events with random attributes, and what the subscriber must receive for them.

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type Data =
  { kind: 'json'; value: JsonValue } | { kind: 'text'; value: string } | { kind: 'bytes'; value: Uint8Array };

interface ValidEvent {
  mode: 'binary' | 'structured';
  specversion: '1.0' | '0.3';
  idSuffix: string;
  source: string;
  type: string;
  subject: string | null;
  time: string | null;
  dataschema: string | null;
  datacontenttype: string | undefined;
  data: Data | null;
  extensions: Record<string, string | boolean | number>;
  upperCaseHeaders: boolean;
  needlessEscapes: boolean;
}

const FORBIDDEN = /[\p{Cc}\p{Cs}\p{Noncharacter_Code_Point}]/u;
const ceString = (minLength: number, maxLength: number) =>
  fc
    .oneof(
      fc.string({ unit: 'grapheme', minLength, maxLength }),
      fc.string({ unit: 'binary-ascii', minLength, maxLength }),
    )
    .filter((s) => !FORBIDDEN.test(s));

const RESERVED = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'schemaurl',
  'datacontentencoding',
  // Set by the broker: the TTL is decremented at ingress and removed before delivery; arrival time is stamped.
  'knativebrokerttl',
  'knativearrivaltime',
]);

const extensionName = fc.oneof(
  fc.stringMatching(/^[a-z0-9]{1,20}$/),
  fc.constantFrom('constructor', 'prototype', 'tostring', 'hasownproperty', 'comexampleext'),
);

const extensionValue = fc.oneof(
  ceString(0, 30),
  fc.boolean(),
  fc.integer({ min: -2147483648, max: 2147483647 }),
);

const sourceArb = fc.oneof(
  fc.constantFrom(
    '/',
    '/a/b',
    'urn:event:1',
    'https://example.com/x?y=1#f',
    '//host:80/p',
    'mailto:a@b',
    'a',
  ),
  ceString(1, 20).map((s) => '/' + encodeURIComponent(s)),
  fc.stringMatching(/^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/]{0,30}$/),
);

const payloadArb: fc.Arbitrary<{ datacontenttype: string | undefined; data: Data | null }> = fc.oneof(
  fc.record({
    datacontenttype: fc.constantFrom(
      undefined,
      'application/json',
      'application/vnd.example+json; charset=utf-8',
    ),
    data: fc.option(
      fc.jsonValue({ maxDepth: 3 }).map((value): Data => ({ kind: 'json', value: value as JsonValue })),
    ),
  }),
  fc.record({
    datacontenttype: fc.constantFrom('text/plain', 'text/plain; charset=utf-8', 'application/xml'),
    data: fc.option(
      fc.string({ unit: 'grapheme', maxLength: 40 }).map((value): Data => ({ kind: 'text', value })),
    ),
  }),
  fc.record({
    datacontenttype: fc.constant('application/octet-stream'),
    data: fc.option(fc.uint8Array({ maxLength: 64 }).map((value): Data => ({ kind: 'bytes', value }))),
  }),
);

const validEventArb: fc.Arbitrary<ValidEvent> = fc
  .record({
    mode: fc.constantFrom('binary' as const, 'structured' as const),
    specversion: fc.constantFrom('1.0' as const, '1.0' as const, '0.3' as const),
    idSuffix: ceString(0, 20),
    source: sourceArb,
    type: ceString(1, 30),
    subject: fc.option(ceString(1, 30)),
    time: fc.option(
      fc
        .date({
          min: new Date('0001-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        })
        .map((d) => d.toISOString()),
    ),
    dataschema: fc.option(ceString(1, 10).map((s) => 'https://example.com/schemas/' + encodeURIComponent(s))),
    payload: payloadArb,
    extensions: fc.dictionary(
      extensionName.filter((n) => !RESERVED.has(n)),
      extensionValue,
      { maxKeys: 5 },
    ),
    upperCaseHeaders: fc.boolean(),
    needlessEscapes: fc.boolean(),
  })
  .map(({ payload, ...e }) => {
    // 0.3 has no data_base64: binary data in structured mode would need datacontentencoding.
    const mode = e.specversion === '0.3' && payload.data?.kind === 'bytes' ? 'binary' : e.mode;
    return { ...e, mode, datacontenttype: payload.datacontenttype, data: payload.data };
  });

const dataBytes = (data: Data | null): Buffer => {
  if (data === null) return Buffer.alloc(0);
  if (data.kind === 'json') return Buffer.from(JSON.stringify(data.value), 'utf8');
  if (data.kind === 'text') return Buffer.from(data.value, 'utf8');
  return Buffer.from(data.value);
};

/** The attributes the subscriber must see for an event (binary mode: every value as a string). */
function expectedAttributes(e: ValidEvent, id: string): Record<string, string> {
  const a: Record<string, string> = { specversion: e.specversion, id, source: e.source, type: e.type };
  if (e.subject !== null) a.subject = e.subject;
  if (e.time !== null) a.time = e.time;
  if (e.dataschema !== null) a.dataschema = e.dataschema;
  if (e.datacontenttype !== undefined) a.datacontenttype = e.datacontenttype;
  for (const [k, v] of Object.entries(e.extensions)) a[k] = String(v);
  return a;
}

function validEventRequest(e: ValidEvent, id: string): RawRequest {
  if (e.mode === 'binary') {
    const headers: [string, string][] = [['host', 'fuzz']];
    const name = (n: string) => (e.upperCaseHeaders ? `CE-${n.toUpperCase()}` : `ce-${n}`);
    const attrs = expectedAttributes(e, id);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'datacontenttype') headers.push(['content-type', v]);
      else headers.push([name(k), pctEncode(v, e.needlessEscapes)]);
    }
    const body = dataBytes(e.data);
    return {
      head: ['POST /default/default HTTP/1.1', ...headerLines(withLength(headers, body))],
      tail: body,
      complete: true,
      headMethod: false,
    };
  }
  const attrs: Record<string, unknown> = { specversion: e.specversion, id, source: e.source, type: e.type };
  if (e.subject !== null) attrs.subject = e.subject;
  if (e.time !== null) attrs.time = e.time;
  if (e.dataschema !== null) attrs.dataschema = e.dataschema;
  if (e.datacontenttype !== undefined) attrs.datacontenttype = e.datacontenttype;
  Object.assign(attrs, e.extensions);
  let text = JSON.stringify(attrs);
  if (e.data !== null) {
    const member =
      e.data.kind === 'bytes'
        ? `"data_base64":"${Buffer.from(e.data.value).toString('base64')}"`
        : `"data":${JSON.stringify(e.data.value)}`;
    text = text.slice(0, -1) + ',' + member + '}';
  }
  const body = Buffer.from(text, 'utf8');
  const contentType = e.upperCaseHeaders
    ? 'Application/CloudEvents+JSON; Charset=UTF-8'
    : 'application/cloudevents+json; charset=utf-8';
  return {
    head: [
      'POST /default/default HTTP/1.1',
      ...headerLines(
        withLength(
          [
            ['host', 'fuzz'],
            ['content-type', contentType],
          ],
          body,
        ),
      ),
    ],
    tail: body,
    complete: true,
    headMethod: false,
  };
}

const percentDecoded = (v: string): string => {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
};

/**
 * The attributes the subscriber received. Binary-mode values come in either header form the dispatcher
 * writes: percent-encoded (HTTP binding 3.1.3.2), or raw UTF-8 as upstream Knative writes them, whose
 * leading and trailing spaces HTTP parsers strip (as for the Go SDK). A value counts as the expected one
 * when its reading in either form is that value.
 */
function receivedAttributes(r: RecordedRequest, want: Record<string, string>): Record<string, string> {
  const a: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.headers)) {
    if (!name.startsWith('ce-') || typeof value !== 'string') continue;
    const attribute = name.slice(3);
    const raw = Buffer.from(value, 'latin1').toString('utf8');
    const expected = want[attribute];
    const matches =
      expected !== undefined &&
      (percentDecoded(value) === expected || raw === expected.replace(/^ +| +$/g, ''));
    a[attribute] = matches ? expected : raw;
  }
  const contentType = r.headers['content-type'];
  if (typeof contentType === 'string') a.datacontenttype = contentType;
  return a;
}

// ---------------------------------------------------------------------------------------------
// The fuzz cases: small descriptions (readable when fast-check reports a counterexample), expanded
// into raw requests with a unique id token so that an accepted one can be traced to the subscriber.

/** A plain valid binary-mode event carrying `token` in its id, as header list and body. */
function baseBinary(token: string): { headers: [string, string][]; body: Buffer } {
  return {
    headers: [
      ['host', 'fuzz'],
      ['ce-specversion', '1.0'],
      ['ce-id', `${token}:base`],
      ['ce-source', '/fuzz'],
      ['ce-type', 'fuzz.event'],
      ['content-type', 'application/json'],
    ],
    body: Buffer.from('{"fuzz":true}'),
  };
}

function baseStructured(token: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { specversion: '1.0', id: `${token}:s`, source: '/fuzz', type: 'fuzz.event', ...extra };
}

// --- 1. methods, targets, query strings

const methodArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'TRACE',
      'CONNECT',
      'PROPFIND',
      'M-SEARCH',
      'PURGE',
      'QUERY',
      'BREW',
      'post',
      'Post',
      'get',
      'options',
      'POSTX',
      '',
      'P\xd6ST',
    ),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z!#$%&'*+.^_`|~-]{1,12}$/) },
);

const segmentArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      '',
      '.',
      '..',
      '...',
      'default',
      'metrics',
      'healthz',
      'readyz',
      '_sinks',
      'display',
      '%',
      '%2',
      '%zz',
      '%2F',
      '%2e%2e',
      '%00',
      '%C3%A9',
      '%FF',
      '%E2%82',
      '*',
      '~',
      ';x=1',
      '#frag',
      'x',
    ),
  },
  // Node answers 400 for raw bytes outside visible ASCII in a request target.
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      utf8Wire('é'),
      utf8Wire('☁'),
      utf8Wire('\u{1F600}'),
      '\xff\xfe',
      'a b',
      'a\tb',
    ),
  },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,20}$/) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => 'x'.repeat(n)) },
);

const queryArb = fc.option(
  fc
    .array(
      fc.oneof(
        fc.constantFrom(
          'a=1',
          'a',
          '=',
          '&',
          '%',
          '%zz',
          'a=%',
          '?',
          '??',
          'x=/_sinks/display',
          '%C3%BC=%E2%98%81',
        ),
        fc.stringMatching(/^[a-z0-9=&%]{0,12}$/),
      ),
      { maxLength: 5 },
    )
    .map((parts) => '?' + parts.join('&')),
);

const targetArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          '',
          '/default/default',
          '/default',
          '/healthz',
          '/readyz',
          '/metrics',
          '/_sinks/display',
          '/_sinks/unknown',
          '/_sinks',
        ),
        fc.array(segmentArb, { maxLength: 4 }),
        queryArb,
      )
      .map(([prefix, segments, query]) => prefix + segments.map((s) => '/' + s).join('') + (query ?? '')),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '*',
      'http://127.0.0.1/default/default',
      '127.0.0.1:80',
      'default/default',
      '/default/default#x',
      '//default/default',
      '/default//default',
      '/default/default/',
      '/default/default//',
    ),
  },
);

/**
 * What a request-line case carries: an event, or bodies aimed at the admin endpoints' body parsers.
 *
 * Skipped: bodies the admin body parsers refuse with 413/415/400 from http-errors (more than 1,000
 * urlencoded parameters or nesting deeper than 32, a content-encoding that is not gzip, a gzip body that is not gzip, an unknown
 * charset). They are answered 4xx, but Nest's ExceptionsHandler logs each at ERROR with its stack and
 * the body (finding in libs/runtime: client errors on /healthz, /readyz, /metrics flood the log).
 */
type LineBody = 'event' | 'json-garbage' | 'deep-json' | 'urlencoded';

interface RequestLineCase {
  method: string;
  target: string;
  version: 'HTTP/1.1' | 'HTTP/1.0';
  body: LineBody;
}

const requestLineArb: fc.Arbitrary<RequestLineCase> = fc.record({
  method: methodArb,
  target: targetArb.map((t) => (t === '' ? '/' : t)),
  version: fc.constantFrom('HTTP/1.1' as const, 'HTTP/1.1' as const, 'HTTP/1.0' as const),
  body: fc.oneof(
    { weight: 4, arbitrary: fc.constant('event' as const) },
    { weight: 2, arbitrary: fc.constantFrom<LineBody>('json-garbage', 'deep-json', 'urlencoded') },
  ),
});

function lineBody(kind: Exclude<LineBody, 'event'>): { headers: [string, string][]; body: Buffer } {
  switch (kind) {
    case 'json-garbage':
      return { headers: [['content-type', 'application/json']], body: Buffer.from('{"a":[1,2,') };
    case 'deep-json':
      return {
        headers: [['content-type', 'application/json']],
        body: Buffer.from(deepValue(50_000, '[', true)),
      };
    case 'urlencoded':
      return {
        headers: [['content-type', 'application/x-www-form-urlencoded']],
        body: Buffer.from('a' + '[b]'.repeat(5) + '=1&b=%&c=%zz&' + '&'.repeat(100)),
      };
  }
}

function requestLineRequest(c: RequestLineCase, token: string): RawRequest {
  let headers: [string, string][];
  let body: Buffer;
  if (c.body === 'event') ({ headers, body } = baseBinary(token));
  else {
    const b = lineBody(c.body);
    headers = [['host', 'fuzz'], ...b.headers];
    body = b.body;
  }
  const head = [`${c.method} ${c.target} ${c.version}`, ...headerLines(withLength(headers, body))];
  return {
    head,
    tail: body,
    complete: head.join('\r\n').length < NODE_MAX_HEADER_BYTES - 100,
    headMethod: c.method === 'HEAD',
  };
}

// --- 2. header sets

type HeaderMutation =
  | { kind: 'badPercent'; attr: string; junk: string }
  | { kind: 'duplicate'; attr: string; value: string }
  | { kind: 'rawBytes'; header: string; bytes: number[] }
  | { kind: 'many'; count: number; prefix: string; valueLength: number }
  | { kind: 'huge'; header: string; size: number; fill: string }
  | { kind: 'contentType'; value: string | null }
  | { kind: 'name'; name: string; value: string }
  | { kind: 'remove'; attr: string }
  | { kind: 'set'; attr: string; value: string }
  | { kind: 'line'; raw: string };

const ceAttr = fc.constantFrom(
  'id',
  'source',
  'type',
  'subject',
  'specversion',
  'time',
  'dataschema',
  'fuzzext',
);
const BAD_PERCENT = [
  '%',
  '%%',
  '%Z1',
  '%1',
  '%C3',
  '%C3%28',
  '%A9',
  '%ED%A0%80',
  '%F4%90%80%80',
  '%F8%88%80%80%80',
  '%C0%AF',
  '%00',
  '%0A',
  '%7F',
  '%EF%BF%BE',
  '%EF%BB%BF',
  '%E2%82%AC',
  '%25%32%35',
  '"quoted%20value"',
  '"',
  '"unterminated',
  '\\"',
  '%u00e9',
];

const headerMutationArb: fc.Arbitrary<HeaderMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('badPercent' as const),
    attr: ceAttr,
    junk: fc
      .array(fc.oneof(fc.constantFrom(...BAD_PERCENT), fc.stringMatching(/^[A-Za-z0-9%]{0,6}$/)), {
        minLength: 1,
        maxLength: 4,
      })
      .map((p) => p.join('')),
  }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    attr: fc.constantFrom('id', 'id', 'specversion', 'source', 'type', 'fuzzext'),
    value: fc.constantFrom('dup', '1.0', '/other', '', 'a, b'),
  }),
  fc.record({
    kind: fc.constant('rawBytes' as const),
    header: fc.constantFrom(
      'ce-id',
      'ce-subject',
      'ce-type',
      'ce-source',
      'ce-fuzzext',
      'content-type',
      'x-request-id',
      'traceparent',
      'knative-fuzz',
    ),
    bytes: fc.array(
      fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.constantFrom(0x00, 0x01, 0x7f, 0x0b, 0x09)),
      {
        minLength: 1,
        maxLength: 12,
      },
    ),
  }),
  fc.record({
    kind: fc.constant('many' as const),
    count: fc.integer({ min: 100, max: 4000 }),
    prefix: fc.constantFrom('x-fuzz-', 'ce-x', 'knative-x', 'x-b3-', 'ce-'),
    valueLength: fc.integer({ min: 0, max: 8 }),
  }),
  fc.record({
    kind: fc.constant('huge' as const),
    header: fc.constantFrom(
      'ce-subject',
      'ce-fuzzext',
      'ce-id',
      'content-type',
      'x-request-id',
      'traceparent',
      'user-agent',
    ),
    size: fc.constantFrom(1_000, 4_000, 8_000, 12_000, 15_000, 16_300, 16_384, 17_000, 65_536, 300_000),
    fill: fc.constantFrom('a', ' ', '%', '"', '%C3%A9', '\xc3\xa9', '\xff'),
  }),
  fc.record({
    kind: fc.constant('contentType' as const),
    value: fc.constantFrom(
      null,
      '',
      ';',
      '/',
      'text',
      'application/cloudevents',
      'application/cloudevents+xml',
      'application/cloudevents+json',
      'APPLICATION/CLOUDEVENTS+JSON',
      'application/cloudevents-batch+json',
      'application/cloudevents+json; charset=latin1',
      'text/plain; charset="utf-8',
      'text/plain; charset=',
      'a/b; c=d; e',
      'application/json;;;',
      ' application/json ',
      '\xe9/\xe9',
      'text/plain; a="\xe9"',
      'multipart/form-data; boundary=x',
    ),
  }),
  fc.record({
    kind: fc.constant('name' as const),
    name: fc.constantFrom(
      'ce-',
      'ce-UPPER',
      'Ce-Id',
      'CE-ID',
      'ce-a_b',
      'ce-a.b',
      'ce-data',
      'ce-\xe9',
      'ce--x',
      'ce-' + 'x'.repeat(300),
      'ce-specVersion',
    ),
    value: fc.constantFrom('v', '', '1.0'),
  }),
  fc.record({
    kind: fc.constant('remove' as const),
    attr: fc.constantFrom('id', 'specversion', 'source', 'type'),
  }),
  fc.record({
    kind: fc.constant('set' as const),
    attr: ceAttr,
    value: fc.constantFrom(
      '',
      ' ',
      '2.0',
      '0.3',
      '1.0 ',
      '"1.0"',
      'not a uri',
      '::',
      '%20',
      'http://[::1',
      '2024-13-01T00:00:00Z',
      '2024-02-30T00:00:00Z',
      'x',
    ),
  }),
  fc.record({
    kind: fc.constant('line' as const),
    raw: fc.constantFrom(
      'ce-subject: a\r\n folded',
      'ce-subject : spaced',
      'no-colon-here',
      ': empty-name',
      'ce-subject:\tx\t',
      'expect: 100-continue',
      'host: second',
      'host:',
      'expect: something-else',
      'transfer-encoding: gzip',
      'connection: upgrade\r\nupgrade: websocket',
      'content-encoding: gzip',
      'x\x00y: z',
      'ce-subject: a\rb',
    ),
  }),
);

interface HeaderCase {
  mutations: HeaderMutation[];
}

const headerCaseArb: fc.Arbitrary<HeaderCase> = fc.record({
  mutations: fc.array(headerMutationArb, { minLength: 1, maxLength: 3 }),
});

function headerCaseRequest(c: HeaderCase, token: string): RawRequest {
  const { headers: base, body } = baseBinary(token);
  let headers: [string, string][] = base;
  const extra: string[] = [];
  // Values of ce-id keep the token first, so an accepted event stays traceable.
  const valueFor = (attr: string, v: string) => (attr === 'id' ? `${token}:${v}` : v);
  const set = (name: string, value: string) => {
    headers = headers.filter(([n]) => n !== name);
    headers.push([name, value]);
  };
  for (const m of c.mutations) {
    switch (m.kind) {
      case 'badPercent':
        set(`ce-${m.attr}`, valueFor(m.attr, m.junk));
        break;
      case 'duplicate':
        headers.push([`ce-${m.attr}`, valueFor(m.attr, m.value)]);
        break;
      case 'rawBytes': {
        const raw = Buffer.from(m.bytes).toString('latin1');
        set(m.header, m.header === 'ce-id' ? `${token}:${raw}` : raw);
        break;
      }
      case 'many':
        for (let i = 0; i < m.count; i++) headers.push([`${m.prefix}${i}`, 'v'.repeat(m.valueLength)]);
        break;
      case 'huge': {
        const fill = m.fill.repeat(Math.ceil(m.size / m.fill.length)).slice(0, m.size);
        set(m.header, m.header === 'ce-id' ? `${token}:${fill}` : fill);
        break;
      }
      case 'contentType':
        headers = headers.filter(([n]) => n !== 'content-type');
        if (m.value !== null) headers.push(['content-type', m.value]);
        break;
      case 'name':
        headers.push([m.name, m.name.toLowerCase() === 'ce-id' ? `${token}:${m.value}` : m.value]);
        break;
      case 'remove':
        headers = headers.filter(([n]) => n !== `ce-${m.attr}`);
        break;
      case 'set':
        set(`ce-${m.attr}`, valueFor(m.attr, m.value));
        break;
      case 'line':
        extra.push(m.raw);
        break;
    }
  }
  const head = ['POST /default/default HTTP/1.1', ...headerLines(withLength(headers, body)), ...extra];
  const size = head.join('\r\n').length;
  return {
    head,
    tail: body,
    // Past Node's limit the server may reset the connection before its 431 is read.
    complete: size < NODE_MAX_HEADER_BYTES - 100,
    headMethod: false,
  };
}

// --- 3. framing

type Framing =
  | { kind: 'exact' }
  | { kind: 'shorter'; by: number }
  | { kind: 'longer'; by: number }
  | { kind: 'declared'; value: string }
  | { kind: 'twoLengths'; delta: number }
  | { kind: 'chunked'; sizes: number[]; extension: string }
  | { kind: 'badChunk'; size: string; terminated: boolean }
  | { kind: 'chunkNoEnd' }
  | { kind: 'chunkAndLength' }
  | { kind: 'none' }
  | { kind: 'oversized'; declared: boolean }
  | { kind: 'pipelined'; requests: Pipelined[] };

/** A request sent on a kept-alive connection ahead of others, and the answer it must get. */
type Pipelined =
  'event' | 'not-an-event' | 'unknown-broker' | 'get-with-body' | 'options' | 'bad-path' | 'too-large';

const PIPELINED_ANSWER: Record<Pipelined, number> = {
  event: 202,
  'not-an-event': 400,
  'unknown-broker': 404,
  'get-with-body': 405,
  options: 200,
  'bad-path': 400,
  'too-large': 413,
};

const framingArb: fc.Arbitrary<Framing> = fc.oneof(
  fc.constant({ kind: 'exact' as const }),
  fc.record({ kind: fc.constant('shorter' as const), by: fc.integer({ min: 1, max: 12 }) }),
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('longer' as const), by: fc.integer({ min: 1, max: 1000 }) }),
  },
  fc.record({
    kind: fc.constant('declared' as const),
    value: fc.constantFrom(
      'abc',
      '-1',
      '1.5',
      '',
      '+13',
      '0x0d',
      '99999999999999999999',
      '13, 13',
      '13, 14',
      ' 13 ',
      '1e1',
      '０',
    ),
  }),
  fc.record({ kind: fc.constant('twoLengths' as const), delta: fc.integer({ min: 0, max: 3 }) }),
  fc.record({
    kind: fc.constant('chunked' as const),
    sizes: fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 5 }),
    extension: fc.constantFrom('', ';a=b', ';' + 'x'.repeat(20_000), ';q="v\\""'),
  }),
  fc.record({
    kind: fc.constant('badChunk' as const),
    size: fc.constantFrom(
      'zz',
      '-1',
      '',
      ' 5',
      '5 ',
      'FFFFFFFFFFFFFFFFFF',
      '0x5',
      '1e2',
      '100000',
      'ffffffff',
    ),
    terminated: fc.boolean(),
  }),
  fc.constant({ kind: 'chunkNoEnd' as const }),
  fc.constant({ kind: 'chunkAndLength' as const }),
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('oversized' as const), declared: fc.boolean() }),
  fc.record({
    kind: fc.constant('pipelined' as const),
    requests: fc.array(fc.constantFrom<Pipelined>(...(Object.keys(PIPELINED_ANSWER) as Pipelined[])), {
      minLength: 1,
      maxLength: 4,
    }),
  }),
);

interface FramingCase {
  framing: Framing;
  close: boolean;
}

const framingCaseArb: fc.Arbitrary<FramingCase> = fc.record({ framing: framingArb, close: fc.boolean() });

/** What to send for a case: the requests that could be accepted, in answer order, and the first answers required. */
interface Exchange {
  req: RawRequest;
  tokens: string[];
  /** The answers must begin with these statuses. */
  expect?: number[];
  /** An accepted event goes to the trigger's subscriber (not to a built-in sink). */
  deliverable?: boolean;
}

/** A request whose body is framed as the case says, with the answers a correct server gives. */
function framingRequest(c: FramingCase, token: string): Exchange {
  const { headers: base, body } = baseBinary(token);
  const headers: [string, string][] = c.close ? [...base, ['connection', 'close']] : base;
  const line = 'POST /default/default HTTP/1.1';
  const f = c.framing;
  const make = (hs: [string, string][], tail: Buffer, complete: boolean, expect?: number[]): Exchange => ({
    req: { head: [line, ...headerLines(hs)], tail, complete, headMethod: false },
    tokens: [token],
    expect,
  });
  const chunk = (data: Buffer, ext = '') =>
    Buffer.concat([Buffer.from(data.length.toString(16) + ext + '\r\n'), data, Buffer.from('\r\n')]);
  const END = Buffer.from('0\r\n\r\n');
  switch (f.kind) {
    case 'exact':
      return make(withLength(headers, body), body, true, [202]);
    case 'shorter':
      // The first request ends early and the rest is a malformed next request: Node answers that one
      // with 400 and closes, possibly before the first request's own answer is written.
      return make([...headers, ['content-length', String(Math.max(0, body.length - f.by))]], body, true);
    case 'longer':
      return make([...headers, ['content-length', String(body.length + f.by)]], body, false);
    case 'declared':
      return make([...headers, ['content-length', f.value]], body, false);
    case 'twoLengths':
      return make(
        [
          ...headers,
          ['content-length', String(body.length)],
          ['content-length', String(body.length + f.delta)],
        ],
        body,
        f.delta === 0,
      );
    case 'chunked': {
      const parts: Buffer[] = [];
      let off = 0;
      for (const size of f.sizes) {
        if (off >= body.length) break;
        parts.push(chunk(body.subarray(off, off + size), f.extension));
        off += size;
      }
      if (off < body.length) parts.push(chunk(body.subarray(off), f.extension));
      parts.push(END);
      return make(
        [...headers, ['transfer-encoding', 'chunked']],
        Buffer.concat(parts),
        true,
        // Node refuses chunk extensions over 16 KiB with 413.
        f.extension.length < 10_000 ? [202] : [413],
      );
    }
    case 'badChunk': {
      const tail = Buffer.concat([
        Buffer.from(f.size + '\r\n'),
        body,
        Buffer.from('\r\n'),
        f.terminated ? END : Buffer.alloc(0),
      ]);
      return make([...headers, ['transfer-encoding', 'chunked']], tail, false);
    }
    case 'chunkNoEnd':
      return make([...headers, ['transfer-encoding', 'chunked']], chunk(body), false);
    case 'chunkAndLength':
      return make(
        [...headers, ['transfer-encoding', 'chunked'], ['content-length', String(body.length)]],
        Buffer.concat([chunk(body), END]),
        true,
        // Both framings at once is how requests are smuggled: refused.
        [400],
      );
    case 'none':
      // No length: an empty body; the bytes sent after it are a malformed next request (as above).
      return make(headers, body, true);
    case 'oversized': {
      // A body over the limit, then a valid event on the same connection: the server answers 413 and,
      // having drained the rest, serves the next request.
      const big = Buffer.alloc(MAX_BODY_BYTES + 1, 0x61);
      const next = baseBinary(`${token}b`);
      const second = Buffer.concat([
        Buffer.from([line, ...headerLines(withLength(next.headers, next.body))].join('\r\n') + '\r\n\r\n'),
        next.body,
      ]);
      if (f.declared) {
        return {
          req: {
            head: [line, ...headerLines(withLength(base, big))],
            tail: Buffer.concat([big, second]),
            complete: true,
            headMethod: false,
            responses: 2,
          },
          tokens: [token, `${token}b`],
          expect: [413, 202],
        };
      }
      const parts = [chunk(big.subarray(0, 1 << 19)), chunk(big.subarray(1 << 19)), END];
      return {
        req: {
          head: [line, ...headerLines([...base, ['transfer-encoding', 'chunked']])],
          tail: Buffer.concat([...parts, second]),
          // The server may close after its 413 instead of reading the rest of a chunked body.
          complete: false,
          headMethod: false,
          responses: 2,
        },
        tokens: [token, `${token}b`],
        expect: [413],
      };
    }
    case 'pipelined': {
      // Requests answered early (errors, OPTIONS) must leave the connection at the next request:
      // each is followed by more, the last always a valid event.
      const kinds: Pipelined[] = [...f.requests, 'event'];
      const tokens: string[] = [];
      const parts: Buffer[] = [];
      for (const [i, kind] of kinds.entries()) {
        const t = `${token}p${i}`;
        tokens.push(t);
        const next = baseBinary(t);
        let first = line;
        let hs = next.headers;
        let payload = next.body;
        if (kind === 'not-an-event') hs = hs.filter(([n]) => n !== 'ce-specversion');
        if (kind === 'unknown-broker') first = 'POST /default/nope HTTP/1.1';
        if (kind === 'get-with-body') first = 'GET /default/default HTTP/1.1';
        if (kind === 'options') first = 'OPTIONS /default/default HTTP/1.1';
        if (kind === 'bad-path') first = 'POST /default/default/extra HTTP/1.1';
        if (kind === 'too-large') payload = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
        parts.push(
          Buffer.from([first, ...headerLines(withLength(hs, payload))].join('\r\n') + '\r\n\r\n'),
          payload,
        );
      }
      const all = Buffer.concat(parts);
      // The first request's head is split off to fit RawRequest; the rest follows it byte for byte.
      const firstEnd = all.indexOf('\r\n\r\n') + 4;
      return {
        req: {
          head: all.toString('latin1', 0, firstEnd - 4).split('\r\n'),
          tail: all.subarray(firstEnd),
          complete: true,
          headMethod: false,
          responses: kinds.length,
        },
        tokens,
        expect: kinds.map((k) => PIPELINED_ANSWER[k]),
      };
    }
  }
}

// --- 4. bodies

type BodyCase =
  | { kind: 'random'; mode: Mode; bytes: Uint8Array }
  | { kind: 'truncated'; mode: Mode; fraction: number }
  | { kind: 'invalidUtf8'; mode: Mode; fraction: number; bytes: readonly number[] }
  | {
      kind: 'deep';
      mode: Mode;
      depth: number;
      open: '[' | '{"a":';
      closed: boolean;
      where: 'body' | 'data' | 'extension';
      datacontenttype: string;
    }
  | { kind: 'crafted'; mode: Mode; index: number }
  | { kind: 'empty'; mode: Mode }
  | { kind: 'manyMembers'; mode: Mode; count: number; escapedData: boolean }
  | { kind: 'oversize'; mode: Mode };

type Mode = 'binary' | 'structured' | 'batch';

const MODE_CONTENT_TYPE: Record<Mode, string> = {
  binary: 'application/json',
  structured: 'application/cloudevents+json',
  batch: 'application/cloudevents-batch+json',
};

const ID = '$ID';
/** Hand-made structured bodies probing the JSON format reader ($ID is replaced by a traceable id). */
const CRAFTED: string[] = [
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","data":1,"data":[2]}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","subject":"${'x'.repeat(20_000)}"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t",${Array.from({ length: 3000 }, (_, i) => `"e${i}":1`).join(',')}}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","subject":"a\\u0000b"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","subject":"\\ud83d"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","subject":"\\ufffe"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","subject":" \\"quoted\\" %41 "}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","d\\u0061ta":{"x":1}}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","data":1,"data_base64":"AA=="}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","data_base64":123}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","data_base64":null,"data":"x"}`,
  `{"specversion":1.0,"id":"$ID","source":"/s","type":"t"}`,
  `{"specversion":"1.0","id":{"x":"$ID"},"source":"/s","type":"t"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","__proto__":{"x":1}}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","constructor":"c"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","subject":null}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","big":1e999}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","neg":-0}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","huge":99999999999}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","data":"a\u0001b"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","datacontenttype":"text/plain","data":"\\ud800"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","datacontenttype":"text/plain","data":{"a":[1,2]}}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","datacontenttype":"application/octet-stream","data":[1,2]}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","datacontenttype":"text/plain; a=\\"\u20ac\\"","data":"x"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","datacontenttype":"text/plain; a=\\"\u00e9\\"","data":"x"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t"} trailing`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t"}{"a":1}`,
  `\ufeff{"specversion":"1.0","id":"$ID","source":"/s","type":"t"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","data":}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","data":[1,}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","data":tru}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","data":"unterminated}`,
  `{"a\\"data":1,"specversion":"1.0","id":"$ID","source":"/s","type":"t"}`,
  `{"x":"\\"data\\":[","specversion":"1.0","id":"$ID","source":"/s","type":"t","data":[1]}`,
  `{"specversion":"0.3","id":"$ID","source":"/s","type":"t","datacontentencoding":"base64","data":"aGk="}`,
  `{"specversion":"0.3","id":"$ID","source":"/s","type":"t","datacontentencoding":"base64","data":{"a":1}}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","data_base64":"!!!not base64"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","ext":["a"]}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","Ext":"a"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","knativebrokerttl":"0"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","knativebrokerttl":1}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","knativebrokerttl":"-5"}`,
  `{"specversion":"1.0","id":"$ID","source":"/s","type":"t","knativebrokerttl":true}`,
  `[{"specversion":"1.0","id":"$ID","source":"/s","type":"t"}]`,
  `[]`,
  `null`,
  `"string"`,
  `{}`,
];

const modeArb = fc.constantFrom<Mode>('binary', 'structured', 'structured', 'batch');

const bodyCaseArb: fc.Arbitrary<BodyCase> = fc.oneof(
  fc.record({
    kind: fc.constant('random' as const),
    mode: modeArb,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 2048 }),
  }),
  fc.record({
    kind: fc.constant('truncated' as const),
    mode: modeArb,
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  fc.record({
    kind: fc.constant('invalidUtf8' as const),
    mode: modeArb,
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    bytes: fc.constantFrom(
      [0xff],
      [0xc3, 0x28],
      [0xed, 0xa0, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xc3],
      [0xe2, 0x82],
      [0x80],
    ),
  }),
  fc.record({
    kind: fc.constant('deep' as const),
    mode: modeArb,
    depth: fc.constantFrom(1_000, 10_000, 100_000),
    open: fc.constantFrom('[' as const, '{"a":' as const),
    closed: fc.boolean(),
    where: fc.constantFrom('body' as const, 'data' as const, 'data' as const, 'extension' as const),
    datacontenttype: fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'),
  }),
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('crafted' as const),
      mode: modeArb,
      index: fc.nat({ max: CRAFTED.length - 1 }),
    }),
  },
  fc.record({ kind: fc.constant('empty' as const), mode: modeArb }),
  fc.record({
    kind: fc.constant('manyMembers' as const),
    mode: modeArb,
    count: fc.constantFrom(1_000, 100_000, 500_000),
    escapedData: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('oversize' as const), mode: modeArb }),
);

function deepValue(depth: number, open: '[' | '{"a":', closed: boolean): string {
  const close = open === '[' ? ']' : '}';
  const inner = open === '[' ? '' : '1';
  return open.repeat(depth) + inner + (closed ? close.repeat(depth) : '');
}

function bodyCaseRequest(c: BodyCase, token: string): RawRequest {
  const valid = JSON.stringify(baseStructured(token, { data: { a: [1, 'two', null] } }));
  let body: Buffer;
  switch (c.kind) {
    case 'random':
      body = Buffer.from(c.bytes);
      break;
    case 'truncated':
      body = Buffer.from(valid.slice(0, Math.floor(valid.length * c.fraction)));
      break;
    case 'invalidUtf8': {
      const at = Math.floor(valid.length * c.fraction);
      body = Buffer.concat([
        Buffer.from(valid.slice(0, at)),
        Buffer.from(c.bytes),
        Buffer.from(valid.slice(at)),
      ]);
      break;
    }
    case 'deep': {
      const deep = deepValue(c.depth, c.open, c.closed);
      const head = JSON.stringify(baseStructured(token, { datacontenttype: c.datacontenttype })).slice(0, -1);
      body = Buffer.from(
        c.where === 'body' ? deep : c.where === 'data' ? `${head},"data":${deep}}` : `${head},"ext":${deep}}`,
      );
      break;
    }
    case 'crafted':
      body = Buffer.from(CRAFTED[c.index]!.replace(ID, `${token}:c`));
      break;
    case 'manyMembers': {
      // A body of many short members must be read in time linear in its size.
      const head = JSON.stringify(baseStructured(token)).slice(0, -1);
      const data = c.escapedData ? ',"d\\u0061ta":[1]' : '';
      body = Buffer.from(`${head}${',"aa":1'.repeat(c.count)}${data}}`);
      break;
    }
    case 'empty':
      body = Buffer.alloc(0);
      break;
    case 'oversize':
      body = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
      break;
  }
  const headers: [string, string][] =
    c.mode === 'binary'
      ? baseBinary(token).headers
      : [
          ['host', 'fuzz'],
          ['content-type', MODE_CONTENT_TYPE[c.mode]],
        ];
  return {
    head: ['POST /default/default HTTP/1.1', ...headerLines(withLength(headers, body))],
    tail: body,
    complete: true,
    headMethod: false,
  };
}

// ---------------------------------------------------------------------------------------------

const BROKER = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: default }
`;

const catchAll = (uri: string) => `---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: everything, namespace: default }
spec:
  broker: default
  subscriber: { uri: "${uri}" }
`;

describe('fuzzing the standalone HTTP boundary', () => {
  let dir: string;
  let subscriber: TestSubscriber;
  let app: Awaited<ReturnType<typeof runStandalone>>;
  let port: number;
  // Jest gives the test its own copy of `process`; uncaught errors are emitted on the real one.
  const realProcess = runInThisContext('process') as NodeJS.Process;
  const processErrors: string[] = [];
  const onUncaught = (err: unknown) => processErrors.push(`uncaught exception: ${String(err)}`);
  const onRejection = (err: unknown) => processErrors.push(`unhandled rejection: ${String(err)}`);

  let seq = 0;
  /** Tokens of requests answered 202 whose event must reach the subscriber, with the request for reporting. */
  const accepted = new Map<string, string>();
  /** Valid events answered 202, by token: what the subscriber must receive. */
  const expected = new Map<string, { attributes: Record<string, string>; data: Buffer }>();
  const statusCounts = new Map<number | string, number>();

  const count = (key: number | string) => statusCounts.set(key, (statusCounts.get(key) ?? 0) + 1);

  beforeAll(async () => {
    realProcess.on('uncaughtException', onUncaught);
    realProcess.on('unhandledRejection', onRejection);
    dir = mkdtempSync(join(tmpdir(), 'fuzz-'));
    subscriber = await startSubscriber();
    writeFileSync(join(dir, 'broker.yaml'), BROKER + catchAll(`${subscriber.url}/all`));
    app = await runStandalone(
      optionsFrom([
        ...['--config', dir, '--port', '0', '--max-body-bytes', String(MAX_BODY_BYTES), '--no-watch'],
        // Large enough that no queue fills: a 503 here would be a bug, not backpressure.
        ...['--queue-capacity', '1000000'],
      ]),
      () => undefined,
    );
    port = app.service.port;
  });

  afterAll(async () => {
    await app?.service.close();
    await subscriber?.close();
    rmSync(dir, { recursive: true, force: true });
    realProcess.off('uncaughtException', onUncaught);
    realProcess.off('unhandledRejection', onRejection);
    if (process.env.FUZZ_VERBOSE)
      console.log(
        'fuzz answers',
        [...statusCounts]
          .sort()
          .map(([k, n]) => `${n}\t${k}`)
          .join('\n'),
      );
  });

  /** Sends a request and checks its answers; returns why it is wrong, or undefined. */
  async function exchange(category: string, sent: Exchange): Promise<string | undefined> {
    const { req, tokens, expect: required = [], deliverable = true } = sent;
    const answer = await sendRaw(port, req);
    const describe = () =>
      `request ${JSON.stringify(wire(req).toString('latin1').slice(0, 600))}${wire(req).length > 600 ? '…' : ''} ` +
      `answered ${JSON.stringify(answer)}`;
    if (answer.statuses.length === 0)
      count(`${category}: no answer (${answer.timedOut ? 'client' : 'server'} closed)`);
    for (const [i, s] of answer.statuses.entries()) {
      const body = /\r\n\r\n([^]*)$/.exec(answer.heads[i]!)?.[1] ?? '';
      count(`${category}: ${s} ${body.replace(/\d+/g, 'N').slice(0, 90)}`);
    }
    if (req.complete && answer.statuses.length === 0) {
      // Node's server drops a CONNECT it has no handler for without answering.
      if (answer.timedOut || !req.head[0]?.startsWith('CONNECT '))
        return `no answer to a complete request: ${describe()}`;
    }
    if (required.some((s, i) => answer.statuses[i] !== s))
      return `expected answers starting ${JSON.stringify(required)}: ${describe()}`;
    for (const [i, s] of answer.statuses.entries()) {
      if (s >= 500 || s < 0) return `answered ${s}: ${describe()}`;
      if (s === 202) {
        const token = tokens[i];
        if (token === undefined) return `a 202 for a request no event id can be traced to: ${describe()}`;
        // Not checked for delivery: an event whose head is near Node's limit is accepted, but the
        // request delivering it (the same attributes re-encoded, plus knativearrivaltime, prefer,
        // kn-namespace…) can outgrow the 16 KiB head limit of a subscriber with Node's defaults, which
        // answers 431; the delivery is then counted and logged as failed (finding, not fixed here).
        if (deliveredHeadBound(req) > NODE_MAX_HEADER_BYTES)
          count(`${category}: accepted, too large to deliver`);
        else if (deliverable) accepted.set(token, describe());
      }
    }
    return undefined;
  }

  /** Sends a random valid event and checks it is accepted. */
  async function sendValid(e: ValidEvent): Promise<string | undefined> {
    const token = `v${++seq}`;
    const id = `${token}:${e.idSuffix}`;
    const req = validEventRequest(e, id);
    const answer = await sendRaw(port, req);
    if (answer.statuses[0] !== 202) {
      return `valid event not accepted: ${JSON.stringify(wire(req).toString('latin1'))} answered ${JSON.stringify(answer)}`;
    }
    accepted.set(token, JSON.stringify(e));
    expected.set(token, { attributes: expectedAttributes(e, id), data: dataBytes(e.data) });
    return undefined;
  }

  async function stillServing(): Promise<void> {
    const health = await sendRaw(port, {
      head: ['GET /healthz HTTP/1.1', 'host: fuzz', 'connection: close'],
      tail: Buffer.alloc(0),
      complete: true,
      headMethod: false,
    });
    expect(health.statuses).toEqual([200]);
    const e = fc.sample(validEventArb, { numRuns: 1, seed: seq })[0]!;
    expect(await sendValid(e)).toBeUndefined();
  }

  /** Runs a property over fuzz cases, each followed (half the time) by a random valid event. */
  async function fuzz<C>(
    category: string,
    arb: fc.Arbitrary<C>,
    numRuns: number,
    build: (c: C, token: string) => Exchange,
  ): Promise<void> {
    await fc.assert(
      fc.asyncProperty(arb, fc.option(validEventArb, { freq: 2 }), async (c, valid) => {
        const token = `f${++seq}`;
        const problem = await exchange(category, build(c, token));
        if (problem !== undefined) throw new Error(problem);
        if (valid !== null) {
          const validProblem = await sendValid(valid);
          if (validProblem !== undefined) throw new Error(validProblem);
        }
      }),
      { numRuns: numRuns * FUZZ_SCALE, seed: FUZZ_SEED, interruptAfterTimeLimit: 20_000 * FUZZ_SCALE },
    );
    await stillServing();
  }

  it(
    'random methods, request targets, query strings and non-HTTP bytes get no 5xx',
    async () => {
      const garbage = fc.uint8Array({ minLength: 1, maxLength: 512 }).map((bytes) => ({ bytes }));
      const arb = fc.oneof({ weight: 9, arbitrary: requestLineArb }, { weight: 1, arbitrary: garbage });
      await fuzz('request line', arb, 120, (c, token) =>
        'bytes' in c
          ? {
              req: { head: [], tail: Buffer.from(c.bytes), complete: false, headMethod: false },
              tokens: [],
            }
          : {
              req: requestLineRequest(c, token),
              tokens: [token],
              // The built-in sinks consume what they accept.
              deliverable: !c.target.startsWith('/_sinks/'),
            },
      );
    },
    30_000 * FUZZ_SCALE,
  );

  it(
    'malformed header sets get no 5xx: bad percent-encoding, duplicates, raw bytes, thousands of headers, huge values',
    async () => {
      await fuzz('headers', headerCaseArb, 120, (c, token) => ({
        req: headerCaseRequest(c, token),
        tokens: [token],
      }));
    },
    30_000 * FUZZ_SCALE,
  );

  it(
    'content-length mismatches and bad chunked encoding get no 5xx and leave the connection usable',
    async () => {
      await fuzz('framing', framingCaseArb, 60, (c, token) => framingRequest(c, token));
    },
    30_000 * FUZZ_SCALE,
  );

  it(
    'truncated, deeply nested, non-UTF-8 and random bodies in binary, structured and batch mode get no 5xx',
    async () => {
      await fuzz('bodies', bodyCaseArb, 100, (c, token) => ({
        req: bodyCaseRequest(c, token),
        tokens: [token],
      }));
    },
    30_000 * FUZZ_SCALE,
  );

  it(
    'every event answered 202 reaches the subscriber; valid ones exactly once with their attributes and data',
    async () => {
      const byToken = new Map<string, RecordedRequest[]>();
      const index = () => {
        byToken.clear();
        for (const r of subscriber.requests) {
          const id = r.headers['ce-id'];
          if (typeof id !== 'string') continue;
          // Tokens are ASCII and end at the first ':', in either header form.
          const token = id.slice(0, id.indexOf(':'));
          const copies = byToken.get(token);
          if (copies) copies.push(r);
          else byToken.set(token, [r]);
        }
        return byToken;
      };
      await eventually(
        () => [...accepted.keys()].every((t) => index().has(t)),
        20_000,
        'every accepted event at the subscriber',
      ).catch(() => undefined);
      const missing = [...accepted].filter(([t]) => !byToken.has(t)).map(([, request]) => request);
      expect(missing).toEqual([]);
      for (const [token, want] of expected) {
        const got = byToken.get(token)!;
        expect({ token, copies: got.length }).toEqual({ token, copies: 1 });
        const attributes = receivedAttributes(got[0]!, want.attributes);
        expect(attributes.knativearrivaltime).toBeDefined();
        delete attributes.knativearrivaltime;
        expect({ token, attributes }).toEqual({ token, attributes: want.attributes });
        expect({ token, data: got[0]!.body.toString('base64') }).toEqual({
          token,
          data: want.data.toString('base64'),
        });
      }
      expect(expected.size).toBeGreaterThan(100);
    },
    30_000 * FUZZ_SCALE,
  );

  it('keeps serving, and recorded no uncaught exception or unhandled rejection', async () => {
    await stillServing();
    expect(processErrors).toEqual([]);
  });
});
