import type { Broker, PingSource, Resource, Trigger } from '@eventing/api';
import { MemoryResourceStore } from './store/memory-store';
import { AddressResolver } from './resolver/address-resolver';
import { reconcileBroker } from './broker/reconcile';
import { reconcileTrigger } from './trigger/reconcile';
import { reconcilePingSource } from './pingsource/reconcile';
import { compileRetryPolicy } from './contract/delivery';
import { Controller } from './controller/controller';
import { capabilitiesOf, type Observation } from './observation/observation';
import type { ApplyReport, Contract } from '@eventing/contract';

const book = new Map([['default/display', 'http://display.local/']]);
const ingressUrl = (ns: string, name: string) => `http://ingress.local/${ns}/${name}`;

function setup(resources: Resource[] = []) {
  const store = new MemoryResourceStore();
  for (const r of resources) store.apply(r);
  const resolver = new AddressResolver(store, { lookup: (ns, name) => book.get(`${ns}/${name}`) });
  return { store, resolver };
}

const broker = (spec: Broker['spec'] = {}): Broker =>
  ({
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: {
      name: 'default',
      namespace: 'default',
      generation: 2,
      annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' },
    },
    spec,
  }) as Broker;
const trigger = (spec: Partial<Trigger['spec']> = {}): Trigger =>
  ({
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: 't', namespace: 'default', uid: 'tu', generation: 1 },
    spec: { broker: 'default', subscriber: { uri: 'http://sub.local/x' }, ...spec },
  }) as Trigger;
const SERVED = { status: 'True' } as const;
const bctx = (resolver: AddressResolver, observed: Observation = SERVED) => ({
  ingressUrl,
  resolver,
  brokerClasses: ['MTChannelBasedBroker'],
  observed,
});
const tctx = (resolver: AddressResolver, observed: Observation = SERVED, brokerAdmitted = true) => ({
  resolver,
  brokerAdmitted,
  observed,
});
const cond = (
  status: { conditions?: { type: string; status: string; reason?: string; message?: string }[] },
  type: string,
) => status.conditions?.find((c) => c.type === type);

describe('Broker reconciler', () => {
  it('1.6-1: publishes its address and is Ready; DeadLetterSinkResolved True with DeadLetterSinkNotConfigured', () => {
    const { resolver } = setup();
    const status = reconcileBroker(broker(), bctx(resolver)).status;
    expect(status.address).toEqual({ name: 'http', url: 'http://ingress.local/default/default' });
    expect(status.addresses).toEqual([{ name: 'http', url: 'http://ingress.local/default/default' }]);
    expect(status.observedGeneration).toBe(2);
    expect(cond(status, 'Ready')?.status).toBe('True');
    expect(cond(status, 'DeadLetterSinkResolved')).toMatchObject({
      status: 'True',
      reason: 'DeadLetterSinkNotConfigured',
    });
  });

  it('1.6-2: resolves the dead-letter sink into status before Ready', () => {
    const { resolver } = setup();
    const ok = reconcileBroker(
      broker({
        delivery: { deadLetterSink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'display' } } },
      }),
      bctx(resolver),
    ).status;
    expect(ok.deadLetterSinkUri).toBe('http://display.local/');
    expect(cond(ok, 'Ready')?.status).toBe('True');
    const bad = reconcileBroker(
      broker({
        delivery: { deadLetterSink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'missing' } } },
      }),
      bctx(resolver),
    ).status;
    expect(cond(bad, 'Ready')?.status).toBe('False');
    expect(bad.address).toBeUndefined();
    expect(cond(bad, 'DeadLetterSinkResolved')?.status).toBe('False');
  });
});

