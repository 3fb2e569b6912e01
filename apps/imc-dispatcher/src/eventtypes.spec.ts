import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApps, ce, spawnApp, startSubscriber, waitReady, writeContract } from '@eventing/testing';

// EventType auto-creation from a channel (CONFORMANCE eventtype-auto-create): the bundled process,
// EVENTTYPE_REGISTRY_URL pointing at a local HTTP server standing for the controller.
jest.setTimeout(60_000);

describe('imc-dispatcher: accepted event types are reported to the registry', () => {
  beforeAll(() => buildApps('imc-dispatcher'));

  it('POSTs a new type of a channel once, however many events carry it', async () => {
    const registry = await startSubscriber(() => ({
      status: 202,
      body: '{"enabled":true,"created":[]}',
      headers: { 'content-type': 'application/json' },
    }));
    const dir = mkdtempSync(join(tmpdir(), 'imc-et-'));
    const path = join(dir, 'contract.json');
    writeContract(path, {
      generation: 1,
      channels: [{ uid: 'c-uid', namespace: 'ns', name: 'orders' }],
      subscriptions: [],
    });
    const proc = await spawnApp('imc-dispatcher', {
      CONTRACT_PATH: path,
      EVENTTYPE_REGISTRY_URL: `${registry.url}/eventtypes/observed`,
    });
    try {
      await waitReady(proc.url);
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${proc.url}/ns/orders`, {
          method: 'POST',
          headers: ce(`e${i}`, 'order.created'),
        });
        expect(res.status).toBe(202);
      }
      const [first] = await registry.waitFor(1);
      expect(first!.url).toBe('/eventtypes/observed');
      const items = JSON.parse(first!.body.toString()).items;
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({
        reference: {
          apiVersion: 'messaging.knative.dev/v1',
          kind: 'InMemoryChannel',
          namespace: 'ns',
          name: 'orders',
        },
        referenceUid: 'c-uid',
        type: 'order.created',
      });
      // Another type: the next report carries only it (order.created is not sent again).
      await fetch(`${proc.url}/ns/orders`, { method: 'POST', headers: ce('s1', 'order.shipped') });
      await fetch(`${proc.url}/ns/orders`, { method: 'POST', headers: ce('e9', 'order.created') });
      const second = (await registry.waitFor(2))[1]!;
      expect(JSON.parse(second.body.toString()).items.map((t: { type: string }) => t.type)).toEqual([
        'order.shipped',
      ]);
      expect(registry.requests).toHaveLength(2);
    } finally {
      proc.kill('SIGKILL');
      await registry.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
