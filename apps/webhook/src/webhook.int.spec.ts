import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { allKinds } from '@eventing/api';
import { buildApps, eventuallyAsync, startKube, type KubeServer } from '@eventing/testing';
import { issueServingCertificate, splitPemCertificates } from './certs/issue';
import { validSpecOf } from './testing/valid-specs';
import { startWebhookProcess, type WebhookProcess } from './testing/webhook-process';
import { serviceHosts } from './webhook';

// The webhook against a real kube-apiserver, as a developer runs it: the bundled process started
// outside the cluster with --register-url, the CRDs of the chart applied, and kubectl's requests
// admitted or refused through it. Its own control plane: webhook configurations are cluster-wide.
// Row ids refer to CONFORMANCE.md.

const root = join(__dirname, '../../..');
const SYSTEM = 'knative-eventing';
const NS = 'webhook-test';
const START_TIMEOUT = 900_000; // includes a first build of the Kubernetes binaries
const TEST_TIMEOUT = 90_000;

let kube: KubeServer;

/** The certificate a TLS server on 127.0.0.1:`port` presents. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerX509Certificate();
      socket.end();
      if (raw === undefined) reject(new Error('no certificate'));
      else resolve(raw);
    });
    socket.once('error', reject);
  });
}

/** The fields of the objects read back here. */
interface KubeDoc {
  metadata: { resourceVersion: string; annotations: Record<string, string>; labels: Record<string, string> };
  spec: Record<string, unknown>;
  data: Record<string, string>;
  webhooks: { clientConfig: { url: string; caBundle: string }; rules: { resources: string[] }[] }[];
}

async function kubectlJson(args: string[]): Promise<KubeDoc> {
  return JSON.parse((await kube.kubectl([...args, '-o', 'json'])).stdout) as KubeDoc;
}

function yaml(doc: object): string {
  return JSON.stringify(doc);
}

const trigger = (name: string, spec: object) => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name, namespace: NS },
  spec,
});
const SINK = { uri: 'http://sink.example.com/' };

/** Applies until the webhook's answer is seen: right after registration the API server may not call it yet. */
async function refusedApply(doc: object, name: string): Promise<string> {
  return eventuallyAsync(`the webhook to refuse ${name}`, async () => {
    const r = await kube.kubectl(['apply', '-f', '-'], { input: yaml(doc), allowFail: true });
    if (r.code !== 0) return r.stderr;
    // Admitted before the webhook took effect: remove it and try again.
    await kube.kubectl(['-n', NS, 'delete', 'trigger', name, '--ignore-not-found']);
    return undefined;
  });
}

