import type { Resource } from '@eventing/api';
import type { ApplyReport } from '@eventing/contract';
import { MemoryResourceStore } from '../store/memory-store';
import type { ResourceStore } from '../store/store';
import { clusterServiceAddressBook } from '../resolver/address-resolver';
import { Controller, type ContractBody } from './controller';
import type { StoreProvisioner } from './provisioning';

const ingressUrl = (ns: string, name: string) => `http://ingress.local/${ns}/${name}`;
const channelUrl = (ns: string, name: string) => `http://ingress.local/_channels/${ns}/${name}`;

const broker = (name = 'default'): Resource => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  metadata: {
    name,
    namespace: 'default',
    annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' },
  },
  spec: {},
});
const trigger = (name: string, subscriber: object): Resource => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name, namespace: 'default' },
  spec: { broker: 'default', subscriber },
});
const service = (name: string): Resource => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { ports: [{ port: 80 }] },
});
const ready = (r: Resource | undefined) =>
  (
    r?.status as { conditions?: { type: string; status: string; reason?: string }[] } | undefined
  )?.conditions?.find((c) => c.type === 'Ready');

/** A data plane that serves whatever it is given, and remembers each contract. */
function sink() {
  const published: ContractBody[] = [];
  return {
    published,
    publish(body: ContractBody): Promise<ApplyReport> {
      published.push(body);
      const served = new Set<string>();
      for (const e of [
        ...body.brokers,
        ...body.triggers,
        ...(body.channels ?? []),
        ...(body.subscriptions ?? []),
      ])
        served.add(e.uid);
      return Promise.resolve({ generation: published.length, served, failed: new Map() });
    },
  };
}

/** Services resolve by name as cluster DNS would, once they exist in the store. */
const serviceBook = (reads: ResourceStore) => clusterServiceAddressBook(reads);

function running(store: MemoryResourceStore) {
  const contract = sink();
  const reconciled: string[] = [];
  const controller = new Controller(store, {
    ingressUrl,
    channelUrl,
    addressBook: serviceBook,
    contract,
    onReconciled: (kind) => reconciled.push(kind),
  });
  controller.start();
  return { controller, contract, reconciled };
}

