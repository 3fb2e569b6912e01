import { CoreV1Api, KubeConfig, type V1ConfigMap, Watch } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { startKube, type KubeServer } from './kube';
import { acceptsTcp } from './process';

// Smoke test of the Kubernetes harness: a real etcd + kube-apiserver + kube-controller-manager, used
// through kubectl v1.34 and @kubernetes/client-node; a watch, an API server restart that cuts it, and
// garbage collection by ownerReferences.

const START_TIMEOUT = 900_000; // includes the first build on a fresh machine (~7 min on 2 cores)
const TEST_TIMEOUT = 60_000;

function client(kube: KubeServer): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfig);
  return kc.makeApiClient(CoreV1Api);
}

/** Polls `check` every 100 ms until it returns true; fails after `timeoutMs`. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

describe('Kubernetes harness', () => {
  let kube: KubeServer;
  beforeAll(async () => {
    kube = await startKube({ controllerManager: true });
  }, START_TIMEOUT);
  afterAll(() => kube?.stop(), 60_000);

  it(
    'serves v1.34.10 to kubectl v1.34.10 as an admin in system:masters',
    async () => {
      const { stdout } = await kube.kubectl(['version', '-o', 'json']);
      const version = JSON.parse(stdout) as {
        clientVersion: { gitVersion: string };
        serverVersion: { gitVersion: string };
      };
      expect(version.clientVersion.gitVersion).toBe('v1.34.10');
      expect(version.serverVersion.gitVersion).toBe('v1.34.10');
      const whoami = await kube.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.groups}']);
      expect(whoami.stdout).toContain('system:masters');
    },
    TEST_TIMEOUT,
  );

  it(
    'enforces RBAC for identities other than the admin',
    async () => {
      await kube.kubectl(['create', 'namespace', 'rbac']);
      await kube.kubectl(['-n', 'rbac', 'create', 'serviceaccount', 'ctrl']);
      const asCtrl = ['-n', 'rbac', '--as=system:serviceaccount:rbac:ctrl'];
      const denied = await kube.kubectl(['auth', 'can-i', 'create', 'configmaps', ...asCtrl], {
        allowFail: true,
      });
      expect(denied.stdout.trim()).toBe('no');
      await kube.kubectl(['-n', 'rbac', 'create', 'role', 'cm', '--verb=create', '--resource=configmaps']);
      await kube.kubectl([
        '-n',
        'rbac',
        'create',
        'rolebinding',
        'cm',
        '--role=cm',
        '--serviceaccount=rbac:ctrl',
      ]);
      const allowed = await kube.kubectl(['auth', 'can-i', 'create', 'configmaps', ...asCtrl]);
      expect(allowed.stdout.trim()).toBe('yes');
    },
    TEST_TIMEOUT,
  );

  it(
    'creates and reads ConfigMaps through kubectl and @kubernetes/client-node alike',
    async () => {
      await kube.kubectl(['create', 'namespace', 'cm']);
      await kube.kubectl(['-n', 'cm', 'create', 'configmap', 'by-kubectl', '--from-literal=made=kubectl']);
      const api = client(kube);
      await api.createNamespacedConfigMap({
        namespace: 'cm',
        body: { metadata: { name: 'by-client' }, data: { made: 'client' } },
      });

      const read = await api.readNamespacedConfigMap({ namespace: 'cm', name: 'by-kubectl' });
      expect(read.data).toEqual({ made: 'kubectl' });
      const { stdout } = await kube.kubectl(['-n', 'cm', 'get', 'configmap', 'by-client', '-o', 'json']);
      expect((JSON.parse(stdout) as V1ConfigMap).data).toEqual({ made: 'client' });

      const missing = await kube.kubectl(['-n', 'cm', 'get', 'configmap', 'nope'], { allowFail: true });
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('NotFound');
      await expect(kube.kubectl(['-n', 'cm', 'get', 'configmap', 'nope'])).rejects.toThrow(/NotFound/);
    },
    TEST_TIMEOUT,
  );

  it(
    'applies manifests given on stdin',
    async () => {
      const manifest = [
        'apiVersion: v1',
        'kind: Namespace',
        'metadata: {name: stdin}',
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: {name: piped, namespace: stdin}',
        'data: {via: "stdin"}',
      ].join('\n');
      await kube.kubectl(['apply', '-f', '-'], { input: manifest });
      const read = await client(kube).readNamespacedConfigMap({ namespace: 'stdin', name: 'piped' });
      expect(read.data).toEqual({ via: 'stdin' });
    },
    TEST_TIMEOUT,
  );

  it(
    'delivers watch events, and the watch ends when the API server is killed; kubectl works after the restart',
    async () => {
      await kube.kubectl(['create', 'namespace', 'watch']);
      const kc = new KubeConfig();
      kc.loadFromFile(kube.kubeconfig);
      const events: Array<{ type: string; name: string; value?: string }> = [];
      let ended!: (err: unknown) => void;
      const end = new Promise<unknown>((done) => (ended = done));
      const abort = await new Watch(kc).watch(
        '/api/v1/namespaces/watch/configmaps',
        {},
        (type, obj: V1ConfigMap) =>
          events.push({ type, name: obj.metadata?.name ?? '', value: obj.data?.['v'] }),
        (err) => ended(err),
      );
      try {
        await kube.kubectl(['-n', 'watch', 'create', 'configmap', 'seen', '--from-literal=v=1']);
        await eventually('ADDED seen', async () =>
          events.some((e) => e.type === 'ADDED' && e.name === 'seen'),
        );
        await kube.kubectl(['-n', 'watch', 'patch', 'configmap', 'seen', '-p', '{"data":{"v":"2"}}']);
        await eventually('MODIFIED seen', async () =>
          events.some((e) => e.type === 'MODIFIED' && e.name === 'seen' && e.value === '2'),
        );

        await kube.restartApiServer();
        await end;

        const { stdout } = await kube.kubectl([
          '-n',
          'watch',
          'get',
          'configmap',
          'seen',
          '-o',
          'jsonpath={.data.v}',
        ]);
        expect(stdout).toBe('2');
        await kube.kubectl(['-n', 'watch', 'create', 'configmap', 'after-restart']);
      } finally {
        abort.abort();
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'garbage-collects a ConfigMap whose owner was deleted (kube-controller-manager)',
    async () => {
      await kube.kubectl(['create', 'namespace', 'gc']);
      const api = client(kube);
      const owner = await api.createNamespacedConfigMap({
        namespace: 'gc',
        body: { metadata: { name: 'owner' } },
      });
      await api.createNamespacedConfigMap({
        namespace: 'gc',
        body: {
          metadata: {
            name: 'dependent',
            ownerReferences: [
              { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! },
            ],
          },
        },
      });
      await kube.kubectl(['-n', 'gc', 'delete', 'configmap', 'owner']);
      await eventually('dependent deleted', async () => {
        const got = await kube.kubectl(['-n', 'gc', 'get', 'configmap', 'dependent'], { allowFail: true });
        return got.code !== 0 && got.stderr.includes('NotFound');
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'deletes a namespace with what it holds, and gives new namespaces a default ServiceAccount (kube-controller-manager)',
    async () => {
      await kube.kubectl(['create', 'namespace', 'doomed']);
      await kube.kubectl(['-n', 'doomed', 'create', 'configmap', 'inside']);
      await eventually('default ServiceAccount', async () => {
        const got = await kube.kubectl(['-n', 'doomed', 'get', 'serviceaccount', 'default'], {
          allowFail: true,
        });
        return got.code === 0;
      });
      await kube.kubectl(['delete', 'namespace', 'doomed', '--timeout=30s']);
      const gone = await kube.kubectl(['get', 'namespace', 'doomed'], { allowFail: true });
      expect(gone.stderr).toContain('NotFound');
    },
    TEST_TIMEOUT,
  );
});

describe('Kubernetes harness without the controller manager', () => {
  let kube: KubeServer;
  beforeAll(async () => {
    kube = await startKube();
  }, START_TIMEOUT);
  afterAll(() => kube?.stop(), 60_000);

  it(
    'leaves dependents of a deleted owner in place',
    async () => {
      await kube.kubectl(['create', 'namespace', 'nogc']);
      const api = client(kube);
      const owner = await api.createNamespacedConfigMap({
        namespace: 'nogc',
        body: { metadata: { name: 'owner' } },
      });
      await api.createNamespacedConfigMap({
        namespace: 'nogc',
        body: {
          metadata: {
            name: 'dependent',
            ownerReferences: [
              { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! },
            ],
          },
        },
      });
      await kube.kubectl(['-n', 'nogc', 'delete', 'configmap', 'owner']);
      await new Promise((done) => setTimeout(done, 2_000));
      await kube.kubectl(['-n', 'nogc', 'get', 'configmap', 'dependent']);
    },
    TEST_TIMEOUT,
  );

  it(
    'stop() ends etcd and the API server and removes the folder',
    async () => {
      await kube.stop();
      expect(existsSync(kube.dir)).toBe(false);
      expect(await acceptsTcp(kube.port)).toBe(false);
      expect(await acceptsTcp(Number(new URL(kube.etcd).port))).toBe(false);
    },
    TEST_TIMEOUT,
  );
});
