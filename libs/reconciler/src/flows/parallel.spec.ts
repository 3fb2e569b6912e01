import {
  setDefaultsParallel,
  type Condition,
  type Parallel,
  type Resource,
  type Subscription,
} from '@eventing/api';
import { MemoryResourceStore } from '../store/memory-store';
import { reconcileParallel } from './parallel';
import { applyFlowResult, settleChildren } from './testing';

const MESSAGING = 'messaging.knative.dev';
const IMC = { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' };
const fn = (name: string) => ({ uri: `http://${name}.fn.local/` });
const svc = (name: string) => ({ ref: { apiVersion: 'v1', kind: 'Service', name, namespace: 'ns' } });

function setup(spec: Parallel['spec']) {
  const store = new MemoryResourceStore();
  store.apply(
    setDefaultsParallel({
      apiVersion: 'flows.knative.dev/v1',
      kind: 'Parallel',
      metadata: { name: 'par', namespace: 'ns' },
      spec,
    }) as Resource,
  );
  const ctx = { store };
  const current = () => store.get('flows.knative.dev', 'Parallel', 'ns', 'par') as Parallel;
  const round = async () => {
    const result = reconcileParallel(current(), ctx);
    await applyFlowResult(store, current(), result);
    await settleChildren(store);
    return result;
  };
  const edit = (next: Parallel['spec']) =>
    store.apply({ ...current(), spec: setDefaultsParallel({ ...current(), spec: next }).spec } as Resource);
  return { store, ctx, current, round, edit };
}

const cond = (conds: Condition[] | undefined, type: string) => conds?.find((c) => c.type === type);
const names = (store: MemoryResourceStore, kind: string) =>
  store.list(kind, MESSAGING).map((r) => r.metadata.name);
const sub = (store: MemoryResourceStore, name: string) =>
  store.get(MESSAGING, 'Subscription', 'ns', name) as Subscription | undefined;
const channel = (name: string, namespace?: string) => ({ ...IMC, name, ...(namespace ? { namespace } : {}) });

const THREE_BRANCHES: Parallel['spec'] = {
  branches: [
    { filter: fn('f0'), subscriber: fn('s0'), reply: fn('r0'), delivery: { retry: 3 } },
    { filter: fn('f1'), subscriber: fn('s1') },
    { subscriber: svc('s2') },
  ],
  reply: fn('global'),
};

describe('Parallel reconciler (CONFORMANCE 1.1 Parallel, 2.14)', () => {
  it("an ingress channel, and per branch a channel, a filter Subscription and a subscriber Subscription, upstream's names", () => {
    const { ctx, current } = setup(THREE_BRANCHES);
    const p = current();
    const { children } = reconcileParallel(p, ctx);
    expect(children.map((c) => `${c.kind}/${c.metadata.name}`)).toEqual([
      'InMemoryChannel/par-kn-parallel',
      'InMemoryChannel/par-kn-parallel-0',
      'InMemoryChannel/par-kn-parallel-1',
      'InMemoryChannel/par-kn-parallel-2',
      'Subscription/par-kn-parallel-filter-0',
      'Subscription/par-kn-parallel-filter-1',
      'Subscription/par-kn-parallel-filter-2',
      'Subscription/par-kn-parallel-0',
      'Subscription/par-kn-parallel-1',
      'Subscription/par-kn-parallel-2',
    ]);
    for (const c of children)
      expect(c.metadata).toMatchObject({
        namespace: 'ns',
        ownerReferences: [
          {
            apiVersion: 'flows.knative.dev/v1',
            kind: 'Parallel',
            name: 'par',
            uid: p.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      });
    const specs = Object.fromEntries(
      children
        .filter((c) => c.kind === 'Subscription')
        .map((c) => [c.metadata.name, (c as Subscription).spec]),
    );
    // A filter replies into the branch channel; without a filter the branch channel is the subscriber.
    expect(specs['par-kn-parallel-filter-0']).toEqual({
      channel: channel('par-kn-parallel'),
      subscriber: fn('f0'),
      reply: { ref: channel('par-kn-parallel-0', 'ns') },
    });
    expect(specs['par-kn-parallel-filter-2']).toEqual({
      channel: channel('par-kn-parallel'),
      subscriber: { ref: channel('par-kn-parallel-2', 'ns') },
    });
    // The branch subscriber: the branch's delivery; its reply, else the Parallel's.
    expect(specs['par-kn-parallel-0']).toEqual({
      channel: channel('par-kn-parallel-0'),
      subscriber: fn('s0'),
      reply: fn('r0'),
      delivery: { retry: 3 },
    });
    expect(specs['par-kn-parallel-1']).toEqual({
      channel: channel('par-kn-parallel-1'),
      subscriber: fn('s1'),
      reply: fn('global'),
    });
    expect(specs['par-kn-parallel-2']).toEqual({
      channel: channel('par-kn-parallel-2'),
      subscriber: svc('s2'),
      reply: fn('global'),
    });
  });

  it('without any reply a branch subscriber has none', () => {
    const { ctx, current } = setup({ branches: [{ subscriber: fn('s') }] });
    const subs = reconcileParallel(current(), ctx).children.filter((c) => c.kind === 'Subscription');
    expect((subs[1] as Subscription).spec.reply).toBeUndefined();
  });

  it('before the channels have addresses: ChannelsReady and Addressable False, as upstream', () => {
    const { ctx, current } = setup(THREE_BRANCHES);
    const { status } = reconcileParallel(current(), ctx);
    expect(cond(status.conditions, 'ChannelsReady')).toMatchObject({
      status: 'False',
      reason: 'ChannelsNotReady',
      message: 'Channels are not ready yet: InMemoryChannel par-kn-parallel does not exist yet',
    });
    expect(cond(status.conditions, 'Addressable')).toMatchObject({
      status: 'False',
      reason: 'emptyAddress',
      message: 'addressable is nil',
    });
    expect(cond(status.conditions, 'SubscriptionsReady')).toMatchObject({ status: 'False' });
    expect(cond(status.conditions, 'Ready')?.status).toBe('False');
    expect(status.ingressChannelStatus).toEqual({
      channel: { ...IMC, name: 'par-kn-parallel', namespace: 'ns' },
      ready: {
        type: 'Ready',
        status: 'False',
        reason: 'NotAddressable',
        message: 'Channel is not addressable',
      },
    });
    expect(status.branchStatuses).toHaveLength(3);
    expect(status.branchStatuses?.[2]?.filterSubscriptionStatus.subscription.name).toBe(
      'par-kn-parallel-filter-2',
    );
    expect(status.branchStatuses?.[2]?.subscriberSubscriptionStatus.subscription.name).toBe(
      'par-kn-parallel-2',
    );
  });

  it('once every child is ready: Ready, the ingress channel as the address, every branch reported', async () => {
    const { round, current } = setup({
      branches: [{ filter: fn('f0'), subscriber: fn('s0') }, { subscriber: fn('s1') }],
    });
    await round();
    await round();
    const status = current().status as Parallel['status'];
    expect(cond(status?.conditions, 'Ready')?.status).toBe('True');
    expect(status?.address).toEqual({
      name: 'http',
      url: 'http://eventing.local/_channels/ns/par-kn-parallel',
    });
    expect(status?.ingressChannelStatus?.ready).toEqual({ type: 'Ready', status: 'True' });
    expect(
      status?.branchStatuses?.map((b) => [
        b.filterChannelStatus.channel.name,
        b.filterChannelStatus.ready.status,
        b.filterSubscriptionStatus.ready.status,
        b.subscriberSubscriptionStatus.ready.status,
      ]),
    ).toEqual([
      ['par-kn-parallel-0', 'True', 'True', 'True'],
      ['par-kn-parallel-1', 'True', 'True', 'True'],
    ]);
  });

  it('a branch whose subscriber cannot be resolved: SubscriptionsReady False naming its Subscription', async () => {
    const { round, current } = setup({
      branches: [
        { subscriber: fn('s0') },
        { subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'gone' } } },
      ],
    });
    await round();
    await round();
    const c = cond((current().status as Parallel['status'])?.conditions, 'SubscriptionsReady');
    expect(c).toMatchObject({ status: 'False', reason: 'SubscriptionsNotReady' });
    expect(c?.message).toContain('Subscription par-kn-parallel-1 is not ready (ReferencesNotResolved');
  });

  it('removing a branch deletes its channel and both its Subscriptions; changing one updates in place', async () => {
    const { round, edit, store } = setup(THREE_BRANCHES);
    await round();
    const uid = sub(store, 'par-kn-parallel-filter-0')?.metadata.uid;
    edit({ branches: [{ subscriber: fn('s0') }, { filter: fn('f1'), subscriber: fn('s1') }] });
    await round();
    expect(names(store, 'InMemoryChannel')).toEqual([
      'par-kn-parallel',
      'par-kn-parallel-0',
      'par-kn-parallel-1',
    ]);
    expect(names(store, 'Subscription')).toEqual([
      'par-kn-parallel-0',
      'par-kn-parallel-1',
      'par-kn-parallel-filter-0',
      'par-kn-parallel-filter-1',
    ]);
    // Branch 0 lost its filter: its filter Subscription now forwards into the branch channel.
    expect(sub(store, 'par-kn-parallel-filter-0')?.spec).toEqual({
      channel: channel('par-kn-parallel'),
      subscriber: { ref: channel('par-kn-parallel-0', 'ns') },
    });
    expect(sub(store, 'par-kn-parallel-filter-0')?.metadata.uid).toBe(uid);
    expect(sub(store, 'par-kn-parallel-0')?.spec.reply).toBeUndefined();
  });

  it('a branch added to a running Parallel: its filter Subscription comes once the branch subscriber runs', async () => {
    const { round, edit, store, current, ctx } = setup({ branches: [{ subscriber: fn('s0') }] });
    await round();
    await round();
    edit({ branches: [{ subscriber: fn('s0') }, { filter: fn('f1'), subscriber: fn('s1') }] });
    await round();
    // The ingress channel already carries events: nothing may go into the new branch channel unread.
    expect(sub(store, 'par-kn-parallel-1')).toBeDefined();
    expect(sub(store, 'par-kn-parallel-filter-1')).toBeUndefined();
    expect(cond(reconcileParallel(current(), ctx).status.conditions, 'SubscriptionsReady')?.message).toBe(
      'Subscriptions are not ready yet: Subscription par-kn-parallel-filter-1 does not exist yet',
    );
    await round();
    expect(sub(store, 'par-kn-parallel-filter-1')?.spec.subscriber).toEqual(fn('f1'));
    await round();
    expect(cond((current().status as Parallel['status'])?.conditions, 'Ready')?.status).toBe('True');
  });

  it('the status is stable across reconciles with nothing changed', async () => {
    const { round, current, ctx } = setup(THREE_BRANCHES);
    await round();
    await round();
    expect(reconcileParallel(current(), ctx).status).toEqual(current().status);
  });
});