describe('Controller loop (per key)', () => {
  it('turns everything Ready with one publish per quiet period, and nothing more when nothing changes', async () => {
    const store = new MemoryResourceStore();
    store.apply(broker());
    for (let i = 0; i < 50; i++) store.apply(trigger(`t${i}`, { uri: `http://sub.local/${i}` }));
    const { controller, contract, reconciled } = running(store);
    await controller.idle();
    expect(ready(store.get('eventing.knative.dev', 'Broker', 'default', 'default'))?.status).toBe('True');
    for (let i = 0; i < 50; i++)
      expect(ready(store.get('eventing.knative.dev', 'Trigger', 'default', `t${i}`))?.status).toBe('True');
    expect(contract.published.at(-1)?.triggers).toHaveLength(50);
    // One publish for the first compile, none for the re-reconciles that the report caused.
    expect(contract.published.length).toBeLessThanOrEqual(2);
    const publishes = contract.published.length;
    const runs = reconciled.length;
    controller.requeueAll();
    await controller.idle();
    expect(contract.published.length).toBe(publishes);
    expect(reconciled.length).toBe(runs + 51);
    await controller.stop();
  });

  it('re-reconciles only what read a changed resource', async () => {
    const store = new MemoryResourceStore();
    store.apply(broker());
    store.apply(broker('other'));
    store.apply(trigger('a', { uri: 'http://sub.local/a' }));
    const { controller, reconciled } = running(store);
    await controller.idle();
    reconciled.length = 0;
    store.apply({ ...broker('other'), spec: { delivery: { retry: 2 } } });
    await controller.idle();
    // The other broker changed: it is reconciled; the trigger on 'default' is not.
    expect(reconciled).toContain('Broker');
    expect(reconciled).not.toContain('Trigger');
    await controller.stop();
  });

  it('a Service created later turns a Trigger Ready without a restart (T-dependency on a missing object)', async () => {
    const store = new MemoryResourceStore();
    store.apply(broker());
    store.apply(trigger('t', { ref: { apiVersion: 'v1', kind: 'Service', name: 'display' } }));
    const { controller, contract } = running(store);
    await controller.idle();
    const t = () => store.get('eventing.knative.dev', 'Trigger', 'default', 't');
    expect(ready(t())).toMatchObject({ status: 'False' });
    expect(contract.published.at(-1)?.triggers ?? []).toHaveLength(0);
    store.apply(service('display'));
    await controller.idle();
    expect(ready(t())?.status).toBe('True');
    expect(contract.published.at(-1)?.triggers[0]?.subscriberUri).toBe(
      'http://display.default.svc.cluster.local',
    );
    await controller.stop();
  });

  it('a deleted Broker takes its triggers out of the contract and marks them not Ready', async () => {
    const store = new MemoryResourceStore();
    store.apply(broker());
    store.apply(trigger('t', { uri: 'http://sub.local/' }));
    const { controller, contract } = running(store);
    await controller.idle();
    expect(contract.published.at(-1)?.triggers).toHaveLength(1);
    store.remove('eventing.knative.dev', 'Broker', 'default', 'default');
    await controller.idle();
    expect(contract.published.at(-1)?.brokers).toHaveLength(0);
    expect(contract.published.at(-1)?.triggers).toHaveLength(0);
    expect(ready(store.get('eventing.knative.dev', 'Trigger', 'default', 't'))).toMatchObject({
      status: 'False',
      reason: 'BrokerDoesNotExist',
    });
    await controller.stop();
  });

  it('stopped and started again (leadership lost and regained), it reconciles what changed meanwhile', async () => {
    const store = new MemoryResourceStore();
    store.apply(broker());
    const { controller, contract } = running(store);
    await controller.idle();
    await controller.stop();
    store.apply(trigger('late', { uri: 'http://sub.local/late' }));
    const published = contract.published.length;
    controller.start();
    await controller.idle();
    expect(ready(store.get('eventing.knative.dev', 'Trigger', 'default', 'late'))?.status).toBe('True');
    expect(contract.published.length).toBe(published + 1);
    expect(contract.published.at(-1)?.triggers).toHaveLength(1);
    await controller.stop();
  });

  it('retries a status write that conflicts, from the newer copy', async () => {
    const store = new MemoryResourceStore();
    store.apply(broker());
    let conflicts = 2;
    const conflicting = Object.create(store) as MemoryResourceStore;
    conflicting.updateStatus = (r, s) =>
      conflicts-- > 0 ? Promise.resolve('conflict') : store.updateStatus(r, s);
    const contract = sink();
    const outcomes: string[] = [];
    const controller = new Controller(conflicting, {
      ingressUrl,
      addressBook: { lookup: () => undefined },
      contract,
      onReconciled: (_kind, _ms, outcome) => outcomes.push(outcome),
    });
    controller.start();
    for (
      let i = 0;
      i < 100 && ready(store.get('eventing.knative.dev', 'Broker', 'default', 'default'))?.status !== 'True';
      i++
    )
      await new Promise((r) => setTimeout(r, 10));
    expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(2);
    expect(ready(store.get('eventing.knative.dev', 'Broker', 'default', 'default'))?.status).toBe('True');
    await controller.stop();
  });
});

