import { KubeConfig } from '@kubernetes/client-node';
import { eventually, type KubeServer, startKube } from '@eventing/testing';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import { KubeClient } from '../client/kube-client';
import { LeaderElector, type LeaderElectorOptions } from './leader-elector';

// Leader election on a real coordination.k8s.io/v1 Lease (etcd + kube-apiserver): one leader among
// candidates, an immediate hand-over when the leader stops (it releases the Lease), a take-over within
// the lease duration when the leader is SIGKILLed in a process of its own, and a leader that cannot
// renew while the API server is down stops leading within the renew deadline.

const START_TIMEOUT = 900_000;
const TEST_TIMEOUT = 60_000;
const ROOT = join(__dirname, '../../../..');
const CHILD = join(ROOT, 'tmp/kube-tests/elector-child.js');
// Short durations so the tests take seconds; the same ratios as client-go's 15 s / 10 s / 2 s.
const TIMING = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 400 };

interface Candidate {
  elector: LeaderElector;
  log: string[];
}

describe('LeaderElector', () => {
  let kube: KubeServer;
  let config: KubeConfig;
  const clients: KubeClient[] = [];
  const electors: LeaderElector[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    kube = await startKube();
    config = new KubeConfig();
    config.loadFromFile(kube.kubeconfig);
    await kube.kubectl(['create', 'namespace', 'election']);
    await build({
      entryPoints: [join(__dirname, '../testing/elector-child.ts')],
      outfile: CHILD,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      packages: 'external',
      tsconfig: join(ROOT, 'tsconfig.base.json'),
      logLevel: 'warning',
    });
  }, START_TIMEOUT);
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await Promise.all(electors.splice(0).map((e) => e.stop()));
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(() => kube?.stop(), 60_000);

  function candidate(
    lease: string,
    identity: string,
    options: Partial<LeaderElectorOptions> = {},
  ): Candidate {
    const client = new KubeClient(config);
    clients.push(client);
    const log: string[] = [];
    const elector = new LeaderElector(client, {
      namespace: 'election',
      name: lease,
      identity,
      ...TIMING,
      onStartedLeading: () => log.push('started'),
      onStoppedLeading: () => log.push('stopped'),
      ...options,
    }).start();
    electors.push(elector);
    return { elector, log };
  }

  async function holderOf(lease: string): Promise<{ holderIdentity?: string; leaseTransitions?: number }> {
    const { stdout } = await kube.kubectl(['-n', 'election', 'get', 'lease', lease, '-o', 'json']);
    return (JSON.parse(stdout) as { spec: { holderIdentity?: string; leaseTransitions?: number } }).spec;
  }

  /** Starts a candidate in a process of its own (bundled by esbuild as the apps are). */
  async function childCandidate(
    lease: string,
    identity: string,
  ): Promise<{ child: ChildProcess; out: () => string }> {
    const child = spawn(process.execPath, [CHILD], {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        KUBECONFIG: kube.kubeconfig,
        LEASE_NAMESPACE: 'election',
        LEASE_NAME: lease,
        IDENTITY: identity,
        LEASE_DURATION_MS: String(TIMING.leaseDurationMs),
        RENEW_DEADLINE_MS: String(TIMING.renewDeadlineMs),
        RETRY_PERIOD_MS: String(TIMING.retryPeriodMs),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    return { child, out: () => out };
  }

  it(
    'elects one of two candidates, keeps it while it renews, and hands over at once when it stops',
    async () => {
      const a = candidate('handover', 'a');
      const b = candidate('handover', 'b');
      await eventually(() => a.elector.isLeader || b.elector.isLeader, 10_000, 'a leader');
      const [leader, other] = a.elector.isLeader ? [a, b] : [b, a];
      // Over several lease durations: always exactly one leader, the same one.
      const until = Date.now() + 3 * TIMING.leaseDurationMs;
      while (Date.now() < until) {
        expect(leader.elector.isLeader).toBe(true);
        expect(other.elector.isLeader).toBe(false);
        await new Promise((done) => setTimeout(done, 50));
      }
      expect(leader.log).toEqual(['started']);
      expect(other.log).toEqual([]);
      const leaderId = leader === a ? 'a' : 'b';
      expect(await holderOf('handover')).toMatchObject({ holderIdentity: leaderId, leaseTransitions: 0 });
      expect(other.elector.leader).toBe(leaderId);

      // Stopping releases the lease: the other one need not wait for it to expire.
      const stopped = Date.now();
      await leader.elector.stop();
      expect(leader.log).toEqual(['started', 'stopped']);
      await eventually(() => other.elector.isLeader, 10_000, 'the other candidate to lead');
      expect(Date.now() - stopped).toBeLessThan(TIMING.leaseDurationMs);
      expect(other.log).toEqual(['started']);
      expect(await holderOf('handover')).toMatchObject({
        holderIdentity: leaderId === 'a' ? 'b' : 'a',
        leaseTransitions: 1,
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'takes over from a SIGKILLed leader once its lease has expired, not before',
    async () => {
      const { child, out } = await childCandidate('killed', 'child');
      await eventually(() => out().includes('leading'), 15_000, `the child to lead (output: ${out()})`);
      const survivor = candidate('killed', 'survivor');
      // While the child lives and renews, the survivor waits.
      await new Promise((done) => setTimeout(done, 2 * TIMING.leaseDurationMs));
      expect(survivor.elector.isLeader).toBe(false);
      expect(survivor.elector.leader).toBe('child');

      const killed = Date.now();
      child.kill('SIGKILL');
      await eventually(() => survivor.elector.isLeader, 15_000, 'the survivor to lead');
      const waited = Date.now() - killed;
      // The dead leader's last renewal is at most a retry period old when it dies; the survivor trusts
      // it for a whole lease duration after it last saw it change, and tries again every retry period.
      expect(waited).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - 2 * TIMING.retryPeriodMs);
      expect(waited).toBeLessThan(TIMING.leaseDurationMs + 3 * TIMING.retryPeriodMs);
      expect(await holderOf('killed')).toMatchObject({ holderIdentity: 'survivor', leaseTransitions: 1 });
    },
    TEST_TIMEOUT,
  );

  it(
    'hands over at once from a leader process stopped with SIGTERM',
    async () => {
      const { child, out } = await childCandidate('terminated', 'child');
      await eventually(() => out().includes('leading'), 15_000, 'the child to lead');
      const successor = candidate('terminated', 'successor');
      await new Promise((done) => setTimeout(done, TIMING.leaseDurationMs));
      expect(successor.elector.isLeader).toBe(false);
      const exited = new Promise((done) => child.once('exit', done));
      const terminated = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out()).toContain('stopped');
      await eventually(() => successor.elector.isLeader, 10_000, 'the successor to lead');
      expect(Date.now() - terminated).toBeLessThan(TIMING.leaseDurationMs);
    },
    TEST_TIMEOUT,
  );

  it(
    'stops leading when it cannot renew within the renew deadline (API server down), and leads again after',
    async () => {
      const only = candidate('outage', 'only');
      await eventually(() => only.elector.isLeader, 10_000, 'it to lead');
      const restarted = kube.restartApiServer({ downtimeMs: TIMING.leaseDurationMs + 1_000 });
      await eventually(
        () => !only.elector.isLeader,
        TIMING.renewDeadlineMs + 3 * TIMING.retryPeriodMs + 1_000,
        'it to stop leading',
      );
      expect(only.log).toEqual(['started', 'stopped']);
      await restarted;
      await eventually(() => only.elector.isLeader, 15_000, 'it to lead again');
      expect(only.log).toEqual(['started', 'stopped', 'started']);
    },
    TEST_TIMEOUT,
  );
});
