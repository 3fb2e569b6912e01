import { KubeConfig } from '@kubernetes/client-node';
import { eventually, type KubeServer, startKube } from '@eventing/testing';
import { connect } from 'node:net';
import { request } from 'undici';
import { KubeClient } from '../client/kube-client';
import { ConfigMapKind } from '../client/kinds';
import { until } from '../testing/until';
import { FreezableProxy, kubeconfigVia } from '../testing/freezable-proxy';
import { ListWatch, type ListWatchEvent } from './list-watch';

// The list-then-watch loop against a real etcd + kube-apiserver: paging, watch events, an API server
// restart that cuts the watch (the cache catches up with changes made meanwhile, by a relist after 410
// Gone), and a watch that goes silent without closing (the watchdog opens a new one).

const START_TIMEOUT = 900_000;
const TEST_TIMEOUT = 90_000;

function configMap(
  namespace: string,
  name: string,
  value: string,
  labels: Record<string, string> = {},
): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels },
    data: { value },
  });
}

/** Whether something accepts TCP connections on the loopback port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** Records what a ListWatch emitted. */
function recorder() {
  const events: string[] = [];
  const onEvent = (e: ListWatchEvent) =>
    events.push(
      `${e.type} ${e.object.metadata.name}=${(e.object['data'] as { value?: string } | undefined)?.value}`,
    );
  return { events, onEvent };
}

/** The cache's content as `name=value`, sorted. */
function contentOf(lw: ListWatch): string[] {
  return [...lw.values()]
    .map((o) => `${o.metadata.name}=${(o['data'] as { value?: string } | undefined)?.value}`)
    .sort();
}