describe('Trigger reconciler', () => {
  const readyBroker = (spec: Broker['spec'] = {}) => {
    const b = broker(spec);
    const { resolver } = setup();
    return { ...b, status: reconcileBroker(b, bctx(resolver)).status } as Broker;
  };

  it('1.6-3: a trigger before its broker is not Ready with BrokerDoesNotExist', () => {
    const { resolver } = setup();
    const r = reconcileTrigger(trigger(), undefined, tctx(resolver));
    expect(cond(r.status, 'Ready')).toMatchObject({ status: 'False', reason: 'BrokerDoesNotExist' });
    expect(r.egress).toBeUndefined();
  });

  it('1.6-4: an unresolvable subscriber leaves subscriberUri empty and the trigger not Ready', () => {
    const { resolver } = setup();
    const r = reconcileTrigger(
      trigger({ subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'nowhere' } } }),
      readyBroker(),
      tctx(resolver),
    );
    expect(r.status.subscriberUri).toBeUndefined();
    expect(cond(r.status, 'SubscriberResolved')?.status).toBe('False');
    expect(cond(r.status, 'Ready')?.status).toBe('False');
  });

  it('resolves ref + relative uri, is Ready, and compiles its data-plane entry', () => {
    const { resolver } = setup();
    const r = reconcileTrigger(
      trigger({
        subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'display' }, uri: '/path' },
        filter: { attributes: { type: 'x' } },
      }),
      readyBroker(),
      tctx(resolver),
    );
    expect(r.status.subscriberUri).toBe('http://display.local/path');
    expect(cond(r.status, 'Ready')?.status).toBe('True');
    expect(r.egress).toMatchObject({
      uid: 'tu',
      broker: 'default',
      subscriberUri: 'http://display.local/path',
      filter: { attributes: { type: 'x' } },
      format: 'binary',
    });
  });

  it('1.6-8: the trigger delivery replaces the broker one as a whole; DLS falls back to the broker', () => {
    const { resolver } = setup();
    const parent = readyBroker({
      delivery: { retry: 5, backoffDelay: 'PT1S', deadLetterSink: { uri: 'http://dls.local/' } },
    });
    const inherit = reconcileTrigger(trigger(), parent, tctx(resolver));
    expect(inherit.egress?.policy).toEqual({ retry: 5, backoffPolicy: 'exponential', backoffDelayMs: 1000 });
    expect(inherit.egress?.deadLetterUri).toBe('http://dls.local/');
    expect(inherit.status.deadLetterSinkUri).toBe('http://dls.local/');
    const own = reconcileTrigger(
      trigger({ delivery: { retry: 1, backoffPolicy: 'linear', format: 'json' } }),
      parent,
      tctx(resolver),
    );
    expect(own.egress?.policy).toEqual({ retry: 1, backoffPolicy: 'linear', backoffDelayMs: 0 });
    expect(own.egress?.format).toBe('json');
    expect(own.egress?.deadLetterUri).toBe('http://dls.local/');
  });

  it('1.1 Kafka Broker: a Kafka-class broker’s trigger reads in group knative-trigger-<ns>-<name>', () => {
    const { resolver } = setup();
    const kafka = broker();
    kafka.metadata.annotations = { 'eventing.knative.dev/broker.class': 'Kafka' };
    const ready = {
      ...kafka,
      status: reconcileBroker(kafka, { ...bctx(resolver), brokerClasses: ['Kafka'] }).status,
    } as Broker;
    expect(cond(ready.status ?? {}, 'Ready')?.status).toBe('True');
    const r = reconcileTrigger(trigger(), ready, tctx(resolver));
    expect(r.egress?.consumerGroup).toBe('knative-trigger-default-t');
    // A channel-based broker's trigger reads as a Subscription of the broker's channel does.
    expect(reconcileTrigger(trigger(), readyBroker(), tctx(resolver)).egress).not.toHaveProperty(
      'consumerGroup',
    );
  });
});

describe('delivery compilation', () => {
  it.each([
    [undefined, { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 0 }],
    [{ retry: 3 }, { retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 0 }],
    [
      { retry: 2, backoffPolicy: 'linear', backoffDelay: 'PT0.5S', timeout: 'PT10S' },
      { retry: 2, backoffPolicy: 'linear', backoffDelayMs: 500, timeoutMs: 10_000 },
    ],
    [
      { retryAfterMax: 'PT2M' },
      { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 0, retryAfterMaxMs: 120_000 },
    ],
  ])('Y2/Y3: %j', (spec, expected) => {
    expect(compileRetryPolicy(spec as never)).toEqual(expected);
  });
});

