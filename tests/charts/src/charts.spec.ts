import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CHART, ROOT, VALUES, type Doc, docs, find, helm, install, render, run, template } from './helm';

// charts/eventing: helm lint --strict, helm template and offline validation with kubeconform for the
// memory, Kafka and NATS values files; the component switches, the security and probe settings every
// workload gets, least-privilege RBAC, and the refusals of values.schema.json.

const COMPONENTS = [
  'controller',
  'webhook',
  'broker-ingress',
  'broker-filter',
  'imc-dispatcher',
  'kafka-channel-dispatcher',
  'nats-channel-dispatcher',
  'kafka-broker-receiver',
  'kafka-broker-dispatcher',
  'ping-source',
];
const CONTRACT_ROLE: Record<string, string> = {
  'broker-ingress': 'broker-ingress',
  'broker-filter': 'broker-filter',
  'imc-dispatcher': 'imc-dispatcher',
  'kafka-channel-dispatcher': 'kafka-channel-dispatcher',
  'nats-channel-dispatcher': 'nats-channel-dispatcher',
  'kafka-broker-receiver': 'kafka-broker',
  'kafka-broker-dispatcher': 'kafka-broker',
};
const ENABLED = {
  default: ['controller', 'webhook', 'broker-ingress', 'broker-filter', 'imc-dispatcher', 'ping-source'],
  kafka: [
    'controller',
    'webhook',
    'broker-ingress',
    'broker-filter',
    'imc-dispatcher',
    'kafka-channel-dispatcher',
    'kafka-broker-receiver',
    'kafka-broker-dispatcher',
    'ping-source',
  ],
  nats: [
    'controller',
    'webhook',
    'broker-ingress',
    'broker-filter',
    'imc-dispatcher',
    'nats-channel-dispatcher',
    'ping-source',
  ],
};

const deployments = (all: Doc[]) => all.filter((d) => d['kind'] === 'Deployment');
const container = (d: Doc): Doc => d['spec']['template']['spec']['containers'][0];
const env = (d: Doc): Record<string, string> =>
  Object.fromEntries((container(d)['env'] as Doc[]).map((e) => [e['name'], e['value'] ?? e['valueFrom']]));

/** Runs kubeconform -strict against the offline Kubernetes 1.34 schemas. */
async function kubeconform(manifests: string) {
  const bin = await install('kubeconform');
  const schemas = join(bin, '..', '..', 'schemas');
  return run(
    bin,
    [
      '-strict',
      '-summary',
      '-kubernetes-version',
      '1.34.0',
      '-schema-location',
      join(
        schemas,
        '{{ .NormalizedKubernetesVersion }}-local-strict',
        '{{ .ResourceKind }}{{ .KindSuffix }}.json',
      ),
      '-',
    ],
    manifests,
  );
}

describe.each(Object.keys(VALUES) as (keyof typeof VALUES)[])('charts/eventing with %s values', (name) => {
  const files = VALUES[name];

  it('passes helm lint --strict', async () => {
    const args = ['lint', '--strict', CHART];
    for (const f of files) args.push('-f', f);
    const r = await helm(args);
    expect(r.stdout + r.stderr).toContain('0 chart(s) failed');
    expect(r.code).toBe(0);
  });

  it('renders manifests that kubeconform validates offline, strictly', async () => {
    const rendered = await template(files);
    const r = await kubeconform(rendered);
    expect(r.stdout).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/);
    expect(r.code).toBe(0);
    const total = Number(/(\d+) resources found/.exec(r.stdout)?.[1]);
    expect(total).toBe(docs(rendered).length);
  });

  it('runs exactly the components of the values file, each with its contract ConfigMap', async () => {
    const all = await render(files);
    expect(
      deployments(all)
        .map((d) => d['metadata']['name'])
        .sort(),
    ).toEqual([...ENABLED[name]].sort());
    for (const d of deployments(all)) {
      const role = CONTRACT_ROLE[d['metadata']['name']];
      const volumes = d['spec']['template']['spec']['volumes'] as Doc[];
      const cm = volumes.find((v) => v['name'] === 'contract')?.['configMap'];
      if (role !== undefined) {
        expect(cm).toMatchObject({ name: `eventing-contract-${role}`, optional: true });
        expect(env(d)['CONTRACT_PATH']).toBe('/etc/eventing/contract/contract.json');
      } else if (d['metadata']['name'] === 'ping-source') {
        expect(cm).toMatchObject({
          name: 'eventing-contract-ping-source',
          items: [{ key: 'schedules.json', path: 'schedules.json' }],
        });
        expect(env(d)['SCHEDULES_PATH']).toBe('/etc/eventing/ping-source/schedules.json');
      } else expect(cm).toBeUndefined();
    }
  });
});

