import { setDefaultsApiServerSource, type EventType, type Resource } from '@eventing/api';
import { Controller, type ContractBody } from '../controller/controller';
import { MemoryResourceStore } from '../store/memory-store';
import { configureSources } from '../sources/settings';
import { SOURCE_NAME_LABEL } from './source-eventtypes';

// Sources publish the types they emit: a PingSource whose sink is a Broker or a channel owns one
// EventType per status.ceAttributes entry, reconciled through the real Controller loop.
const broker: Resource = {
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  metadata: {
    name: 'default',
    namespace: 'ns',
    uid: 'b-uid',
    annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' },
  },
  spec: {},
};
const ping = (sink: object): Resource => ({
  apiVersion: 'sources.knative.dev/v1',
  kind: 'PingSource',
  metadata: { name: 'heartbeat', namespace: 'ns', uid: 'p-uid', generation: 1 },
  spec: { schedule: '* * * * *', data: 'x', sink },
});
const eventTypes = (store: MemoryResourceStore) =>
  store.list('EventType', 'eventing.knative.dev') as EventType[];

describe('sources publish their event types as EventTypes', () => {
  let store: MemoryResourceStore;
  let controller: Controller;
  beforeEach(() => {
    store = new MemoryResourceStore();
    controller = new Controller(store, {
      ingressUrl: (ns, name) => `http://ingress.local/${ns}/${name}`,
      channelUrl: (ns, name) => `http://ingress.local/_channels/${ns}/${name}`,
      addressBook: { lookup: () => 'http://display.local/' },
      // A data plane that serves whatever it is given, so Brokers become addressable.
      contract: {
        publish: (body: ContractBody) =>
          Promise.resolve({
            generation: 1,
            served: new Set([...body.brokers, ...body.triggers].map((e) => e.uid)),
            failed: new Map(),
          }),
      },
    });
    controller.start();
  });
  afterEach(() => controller.stop());

  it('a PingSource with a Broker sink owns an EventType for dev.knative.sources.ping, pruned when the sink is a URI', async () => {
    store.apply(broker);
    store.apply(ping({ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } }));
    await controller.idle();
    const [et, ...rest] = eventTypes(store);
    expect(rest).toHaveLength(0);
    expect(et!.metadata.labels).toEqual({ [SOURCE_NAME_LABEL]: 'heartbeat' });
    expect(et!.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'PingSource', name: 'heartbeat', uid: 'p-uid', controller: true }),
    ]);
    expect(et!.spec.reference).toEqual({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      name: 'default',
      namespace: 'ns',
    });
    expect(et!.spec.attributes).toEqual(
      expect.arrayContaining([
        { name: 'type', required: true, value: 'dev.knative.sources.ping' },
        { name: 'source', required: true, value: '/apis/v1/namespaces/ns/pingsources/heartbeat' },
      ]),
    );
    // The same source reconciled again keeps the same name.
    const name = et!.metadata.name;
    store.apply({
      ...ping({ ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } }),
    });
    await controller.idle();
    expect(eventTypes(store).map((e) => e.metadata.name)).toEqual([name]);

    store.apply(ping({ uri: 'http://elsewhere.local/' }));
    await controller.idle();
    expect(eventTypes(store)).toHaveLength(0);
  });

  it('a PingSource with a plain URI sink publishes none', async () => {
    store.apply(ping({ uri: 'http://elsewhere.local/' }));
    await controller.idle();
    expect(eventTypes(store)).toHaveLength(0);
  });

  it('an ApiServerSource with a Broker sink owns one EventType per type of its mode, next to its adapter', async () => {
    configureSources({ apiServerUrl: 'https://10.96.0.1:443', apiServerSourceImage: 'example/eventing:1' });
    store.apply(broker);
    store.apply(
      setDefaultsApiServerSource({
        apiVersion: 'sources.knative.dev/v1',
        kind: 'ApiServerSource',
        metadata: { name: 'cm-events', namespace: 'ns', uid: 'a-uid' },
        spec: {
          resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }],
          sink: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } },
        },
      } as never) as Resource,
    );
    await controller.idle();
    const types = eventTypes(store)
      .map((e) => e.spec.attributes?.find((a) => a.name === 'type')?.value)
      .sort();
    expect(types).toEqual([
      'dev.knative.apiserver.ref.add',
      'dev.knative.apiserver.ref.delete',
      'dev.knative.apiserver.ref.update',
    ]);
    for (const e of eventTypes(store)) {
      expect(e.metadata.labels).toEqual({ [SOURCE_NAME_LABEL]: 'cm-events' });
      expect(e.spec.attributes).toContainEqual({
        name: 'source',
        required: true,
        value: 'https://10.96.0.1:443',
      });
    }
    expect(store.list('Deployment', 'apps')).toHaveLength(1);
  });
});
