import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  startKube,
  startSubscriber,
  type KubeServer,
  type TestSubscriber,
} from '@eventing/testing';
import { runStandalone } from './main';
import { optionsFrom } from './options';

// Standalone mode with --kubeconfig (CONFORMANCE 4.2): an ApiServerSource of the folder watches a
// real kube-apiserver's ConfigMaps; its events go through the folder's broker to a real subscriber.

jest.setTimeout(60_000);

let kube: KubeServer;
let subscriber: TestSubscriber;
let dir: string;
let app: Awaited<ReturnType<typeof runStandalone>> | undefined;

beforeAll(async () => {
  kube = await startKube();
  subscriber = await startSubscriber();
  dir = mkdtempSync(join(tmpdir(), 'standalone-kube-'));
}, 900_000);

afterAll(async () => {
  await app?.service.close();
  await subscriber?.close();
  await kube?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('sends add, update and delete of a real ConfigMap through the broker, with the cluster as source', async () => {
  await kube.kubectl(['create', 'namespace', 'apps']);
  writeFileSync(
    join(dir, 'resources.yaml'),
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: apps }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: all, namespace: apps }
spec:
  broker: default
  subscriber: { uri: "${subscriber.url}/" }
---
apiVersion: sources.knative.dev/v1
kind: ApiServerSource
metadata: { name: settings, namespace: apps }
spec:
  resources: [{ apiVersion: v1, kind: ConfigMap }]
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
`,
  );
  const lines: string[] = [];
  app = await runStandalone(
    optionsFrom([
      '--config',
      dir,
      '--port',
      '0',
      '--no-watch',
      '--log-level',
      'error',
      '--kubeconfig',
      kube.kubeconfig,
    ]),
    (l) => lines.push(l),
  );
  await eventually(
    () => lines.find((l) => l.startsWith('✓  ApiServerSource apps/settings Ready')),
    20_000,
    'the source Ready',
  );
  await kube.kubectl(['-n', 'apps', 'create', 'configmap', 'flags', '--from-literal=a=1']);
  await kube.kubectl([
    '-n',
    'apps',
    'patch',
    'configmap',
    'flags',
    '--type=merge',
    '-p',
    '{"data":{"a":"2"}}',
  ]);
  await kube.kubectl(['-n', 'apps', 'delete', 'configmap', 'flags']);
  const requests = await subscriber.waitFor(3, 20_000);
  // kube-root-ca.crt is made by a controller manager this control plane does not run: only ours.
  expect(requests.map((r) => r.headers['ce-type'])).toEqual([
    'dev.knative.apiserver.ref.add',
    'dev.knative.apiserver.ref.update',
    'dev.knative.apiserver.ref.delete',
  ]);
  for (const r of requests) {
    expect(r.headers).toMatchObject({
      'ce-source': kube.server,
      'ce-subject': '/apis/v1/namespaces/apps/configmaps/flags',
      'ce-kind': 'ConfigMap',
      'ce-apiversion': 'v1',
      'ce-name': 'flags',
      'ce-namespace': 'apps',
      'content-type': 'application/json',
    });
    expect(r.headers['ce-knativearrivaltime']).toBeDefined();
    expect(JSON.parse(r.body.toString())).toEqual({
      kind: 'ConfigMap',
      namespace: 'apps',
      name: 'flags',
      apiVersion: 'v1',
    });
  }
});
