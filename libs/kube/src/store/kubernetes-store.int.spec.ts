import { KubeConfig } from '@kubernetes/client-node';
import type { Resource } from '@eventing/api';
import type { StoreEvent } from '@eventing/reconciler';
import { eventually, type KubeServer, startKube } from '@eventing/testing';
import { join } from 'node:path';
import { ConfigMapKind, knativeKinds, type KubeKind, ServiceKind, type WatchedKind } from '../client/kinds';
import { until } from '../testing/until';
import { KubernetesResourceStore } from './kubernetes-store';

// The Kubernetes ResourceStore against a real kube-apiserver (with kube-controller-manager for garbage
// collection) and the CRDs generated from libs/api: cached reads and watches, status writes through the
// status subresource with conflicts detected, owned children by server-side apply, deletes, finalizers
// that never clobber a concurrent change.

const START_TIMEOUT = 900_000;
const TEST_TIMEOUT = 90_000;
const EVENTING = 'eventing.knative.dev';
const MESSAGING = 'messaging.knative.dev';
const CRDS = join(__dirname, '../../../../charts/eventing/crds');

const TriggerKind = knativeKinds.find((k) => k.kind === 'Trigger')!;

function trigger(namespace: string, name: string, uri = 'http://example.com/'): object {
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name, namespace },
    spec: { broker: 'default', subscriber: { uri } },
  };
}

function readyStatus(generation: number, message = 'ok'): object {
  return {
    observedGeneration: generation,
    conditions: [{ type: 'Ready', status: 'True', message, lastTransitionTime: '2026-01-01T00:00:00Z' }],
  };
}

