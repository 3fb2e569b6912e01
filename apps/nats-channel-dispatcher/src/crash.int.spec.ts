import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { eventually, startSubscriber, withNats, type TestSubscriber } from '@eventing/testing';
import { buildApps, ce, spawnApp, waitReady, writeContract, type AppProcess } from '@eventing/testing';

// Two replicas of nats-channel-dispatcher share one NatsJetStreamChannel (one durable pull consumer
// per subscription, pulled from by both). 10,000 events go in through replica A; replica B is
// SIGKILLed half-way and started again. Every event answered 202 must reach the subscriber at least once.
//
// Duplicates bound. Each message is acknowledged on its own as soon as its delivery ends, so a message
// is delivered twice only when B delivered it and its ack never reached the server: it was in flight
// at the kill (or its ack still in B's socket buffer). JetStream hands out at most MaxAckPending
// unacknowledged messages of a consumer across all its clients, and the dispatcher sets MaxAckPending
// to the subscription's maxInFlight, so duplicates ≤ M. (What B had pulled and not yet delivered comes
// back after AckWait: redelivered, not duplicated.)
jest.setTimeout(300_000);

const nats = withNats();
const EVENTS = 10_000;
const CONCURRENCY = 32;
const M = 16; // MAX_IN_FLIGHT per subscription
const ACK_WAIT_MS = 3_000;

describe('nats-channel-dispatcher: a replica SIGKILLed under load', () => {
  let dir: string;
  let subscriber: TestSubscriber;
  let agent: Agent | undefined;
  const procs: AppProcess[] = [];

  beforeAll(() => {
    buildApps('nats-channel-dispatcher');
    dir = mkdtempSync(join(tmpdir(), 'ncd-crash-'));
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await agent?.close();
    await subscriber?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every accepted event at least once, with duplicates bounded by what was unacknowledged', async () => {
    subscriber = await startSubscriber();
    const contractPath = join(dir, 'contract.json');
    writeContract(contractPath, {
      generation: 1,
      channels: [
        {
          uid: 'crash-ch',
          namespace: 'crash',
          name: 'events',
          store: 'jetstream',
        },
      ],
      subscriptions: [
        {
          uid: 'crash-sub',
          namespace: 'crash',
          name: 'crash-sub',
          channel: { namespace: 'crash', name: 'events' },
          subscriberUri: subscriber.url,
          policy: { retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 100 },
          format: 'binary',
        },
      ],
    });
    const env = {
      CONTRACT_PATH: contractPath,
      NATS_URL: nats.url,
      MAX_IN_FLIGHT: String(M),
      // What B held at the kill comes back to A (or the new B) this long after it was handed out.
      ACK_WAIT_MS: String(ACK_WAIT_MS),
    };
    const a = await spawnApp('nats-channel-dispatcher', env);
    procs.push(a);
    await waitReady(a.url, 60_000);
    let b = await spawnApp('nats-channel-dispatcher', env);
    procs.push(b);
    await waitReady(b.url, 60_000);

    const pool = (agent = new Agent({ connections: CONCURRENCY }));
    const accepted = new Set<string>();
    let refused = 0;
    let next = 0;
    const send = async (id: string): Promise<boolean> => {
      try {
        const res = await request(`${a.url}/crash/events`, {
          method: 'POST',
          dispatcher: pool,
          headers: ce(id),
          body: id,
        });
        await res.body.dump();
        return res.statusCode === 202;
      } catch {
        return false;
      }
    };
    const worker = async () => {
      while (next < EVENTS) {
        const id = `e${next++}`;
        // A client sends again what was not accepted (bounded).
        for (let attempt = 0; attempt < 5; attempt++) {
          if (await send(id)) {
            accepted.add(id);
            break;
          }
          refused++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const started = Date.now();
    const workers = Array.from({ length: CONCURRENCY }, worker);

    await eventually(() => accepted.size >= EVENTS / 2, 120_000, 'half of the events accepted');
    const bMetrics = await (await fetch(`${b.url}/metrics`)).text();
    const deliveredByB = Number(
      /eventing_delivery_outcomes_total\{[^}]*outcome="delivered"\} (\d+)/.exec(bMetrics)?.[1] ?? 0,
    );
    b.kill('SIGKILL');
    const killedAt = performance.now();
    expect(await b.exited).toBeNull();
    await new Promise((r) => setTimeout(r, 1_000));
    b = await spawnApp('nats-channel-dispatcher', env);
    procs.push(b);
    await waitReady(b.url, 60_000);
    await Promise.all(workers);
    const sentMs = Date.now() - started;

    const deliveries = new Map<string, number>();
    const count = () => {
      deliveries.clear();
      for (const r of subscriber.requests) {
        const id = String(r.headers['ce-id']);
        deliveries.set(id, (deliveries.get(id) ?? 0) + 1);
      }
    };
    await eventually(
      () => {
        count();
        return [...accepted].every((id) => deliveries.has(id));
      },
      120_000,
      'every accepted event delivered',
    ).catch(() => undefined);
    count();
    const missing = [...accepted].filter((id) => !deliveries.has(id));
    const duplicates = [...deliveries.values()].reduce((n, c) => n + c - 1, 0);
    const bound = M;
    const deliveredAfterKill = subscriber.requests.filter((r) => r.at > killedAt).length;
    console.log(
      [
        `nats-channel-dispatcher crash: ${accepted.size} of ${EVENTS} events accepted (${refused} refusals retried) in ${sentMs} ms through replica A`,
        `replica B delivered ${deliveredByB} before its SIGKILL; ${deliveredAfterKill} deliveries after it`,
        `delivered ${deliveries.size} distinct, ${missing.length} missing, ${duplicates} duplicates ` +
          `(bound ${bound} = maxInFlight = the durable consumer's MaxAckPending)`,
      ].join('\n'),
    );
    expect(accepted.size).toBe(EVENTS);
    expect(deliveredByB).toBeGreaterThan(0); // B pulled its share: the kill cut real work
    expect(missing).toEqual([]);
    expect(duplicates).toBeLessThanOrEqual(bound);
  });
});
