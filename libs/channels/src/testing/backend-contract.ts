import type { CloudEvent } from '@eventing/cloudevents';
import type { Ack, ChannelBackend, ChannelMessage, ChannelRef } from '../backend';

/**
 * The behaviour every ChannelBackend owes the broker and channel logic, as one Jest suite that each
 * backend's spec runs against a real instance (memory in process; Kafka and JetStream on real
 * servers). Call it at the top level of a spec file.
 */
export interface BackendUnderTest {
  backend: ChannelBackend;
  /** Frees what the backend holds (connections, topics); called after each test. */
  close(): Promise<void>;
}

export interface ContractOptions {
  /** A fresh backend for one test. */
  create(): Promise<BackendUnderTest>;
  /** A channel name no other test uses (durable stores keep data between tests). */
  channel(): ChannelRef;
  /** How long to wait for deliveries; durable stores need more than memory. */
  timeoutMs?: number;
  /** Whether stored events outlive a consumer (checked against `backend.durable`). */
  durable: boolean;
}

const event = (id: string, data = `{"n":"${id}"}`): CloudEvent => ({
  attributes: {
    specversion: '1.0',
    id,
    source: '/contract',
    type: 'contract.test',
    datacontenttype: 'application/json',
    subject: 'café ☕ "q" 50% off',
  },
  data: Buffer.from(data),
});

/** Resolves once `check` holds, or rejects naming `what`. */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Registers the contract suite for one backend. */
export function describeChannelBackend(name: string, options: ContractOptions): void {
  const timeoutMs = options.timeoutMs ?? 5_000;
  describe(`ChannelBackend contract: ${name}`, () => {
    let under: BackendUnderTest;
    let backend: ChannelBackend;
    let ref: ChannelRef;

    beforeEach(async () => {
      under = await options.create();
      backend = under.backend;
      ref = options.channel();
      await backend.ensureChannel(ref);
    });
    afterEach(async () => {
      await under.close();
    });

    const collect = async (
      id: string,
      ack: (m: ChannelMessage) => Ack | Promise<Ack> = () => 'ack',
      maxInFlight = 10,
    ) => {
      const seen: ChannelMessage[] = [];
      const consumer = await backend.subscribe(ref, { id, maxInFlight }, async (m) => {
        seen.push(m);
        return ack(m);
      });
      return { seen, consumer };
    };

    it('hands every appended event to every subscription, attributes, data and headers intact', async () => {
      const a = await collect('sub-a');
      const b = await collect('sub-b');
      for (let i = 0; i < 20; i++) {
        const stored = await backend.append(ref, event(`e${i}`), {
          'x-request-id': `r${i}`,
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        });
        expect(stored.ok).toBe(true);
      }
      await until(
        () => a.seen.length >= 20 && b.seen.length >= 20,
        timeoutMs,
        '20 events on both subscriptions',
      );
      for (const seen of [a.seen, b.seen]) {
        expect(new Set(seen.map((m) => m.event.attributes.id)).size).toBe(20);
        const first = seen.find((m) => m.event.attributes.id === 'e0')!;
        expect(first.event.attributes).toMatchObject(event('e0').attributes);
        expect(Buffer.from(first.event.data!).toString()).toBe('{"n":"e0"}');
        expect(first.headers['x-request-id']).toBe('r0');
        expect(first.headers['traceparent']).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
        expect(first.redeliveries).toBe(0);
      }
    });

    it('keeps the order of events with one ordering key', async () => {
      const a = await collect('ordered', () => 'ack', 1);
      for (let i = 0; i < 30; i++) await backend.append(ref, event(`o${i}`), {}, { key: 'k' });
      await until(() => a.seen.length >= 30, timeoutMs, '30 events');
      expect(a.seen.map((m) => m.event.attributes.id)).toEqual(Array.from({ length: 30 }, (_, i) => `o${i}`));
    });

    it("redelivers after 'nack' with a higher count, after { nack: ms } no sooner, and never after 'term'", async () => {
      const at = new Map<string, number[]>();
      const a = await collect('retry', (m) => {
        const id = String(m.event.attributes.id);
        at.set(id, [...(at.get(id) ?? []), Date.now()]);
        if (id === 'nack' && m.redeliveries === 0) return 'nack';
        if (id === 'delay' && m.redeliveries === 0) return { nack: 300 };
        if (id === 'term') return 'term';
        return 'ack';
      });
      for (const id of ['nack', 'delay', 'term']) await backend.append(ref, event(id), {});
      await until(
        () => (at.get('nack')?.length ?? 0) >= 2 && (at.get('delay')?.length ?? 0) >= 2,
        timeoutMs,
        'redeliveries',
      );
      const redelivered = a.seen.filter((m) => m.redeliveries > 0).map((m) => String(m.event.attributes.id));
      expect(redelivered.sort()).toEqual(['delay', 'nack']);
      const delay = at.get('delay')!;
      expect(delay[1]! - delay[0]!).toBeGreaterThanOrEqual(280);
      await new Promise((r) => setTimeout(r, 400));
      expect(at.get('term')).toHaveLength(1);
    });

    it('never runs more than maxInFlight handlers of one subscription at once', async () => {
      let running = 0;
      let peak = 0;
      let done = 0;
      await backend.subscribe(ref, { id: 'bounded', maxInFlight: 3 }, async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 15));
        running--;
        done++;
        return 'ack';
      });
      for (let i = 0; i < 15; i++) await backend.append(ref, event(`b${i}`), {});
      await until(() => done >= 15, timeoutMs, '15 deliveries');
      expect(peak).toBeLessThanOrEqual(3);
      expect(peak).toBeGreaterThan(1);
    });

    it('reports a throwing handler and redelivers its message', async () => {
      const errors: string[] = [];
      const seen: number[] = [];
      await backend.subscribe(
        ref,
        { id: 'throws', maxInFlight: 1, onHandlerError: (_m, err) => errors.push((err as Error).message) },
        async (m) => {
          seen.push(m.redeliveries);
          if (m.redeliveries === 0) throw new Error('bug');
          return 'ack';
        },
      );
      await backend.append(ref, event('x'), {});
      await until(() => seen.length >= 2, timeoutMs, 'the redelivery');
      expect(errors).toEqual(['bug']);
    });

    it('says whether it is durable', () => {
      expect(backend.durable === true).toBe(options.durable);
    });

    if (options.durable)
      it('resumes a subscription after its consumer closed, with what it had not acked', async () => {
        const first = await collect('resume');
        await backend.append(ref, event('before'), {});
        await until(() => first.seen.length >= 1, timeoutMs, 'the first event');
        await first.consumer.close('shutdown');
        await backend.append(ref, event('while-closed'), {});
        const second = await collect('resume');
        await until(
          () => second.seen.some((m) => m.event.attributes.id === 'while-closed'),
          timeoutMs,
          'the event appended while closed',
        );
        expect(second.seen.map((m) => m.event.attributes.id)).not.toContain('before');
      });
  });
}
