import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { brokerIngress } from './main';

// broker-ingress as a running service: HTTP in, HTTP out to the broker's channel (CONFORMANCE 2.2).

function writeContract(path: string, generation: number, brokers: object[]): void {
  writeFileSync(path + '.tmp', JSON.stringify({ version: 1, generation, brokers, triggers: [] }));
  renameSync(path + '.tmp', path);
}

const ce = (type: string, extra: Record<string, string> = {}) => ({
  'ce-specversion': '1.0',
  'ce-id': 'i1',
  'ce-source': '/src',
  'ce-type': type,
  'content-type': 'text/plain',
  ...extra,
});

describe('broker-ingress service', () => {
  let dir: string;
  let contractPath: string;
  let channel: TestSubscriber;
  let broken: TestSubscriber;
  let service: Awaited<ReturnType<typeof brokerIngress.start>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ingress-'));
    contractPath = join(dir, 'contract.json');
    channel = await startSubscriber();
    broken = await startSubscriber(() => ({ status: 503 }));
    writeContract(contractPath, 1, [
      { uid: 'u1', namespace: 'ns', name: 'b', channelAddress: `${channel.url}/ns/b-kne-trigger` },
      { uid: 'u2', namespace: 'ns', name: 'down', channelAddress: `${broken.url}/ns/down` },
    ]);
    service = await brokerIngress.start({
      logLevel: 'warn',
      port: 0,
      host: '127.0.0.1',
      contractPath,
      maxBodyBytes: 1024,
      deliveryFrames: 'on',
      acceptFrames: 'on',
      maxTtl: 255,
      eventTypeRegistryUrl: '',
      channelTimeoutMs: 5_000,
    });
  });

  afterAll(async () => {
    await service?.close();
    await channel?.close();
    await broken?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('B12/B9/B10/B11: stores the event in the channel with TTL and arrival time, then answers 202', async () => {
    const res = await fetch(`${service.url}/ns/b`, {
      method: 'POST',
      headers: ce('t.a', { 'x-request-id': 'req-7', 'x-other': 'dropped' }),
      body: 'hello',
    });
    expect(res.status).toBe(202);
    const [got] = await channel.waitFor(1);
    expect(got!.url).toBe('/ns/b-kne-trigger');
    expect(got!.headers['ce-knativebrokerttl']).toBe('255');
    expect(got!.headers['ce-knativearrivaltime']).toMatch(/^\d{4}-/);
    expect(got!.headers['x-request-id']).toBe('req-7');
    expect(got!.headers['x-other']).toBeUndefined();
    expect(got!.body.toString()).toBe('hello');
  });

  it('B10: a TTL present is decremented', async () => {
    const before = channel.requests.length;
    expect(
      (
        await fetch(`${service.url}/ns/b`, {
          method: 'POST',
          headers: ce('t.a', { 'ce-knativebrokerttl': '7' }),
        })
      ).status,
    ).toBe(202);
    const got = await channel.waitFor(before + 1);
    expect(got[before]!.headers['ce-knativebrokerttl']).toBe('6');
  });

  it('B12: a channel failure answers 500', async () => {
    const res = await fetch(`${service.url}/ns/down`, { method: 'POST', headers: ce('t.a') });
    expect(res.status).toBe(500);
  });

  it.each([
    ['B3 GET → 405', 'GET', '/ns/b', {}, undefined, 405],
    ['B4 not a CloudEvent → 400', 'POST', '/ns/b', { 'content-type': 'application/json' }, '{}', 400],
    [
      'B4 invalid event for an unknown broker → 400',
      'POST',
      '/ns/unknown',
      { 'content-type': 'application/json' },
      '{}',
      400,
    ],
    ['B5 unknown broker → 404', 'POST', '/ns/unknown', ce('t'), 'x', 404],
    ['B1 root → 404', 'POST', '/', ce('t'), 'x', 404],
    ['B1 three segments → 400', 'POST', '/a/b/c', ce('t'), 'x', 400],
    ['2.10 oversized body → 413', 'POST', '/ns/b', ce('t'), 'x'.repeat(2048), 413],
  ])('%s', async (_name, method, path, headers, body, status) => {
    const res = await fetch(service.url + path, { method, headers: headers as Record<string, string>, body });
    expect(res.status).toBe(status);
  });

  it('applies a new contract without restarting', async () => {
    const other = await startSubscriber();
    try {
      writeContract(contractPath, 2, [
        { uid: 'u3', namespace: 'ns', name: 'new', channelAddress: other.url },
      ]);
      let status = 0;
      for (let i = 0; i < 100 && status !== 202; i++) {
        status = (await fetch(`${service.url}/ns/new`, { method: 'POST', headers: ce('t') })).status;
        if (status !== 202) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(202);
      expect((await fetch(`${service.url}/ns/b`, { method: 'POST', headers: ce('t') })).status).toBe(404);
    } finally {
      await other.close();
    }
  });

  it('serves /healthz and /readyz', async () => {
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
  });
});
