import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PingSchedule } from '@eventing/contract';
import {
  buildApps,
  eventually,
  sleep,
  spawnApp,
  startSubscriber,
  withKube,
  type AppProcess,
  type RecordedRequest,
  type TestSubscriber,
} from '@eventing/testing';

// The adapter as deployed (dist/apps/ping-source/main.js), several replicas coordinating through the
// real kube-apiserver's Leases, sending to a real subscriber.

jest.setTimeout(180_000);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function writeSchedules(path: string, schedules: PingSchedule[], generation = 1): void {
  writeFileSync(`${path}.tmp`, JSON.stringify({ schedules, generation }));
  renameSync(`${path}.tmp`, path);
}

/** The second of the tick each request was sent for (its `time` is the tick plus under 1 s of jitter). */
function ticksOf(requests: readonly RecordedRequest[], source: string): number[] {
  return requests
    .filter((r) => r.headers['ce-source'] === source)
    .map((r) => Math.floor(Date.parse(String(r.headers['ce-time'])) / 1000))
    .sort((a, b) => a - b);
}

/** Every second between the first and last tick seen exactly once: none missed, none twice. */
function expectEachTickOnce(ticks: number[]): void {
  const first = ticks[0]!;
  const last = ticks[ticks.length - 1]!;
  expect(ticks).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
}

describe('ping-source replicas on the real kube-apiserver (CONFORMANCE 4.1)', () => {
  const kube = withKube();
  let dir: string;
  let schedulesPath: string;
  let subscriber: TestSubscriber;
  const apps: AppProcess[] = [];
  /** The running process of each pod name. */
  const replicas = new Map<string, AppProcess>();
  const namespace = `ping-${process.pid}`;

  beforeAll(async () => {
    buildApps('ping-source');
    dir = mkdtempSync(join(tmpdir(), 'ping-source-'));
    schedulesPath = join(dir, 'schedules.json');
    subscriber = await startSubscriber();
    await kube.kubectl(['create', 'namespace', namespace]);
  });

  afterAll(async () => {
    for (const app of apps) app.kill('SIGKILL');
    await subscriber?.close();
    await kube.kubectl(['delete', 'namespace', namespace, '--wait=false'], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  });

  const replica = (pod: string) =>
    spawnApp('ping-source', {
      SCHEDULES_PATH: schedulesPath,
      KUBECONFIG: kube.kubeconfig,
      SYSTEM_NAMESPACE: namespace,
      POD_NAME: pod,
      LEASE_DURATION_MS: '3000',
      RENEW_DEADLINE_MS: '2000',
      RETRY_PERIOD_MS: '500',
    }).then((app) => {
      apps.push(app);
      replicas.set(pod, app);
      return app;
    });

  /** Polls an async check until it answers something truthy. */
  async function until<T>(check: () => Promise<T | undefined | false | ''>, what: string): Promise<T> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  async function leaseHolder(name: string): Promise<string> {
    const { stdout } = await kube.kubectl(
      ['get', 'lease', name, '-n', namespace, '-o', 'jsonpath={.spec.holderIdentity}'],
      { allowFail: true },
    );
    return stdout.trim();
  }

  it('two replicas send each tick once; the leader SIGKILLed and restarted neither misses nor doubles a tick', async () => {
    const source = '/apis/v1/namespaces/demo/pingsources/every-second';
    writeSchedules(schedulesPath, [
      {
        uid: 'u-every-second',
        namespace: 'demo',
        name: 'every-second',
        schedule: '* * * * * *',
        data: 'tick',
        sinkUri: `${subscriber.url}/ticks`,
      },
    ]);
    await replica('ping-a');
    await replica('ping-b');

    // Several ticks with both replicas up.
    await eventually(() => ticksOf(subscriber.requests, source).length >= 6, 30_000, 'six ticks');
    const leader = await until(() => leaseHolder('pingsource-mt-adapter'), 'a leader');
    expect(['ping-a', 'ping-b']).toContain(leader);
    const ledgerHolder = await leaseHolder('pingsource-mt-adapter-ticks');
    expect(ledgerHolder).toBe(leader);
    expectEachTickOnce(ticksOf(subscriber.requests, source));

    // SIGKILL the leader mid-stream, restart it under the same pod name.
    const killedAt = Date.now();
    const old = replicas.get(leader)!;
    old.kill('SIGKILL');
    await old.exited;
    await replica(leader);
    const restartedAt = Date.now();

    // Ticks after the kill keep coming, whoever sends them.
    await eventually(
      () => ticksOf(subscriber.requests, source).filter((t) => t * 1000 > restartedAt + 4_000).length >= 3,
      30_000,
      'three ticks after the restart',
    );
    const ticks = ticksOf(subscriber.requests, source);
    expectEachTickOnce(ticks);
    // The ticks of the seconds around the kill are there (sent late when nobody could send them).
    const killedSecond = Math.floor(killedAt / 1000);
    for (const t of [killedSecond, killedSecond + 1, killedSecond + 2]) expect(ticks).toContain(t);

    // Ticks due while no replica led went out late, from the ledger's cursor (how many depends on how
    // fast the restart was: the ticks above are the check, not a log line).
    const other = [...replicas.keys()].find((p) => p !== leader)!;
    expect(replicas.get(other)!.output()).not.toContain('"level":"error"');
  });

  it('each event has a new UUID id, the data as sent, and a time within the tick', () => {
    const ticks = subscriber.requests.filter((r) => r.url === '/ticks');
    const ids = new Set(ticks.map((r) => String(r.headers['ce-id'])));
    expect(ids.size).toBe(ticks.length);
    for (const r of ticks) {
      expect(String(r.headers['ce-id'])).toMatch(UUID);
      expect(r.headers['ce-type']).toBe('dev.knative.sources.ping');
      expect(r.body.toString()).toBe('tick');
      const ms = Date.parse(String(r.headers['ce-time'])) % 1000;
      expect(ms).toBeLessThanOrEqual(600); // jitter 0..500 ms in 100 ms slots, plus timer lateness
    }
  });

  it('a replica stopped with SIGTERM hands over at once; a schedule removed from the file stops', async () => {
    const source = '/apis/v1/namespaces/demo/pingsources/every-second';
    const holder = await until(() => leaseHolder('pingsource-mt-adapter'), 'a leader');
    const leaderApp = replicas.get(holder)!;
    leaderApp.kill('SIGTERM');
    expect(await leaderApp.exited).toBe(0);
    expect(leaderApp.output()).toContain('SIGTERM received');
    // The Lease is released on the way out: the other replica leads within a retry period.
    const successor = await until(async () => {
      const h = await leaseHolder('pingsource-mt-adapter');
      return h !== '' && h !== holder ? h : undefined;
    }, 'the other replica to lead');
    expect(replicas.has(successor)).toBe(true);
    const before = ticksOf(subscriber.requests, source).length;
    await eventually(
      () => ticksOf(subscriber.requests, source).length >= before + 3,
      15_000,
      'ticks after handover',
    );
    expectEachTickOnce(ticksOf(subscriber.requests, source));

    writeSchedules(schedulesPath, [], 2);
    await sleep(1_500);
    const after = ticksOf(subscriber.requests, source).length;
    await sleep(2_000);
    expect(ticksOf(subscriber.requests, source).length).toBe(after);
  });
});
