import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildApps,
  spawnApp,
  startSubscriber,
  withKube,
  writeContract,
  type AppProcess,
  type TestSubscriber,
} from '@eventing/testing';
import { SYSTEM_NAMESPACE, applyCrds, getJson, metric, startController, until } from './cluster-harness';

// EventType auto-creation in a cluster (CONFORMANCE 2.16): broker and channel ingress POST the event
// types they accept to the controller's /eventtypes/observed (the data plane never talks to the API
// server); the controller creates upstream's EventTypes through the real kube-apiserver.

jest.setTimeout(300_000);

interface EventTypeList {
  items: {
    metadata: { name: string; ownerReferences?: { kind: string; name: string; uid: string }[] };
    spec: { reference?: { kind: string; name: string }; attributes?: { name: string; value?: string }[] };
  }[];
}

describe('EventType auto-creation through the controller (eventtype-auto-create)', () => {
  const kube = withKube();
  const namespace = `et-${process.pid}`;
  let controller: AppProcess;
  let brokerUid: string;

  const observed = (type: string) => ({
    reference: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', namespace, name: 'default' },
    referenceUid: brokerUid,
    type,
    source: 'https://example.com/orders',
    schema: '',
    specversion: '1.0',
  });

  const post = async (items: object[]) => {
    const res = await fetch(`${controller.url}/eventtypes/observed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const setFlag = (value: 'enabled' | 'disabled') =>
    kube.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'config-features', namespace: SYSTEM_NAMESPACE },
        data: { 'eventtype-auto-create': value },
      }),
    });

  beforeAll(async () => {
    buildApps('controller', 'broker-ingress');
    await applyCrds(kube);
    await kube.kubectl(['create', 'namespace', namespace]);
    await kube.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Broker',
        metadata: { name: 'default', namespace },
      }),
    });
    brokerUid = (await getJson<{ metadata: { uid: string } }>(kube, ['broker', 'default', '-n', namespace]))!
      .metadata.uid;
    await setFlag('disabled');
    const nowhere = { url: 'http://127.0.0.1:9' };
    controller = await startController(
      kube,
      { ingress: nowhere, imc: nowhere, filter: nowhere },
      // No Lease renewals: every API write the test counts is the controller's own work.
      { LEADER_ELECTION: 'false' },
    );
    await until(() => controller.output().includes('caches synced'), 60_000, 'the controller caches');
  });

  afterAll(async () => {
    controller?.kill('SIGKILL');
    await kube.kubectl(['delete', 'configmap', 'config-features', '-n', SYSTEM_NAMESPACE], {
      allowFail: true,
    });
    await kube.kubectl(['delete', 'namespace', namespace, '--wait=false'], { allowFail: true });
  });

  it('with the flag off, answers enabled:false and creates nothing', async () => {
    const answer = await post([observed('com.example.off')]);
    expect(answer).toEqual({ status: 200, body: { enabled: false } });
    const list = await getJson<EventTypeList>(kube, ['eventtypes', '-n', namespace]);
    expect(list?.items).toEqual([]);
  });

  it('three new types make exactly three EventTypes in `kubectl get eventtypes`; a repeat makes none', async () => {
    await setFlag('enabled');
    await until(
      async () => (await post([])).body['enabled'] === true,
      30_000,
      'the controller to see the flag on',
    );
    const types = ['com.example.created', 'com.example.updated', 'com.example.deleted'];
    const first = await post(types.map(observed));
    expect(first.status).toBe(202);
    expect(first.body['created']).toHaveLength(3);

    const list = await until(
      async () => {
        const l = await getJson<EventTypeList>(kube, ['eventtypes', '-n', namespace]);
        return l && l.items.length >= 3 ? l : undefined;
      },
      30_000,
      'three EventTypes',
    );
    expect(list.items).toHaveLength(3);
    for (const et of list.items) {
      expect(et.metadata.name).toMatch(/^et-default-[0-9a-f]{32}$/);
      expect(et.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Broker', name: 'default', uid: brokerUid }),
      ]);
      expect(et.spec.reference).toMatchObject({ kind: 'Broker', name: 'default' });
    }
    expect(list.items.map((et) => et.spec.attributes?.find((a) => a.name === 'type')?.value).sort()).toEqual(
      [...types].sort(),
    );

    // kubectl's columns, as upstream's: TYPE, SOURCE, REFERENCE NAME, REFERENCE KIND, DESCRIPTION, READY.
    const table = await kube.kubectl(['get', 'eventtypes', '-n', namespace]);
    expect(table.stdout).toMatch(
      /^NAME\s+TYPE\s+SOURCE\s+REFERENCE NAME\s+REFERENCE KIND\s+DESCRIPTION\s+READY/,
    );
    expect(table.stdout).toContain('com.example.created');
    expect(table.stdout).toContain('Event Type auto-created by controller');
    // ReferenceExists: the controller reconciles them Ready (their Broker is there).
    await until(
      async () => {
        const t = await kube.kubectl(['get', 'eventtypes', '-n', namespace, '--no-headers']);
        return t.stdout
          .trim()
          .split('\n')
          .every((line) => /\bTrue\b/.test(line));
      },
      60_000,
      'the EventTypes Ready',
    );

    // The same types again: found, nothing written.
    const writesBefore = await metric(controller.url, 'eventing_controller_api_requests', 'purpose="write"');
    const again = await post(types.map(observed));
    expect(again).toMatchObject({ status: 202, body: { created: [], existing: 3 } });
    const writesAfter = await metric(controller.url, 'eventing_controller_api_requests', 'purpose="write"');
    expect(writesAfter).toBe(writesBefore);
    expect((await getJson<EventTypeList>(kube, ['eventtypes', '-n', namespace]))!.items).toHaveLength(3);
  });

  it('broker-ingress reports what it accepts: three new types through it make three EventTypes, a repeat none', async () => {
    await kube.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Broker',
        metadata: { name: 'edge', namespace },
      }),
    });
    const edgeUid = (await getJson<{ metadata: { uid: string } }>(kube, ['broker', 'edge', '-n', namespace]))!
      .metadata.uid;
    const dir = mkdtempSync(join(tmpdir(), 'eventtypes-ingress-'));
    const channel: TestSubscriber = await startSubscriber();
    const contractPath = join(dir, 'contract.json');
    writeContract(contractPath, {
      generation: 1,
      brokers: [{ uid: edgeUid, namespace, name: 'edge', channelAddress: `${channel.url}/edge-kne-trigger` }],
    });
    const ingress = await spawnApp('broker-ingress', {
      CONTRACT_PATH: contractPath,
      EVENTTYPE_REGISTRY_URL: `${controller.url}/eventtypes/observed`,
      LOG_LEVEL: 'warn',
    });
    try {
      const send = (type: string, id: string) =>
        fetch(`${ingress.url}/${namespace}/edge`, {
          method: 'POST',
          headers: {
            'ce-specversion': '1.0',
            'ce-id': id,
            'ce-type': type,
            'ce-source': '/edge',
            'content-type': 'text/plain',
          },
          body: 'x',
        }).then((r) => r.status);
      const types = ['com.example.a', 'com.example.b', 'com.example.c'];
      for (const [i, type] of types.entries()) expect(await send(type, `e${i}`)).toBe(202);
      const edgeTypes = async () =>
        (await getJson<EventTypeList>(kube, ['eventtypes', '-n', namespace]))!.items.filter(
          (et) => et.spec.reference?.name === 'edge',
        );
      const created = await until(
        async () => {
          const items = await edgeTypes();
          return items.length >= 3 ? items : undefined;
        },
        30_000,
        'the EventTypes of what broker-ingress accepted',
      );
      expect(created.map((et) => et.spec.attributes?.find((a) => a.name === 'type')?.value).sort()).toEqual(
        types,
      );
      // Once the controller is done with them (Ready)...
      await until(
        async () => {
          const t = await kube.kubectl(['get', 'eventtypes', '-n', namespace, '--no-headers']);
          const lines = t.stdout
            .trim()
            .split('\n')
            .filter((l) => l.includes(' edge '));
          return lines.length === 3 && lines.every((l) => /\bTrue\b/.test(l));
        },
        60_000,
        'the edge EventTypes Ready',
      );
      await new Promise((r) => setTimeout(r, 1_000));
      // ...the same types again: broker-ingress remembers them and reports nothing; nothing is written.
      const writesBefore = await metric(
        controller.url,
        'eventing_controller_api_requests',
        'purpose="write"',
      );
      for (let i = 0; i < 30; i++) expect(await send(types[i % 3]!, `r${i}`)).toBe(202);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await metric(controller.url, 'eventing_controller_api_requests', 'purpose="write"')).toBe(
        writesBefore,
      );
      expect(await edgeTypes()).toHaveLength(3);
      expect(channel.requests).toHaveLength(33);
    } finally {
      ingress.kill('SIGKILL');
      await channel.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses malformed requests naming the field, and an addressable that is not there', async () => {
    const bad = await post([{ ...observed('x'), type: '' }]);
    expect(bad).toEqual({ status: 400, body: { error: 'items[0].type: expected a non-empty string' } });
    const stale = await post([{ ...observed('com.example.stale'), referenceUid: 'not-the-broker' }]);
    expect(stale).toMatchObject({ status: 202, body: { created: [], stale: 1 } });
    const get = await fetch(`${controller.url}/eventtypes/observed`);
    expect(get.status).toBe(405);
  });
});
