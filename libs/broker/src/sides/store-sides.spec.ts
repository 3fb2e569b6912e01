import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryChannelBackend } from '@eventing/channels';
import type { Contract } from '@eventing/contract';
import { Dispatcher } from '@eventing/delivery';
import { EventingMetrics } from '@eventing/observability';
import type { Logger } from '@eventing/runtime';
import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { StoreSides } from './store-sides';

const quiet: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const policy = { retry: 0, backoffPolicy: 'linear' as const, backoffDelayMs: 0 };
const headers = (id: string) => ({ 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/s', 'ce-type': 't' });

function contract(generation: number, subscriberUri: string, extra: Partial<Contract> = {}): Contract {
  return {
    version: 1,
    generation,
    brokers: [{ uid: 'b1', namespace: 'ns', name: 'orders' }],
    triggers: [],
    channels: [
      { uid: 'c1', namespace: 'ns', name: 'orders' },
      { uid: 'c2', namespace: 'ns', name: 'durable', store: 'kafka' },
    ],
    subscriptions: [
      {
        uid: 's1',
        namespace: 'ns',
        name: 's1',
        channel: { namespace: 'ns', name: 'orders' },
        subscriberUri,
        policy,
        format: 'binary',
      },
    ],
    ...extra,
  };
}

describe('StoreSides for the channels of one store', () => {
  let server: Server;
  let url: string;
  let sides: StoreSides;
  let dispatcher: Dispatcher;
  let subscriber: TestSubscriber;
  const post = (path: string, id: string) => fetch(url + path, { method: 'POST', headers: headers(id) });

  beforeEach(async () => {
    subscriber = await startSubscriber();
    dispatcher = new Dispatcher();
    sides = new StoreSides({
      store: 'memory',
      resources: 'channels',
      backend: new MemoryChannelBackend(),
      ingress: { maxBodyBytes: 1024 },
      dispatch: { dispatcher },
      ensureStores: true,
      metrics: new EventingMetrics({ defaultMetrics: false }),
      log: quiet,
    });
    server = createServer(sides.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    await sides.close(1_000);
    await dispatcher.close();
    await subscriber.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is ready only once a contract was applied, and reports what it serves', async () => {
    expect(sides.readiness()).toEqual({ ready: false, reason: 'no contract applied yet' });
    const report = await sides.apply(contract(1, subscriber.url));
    expect(sides.readiness()).toEqual({ ready: true });
    expect([...report.served].sort()).toEqual(['c1', 's1']);
    expect(report.failed.size).toBe(0);
  });

  it('serves its channels at /<namespace>/<name> and /_channels/…, never brokers or other stores', async () => {
    await sides.apply(contract(1, subscriber.url));
    expect((await post('/ns/orders', 'root')).status).toBe(202);
    expect((await post('/_channels/ns/orders', 'prefixed')).status).toBe(202);
    await subscriber.waitFor(2);
    expect(subscriber.requests.map((r) => r.headers['ce-id']).sort()).toEqual(['prefixed', 'root']);
    expect((await post('/ns/durable', 'x')).status).toBe(404);
    const malformed = await post('/ns/orders/extra', 'x');
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toContain('/<namespace>/<channel>');
  });

  it('stops serving a channel that leaves the contract', async () => {
    await sides.apply(contract(1, subscriber.url));
    await sides.apply(contract(2, subscriber.url, { channels: [], subscriptions: [] }));
    expect((await post('/ns/orders', 'gone')).status).toBe(404);
  });

  it('refuses events with 503 once closing, and is no longer ready', async () => {
    await sides.apply(contract(1, subscriber.url));
    const closing = sides.close(1_000);
    const res = await post('/ns/orders', 'late');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(sides.readiness().ready).toBe(false);
    await closing;
  });
});
