import type { EventType, Resource } from '@eventing/api';
import { Controller } from '../controller/controller';
import { MemoryResourceStore } from '../store/memory-store';
import { SOURCE_NAME_LABEL } from './source-eventtypes';

// Sources publish the types they emit: a PingSource whose sink is a Broker or a channel owns one
// EventType per status.ceAttributes entry, reconciled through the real Controller loop.
const broker: Resource = {
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  metadata: { name: 'default', namespace: 'ns', uid: 'b-uid' },
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
});