describe('ListWatch', () => {
  let kube: KubeServer;
  let config: KubeConfig;
  const loops: ListWatch[] = [];
  const clients: KubeClient[] = [];

  beforeAll(async () => {
    kube = await startKube();
    config = new KubeConfig();
    config.loadFromFile(kube.kubeconfig);
  }, START_TIMEOUT);
  afterEach(async () => {
    await Promise.all(loops.splice(0).map((l) => l.stop()));
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(() => kube?.stop(), 60_000);

  function start(
    namespace: string,
    onEvent: (e: ListWatchEvent) => void,
    options = {},
    kc = config,
  ): ListWatch {
    const client = new KubeClient(kc);
    clients.push(client);
    const lw = new ListWatch(client, { ...ConfigMapKind, namespace }, onEvent, {
      backoffInitialMs: 100,
      backoffMaxMs: 1_000,
      ...options,
    }).start();
    loops.push(lw);
    return lw;
  }

  it(
    'lists in pages, then follows creations, changes and deletions',
    async () => {
      await kube.kubectl(['create', 'namespace', 'paged']);
      const seven = [1, 2, 3, 4, 5, 6, 7].map((i) => configMap('paged', `cm-${i}`, `v${i}`, { app: 'x' }));
      await kube.kubectl(['apply', '-f', '-'], { input: seven.join('\n') });
      await kube.kubectl(['-n', 'paged', 'create', 'configmap', 'other', '--from-literal=value=o']);

      const { events, onEvent } = recorder();
      const client = new KubeClient(config);
      clients.push(client);
      const lw = new ListWatch(
        client,
        { ...ConfigMapKind, namespace: 'paged', labelSelector: 'app=x' },
        onEvent,
        {
          pageSize: 3,
        },
      ).start();
      loops.push(lw);
      await lw.synced();
      // 7 objects in pages of 3: three list requests, one complete list.
      expect(client.requests.list).toBe(3);
      expect(lw.stats.lists).toBe(1);
      expect(contentOf(lw)).toEqual([
        'cm-1=v1',
        'cm-2=v2',
        'cm-3=v3',
        'cm-4=v4',
        'cm-5=v5',
        'cm-6=v6',
        'cm-7=v7',
      ]);
      expect(events).toHaveLength(7);
      const listed = lw.get('paged', 'cm-1')!;
      expect(listed.apiVersion).toBe('v1');
      expect(listed.kind).toBe('ConfigMap');

      events.length = 0;
      await kube.kubectl(['apply', '-f', '-'], { input: configMap('paged', 'cm-8', 'v8', { app: 'x' }) });
      await kube.kubectl(['-n', 'paged', 'patch', 'configmap', 'cm-2', '-p', '{"data":{"value":"changed"}}']);
      await kube.kubectl(['-n', 'paged', 'delete', 'configmap', 'cm-3']);
      // Outside the selector: never seen.
      await kube.kubectl(['-n', 'paged', 'patch', 'configmap', 'other', '-p', '{"data":{"value":"p"}}']);
      // Leaving the selector reads as a deletion.
      await kube.kubectl(['-n', 'paged', 'label', 'configmap', 'cm-4', 'app=y', '--overwrite']);
      await eventually(() => events.length >= 4, 10_000, 'four watch events');
      expect(events).toEqual(['upsert cm-8=v8', 'upsert cm-2=changed', 'delete cm-3=v3', 'delete cm-4=v4']);
      expect(contentOf(lw)).toEqual(['cm-1=v1', 'cm-2=changed', 'cm-5=v5', 'cm-6=v6', 'cm-7=v7', 'cm-8=v8']);
      expect(lw.stats).toMatchObject({ lists: 1, relists: 0, errors: 0, watchdogRestarts: 0 });
      expect(client.requests.watch).toBe(1);
    },
    TEST_TIMEOUT,
  );

  it(
    'catches up after an API server restart: changes made while it was down come out of a relist after 410 Gone',
    async () => {
      await kube.kubectl(['create', 'namespace', 'restart']);
      const names = ['keep', 'change', 'drop'];
      await kube.kubectl(['apply', '-f', '-'], {
        input: names.map((n) => configMap('restart', n, 'before')).join('\n'),
      });
      const { events, onEvent } = recorder();
      const lw = start('restart', onEvent);
      await lw.synced();
      expect(contentOf(lw)).toEqual(['change=before', 'drop=before', 'keep=before']);
      events.length = 0;

      // While kube-apiserver is down, 'drop' goes from etcd itself: no API server ever sends a watch
      // event for it, so only a relist can tell.
      const restarted = kube.restartApiServer({ downtimeMs: 1_500 });
      await until(async () => !(await accepts(kube.port)), 10_000, 'kube-apiserver to be down');
      const key = Buffer.from('/registry/configmaps/restart/drop').toString('base64');
      const deleted = await request(`${kube.etcd}/v3/kv/deleterange`, {
        method: 'POST',
        body: JSON.stringify({ key }),
      });
      expect(await deleted.body.json()).toMatchObject({ deleted: '1' });
      await restarted;
      await kube.kubectl([
        '-n',
        'restart',
        'patch',
        'configmap',
        'change',
        '-p',
        '{"data":{"value":"after"}}',
      ]);
      await kube.kubectl(['apply', '-f', '-'], { input: configMap('restart', 'new', 'after') });

      await eventually(
        () => contentOf(lw).join(',') === 'change=after,keep=before,new=after',
        30_000,
        `the cache to catch up (has ${contentOf(lw).join(',')})`,
      );
      expect(events).toContain('delete drop=before');
      expect(events).toContain('upsert change=after');
      expect(events).toContain('upsert new=after');
      expect(events).not.toContain('upsert keep=before');
      expect(lw.stats.errors).toBeGreaterThan(0);
      expect(lw.stats.gone).toBeGreaterThanOrEqual(1);
      expect(lw.stats.relists).toBeGreaterThanOrEqual(1);

      // And it keeps watching.
      events.length = 0;
      await kube.kubectl(['-n', 'restart', 'delete', 'configmap', 'keep']);
      await eventually(() => events.includes('delete keep=before'), 10_000, 'the deletion of keep');
    },
    TEST_TIMEOUT,
  );

  it(
    'opens a new watch when the open one goes silent without closing, and misses nothing',
    async () => {
      await kube.kubectl(['create', 'namespace', 'silent']);
      await kube.kubectl(['apply', '-f', '-'], { input: configMap('silent', 'a', '1') });
      const proxy = await FreezableProxy.start(kube.port);
      try {
        const { events, onEvent } = recorder();
        const lw = start(
          'silent',
          onEvent,
          { watchdogMs: 2_000 },
          kubeconfigVia(kube.kubeconfig, proxy.port),
        );
        await lw.synced();
        await eventually(() => proxy.connections > 0, 5_000, 'a connection through the proxy');
        // The watch's connection stays open but carries nothing more, as after a network partition.
        proxy.freezeOpenConnections();
        await kube.kubectl(['apply', '-f', '-'], { input: configMap('silent', 'b', '2') });
        await kube.kubectl(['-n', 'silent', 'patch', 'configmap', 'a', '-p', '{"data":{"value":"changed"}}']);
        await eventually(() => contentOf(lw).join(',') === 'a=changed,b=2', 15_000, 'the changes');
        expect(lw.stats.watchdogRestarts).toBeGreaterThanOrEqual(1);
        // The frozen connection was given up (over HTTP/2 the new watch would otherwise share it).
        expect(clients[0]!.connectionResets).toBeGreaterThanOrEqual(1);
        expect(proxy.connections).toBeGreaterThanOrEqual(2);
        expect(events).toEqual(expect.arrayContaining(['upsert b=2', 'upsert a=changed']));
      } finally {
        await proxy.close();
      }
    },
    TEST_TIMEOUT,
  );
});
