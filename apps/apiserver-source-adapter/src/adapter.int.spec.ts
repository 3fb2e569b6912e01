import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseApiServerAdapterConfig, type Resource } from '@eventing/api';
import { controllerKinds, KubernetesResourceStore } from '@eventing/kube';
import { configureSources, Controller, podSpecOf } from '@eventing/reconciler';
import { readSourceEnv } from '@eventing/source-runtime';
import {
  eventually,
  sleep,
  startKube,
  startSubscriber,
  type KubeServer,
  type RecordedRequest,
  type TestSubscriber,
} from '@eventing/testing';
import { startAdapter, type AdapterSettings } from './adapter-service';

// The ApiServerSource end to end against a real kube-apiserver (built from source, no kubelet): the
// controller turns the ApiServerSource into its adapter Deployment, and the adapter runs here with
// that Deployment's environment, as a kubelet would run it. Real ConfigMaps are added, updated and
// deleted with kubectl; the events reach a real subscriber and are checked field by field
// (CONFORMANCE 4.2).

jest.setTimeout(120_000);

const CRDS = join(__dirname, '../../../charts/eventing/crds');
let kube: KubeServer;
let kubeConfig: KubeConfig;
let store: KubernetesResourceStore;
let controller: Controller;
let subscriber: TestSubscriber;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  kube = await startKube({ controllerManager: true });
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kube.kubeconfig);
  await kube.kubectl(['apply', '-f', CRDS]);
  await kube.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  configureSources({ apiServerUrl: kube.server, apiServerSourceImage: 'example/eventing:test' });
  store = new KubernetesResourceStore(kubeConfig, {
    kinds: controllerKinds({ systemNamespace: 'knative-eventing' }),
    listWatch: { backoffInitialMs: 100, backoffMaxMs: 1_000 },
  }).start();
  await store.synced();
  controller = new Controller(store, {
    ingressUrl: (ns, name) => `http://broker-ingress.local/${ns}/${name}`,
    addressBook: { lookup: () => undefined },
  });
  controller.start();
  subscriber = await startSubscriber();
}, 900_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  await controller?.stop();
  await store?.stop();
  await subscriber?.close();
  await kube?.stop();
}, 60_000);

const apply = (...docs: object[]) =>
  kube.kubectl(['apply', '-f', '-'], { input: docs.map((d) => JSON.stringify(d)).join('\n') });

const configMap = (
  namespace: string,
  name: string,
  data: Record<string, string>,
  labels = { watched: 'yes' },
) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels },
  data,
});

