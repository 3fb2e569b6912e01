import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { eventually, startSubscriber, withKafka, type TestSubscriber } from '@eventing/testing';
import { buildApps, ce, spawnApp, waitReady, writeContract, type AppProcess } from '@eventing/testing';

// The Kafka broker pair under a crash: kafka-broker-receiver takes 10,000 events into the broker's
// topic; two replicas A and B of kafka-broker-dispatcher share the trigger's consumer group (the
// partitions split between them). B is SIGKILLed half-way and started again. Every event the receiver
// answered 202 must reach the trigger's subscriber at least once.
//
// Duplicates bound. A record is delivered twice only when a member delivered it and then lost its
// partition before committing its offset. Commits run every COMMIT_MS (and one may be on the wire
// when the member stops), so what is uncommitted at a moment t was delivered within (t − 2 × COMMIT_MS, t].
//  - B's kill: what B delivered in the 2 × COMMIT_MS before it, plus its deliveries in flight (≤ M).
//  - B's rejoin: A gives partitions back; it commits what it finished when it gets the new
//    assignment, which B may read before that commit lands: A's deliveries in the 2 × COMMIT_MS before
//    the rejoin, plus A's deliveries in flight (≤ M).
//  - a further rebalance while the group settles (the dead member expiring apart from the new one
//    joining): the member giving up partitions then has at most M in flight.
// So duplicates ≤ W(kill) + W(rejoin) + 3 × M, where W(t) counts what the subscriber received in the
// 2 × COMMIT_MS before t (from both replicas: an over-estimate of either one's share).
jest.setTimeout(300_000);

const kafka = withKafka();
const EVENTS = 10_000;
const CONCURRENCY = 32;
const M = 16; // MAX_IN_FLIGHT per trigger
const PARTITIONS = 4;
const COMMIT_MS = 1_000;

describe('Kafka broker pair: a dispatcher replica SIGKILLed under load', () => {
  let dir: string;
  let subscriber: TestSubscriber;
  let agent: Agent | undefined;
  const procs: AppProcess[] = [];

  beforeAll(() => {
    buildApps('kafka-broker-receiver', 'kafka-broker-dispatcher');
    dir = mkdtempSync(join(tmpdir(), 'kb-crash-'));
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await agent?.close();
    await subscriber?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every accepted event at least once, with duplicates bounded by what was uncommitted', async () => {
    subscriber = await startSubscriber();
    const contractPath = join(dir, 'contract.json');
    writeContract(contractPath, {
      generation: 1,
      brokers: [
        {
          uid: 'crash-broker',
          namespace: 'crash',
          name: 'orders',
          store: 'kafka',
          storeSettings: { numPartitions: PARTITIONS },
        },
      ],
      triggers: [
        {
          uid: 'crash-trigger',
          namespace: 'crash',
          name: 'crash-trigger',
          broker: 'orders',
          subscriberUri: subscriber.url,
          policy: { retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 100 },
          format: 'binary',
        },
      ],
    });
    const env = {
      CONTRACT_PATH: contractPath,
      KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrap,
      MAX_IN_FLIGHT: String(M),
      KAFKA_COMMIT_INTERVAL_MS: String(COMMIT_MS),
      // Kafka's smallest session by default: B's partitions move to A 6 s after the kill.
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    };
    const receiver = await spawnApp('kafka-broker-receiver', env);
    procs.push(receiver);
    await waitReady(receiver.url, 60_000);
    const dispatcherEnv = { ...env, RECEIVER_URL: receiver.url };
    const a = await spawnApp('kafka-broker-dispatcher', dispatcherEnv);
    procs.push(a);
    await waitReady(a.url, 60_000);
    let b = await spawnApp('kafka-broker-dispatcher', dispatcherEnv);
    procs.push(b);
    await waitReady(b.url, 60_000);
    // B's join rebalanced the group: give A the moment to take its new assignment too.
    await new Promise((r) => setTimeout(r, 2_000));

    const pool = (agent = new Agent({ connections: CONCURRENCY }));
    const accepted = new Set<string>();
    let refused = 0;
    let next = 0;
    const send = async (id: string): Promise<boolean> => {
      try {
        const res = await request(`${receiver.url}/crash/orders`, {
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
    b = await spawnApp('kafka-broker-dispatcher', dispatcherEnv);
    procs.push(b);
    await waitReady(b.url, 60_000);
    // Ready once its consumer joined the group: the rebalance that moved partitions back happened by now.
    const rejoinedAt = performance.now();
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
    const times = subscriber.requests.map((r) => r.at).sort((x, y) => x - y);
    const window = (end: number) => times.filter((t) => t > end - 2 * COMMIT_MS && t <= end).length;
    const atKill = window(killedAt);
    const atRejoin = window(rejoinedAt);
    const bound = atKill + atRejoin + 3 * M;
    const deliveredAfterKill = times.filter((t) => t > killedAt).length;
    console.log(
      [
        `Kafka broker crash: ${accepted.size} of ${EVENTS} events accepted (${refused} refusals retried) in ${sentMs} ms by the receiver`,
        `dispatcher replica B delivered ${deliveredByB} before its SIGKILL; ${deliveredAfterKill} deliveries after it`,
        `delivered ${deliveries.size} distinct, ${missing.length} missing, ${duplicates} duplicates ` +
          `(bound ${bound} = ${atKill} delivered in the ${2 * COMMIT_MS} ms before the kill + ${atRejoin} before B rejoined + 3 × maxInFlight ${M})`,
      ].join('\n'),
    );
    expect(accepted.size).toBe(EVENTS);
    expect(deliveredByB).toBeGreaterThan(0); // B had partitions: the kill cut real work
    expect(missing).toEqual([]);
    expect(duplicates).toBeLessThanOrEqual(bound);
  });
});