describe('PingSource reconciler', () => {
  const ping = (sink: PingSource['spec']['sink']): PingSource =>
    ({
      apiVersion: 'sources.knative.dev/v1',
      kind: 'PingSource',
      metadata: { name: 'p', namespace: 'default', generation: 1 },
      spec: { schedule: '*/5 * * * *', data: 'hi', sink },
    }) as PingSource;

  it('resolves the sink, reports ceAttributes and is Ready; an unknown sink is SinkProvided False', () => {
    const { resolver } = setup();
    const ok = reconcilePingSource(ping({ uri: 'http://sink.local/' }), resolver);
    expect(ok.status.sinkUri).toBe('http://sink.local/');
    expect(ok.status.ceAttributes).toEqual([
      { type: 'dev.knative.sources.ping', source: '/apis/v1/namespaces/default/pingsources/p' },
    ]);
    expect(cond(ok.status, 'Ready')?.status).toBe('True');
    expect(ok.schedule).toMatchObject({ schedule: '*/5 * * * *', data: 'hi', sinkUri: 'http://sink.local/' });
    const bad = reconcilePingSource(
      ping({ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'none' } }),
      resolver,
    );
    expect(cond(bad.status, 'SinkProvided')).toMatchObject({ status: 'False', reason: 'NotFound' });
    expect(bad.schedule).toBeUndefined();
  });
});

/** A data-plane report in which everything of the contract is served. */
function servedAll(contract: Contract, failed: [string, string][] = []): ApplyReport {
  const served = new Set<string>();
  for (const list of [
    contract.brokers,
    contract.triggers,
    contract.channels ?? [],
    contract.subscriptions ?? [],
  ])
    for (const e of list) served.add(e.uid);
  for (const [uid] of failed) served.delete(uid);
  return { generation: contract.generation, served, failed: new Map(failed) };
}

const controllerFor = (store: MemoryResourceStore) =>
  new Controller(store, {
    ingressUrl,
    channelUrl: (ns, name) => `http://ingress.local/_channels/${ns}/${name}`,
    addressBook: { lookup: (ns, name) => book.get(`${ns}/${name}`) },
  });