describe('Controller loop: the cluster layout of a channel-based broker (upstream MTChannelBasedBroker)', () => {
  const cluster = {
    filterUrl: (ns: string, t: string, uid: string) =>
      `http://broker-filter.sys.svc/triggers/${ns}/${t}/${uid}`,
  };
  function clusterController(store: MemoryResourceStore) {
    const contract = sink();
    const controller = new Controller(store, {
      ingressUrl: (ns, name) => `http://broker-ingress.sys.svc/${ns}/${name}`,
      channelUrl: (ns, name) => `http://imc-dispatcher.sys.svc/${ns}/${name}`,
      addressBook: serviceBook,
      cluster,
      contract,
    });
    controller.start();
    return { controller, contract };
  }

  it('a Broker owns its trigger channel, a Trigger owns a Subscription to broker-filter replying to the broker', async () => {
    const store = new MemoryResourceStore();
    store.apply(broker());
    store.apply(trigger('t', { uri: 'http://sub.local/' }));
    const { controller, contract } = clusterController(store);
    await controller.idle();
    const b = store.get('eventing.knative.dev', 'Broker', 'default', 'default')!;
    const t = store.get('eventing.knative.dev', 'Trigger', 'default', 't')!;
    expect(ready(b)?.status).toBe('True');
    expect(ready(t)?.status).toBe('True');
    const channel = store.get('messaging.knative.dev', 'InMemoryChannel', 'default', 'default-kne-trigger')!;
    expect(channel.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Broker', name: 'default', uid: b.metadata.uid, controller: true }),
    ]);
    expect(ready(channel)?.status).toBe('True');
    expect((b.status as { annotations?: Record<string, string> }).annotations).toMatchObject({
      'knative.dev/channelAddress': 'http://imc-dispatcher.sys.svc/default/default-kne-trigger',
      'knative.dev/channelKind': 'InMemoryChannel',
    });
    const subName = `default-t-${t.metadata.uid}`;
    const sub = store.get('messaging.knative.dev', 'Subscription', 'default', subName)!;
    expect(sub.spec).toMatchObject({
      channel: { kind: 'InMemoryChannel', name: 'default-kne-trigger' },
      subscriber: { uri: `http://broker-filter.sys.svc/triggers/default/t/${t.metadata.uid}` },
      reply: { uri: 'http://broker-ingress.sys.svc/default/default' },
    });
    const last = contract.published.at(-1)!;
    expect(last.brokers).toEqual([
      expect.objectContaining({
        name: 'default',
        channelAddress: 'http://imc-dispatcher.sys.svc/default/default-kne-trigger',
      }),
    ]);
    expect(last.channels).toEqual([expect.objectContaining({ name: 'default-kne-trigger' })]);
    expect(last.subscriptions).toEqual([
      expect.objectContaining({
        name: subName,
        subscriberUri: `http://broker-filter.sys.svc/triggers/default/t/${t.metadata.uid}`,
        replyUri: 'http://broker-ingress.sys.svc/default/default',
      }),
    ]);
    // broker-filter tries once; the Subscription's dispatcher retries.
    expect(last.triggers[0]?.policy.retry).toBe(0);

    // Deleting the Trigger deletes its Subscription and takes both out of the contract.
    store.remove('eventing.knative.dev', 'Trigger', 'default', 't');
    await controller.idle();
    expect(store.get('messaging.knative.dev', 'Subscription', 'default', subName)).toBeUndefined();
    expect(contract.published.at(-1)?.triggers).toEqual([]);
    expect(contract.published.at(-1)?.subscriptions).toEqual([]);
    await controller.stop();
  });

  it('a resource being deleted (deletionTimestamp, held by a finalizer) leaves the contract and gets no status write', async () => {
    const store = new MemoryResourceStore();
    store.apply(broker());
    store.apply(trigger('t', { uri: 'http://sub.local/t' }));
    const { controller, contract } = running(store);
    await controller.idle();
    expect(contract.published.at(-1)?.triggers).toHaveLength(1);
    const before = store.get('eventing.knative.dev', 'Trigger', 'default', 't');
    store.apply({
      ...trigger('t', { uri: 'http://sub.local/changed' }),
      metadata: {
        ...(before?.metadata ?? {}),
        deletionTimestamp: new Date().toISOString(),
        finalizers: ['example.dev/held'],
      },
    });
    await controller.idle();
    expect(contract.published.at(-1)?.triggers).toEqual([]);
    // Its status is what it was: the spec change is not reconciled into it.
    const after = store.get('eventing.knative.dev', 'Trigger', 'default', 't');
    expect(after?.status).toEqual(before?.status);
    expect((after?.status as { subscriberUri?: string }).subscriberUri).toBe('http://sub.local/t');
    await controller.stop();
  });
});

