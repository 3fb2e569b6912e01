import { CoreV1Api, KubeConfig, type V1ConfigMap, Watch } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SHARED_KUBE_ENV, startKube, withKube, type KubeServer } from './kube';
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
    'calls a validating admission webhook served on a loopback https URL',
    async () => {
      const reviews: string[] = [];
      const webhook = await httpsServer((path, body) => {
        const review = JSON.parse(body) as {
          request: { uid: string; name: string; object: V1ConfigMap };
        };
        reviews.push(`${path} ${review.request.name}`);
        const deny = review.request.object.metadata?.labels?.['deny'] === 'yes';
        return {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: {
            uid: review.request.uid,
            allowed: !deny,
            ...(deny
              ? { status: { code: 403, message: 'metadata.labels.deny: denied by the test webhook' } }
              : {}),
          },
        };
      });
      try {
        await kube.kubectl(['create', 'namespace', 'hooked']);
        await kube.kubectl(['label', 'namespace', 'hooked', 'webhook=on']);
        await kube.kubectl(['apply', '-f', '-'], {
          input: JSON.stringify({
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'ValidatingWebhookConfiguration',
            metadata: { name: 'test-webhook' },
            webhooks: [
              {
                name: 'configmaps.test.example.com',
                clientConfig: {
                  url: `${webhook.url}/validate`,
                  caBundle: Buffer.from(webhook.ca).toString('base64'),
                },
                rules: [
                  { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] },
                ],
                namespaceSelector: { matchLabels: { webhook: 'on' } },
                failurePolicy: 'Fail',
                sideEffects: 'None',
                admissionReviewVersions: ['v1'],
              },
            ],
          }),
        });
        const denyMe = JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'no', labels: { deny: 'yes' } },
        });
        // The API server picks the new configuration up from its informer, a moment after it is stored.
        let denied = { stdout: '', stderr: '', code: 0 };
        await eventually('the webhook is called', async () => {
          denied = await kube.kubectl(['-n', 'hooked', 'apply', '-f', '-'], {
            input: denyMe,
            allowFail: true,
          });
          // Created before the webhook took effect: remove it and try again.
          if (denied.code === 0) await kube.kubectl(['-n', 'hooked', 'delete', 'configmap', 'no']);
          return denied.code !== 0;
        });
        expect(denied.stderr).toContain('metadata.labels.deny: denied by the test webhook');
        await expect(kube.kubectl(['-n', 'hooked', 'get', 'configmap', 'no'])).rejects.toThrow(/NotFound/);
        await kube.kubectl(['-n', 'hooked', 'create', 'configmap', 'yes']);
        expect(reviews).toEqual(
          expect.arrayContaining(['/validate?timeout=10s no', '/validate?timeout=10s yes']),
        );
      } finally {
        await kube.kubectl([
          'delete',
          'validatingwebhookconfiguration',
          'test-webhook',
          '--ignore-not-found',
        ]);
        webhook.server.close();
      }
    },
    TEST_TIMEOUT,
  );

  describe('withKube() on a shared control plane', () => {
    beforeAll(() => {
      process.env[SHARED_KUBE_ENV] = kube.kubeconfig;
    });
    afterAll(() => {
      delete process.env[SHARED_KUBE_ENV];
    });
    const shared = withKube();

    it(
      'uses the shared kubeconfig and server',
      async () => {
        expect(shared.kubeconfig).toBe(kube.kubeconfig);
        expect(shared.server).toBe(kube.server);
        await shared.kubectl(['create', 'namespace', 'shared']);
        const { stdout } = await kube.kubectl(['get', 'namespace', 'shared', '-o', 'name']);
        expect(stdout.trim()).toBe('namespace/shared');
      },
      TEST_TIMEOUT,
    );
  });

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

/** An https server on a free loopback port with a fresh self-signed certificate for 127.0.0.1. */
async function httpsServer(
  handle: (path: string, body: string) => unknown,
): Promise<{ url: string; ca: string; server: Server }> {
  const dir = mkdtempSync(join(tmpdir(), 'webhook-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    const ca = readFileSync(cert, 'utf8');
    const server = createServer({ key: readFileSync(key), cert: ca }, (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (s: string) => (body += s));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(handle(req.url ?? '', body)));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address() as { port: number };
    return { url: `https://127.0.0.1:${address.port}`, ca, server };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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

  describe('withKube() on its own', () => {
    const own = withKube();

    it(
      'starts a control plane of its own',
      async () => {
        expect(own.server).not.toBe(kube.server);
        const { stdout } = await own.kubectl(['get', 'namespace', 'default', '-o', 'name']);
        expect(stdout.trim()).toBe('namespace/default');
      },
      TEST_TIMEOUT,
    );
  });

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