describe('KubernetesResourceStore', () => {
  let kube: KubeServer;
  let config: KubeConfig;
  const stores: KubernetesResourceStore[] = [];

  beforeAll(async () => {
    kube = await startKube({ controllerManager: true });
    config = new KubeConfig();
    config.loadFromFile(kube.kubeconfig);
    await kube.kubectl(['apply', '-f', CRDS]);
    await kube.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  }, START_TIMEOUT);
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.stop()));
  });
  afterAll(() => kube?.stop(), 60_000);

  function newStore(kinds: readonly WatchedKind[] = [...knativeKinds, ServiceKind, ConfigMapKind]) {
    const store = new KubernetesResourceStore(config, {
      kinds,
      listWatch: { backoffInitialMs: 100, backoffMaxMs: 1_000 },
    }).start();
    stores.push(store);
    return store;
  }

  async function apply(...objects: object[]): Promise<void> {
    await kube.kubectl(['apply', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n') });
  }

  async function serverCopy(kind: string, namespace: string, name: string): Promise<Resource> {
    const { stdout } = await kube.kubectl(['-n', namespace, 'get', kind, name, '-o', 'json']);
    return JSON.parse(stdout) as Resource;
  }

  it(
    'syncs every kind, serves list and get from the cache, and fans changes out to watchers',
    async () => {
      await kube.kubectl(['create', 'namespace', 'reads']);
      await apply(trigger('reads', 'b'), trigger('reads', 'a'));
      const store = newStore();
      await store.synced();
      expect(store.list('Trigger', EVENTING).map((t) => t.metadata.name)).toEqual(['a', 'b']);
      expect(store.list('Trigger').map((t) => t.metadata.name)).toEqual(['a', 'b']);
      const a = store.get(EVENTING, 'Trigger', 'reads', 'a')!;
      expect(a.apiVersion).toBe('eventing.knative.dev/v1');
      expect(a.spec).toEqual({ broker: 'default', subscriber: { uri: 'http://example.com/' } });
      expect(store.get(EVENTING, 'Trigger', 'reads', 'nope')).toBeUndefined();

      const seen: string[] = [];
      const unsubscribe = store.watch('Trigger', EVENTING, (e: StoreEvent) =>
        seen.push(`${e.type} ${e.resource.metadata.name}`),
      );
      expect(seen).toEqual(['upsert a', 'upsert b']);
      await apply(trigger('reads', 'c'));
      await kube.kubectl(['-n', 'reads', 'delete', 'trigger', 'a']);
      await eventually(() => seen.length === 4, 10_000, 'two more events');
      expect(seen.slice(2)).toEqual(['upsert c', 'delete a']);
      expect(store.list('Trigger', EVENTING).map((t) => t.metadata.name)).toEqual(['b', 'c']);
      unsubscribe();
      await kube.kubectl(['-n', 'reads', 'delete', 'trigger', 'b']);
      await eventually(() => store.list('Trigger', EVENTING).length === 1, 10_000, 'b gone');
      expect(seen).toHaveLength(4);
      // Reads never reach the API server.
      const lists = store.client.requests.list;
      for (let i = 0; i < 100; i++) {
        store.list('Trigger', EVENTING);
        store.get(EVENTING, 'Trigger', 'reads', 'c');
      }
      expect(store.client.requests).toMatchObject({ get: 0, list: lists });
      for (const l of store.loops())
        if (l.stats.watches > 1) console.log(l.target.plural, l.stats, l.lastError);
    },
    TEST_TIMEOUT,
  );

  it(
    'writes the status through the status subresource and nothing else',
    async () => {
      await kube.kubectl(['create', 'namespace', 'status']);
      await apply(trigger('status', 't'));
      const store = newStore();
      await store.synced();
      const cached = store.get(EVENTING, 'Trigger', 'status', 't')!;
      // A copy whose spec and labels were changed on the way: none of that may reach the server.
      const tampered = {
        ...cached,
        metadata: { ...cached.metadata, labels: { sneaky: 'yes' } },
        spec: { broker: 'other', subscriber: { uri: 'http://tampered/' } },
      };
      expect(await store.updateStatus(tampered, readyStatus(1))).toBe('ok');
      // The cache holds the written copy at once.
      expect(store.get(EVENTING, 'Trigger', 'status', 't')!.status).toEqual(readyStatus(1));
      const stored = await serverCopy('trigger', 'status', 't');
      expect(stored.status).toEqual(readyStatus(1));
      expect(stored.spec).toEqual({ broker: 'default', subscriber: { uri: 'http://example.com/' } });
      expect(stored.metadata.labels).toBeUndefined();
      expect(stored.metadata.generation).toBe(1);

      // The same status again: nothing to write, no request.
      const writes = store.client.requests.write;
      const current = store.get(EVENTING, 'Trigger', 'status', 't')!;
      expect(await store.updateStatus(current, readyStatus(1))).toBe('ok');
      expect(store.client.requests.write).toBe(writes);
    },
    TEST_TIMEOUT,
  );

  it(
    'refuses a status computed from a stale copy (conflict) or for a deleted resource (gone)',
    async () => {
      await kube.kubectl(['create', 'namespace', 'conflict']);
      await apply(trigger('conflict', 't'));
      const store = newStore();
      // A second store that does not cache this namespace: its writes are decided by the API server alone.
      const blind = newStore([{ ...TriggerKind, namespace: 'elsewhere' }]);
      await Promise.all([store.synced(), blind.synced()]);
      const stale = store.get(EVENTING, 'Trigger', 'conflict', 't')!;

      await kube.kubectl([
        '-n',
        'conflict',
        'patch',
        'trigger',
        't',
        '--type=merge',
        '-p',
        '{"spec":{"subscriber":{"uri":"http://new/"}}}',
      ]);
      await eventually(
        () => store.get(EVENTING, 'Trigger', 'conflict', 't')!.metadata.generation === 2,
        10_000,
        'the change in the cache',
      );
      // Known stale from the cache, without asking the server.
      const before = store.client.requests.write;
      expect(await store.updateStatus(stale, readyStatus(1))).toBe('conflict');
      expect(store.client.requests.write).toBe(before);
      // The API server says so too (409 on the stale resourceVersion).
      expect(await blind.updateStatus(stale, readyStatus(1))).toBe('conflict');
      expect(blind.client.requests.write).toBe(1);
      expect((await serverCopy('trigger', 'conflict', 't')).status).toBeUndefined();

      // From the newer copy it goes through.
      const fresh = store.get(EVENTING, 'Trigger', 'conflict', 't')!;
      expect(await blind.updateStatus(fresh, readyStatus(2))).toBe('ok');
      expect((await serverCopy('trigger', 'conflict', 't')).status).toEqual(readyStatus(2));

      await kube.kubectl(['-n', 'conflict', 'delete', 'trigger', 't']);
      expect(await blind.updateStatus(fresh, readyStatus(2))).toBe('gone');
    },
    TEST_TIMEOUT,
  );

  it(
    'applies owned children (server-side apply keeps what others set), deletes them, and the owner takes them along',
    async () => {
      await kube.kubectl(['create', 'namespace', 'children']);
      await apply({
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'InMemoryChannel',
        metadata: { name: 'owner', namespace: 'children' },
      });
      const store = newStore();
      await store.synced();
      const owner = await eventually(
        () => store.get(MESSAGING, 'InMemoryChannel', 'children', 'owner'),
        10_000,
      );
      const child = (uri: string): Resource => ({
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'Subscription',
        metadata: {
          name: 'child',
          namespace: 'children',
          labels: { 'eventing.knative.dev/owned': 'true' },
          ownerReferences: [
            {
              apiVersion: 'messaging.knative.dev/v1',
              kind: 'InMemoryChannel',
              name: 'owner',
              uid: owner.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', name: 'owner' },
          subscriber: { uri },
        },
      });
      const created = await store.applyChild(child('http://one/'));
      expect(created.metadata.uid).toBeDefined();
      expect(created.metadata.generation).toBe(1);
      await eventually(
        () => store.get(MESSAGING, 'Subscription', 'children', 'child'),
        10_000,
        'the child in the cache',
      );

      // Someone else labels it and the controller writes its status; a new apply changes only its own fields.
      await kube.kubectl(['-n', 'children', 'label', 'subscription', 'child', 'team=a']);
      const cached = await eventually(
        () => {
          const c = store.get(MESSAGING, 'Subscription', 'children', 'child');
          return c?.metadata.labels?.['team'] === 'a' && c;
        },
        10_000,
        'the label in the cache',
      );
      expect(await store.updateStatus(cached, readyStatus(1))).toBe('ok');
      const updated = await store.applyChild(child('http://two/'));
      expect(updated.metadata.generation).toBe(2);
      const stored = await serverCopy('subscription', 'children', 'child');
      expect((stored.spec as { subscriber: unknown }).subscriber).toEqual({ uri: 'http://two/' });
      expect(stored.metadata.labels).toEqual({ 'eventing.knative.dev/owned': 'true', team: 'a' });
      expect(stored.status).toEqual(readyStatus(1));

      // Delete: true when it was there, false after.
      await store.applyChild({
        ...child('http://three/'),
        metadata: { ...child('').metadata, name: 'second' },
      });
      expect(await store.delete(MESSAGING, 'Subscription', 'children', 'second')).toBe(true);
      expect(await store.delete(MESSAGING, 'Subscription', 'children', 'second')).toBe(false);

      // The garbage collector removes the child with its owner; the store hears of it.
      await kube.kubectl(['-n', 'children', 'delete', 'inmemorychannel', 'owner']);
      await eventually(
        () => store.get(MESSAGING, 'Subscription', 'children', 'child') === undefined,
        30_000,
        'the child to go with its owner',
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'sets and removes finalizers without clobbering a concurrent change',
    async () => {
      await kube.kubectl(['create', 'namespace', 'finalizers']);
      await apply(trigger('finalizers', 't'));
      const store = newStore();
      await store.synced();
      const finalizersOnServer = async () =>
        (await serverCopy('trigger', 'finalizers', 't')).metadata.finalizers ?? [];

      const initial = store.get(EVENTING, 'Trigger', 'finalizers', 't')!;
      expect(await store.setFinalizer(initial, 'ours.dev/cleanup', true)).toBe('ok');
      expect(await finalizersOnServer()).toEqual(['ours.dev/cleanup']);
      expect(store.get(EVENTING, 'Trigger', 'finalizers', 't')!.metadata.finalizers).toEqual([
        'ours.dev/cleanup',
      ]);
      // The copy from before, which had no finalizers: adding another from it would clobber ours.
      expect(await store.setFinalizer(initial, 'ours.dev/second', true)).toBe('conflict');
      expect(await finalizersOnServer()).toEqual(['ours.dev/cleanup']);

      const withOurs = store.get(EVENTING, 'Trigger', 'finalizers', 't')!;
      // Another writer adds its own finalizer meanwhile.
      await kube.kubectl([
        '-n',
        'finalizers',
        'patch',
        'trigger',
        't',
        '--type=json',
        '-p',
        '[{"op":"add","path":"/metadata/finalizers/-","value":"other.dev/x"}]',
      ]);
      expect(await store.setFinalizer(withOurs, 'ours.dev/cleanup', false)).toBe('conflict');
      expect(await finalizersOnServer()).toEqual(['ours.dev/cleanup', 'other.dev/x']);

      // A status write in between changes the resourceVersion but not the finalizers: no conflict.
      const fresh = await eventually(() => {
        const t = store.get(EVENTING, 'Trigger', 'finalizers', 't')!;
        return t.metadata.finalizers?.length === 2 && t;
      }, 10_000);
      expect(await store.updateStatus(fresh, readyStatus(1))).toBe('ok');
      expect(await store.setFinalizer(fresh, 'ours.dev/cleanup', false)).toBe('ok');
      expect(await finalizersOnServer()).toEqual(['other.dev/x']);

      // Deleted while a finalizer holds it; removing the last one lets it go.
      await kube.kubectl(['-n', 'finalizers', 'delete', 'trigger', 't', '--wait=false']);
      const terminating = await eventually(() => {
        const t = store.get(EVENTING, 'Trigger', 'finalizers', 't')!;
        return t.metadata.deletionTimestamp !== undefined && t;
      }, 10_000);
      expect(await store.setFinalizer(terminating, 'other.dev/x', false)).toBe('ok');
      await eventually(
        () => store.get(EVENTING, 'Trigger', 'finalizers', 't') === undefined,
        10_000,
        'deletion',
      );
      expect(await store.setFinalizer(terminating, 'ours.dev/late', true)).toBe('gone');

      // An invalid finalizer is the caller's error, named by the API server, not a conflict.
      await apply(trigger('finalizers', 'u'));
      const u = await eventually(() => store.get(EVENTING, 'Trigger', 'finalizers', 'u'), 10_000);
      await expect(store.setFinalizer(u, 'not a finalizer!', true)).rejects.toThrow(
        /422 Invalid.*finalizers/,
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'converges 1,000 Triggers with one status write each and counts the requests it made',
    async () => {
      await kube.kubectl(['create', 'namespace', 'many']);
      const names = Array.from({ length: 1000 }, (_, i) => `t-${String(i).padStart(4, '0')}`);
      const list = { apiVersion: 'v1', kind: 'List', items: names.map((n) => trigger('many', n)) };
      await kube.kubectl(['create', '-f', '-'], { input: JSON.stringify(list) });
      const store = newStore();
      await store.synced();
      const triggers = store.list('Trigger', EVENTING).filter((t) => t.metadata.namespace === 'many');
      expect(triggers).toHaveLength(1000);
      const lists = store.client.requests.list;
      // Triggers come in pages of 500 (the 1,000 and those of the other tests); one list per other kind.
      const pages = Math.ceil(store.list('Trigger', EVENTING).length / 500);
      expect(pages).toBe(3);
      expect(lists).toBe(store.loops().length - 1 + pages);

      const results = new Map<string, number>();
      const queue = [...triggers];
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
            const result = await store.updateStatus(t, readyStatus(1));
            results.set(result, (results.get(result) ?? 0) + 1);
          }
        }),
      );
      expect(Object.fromEntries(results)).toEqual({ ok: 1000 });
      await until(
        () =>
          store
            .list('Trigger', EVENTING)
            .every((t) => t.metadata.namespace !== 'many' || t.status !== undefined),
        30_000,
        'every status in the cache',
      );
      // Converged: a second pass finds nothing to write.
      for (const t of store.list('Trigger', EVENTING))
        if (t.metadata.namespace === 'many') expect(await store.updateStatus(t, readyStatus(1))).toBe('ok');
      const requests = { ...store.client.requests };
      // One watch per kind, and more only when the API server turned one away (429 while a new CRD's
      // storage initializes) or ended it.
      expect(requests).toMatchObject({ list: lists, get: 0, write: 1000 });
      expect(requests.watch).toBeGreaterThanOrEqual(store.loops().length);
      process.stdout.write(
        `1,000 Triggers: ${requests.list} list, ${requests.watch} watch, ${requests.write} write requests to converge (${store.loops().length} kinds)\n`,
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'is not synced while a kind is missing from the API server, says why, and syncs once it is there',
    async () => {
      const Widget: KubeKind = {
        group: 'example.dev',
        version: 'v1',
        kind: 'Widget',
        plural: 'widgets',
        namespaced: true,
      };
      const store = newStore([TriggerKind, Widget]);
      let synced = false;
      void store.synced().then(() => (synced = true));
      await store.loops()[0]!.synced();
      await until(() => store.unsynced().some((u) => u.error !== undefined), 10_000, 'an error for widgets');
      expect(synced).toBe(false);
      expect(store.unsynced()).toEqual([
        {
          kind: 'widgets.example.dev',
          error: 'widgets.example.dev/v1 is not served by the API server (is its CRD installed?)',
        },
      ]);
      await apply({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.dev' },
        spec: {
          group: 'example.dev',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          ],
        },
      });
      await until(() => synced, 30_000, 'the store to sync once the CRD is there');
      expect(store.unsynced()).toEqual([]);
    },
    TEST_TIMEOUT,
  );
});
