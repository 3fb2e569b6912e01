import type { ApiServerAdapterConfig } from '@eventing/api';
import { SourceClient } from '@eventing/source-runtime';
import { startSubscriber, type TestSubscriber } from '@eventing/testing';
import { ApiServerAdapter } from './adapter';
import { discoverTargets } from './discovery';
import { apiServerEvent, apiServerSubject, passesOwnerFilter, type KubeObjectLike } from './events';
import { ListWatchFeed, StoreFeed, type WatchLoopEvent, type WatchableStore, type WatchTarget } from './feed';

const configMap = (
  name: string,
  data: Record<string, string>,
  labels?: Record<string, string>,
): KubeObjectLike => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: '7', ...(labels ? { labels } : {}) },
  data,
});

describe('ApiServerSource events (4.2)', () => {
  it.each<[string, string, string, string, string]>([
    ['core group', 'v1', 'ConfigMap', 'ns', '/apis/v1/namespaces/ns/configmaps/x'],
    ['a group', 'apps/v1', 'Deployment', 'ns', '/apis/apps/v1/namespaces/ns/deployments/x'],
    [
      'a kind ending in s',
      'networking.k8s.io/v1',
      'Ingress',
      'ns',
      '/apis/networking.k8s.io/v1/namespaces/ns/ingresses/x',
    ],
    ['a kind ending in y', 'example.com/v1', 'Policy', 'ns', '/apis/example.com/v1/namespaces/ns/policies/x'],
    [
      'a group without a version',
      'example.com',
      'Thing',
      'ns',
      '/apis/example.com/versionUnknown/namespaces/ns/things/x',
    ],
    ['cluster-scoped', 'v1', 'Namespace', '', '/apis/v1/namespaces//namespaces/x'],
  ])('subject of %s', (_name, apiVersion, kind, namespace, expected) => {
    expect(apiServerSubject(apiVersion, kind, namespace, 'x')).toBe(expected);
  });

  it('Reference mode: ref types, the object reference as JSON data, the object named in extensions', () => {
    const event = apiServerEvent(
      'update',
      configMap('settings', { a: '1' }),
      'Reference',
      'https://10.0.0.1:443',
    );
    expect(event.attributes).toEqual({
      specversion: '1.0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      time: expect.any(String),
      type: 'dev.knative.apiserver.ref.update',
      source: 'https://10.0.0.1:443',
      subject: '/apis/v1/namespaces/ns/configmaps/settings',
      datacontenttype: 'application/json',
      kind: 'ConfigMap',
      apiversion: 'v1',
      name: 'settings',
      namespace: 'ns',
    });
    expect(event.data?.toString()).toBe(
      '{"kind":"ConfigMap","namespace":"ns","name":"settings","apiVersion":"v1"}',
    );
  });

  it('Resource mode: resource types, the whole object with its keys sorted', () => {
    const event = apiServerEvent(
      'delete',
      configMap('settings', { b: '2', a: '1' }),
      'Resource',
      'https://k',
    );
    expect(event.attributes['type']).toBe('dev.knative.apiserver.resource.delete');
    expect(event.data?.toString()).toBe(
      '{"apiVersion":"v1","data":{"a":"1","b":"2"},"kind":"ConfigMap","metadata":{"name":"settings","namespace":"ns","resourceVersion":"7"}}',
    );
  });

  it.each<[string, KubeObjectLike['metadata'], ApiServerAdapterConfig['owner'], boolean]>([
    ['no filter', {}, undefined, true],
    [
      'no controller',
      { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet' }] },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
      false,
    ],
    [
      'controller matches',
      { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', controller: true }] },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
      true,
    ],
    [
      'other kind',
      { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', controller: true }] },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
      false,
    ],
    [
      'kind only',
      { ownerReferences: [{ apiVersion: 'apps/v2', kind: 'ReplicaSet', controller: true }] },
      { apiVersion: '', kind: 'ReplicaSet' },
      true,
    ],
  ])('owner filter: %s', (_name, metadata, owner, expected) => {
    expect(passesOwnerFilter({ metadata }, owner)).toBe(expected);
  });
});

/** A store of ConfigMaps that replays what it holds to a new watcher, as libs/reconciler's stores do. */
class ConfigMapStore implements WatchableStore {
  private readonly items = new Map<string, KubeObjectLike>();
  private readonly handlers = new Set<(e: { type: 'upsert' | 'delete'; resource: KubeObjectLike }) => void>();
  put(o: KubeObjectLike): void {
    this.items.set(o.metadata?.name ?? '', o);
    for (const h of this.handlers) h({ type: 'upsert', resource: o });
  }
  remove(name: string): void {
    const o = this.items.get(name);
    this.items.delete(name);
    if (o) for (const h of this.handlers) h({ type: 'delete', resource: o });
  }
  watch(
    kind: string,
    group: string,
    handler: (e: { type: 'upsert' | 'delete'; resource: KubeObjectLike }) => void,
  ) {
    if (kind !== 'ConfigMap' || group !== '') return () => undefined;
    for (const o of this.items.values()) handler({ type: 'upsert', resource: o });
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
}

const config = (extra: Partial<ApiServerAdapterConfig> = {}): ApiServerAdapterConfig => ({
  namespaces: ['ns'],
  allNamespaces: false,
  resources: [
    { gvr: { Group: '', Version: 'v1', Resource: 'configmaps' }, kind: 'ConfigMap', selector: 'watched=yes' },
  ],
  mode: 'Reference',
  ...extra,
});

describe('ApiServerAdapter to a real subscriber', () => {
  let subscriber: TestSubscriber;
  let client: SourceClient;
  beforeEach(async () => {
    subscriber = await startSubscriber();
    client = new SourceClient({ resourceGroup: 'apiserversources.sources.knative.dev' });
  });
  afterEach(async () => {
    await client.close();
    await subscriber.close();
  });

  it('sends add, update and delete of what changes after the first list, and nothing for what was there', async () => {
    const store = new ConfigMapStore();
    store.put(configMap('old', { a: '1' }, { watched: 'yes' }));
    const adapter = new ApiServerAdapter({
      config: config(),
      sink: client.sink({
        namespace: 'ns',
        name: 'cm',
        uri: subscriber.url,
        ceOverrides: { extensions: { team: 'a' } },
      }),
      source: 'https://api.example:6443',
      feed: new StoreFeed(store, config()),
    });
    await adapter.start();
    store.put(configMap('new', { a: '1' }, { watched: 'yes' }));
    store.put(configMap('ignored', { a: '1' }));
    store.put(configMap('old', { a: '2' }, { watched: 'yes' }));
    store.put(configMap('new', { a: '2' }, { watched: 'no' }));
    store.remove('old');
    const requests = await subscriber.waitFor(4);
    await adapter.idle();
    expect(requests.map((r) => [r.headers['ce-type'], r.headers['ce-name'], r.headers['ce-team']])).toEqual([
      ['dev.knative.apiserver.ref.add', 'new', 'a'],
      ['dev.knative.apiserver.ref.update', 'old', 'a'],
      // Labels that no longer match take the object out of the selection, as a selector watch does.
      ['dev.knative.apiserver.ref.delete', 'new', 'a'],
      ['dev.knative.apiserver.ref.delete', 'old', 'a'],
    ]);
    expect(requests[0]?.headers['ce-source']).toBe('https://api.example:6443');
    expect(adapter.stats).toEqual({ sent: 4, failed: 0, filtered: 0, dropped: 0 });
    await adapter.stop();
  });

  it('filters (new-apiserversource-filters) and failed sends are counted, and the next change goes on', async () => {
    await subscriber.close();
    let calls = 0;
    subscriber = await startSubscriber(() => ({ status: calls++ === 0 ? 400 : 202 }));
    const store = new ConfigMapStore();
    const cfg = config({
      filters: [{ exact: { name: 'keep' } }],
      resources: [{ gvr: { Group: '', Version: 'v1', Resource: 'configmaps' }, kind: 'ConfigMap' }],
    });
    const adapter = new ApiServerAdapter({
      config: cfg,
      sink: client.sink({ namespace: 'ns', name: 'cm', uri: subscriber.url }),
      source: 'https://k',
      feed: new StoreFeed(store, cfg),
    });
    await adapter.start();
    store.put(configMap('keep', {}));
    store.put(configMap('drop', {}));
    store.put(configMap('keep', { x: 'y' }));
    await subscriber.waitFor(2);
    await adapter.idle();
    expect(adapter.stats).toEqual({ sent: 1, failed: 1, filtered: 1, dropped: 0 });
    await adapter.stop();
  });

  it('a list-watch feed reports nothing of its first list, then adds, updates and deletes (a relist difference comes the same way)', async () => {
    const emitters: ((e: WatchLoopEvent) => void)[] = [];
    let synced!: () => void;
    const feed = new ListWatchFeed(
      [
        {
          group: '',
          version: 'v1',
          kind: 'ConfigMap',
          plural: 'configmaps',
          namespaced: true,
          namespace: 'ns',
        },
      ],
      (_target: WatchTarget, onEvent) => {
        emitters.push(onEvent);
        return {
          start: () => undefined,
          stop: () => Promise.resolve(),
          synced: () => new Promise<void>((r) => (synced = r)),
        };
      },
    );
    const changes: string[] = [];
    const started = feed.start((c) => changes.push(`${c.type} ${c.object.metadata?.name}`));
    const emit = emitters[0]!;
    emit({ type: 'upsert', object: configMap('a', {}) });
    emit({ type: 'upsert', object: configMap('b', {}) });
    synced();
    await started;
    emit({ type: 'upsert', object: configMap('a', { x: '1' }) });
    emit({ type: 'upsert', object: configMap('c', {}) });
    emit({ type: 'delete', object: configMap('b', {}) });
    emit({ type: 'delete', object: configMap('never-seen', {}) });
    expect(changes).toEqual(['update a', 'add c', 'delete b']);
  });
});

describe('discovery', () => {
  const get = (path: string) =>
    Promise.resolve(
      path === '/api/v1'
        ? {
            status: 200,
            body: {
              resources: [
                { name: 'configmaps', namespaced: true, kind: 'ConfigMap' },
                { name: 'namespaces', namespaced: false, kind: 'Namespace' },
              ],
            },
          }
        : { status: 404, body: {} },
    );

  it('one target per namespace for namespaced kinds, one for cluster-scoped ones; says what is not served', async () => {
    const found = await discoverTargets(
      config({
        namespaces: ['a', 'b'],
        resources: [
          { gvr: { Group: '', Version: 'v1', Resource: 'configmaps' }, kind: 'ConfigMap', selector: 'x=y' },
          { gvr: { Group: '', Version: 'v1', Resource: 'namespaces' }, kind: 'Namespace' },
          { gvr: { Group: 'example.com', Version: 'v1', Resource: 'things' }, kind: 'Thing' },
        ],
      }),
      get,
    );
    expect(found.targets).toEqual([
      {
        group: '',
        version: 'v1',
        kind: 'ConfigMap',
        plural: 'configmaps',
        namespaced: true,
        namespace: 'a',
        labelSelector: 'x=y',
      },
      {
        group: '',
        version: 'v1',
        kind: 'ConfigMap',
        plural: 'configmaps',
        namespaced: true,
        namespace: 'b',
        labelSelector: 'x=y',
      },
      { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
    ]);
    expect(found.missing).toEqual(['things.example.com/v1: /apis/example.com/v1 answered 404']);
  });
});