describe('Controller loop: a child whose immutable field must change is replaced', () => {
  it('deletes and re-applies a child the store refuses to update as immutable', async () => {
    const store = new MemoryResourceStore();
    store.apply(broker());
    const refusing = Object.create(store) as MemoryResourceStore;
    let refused = 0;
    refusing.applyChild = (child) => {
      const existing = store.get(
        'messaging.knative.dev',
        child.kind,
        child.metadata.namespace ?? '',
        child.metadata.name ?? '',
      );
      if (
        child.kind === 'Subscription' &&
        existing &&
        JSON.stringify((existing.spec as { channel?: unknown }).channel) !==
          JSON.stringify((child.spec as { channel?: unknown }).channel)
      ) {
        refused++;
        return Promise.reject(
          Object.assign(
            new Error(
              'admission webhook denied the request: immutable field changed (-old +new): spec.channel',
            ),
            { status: 400 },
          ),
        );
      }
      return store.applyChild(child);
    };
    // A Trigger's Subscription whose channel changes kind (the broker's template changed).
    const controller = new Controller(refusing, {
      ingressUrl: (ns, name) => `http://broker-ingress.sys.svc/${ns}/${name}`,
      channelUrl: (ns, name) => `http://imc-dispatcher.sys.svc/${ns}/${name}`,
      addressBook: serviceBook,
      cluster: { filterUrl: (ns, t, uid) => `http://broker-filter.sys.svc/triggers/${ns}/${t}/${uid}` },
      contract: sink(),
    });
    controller.start();
    store.apply(trigger('t', { uri: 'http://sub.local/' }));
    await controller.idle();
    const t = store.get('eventing.knative.dev', 'Trigger', 'default', 't')!;
    const subName = `default-t-${t.metadata.uid}`;
    const before = store.get('messaging.knative.dev', 'Subscription', 'default', subName)!;
    // Someone changed the stored Subscription's channel: the controller's copy must replace it.
    store.apply({
      ...before,
      spec: {
        ...(before.spec as object),
        channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'other' },
      },
    });
    controller.requeueAll();
    await controller.idle();
    const after = store.get('messaging.knative.dev', 'Subscription', 'default', subName)!;
    expect(refused).toBe(1);
    expect((after.spec as { channel: { kind: string; name: string } }).channel).toMatchObject({
      kind: 'InMemoryChannel',
      name: 'default-kne-trigger',
    });
    expect(after.metadata.uid).not.toBe(before.metadata.uid);
    await controller.stop();
  });
});

describe('Controller loop: a store that cannot be created', () => {
  it('retries with growing backoff and keeps the failure’s status (and its time) while it lasts', async () => {
    const store = new MemoryResourceStore();
    store.apply({
      apiVersion: 'messaging.knative.dev/v1beta1',
      kind: 'KafkaChannel',
      metadata: { name: 'orders', namespace: 'default' },
      spec: { numPartitions: 1, replicationFactor: 1 },
    });
    let attempts = 0;
    const unreachable: StoreProvisioner = {
      ensure: () => {
        attempts++;
        return Promise.reject(new Error('Cannot connect to any broker: Connection to 127.0.0.1:1 failed'));
      },
      remove: () => Promise.resolve(),
    };
    const outcomes: string[] = [];
    const controller = new Controller(store, {
      ingressUrl,
      channelUrl,
      addressBook: serviceBook,
      contract: sink(),
      capabilities: { brokerClasses: ['MTChannelBasedBroker'], channelKinds: ['KafkaChannel'] },
      provisioner: (kind) => (kind === 'kafka' ? unreachable : undefined),
      onReconciled: (_kind, _ms, outcome) => outcomes.push(outcome),
    });
    controller.start();
    const topicReady = () =>
      (
        store.get('messaging.knative.dev', 'KafkaChannel', 'default', 'orders')?.status as
          | { conditions?: { type: string; status: string; reason?: string; lastTransitionTime?: string }[] }
          | undefined
      )?.conditions?.find((c) => c.type === 'TopicReady');
    await new Promise((r) => setTimeout(r, 1_000));
    const first = topicReady();
    expect(first).toMatchObject({ status: 'False', reason: 'TopicNotPresentOrInvalid' });
    await new Promise((r) => setTimeout(r, 1_500));
    // The same failure keeps its transition time, so its status is not rewritten on each attempt.
    expect(topicReady()?.lastTransitionTime).toBe(first?.lastTransitionTime);
    // 5 ms doubling: about ten attempts in 2.5 s. Re-queued by its own status writes it was retried
    // as fast as it failed (hundreds).
    expect(attempts).toBeGreaterThanOrEqual(5);
    expect(attempts).toBeLessThanOrEqual(14);
    expect(outcomes.every((o) => o === 'error')).toBe(true);
    await controller.stop();
  });
});
