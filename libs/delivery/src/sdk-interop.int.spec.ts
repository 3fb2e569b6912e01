// What our Dispatcher sends, read by the official SDKs' own receivers: the Go SDK (what upstream Knative
// and most Go subscribers use) and the JavaScript SDK on node:http, in both content modes and both
// header forms, for values with spaces, double quotes, '%' and non-ASCII.
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { type CloudEvent, type HeaderEncoding, toBinary } from '@eventing/cloudevents';
import { type GoReceiver, SubscriberServer, goSdkBinary, startGoReceiver } from '@eventing/testing';
import { type CloudEvent as SdkEvent, HTTP } from 'cloudevents';
import { Dispatcher, type DeliveryRequest } from './dispatcher';
import { NO_RETRY } from './policy';

const VALUES = ['café ☕', '"quoted"', '50% off', 'ext value 1'];
/** The same values percent-encoded (HTTP binding 3.1.3.2), which is what a Go subscriber sees with 'percent'. */
const PERCENT_ENCODED: Record<string, string> = {
  'café ☕': 'caf%C3%A9%20%E2%98%95',
  '"quoted"': '%22quoted%22',
  '50% off': '50%25%20off',
  'ext value 1': 'ext%20value%201',
};
const TIME = '2024-05-06T07:08:09.123Z';
const DATA = 'hello ☕';

let seq = 0;
function eventWith(value: string): CloudEvent {
  return {
    attributes: {
      specversion: '1.0',
      id: `interop-${++seq}`,
      source: '/interop/dispatcher',
      type: 'dev.interop.values',
      time: TIME,
      subject: value,
      myext: value,
      otherext: `a ${value} b`,
      datacontenttype: 'text/plain; charset=utf-8',
    },
    data: Buffer.from(DATA),
  };
}

function request(event: CloudEvent, subscriberUri: string, format: 'binary' | 'json'): DeliveryRequest {
  return {
    event,
    headers: {},
    subscriberUri,
    namespace: 'ns',
    format,
    policy: NO_RETRY,
    malformedReply: 'fail',
  };
}

type Case = [string, 'binary' | 'json'];
const cases: Case[] = VALUES.flatMap((v): Case[] => [
  [v, 'binary'],
  [v, 'json'],
]);

describe('the Go SDK receiver (sdk-go v2.16.2) reads what our Dispatcher sends', () => {
  let go: GoReceiver;
  const dispatchers: Record<HeaderEncoding, Dispatcher> = {
    upstream: new Dispatcher(),
    percent: new Dispatcher({ headerEncoding: 'percent' }),
  };

  beforeAll(async () => {
    await goSdkBinary(); // the first build downloads modules
    go = await startGoReceiver();
  }, 300_000);

  afterAll(async () => {
    await Promise.all([dispatchers.upstream.close(), dispatchers.percent.close()]);
    await go?.close();
  });

  /** Delivers and returns what the Go SDK received. */
  async function deliverToGo(dispatcher: Dispatcher, event: CloudEvent, format: 'binary' | 'json') {
    const before = go.events.length;
    const outcome = await dispatcher.deliver(request(event, go.url, format));
    expect(outcome).toMatchObject({ kind: 'delivered' });
    const events = await go.waitFor(before + 1);
    return events[before]!;
  }

  it.each(cases)(
    "'upstream' (default): %j in %s mode arrives as exactly that string",
    async (value, format) => {
      const event = eventWith(value);
      const got = await deliverToGo(dispatchers.upstream, event, format);
      expect(got.encoding).toBe(format === 'json' ? 'structured' : 'binary');
      const { myext, otherext, ...attributes } = event.attributes;
      expect(got.attributes).toEqual(attributes);
      expect(got.extensions).toEqual({ myext, otherext });
      expect(got.data).toBe(DATA);
    },
  );

  it.each(VALUES)(
    "'percent', binary mode: %j arrives percent-encoded (the SDK does not decode)",
    async (value) => {
      const got = await deliverToGo(dispatchers.percent, eventWith(value), 'binary');
      expect(got.attributes.subject).toBe(PERCENT_ENCODED[value]);
      expect(got.extensions.myext).toBe(PERCENT_ENCODED[value]);
      expect(got.data).toBe(DATA);
    },
  );

  it.each(VALUES)("'percent', structured mode: %j arrives unchanged (no headers involved)", async (value) => {
    const got = await deliverToGo(dispatchers.percent, eventWith(value), 'json');
    expect(got.attributes.subject).toBe(value);
    expect(got.extensions.myext).toBe(value);
  });

  describe('replies by URL and dead letters use the same header form', () => {
    let subscriber: SubscriberServer;

    afterEach(() => subscriber.close());

    it('a binary reply (raw UTF-8 from the subscriber) is re-sent to the reply URL as the Go SDK writes it', async () => {
      const reply = eventWith('café ☕ "quoted" 50% off');
      const message = toBinary(reply);
      subscriber = await SubscriberServer.start([
        { status: 200, headers: message.headers, body: message.body ?? '' },
      ]);
      const before = go.events.length;
      const outcome = await dispatchers.upstream.deliver({
        ...request(eventWith('ext value 1'), subscriber.url, 'binary'),
        reply: { uri: go.url },
      });
      expect(outcome).toMatchObject({ kind: 'delivered', replied: true });
      const [got] = (await go.waitFor(before + 1)).slice(before);
      expect(got!.attributes.subject).toBe('café ☕ "quoted" 50% off');
      expect(got!.extensions.myext).toBe('café ☕ "quoted" 50% off');
    });

    it.each(['binary', 'json'] as const)('a dead letter (%s) carries the exact strings', async (format) => {
      subscriber = await SubscriberServer.start([{ status: 400, body: 'no' }]);
      const before = go.events.length;
      const event = eventWith('café ☕');
      const outcome = await dispatchers.upstream.deliver({
        ...request(event, subscriber.url, format),
        deadLetterUri: go.url,
      });
      expect(outcome).toMatchObject({ kind: 'dead-lettered', status: 400 });
      const [got] = (await go.waitFor(before + 1)).slice(before);
      expect(got!.attributes.subject).toBe('café ☕');
      expect(got!.extensions).toMatchObject({ myext: 'café ☕', knativeerrorcode: '400' });
    });
  });
});

