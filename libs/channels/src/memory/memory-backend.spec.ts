import type { CloudEvent } from '@eventing/cloudevents';
import type { Ack, ChannelMessage, ChannelRef } from '../backend';
import { MemoryChannelBackend } from './memory-backend';

const ref: ChannelRef = { namespace: 'ns', name: 'ch' };
const NO_HEADERS: Record<string, string> = {};

const event = (id: number | string): CloudEvent => ({
  attributes: { specversion: '1.0', id: String(id), source: '/test', type: 'test.type' },
  data: undefined,
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Lets queued microtasks and immediate callbacks run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves when `count` messages have been recorded. */
function collector(count: number) {
  const received: ChannelMessage[] = [];
  const done = deferred<void>();
  const handler = async (message: ChannelMessage): Promise<Ack> => {
    received.push(message);
    if (received.length === count) done.resolve();
    return 'ack';
  };
  return { received, done: done.promise, handler };
}

describe('MemoryChannelBackend', () => {
  let backend: MemoryChannelBackend;

  beforeEach(async () => {
    backend = new MemoryChannelBackend({ capacityPerSubscription: 10_000, nackDelayMs: 20 });
    await backend.ensureChannel(ref);
  });

  afterEach(async () => {
    await backend.close();
  });

  it('delivers in FIFO order to a sequential consumer', async () => {
    const c = collector(200);
    await backend.subscribe(ref, { id: 'sub', maxInFlight: 1 }, c.handler);
    for (let i = 0; i < 200; i++)
      expect(await backend.append(ref, event(i), NO_HEADERS)).toMatchObject({ ok: true });
    await c.done;
    expect(c.received.map((m) => m.event.attributes['id'])).toEqual(
      Array.from({ length: 200 }, (_, i) => String(i)),
    );
    expect(c.received.every((m) => m.redeliveries === 0)).toBe(true);
  });

  it('hands the same event and headers object to every subscription (no copy)', async () => {
    const a = collector(1);
    const b = collector(1);
    await backend.subscribe(ref, { id: 'a', maxInFlight: 1 }, a.handler);
    await backend.subscribe(ref, { id: 'b', maxInFlight: 1 }, b.handler);
    const e = event(1);
    const headers = { 'x-request-id': 'r1' };
    await backend.append(ref, e, headers);
    await Promise.all([a.done, b.done]);
    expect(a.received[0]?.event).toBe(e);
    expect(b.received[0]?.event).toBe(e);
    expect(a.received[0]?.headers).toBe(headers);
  });

  it('only delivers events appended after subscribing', async () => {
    await backend.append(ref, event('before'), NO_HEADERS);
    const c = collector(1);
    await backend.subscribe(ref, { id: 'late', maxInFlight: 1 }, c.handler);
    await backend.append(ref, event('after'), NO_HEADERS);
    await c.done;
    await tick();
    expect(c.received.map((m) => m.event.attributes['id'])).toEqual(['after']);
  });

  it('runs at most maxInFlight handlers at once, dispatching in FIFO order', async () => {
    const gates: Deferred<Ack>[] = [];
    const started: string[] = [];
    let concurrent = 0;
    let peak = 0;
    await backend.subscribe(ref, { id: 'sub', maxInFlight: 3 }, async (m) => {
      started.push(String(m.event.attributes['id']));
      concurrent++;
      peak = Math.max(peak, concurrent);
      const gate = deferred<Ack>();
      gates.push(gate);
      const ack = await gate.promise;
      concurrent--;
      return ack;
    });
    for (let i = 0; i < 10; i++) await backend.append(ref, event(i), NO_HEADERS);
    await tick();
    expect(started).toEqual(['0', '1', '2']);
    expect(backend.stats(ref)).toEqual({ sub: { queued: 7, inFlight: 3 } });

    // Settle out of order: freeing one slot lets exactly one more start.
    gates[1]?.resolve('ack');
    await tick();
    expect(started).toEqual(['0', '1', '2', '3']);

    const drained = backend.drain();
    while (started.length < 10 || gates.length > 0) {
      for (const gate of gates.splice(0)) gate.resolve('ack');
      await tick();
    }
    await drained;
    expect(started).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
    expect(peak).toBe(3);
    expect(backend.stats(ref)).toEqual({ sub: { queued: 0, inFlight: 0 } });
  });

  it('refuses with 503 when a subscription is full, enqueuing nothing anywhere (all-or-nothing)', async () => {
    backend = new MemoryChannelBackend({ capacityPerSubscription: 2, nackDelayMs: 20 });
    await backend.ensureChannel(ref);
    const stuck = deferred<Ack>();
    const slowSeen: string[] = [];
    await backend.subscribe(ref, { id: 'slow', maxInFlight: 1 }, async (m) => {
      slowSeen.push(String(m.event.attributes['id']));
      return stuck.promise;
    });
    const fast = collector(2);
    await backend.subscribe(ref, { id: 'fast', maxInFlight: 1 }, fast.handler);

    expect(await backend.append(ref, event(1), NO_HEADERS)).toMatchObject({ ok: true });
    expect(await backend.append(ref, event(2), NO_HEADERS)).toMatchObject({ ok: true });
    await fast.done;
    expect(backend.stats(ref)).toEqual({
      slow: { queued: 1, inFlight: 1 },
      fast: { queued: 0, inFlight: 0 },
    });

    expect(await backend.append(ref, event(3), NO_HEADERS)).toEqual({
      ok: false,
      status: 503,
      reason: 'channel ns/ch is full (subscription slow has 2 undelivered events)',
      retryAfterSeconds: 1,
    });
    await tick();
    expect(fast.received.map((m) => m.event.attributes['id'])).toEqual(['1', '2']);
    expect(backend.stats(ref)).toEqual({
      slow: { queued: 1, inFlight: 1 },
      fast: { queued: 0, inFlight: 0 },
    });

    // Once the slow subscriber catches up, appends are accepted again.
    stuck.resolve('ack');
    await backend.drain();
    expect(slowSeen).toEqual(['1', '2']);
    expect(await backend.append(ref, event(4), NO_HEADERS)).toMatchObject({ ok: true });
  });

  it('answers 500 for a channel that was never ensured', async () => {
    const result = await backend.append({ namespace: 'ns', name: 'missing' }, event(1), NO_HEADERS);
    expect(result).toEqual({ ok: false, status: 500, reason: 'channel ns/missing does not exist' });
  });

  it('accepts (and drops) events on a channel without subscriptions', async () => {
    expect(await backend.append(ref, event(1), NO_HEADERS)).toMatchObject({ ok: true });
    expect(backend.stats(ref)).toEqual({});
    await backend.drain();
  });

  it('redelivers a nacked message after nackDelayMs with an increased counter', async () => {
    const seen: { id: string; redeliveries: number; at: number }[] = [];
    const done = deferred<void>();
    const start = Date.now();
    await backend.subscribe(ref, { id: 'sub', maxInFlight: 1 }, async (m) => {
      seen.push({
        id: String(m.event.attributes['id']),
        redeliveries: m.redeliveries,
        at: Date.now() - start,
      });
      if (m.redeliveries < 2) return 'nack';
      done.resolve();
      return 'ack';
    });
    await backend.append(ref, event('x'), NO_HEADERS);
    await done.promise;
    expect(seen.map((s) => [s.id, s.redeliveries])).toEqual([
      ['x', 0],
      ['x', 1],
      ['x', 2],
    ]);
    expect((seen[2]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(38);
    await backend.drain();
  });

  it('puts a nacked message back at the head of the queue', async () => {
    const order: string[] = [];
    const done = deferred<void>();
    await backend.subscribe(ref, { id: 'sub', maxInFlight: 1 }, async (m) => {
      const id = String(m.event.attributes['id']);
      order.push(`${id}/${m.redeliveries}`);
      if (order.length === 4) done.resolve();
      if (id === '1' && m.redeliveries === 0) return 'nack';
      if (id === '2') await sleep(60); // outlasts the 20 ms redelivery delay
      return 'ack';
    });
    for (const id of [1, 2, 3]) await backend.append(ref, event(id), NO_HEADERS);
    await done.promise;
    expect(order).toEqual(['1/0', '2/0', '1/1', '3/0']);
  });

  it('counts a message awaiting redelivery against capacity', async () => {
    backend = new MemoryChannelBackend({ capacityPerSubscription: 1, nackDelayMs: 50 });
    await backend.ensureChannel(ref);
    const nacked = deferred<void>();
    await backend.subscribe(ref, { id: 'sub', maxInFlight: 1 }, async (m) => {
      if (m.redeliveries === 0) {
        setImmediate(() => nacked.resolve());
        return 'nack';
      }
      return 'ack';
    });
    await backend.append(ref, event(1), NO_HEADERS);
    await nacked.promise;
    expect(backend.stats(ref)).toEqual({ sub: { queued: 1, inFlight: 0 } });
    const refused = await backend.append(ref, event(2), NO_HEADERS);
    expect(refused).toMatchObject({ ok: false, status: 503 });
    await backend.drain();
    expect(await backend.append(ref, event(3), NO_HEADERS)).toMatchObject({ ok: true });
  });

  it('treats a throwing handler as a nack', async () => {
    const seen: number[] = [];
    const done = deferred<void>();
    await backend.subscribe(ref, { id: 'sub', maxInFlight: 1 }, async (m) => {
      seen.push(m.redeliveries);
      if (m.redeliveries === 0) throw new Error('boom');
      done.resolve();
      return 'ack';
    });
    await backend.append(ref, event(1), NO_HEADERS);
    await done.promise;
    expect(seen).toEqual([0, 1]);
  });

  it('close() stops dispatch, waits for in-flight handlers and discards queued messages', async () => {
    const gate = deferred<Ack>();
    const seen: string[] = [];
    const consumer = await backend.subscribe(ref, { id: 'sub', maxInFlight: 1 }, async (m) => {
      seen.push(String(m.event.attributes['id']));
      return gate.promise;
    });
    for (let i = 0; i < 5; i++) await backend.append(ref, event(i), NO_HEADERS);
    await tick();
    expect(seen).toEqual(['0']);

    let closed = false;
    const closing = consumer.close().then(() => (closed = true));
    await tick();
    expect(closed).toBe(false);
    expect(backend.stats(ref)).toEqual({}); // detached: later appends no longer reach it
    gate.resolve('nack'); // a nack after close is not redelivered
    await closing;
    await sleep(40);
    expect(seen).toEqual(['0']);
    await backend.drain();
    expect(consumer.close()).toBeInstanceOf(Promise); // idempotent
    await consumer.close();
  });

  it("'term' ends a message like 'ack'; { nack: ms } redelivers after exactly that delay", async () => {
    const at: number[] = [];
    const done = deferred<void>();
    await backend.subscribe(ref, { id: 'sub', maxInFlight: 1 }, async (m) => {
      if (m.event.attributes['id'] === 't') return 'term';
      at.push(Date.now());
      if (m.redeliveries === 0) return { nack: 60 };
      done.resolve();
      return 'ack';
    });
    await backend.append(ref, event('t'), NO_HEADERS);
    await backend.append(ref, event(1), NO_HEADERS);
    await done.promise;
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(58);
    await backend.drain();
    expect(backend.pending()).toBe(0);
  });

  it('reports a throwing handler with the message, then redelivers it', async () => {
    const errors: string[] = [];
    const done = deferred<void>();
    await backend.subscribe(
      ref,
      {
        id: 'sub',
        maxInFlight: 1,
        onHandlerError: (m, err) =>
          errors.push(`${String(m.event.attributes['id'])}: ${(err as Error).message}`),
      },
      async (m) => {
        if (m.redeliveries === 0) throw new Error('boom');
        done.resolve();
        return 'ack';
      },
    );
    await backend.append(ref, event(7), NO_HEADERS);
    await done.promise;
    expect(errors).toEqual(['7: boom']);
  });

  it('backs off redeliveries exponentially up to maxNackDelayMs', async () => {
    await backend.close();
    backend = new MemoryChannelBackend({ nackDelayMs: 20, maxNackDelayMs: 60 });
    await backend.ensureChannel(ref);
    const at: number[] = [];
    const done = deferred<void>();
    await backend.subscribe(ref, { id: 'sub', maxInFlight: 1 }, async (m) => {
      at.push(Date.now());
      if (m.redeliveries < 4) return 'nack';
      done.resolve();
      return 'ack';
    });
    await backend.append(ref, event(1), NO_HEADERS);
    await done.promise;
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // 20, 40, then capped at 60 twice.
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(58);
    expect(gaps[3]).toBeGreaterThanOrEqual(58);
    expect(gaps[3]).toBeLessThan(120);
  });

  it('close(reason) reports every queued, delayed and late-nacked message with the reason', async () => {
    const gate = deferred<Ack>();
    const discarded: string[] = [];
    const consumer = await backend.subscribe(
      ref,
      {
        id: 'sub',
        maxInFlight: 2,
        onDiscard: (messages, reason) => {
          for (const m of messages) discarded.push(`${String(m.event.attributes['id'])}:${reason}`);
        },
      },
      async (m) => (m.event.attributes['id'] === '0' ? 'nack' : gate.promise),
    );
    for (let i = 0; i < 5; i++) await backend.append(ref, event(i), NO_HEADERS);
    await tick();
    // 0 nacked (delayed), 1 and 2 in flight, 3 and 4 queued.
    const closing = consumer.close('trigger_deleted');
    expect(discarded.sort()).toEqual(['0:trigger_deleted', '3:trigger_deleted', '4:trigger_deleted']);
    gate.resolve('nack'); // nacked after close: discarded too, with the same reason
    await closing;
    expect(discarded.sort()).toEqual([
      '0:trigger_deleted',
      '1:trigger_deleted',
      '2:trigger_deleted',
      '3:trigger_deleted',
      '4:trigger_deleted',
    ]);
    expect(backend.pending()).toBe(0);
  });

  it('deleteChannel and close report discards with their default reasons', async () => {
    const reasons: string[] = [];
    const onDiscard = (messages: readonly unknown[], reason: string) =>
      reasons.push(`${messages.length}:${reason}`);
    const other = { namespace: 'ns', name: 'other' };
    await backend.ensureChannel(other);
    await backend.subscribe(
      ref,
      { id: 'a', maxInFlight: 1, onDiscard },
      () => new Promise<Ack>(() => undefined),
    );
    await backend.subscribe(
      other,
      { id: 'b', maxInFlight: 1, onDiscard },
      () => new Promise<Ack>(() => undefined),
    );
    for (let i = 0; i < 3; i++) {
      await backend.append(ref, event(i), NO_HEADERS);
      await backend.append(other, event(i), NO_HEADERS);
    }
    await tick();
    void backend.deleteChannel(ref);
    void backend.close();
    expect(reasons).toEqual(['2:channel_deleted', '2:shutdown']);
  });

  it('close() discards messages awaiting redelivery', async () => {
    const seen: number[] = [];
    const consumer = await backend.subscribe(ref, { id: 'sub', maxInFlight: 1 }, async (m) => {
      seen.push(m.redeliveries);
      return 'nack';
    });
    await backend.append(ref, event(1), NO_HEADERS);
    await tick();
    await consumer.close();
    await backend.drain();
    await sleep(40);
    expect(seen).toEqual([0]);
  });

  it('deleteChannel closes its consumers; the channel then answers 500', async () => {
    const gate = deferred<Ack>();
    let handled = 0;
    await backend.subscribe(ref, { id: 'sub', maxInFlight: 1 }, async () => {
      handled++;
      return gate.promise;
    });
    await backend.append(ref, event(1), NO_HEADERS);
    await tick();
    let deleted = false;
    const deleting = backend.deleteChannel(ref).then(() => (deleted = true));
    await tick();
    expect(deleted).toBe(false);
    gate.resolve('ack');
    await deleting;
    expect(handled).toBe(1);
    expect(backend.stats(ref)).toBeUndefined();
    expect(await backend.append(ref, event(2), NO_HEADERS)).toMatchObject({ ok: false, status: 500 });
    await expect(backend.subscribe(ref, { id: 'x', maxInFlight: 1 }, async () => 'ack')).rejects.toThrow(
      'channel ns/ch does not exist',
    );
  });

  it('close() of the backend closes every consumer and refuses later appends with 503', async () => {
    const other: ChannelRef = { namespace: 'ns', name: 'other' };
    await backend.ensureChannel(other);
    const c1 = collector(1);
    const c2 = collector(1);
    await backend.subscribe(ref, { id: 'a', maxInFlight: 1 }, c1.handler);
    await backend.subscribe(other, { id: 'b', maxInFlight: 1 }, c2.handler);
    await backend.close();
    expect(await backend.append(ref, event(1), NO_HEADERS)).toMatchObject({ ok: false, status: 503 });
    await tick();
    expect(c1.received).toHaveLength(0);
    expect(c2.received).toHaveLength(0);
  });

  it('drain() resolves once every queue is empty and nothing is in flight', async () => {
    let handled = 0;
    for (const id of ['a', 'b']) {
      await backend.subscribe(ref, { id, maxInFlight: 4 }, async () => {
        await sleep(1);
        handled++;
        return 'ack';
      });
    }
    for (let i = 0; i < 50; i++) await backend.append(ref, event(i), NO_HEADERS);
    await backend.drain();
    expect(handled).toBe(100);
    expect(backend.stats(ref)).toEqual({ a: { queued: 0, inFlight: 0 }, b: { queued: 0, inFlight: 0 } });
  });

  it('a slow subscriber does not delay a fast one', async () => {
    let slowHandled = 0;
    await backend.subscribe(ref, { id: 'slow', maxInFlight: 1 }, async () => {
      await sleep(200);
      slowHandled++;
      return 'ack';
    });
    const fast = collector(1000);
    await backend.subscribe(ref, { id: 'fast', maxInFlight: 1 }, fast.handler);
    for (let i = 0; i < 1000; i++) await backend.append(ref, event(i), NO_HEADERS);
    await fast.done;
    // The fast consumer got all 1000 while the slow one is still on its first event.
    expect(slowHandled).toBe(0);
    expect(backend.stats(ref)?.['slow']).toEqual({ queued: 999, inFlight: 1 });
  });

  it('rejects invalid subscriptions', async () => {
    await backend.subscribe(ref, { id: 'dup', maxInFlight: 1 }, async () => 'ack');
    await expect(backend.subscribe(ref, { id: 'dup', maxInFlight: 1 }, async () => 'ack')).rejects.toThrow(
      'subscription dup already consumes channel ns/ch',
    );
    await expect(backend.subscribe(ref, { id: 'zero', maxInFlight: 0 }, async () => 'ack')).rejects.toThrow(
      RangeError,
    );
    expect(() => new MemoryChannelBackend({ capacityPerSubscription: 0 })).toThrow(RangeError);
  });

  it('moves 100k events through two subscriptions without loss, backing off on 503', async () => {
    const n = 100_000;
    const a = collector(n);
    const b = collector(n);
    await backend.subscribe(ref, { id: 'a', maxInFlight: 1 }, a.handler);
    await backend.subscribe(ref, { id: 'b', maxInFlight: 64 }, b.handler);
    const e = event('same');
    for (let i = 0; i < n; i++) {
      const result = await backend.append(ref, e, NO_HEADERS);
      if (!result.ok) {
        // Producer backs off like ingress clients would on 503.
        await backend.drain();
        i--;
      }
    }
    await backend.drain();
    expect(a.received).toHaveLength(n);
    expect(b.received).toHaveLength(n);
  });

  it('a targeted append reaches only the named subscriptions and checks only their capacity', async () => {
    const backend = new MemoryChannelBackend({ capacityPerSubscription: 2 });
    const ref = { namespace: 'ns', name: 'targeted' };
    await backend.ensureChannel(ref);
    const seen: Record<string, string[]> = { a: [], b: [] };
    const hold: (() => void)[] = [];
    for (const id of ['a', 'b']) {
      await backend.subscribe(ref, { id, maxInFlight: 1 }, async (m) => {
        seen[id]!.push(String(m.event.attributes.id));
        if (id === 'b') await new Promise<void>((r) => hold.push(r));
        return 'ack';
      });
    }
    const ev = (id: string) => ({
      attributes: { specversion: '1.0', id, source: '/s', type: 't' },
      data: undefined,
    });
    expect(backend.targetedAppend).toBe(true);
    expect(await backend.append(ref, ev('1'), {}, { targets: ['b'] })).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 10));
    expect(await backend.append(ref, ev('2'), {}, { targets: ['b'] })).toMatchObject({ ok: true });
    // b holds two undelivered events (one in flight, one queued) and is full; a is empty:
    const full = await backend.append(ref, ev('3'), {}, { targets: ['a', 'b'] });
    expect(full.ok).toBe(false);
    // The result counts the queues that received the event; an id nobody consumes gets nothing.
    expect(await backend.append(ref, ev('4'), {}, { targets: ['a', 'gone'] })).toEqual({
      ok: true,
      copies: 1,
    });
    expect(await backend.append(ref, ev('5'), {}, { targets: ['gone'] })).toEqual({ ok: true, copies: 0 });
    await new Promise((r) => setTimeout(r, 10));
    expect(seen['a']).toEqual(['4']);
    expect(seen['b']).toEqual(['1']);
    hold.splice(0).forEach((r) => r());
    await new Promise((r) => setTimeout(r, 10));
    hold.splice(0).forEach((r) => r());
    await backend.close();
  });
});
