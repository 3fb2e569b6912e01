import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { controllerKinds, KubernetesResourceStore } from '@eventing/kube';
import { Controller } from '@eventing/reconciler';
import { buildApps, eventuallyAsync, startKube, type KubeServer } from '@eventing/testing';
import { issueServingCertificate } from '../certs/issue';
import { startWebhookProcess, type WebhookProcess } from '../testing/webhook-process';

// SinkBinding and ContainerSource through a real kube-apiserver (no kubelet: pods never run): the
// bundled webhook process registered at its loopback URL (its /sinkbindings admission path and its
// SinkBinding reconciler), the controller loop over the Kubernetes store, and kubectl (CONFORMANCE
// 4.3, 4.4).

jest.setTimeout(120_000);

const root = join(__dirname, '../../../..');
const CRDS = join(root, 'charts/eventing/crds');
const SYSTEM = 'knative-eventing';
const NS = 'bind';

let kube: KubeServer;
let store: KubernetesResourceStore;
let controller: Controller;
let webhook: WebhookProcess | undefined;

/** Polls `check` (see eventuallyAsync), naming the webhook's last output when it times out. */
const eventually = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000) =>
  eventuallyAsync(what, check, timeoutMs, () => `webhook output:\n${webhook?.output().slice(-3000) ?? ''}`);

type Json = Record<string, unknown> & {
  metadata: { finalizers?: string[] };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
};

async function get(kind: string, name: string, namespace = NS): Promise<Json | undefined> {
  const { stdout, code } = await kube.kubectl(['-n', namespace, 'get', kind, name, '-o', 'json'], {
    allowFail: true,
  });
  return code === 0 ? (JSON.parse(stdout) as Json) : undefined;
}

const apply = (...docs: object[]) =>
  kube.kubectl(['apply', '-f', '-'], { input: docs.map((d) => JSON.stringify(d)).join('\n') });

const envOf = (
  d: Json | undefined,
  container = 0,
  init = false,
): { name: string; value?: string }[] | undefined => {
  const spec = (
    d?.['spec'] as { template: { spec: Record<string, { env?: { name: string; value?: string }[] }[]> } }
  )?.template.spec;
  return spec?.[init ? 'initContainers' : 'containers']?.[container]?.env;
};

const condition = (o: Json | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

const deployment = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS, labels },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        initContainers: [{ name: 'init', image: 'example/init' }],
        containers: [
          { name: 'main', image: 'example/app', env: [{ name: 'KEEP', value: '1' }] },
          { name: 'side', image: 'example/side' },
        ],
      },
    },
  },
});

beforeAll(async () => {
  buildApps('webhook');
  kube = await startKube({ controllerManager: true });
  await kube.kubectl(['apply', '-f', CRDS]);
  await kube.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  await kube.kubectl(['create', 'namespace', SYSTEM]);
  await kube.kubectl(['create', 'namespace', NS]);
  const config = new KubeConfig();
  config.loadFromFile(kube.kubeconfig);
  store = new KubernetesResourceStore(config, {
    kinds: controllerKinds({ systemNamespace: SYSTEM }),
    listWatch: { backoffInitialMs: 100, backoffMaxMs: 1_000 },
  }).start();
  await store.synced();
  controller = new Controller(store, {
    ingressUrl: (ns, name) => `http://broker-ingress.local/${ns}/${name}`,
    addressBook: { lookup: () => undefined },
  });
  controller.start();
  webhook = await startWebhookProcess(kube.kubeconfig, SYSTEM);
}, 900_000);

afterAll(async () => {
  await webhook?.stop();
  await controller?.stop();
  await store?.stop();
  await kube?.stop();
}, 60_000);

