import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { buildApps, ce, spawnApp, waitReady, writeContract, type AppProcess } from './app-process';
import { eventually, startSubscriber, type TestSubscriber } from './subscriber';

// The crash test of a data-plane service, as a driver: events posted under load, one replica SIGKILLed
// half-way (a real process, killed by the kernel), started again, and every delivery counted.

export interface CrashOptions {
  /** Where each event is POSTed (a channel or broker address of a replica that is not killed). */
  target: string;
  /** The subscriber every accepted event must reach. */
  subscriber: TestSubscriber;
  /** The replica SIGKILLed once `killAfter` events were accepted. */
  victim: AppProcess;
  /** Starts the replica again (and waits until it is ready); called a moment after the kill. */
  restart(): Promise<AppProcess>;
  /** Default 10,000. */
  events?: number;
  /** Clients posting at once. Default 32. */
  concurrency?: number;
  /** Default half of `events`. */
  killAfter?: number;
  /** Time between the kill and the restart. Default 1 s. */
  downMs?: number;
  /** How long every accepted event may take to arrive after the last post. Default 120 s. */
  deliveryTimeoutMs?: number;
}

export interface CrashRun {
  events: number;
  /** Event ids answered 202 (a refused one is sent again, up to 5 times, as a client would). */
  accepted: Set<string>;
  /** Refusals that were sent again. */
  refused: number;
  /** From the first post to the last answer. */
  sentMs: number;
  /** What the victim had delivered before its kill (its `eventing_delivery_outcomes_total{outcome="delivered"}`). */
  deliveredByVictim: number;
  /** `performance.now()` of the kill, and of the restarted replica being ready. */
  killedAt: number;
  restartedAt: number;
  /** Times each event id reached the subscriber. */
  deliveries: Map<string, number>;
  /** Accepted and never delivered. */
  missing: string[];
  /** Deliveries beyond the first of each event. */
  duplicates: number;
  /** Deliveries the subscriber received after the kill. */
  deliveredAfterKill: number;
  /** Deliveries the subscriber received in the `ms` before `end` (a `performance.now()` time). */
  deliveredWithin(end: number, ms: number): number;
  /** Three lines for the test log: what was sent, what the victim did, what arrived, against `bound`. */
  summary(label: string, bound: string): string;
}

/** Starts a built app and resolves once it is ready (its first contract applied). */
export async function spawnReady(
  app: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<AppProcess> {
  const proc = await spawnApp(app, env);
  try {
    await waitReady(proc.url, timeoutMs);
    return proc;
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
}

/** Sum of a counter's series whose labels match `labels` (a regex over the label text) in a /metrics text. */
export function counterSum(metrics: string, name: string, labels = /.*/): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (m?.[1] === name && labels.test(m[2]!)) sum += Number(m[3]);
  }
  return sum;
}

/**
 * Posts `events` CloudEvents (ids `e0`…) at `target` from `concurrency` clients, SIGKILLs the victim
 * once `killAfter` were accepted, restarts it, waits for every accepted event at the subscriber and
 * counts what arrived: missing events and duplicates.
 */
