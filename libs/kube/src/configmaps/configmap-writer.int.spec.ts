import { KubeConfig } from '@kubernetes/client-node';
import { withKube } from '@eventing/testing';
import { KubeClient } from '../client/kube-client';
import { ConfigMapWriter, SPLIT_OF_LABEL } from './configmap-writer';
import { type ConfigMapData, reassembleConfigMaps } from './split';

// The ConfigMap writer against a real kube-apiserver: create, update with the resourceVersion read,
// retry after a concurrent change, and documents split over several ConfigMaps (under the API server's
// real 1 MiB limit) that read back whole, with the parts of a longer earlier version removed.

const TEST_TIMEOUT = 60_000;

interface ConfigMapJson {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion: string };
  data?: ConfigMapData;
}

describe('ConfigMapWriter', () => {
  const kube = withKube();
  let config: KubeConfig;
  const clients: KubeClient[] = [];

  beforeAll(() => {
    config = new KubeConfig();
    config.loadFromFile(kube.kubeconfig);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  function writer(namespace: string): { writer: ConfigMapWriter; client: KubeClient } {
    const client = new KubeClient(config);
    clients.push(client);
    return {
      writer: new ConfigMapWriter(client, { namespace, labels: { 'app.kubernetes.io/part-of': 'eventing' } }),
      client,
    };
  }

  async function read(namespace: string, name: string): Promise<ConfigMapJson> {
    const { stdout } = await kube.kubectl(['-n', namespace, 'get', 'configmap', name, '-o', 'json']);
    return JSON.parse(stdout) as ConfigMapJson;
  }

  async function parts(namespace: string, of: string): Promise<ConfigMapJson[]> {
    const { stdout } = await kube.kubectl([
      '-n',
      namespace,
      'get',
      'configmaps',
      '-l',
      `${SPLIT_OF_LABEL}=${of}`,
      '-o',
      'json',
    ]);
    return (JSON.parse(stdout) as { items: ConfigMapJson[] }).items;
  }

  it(
    'creates, updates with the resourceVersion read, skips what is unchanged, and retries after a concurrent change',
    async () => {
      await kube.kubectl(['create', 'namespace', 'writer']);
      const { writer: w, client } = writer('writer');
      await w.write([
        { name: 'one', data: { a: '1' } },
        { name: 'two', data: { b: '2' } },
      ]);
      expect((await read('writer', 'one')).data).toEqual({ a: '1' });
      expect((await read('writer', 'two')).metadata.labels).toEqual({
        'app.kubernetes.io/part-of': 'eventing',
      });

      const writes = client.requests.write;
      await w.write([{ name: 'one', data: { a: '1' } }]);
      expect(client.requests.write).toBe(writes);

      // Someone else changes it (and adds a label): the writer's copy is stale, the update conflicts,
      // it reads again and writes over the data but keeps the label.
      await kube.kubectl(['-n', 'writer', 'label', 'configmap', 'one', 'team=x']);
      await w.write([{ name: 'one', data: { a: '2' } }]);
      const one = await read('writer', 'one');
      expect(one.data).toEqual({ a: '2' });
      expect(one.metadata.labels).toEqual({ 'app.kubernetes.io/part-of': 'eventing', team: 'x' });
      expect(client.requests.write - writes).toBe(2); // the PUT that conflicted, then the one that worked

      // Deleted behind its back: created again.
      await kube.kubectl(['-n', 'writer', 'delete', 'configmap', 'two']);
      await w.write([{ name: 'two', data: { b: '3' } }]);
      expect((await read('writer', 'two')).data).toEqual({ b: '3' });
    },
    TEST_TIMEOUT,
  );

  it(
    'writes a document over several ConfigMaps that read back whole, and removes the parts it no longer needs',
    async () => {
      await kube.kubectl(['create', 'namespace', 'split']);
      const { writer: w } = writer('split');
      // 2.7 MB of JSON: more than twice what one ConfigMap may hold.
      const big = JSON.stringify({
        items: Array.from({ length: 90_000 }, (_, i) => ({ id: `item-${i}`, n: i })),
      });
      expect(await w.writeSplit('contract', big)).toEqual(['contract', 'contract-1', 'contract-2']);
      let stored = await parts('split', 'contract');
      expect(stored.map((p) => p.metadata.name).sort()).toEqual(['contract', 'contract-1', 'contract-2']);
      expect(reassembleConfigMaps(stored.map((p) => p.data ?? {}))).toBe(big);

      const small = JSON.stringify({ items: [] });
      expect(await w.writeSplit('contract', small)).toEqual(['contract']);
      stored = await parts('split', 'contract');
      expect(stored.map((p) => p.metadata.name)).toEqual(['contract']);
      expect(reassembleConfigMaps(stored.map((p) => p.data ?? {}))).toBe(small);

      // A writer that just started (nothing remembered) finds the parts of the last version by label.
      await w.writeSplit('contract', big);
      const { writer: fresh } = writer('split');
      expect(await fresh.writeSplit('contract', small)).toEqual(['contract']);
      expect((await parts('split', 'contract')).map((p) => p.metadata.name)).toEqual(['contract']);
    },
    TEST_TIMEOUT,
  );
});
