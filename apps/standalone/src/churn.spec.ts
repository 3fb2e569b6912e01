import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startSubscriber, eventually, type TestSubscriber } from '@eventing/testing';
import { runStandalone } from './main';
import { optionsFrom } from './options';

// Churn: 10,000 events while Triggers and Subscriptions are added, edited and deleted at random, with a
// subscriber that fails part of the time and a dead-letter sink that is down for a while. At the end
// every event answered 202 is accounted for exactly: delivered + dead-lettered + failed + discarded
// with a counted reason. The figures come from /metrics and are checked against what the real
// subscriber and dead-letter sink received.

const EVENTS = 10_000;
const CONCURRENCY = 16;
const TYPES = ['a', 'b', 'c', 'd'];
const TRIGGER_POOL = 8;
const SUBSCRIPTION_POOL = 4;

/** A small deterministic generator, so a failing run can be replayed from its printed seed. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Sums a metric's samples from Prometheus text, optionally only those whose labels match. */
function sum(text: string, name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = line.slice(name.length, line.lastIndexOf(' '));
    if (Object.entries(match).some(([k, v]) => !labels.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Sums a metric's samples by the value of one label. */
function byLabel(text: string, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`^${name}\\{[^}]*${label}="([^"]*)"[^}]*\\} (\\S+)$`);
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (m) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return out;
}

describe('churn: nothing accepted is unaccounted for', () => {
  let dir: string;
  let subscriber: TestSubscriber;
  let dls: TestSubscriber;
  let app: Awaited<ReturnType<typeof runStandalone>>;
  let dlsDown = true;
  const seed = Number(process.env['CHURN_SEED'] ?? Date.now() % 1_000_000);
  const rand = random(seed);
  /** Answers per server: 2xx answers are what a delivery or dead letter counts as done. */
  const answered = { subscriber2xx: 0, subscriberFailed: 0, dls2xx: 0, dlsRefused: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'churn-'));
    const failures = random(seed + 1);
    subscriber = await startSubscriber(() => {
      if (failures() < 0.25) {
        answered.subscriberFailed++;
        return { status: 500 };
      }
      answered.subscriber2xx++;
      return { status: 202, delayMs: Math.floor(failures() * 3) };
    });
    dls = await startSubscriber(() => {
      if (dlsDown) {
        answered.dlsRefused++;
        return { status: 503 };
      }
      answered.dls2xx++;
      return { status: 202 };
    });
    writeFileSync(
      join(dir, 'broker.yaml'),
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: churn, namespace: default }
spec:
  delivery:
    retry: 2
    backoffPolicy: linear
    backoffDelay: PT0.005S
    deadLetterSink: { uri: "${dls.url}/dls" }
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: { name: pipe, namespace: default }
spec:
  delivery: { retry: 1, backoffDelay: PT0.005S }
`,
    );
    // Every discard and failure is logged; the accounting below reads the counts instead.
    const options = optionsFrom(
      ['--config', dir, '--port', '0', '--no-watch', '--log-format', 'json', '--log-level', 'error'].concat(
        ['--max-in-flight', '20', '--max-in-flight-total', '200', '--queue-capacity', '100000'],
        ['--redelivery-delay', '20', '--redelivery-max-delay', '200'],
      ),
    );
    app = await runStandalone(options, () => undefined);
  });

  afterAll(async () => {
    await app?.service.close();
    await Promise.all([subscriber, dls].map((s) => s?.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** One random edit of the folder: add, edit or delete a Trigger or a Subscription. */
  function edit(present: { triggers: Set<number>; subscriptions: Set<number> }): void {
    const onTrigger = rand() < 0.7;
    const pool = onTrigger ? TRIGGER_POOL : SUBSCRIPTION_POOL;
    const set = onTrigger ? present.triggers : present.subscriptions;
    const i = Math.floor(rand() * pool);
    const file = join(dir, `${onTrigger ? 't' : 's'}${i}.yaml`);
    if (set.has(i) && rand() < 0.4) {
      unlinkSync(file);
      set.delete(i);
      return;
    }
    set.add(i);
    const path = `/${onTrigger ? 't' : 's'}${i}-${Math.floor(rand() * 3)}`;
    if (onTrigger) {
      const type = TYPES[Math.floor(rand() * 3)];
      const filter = rand() < 0.2 ? '' : `  filter: { attributes: { type: ${type} } }\n`;
      writeFileSync(
        file,
        `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: t${i}, namespace: default }
spec:
  broker: churn
${filter}  subscriber: { uri: "${subscriber.url}${path}" }
`,
      );
    } else {
      writeFileSync(
        file,
        `apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata: { name: s${i}, namespace: default }
spec:
  channel: { apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: pipe }
  subscriber: { uri: "${subscriber.url}${path}" }
`,
      );
    }
  }

  it('accepted = delivered + dead-lettered + failed + discarded with a reason, exactly', async () => {
    const present = { triggers: new Set<number>(), subscriptions: new Set<number>() };
    for (let k = 0; k < 6; k++) edit(present);
    await app.runtime.reload();

    const agent = new Agent({ connections: CONCURRENCY });
    const statuses = new Map<number, number>();
    let sent = 0;
    let editing = true;
    let edits = 0;
    const editor = (async () => {
      while (editing) {
        edit(present);
        edits++;
        await app.runtime.reload();
        await new Promise((r) => setTimeout(r, 20 + rand() * 40));
      }
    })();
    const broker = `${app.service.url}/default/churn`;
    const channel = `${app.service.url}/_channels/default/pipe`;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < EVENTS) {
          const n = sent++;
          if (n === Math.floor(EVENTS * 0.6)) dlsDown = false; // the dead-letter sink comes back
          const res = await request(n % 5 === 0 ? channel : broker, {
            method: 'POST',
            dispatcher: agent,
            headers: {
              'ce-specversion': '1.0',
              'ce-id': `e${n}`,
              'ce-source': '/churn',
              'ce-type': TYPES[n % TYPES.length]!,
              'content-type': 'application/json',
            },
            body: `{"n":${n}}`,
          });
          await res.body.dump();
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        }
      }),
    );
    editing = false;
    await editor;
    dlsDown = false;
    const sendMs = Date.now() - started;
    await eventually(() => app.runtime.backend.pending() === 0, 60_000, 'every accepted event to end');
    await agent.close();

    const metrics = await (await fetch(`${app.service.url}/metrics`)).text();
    const accepted202 = statuses.get(202) ?? 0;
    const eventsStored = sum(metrics, 'eventing_events_accepted_total');
    const owed = sum(metrics, 'eventing_deliveries_accepted_total');
    const outcomes = byLabel(metrics, 'eventing_delivery_outcomes_total', 'outcome');
    const discards = byLabel(metrics, 'eventing_events_discarded_total', 'reason');
    const unrouted = (discards.get('no_matching_trigger') ?? 0) + (discards.get('no_subscribers') ?? 0);
    const delivered = outcomes.get('delivered') ?? 0;
    const deadLettered = outcomes.get('dead_lettered') ?? 0;
    const failed = outcomes.get('failed') ?? 0;
    const discardedCopies = [...discards].filter(
      ([r]) => r !== 'no_matching_trigger' && r !== 'no_subscribers',
    );
    const discarded = discardedCopies.reduce((a, [, n]) => a + n, 0);
    const cancelledInFlight = discarded; // an upper bound on deliveries cut while a server answered

    const rows: [string, number | string][] = [
      ['seed', seed],
      ['events sent', EVENTS],
      ['answered 202', accepted202],
      [
        'answered otherwise',
        [...statuses]
          .filter(([s]) => s !== 202)
          .map(([s, n]) => `${s}×${n}`)
          .join(' ') || 0,
      ],
      ['edits applied while sending', edits],
      ['stored for ≥1 trigger/subscription', eventsStored],
      ['stored for nobody (no_matching_trigger + no_subscribers)', unrouted],
      ['deliveries owed (one per matching trigger/subscription)', owed],
      ['  delivered', delivered],
      ['  dead-lettered', deadLettered],
      ['  failed (no dead-letter sink)', failed],
      ...discardedCopies.map(([r, n]) => [`  discarded: ${r}`, n] as [string, number]),
      ['  unaccounted', owed - delivered - deadLettered - failed - discarded],
      ['held now', sum(metrics, 'eventing_events_held')],
      ['held once (dead-letter sink down)', outcomes.get('held') ?? 0],
      ['subscriber 2xx answers / refusals', `${answered.subscriber2xx} / ${answered.subscriberFailed}`],
      ['dead-letter sink 2xx / refusals', `${answered.dls2xx} / ${answered.dlsRefused}`],
      ['send time ms', sendMs],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(
      ['| what | count |', '|---|---|', ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`)].join('\n'),
    );

    expect(accepted202).toBe(EVENTS);
    // Every 202: stored for someone, or counted as stored for nobody.
    expect(eventsStored + unrouted).toBe(accepted202);
    // Every delivery owed ends exactly once.
    expect(delivered + deadLettered + failed + discarded).toBe(owed);
    expect(sum(metrics, 'eventing_events_held')).toBe(0);
    // The counts agree with what the real servers answered; a delivery cancelled (trigger deleted)
    // while the server was answering may be answered there without being counted as delivered.
    expect(answered.subscriber2xx).toBeGreaterThanOrEqual(delivered);
    expect(answered.subscriber2xx - delivered).toBeLessThanOrEqual(cancelledInFlight);
    expect(answered.dls2xx).toBeGreaterThanOrEqual(deadLettered);
    expect(answered.dls2xx - deadLettered).toBeLessThanOrEqual(cancelledInFlight);
    // The run exercised what it claims to: edits discarded queued events, the sink was down, events
    // were held, dead-lettered and failed.
    expect(discards.get('trigger_deleted') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('held') ?? 0).toBeGreaterThan(0);
    expect(deadLettered).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
    expect(edits).toBeGreaterThan(20);
  }, 120_000);
});
