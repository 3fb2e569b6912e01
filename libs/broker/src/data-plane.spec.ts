import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryChannelBackend } from '@eventing/channels';
import { Dispatcher } from '@eventing/delivery';
import type { Contract, TriggerEntry } from '@eventing/contract';
import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { BrokerDataPlane } from './data-plane';

const policy = { retry: 0, backoffPolicy: 'exponential' as const, backoffDelayMs: 0 };
const headers = (id: string, type = 'a') => ({
  'ce-specversion': '1.0',
  'ce-id': id,
  'ce-source': '/s',
  'ce-type': type,
});

describe('BrokerDataPlane', () => {
  let server: Server;
  let url: string;
  let plane: BrokerDataPlane;
  let backend: MemoryChannelBackend;
  let dispatcher: Dispatcher;
  let slow: TestSubscriber;
  let fast: TestSubscriber;

  const contract = (generation: number, triggers: TriggerEntry[], brokerUid = 'b1'): Contract => ({
    version: 1,
    generation,
    brokers: [{ uid: brokerUid, namespace: 'ns', name: 'b' }],
    triggers,
  });
  const trig = (
    name: string,
    subscriberUri: string,
    type = 'a',
    extra: Partial<TriggerEntry> = {},
  ): TriggerEntry => ({
    uid: `uid-${name}`,
    namespace: 'ns',
    name,
    broker: 'b',
    filter: { attributes: { type } },
    subscriberUri,
    policy,
    format: 'binary',
    ...extra,
  });

  beforeEach(async () => {
    slow = await startSubscriber(() => ({ status: 202, delayMs: 300 }));
    fast = await startSubscriber();
    backend = new MemoryChannelBackend({ capacityPerSubscription: 3 });
    dispatcher = new Dispatcher();
    plane = new BrokerDataPlane({ backend, dispatcher, maxBodyBytes: 1024 });
    server = createServer(plane.handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ns/b`;
  });

  afterEach(async () => {
    await plane.close(1_000);
    await backend.close();
    await dispatcher.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await slow.close();
    await fast.close();
  });

  it('answers 503 with Retry-After when a trigger queue is full, and a slow trigger never delays a fast one', async () => {
    await plane.apply(
      contract(1, [trig('slow', slow.url, 'a', { maxInFlight: 1 }), trig('fast', fast.url, 'a')]),
    );
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(url, { method: 'POST', headers: headers(`e${i}`) });
      statuses.push(res.status);
      if (res.status === 503) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses.slice(0, 3)).toEqual([202, 202, 202]);
    expect(statuses).toContain(503);
    expect(retryAfter).toBe('1');
    const accepted = statuses.filter((s) => s === 202).length;
    // The fast subscriber has everything accepted long before the slow one is done.
    await fast.waitFor(accepted, 1_000);
    expect(slow.requests.length).toBeLessThan(accepted);
    await slow.waitFor(accepted, 5_000);
  });

  it('swaps a changed trigger in place and stops delivering to a removed one', async () => {
    await plane.apply(contract(1, [trig('t', fast.url, 'a')]));
    expect((await fetch(url, { method: 'POST', headers: headers('1', 'a') })).status).toBe(202);
    await fast.waitFor(1);
    await plane.apply(contract(2, [trig('t', fast.url, 'b')]));
    expect((await fetch(url, { method: 'POST', headers: headers('2', 'a') })).status).toBe(202);
    expect((await fetch(url, { method: 'POST', headers: headers('3', 'b') })).status).toBe(202);
    await fast.waitFor(2);
    expect(fast.requests.map((r) => r.headers['ce-id'])).toEqual(['1', '3']);
    await plane.apply(contract(3, []));
    expect((await fetch(url, { method: 'POST', headers: headers('4', 'b') })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 100));
    expect(fast.requests).toHaveLength(2);
  });

  it('serves 404 once a broker is removed, and a re-created broker with a new uid starts clean', async () => {
    await plane.apply(contract(1, [trig('t', fast.url, 'a')]));
    await plane.apply({ version: 1, generation: 2, brokers: [], triggers: [] });
    expect((await fetch(url, { method: 'POST', headers: headers('x') })).status).toBe(404);
    await plane.apply(contract(3, [trig('t', fast.url, 'a')], 'b2'));
    expect((await fetch(url, { method: 'POST', headers: headers('y') })).status).toBe(202);
    const [got] = await fast.waitFor(1);
    expect(got!.headers['ce-id']).toBe('y');
  });

  it('close() delivers what was accepted before returning', async () => {
    await plane.apply(contract(1, [trig('slow', slow.url, 'a', { maxInFlight: 1 })]));
    for (const id of ['1', '2', '3'])
      expect((await fetch(url, { method: 'POST', headers: headers(id) })).status).toBe(202);
    expect(await plane.close(5_000)).toBe(true);
    expect(slow.requests.map((r) => r.headers['ce-id'])).toEqual(['1', '2', '3']);
  });
});
