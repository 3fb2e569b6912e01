import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventType } from '@eventing/api';
import { sleep } from '@eventing/testing';
import { runStandalone } from './main';
import type { StandaloneOptions } from './options';

// Sources publish the types they emit: a PingSource whose sink is a Broker owns an EventType for
// dev.knative.sources.ping, listed at GET /eventtypes (with or without eventtype-auto-create).

const FOLDER = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: shop
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: heartbeat
  namespace: shop
spec:
  schedule: "0 0 1 1 *"
  data: x
  sink:
    ref:
      apiVersion: eventing.knative.dev/v1
      kind: Broker
      name: default
`;

describe('standalone: a PingSource publishes its event type', () => {
  let dir: string;
  let app: Awaited<ReturnType<typeof runStandalone>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'source-eventtypes-'));
    writeFileSync(join(dir, 'resources.yaml'), FOLDER);
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
      watch: false,
    };
    app = await runStandalone(options, () => undefined);
  });

  afterAll(async () => {
    await app?.service.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /eventtypes lists the PingSource type, referencing the Broker and owned by the source', async () => {
    const list = async (): Promise<EventType[]> =>
      ((await (await fetch(`${app.service.url}/eventtypes`)).json()) as { items: EventType[] }).items;
    let items = await list();
    for (let tries = 0; items.length === 0 && tries < 200; tries++) {
      await sleep(50);
      items = await list();
    }
    expect(items).toHaveLength(1);
    const [et] = items;
    expect(et!.spec.reference).toMatchObject({ kind: 'Broker', name: 'default', namespace: 'shop' });
    expect(et!.spec.attributes).toContainEqual({
      name: 'type',
      required: true,
      value: 'dev.knative.sources.ping',
    });
    expect(et!.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'PingSource', name: 'heartbeat', controller: true }),
    ]);
  });
});