describe('Controller: conditions derived from what was checked', () => {
  it('a broker class this process does not serve is not Ready, names the class, and is left out of the contract', () => {
    const kafka = broker();
    kafka.metadata.annotations = { 'eventing.knative.dev/broker.class': 'Kafka' };
    const { store } = setup([kafka, trigger()]);
    const out = controllerFor(store).reconcile();
    expect(out.contract.brokers).toEqual([]);
    expect(out.contract.triggers).toEqual([]);
    const status = store.get('eventing.knative.dev', 'Broker', 'default', 'default')!
      .status as Broker['status'];
    expect(cond(status!, 'Ready')).toMatchObject({ status: 'False', reason: 'BrokerClassNotSupported' });
    expect(cond(status!, 'IngressReady')?.message).toMatch(/broker class "Kafka" is not served here/);
    expect(status!.address).toBeUndefined();
  });

  it('a data-plane failure makes the broker not Ready with the reason the data plane gave', () => {
    const { store } = setup([broker(), trigger()]);
    const controller = controllerFor(store);
    const pending = controller.reconcile();
    const uid = pending.contract.brokers[0]!.uid;
    const out = controller.reconcile(
      servedAll(pending.contract, [[uid, 'cannot create the broker channel: disk full']]),
    );
    expect(out.ready.find((r) => r.kind === 'Broker')).toMatchObject({
      status: 'False',
      reason: 'DataPlaneFailed',
      message: 'cannot create the broker channel: disk full',
    });
    // Its trigger still runs once the broker is served again, and says why it is not Ready now.
    expect(out.ready.find((r) => r.kind === 'Trigger')?.status).toBe('False');
  });

  it('a Channel whose template names a kind not served here is not Ready and names the kind', () => {
    const channel = {
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'Channel',
      metadata: { name: 'c', namespace: 'default' },
      spec: { channelTemplate: { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel' } },
    } as Resource;
    const { store } = setup([channel]);
    const out = controllerFor(store).reconcile();
    expect(out.contract.channels).toEqual([]);
    const status = store.get('messaging.knative.dev', 'Channel', 'default', 'c')!.status as {
      channel?: { kind: string };
      conditions?: { type: string; status: string; reason?: string; message?: string }[];
    };
    expect(status.channel?.kind).toBe('KafkaChannel');
    expect(cond(status, 'BackingChannelReady')).toMatchObject({
      status: 'False',
      reason: 'ChannelKindNotSupported',
    });
    expect(cond(status, 'BackingChannelReady')?.message).toMatch(/KafkaChannel is not served here/);
  });

  it('a resource whose reconciliation throws is marked ReconcileError and the others still reconcile', () => {
    const broken = { ...trigger(), metadata: { name: 'broken', namespace: 'default', uid: 'bu' } } as Trigger;
    (broken.spec as { subscriber: unknown }).subscriber = null;
    const { store } = setup([broker(), broken, trigger()]);
    const controller = controllerFor(store);
    const pending = controller.reconcile();
    const out = controller.reconcile(servedAll(pending.contract));
    expect(out.ready.find((r) => r.name === 'broken')).toMatchObject({
      status: 'False',
      reason: 'ReconcileError',
    });
    expect(out.ready.find((r) => r.name === 't')?.status).toBe('True');
    expect(out.contract.triggers.map((t) => t.name)).toEqual(['t']);
  });
});

describe('Controller: where events are stored', () => {
  const kafkaTemplate = {
    'channel-template-spec':
      'apiVersion: messaging.knative.dev/v1beta1\nkind: KafkaChannel\nspec:\n  numPartitions: 3\n  replicationFactor: 1\n',
  };
  const onKafkaChannels = () => {
    const b = broker({
      config: { apiVersion: 'v1', kind: 'ConfigMap', name: 'kafka-channel', namespace: 'knative-eventing' },
    });
    return b;
  };
  const controllerWith = (store: MemoryResourceStore, stores: ('memory' | 'kafka' | 'jetstream')[]) =>
    new Controller(store, {
      ingressUrl,
      channelUrl: (ns, name) => `http://ingress.local/_channels/${ns}/${name}`,
      addressBook: { lookup: () => undefined },
      capabilities: capabilitiesOf(stores),
      configMap: (ns, name) =>
        ns === 'knative-eventing' && name === 'kafka-channel' ? kafkaTemplate : undefined,
    });

  it("a channel-based broker is stored where its config ConfigMap's channel template says", () => {
    const { store } = setup([onKafkaChannels(), trigger()]);
    const out = controllerWith(store, ['memory', 'kafka']).reconcile();
    expect(out.contract.brokers[0]).toMatchObject({
      store: 'kafka',
      storeSettings: { numPartitions: 3, replicationFactor: 1 },
    });
    expect(out.contract.triggers).toHaveLength(1);
  });

  it('without Kafka the same broker is not Ready and says how to serve it', () => {
    const { store } = setup([onKafkaChannels()]);
    const out = controllerWith(store, ['memory']).reconcile();
    expect(out.contract.brokers).toEqual([]);
    expect(out.ready[0]).toMatchObject({ status: 'False', reason: 'ChannelKindNotSupported' });
    expect(out.ready[0]?.message).toMatch(/--kafka-bootstrap/);
  });

  it('a broker whose config ConfigMap is missing is not Ready and names it', () => {
    const b = broker({
      config: { apiVersion: 'v1', kind: 'ConfigMap', name: 'nowhere', namespace: 'default' },
    });
    const { store } = setup([b]);
    const out = controllerWith(store, ['memory', 'kafka']).reconcile();
    expect(out.ready[0]).toMatchObject({ status: 'False', reason: 'ChannelTemplateFailed' });
    expect(out.ready[0]?.message).toMatch(/default\/nowhere/);
  });

  it('the Kafka class is served with Kafka, in a topic of its own', () => {
    const b = broker();
    b.metadata.annotations = { 'eventing.knative.dev/broker.class': 'Kafka' };
    const { store } = setup([b, trigger()]);
    const { contract } = controllerWith(store, ['memory', 'kafka']).reconcile();
    const [entry] = contract.brokers;
    expect(entry?.store).toBe('kafka');
    // Upstream's brokers.topic.template default: the topic a Broker moved from upstream already has.
    expect(entry?.storeSettings?.topic).toBe('knative-broker-default-default');
    // And its triggers.consumergroup.template default: the group a Trigger moved from upstream has.
    expect(contract.triggers.map((t) => t.consumerGroup)).toEqual(['knative-trigger-default-t']);
    expect(controllerWith(store, ['memory']).reconcile().contract.brokers).toEqual([]);
  });

  it('ordered delivery: a Trigger annotated delivery.order ordered, and every KafkaChannel subscription', () => {
    const t = trigger();
    t.metadata.annotations = { 'kafka.eventing.knative.dev/delivery.order': 'Ordered' };
    const kc = {
      apiVersion: 'messaging.knative.dev/v1beta1',
      kind: 'KafkaChannel',
      metadata: { name: 'kc', namespace: 'default' },
      spec: { numPartitions: 1, replicationFactor: 1 },
    } as Resource;
    const sub = {
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'Subscription',
      metadata: { name: 's', namespace: 'default' },
      spec: {
        channel: { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel', name: 'kc' },
        subscriber: { uri: 'http://sub.local/' },
      },
    } as Resource;
    const { store } = setup([onKafkaChannels(), t, kc, sub]);
    const out = controllerWith(store, ['memory', 'kafka']).reconcile();
    expect(out.contract.triggers[0]?.ordered).toBe(true);
    expect(out.contract.subscriptions?.[0]?.ordered).toBe(true);
  });

  it('KafkaChannel and NatsJetStreamChannel resources are served in their stores with their settings', () => {
    const kc = {
      apiVersion: 'messaging.knative.dev/v1beta1',
      kind: 'KafkaChannel',
      metadata: { name: 'kc', namespace: 'default' },
      spec: { numPartitions: 2, replicationFactor: 1, retentionDuration: 'PT1H' },
    } as Resource;
    const js = {
      apiVersion: 'messaging.knative.dev/v1alpha1',
      kind: 'NatsJetStreamChannel',
      metadata: { name: 'js', namespace: 'default' },
      spec: { stream: { config: { maxMsgs: 100 } } },
    } as Resource;
    const { store } = setup([kc, js]);
    const out = controllerWith(store, ['memory', 'kafka', 'jetstream']).reconcile();
    expect(out.contract.channels).toEqual([
      expect.objectContaining({
        name: 'kc',
        store: 'kafka',
        storeSettings: { numPartitions: 2, replicationFactor: 1, retentionMs: 3_600_000 },
      }),
      expect.objectContaining({
        name: 'js',
        store: 'jetstream',
        storeSettings: { stream: { config: { maxMsgs: 100 } } },
      }),
    ]);
    const memoryOnly = controllerWith(store, ['memory']).reconcile();
    expect(memoryOnly.contract.channels).toEqual([]);
    expect(memoryOnly.ready.find((r) => r.kind === 'NatsJetStreamChannel')?.message).toMatch(/--nats-url/);
  });
});

describe('Controller', () => {
  it('reconciles brokers before their triggers and sources, and bumps the contract generation only on change', () => {
    const b = broker();
    const t = trigger({ subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'display' } } });
    const p = {
      ...({
        apiVersion: 'sources.knative.dev/v1',
        kind: 'PingSource',
        metadata: { name: 'p', namespace: 'default' },
        spec: {
          schedule: '* * * * *',
          sink: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } },
        },
      } as Resource),
    };
    const { store } = setup([t, p, b]);
    const controller = new Controller(store, {
      ingressUrl,
      addressBook: { lookup: (ns, name) => book.get(`${ns}/${name}`) },
    });
    const pending = controller.reconcile();
    // Nothing has been applied yet: conditions that depend on the data plane are not assumed.
    expect(pending.ready.find((r) => r.kind === 'Broker')).toMatchObject({
      status: 'Unknown',
      reason: 'DataPlanePending',
    });
    const report = servedAll(pending.contract);
    // The scheduler reports its PingSources the same way.
    for (const p of pending.schedules) (report.served as Set<string>).add(p.uid ?? '');
    const first = controller.reconcile(report);
    expect(first.ready.every((r) => r.status === 'True')).toBe(true);
    expect(first.contract.brokers).toHaveLength(1);
    expect(first.contract.triggers).toHaveLength(1);
    expect(first.schedules[0]?.sinkUri).toBe('http://ingress.local/default/default');
    expect(controller.reconcile().contract.generation).toBe(first.contract.generation);
    store.delete('eventing.knative.dev', 'Broker', 'default', 'default');
    const after = controller.reconcile();
    expect(after.contract.generation).toBe(first.contract.generation + 1);
    expect(after.ready.find((r) => r.kind === 'Trigger')).toMatchObject({
      status: 'False',
      reason: 'BrokerDoesNotExist',
    });
  });

  it('keeps uid across updates and bumps generation only when the spec changes', () => {
    const store = new MemoryResourceStore();
    const a = store.apply(broker());
    const same = store.apply(broker());
    const changed = store.apply(broker({ delivery: { retry: 1 } }));
    expect(same.metadata.uid).toBe(a.metadata.uid);
    expect([a.metadata.generation, same.metadata.generation, changed.metadata.generation]).toEqual([1, 1, 2]);
  });
});
