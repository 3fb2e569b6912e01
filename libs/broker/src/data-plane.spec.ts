import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryChannelBackend } from '@eventing/channels';
import { Dispatcher } from '@eventing/delivery';
import type { Contract, TriggerEntry } from '@eventing/contract';
import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { BrokerDataPlane } from './data-plane';
import type { DeliveryObserver } from './egress/outcomes';

/** Records what the data plane reports, keyed `<kind>/<name>:<what>`. */
class Ledger implements DeliveryObserver {
  readonly counts = new Map<string, number>();
  heldNow = 0;
  readonly heldReasons: string[] = [];
  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  accepted(t: { kind: string; name: string }, copies: number | undefined): void {
    this.add(`${t.kind}/${t.name}:accepted`, copies ?? 0);
  }
  owed(t: { kind: string; name: string }): void {
    this.add(`${t.kind}/${t.name}:owed`);
  }
  outcome(t: { kind: string; name: string }, _e: unknown, o: { kind: string }): void {
    this.add(`${t.kind}/${t.name}:${o.kind}`);
  }
  held(t: { kind: string; name: string }, _e: unknown, reason: string): void {
    this.heldNow++;
    this.heldReasons.push(reason);
    this.add(`${t.kind}/${t.name}:held`);
  }
  released(_t: unknown, count: number): void {
    this.heldNow -= count;
  }
  discarded(t: { kind: string; name: string }, events: readonly unknown[], reason: string): void {
    this.add(`${t.kind}/${t.name}:discarded:${reason}`, events.length);
  }
  handlerError(): void {
    this.add('handler-error');
  }
}

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
  let ledger: Ledger;

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
    ledger = new Ledger();
    plane = new BrokerDataPlane({ backend, dispatcher, maxBodyBytes: 1024, observer: ledger });
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

  it("a channel's store is named as the channel; one named like a broker's trigger channel is refused, whichever came first", async () => {
    const sub = (uid: string, channel: string, subscriberUri: string) => ({
      uid,
      namespace: 'ns',
      name: uid,
      channel: { namespace: 'ns', name: channel },
      subscriberUri,
      policy,
      format: 'binary' as const,
    });
    const channelUrl = (name: string) => url.replace('/ns/b', `/_channels/ns/${name}`);
    // A channel named as the broker shares nothing with it; one named as its trigger channel would.
    const report = await plane.apply({
      ...contract(1, [trig('t', fast.url, 'a')]),
      channels: [
        { uid: 'c-b', namespace: 'ns', name: 'b' },
        { uid: 'c-clash', namespace: 'ns', name: 'b-kne-trigger' },
      ],
      subscriptions: [sub('s-b', 'b', slow.url), sub('s-clash', 'b-kne-trigger', slow.url)],
    });
    expect(report.failed.get('c-clash')).toBe(
      'the store ns/b-kne-trigger of channel ns/b-kne-trigger is taken by broker ns/b (its trigger channel): rename one of them',
    );
    expect([...report.served].sort()).toEqual(['b1', 'c-b', 's-b', 'uid-t']);
    expect((await fetch(channelUrl('b'), { method: 'POST', headers: headers('to-channel') })).status).toBe(
      202,
    );
    expect((await fetch(url, { method: 'POST', headers: headers('to-broker') })).status).toBe(202);
    expect((await fetch(channelUrl('b-kne-trigger'), { method: 'POST', headers: headers('x') })).status).toBe(
      404,
    );
    await slow.waitFor(1);
    await fast.waitFor(1);
    expect(slow.requests.map((r) => r.headers['ce-id'])).toEqual(['to-channel']);
    expect(fast.requests.map((r) => r.headers['ce-id'])).toEqual(['to-broker']);

    // The channel came first: it keeps its store, and the broker that would share it is refused.
    const first = await plane.apply({
      version: 1,
      generation: 2,
      brokers: [],
      triggers: [],
      channels: [{ uid: 'c-x', namespace: 'ns', name: 'x-kne-trigger' }],
    });
    expect(first.failed.size).toBe(0);
    const clash = await plane.apply({
      version: 1,
      generation: 3,
      brokers: [{ uid: 'b-x', namespace: 'ns', name: 'x' }],
      triggers: [],
      channels: [{ uid: 'c-x', namespace: 'ns', name: 'x-kne-trigger' }],
    });
    expect(clash.failed.get('b-x')).toBe(
      'the store ns/x-kne-trigger of broker ns/x is taken by channel ns/x-kne-trigger: rename one of them',
    );
    expect([...clash.served]).toEqual(['c-x']);
  });

  it('close() delivers what was accepted before returning', async () => {
    await plane.apply(contract(1, [trig('slow', slow.url, 'a', { maxInFlight: 1 })]));
    for (const id of ['1', '2', '3'])
      expect((await fetch(url, { method: 'POST', headers: headers(id) })).status).toBe(202);
    expect(await plane.close(5_000)).toBe(true);
    expect(slow.requests.map((r) => r.headers['ce-id'])).toEqual(['1', '2', '3']);
  });

  it('a failed apply is reported, the rest is applied, and later applies and close() proceed', async () => {
    class FlakyBackend extends MemoryChannelBackend {
      override async ensureChannel(channel: { namespace: string; name: string }): Promise<void> {
        if (channel.name.startsWith('broken')) throw new Error('store unavailable');
        return super.ensureChannel(channel);
      }
    }
    const flaky = new FlakyBackend();
    const other = new BrokerDataPlane({ backend: flaky, dispatcher, maxBodyBytes: 1024, observer: ledger });
    const report = await other.apply({
      version: 1,
      generation: 1,
      brokers: [
        { uid: 'bad', namespace: 'ns', name: 'broken' },
        { uid: 'good', namespace: 'ns', name: 'b' },
      ],
      triggers: [trig('t', fast.url, 'a'), { ...trig('u', fast.url, 'a'), uid: 'uid-u', broker: 'broken' }],
    });
    expect(report.failed.get('bad')).toMatch(/cannot create the broker's channel: store unavailable/);
    expect([...report.served].sort()).toEqual(['good', 'uid-t']);
    expect(other.hasBroker('ns', 'broken')).toBe(false);
    expect(other.hasBroker('ns', 'b')).toBe(true);
    // The next apply is not poisoned by the failure.
    const next = await other.apply(contract(2, [trig('t', fast.url, 'a')]));
    expect(next.failed.size).toBe(0);
    expect([...next.served].sort()).toEqual(['b1', 'uid-t']);
    expect(await other.close(1_000)).toBe(true);
    await flaky.close();
  });

  it('counts events queued for a deleted trigger as discarded (trigger_deleted), and a reload never waits on its subscriber', async () => {
    const hung = await startSubscriber(() => ({ status: 202, delayMs: 60_000 }));
    try {
      await plane.apply(contract(1, [trig('hung', hung.url, 'a', { maxInFlight: 1 })]));
      for (const id of ['1', '2', '3'])
        expect((await fetch(url, { method: 'POST', headers: headers(id) })).status).toBe(202);
      await hung.waitFor(1);
      const started = Date.now();
      const report = await plane.apply(contract(2, []));
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(report.served.has('uid-hung')).toBe(false);
      // Two queued events are discarded at once; the one in flight is cancelled and counted too.
      await new Promise((r) => setTimeout(r, 50));
      expect(ledger.get('Broker/b:accepted')).toBe(3);
      expect(ledger.get('Trigger/hung:discarded:trigger_deleted')).toBe(3);
      expect(backend.pending()).toBe(0);
    } finally {
      await hung.close();
    }
  });

  it('counts queued events of a re-created broker as broker_deleted, and unmatched events as no_matching_trigger', async () => {
    await plane.apply(contract(1, [trig('slow', slow.url, 'a', { maxInFlight: 1 })]));
    for (const id of ['1', '2'])
      expect((await fetch(url, { method: 'POST', headers: headers(id) })).status).toBe(202);
    expect((await fetch(url, { method: 'POST', headers: headers('x', 'nobody') })).status).toBe(202);
    await plane.apply(contract(2, [trig('slow', slow.url, 'a', { maxInFlight: 1 })], 'b2'));
    await new Promise((r) => setTimeout(r, 400));
    expect(ledger.get('Broker/b:discarded:no_matching_trigger')).toBe(1);
    expect(ledger.get('Broker/b:accepted')).toBe(2);
    expect(ledger.get('Trigger/slow:discarded:broker_deleted') + ledger.get('Trigger/slow:delivered')).toBe(
      2,
    );
    expect(ledger.get('Trigger/slow:discarded:broker_deleted')).toBeGreaterThanOrEqual(1);
  });

  it('holds an event whose dead-letter sink is down once, backs off, and releases it when the sink is back', async () => {
    await backend.close();
    backend = new MemoryChannelBackend({ nackDelayMs: 50, maxNackDelayMs: 100 });
    await plane.close(100);
    plane = new BrokerDataPlane({ backend, dispatcher, maxBodyBytes: 1024, observer: ledger });
    server.removeAllListeners('request');
    server.on('request', plane.handler);
    let dlsUp = false;
    const dls = await startSubscriber(() => ({ status: dlsUp ? 202 : 503 }));
    const failing = await startSubscriber(() => ({ status: 500 }));
    try {
      await plane.apply(contract(1, [trig('f', failing.url, 'a', { deadLetterUri: dls.url })]));
      expect((await fetch(url, { method: 'POST', headers: headers('h') })).status).toBe(202);
      await dls.waitFor(3, 2_000);
      expect(ledger.get('Trigger/f:held')).toBe(1); // once per event, however often it is retried
      expect(ledger.heldNow).toBe(1);
      expect(ledger.heldReasons).toEqual(['dead_letter_failed']);
      dlsUp = true;
      await dls.waitFor(dls.requests.length + 1, 2_000);
      await new Promise((r) => setTimeout(r, 20));
      expect(ledger.get('Trigger/f:dead-lettered')).toBe(1);
      expect(ledger.heldNow).toBe(0);
      expect(backend.pending()).toBe(0);
    } finally {
      await dls.close();
      await failing.close();
    }
  });

  it('close() after the grace period cancels what is left and counts it as discarded at shutdown', async () => {
    const hung = await startSubscriber(() => ({ status: 202, delayMs: 60_000 }));
    try {
      await plane.apply(contract(1, [trig('hung', hung.url, 'a', { maxInFlight: 1 })]));
      for (const id of ['1', '2'])
        expect((await fetch(url, { method: 'POST', headers: headers(id) })).status).toBe(202);
      await hung.waitFor(1);
      expect(await plane.close(200)).toBe(false);
      expect(ledger.get('Trigger/hung:discarded:shutdown')).toBe(2);
      expect(backend.pending()).toBe(0);
    } finally {
      await hung.close();
    }
  });
});
