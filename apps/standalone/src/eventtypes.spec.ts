import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventType } from '@eventing/api';
import { eventually, sleep } from '@eventing/testing';
import { runStandalone } from './main';
import type { StandaloneOptions } from './options';

// EventType auto-creation (CONFORMANCE 2.16) in standalone: types of the events a broker and a
// channel accept become EventTypes in the in-process store, listed in the status output and at
// GET /eventtypes.

const FOLDER = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: shop
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: orders
  namespace: shop
`;

function features(autoCreate: 'enabled' | 'disabled'): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-features
  namespace: knative-eventing
data:
  eventtype-auto-create: ${autoCreate}
`;
}

interface EventTypeList {
  kind: string;
  items: EventType[];
}

describe('standalone EventType auto-creation (eventtype-auto-create)', () => {
  let dir: string;
  let lines: string[];
  let app: Awaited<ReturnType<typeof runStandalone>>;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eventtypes-'));
    writeFileSync(join(dir, 'resources.yaml'), FOLDER);
    writeFileSync(join(dir, 'features.yaml'), features('disabled'));
    lines = [];
    const options: StandaloneOptions = {
      configDir: dir,
      port: 0,
      host: '127.0.0.1',
      services: new Map(),
      maxBodyBytes: 64 * 1024,
      maxTtl: 255,
      maxInFlight: 100,
      maxInFlightTotal: 1000,
      queueCapacity: 10_000,
      logFormat: 'json',
      watch: true,
    };
    app = await runStandalone(options, (l) => lines.push(l));
    base = app.service.url;
  });

  afterAll(async () => {
    await app?.service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (path: string, type: string, source: string, id: string, extra: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': id,
        'ce-type': type,
        'ce-source': source,
        'content-type': 'text/plain',
        ...extra,
      },
      body: 'x',
    }).then((r) => r.status);

  const list = async (query = ''): Promise<EventType[]> => {
    const res = await fetch(`${base}/eventtypes${query}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as EventTypeList;
    expect(body.kind).toBe('EventTypeList');
    return body.items;
  };

  it('with the flag off (the default), traffic creates no EventType', async () => {
    expect(await send('/shop/default', 'com.example.off', '/off', 'o1')).toBe(202);
    await sleep(500);
    expect(await list()).toEqual([]);
  });

  it('three new types sent into a broker yield exactly three EventTypes, as upstream makes them', async () => {
    writeFileSync(join(dir, 'features.yaml'), features('enabled'));
    await eventually(() => app.runtime.eventTypes.enabled, 10_000, 'the flag to be read');
    const types = ['com.example.created', 'com.example.updated', 'com.example.deleted'];
    for (const [i, type] of types.entries())
      expect(
        await send('/shop/default', type, 'https://example.com/orders', `a${i}`, {
          'ce-dataschema': 'https://example.com/schema.json',
        }),
      ).toBe(202);
    const created = await eventuallyAsync(async () => {
      const items = await list('?namespace=shop&name=default');
      return items.length >= 3 ? items : undefined;
    });
    await sleep(500);
    expect(await list('?namespace=shop&name=default')).toHaveLength(3);
    expect(created.map((et) => attr(et, 'type')).sort()).toEqual([...types].sort());
    const broker = app.runtime.listEventTypes()[0]!;
    for (const et of created) {
      expect(et.apiVersion).toBe('eventing.knative.dev/v1beta3');
      expect(et.metadata.name).toMatch(/^et-default-[0-9a-f]{32}$/);
      expect(et.metadata.namespace).toBe('shop');
      expect(et.spec.reference).toEqual({
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Broker',
        name: 'default',
        namespace: 'shop',
      });
      expect(et.spec.description).toBe('Event Type auto-created by controller');
      expect(et.spec.attributes).toEqual([
        { name: 'type', required: true, value: attr(et, 'type') },
        { name: 'source', required: true, value: 'https://example.com/orders' },
        { name: 'schemadata', required: true, value: 'https://example.com/schema.json' },
        { name: 'specversion', required: true, value: '1.0' },
        { name: 'id', required: true },
      ]);
      expect(et.metadata.ownerReferences).toEqual([
        expect.objectContaining({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' }),
      ]);
    }
    expect(broker).toBeDefined();
    // Listed in the status output with their type and source, Ready (their Broker exists).
    await eventually(
      () =>
        types.every((t) => lines.some((l) => l.startsWith('✓  EventType shop/et-default-') && l.includes(t))),
      10_000,
      'the EventTypes in the status output',
    );
    expect(lines.find((l) => l.includes('com.example.created'))).toContain(
      'com.example.created from https://example.com/orders  (Broker default)',
    );
  });

  it('a repeat of the same types hands nothing over and creates nothing', async () => {
    const before = app.runtime.eventTypes.stats();
    for (let i = 0; i < 20; i++)
      expect(await send('/shop/default', 'com.example.created', 'https://example.com/orders', `r${i}`)).toBe(
        202,
      );
    await sleep(700);
    const after = app.runtime.eventTypes.stats();
    expect(after.handedOver).toBe(before.handedOver);
    expect(after.pending).toBe(0);
    expect(await list('?namespace=shop&name=default')).toHaveLength(3);
  });

  it('a channel records its own types, referenced as the InMemoryChannel', async () => {
    expect(await send('/_channels/shop/orders', 'com.example.shipped', '/warehouse', 'c1')).toBe(202);
    const [et] = await eventuallyAsync(async () => {
      const items = await list('?namespace=shop&name=orders');
      return items.length > 0 ? items : undefined;
    });
    expect(et!.spec.reference).toEqual({
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'InMemoryChannel',
      name: 'orders',
      namespace: 'shop',
    });
    expect(attr(et!, 'type')).toBe('com.example.shipped');
    expect(await list()).toHaveLength(4);
  });

  it('GET /eventtypes refuses other methods, and events to a namespace called eventtypes still reach it', async () => {
    const res = await fetch(`${base}/eventtypes`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
    expect(await res.text()).toContain('use GET');
    // Two segments are a broker path, whatever the namespace is called.
    expect(await send('/eventtypes/default', 't', '/s', 'n1')).toBe(404);
  });
});

function attr(et: EventType, name: string): string | undefined {
  return et.spec.attributes?.find((a) => a.name === name)?.value;
}

async function eventuallyAsync<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(50);
  }
}
