import type { Resource, Subscription } from '@eventing/api';
import { MemoryResourceStore } from './store/memory-store';
import { AddressResolver } from './resolver/address-resolver';
import { reconcileChannel } from './channel/reconcile';
import { reconcileSubscription } from './subscription/reconcile';
import { Controller } from './controller/controller';
import { MEMORY_CAPABILITIES } from './observation/observation';

const channelUrl = (ns: string, name: string) => `http://ch.local/_channels/${ns}/${name}`;
const SERVED = { status: 'True' } as const;
const chctx = (resolver: AddressResolver, subscribers: { uid: string; generation: number }[] = []) => ({
  channelUrl,
  resolver,
  subscribers: subscribers.map((s) => ({ ...s, observed: SERVED })),
  capabilities: MEMORY_CAPABILITIES,
  observed: SERVED,
});
const subctx = (resolver: AddressResolver, channelAdmitted = true) => ({
  resolver,
  channelAdmitted,
  observed: SERVED,
});
/** Everything of a contract served, as the data plane would report it. */
const servedAll = (c: {
  generation: number;
  brokers: { uid: string }[];
  channels?: { uid: string }[];
  subscriptions?: { uid: string }[];
}) => ({
  generation: c.generation,
  served: new Set([...c.brokers, ...(c.channels ?? []), ...(c.subscriptions ?? [])].map((e) => e.uid)),
  failed: new Map<string, string>(),
});
const cond = (status: { conditions?: { type: string; status: string; reason?: string }[] }, type: string) =>
  status.conditions?.find((c) => c.type === type);

function setup(resources: Resource[] = []) {
  const store = new MemoryResourceStore();
  for (const r of resources) store.apply(r);
  return { store, resolver: new AddressResolver(store, { lookup: () => undefined }) };
}

const imc = (name: string, spec: object = {}): Resource => ({
  apiVersion: 'messaging.knative.dev/v1',
  kind: 'InMemoryChannel',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, generation: 1 },
  spec,
});
const subscription = (spec: Partial<Subscription['spec']> = {}): Subscription =>
  ({
    apiVersion: 'messaging.knative.dev/v1',
    kind: 'Subscription',
    metadata: { name: 's', namespace: 'default', uid: 'su', generation: 3 },
    spec: {
      channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', name: 'c' },
      subscriber: { uri: 'http://sub.local/' },
      ...spec,
    },
  }) as Subscription;

describe('channel reconciler', () => {
  it('1.6-1: an InMemoryChannel is Ready with its address and reports its subscribers ready', () => {
    const { resolver } = setup();
    const status = reconcileChannel(
      imc('c') as never,
      chctx(resolver, [{ uid: 'su', generation: 3 }]),
    ).status;
    expect(status.address).toEqual({ name: 'http', url: 'http://ch.local/_channels/default/c' });
    expect(cond(status, 'Ready')?.status).toBe('True');
    expect(status.subscribers).toEqual([{ uid: 'su', observedGeneration: 3, ready: 'True' }]);
  });

  it('a Channel reports its backing channel from the template', () => {
    const { resolver } = setup();
    const ch = {
      ...imc('c', { channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' } }),
      kind: 'Channel',
    };
    const status = reconcileChannel(ch as never, chctx(resolver)).status;
    expect(status.channel).toEqual({
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'InMemoryChannel',
      name: 'c',
      namespace: 'default',
    });
    expect(cond(status, 'BackingChannelReady')?.status).toBe('True');
    expect(cond(status, 'Ready')?.status).toBe('True');
  });
});

describe('subscription reconciler', () => {
  it('1.6-6: a subscription to a missing channel is not Ready and has no data-plane entry', () => {
    const { resolver } = setup();
    const r = reconcileSubscription(subscription(), undefined, subctx(resolver, false));
    expect(cond(r.status, 'ReferencesResolved')?.status).toBe('False');
    expect(cond(r.status, 'Ready')?.status).toBe('False');
    expect(r.egress).toBeUndefined();
  });

  it('resolves subscriber and reply into physicalSubscription; delivery falls back to the channel as a unit', () => {
    const channel = { ...imc('c', { delivery: { retry: 4, deadLetterSink: { uri: 'http://dls.local/' } } }) };
    const { store, resolver } = setup([channel, imc('out')]);
    const controller = new Controller(store, {
      ingressUrl: () => '',
      channelUrl,
      addressBook: { lookup: () => undefined },
    });
    controller.reconcile(servedAll(controller.reconcile().contract));
    const stored = store.get('messaging.knative.dev', 'InMemoryChannel', 'default', 'c') as never;
    const r = reconcileSubscription(
      subscription({
        reply: { ref: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', name: 'out' } },
      }),
      stored,
      subctx(resolver),
    );
    expect(r.status.physicalSubscription).toEqual({
      subscriberUri: 'http://sub.local/',
      replyUri: 'http://ch.local/_channels/default/out',
      deadLetterSinkUri: 'http://dls.local/',
    });
    expect(cond(r.status, 'Ready')?.status).toBe('True');
    expect(r.egress).toMatchObject({
      channel: { namespace: 'default', name: 'c' },
      policy: { retry: 4 },
      deadLetterUri: 'http://dls.local/',
    });
    const own = reconcileSubscription(subscription({ delivery: { retry: 1 } }), stored, subctx(resolver));
    expect(own.egress?.policy.retry).toBe(1);
    expect(own.egress?.deadLetterUri).toBe('http://dls.local/');
  });

  it('the controller puts channels and their subscriptions into the contract', () => {
    const { store } = setup([imc('c'), subscription() as Resource]);
    const controller = new Controller(store, {
      ingressUrl: () => '',
      channelUrl,
      addressBook: { lookup: () => undefined },
    });
    const out = controller.reconcile(servedAll(controller.reconcile().contract));
    expect(out.contract.channels).toEqual([{ uid: 'uid-c', namespace: 'default', name: 'c' }]);
    expect(out.contract.subscriptions?.map((s) => s.uid)).toEqual([expect.any(String)]);
    expect(out.ready.every((r) => r.status === 'True')).toBe(true);
  });
});