describe('with Helm 3 (still installed by many users)', () => {
  it.each(Object.keys(VALUES) as (keyof typeof VALUES)[])(
    'lints strictly and renders the same manifests as Helm 4 for the %s values',
    async (name) => {
      const lint = ['lint', '--strict', CHART];
      const render3 = ['template', 'eventing', CHART, '-n', 'knative-eventing', '--kube-version', '1.34.0'];
      for (const f of VALUES[name]) {
        lint.push('-f', f);
        render3.push('-f', f);
      }
      const r = await helm(lint, 'helm3');
      expect(r.stdout + r.stderr).toContain('0 chart(s) failed');
      const rendered = await helm(render3, 'helm3');
      expect(rendered.stderr).toBe('');
      const key = (d: Doc) => `${d['kind']}/${d['metadata']['name']}`;
      expect(docs(rendered.stdout).map(key).sort()).toEqual((await render(VALUES[name])).map(key).sort());
    },
  );

  it('refuses a wrong value too', async () => {
    const r = await helm(['template', 'eventing', CHART, '--set', 'broker-ingress.replicas=-1'], 'helm3');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('broker-ingress');
  });
});

describe('every workload', () => {
  let all: Doc[];
  beforeAll(async () => {
    const set = COMPONENTS.map((c) => `${c}.enabled=true`);
    all = await render(VALUES.kafka, [...set, 'nats-channel-dispatcher.settings.NATS_URL=nats://nats:4222']);
  });

  it('is hardened: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    expect(deployments(all)).toHaveLength(COMPONENTS.length);
    for (const d of deployments(all)) {
      const pod = d['spec']['template']['spec'];
      expect(pod['securityContext']).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container(d)['securityContext']).toEqual({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(container(d)['resources']['requests']).toBeDefined();
      expect(container(d)['resources']['limits']['memory']).toBeDefined();
    }
  });

  it('is probed on /healthz and /readyz of its own port, HTTPS for the webhook', () => {
    for (const d of deployments(all)) {
      const c = container(d);
      const scheme = d['metadata']['name'] === 'webhook' ? 'HTTPS' : 'HTTP';
      const port = Number(env(d)['PORT']);
      expect(c['ports'][0]['containerPort']).toBe(port);
      expect(c['livenessProbe']['httpGet']).toEqual({ path: '/healthz', port, scheme });
      expect(c['readinessProbe']['httpGet']).toEqual({ path: '/readyz', port, scheme });
      expect(c['startupProbe']['httpGet']).toEqual({ path: '/healthz', port, scheme });
    }
    expect(env(find(all, 'Deployment', 'webhook')!)['PORT']).toBe('8443');
  });

  it('gets an API token only when it talks to the API server (controller, webhook, ping-source)', () => {
    const withToken = deployments(all)
      .filter((d) => d['spec']['template']['spec']['automountServiceAccountToken'] === true)
      .map((d) => d['metadata']['name'])
      .sort();
    expect(withToken).toEqual(['controller', 'ping-source', 'webhook']);
    for (const sa of all.filter((d) => d['kind'] === 'ServiceAccount'))
      expect(sa['automountServiceAccountToken']).toBe(withToken.includes(sa['metadata']['name']));
    const bound = all
      .filter((d) => d['kind'] === 'RoleBinding' || d['kind'] === 'ClusterRoleBinding')
      .map((b) => b['subjects'][0]['name']);
    expect([...new Set(bound)].sort()).toEqual(withToken);
  });

  it('has a PodDisruptionBudget, and an HPA (with no fixed replicas) only when autoscaling is on', async () => {
    expect(all.filter((d) => d['kind'] === 'PodDisruptionBudget')).toHaveLength(COMPONENTS.length);
    expect(all.filter((d) => d['kind'] === 'HorizontalPodAutoscaler')).toHaveLength(0);
    const scaled = await render(
      [],
      [
        'broker-ingress.autoscaling.enabled=true',
        'broker-ingress.autoscaling.maxReplicas=7',
        'broker-filter.podDisruptionBudget.enabled=false',
      ],
    );
    const hpa = find(scaled, 'HorizontalPodAutoscaler', 'broker-ingress')!;
    expect(hpa['spec']).toMatchObject({
      minReplicas: 2,
      maxReplicas: 7,
      scaleTargetRef: { kind: 'Deployment', name: 'broker-ingress' },
    });
    expect(find(scaled, 'Deployment', 'broker-ingress')!['spec']['replicas']).toBeUndefined();
    expect(find(scaled, 'PodDisruptionBudget', 'broker-filter')).toBeUndefined();
    expect(find(scaled, 'PodDisruptionBudget', 'broker-ingress')).toBeDefined();
  });

  it('the Kafka values have the controller create topics and the Kafka services only use them', () => {
    const byName = new Map(deployments(all).map((d) => [d['metadata']['name'] as string, env(d)]));
    const bootstrap = byName.get('kafka-channel-dispatcher')?.['KAFKA_BOOTSTRAP_SERVERS'];
    expect(bootstrap).toBeTruthy();
    expect(byName.get('controller')?.['KAFKA_BOOTSTRAP_SERVERS']).toBe(bootstrap);
    for (const app of ['kafka-channel-dispatcher', 'kafka-broker-receiver', 'kafka-broker-dispatcher'])
      expect([app, byName.get(app)?.['CREATE_STORES']]).toEqual([app, 'false']);
  });

  it("sets only environment variables its service reads, with the service's own defaults", () => {
    for (const d of deployments(all)) {
      const app = d['metadata']['name'] as string;
      const names = (container(d)['env'] as Doc[]).map((e) => e['name'] as string);
      expect(new Set(names).size).toBe(names.length);
      const bundle = join(ROOT, 'dist', 'apps', app, 'main.js');
      // The service's settings table, where it exports one (libs/runtime settings).
      const table = JSON.parse(
        execFileSync(
          process.execPath,
          [
            '-e',
            `const m = require(${JSON.stringify(bundle)}); process.stdout.write(JSON.stringify(m.SETTINGS ?? null))`,
          ],
          {
            cwd: ROOT,
          },
        ).toString(),
      ) as { env: string; default?: unknown }[] | null;
      const values = env(d);
      if (table !== null) {
        for (const n of names)
          expect([app, table.map((r) => r.env)]).toEqual([app, expect.arrayContaining([n])]);
      } else {
        const source = readFileSync(bundle, 'utf8');
        for (const n of names)
          expect([app, n, source.includes(`'${n}'`) || source.includes(`"${n}"`)]).toEqual([app, n, true]);
      }
      for (const row of table ?? [])
        if (
          values[row.env] !== undefined &&
          row.default !== undefined &&
          row.env !== 'KAFKA_BOOTSTRAP_SERVERS' &&
          row.env !== 'NATS_URL' &&
          // In a cluster the controller creates topics and streams, so the store services do not.
          row.env !== 'CREATE_STORES' &&
          // In a cluster broker-ingress reports event types to the controller's Service.
          row.env !== 'EVENTTYPE_REGISTRY_URL'
        )
          expect([app, row.env, typeof values[row.env] === 'string' ? values[row.env] : '']).toEqual([
            app,
            row.env,
            row.env === 'CONTRACT_PATH' || row.env === 'PORT' ? values[row.env] : String(row.default),
          ]);
    }
  });
});