describe('SinkBinding through the real API server and webhook (4.4)', () => {
  it('patches an existing Deployment named by the binding, binds a new one by selector at admission, and un-patches both on delete', async () => {
    const ca = (await issueServingCertificate({ hosts: ['sink.example'], validityDays: 2 })).caBundle;
    await apply(deployment('existing'));
    await apply(
      {
        apiVersion: 'sources.knative.dev/v1',
        kind: 'SinkBinding',
        metadata: { name: 'by-name', namespace: NS },
        spec: {
          subject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'existing' },
          sink: { uri: 'https://sink.example/events', CACerts: ca },
          ceOverrides: { extensions: { team: 'infra' } },
        },
      },
      {
        apiVersion: 'sources.knative.dev/v1',
        kind: 'SinkBinding',
        metadata: { name: 'by-label', namespace: NS },
        spec: {
          subject: { apiVersion: 'apps/v1', kind: 'Deployment', selector: { matchLabels: { bound: 'yes' } } },
          sink: { uri: 'http://display.example/' },
        },
      },
    );

    // The existing Deployment is patched by the webhook's reconciler: every container and init container.
    const patched = await eventually('the existing Deployment bound', async () => {
      const d = await get('deployment', 'existing');
      return envOf(d)?.some((e) => e.name === 'K_SINK') ? d : undefined;
    });
    expect(envOf(patched, 0)).toEqual([
      { name: 'KEEP', value: '1' },
      { name: 'K_SINK', value: 'https://sink.example/events' },
      { name: 'K_CA_CERTS', value: ca },
      { name: 'K_CE_OVERRIDES', value: '{"extensions":{"team":"infra"}}' },
    ]);
    expect(envOf(patched, 1)?.map((e) => e.name)).toEqual(['K_SINK', 'K_CA_CERTS', 'K_CE_OVERRIDES']);
    expect(envOf(patched, 0, true)?.map((e) => e.name)).toEqual(['K_SINK', 'K_CA_CERTS', 'K_CE_OVERRIDES']);
    const bound = await eventually('by-name Ready', async () => {
      const b = await get('sinkbinding', 'by-name');
      return condition(b, 'Ready')?.status === 'True' ? b : undefined;
    });
    expect(condition(bound, 'SinkBindingAvailable')?.status).toBe('True');
    expect(bound.metadata.finalizers).toContain('sinkbindings.sources.knative.dev');
    expect(bound.status).toMatchObject({ sinkUri: 'https://sink.example/events', sinkCACerts: ca });

    // A Deployment created later with the label is bound as the API server admits it.
    await eventually('by-label has its sink', async () =>
      (await get('sinkbinding', 'by-label'))?.status?.conditions?.some(
        (c) => c.type === 'SinkProvided' && c.status === 'True',
      )
        ? true
        : undefined,
    );
    await eventually('the webhook rules name Deployments', async () => {
      const { stdout } = await kube.kubectl([
        'get',
        'mutatingwebhookconfiguration',
        'sinkbindings.webhook.sources.knative.dev',
        '-o',
        'json',
      ]);
      return JSON.stringify(JSON.parse(stdout)).includes('"deployments"') ? true : undefined;
    });
    await apply(deployment('labelled', { bound: 'yes' }));
    const created = await get('deployment', 'labelled');
    expect(envOf(created, 1)).toEqual([
      { name: 'K_SINK', value: 'http://display.example/' },
      { name: 'K_CE_OVERRIDES' },
    ]);
    // An excluded object is left alone.
    await apply(deployment('excluded', { bound: 'yes', 'bindings.knative.dev/exclude': 'true' }));
    expect(envOf(await get('deployment', 'excluded'), 1)).toBeUndefined();

    // Deleting the bindings undoes them before they go.
    await kube.kubectl(['-n', NS, 'delete', 'sinkbinding', 'by-name', 'by-label', '--wait=false']);
    await eventually('the bindings gone', async () =>
      (await get('sinkbinding', 'by-name')) === undefined &&
      (await get('sinkbinding', 'by-label')) === undefined
        ? true
        : undefined,
    );
    const undone = await get('deployment', 'existing');
    expect(envOf(undone, 0)).toEqual([{ name: 'KEEP', value: '1' }]);
    expect(envOf(undone, 1)).toBeUndefined();
    expect(envOf(undone, 0, true)).toBeUndefined();
    expect(envOf(await get('deployment', 'labelled'), 1)).toBeUndefined();
  });
});

describe('ContainerSource through the real API server (4.3)', () => {
  it('the Deployment appears with K_SINK and K_CE_OVERRIDES, with its SinkBinding; status follows them', async () => {
    await apply({
      apiVersion: 'sources.knative.dev/v1',
      kind: 'ContainerSource',
      metadata: { name: 'heartbeats', namespace: NS },
      spec: {
        template: {
          metadata: { labels: { app: 'heartbeats' } },
          spec: {
            containers: [
              {
                image: 'example/heartbeats',
                command: ['node', 'heartbeats.js'],
                env: [{ name: 'PERIOD', value: '1' }],
              },
            ],
          },
        },
        sink: { uri: 'http://display.example/' },
        ceOverrides: { extensions: { origin: 'beats' } },
      },
    });
    const created = await eventually('the Deployment', () => get('deployment', 'heartbeats-deployment'));
    expect(created['metadata']).toMatchObject({
      labels: {
        app: 'heartbeats',
        'sources.knative.dev/source': 'container-source-controller',
        'sources.knative.dev/containerSource': 'heartbeats',
      },
      ownerReferences: [
        expect.objectContaining({ kind: 'ContainerSource', name: 'heartbeats', controller: true }),
      ],
    });
    const container = (created['spec'] as { template: { spec: { containers: Record<string, unknown>[] } } })
      .template.spec.containers[0];
    expect(container).toMatchObject({
      name: 'heartbeats-0',
      image: 'example/heartbeats',
      command: ['node', 'heartbeats.js'],
    });
    expect(envOf(created)).toEqual([
      { name: 'PERIOD', value: '1' },
      { name: 'K_SINK', value: 'http://display.example/' },
      { name: 'K_CE_OVERRIDES', value: '{"extensions":{"origin":"beats"}}' },
    ]);
    const binding = await eventually('the SinkBinding Ready', async () => {
      const b = await get('sinkbinding', 'heartbeats-sinkbinding');
      return condition(b, 'Ready')?.status === 'True' ? b : undefined;
    });
    expect(binding['spec']).toMatchObject({
      subject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'heartbeats-deployment', namespace: NS },
    });
    // No kubelet runs the pods: the Deployment never becomes available, and the source says so.
    const source = await eventually('the ContainerSource status', async () => {
      const s = await get('containersource', 'heartbeats');
      return condition(s, 'SinkBindingReady')?.status === 'True' ? s : undefined;
    });
    expect(source.status).toMatchObject({ sinkUri: 'http://display.example/' });
    expect(condition(source, 'ReceiveAdapterReady')?.status).not.toBe('True');
    expect(condition(source, 'Ready')?.status).not.toBe('True');
    // The binding's webhook leaves the Deployment's environment as the controller wrote it.
    expect(envOf(await get('deployment', 'heartbeats-deployment'))).toEqual(envOf(created));
    // The garbage collector takes the children (it learns of new CRDs on its periodic discovery: slow).
    await kube.kubectl(['-n', NS, 'delete', 'containersource', 'heartbeats']);
    await eventually(
      'the children gone',
      async () =>
        (await get('deployment', 'heartbeats-deployment')) === undefined &&
        (await get('sinkbinding', 'heartbeats-sinkbinding')) === undefined
          ? true
          : undefined,
      60_000,
    );
  });
});
