import { withKube } from '@eventing/testing';
import { randomBytes } from 'node:crypto';
import { VALUES, docs, template } from './helm';

// charts/eventing on a real kube-apiserver (v1.34, RBAC authorizer): the CRDs applied for real, then
// every other manifest of the memory, Kafka and NATS installs accepted by `kubectl apply
// --dry-run=server`; the memory install applied for real, and each ServiceAccount's permissions
// checked through the API server's own authorizer (SubjectAccessReview via `kubectl auth can-i`).

const NS = `charts-${randomBytes(3).toString('hex')}`;
const kube = withKube();

function split(rendered: string): { crds: string; rest: string; count: number } {
  const all = docs(rendered);
  const yaml = (list: object[]) => list.map((d) => JSON.stringify(d)).join('\n---\n');
  const crds = all.filter((d) => d['kind'] === 'CustomResourceDefinition');
  const rest = all.filter((d) => d['kind'] !== 'CustomResourceDefinition');
  return { crds: yaml(crds), rest: yaml(rest), count: rest.length };
}

async function can(account: string, args: string[]): Promise<boolean> {
  const r = await kube.kubectl(['auth', 'can-i', '--as', `system:serviceaccount:${NS}:${account}`, ...args], {
    allowFail: true,
  });
  return r.stdout.trim() === 'yes';
}

describe('charts/eventing on a real kube-apiserver', () => {
  beforeAll(async () => {
    const { crds } = split(await template([], [], NS));
    await kube.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: crds });
    await kube.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd',
      '-l',
      'knative.dev/crd-install=true',
    ]);
    await kube.kubectl(['create', 'namespace', NS]);
  });

  it.each(Object.keys(VALUES) as (keyof typeof VALUES)[])(
    'accepts every manifest of the %s install (kubectl apply --dry-run=server)',
    async (name) => {
      const { rest, count } = split(await template(VALUES[name], [], NS));
      const r = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: rest });
      expect(r.stdout.match(/\(server dry run\)/g)).toHaveLength(count);
    },
  );

  it('refuses a manifest the API server refuses (a control for the dry runs above)', async () => {
    const { rest } = split(await template([], [], NS));
    const broken = rest.replace('"maxUnavailable":1', '"maxUnavailable":1,"minAvailable":1');
    expect(broken).not.toBe(rest);
    const r = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], {
      input: broken,
      allowFail: true,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/minAvailable and maxUnavailable cannot be both set/);
  });

  describe('installed, each ServiceAccount may do what its service needs and nothing else', () => {
    beforeAll(async () => {
      const { rest } = split(await template([], [], NS));
      await kube.kubectl(['apply', '-f', '-'], { input: rest });
    });

    it('controller: reads every kind cluster-wide, writes status and children, ConfigMaps and its Lease at home only', async () => {
      expect(await can('controller', ['list', 'triggers.eventing.knative.dev', '-A'])).toBe(true);
      expect(await can('controller', ['watch', 'pingsources.sources.knative.dev', '-A'])).toBe(true);
      expect(
        await can('controller', [
          'update',
          'brokers.eventing.knative.dev',
          '--subresource=status',
          '-n',
          'default',
        ]),
      ).toBe(true);
      expect(
        await can('controller', ['create', 'subscriptions.messaging.knative.dev', '-n', 'default']),
      ).toBe(true);
      expect(
        await can('controller', ['create', 'inmemorychannels.messaging.knative.dev', '-n', 'default']),
      ).toBe(true);
      expect(await can('controller', ['create', 'brokers.eventing.knative.dev', '-n', 'default'])).toBe(
        false,
      );
      expect(await can('controller', ['update', 'configmaps', '-n', NS])).toBe(true);
      expect(await can('controller', ['update', 'configmaps', '-n', 'default'])).toBe(false);
      expect(await can('controller', ['list', 'services', '-A'])).toBe(true);
      expect(await can('controller', ['update', 'leases.coordination.k8s.io', '-n', NS])).toBe(true);
      expect(await can('controller', ['get', 'secrets', '-n', NS])).toBe(false);
    });

    it('webhook: its Secret and ConfigMaps at home, the two webhook configurations', async () => {
      expect(await can('webhook', ['update', 'secrets', '-n', NS])).toBe(true);
      expect(await can('webhook', ['get', 'secrets', '-n', 'default'])).toBe(false);
      expect(await can('webhook', ['watch', 'configmaps', '-n', NS])).toBe(true);
      expect(
        await can('webhook', ['create', 'validatingwebhookconfigurations.admissionregistration.k8s.io']),
      ).toBe(true);
      expect(
        await can('webhook', ['update', 'mutatingwebhookconfigurations.admissionregistration.k8s.io']),
      ).toBe(true);
      expect(await can('webhook', ['list', 'brokers.eventing.knative.dev', '-A'])).toBe(false);
      // SinkBindings: the bindings, their status, the subjects they name, and its Lease at home.
      expect(await can('webhook', ['patch', 'deployments.apps', '-n', 'default'])).toBe(true);
      expect(await can('webhook', ['patch', 'cronjobs.batch', '-n', 'default'])).toBe(true);
      expect(
        await can('webhook', [
          'update',
          'sinkbindings.sources.knative.dev',
          '--subresource=status',
          '-n',
          'default',
        ]),
      ).toBe(true);
      expect(await can('webhook', ['delete', 'deployments.apps', '-n', 'default'])).toBe(false);
      expect(await can('webhook', ['update', 'leases.coordination.k8s.io', '-n', NS])).toBe(true);
    });

    it('ping-source: Leases at home; data-plane services: nothing', async () => {
      expect(await can('ping-source', ['update', 'leases.coordination.k8s.io', '-n', NS])).toBe(true);
      expect(await can('ping-source', ['list', 'pingsources.sources.knative.dev', '-A'])).toBe(false);
      for (const sa of ['broker-ingress', 'broker-filter', 'imc-dispatcher'])
        expect([sa, await can(sa, ['get', 'configmaps', '-n', NS])]).toEqual([sa, false]);
    });
  });
});