describe('switches and values', () => {
  it('turns each component off on its own', async () => {
    for (const c of ENABLED.default) {
      const all = await render([], [`${c}.enabled=false`]);
      expect(find(all, 'Deployment', c)).toBeUndefined();
      expect(all.filter((d) => d['metadata']?.['labels']?.['app.kubernetes.io/name'] === c)).toEqual([]);
      expect(deployments(all)).toHaveLength(ENABLED.default.length - 1);
    }
  });

  it('installs the CRDs as templates kept on uninstall, or not at all', async () => {
    const all = await render();
    const crds = all.filter((d) => d['kind'] === 'CustomResourceDefinition');
    const generated = readdirSync(join(CHART, 'crds')).filter((f) => f.endsWith('.yaml'));
    expect(crds).toHaveLength(generated.length);
    for (const crd of crds) expect(crd['metadata']['annotations']['helm.sh/resource-policy']).toBe('keep');
    expect(
      (await render([], ['eventing-crds.enabled=false'])).filter(
        (d) => d['kind'] === 'CustomResourceDefinition',
      ),
    ).toEqual([]);
    // Helm never installs crds/ from the umbrella (it is in .helmignore): only the templates do.
    const show = await helm(['show', 'crds', CHART]);
    expect(show.stdout.trim()).toBe('');
  });

  it('takes the image from registry, repository and tag, a digest winning over the tag', async () => {
    const all = await render(
      [],
      [
        'global.image.registry=registry.example/eventing',
        'global.image.tag=1.2.3',
        'broker-filter.image.digest=sha256:' + 'a'.repeat(64),
        'controller.image.tag=9.9.9',
      ],
    );
    expect(container(find(all, 'Deployment', 'broker-ingress')!)['image']).toBe(
      'registry.example/eventing/broker-ingress:1.2.3',
    );
    expect(container(find(all, 'Deployment', 'broker-filter')!)['image']).toBe(
      `registry.example/eventing/broker-filter@sha256:${'a'.repeat(64)}`,
    );
    expect(container(find(all, 'Deployment', 'controller')!)['image']).toBe(
      'registry.example/eventing/controller:9.9.9',
    );
    const plain = await render();
    expect(container(find(plain, 'Deployment', 'webhook')!)['image']).toBe(
      'ghcr.io/knative-eventing-ts/webhook:0.1.0',
    );
  });

  it('writes the upstream ConfigMaps from values', async () => {
    const all = await render(VALUES.kafka, ['config.features.data.new-trigger-filters=disabled']);
    expect(find(all, 'ConfigMap', 'config-features')!['data']['new-trigger-filters']).toBe('disabled');
    expect(find(all, 'ConfigMap', 'default-ch-webhook')!['data']['default-ch-config']).toContain(
      'kind: KafkaChannel',
    );
    expect(find(all, 'ConfigMap', 'config-br-defaults')!['data']['default-br-config']).toMatch(
      /brokerClass: MTChannelBasedBroker[\s\S]*namespace: knative-eventing/,
    );
    expect(find(all, 'ConfigMap', 'config-kafka')!['data']['bootstrap.servers']).toBe(
      'kafka-bootstrap.kafka.svc:9092',
    );
    expect(env(find(all, 'Deployment', 'kafka-broker-receiver')!)['KAFKA_BOOTSTRAP_SERVERS']).toBe(
      'kafka-bootstrap.kafka.svc:9092',
    );
    expect(env(find(all, 'Deployment', 'controller')!)['STORES']).toBe('memory,kafka');
    const nats = await render(VALUES.nats);
    expect(find(nats, 'ConfigMap', 'config-nats')!['data']['eventing-nats']).toContain(
      'url: nats://nats.nats.svc:4222',
    );
    expect(find(nats, 'ConfigMap', 'config-kafka')).toBeUndefined();
  });

  it('renders the dashboards and alerts when asked to, if they have been generated', async () => {
    const dir = join(CHART, 'dashboards', 'configmaps');
    if (!existsSync(dir)) return;
    const all = await render([], ['dashboards.enabled=true', 'alerts.enabled=true']);
    const boards = all.filter(
      (d) => d['kind'] === 'ConfigMap' && d['metadata']['labels']?.['grafana_dashboard'] === '1',
    );
    expect(boards).toHaveLength(readdirSync(dir).filter((f) => f.endsWith('.yaml')).length);
    expect(all.filter((d) => d['kind'] === 'PrometheusRule')).toHaveLength(1);
    expect((await render()).filter((d) => d['kind'] === 'PrometheusRule')).toEqual([]);
  });
});

