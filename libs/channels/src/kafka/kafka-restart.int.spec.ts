// KafkaChannelBackend across a Kafka crash: a broker of its own (a shared one must not be killed),
// SIGKILLed mid-stream and started again on the same data.
import { connect } from 'node:net';
import type { CloudEvent } from '@eventing/cloudevents';
import { type KafkaServer, startKafka } from '@eventing/testing';
import type { AppendResult } from '../backend';
import { KafkaChannelBackend } from './kafka-backend';

const event = (id: string): CloudEvent => ({
  attributes: { specversion: '1.0', id, source: '/kafka-restart', type: 'kafka.restart.test' },
  data: Buffer.from(id),
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleep(20);
  }
}

/** Resolves once nothing accepts TCP connections on 127.0.0.1:`port` (the killed broker is gone). */
async function closedPort(port: number): Promise<void> {
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (!open) return;
    await sleep(50);
  }
}

describe('KafkaChannelBackend when Kafka restarts', () => {
  let server: KafkaServer;
  beforeAll(async () => {
    server = await startKafka();
  }, 300_000);
  afterAll(() => server?.stop(), 60_000);

  it('answers 503 while Kafka is down, then delivers everything acknowledged before the crash', async () => {
    const errors: string[] = [];
    const backend = new KafkaChannelBackend({
      bootstrap: [server.bootstrap],
      producer: { retries: 2, retryDelayMs: 100, requestTimeoutMs: 2000 },
      onError: (err) => errors.push((err as Error).message),
    });
    try {
      const ref = { namespace: 'restart', name: 'survivor' };
      await backend.ensureChannel(ref, { numPartitions: 3 });
      const consumed = new Set<string>();
      // Deliveries wait until Kafka is back, so the crash always comes mid-stream (however fast or
      // slow the machine): what the consumer holds or has not fetched yet is finished afterwards.
      let reopen = () => {};
      const backAgain = new Promise<void>((resolve) => (reopen = resolve));
      await backend.subscribe(ref, { id: 'survivor', maxInFlight: 2 }, async (m) => {
        await backAgain;
        await sleep(5);
        consumed.add(String(m.event.attributes.id));
        return 'ack';
      });
      const acked: string[] = [];
      for (let i = 0; i < 150; i++) {
        const stored = await backend.append(ref, event(`before-${i}`), { 'x-request-id': `r${i}` });
        expect(stored).toEqual({ ok: true });
        acked.push(`before-${i}`);
      }
      expect(consumed.size).toBeLessThan(150); // the crash comes mid-stream

      server.kill();
      await closedPort(server.port);
      const during: AppendResult[] = await Promise.all(
        Array.from({ length: 20 }, (_, i) => backend.append(ref, event(`during-${i}`), {})),
      );
      for (const result of during) {
        expect(result).toMatchObject({ ok: false, status: 503, retryAfterSeconds: 1 });
      }
      const afterCrash = consumed.size;

      await server.restart();
      reopen();
      await until(
        () => acked.every((id) => consumed.has(id)),
        120_000,
        () => `the ${acked.length} acknowledged events (have ${consumed.size})`,
      );
      expect(consumed.size).toBeGreaterThan(afterCrash);

      // Appends work again once Kafka is back.
      const end = Date.now() + 60_000;
      let again = await backend.append(ref, event('after'), {});
      while (!again.ok && Date.now() < end) {
        await sleep(500);
        again = await backend.append(ref, event('after'), {});
      }
      expect(again).toEqual({ ok: true });
      await until(
        () => consumed.has('after'),
        60_000,
        () => 'the event appended after the restart',
      );
    } finally {
      await backend.close();
    }
  }, 300_000);
});