export async function crashUnderLoad(options: CrashOptions): Promise<CrashRun> {
  const events = options.events ?? 10_000;
  const concurrency = options.concurrency ?? 32;
  const { subscriber } = options;
  const pool = new Agent({ connections: concurrency });
  const accepted = new Set<string>();
  let refused = 0;
  let next = 0;
  const send = async (id: string): Promise<boolean> => {
    try {
      const res = await request(options.target, {
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
  const client = async () => {
    while (next < events) {
      const id = `e${next++}`;
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
  try {
    const started = Date.now();
    const clients = Promise.all(Array.from({ length: concurrency }, client));
    await eventually(() => accepted.size >= (options.killAfter ?? events / 2), 120_000, 'events accepted');
    const victimMetrics = await (await fetch(`${options.victim.url}/metrics`)).text();
    const deliveredByVictim = counterSum(
      victimMetrics,
      'eventing_delivery_outcomes_total',
      /outcome="delivered"/,
    );
    options.victim.kill('SIGKILL');
    const killedAt = performance.now();
    if ((await options.victim.exited) !== null) throw new Error('the victim exited before its SIGKILL');
    await new Promise((r) => setTimeout(r, options.downMs ?? 1_000));
    await options.restart();
    const restartedAt = performance.now();
    await clients;
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
      options.deliveryTimeoutMs ?? 120_000,
      'every accepted event delivered',
    ).catch(() => undefined);
    count();
    const missing = [...accepted].filter((id) => !deliveries.has(id));
    const duplicates = [...deliveries.values()].reduce((n, c) => n + c - 1, 0);
    const times = subscriber.requests.map((r) => r.at);
    const deliveredAfterKill = times.filter((t) => t > killedAt).length;
    return {
      events,
      accepted,
      refused,
      sentMs,
      deliveredByVictim,
      killedAt,
      restartedAt,
      deliveries,
      missing,
      duplicates,
      deliveredAfterKill,
      deliveredWithin: (end, ms) => times.filter((t) => t > end - ms && t <= end).length,
      summary: (label, bound) =>
        [
          `${label}: ${accepted.size} of ${events} events accepted (${refused} refusals retried) in ${sentMs} ms`,
          `the killed replica delivered ${deliveredByVictim} before its SIGKILL; ${deliveredAfterKill} deliveries after it`,
          `delivered ${deliveries.size} distinct, ${missing.length} missing, ${duplicates} duplicates (bound ${bound})`,
        ].join('\n'),
    };
  } finally {
    next = events; // clients still posting (after a failure) stop
    await pool.close();
  }
}

/** What a crash test file works with: its contract file, the subscriber, and the processes it starts. */
export interface CrashFixture {
  /** The contract file the processes follow; `crashContract` writes one. */
  readonly contractPath: string;
  /** Started before the first test, closed after the last. */
  readonly subscriber: TestSubscriber;
  /** Starts a built app and resolves once it is ready; every process started is SIGKILLed after the file. */
  start(app: string, env: Record<string, string>): Promise<AppProcess>;
}

/**
 * For a crash test file, called at describe level: builds `apps`, makes a temp folder for the contract
 * and starts the subscriber before the tests; kills what was started and removes the folder after.
 */
export function withCrashFixture(...apps: string[]): CrashFixture {
  let dir = '';
  let subscriber: TestSubscriber | undefined;
  const procs: AppProcess[] = [];
  beforeAll(async () => {
    buildApps(...apps);
    dir = mkdtempSync(join(tmpdir(), 'crash-'));
    subscriber = await startSubscriber();
  });
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await subscriber?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get contractPath() {
      return join(dir, 'contract.json');
    },
    get subscriber() {
      if (!subscriber) throw new Error('withCrashFixture(): the subscriber starts in beforeAll');
      return subscriber;
    },
    start: async (app, env) => {
      const proc = await spawnReady(app, env);
      procs.push(proc);
      return proc;
    },
  };
}

/**
 * Writes the contract of a crash test: the channel or broker `crash/events` in `store`, with one
 * Subscription or Trigger to `subscriberUri` (3 retries, exponential from 100 ms).
 */
export function crashContract(
  path: string,
  resource: 'channel' | 'broker',
  store: string,
  subscriberUri: string,
  storeSettings?: object,
): void {
  const events = { uid: 'crash-store', namespace: 'crash', name: 'events', store, storeSettings };
  const consumer = {
    uid: 'crash-consumer',
    namespace: 'crash',
    name: 'crash-consumer',
    subscriberUri,
    policy: { retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 100 },
    format: 'binary',
  };
  writeContract(
    path,
    resource === 'channel'
      ? {
          generation: 1,
          channels: [events],
          subscriptions: [{ ...consumer, channel: { namespace: 'crash', name: 'events' } }],
        }
      : { generation: 1, brokers: [events], triggers: [{ ...consumer, broker: 'events' }] },
  );
}

/**
 * How many duplicates a Kafka consumer group may deliver around one member's SIGKILL and restart.
 * A record is delivered twice only when a member delivered it and then lost its partition before
 * committing its offset. Commits run every `commitMs` (and one may be on the wire when the member
 * stops), so what is uncommitted at a moment t was delivered within (t − 2 × commitMs, t]:
 *  - the kill: what the killed member delivered in the 2 × commitMs before it, plus its deliveries in
 *    flight (≤ maxInFlight);
 *  - the rejoin: a survivor gives partitions back; it commits what it finished when it gets the new
 *    assignment, which the restarted member may read before that commit lands: the survivor's
 *    deliveries in the 2 × commitMs before the rejoin, plus its deliveries in flight (≤ maxInFlight);
 *  - a further rebalance while the group settles (the dead member expiring apart from the new one
 *    joining): the member giving up partitions then has at most maxInFlight in flight.
 * So duplicates ≤ W(kill) + W(rejoin) + 3 × maxInFlight, where W(t) counts what the subscriber received
 * in the 2 × commitMs before t (from every member: an over-estimate of any one's share).
 */
export function kafkaDuplicatesBound(
  run: CrashRun,
  commitMs: number,
  maxInFlight: number,
): { bound: number; reason: string } {
  const atKill = run.deliveredWithin(run.killedAt, 2 * commitMs);
  const atRejoin = run.deliveredWithin(run.restartedAt, 2 * commitMs);
  const bound = atKill + atRejoin + 3 * maxInFlight;
  return {
    bound,
    reason: `${bound} = ${atKill} delivered in the ${2 * commitMs} ms before the kill + ${atRejoin} before the restarted replica was ready + 3 × maxInFlight ${maxInFlight}`,
  };
}

/**
 * Prints the run's summary and asserts what every crash test owes: every event accepted, the killed
 * replica had taken real work, nothing accepted is missing, and duplicates stay within `bound`.
 */
export function expectNothingLost(
  run: CrashRun,
  label: string,
  limit: { bound: number; reason: string },
): void {
  console.log(run.summary(label, limit.reason));
  expect(run.accepted.size).toBe(run.events);
  expect(run.deliveredByVictim).toBeGreaterThan(0); // the victim had work: the kill cut into it
  expect(run.missing).toEqual([]);
  expect(run.duplicates).toBeLessThanOrEqual(limit.bound);
}