describe('values.schema.json', () => {
  it('is what tests/charts/src/write-schema.mjs writes', () => {
    const written = JSON.parse(
      execFileSync(process.execPath, [join(__dirname, 'write-schema.mjs'), '--stdout']).toString(),
    );
    expect(JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'))).toEqual(written);
  });

  it.each([
    ['broker-ingress.replicas=-1', '/broker-ingress/replicas'],
    ['broker-ingress.replicas=two', '/broker-ingress/replicas'],
    ['broker-filter.imagee.tag=x', 'imagee'],
    ['controller.image.digest=latest', '/controller/image/digest'],
    ['webhook.probeScheme=TCP', '/webhook/probeScheme'],
    ['imc-dispatcher.settings.LOG_LEVEL=verbose', '/imc-dispatcher/settings/LOG_LEVEL'],
    ['broker-ingress.settings.MAX_TTL=1000', '/broker-ingress/settings/MAX_TTL'],
    ['controller.settings.STORES=memory\\,redis', '/controller/settings/STORES'],
    ['kafka-channel-dispatcher.enabled=true', '/kafka-channel-dispatcher/settings/KAFKA_BOOTSTRAP_SERVERS'],
    ['nats-channel-dispatcher.enabled=true', '/nats-channel-dispatcher/settings/NATS_URL'],
    ['ping-source.settings.COORDINATION=zookeeper', '/ping-source/settings/COORDINATION'],
    ['broker-filter.settings.DELIVERY_FRAMES=maybe', '/broker-filter/settings/DELIVERY_FRAMES'],
    [
      'broker-filter.securityContext.allowPrivilegeEscalation=true',
      '/broker-filter/securityContext/allowPrivilegeEscalation',
    ],
    ['config.features.data.new-trigger-filters=on', '/config/features/data/new-trigger-filters'],
    ['config.brokerDefaults.clusterDefault.delivery.backoffPolicy=random', 'backoffPolicy'],
    ['typo=1', 'typo'],
  ])('refuses %s, naming %s', async (set, path) => {
    await expect(template([], [set])).rejects.toThrow(path);
  });

  it('accepts what it should (a control: the refusals are not refusing everything)', async () => {
    await expect(
      template(
        [],
        [
          'broker-ingress.replicas=3',
          'imc-dispatcher.settings.LOG_LEVEL=debug',
          'controller.settings.STORES=memory\\,jetstream',
        ],
      ),
    ).resolves.toContain('kind: Deployment');
  });
});

describe('kubeconform', () => {
  it('refuses a manifest the Kubernetes schema refuses (a control for the validation above)', async () => {
    const rendered = await template();
    const broken = rendered.replace(
      'automountServiceAccountToken: false',
      'automountServiceAccountToken: "no"',
    );
    expect(broken).not.toBe(rendered);
    const r = await kubeconform(broken);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/Invalid: 1/);
  });
});
