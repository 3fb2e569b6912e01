import type { CloudEvent } from '@eventing/cloudevents';
import { EventTypeRecorder, type ObservedType } from './recorder';

const broker = {
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  namespace: 'shop',
  name: 'default',
  uid: 'b-1',
};

function event(type: string, source = '/s', extra: Record<string, string> = {}): CloudEvent {
  return { attributes: { specversion: '1.0', id: 'x', type, source, ...extra }, data: undefined };
}

describe('EventTypeRecorder (CONFORMANCE 2.16: asynchronous, rate-limited, bounded)', () => {
  it('off, it records nothing', async () => {
    const batches: ObservedType[][] = [];
    const recorder = new EventTypeRecorder({ sink: async (b) => void batches.push([...b]) });
    recorder.observe(broker, event('a'));
    await recorder.settled();
    expect(batches).toEqual([]);
    expect(recorder.stats().pending).toBe(0);
  });

  it('hands each new type over once, with its reference, owner uid, schema and specversion', async () => {
    const batches: ObservedType[][] = [];
    const recorder = new EventTypeRecorder({ enabled: true, sink: async (b) => void batches.push([...b]) });
    recorder.observe(broker, event('a', '/s', { dataschema: 'https://schema' }));
    recorder.observe(broker, event('a'));
    recorder.observe(broker, event('b'));
    await recorder.settled();
    recorder.observe(broker, event('a'));
    recorder.observe(broker, event('b'));
    await recorder.settled();
    expect(batches).toEqual([
      [
        {
          reference: {
            apiVersion: 'eventing.knative.dev/v1',
            kind: 'Broker',
            namespace: 'shop',
            name: 'default',
          },
          referenceUid: 'b-1',
          type: 'a',
          source: '/s',
          schema: 'https://schema',
          specversion: '1.0',
        },
        expect.objectContaining({ type: 'b', schema: '' }),
      ],
    ]);
    expect(recorder.stats()).toEqual({ handedOver: 2, dropped: 0, failures: 0, pending: 0 });
    recorder.close();
  });

  it('keeps at most maxPending types waiting; the rest are dropped and counted', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const recorder = new EventTypeRecorder({ enabled: true, maxPending: 3, sink: () => gate });
    for (let i = 0; i < 10; i++) recorder.observe(broker, event(`t${i}`));
    expect(recorder.stats()).toMatchObject({ pending: 3, dropped: 7 });
    release();
    await recorder.settled();
    expect(recorder.stats()).toMatchObject({ pending: 0, handedOver: 3 });
    recorder.close();
  });

  it('hands over in batches no faster than the rate allows', async () => {
    const at: number[] = [];
    const recorder = new EventTypeRecorder({
      enabled: true,
      batchSize: 2,
      handOversPerSecond: 10,
      sink: async () => void at.push(Date.now()),
    });
    for (let i = 0; i < 6; i++) recorder.observe(broker, event(`t${i}`));
    await recorder.settled();
    expect(at).toHaveLength(3);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(90);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(90);
    recorder.close();
  });

  it('a failed hand-over is tried again after a backoff; nothing is lost', async () => {
    let calls = 0;
    const errors: string[] = [];
    const recorder = new EventTypeRecorder({
      enabled: true,
      retryDelayMs: 50,
      sink: async () => {
        if (++calls < 3) throw new Error('controller unreachable');
      },
      onError: (e) => errors.push(e.message),
    });
    recorder.observe(broker, event('a'));
    await recorder.settled();
    expect(calls).toBe(3);
    expect(errors).toEqual(['controller unreachable', 'controller unreachable']);
    expect(recorder.stats()).toEqual({ handedOver: 1, dropped: 0, failures: 2, pending: 0 });
    recorder.close();
  });

  it('remembers at most maxKnown types: the oldest forgotten is handed over again (the sink is idempotent)', async () => {
    const seen: string[] = [];
    const recorder = new EventTypeRecorder({
      enabled: true,
      maxKnown: 2,
      handOversPerSecond: 1000,
      sink: async (b) => void seen.push(...b.map((o) => o.type)),
    });
    for (const t of ['a', 'b', 'c']) {
      recorder.observe(broker, event(t));
      await recorder.settled();
    }
    recorder.observe(broker, event('a'));
    await recorder.settled();
    expect(seen).toEqual(['a', 'b', 'c', 'a']);
    recorder.close();
  });
});
