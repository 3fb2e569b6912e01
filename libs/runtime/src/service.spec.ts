import { Module } from '@nestjs/common';
import { connect } from 'node:net';
import { HealthController, READINESS } from './health';
import { type RunningService, startService } from './service';

@Module({
  controllers: [HealthController],
  providers: [{ provide: READINESS, useValue: { readiness: () => ({ ready: true }) } }],
})
class TestModule {}

const HEADERS_MS = 1_000;
const REQUEST_MS = 2_000;
/** The brief's bound: a stalled client is cut within its limit plus this. */
const SLACK_MS = 1_500;

/** What a raw client saw: everything the server sent, and when the server closed the socket. */
interface RawExchange {
  response: string;
  closedAfterMs: number;
}

/**
 * Opens a socket and writes `steps` ([delay from connecting in ms, text]); resolves when the server
 * closes the socket (or after `giveUpMs`, with what was received so far, then closes it itself).
 */
function rawExchange(port: number, steps: [number, string][], giveUpMs = 10_000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let response = '';
    const timers: NodeJS.Timeout[] = [];
    const finish = () => {
      timers.forEach(clearTimeout);
      resolve({ response, closedAfterMs: Date.now() - started });
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    socket.on('close', finish);
    socket.on('connect', () => {
      for (const [at, text] of steps)
        timers.push(setTimeout(() => socket.writable && socket.write(text), at));
      timers.push(setTimeout(() => socket.destroy(), giveUpMs));
    });
  });
}

const post = (body: string, extra = '') =>
  `POST /ns/broker HTTP/1.1\r\nHost: test\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

describe('service shell: header and request timeouts', () => {
  let service: RunningService;
  // Each case is a raw client started together in beforeAll, so the cases wait out their limits at
  // the same time; each test then checks what its client saw.
  let exchanges: Record<
    'stalledHeader' | 'silent' | 'stalledBody' | 'slowComplete' | 'slowAnswer' | 'keepAlive',
    Promise<RawExchange>
  >;

  beforeAll(async () => {
    service = await startService({
      module: TestModule,
      port: 0,
      host: '127.0.0.1',
      headersTimeoutMs: HEADERS_MS,
      requestTimeoutMs: REQUEST_MS,
      fastPath: () => (req, res) => {
        let size = 0;
        req.on('data', (chunk: Buffer) => (size += chunk.length));
        req.on('error', () => undefined);
        req.on('end', () => {
          // `?answerAfter=MS`: a handler slower than the request limit, once it has the request.
          const wait = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('answerAfter') ?? 0);
          setTimeout(() => res.end(`read ${size} bytes`), wait);
        });
      },
    });
    const port = service.port;
    exchanges = {
      stalledHeader: rawExchange(port, [[0, 'POST /ns/broker HTTP/1.1\r\nHost: test\r\nContent-']]),
      silent: rawExchange(port, []),
      stalledBody: rawExchange(port, [
        [0, 'POST /ns/broker HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n12345'],
      ]),
      slowComplete: rawExchange(port, [
        [0, 'POST /ns/broker HTTP/1.1\r\n'],
        [400, 'Host: test\r\nConnection: close\r\n'],
        [800, 'Content-Length: 10\r\n\r\n12345'],
        [1_500, '67890'],
      ]),
      slowAnswer: rawExchange(port, [
        [
          0,
          post('{"a":1}', 'Connection: close\r\n').replace(
            '/ns/broker',
            `/ns/broker?answerAfter=${REQUEST_MS + 500}`,
          ),
        ],
      ]),
      keepAlive: rawExchange(port, [
        [0, post('first')],
        [REQUEST_MS + 500, 'POST /ns/broker HTTP/1.1\r\nHost'],
      ]),
    };
  });
  afterAll(() => service.close());

  it('keeps serving other clients while stalled ones wait to be cut', async () => {
    const stalled = Array.from({ length: 20 }, (_, i) =>
      rawExchange(service.port, [[0, i % 2 === 0 ? 'POST / HTTP/1.1\r\n' : post('0123456789').slice(0, -5)]]),
    );
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${service.url}/ns/broker`, { method: 'POST', body: `event ${i}` });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`read ${`event ${i}`.length} bytes`);
    }
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(HEADERS_MS);
    for (const run of await Promise.all(stalled)) expect(run.response).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('cuts a client that stalls in the middle of its headers with 408 within the headers limit + 1.5 s', async () => {
    const run = await exchanges.stalledHeader;
    expect(run.response).toBe('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    expect(run.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_MS - 50);
    expect(run.closedAfterMs).toBeLessThan(HEADERS_MS + SLACK_MS);
  });

  it('cuts a client that connects and sends nothing the same way', async () => {
    const run = await exchanges.silent;
    expect(run.response).toBe('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    expect(run.closedAfterMs).toBeLessThan(HEADERS_MS + SLACK_MS);
  });

  it('cuts a client whose body stalls halfway with 408 within the request limit + 1.5 s', async () => {
    const run = await exchanges.stalledBody;
    expect(run.response).toBe('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    // The headers arrived in time, so the request limit, not the headers one, cuts it.
    expect(run.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_MS - 50);
    expect(run.closedAfterMs).toBeLessThan(REQUEST_MS + SLACK_MS);
  });

  it('answers a slow request that completes within the limits', async () => {
    const run = await exchanges.slowComplete;
    expect(run.response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(run.response).toMatch(/\r\n\r\nread 10 bytes$/);
  });

  it('does not time the answer: a handler slower than the request limit still answers', async () => {
    const run = await exchanges.slowAnswer;
    expect(run.response).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*read 7 bytes$/);
    expect(run.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_MS + 500);
  });

  it('leaves an idle keep-alive connection open past the limits, and times its next request afresh', async () => {
    const run = await exchanges.keepAlive;
    const [first, second] = run.response.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*read 5 bytes$/);
    expect(second).toBe('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
    expect(run.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_MS + 500 + HEADERS_MS - 50);
    expect(run.closedAfterMs).toBeLessThan(REQUEST_MS + 500 + HEADERS_MS + SLACK_MS);
  });
});

describe('service shell: timeout settings', () => {
  const fastPath = () => () => undefined;

  it('defaults to a 10 s headers limit and a 30 s request limit', async () => {
    const service = await startService({ module: TestModule, port: 0, host: '127.0.0.1', fastPath });
    try {
      expect(service.server.headersTimeout).toBe(10_000);
      expect(service.server.requestTimeout).toBe(30_000);
      expect(service.server.keepAliveTimeout).toBe(65_000);
    } finally {
      await service.close();
    }
  });

  it.each([
    [{ headersTimeoutMs: 0 }, 'headersTimeoutMs 0: expected an integer of at least 1'],
    [{ requestTimeoutMs: 1.5 }, 'requestTimeoutMs 1.5: expected an integer of at least 1'],
    [
      { headersTimeoutMs: 5_000, requestTimeoutMs: 4_000 },
      'headersTimeoutMs 5000 is more than requestTimeoutMs 4000: the headers are part of the request',
    ],
  ])('refuses %j', async (limits, message) => {
    await expect(startService({ module: TestModule, port: 0, fastPath, ...limits })).rejects.toThrow(
      new RangeError(message),
    );
  });
});