describe('webhook process against kube-apiserver', () => {
  let webhook: WebhookProcess | undefined;

  beforeAll(async () => {
    buildApps('webhook');
    kube = await startKube();
    await kube.kubectl(['create', 'namespace', SYSTEM]);
    await kube.kubectl(['create', 'namespace', NS]);
    await kube.kubectl(['apply', '--server-side', '-f', join(root, 'charts/eventing/crds')]);
    await kube.kubectl(['wait', '--for', 'condition=established', '--timeout=60s', 'crd', '--all']);
    webhook = await startWebhookProcess(kube.kubeconfig, SYSTEM);
  }, START_TIMEOUT);
  afterAll(async () => {
    await webhook?.stop();
    await kube?.stop();
  }, 60_000);

  it(
    'registers both webhook configurations at its URL with the rules of every kind and its CA',
    async () => {
      const mutating = await eventuallyAsync('the mutating configuration', async () =>
        kubectlJson(['get', 'mutatingwebhookconfiguration', 'webhook.eventing.knative.dev']),
      );
      const validating = await kubectlJson([
        'get',
        'validatingwebhookconfiguration',
        'validation.webhook.eventing.knative.dev',
      ]);
      expect(mutating.webhooks[0]!.clientConfig.url).toBe(`https://127.0.0.1:${webhook!.port}/defaulting`);
      expect(validating.webhooks[0]!.clientConfig.url).toBe(`https://127.0.0.1:${webhook!.port}/validation`);
      const resources = validating.webhooks[0]!.rules.flatMap((r) => r.resources);
      expect(resources).toEqual(
        expect.arrayContaining(['brokers', 'triggers', 'subscriptions', 'channels', 'pingsources']),
      );
      const secret = await kubectlJson(['-n', SYSTEM, 'get', 'secret', 'eventing-webhook-certs']);
      const ca = Buffer.from(secret.data['ca-cert.pem']!, 'base64').toString();
      expect(Buffer.from(validating.webhooks[0]!.clientConfig.caBundle, 'base64').toString()).toBe(ca);
      expect(Object.keys(secret.data).sort()).toEqual(['ca-cert.pem', 'server-cert.pem', 'server-key.pem']);
    },
    TEST_TIMEOUT,
  );

  it(
    'kubectl apply of an invalid Trigger is refused with the field path (1.3 Trigger)',
    async () => {
      const stderr = await refusedApply(trigger('no-broker', { subscriber: SINK }), 'no-broker');
      expect(stderr).toContain(
        'admission webhook "validation.webhook.eventing.knative.dev" denied the request: validation failed: missing field(s): spec.broker',
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'every kind of the registry is defaulted through the webhook when valid and refused when not',
    async () => {
      for (const def of allKinds) {
        for (const version of def.versions) {
          const spec = validSpecOf(def.kind, version);
          const name = `every-${def.kind.toLowerCase()}-${version}`;
          const object = {
            apiVersion: `${def.group}/${version}`,
            kind: def.kind,
            metadata: { name, namespace: NS },
            ...(spec !== undefined ? { spec } : {}),
          };
          await kube.kubectl(['apply', '-f', '-'], { input: yaml(object) });
          const stored = await kubectlJson(['-n', NS, 'get', `${def.plural}.${version}.${def.group}`, name]);
          // Set by the mutating webhook only: proof that the API server sent this kind to it.
          expect(stored.metadata.annotations).toMatchObject({ [`${def.group}/creator`]: expect.any(String) });
          const refused = await kube.kubectl(['apply', '-f', '-'], {
            input: yaml({ ...object, metadata: { name: `${name}-bad`, namespace: NS }, spec: 42 }),
            allowFail: true,
          });
          expect(refused.code).not.toBe(0);
          expect(refused.stderr).toMatch(/denied the request: .*spec/);
        }
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'a Broker without a class annotation is stored with the default class, config and delivery (1.3 Broker)',
    async () => {
      await kube.kubectl(['apply', '-f', '-'], {
        input: yaml({
          apiVersion: 'eventing.knative.dev/v1',
          kind: 'Broker',
          metadata: { name: 'plain', namespace: NS },
        }),
      });
      const stored = await kubectlJson(['-n', NS, 'get', 'broker', 'plain']);
      expect(stored.metadata.annotations).toMatchObject({
        'eventing.knative.dev/broker.class': 'MTChannelBasedBroker',
        'eventing.knative.dev/creator': expect.any(String),
      });
      expect(stored.spec).toEqual({
        config: { apiVersion: 'v1', kind: 'ConfigMap', name: 'config-br-default-channel', namespace: SYSTEM },
        delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' },
      });
      const reclassed = await kube.kubectl(
        ['-n', NS, 'annotate', '--overwrite', 'broker', 'plain', 'eventing.knative.dev/broker.class=Kafka'],
        { allowFail: true },
      );
      expect(reclassed.code).not.toBe(0);
      expect(reclassed.stderr).toContain('metadata.annotations[eventing.knative.dev/broker.class]');
    },
    TEST_TIMEOUT,
  );

  it(
    "changing a Trigger's spec.broker is refused; changing its subscriber is not (1.3 Trigger)",
    async () => {
      await kube.kubectl(['apply', '-f', '-'], {
        input: yaml(trigger('moving', { broker: 'default', subscriber: SINK })),
      });
      const stored = await kubectlJson(['-n', NS, 'get', 'trigger', 'moving']);
      expect(stored.spec['filter']).toEqual({});
      expect(stored.metadata.labels).toEqual({ 'eventing.knative.dev/broker': 'default' });
      const moved = await kube.kubectl(['apply', '-f', '-'], {
        input: yaml(trigger('moving', { broker: 'other', subscriber: SINK })),
        allowFail: true,
      });
      expect(moved.code).not.toBe(0);
      expect(moved.stderr).toMatch(/denied the request: validation failed: .*immutable.*spec\.broker/s);
      await kube.kubectl(['apply', '-f', '-'], {
        input: yaml(
          trigger('moving', { broker: 'default', subscriber: { uri: 'http://other.example.com/' } }),
        ),
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'follows config-br-defaults in its namespace: a new default class applies to the next Broker',
    async () => {
      await kube.kubectl([
        '-n',
        SYSTEM,
        'create',
        'configmap',
        'config-br-defaults',
        '--from-literal=default-br-config=clusterDefault:\n  brokerClass: Kafka\n',
      ]);
      try {
        let n = 0;
        const cls = await eventuallyAsync('the new default class', async () => {
          const name = `next-${++n}`;
          await kube.kubectl(['apply', '-f', '-'], {
            input: yaml({
              apiVersion: 'eventing.knative.dev/v1',
              kind: 'Broker',
              metadata: { name, namespace: NS },
            }),
          });
          const b = await kubectlJson(['-n', NS, 'get', 'broker', name]);
          const value = b.metadata.annotations['eventing.knative.dev/broker.class'];
          return value === 'Kafka' ? value : undefined;
        });
        expect(cls).toBe('Kafka');
      } finally {
        await kube.kubectl(['-n', SYSTEM, 'delete', 'configmap', 'config-br-defaults']);
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'a restarted webhook reuses the Secret; a deleted Secret is issued again and served without a restart',
    async () => {
      const before = await kubectlJson(['-n', SYSTEM, 'get', 'secret', 'eventing-webhook-certs']);
      const servedBefore = await servedCertificate(webhook!.port);
      await webhook!.stop();
      webhook = await startWebhookProcess(kube.kubeconfig, SYSTEM);
      const after = await kubectlJson(['-n', SYSTEM, 'get', 'secret', 'eventing-webhook-certs']);
      expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
      expect((await servedCertificate(webhook.port)).fingerprint256).toBe(servedBefore.fingerprint256);
      expect(await refusedApply(trigger('still-checked', { subscriber: SINK }), 'still-checked')).toContain(
        'spec.broker',
      );

      await kube.kubectl(['-n', SYSTEM, 'delete', 'secret', 'eventing-webhook-certs']);
      const reissued = await eventuallyAsync('a new certificate served', async () => {
        const served = await servedCertificate(webhook!.port);
        return served.fingerprint256 !== servedBefore.fingerprint256 ? served : undefined;
      });
      const secret = await kubectlJson(['-n', SYSTEM, 'get', 'secret', 'eventing-webhook-certs']);
      const stored = new X509Certificate(Buffer.from(secret.data['server-cert.pem']!, 'base64'));
      expect(stored.fingerprint256).toBe(reissued.fingerprint256);
      expect(reissued.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(reissued.checkHost('eventing-webhook.knative-eventing.svc')).toBe(
        'eventing-webhook.knative-eventing.svc',
      );
      // The API server got the new CA bundle: it still reaches the webhook.
      expect(await refusedApply(trigger('after-renewal', { subscriber: SINK }), 'after-renewal')).toContain(
        'spec.broker',
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'a certificate expiring within 7 days is replaced at start, and the new CA bundle keeps the old CA',
    async () => {
      const expiring = await issueServingCertificate({
        hosts: [...serviceHosts('eventing-webhook', SYSTEM), '127.0.0.1', 'localhost'],
        validityDays: 3,
      });
      await webhook!.stop();
      await kube.kubectl(['-n', SYSTEM, 'delete', 'secret', 'eventing-webhook-certs']);
      await kube.kubectl([
        '-n',
        SYSTEM,
        'create',
        'secret',
        'generic',
        'eventing-webhook-certs',
        `--from-literal=server-key.pem=${expiring.key}`,
        `--from-literal=server-cert.pem=${expiring.cert}`,
        `--from-literal=ca-cert.pem=${expiring.caBundle}`,
      ]);
      webhook = await startWebhookProcess(kube.kubeconfig, SYSTEM);
      const secret = await kubectlJson(['-n', SYSTEM, 'get', 'secret', 'eventing-webhook-certs']);
      const stored = new X509Certificate(Buffer.from(secret.data['server-cert.pem']!, 'base64'));
      expect(stored.fingerprint256).not.toBe(new X509Certificate(expiring.cert).fingerprint256);
      expect(new Date(stored.validTo).getTime() - Date.now()).toBeGreaterThan(80 * 86_400_000);
      expect((await servedCertificate(webhook.port)).fingerprint256).toBe(stored.fingerprint256);
      const bundle = splitPemCertificates(Buffer.from(secret.data['ca-cert.pem']!, 'base64').toString());
      expect(bundle).toHaveLength(2);
      expect(bundle[1]).toBe(expiring.caBundle);
      expect(webhook.output()).toContain('"reason":"the certificate expires at');
      expect(await refusedApply(trigger('renewed', { subscriber: SINK }), 'renewed')).toContain(
        'spec.broker',
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'two replicas starting at once converge on one certificate',
    async () => {
      await kube.kubectl(['-n', SYSTEM, 'delete', 'secret', 'eventing-webhook-certs']);
      await webhook!.stop();
      const [a, b] = await Promise.all([
        startWebhookProcess(kube.kubeconfig, SYSTEM),
        startWebhookProcess(kube.kubeconfig, SYSTEM),
      ]);
      try {
        const [ca, cb] = await Promise.all([servedCertificate(a.port), servedCertificate(b.port)]);
        const secret = await kubectlJson(['-n', SYSTEM, 'get', 'secret', 'eventing-webhook-certs']);
        const stored = new X509Certificate(Buffer.from(secret.data['server-cert.pem']!, 'base64'));
        expect(ca.fingerprint256).toBe(stored.fingerprint256);
        expect(cb.fingerprint256).toBe(stored.fingerprint256);
      } finally {
        // Each registered its own URL, the last one wins: one replica, registered again, serves the rest.
        await Promise.all([a.stop(), b.stop()]);
        webhook = await startWebhookProcess(kube.kubeconfig, SYSTEM);
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'keeps following its ConfigMaps across an API server restart',
    async () => {
      await kube.restartApiServer({ downtimeMs: 1_000 });
      await kube.kubectl([
        '-n',
        SYSTEM,
        'create',
        'configmap',
        'config-br-defaults',
        '--from-literal=default-br-config=clusterDefault:\n  brokerClass: AfterRestart\n',
      ]);
      try {
        let n = 0;
        await eventuallyAsync(
          'the class configured after the restart',
          async () => {
            const name = `after-restart-${++n}`;
            await kube.kubectl(['apply', '-f', '-'], {
              input: yaml({
                apiVersion: 'eventing.knative.dev/v1',
                kind: 'Broker',
                metadata: { name, namespace: NS },
              }),
            });
            const b = await kubectlJson(['-n', NS, 'get', 'broker', name]);
            return b.metadata.annotations['eventing.knative.dev/broker.class'] === 'AfterRestart'
              ? true
              : undefined;
          },
          60_000,
        );
      } finally {
        await kube.kubectl(['-n', SYSTEM, 'delete', 'configmap', 'config-br-defaults']);
      }
    },
    TEST_TIMEOUT,
  );
});
