import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildApps,
  ce,
  startKube,
  startSubscriber,
  type AppProcess,
  type KubeServer,
  type TestSubscriber,
} from '@eventing/testing';
import {
  applyCrds,
  getJson,
  metric,
  mirrorContracts,
  readyOf,
  startController,
  startDataPlane,
  SYSTEM_NAMESPACE,
  until,
} from './cluster-harness';

// The control plane against a real kube-apiserver (etcd + kube-apiserver + kube-controller-manager
// built from source, no kubelet), driven with kubectl only: the controller process writes the
// contract ConfigMaps; broker-ingress, imc-dispatcher and broker-filter run as local processes on
// copies of them, as a kubelet would mount them.

jest.setTimeout(300_000);

const root = join(__dirname, '../../..');
const quickstart = (file: string) => readFileSync(join(root, 'examples/quickstart', file), 'utf8');

let kube: KubeServer;
let dir: string;
let contracts: ReturnType<typeof mirrorContracts>;
let dataPlane: Awaited<ReturnType<typeof startDataPlane>>;
let controller: AppProcess | undefined;
let subscriber: TestSubscriber;

const services = ['event-display', 'flaky-service', 'dead-letters']
  .map(
    (name) =>
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: default\nspec:\n  ports:\n  - port: 80\n`,
  )
  .join('---\n');

const uriTrigger = (name: string, uri: string, type = 'test.event') => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: ${name}
  namespace: default
  labels:
    bulk: "${name.startsWith('bulk-') ? 'yes' : 'no'}"
spec:
  broker: default
  filter:
    attributes:
      type: ${type}
  subscriber:
    uri: ${uri}
`;

async function post(id: string, type = 'test.event'): Promise<number> {
  const res = await fetch(`${dataPlane.ingress.url}/default/default`, {
    method: 'POST',
    headers: ce(id, type),
    body: `event ${id}`,
  });
  return res.status;
}

/** Adds the controller's last output lines to a failure. */
async function explained<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    const tail = controller?.output().split('\n').slice(-40).join('\n');
    throw new Error(`${(err as Error).message}\n--- controller output ---\n${tail}`);
  }
}

beforeAll(async () => {
  buildApps('controller', 'broker-ingress', 'imc-dispatcher', 'broker-filter');
  kube = await startKube({ controllerManager: true });
  await applyCrds(kube);
  dir = mkdtempSync(join(tmpdir(), 'controller-int-'));
  contracts = mirrorContracts(kube, dir, ['broker-ingress', 'imc-dispatcher', 'broker-filter']);
  dataPlane = await startDataPlane(contracts);
  subscriber = await startSubscriber();
}, 1_200_000);

