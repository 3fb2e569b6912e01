import {
  parseApiServerAdapterConfig,
  setDefaultsApiServerSource,
  setDefaultsContainerSource,
  setDefaultsSinkBinding,
  SinkBindingConditionSet,
  type Condition,
  type Resource,
} from '@eventing/api';
import { Controller } from '../controller/controller';
import { MemoryResourceStore } from '../store/memory-store';
import { apiServerAdapterName } from './apiserversource';
import {
  bindPodSpec,
  deploymentAvailability,
  podSpecOf,
  sinkEnvVars,
  unbindPodSpec,
  withPodSpec,
} from './pod-template';
import { configureSources } from './settings';

const cond = (r: Resource | undefined, type: string) =>
  ((r?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);

function running(store: MemoryResourceStore) {
  const controller = new Controller(store, {
    ingressUrl: (ns, name) => `http://ingress.local/${ns}/${name}`,
    addressBook: { lookup: (ns, name) => (name === 'display' ? `http://display.${ns}.local/` : undefined) },
  });
  controller.start();
  return controller;
}

const available = (status: 'True' | 'False', reason = 'MinimumReplicasAvailable') => ({
  conditions: [{ type: 'Available', status, reason, message: `Deployment ${reason}` }],
});

describe('pod templates: the binding environment (4.4)', () => {
  it('K_SINK, K_CA_CERTS, K_CE_OVERRIDES in upstream order; no overrides is an empty string', () => {
    expect(
      sinkEnvVars({ sinkUri: 'http://s/', caCerts: 'PEM', ceOverrides: { extensions: { a: 'b' } } }),
    ).toEqual([
      { name: 'K_SINK', value: 'http://s/' },
      { name: 'K_CA_CERTS', value: 'PEM' },
      { name: 'K_CE_OVERRIDES', value: '{"extensions":{"a":"b"}}' },
    ]);
    expect(sinkEnvVars({ sinkUri: 'http://s/' })).toEqual([
      { name: 'K_SINK', value: 'http://s/' },
      { name: 'K_CE_OVERRIDES' },
    ]);
  });

  it('binds every container and init container, replaces an old binding, and undoes to the original', () => {
    const spec = {
      containers: [
        {
          name: 'a',
          env: [
            { name: 'X', value: '1' },
            { name: 'K_SINK', value: 'http://old/' },
          ],
        },
        { name: 'b' },
      ],
      initContainers: [{ name: 'init', env: [{ name: 'Y', value: '2' }] }],
      volumes: [{ name: 'v' }],
    };
    const bound = bindPodSpec(spec, { sinkUri: 'http://new/' });
    expect(bound.containers?.map((c) => c.env)).toEqual([
      [{ name: 'X', value: '1' }, { name: 'K_SINK', value: 'http://new/' }, { name: 'K_CE_OVERRIDES' }],
      [{ name: 'K_SINK', value: 'http://new/' }, { name: 'K_CE_OVERRIDES' }],
    ]);
    expect(bound.initContainers?.[0]?.env?.map((e) => e.name)).toEqual(['Y', 'K_SINK', 'K_CE_OVERRIDES']);
    expect(bound.volumes).toBe(spec.volumes);
    expect(bindPodSpec(bound, { sinkUri: 'http://new/' })).toEqual(bound);
    expect(unbindPodSpec(bound)).toEqual({
      ...spec,
      containers: [
        { name: 'a', env: [{ name: 'X', value: '1' }] },
        { name: 'b', env: [] },
      ],
    });
  });

  it.each<[string, string[]]>([
    ['Deployment', ['spec', 'template', 'spec']],
    ['Job', ['spec', 'template', 'spec']],
    ['CronJob', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
  ])('finds and replaces the pod spec of a %s', (kind, path) => {
    const object: Record<string, unknown> = {};
    let at = object;
    for (const key of path.slice(0, -1)) at = (at[key] = {}) as Record<string, unknown>;
    at[path[path.length - 1] as string] = { containers: [{ name: 'c' }] };
    expect(podSpecOf(object, kind)).toEqual({ containers: [{ name: 'c' }] });
    const replaced = withPodSpec(object, kind, { containers: [] });
    expect(podSpecOf(replaced, kind)).toEqual({ containers: [] });
    expect(podSpecOf(object, kind)).toEqual({ containers: [{ name: 'c' }] });
  });

  it.each<[string, unknown, string, string]>([
    ['no status yet', undefined, 'Unknown', 'DeploymentUnavailable'],
    ['available', available('True'), 'True', 'MinimumReplicasAvailable'],
    [
      'not available',
      available('False', 'MinimumReplicasUnavailable'),
      'False',
      'MinimumReplicasUnavailable',
    ],
    ['rolling', { ...available('True'), unavailableReplicas: 1 }, 'Unknown', 'DeploymentUpdating'],
  ])('deployment availability: %s', (_name, status, expected, reason) => {
    expect(deploymentAvailability({ metadata: {}, status }, 'd')).toMatchObject({ status: expected, reason });
  });
});

describe('ApiServerSource through the controller loop (4.2)', () => {
  beforeAll(() =>
    configureSources({ apiServerUrl: 'https://10.96.0.1:443', apiServerSourceImage: 'example/eventing:1' }),
  );

  const source = (extra: Record<string, unknown> = {}): Resource =>
    setDefaultsApiServerSource({
      apiVersion: 'sources.knative.dev/v1',
      kind: 'ApiServerSource',
      metadata: { name: 'cm-events', namespace: 'ns' },
      spec: {
        resources: [
          { apiVersion: 'v1', kind: 'ConfigMap', selector: { matchLabels: { watched: 'yes' } } },
          { apiVersion: 'apps/v1', kind: 'Deployment' },
        ],
        sink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'display' } },
        ...extra,
      },
    } as never) as Resource;

  it('wants one adapter Deployment configured through K_SOURCE_CONFIG; Deployed follows it', async () => {
    const store = new MemoryResourceStore();
    const controller = running(store);
    const created = store.apply(
      source({ mode: 'Resource', owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet' } }),
    );
    await controller.idle();
    const name = apiServerAdapterName(created);
    expect(name).toBe(`apiserversource-cm-events-${created.metadata.uid}`);
    const deployment = store.get('apps', 'Deployment', 'ns', name);
    expect(deployment?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'ApiServerSource', uid: created.metadata.uid, controller: true }),
    ]);
    const podSpec = podSpecOf(deployment!, 'Deployment');
    expect(podSpec?.['serviceAccountName']).toBe('default');
    const container = podSpec?.containers?.[0];
    expect(container?.['image']).toBe('example/eventing:1');
    const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env['K_SINK']).toBe('http://display.ns.local/');
    expect(env['NAME']).toBe('cm-events');
    expect(env['NAMESPACE']).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(parseApiServerAdapterConfig(env['K_SOURCE_CONFIG'] as string)).toEqual({
      namespaces: ['ns'],
      allNamespaces: false,
      resources: [
        {
          gvr: { Group: '', Version: 'v1', Resource: 'configmaps' },
          kind: 'ConfigMap',
          selector: 'watched=yes',
        },
        { gvr: { Group: 'apps', Version: 'v1', Resource: 'deployments' }, kind: 'Deployment' },
      ],
      owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
      mode: 'Resource',
    });

    let stored = store.get('sources.knative.dev', 'ApiServerSource', 'ns', 'cm-events');
    expect(cond(stored, 'SinkProvided')?.status).toBe('True');
    expect(cond(stored, 'Deployed')).toMatchObject({ status: 'Unknown', reason: 'DeploymentUnavailable' });
    expect(stored?.status).toMatchObject({
      sinkUri: 'http://display.ns.local/',
      namespaces: ['ns'],
      ceAttributes: [
        { type: 'dev.knative.apiserver.resource.add', source: 'https://10.96.0.1:443' },
        { type: 'dev.knative.apiserver.resource.delete', source: 'https://10.96.0.1:443' },
        { type: 'dev.knative.apiserver.resource.update', source: 'https://10.96.0.1:443' },
      ],
    });

    await store.updateStatus(deployment!, available('True'));
    await controller.idle();
    stored = store.get('sources.knative.dev', 'ApiServerSource', 'ns', 'cm-events');
    expect(cond(stored, 'Deployed')?.status).toBe('True');
    expect(cond(stored, 'Ready')?.status).toBe('True');

    await store.updateStatus(
      store.get('apps', 'Deployment', 'ns', name)!,
      available('False', 'ProgressDeadlineExceeded'),
    );
    await controller.idle();
    stored = store.get('sources.knative.dev', 'ApiServerSource', 'ns', 'cm-events');
    expect(cond(stored, 'Ready')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    await controller.stop();
  });

  it('a sink that does not resolve is reported and leaves the adapter alone; removing the source removes it', async () => {
    const store = new MemoryResourceStore();
    const controller = running(store);
    const created = store.apply(source());
    await controller.idle();
    const name = apiServerAdapterName(created);
    expect(store.get('apps', 'Deployment', 'ns', name)).toBeDefined();
    store.apply(source({ sink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'nowhere' } } }));
    await controller.idle();
    const stored = store.get('sources.knative.dev', 'ApiServerSource', 'ns', 'cm-events');
    expect(cond(stored, 'SinkProvided')).toMatchObject({ status: 'False', reason: 'NotFound' });
    expect(cond(stored, 'Ready')?.status).toBe('False');
    expect(store.get('apps', 'Deployment', 'ns', name)).toBeDefined();
    store.remove('sources.knative.dev', 'ApiServerSource', 'ns', 'cm-events');
    await controller.idle();
    expect(store.get('apps', 'Deployment', 'ns', name)).toBeUndefined();
    await controller.stop();
  });

  it('a namespace selector watches the namespaces it selects; an empty one every namespace', async () => {
    const store = new MemoryResourceStore();
    for (const [name, team] of [
      ['a', 'red'],
      ['b', 'blue'],
      ['c', 'red'],
    ] as const)
      store.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { team } } });
    const controller = running(store);
    store.apply(source({ namespaceSelector: { matchLabels: { team: 'red' } } }));
    await controller.idle();
    let stored = store.get('sources.knative.dev', 'ApiServerSource', 'ns', 'cm-events');
    expect((stored?.status as { namespaces?: string[] }).namespaces).toEqual(['a', 'c']);
    // A namespace labelled later is picked up: namespaces read are tracked.
    store.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b', labels: { team: 'red' } } });
    await controller.idle();
    stored = store.get('sources.knative.dev', 'ApiServerSource', 'ns', 'cm-events');
    expect((stored?.status as { namespaces?: string[] }).namespaces).toEqual(['a', 'b', 'c']);
    store.apply(source({ namespaceSelector: {} }));
    await controller.idle();
    const deployment = store.list('Deployment', 'apps')[0];
    const env = podSpecOf(deployment!, 'Deployment')?.containers?.[0]?.env ?? [];
    const config = parseApiServerAdapterConfig(env.find((e) => e.name === 'K_SOURCE_CONFIG')?.value);
    expect(config.allNamespaces).toBe(true);
    await controller.stop();
  });
});