/** Creates the ApiServerSource and returns the environment of the adapter Deployment the controller made. */
async function sourceDeploymentEnv(
  namespace: string,
  mode: 'Reference' | 'Resource',
): Promise<NodeJS.ProcessEnv> {
  await kube.kubectl(['create', 'namespace', namespace]);
  await apply({
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ApiServerSource',
    metadata: { name: 'cm-watch', namespace },
    spec: {
      mode,
      resources: [{ apiVersion: 'v1', kind: 'ConfigMap', selector: { matchLabels: { watched: 'yes' } } }],
      sink: { uri: `${subscriber.url}/${namespace}` },
      ceOverrides: { extensions: { origin: 'test' } },
    },
  });
  const deployment = await eventually(
    () => store.list('Deployment', 'apps').find((d) => d.metadata.namespace === namespace),
    30_000,
    `the adapter Deployment in ${namespace}`,
  );
  const container = podSpecOf(deployment, 'Deployment')?.containers?.[0];
  expect(container?.['image']).toBe('example/eventing:test');
  const env: NodeJS.ProcessEnv = { NAMESPACE: namespace };
  for (const e of container?.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

async function runAdapter(env: NodeJS.ProcessEnv) {
  const settings: AdapterSettings = {
    port: 0,
    host: '127.0.0.1',
    env: readSourceEnv(env),
    config: parseApiServerAdapterConfig(env['K_SOURCE_CONFIG']),
    kubeconfig: kube.kubeconfig,
    logLevel: 'warn',
  };
  const running = await startAdapter(settings, (reason) => {
    throw new Error(reason);
  });
  stops.push(() => running.close());
  await running.adapter.adapter;
  return running;
}

const of = (namespace: string) => (r: RecordedRequest) => r.url === `/${namespace}`;

async function eventsOf(namespace: string, count: number): Promise<RecordedRequest[]> {
  return eventually(
    () => {
      const got = subscriber.requests.filter(of(namespace));
      return got.length >= count ? got : undefined;
    },
    20_000,
    `${count} events for ${namespace}`,
  );
}

function checkCommon(r: RecordedRequest, namespace: string, name: string, type: string): void {
  expect(r.method).toBe('POST');
  expect(r.headers['ce-specversion']).toBe('1.0');
  expect(r.headers['ce-type']).toBe(type);
  expect(r.headers['ce-source']).toBe(kube.server);
  expect(r.headers['ce-subject']).toBe(`/apis/v1/namespaces/${namespace}/configmaps/${name}`);
  expect(r.headers['ce-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(Date.parse(String(r.headers['ce-time']))).toBeGreaterThan(Date.now() - 60_000);
  expect(r.headers['content-type']).toBe('application/json');
  expect(r.headers['ce-kind']).toBe('ConfigMap');
  expect(r.headers['ce-apiversion']).toBe('v1');
  expect(r.headers['ce-name']).toBe(name);
  expect(r.headers['ce-namespace']).toBe(namespace);
  expect(r.headers['ce-origin']).toBe('test');
}

describe('ApiServerSource against a real API server (4.2)', () => {
  it('Reference mode: add, update and delete of a real ConfigMap, and nothing for what existed before', async () => {
    const ns = 'ref-mode';
    const env = await sourceDeploymentEnv(ns, 'Reference');
    await apply(configMap(ns, 'existing', { a: '1' }));
    await runAdapter(env);
    await apply(
      configMap(ns, 'settings', { a: '1' }),
      configMap(ns, 'unwatched', { a: '1' }, { watched: 'no' }),
    );
    await kube.kubectl([
      '-n',
      ns,
      'patch',
      'configmap',
      'settings',
      '--type=merge',
      '-p',
      '{"data":{"a":"2"}}',
    ]);
    await kube.kubectl(['-n', ns, 'delete', 'configmap', 'settings']);
    const events = await eventsOf(ns, 3);
    await sleep(500);
    expect(subscriber.requests.filter(of(ns))).toHaveLength(3);
    const types = [
      'dev.knative.apiserver.ref.add',
      'dev.knative.apiserver.ref.update',
      'dev.knative.apiserver.ref.delete',
    ];
    events.forEach((r, i) => {
      checkCommon(r, ns, 'settings', types[i] as string);
      expect(JSON.parse(r.body.toString())).toEqual({
        kind: 'ConfigMap',
        namespace: ns,
        name: 'settings',
        apiVersion: 'v1',
      });
    });
    // The ApiServerSource's status names the same types and source; Deployed waits on the Deployment.
    const source = await eventually(() => {
      const s = store.get('sources.knative.dev', 'ApiServerSource', ns, 'cm-watch');
      return (s?.status as { sinkUri?: string } | undefined)?.sinkUri ? s : undefined;
    });
    expect(source.status).toMatchObject({
      sinkUri: `${subscriber.url}/${ns}`,
      namespaces: [ns],
      // Upstream's order: add, delete, update.
      ceAttributes: [types[0], types[2], types[1]].map((type) => ({ type, source: kube.server })),
    });
  });

  it('Resource mode: the whole object as data; a restarted adapter does not send the world again', async () => {
    const ns = 'resource-mode';
    const env = await sourceDeploymentEnv(ns, 'Resource');
    const first = await runAdapter(env);
    await apply(configMap(ns, 'settings', { a: '1' }));
    await kube.kubectl([
      '-n',
      ns,
      'patch',
      'configmap',
      'settings',
      '--type=merge',
      '-p',
      '{"data":{"a":"2"}}',
    ]);
    let events = await eventsOf(ns, 2);
    await first.close();
    await runAdapter(env);
    await sleep(1_000);
    expect(subscriber.requests.filter(of(ns))).toHaveLength(2);
    await kube.kubectl(['-n', ns, 'delete', 'configmap', 'settings']);
    events = await eventsOf(ns, 3);
    const types = [
      'dev.knative.apiserver.resource.add',
      'dev.knative.apiserver.resource.update',
      'dev.knative.apiserver.resource.delete',
    ];
    const server = JSON.parse(
      (await kube.kubectl(['get', 'namespace', ns, '-o', 'json'])).stdout,
    ) as Resource;
    expect(server.metadata.name).toBe(ns);
    events.forEach((r, i) => {
      checkCommon(r, ns, 'settings', types[i] as string);
      const data = JSON.parse(r.body.toString()) as Resource & { data: Record<string, string> };
      expect(data.apiVersion).toBe('v1');
      expect(data.kind).toBe('ConfigMap');
      expect(data.metadata).toMatchObject({ name: 'settings', namespace: ns, labels: { watched: 'yes' } });
      expect(data.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(data.data).toEqual({ a: i === 0 ? '1' : '2' });
      // Keys sorted at every depth, as upstream's adapter writes the object.
      expect(Object.keys(data)).toEqual([...Object.keys(data)].sort());
      expect(Object.keys(data.metadata)).toEqual([...Object.keys(data.metadata)].sort());
    });
  });
});