afterAll(async () => {
  controller?.kill();
  dataPlane?.stop();
  await contracts?.stop();
  await subscriber?.close();
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('controller on a real kube-apiserver, driven with kubectl', () => {
  it('the quickstart becomes Ready with upstream conditions and addresses; a curl’d event reaches a subscriber; deleting the Trigger stops delivery', async () => {
    controller = await startController(kube, dataPlane);
    await kube.kubectl(['apply', '-f', '-'], { input: services });
    for (const file of ['broker.yaml', 'pingsource.yaml', 'triggers.yaml'])
      await kube.kubectl(['apply', '-f', '-'], { input: quickstart(file) });

    // 1.1: Broker Ready with its conditions and the broker-ingress address.
    const broker = await until(
      async () => {
        const b = await getJson<{
          status?: { address?: { url?: string }; conditions?: { type: string; status: string }[] };
        }>(kube, ['broker', 'default', '-n', 'default']);
        return b?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? b : undefined;
      },
      60_000,
      'Broker default Ready',
    );
    expect(broker.status?.address?.url).toBe(`${dataPlane.ingress.url}/default/default`);
    expect(broker.status?.conditions?.map((c) => c.type).sort()).toEqual([
      'Addressable',
      'DeadLetterSinkResolved',
      'EventPoliciesReady',
      'FilterReady',
      'IngressReady',
      'Ready',
      'TriggerChannelReady',
    ]);
    // The broker's trigger channel, owned by it, as upstream's.
    const imc = await getJson<{ metadata: { ownerReferences?: { kind: string; name: string }[] } }>(kube, [
      'inmemorychannel',
      'default-kne-trigger',
      '-n',
      'default',
    ]);
    expect(imc?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Broker', name: 'default' }),
    ]);

    for (const t of ['pings-to-display', 'orders-to-display', 'orders-to-flaky-service'])
      await until(
        async () => (await readyOf(kube, 'trigger', t))?.status === 'True',
        60_000,
        `Trigger ${t} Ready`,
      );
    const trigger = await getJson<{ status?: { subscriberUri?: string } }>(kube, [
      'trigger',
      'orders-to-display',
      '-n',
      'default',
    ]);
    expect(trigger?.status?.subscriberUri).toBe('http://event-display.default.svc.cluster.local');
    await until(
      async () => (await readyOf(kube, 'pingsource', 'heartbeat'))?.status === 'True',
      60_000,
      'PingSource Ready',
    );

    // The contract ConfigMaps hold them.
    const ingressContract = await getJson<{ data: Record<string, string> }>(kube, [
      'configmap',
      'eventing-contract-broker-ingress',
      '-n',
      SYSTEM_NAMESPACE,
    ]);
    expect(JSON.parse(ingressContract!.data['contract.json']!).brokers).toEqual([
      expect.objectContaining({
        namespace: 'default',
        name: 'default',
        channelAddress: `${dataPlane.imc.url}/default/default-kne-trigger`,
      }),
    ]);
    const filterContract = JSON.parse(
      (await getJson<{ data: Record<string, string> }>(kube, [
        'configmap',
        'eventing-contract-broker-filter',
        '-n',
        SYSTEM_NAMESPACE,
      ]))!.data['contract.json']!,
    ) as { triggers: { name: string }[] };
    expect(filterContract.triggers.map((t) => t.name).sort()).toEqual([
      'orders-to-display',
      'orders-to-flaky-service',
      'pings-to-display',
    ]);
    const schedules = await getJson<{ data: Record<string, string> }>(kube, [
      'configmap',
      'eventing-contract-ping-source',
      '-n',
      SYSTEM_NAMESPACE,
    ]);
    expect(JSON.parse(schedules!.data['schedules.json']!).schedules).toEqual([
      expect.objectContaining({ name: 'heartbeat', sinkUri: `${dataPlane.ingress.url}/default/default` }),
    ]);

    // A Trigger to a reachable subscriber: an event posted to broker-ingress goes
    // broker-ingress → imc-dispatcher → broker-filter → subscriber.
    await kube.kubectl(['apply', '-f', '-'], { input: uriTrigger('to-subscriber', `${subscriber.url}/`) });
    await until(
      async () => (await readyOf(kube, 'trigger', 'to-subscriber'))?.status === 'True',
      60_000,
      'Trigger Ready',
    );
    await until(
      async () => (await post('e1')) === 202 && subscriber.requests.length > 0,
      30_000,
      'first delivery',
    );
    expect(subscriber.requests[0]?.headers['ce-type']).toBe('test.event');

    // Deleting the Trigger stops delivery: its Subscription goes with it.
    await kube.kubectl(['delete', 'trigger', 'to-subscriber', '-n', 'default']);
    await until(
      () => {
        const filter = contracts.current('broker-filter') as { triggers: { name: string }[] };
        return !filter.triggers.some((t) => t.name === 'to-subscriber');
      },
      30_000,
      'the trigger out of the filter contract',
    );
    await until(
      async () =>
        await getJson(kube, [
          'subscriptions',
          '-n',
          'default',
          '-l',
          'eventing.knative.dev/trigger=to-subscriber',
        ]).then((l) => (l as { items: unknown[] }).items.length === 0),
      30_000,
      'the trigger’s Subscription deleted',
    );
    await until(
      () => {
        const imc = contracts.current('imc-dispatcher') as { subscriptions: { name: string }[] };
        return !imc.subscriptions.some((s) => s.name.includes('to-subscriber'));
      },
      30_000,
      'the Subscription out of the imc-dispatcher contract',
    );
    // The services pick up a changed file within a moment.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await post('e2')).toBe(202);
    await new Promise((r) => setTimeout(r, 1500));
    expect(subscriber.requests.some((r) => r.headers['ce-id'] === 'e2')).toBe(false);
  });

  it('a referenced Service created later turns a Trigger Ready without a restart', async () => {
    await kube.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: waits-for-service
  namespace: default
spec:
  broker: default
  subscriber:
    ref:
      apiVersion: v1
      kind: Service
      name: late-service
`,
    });
    const before = await until(() => readyOf(kube, 'trigger', 'waits-for-service'), 30_000, 'a status');
    expect(before.status).toBe('False');
    await kube.kubectl(['create', 'service', 'clusterip', 'late-service', '--tcp=80:8080', '-n', 'default']);
    await until(
      async () => (await readyOf(kube, 'trigger', 'waits-for-service'))?.status === 'True',
      30_000,
      'Ready',
    );
  });

  it('a watch cut mid-stream (API server restarted) recovers: a change made afterwards is reconciled', async () => {
    await kube.restartApiServer({ downtimeMs: 500 });
    await kube.kubectl(['apply', '-f', '-'], {
      input: uriTrigger('after-restart', `${subscriber.url}/later`),
    });
    await explained(
      until(
        async () => (await readyOf(kube, 'trigger', 'after-restart'))?.status === 'True',
        90_000,
        'Ready after the restart',
      ),
    );
  });

  it('killed and restarted, the controller loses no status and rewrites no contract', async () => {
    const versions = async () => {
      const list = await getJson<{ items: { metadata: { name: string; resourceVersion: string } }[] }>(kube, [
        'configmaps',
        '-n',
        SYSTEM_NAMESPACE,
        '-l',
        'eventing.knative.dev/contract-role',
      ]);
      return Object.fromEntries(list!.items.map((i) => [i.metadata.name, i.metadata.resourceVersion]));
    };
    const statusVersion = async () =>
      (await getJson<{ metadata: { resourceVersion: string } }>(kube, [
        'broker',
        'default',
        '-n',
        'default',
      ]))!.metadata.resourceVersion;
    const beforeMaps = await versions();
    const beforeBroker = await statusVersion();
    controller!.kill('SIGKILL');
    await controller!.exited;
    // Its lease is still held: the new process waits it out, then reconciles everything again.
    controller = await startController(kube, dataPlane);
    await until(
      async () => (await metric(controller!.url, 'eventing_controller_leader')) === 1,
      30_000,
      'leading again',
    );
    await until(
      async () => (await metric(controller!.url, 'eventing_controller_reconciles_total')) > 5,
      30_000,
      'reconciled',
    );
    await new Promise((r) => setTimeout(r, 2000));
    expect(await versions()).toEqual(beforeMaps);
    expect(await statusVersion()).toBe(beforeBroker);
    expect((await readyOf(kube, 'broker', 'default'))?.status).toBe('True');
  });

  it('two controllers: only the leader writes; the other takes over when the leader is killed', async () => {
    const second = await startController(kube, dataPlane);
    try {
      await new Promise((r) => setTimeout(r, 3000));
      expect(await metric(controller!.url, 'eventing_controller_leader')).toBe(1);
      expect(await metric(second.url, 'eventing_controller_leader')).toBe(0);
      expect(await metric(second.url, 'eventing_controller_api_requests', 'purpose="write"')).toBe(0);
      controller!.kill('SIGKILL');
      await until(
        async () => (await metric(second.url, 'eventing_controller_leader')) === 1,
        30_000,
        'the second to lead',
      );
      await kube.kubectl(['apply', '-f', '-'], {
        input: uriTrigger('after-failover', `${subscriber.url}/f`),
      });
      await until(
        async () => (await readyOf(kube, 'trigger', 'after-failover'))?.status === 'True',
        30_000,
        'reconciled by the new leader',
      );
    } finally {
      controller = second;
    }
  });

  it('1,000 Triggers applied at once converge; prints the time, the controller memory and its API requests', async () => {
    const n = 1000;
    const requestsBefore = await metric(controller!.url, 'eventing_controller_api_requests');
    const yaml = Array.from({ length: n }, (_, i) =>
      uriTrigger(`bulk-${i}`, `${subscriber.url}/bulk/${i}`, `bulk.${i}`),
    ).join('---\n');
    const started = Date.now();
    await kube.kubectl(['apply', '-f', '-'], { input: yaml });
    const applied = Date.now();
    await until(
      async () => {
        const list = await getJson<{
          items: { status?: { conditions?: { type: string; status: string }[] } }[];
        }>(kube, ['triggers', '-n', 'default', '-l', 'bulk=yes']);
        const ready = list!.items.filter((t) =>
          t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length === n;
      },
      240_000,
      `${n} Triggers Ready`,
    );
    const converged = Date.now();
    await until(
      () => (contracts.current('broker-filter') as { triggers: unknown[] }).triggers.length >= n,
      60_000,
      'the filter contract holding every Trigger',
    );
    const rss =
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${controller!.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const heap = (await metric(controller!.url, 'nodejs_heap_size_used_bytes')) / 1024 / 1024;
    const requests = (await metric(controller!.url, 'eventing_controller_api_requests')) - requestsBefore;
    const writes = await metric(controller!.url, 'eventing_controller_api_requests', 'purpose="write"');
    console.log(
      [
        `${n} Triggers: kubectl apply ${((applied - started) / 1000).toFixed(1)} s, all Ready ${((converged - started) / 1000).toFixed(1)} s after the apply began`,
        `controller RSS ${rss.toFixed(0)} MB (JS heap in use ${heap.toFixed(0)} MB), ${requests} API requests during convergence (${writes} writes since start)`,
      ].join('\n'),
    );
    // Each Trigger: its Subscription applied, the Subscription's and the Trigger's status written.
    expect(requests).toBeLessThan(n * 6);
  });
});
