import type { CloudEvent } from '@eventing/cloudevents';
import { startNats, type NatsServer } from '@eventing/testing';
import type { AppendResult } from '../backend';
import { JetStreamChannelBackend } from './jetstream-backend';

// nats-server SIGKILLed while events stream through, then restarted on the same store: appends
// during the outage are refused (503, never accepted), and every append JetStream acknowledged is
// consumed after the restart (at least once: acks lost in the crash come back as redeliveries).
jest.setTimeout(120_000);

const event = (id: string): CloudEvent => ({
  attributes: { specversion: '1.0', id, source: '/crash', type: 'crash.test', datacontenttype: 'text/plain' },
  data: Buffer.from(id),
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let nats: NatsServer;
let backend: JetStreamChannelBackend | undefined;
beforeAll(async () => {
  nats = await startNats();
}, 300_000);
afterAll(async () => {
  await backend?.close();
  await nats?.stop();
}, 30_000);

it('refuses appends while nats-server is down and consumes every acknowledged append after its restart', async () => {
  backend = new JetStreamChannelBackend({ servers: [nats.url], publishTimeoutMs: 2_000, ackWaitMs: 5_000 });
  const ref = { namespace: 'crash', name: 'stream' };
  await backend.ensureChannel(ref);
  const deliveries = new Map<string, number>();
  let redelivered = 0;
  await backend.subscribe(ref, { id: 'crash-sub', maxInFlight: 16 }, async (m) => {
    const id = String(m.event.attributes.id);
    deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
    if (m.redeliveries > 0) redelivered++;
    await sleep(2);
    return 'ack';
  });

  const acked = new Set<string>();
  const refused: AppendResult[] = [];
  let seq = 0;
  let sending = true;
  const send = async () => {
    while (sending) {
      const id = `e${seq++}`;
      const r = await backend!.append(ref, event(id), { 'x-request-id': id });
      if (r.ok) acked.add(id);
      else refused.push(r);
      if (!r.ok) await sleep(20);
    }
  };
  const senders = Array.from({ length: 8 }, send);

  await sleep(1_000);
  const ackedBeforeKill = acked.size;
  nats.kill();
  await sleep(300);
  // The outage: what is appended now is refused at once, with 503 and a reason, and never stored.
  const during = await Promise.all(
    Array.from({ length: 20 }, (_, i) => backend!.append(ref, event(`outage-${i}`), {})),
  );
  for (const r of during) expect(r).toMatchObject({ ok: false, status: 503, retryAfterSeconds: 1 });
  await sleep(1_000);
  await nats.restart();
  await sleep(2_000);
  sending = false;
  await Promise.all(senders);

  const end = Date.now() + 60_000;
  while ([...acked].some((id) => !deliveries.has(id)) && Date.now() < end) await sleep(50);
  const missing = [...acked].filter((id) => !deliveries.has(id));
  const duplicates = [...deliveries.values()].filter((count) => count > 1).length;
  const storedAlthoughRefused = [...deliveries.keys()].filter((id) => !acked.has(id)).length;
  const reason = (r: AppendResult | undefined) => (r && !r.ok ? r.reason : 'none');
  console.log(
    [
      `crash test: ${acked.size} appends acknowledged (${ackedBeforeKill} before the kill), all delivered after the restart`,
      `refused: ${refused.length} by the senders (first: ${reason(refused[0])}), ${during.length} during the outage (${reason(during[0])})`,
      `delivered ${deliveries.size} distinct events (${storedAlthoughRefused} of them refused, yet stored: the PubAck was lost), ` +
        `${redelivered} with redeliveries > 0, ${duplicates} delivered more than once (consumer state rolled back by the crash)`,
    ].join('\n'),
  );
  expect(missing).toEqual([]);
  expect(ackedBeforeKill).toBeGreaterThan(0);
  expect(acked.size).toBeGreaterThan(ackedBeforeKill); // appends succeed again after the restart
  expect(deliveries.has('outage-0')).toBe(false);
});