describe('ContainerSource and SinkBinding through the controller loop (4.3, 4.4)', () => {
  const containerSource = (ceOverrides?: object): Resource =>
    setDefaultsContainerSource({
      apiVersion: 'sources.knative.dev/v1',
      kind: 'ContainerSource',
      metadata: { name: 'heartbeats', namespace: 'ns' },
      spec: {
        template: {
          metadata: { labels: { app: 'beats' } },
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
        sink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'display' } },
        ...(ceOverrides ? { ceOverrides } : {}),
      },
    } as never) as Resource;

  it('owns <name>-deployment with the sink environment and <name>-sinkbinding naming it; Ready once both are', async () => {
    const store = new MemoryResourceStore();
    const controller = running(store);
    store.apply(containerSource({ extensions: { team: 'infra' } }));
    await controller.idle();
    const deployment = store.get('apps', 'Deployment', 'ns', 'heartbeats-deployment');
    expect(deployment?.metadata.labels).toEqual({
      app: 'beats',
      'sources.knative.dev/source': 'container-source-controller',
      'sources.knative.dev/containerSource': 'heartbeats',
    });
    expect((deployment?.spec as { selector: unknown }).selector).toEqual({
      matchLabels: deployment?.metadata.labels,
    });
    const container = podSpecOf(deployment!, 'Deployment')?.containers?.[0];
    expect(container).toMatchObject({
      name: 'heartbeats-0',
      image: 'example/heartbeats',
      command: ['node', 'heartbeats.js'],
    });
    expect(container?.env).toEqual([
      { name: 'PERIOD', value: '1' },
      { name: 'K_SINK', value: 'http://display.ns.local/' },
      { name: 'K_CE_OVERRIDES', value: '{"extensions":{"team":"infra"}}' },
    ]);
    const binding = store.get('sources.knative.dev', 'SinkBinding', 'ns', 'heartbeats-sinkbinding');
    expect(binding?.spec).toEqual({
      sink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'display', namespace: 'ns' } },
      ceOverrides: { extensions: { team: 'infra' } },
      subject: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', name: 'heartbeats-deployment' },
    });
    // The binding's sink is resolved by its own reconciler; whether it is applied is the binder's to say.
    expect(binding?.status).toMatchObject({ sinkUri: 'http://display.ns.local/' });
    expect(cond(binding, 'SinkProvided')?.status).toBe('True');
    expect(cond(binding, 'SinkBindingAvailable')?.status).toBe('Unknown');
    let source = store.get('sources.knative.dev', 'ContainerSource', 'ns', 'heartbeats');
    expect(source?.status).toMatchObject({ sinkUri: 'http://display.ns.local/' });
    expect(cond(source, 'SinkBindingReady')?.status).toBe('Unknown');
    expect(cond(source, 'ReceiveAdapterReady')).toMatchObject({
      status: 'Unknown',
      reason: 'DeploymentUnavailable',
    });

    // The binder marks the binding available; the supervisor (or a kubelet) makes the Deployment available.
    const set = SinkBindingConditionSet;
    const b = store.get('sources.knative.dev', 'SinkBinding', 'ns', 'heartbeats-sinkbinding')!;
    const bStatus = b.status as { conditions: Condition[] };
    await store.updateStatus(b, {
      ...bStatus,
      conditions: set.markTrue(bStatus.conditions, 'SinkBindingAvailable'),
    });
    await store.updateStatus(deployment!, available('True'));
    await controller.idle();
    source = store.get('sources.knative.dev', 'ContainerSource', 'ns', 'heartbeats');
    expect(
      cond(store.get('sources.knative.dev', 'SinkBinding', 'ns', 'heartbeats-sinkbinding'), 'Ready')?.status,
    ).toBe('True');
    expect(cond(source, 'Ready')?.status).toBe('True');

    // A new sink reaches the Deployment's environment.
    store.apply({
      ...containerSource(),
      spec: { ...(containerSource().spec as object), sink: { uri: 'http://elsewhere.example/' } },
    });
    await controller.idle();
    const env = podSpecOf(store.get('apps', 'Deployment', 'ns', 'heartbeats-deployment')!, 'Deployment')
      ?.containers?.[0]?.env;
    expect(env).toContainEqual({ name: 'K_SINK', value: 'http://elsewhere.example/' });
    expect(env).toContainEqual({ name: 'K_CE_OVERRIDES' });
    store.remove('sources.knative.dev', 'ContainerSource', 'ns', 'heartbeats');
    await controller.idle();
    expect(store.list('Deployment', 'apps')).toEqual([]);
    expect(store.list('SinkBinding', 'sources.knative.dev')).toEqual([]);
    await controller.stop();
  });

  it('a SinkBinding whose sink does not resolve says why', async () => {
    const store = new MemoryResourceStore();
    const controller = running(store);
    store.apply(
      setDefaultsSinkBinding({
        apiVersion: 'sources.knative.dev/v1',
        kind: 'SinkBinding',
        metadata: { name: 'bind', namespace: 'ns' },
        spec: {
          subject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' },
          sink: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'missing' } },
        },
      } as never) as Resource,
    );
    await controller.idle();
    const stored = store.get('sources.knative.dev', 'SinkBinding', 'ns', 'bind');
    expect(cond(stored, 'SinkProvided')).toMatchObject({ status: 'False', reason: 'NoAddressable' });
    expect(cond(stored, 'SinkProvided')?.message).toMatch(/Broker ns\/missing .* not found/);
    expect((stored?.status as { sinkUri?: string }).sinkUri).toBeUndefined();
    await controller.stop();
  });
});