describe('the JavaScript SDK (cloudevents 10) on node:http reads what our Dispatcher sends', () => {
  let server: Server;
  let url: string;
  const received: SdkEvent<unknown>[] = [];
  const upstream = new Dispatcher();
  const percent = new Dispatcher({ headerEncoding: 'percent' });

  beforeAll(async () => {
    // A receiver as the SDK documents it: HTTP.toEvent over node:http's headers and the body text.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(
          HTTP.toEvent({ headers: req.headers, body: Buffer.concat(chunks).toString() }) as SdkEvent<unknown>,
        );
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await Promise.all([upstream.close(), percent.close()]);
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function deliverToSdk(dispatcher: Dispatcher, event: CloudEvent, format: 'binary' | 'json') {
    const outcome = await dispatcher.deliver(request(event, url, format));
    expect(outcome).toMatchObject({ kind: 'delivered' });
    return received.pop()!;
  }

  it.each(VALUES.filter((v) => /^[\x20-\x7e]*$/.test(v)))(
    "'upstream', binary mode: ASCII %j arrives exactly",
    async (value) => {
      const sdk = await deliverToSdk(upstream, eventWith(value), 'binary');
      expect([sdk.subject, sdk['myext']]).toEqual([value, value]);
    },
  );

  it("'upstream', binary mode: non-ASCII arrives as node:http hands over any raw header, its UTF-8 bytes as latin1", async () => {
    // The same as from upstream Knative: the SDK does no decoding, node:http reads header bytes as latin1.
    const sdk = await deliverToSdk(upstream, eventWith('café ☕'), 'binary');
    expect(sdk.subject).toBe('cafÃ© â\u0098\u0095');
    expect(Buffer.from(sdk.subject!, 'latin1').toString('utf8')).toBe('café ☕');
  });

  it.each(VALUES)(
    "'percent', binary mode: %j arrives percent-encoded (the SDK does not decode)",
    async (value) => {
      const sdk = await deliverToSdk(percent, eventWith(value), 'binary');
      expect([sdk.subject, sdk['myext']]).toEqual([PERCENT_ENCODED[value], PERCENT_ENCODED[value]]);
    },
  );

  it.each(cases.filter(([, f]) => f === 'json'))('structured mode: %j arrives exactly', async (value) => {
    for (const dispatcher of [upstream, percent]) {
      const sdk = await deliverToSdk(dispatcher, eventWith(value), 'json');
      expect([sdk.subject, sdk['myext'], sdk.data]).toEqual([value, value, DATA]);
    }
  });
});

describe('bytes on the wire (a raw socket reads what undici writes)', () => {
  let tcp: TcpServer;
  let url: string;
  const heads: Buffer[] = [];
  const dispatcher = new Dispatcher();

  beforeAll(async () => {
    tcp = createTcpServer((socket) => {
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        heads.push(buf.subarray(0, end));
        socket.end('HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      });
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(tcp.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await dispatcher.close();
    await new Promise<void>((r) => tcp.close(() => r()));
  });

  /** The bytes after `name: ` on the header line. */
  function headerBytes(head: Buffer, name: string): Buffer {
    const start = head.indexOf(`\r\n${name}: `);
    expect(start).toBeGreaterThan(0);
    const from = start + name.length + 4;
    const to = head.indexOf('\r\n', from);
    return head.subarray(from, to < 0 ? head.length : to);
  }

  it.each([
    ['café ☕', Buffer.from('café ☕', 'utf8')],
    ['"quoted"', Buffer.from('"quoted"')],
    ['50% off', Buffer.from('50% off')],
    ['ext value 1', Buffer.from('ext value 1')],
    ['line\r\nbreak', Buffer.from('line%0D%0Abreak')],
  ])("'upstream' writes %j as these bytes", async (value, bytes) => {
    const event = eventWith(value);
    const result = await dispatcher.send(url, event, {}, { format: 'binary' });
    expect(result.ok).toBe(true);
    const head = heads.pop()!;
    expect(headerBytes(head, 'ce-subject').toString('hex')).toBe(bytes.toString('hex'));
    expect(headerBytes(head, 'ce-myext').toString('hex')).toBe(bytes.toString('hex'));
  });
});
