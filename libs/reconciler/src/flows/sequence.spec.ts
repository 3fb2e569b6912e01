import {
  setDefaultsSequence,
  type Condition,
  type Resource,
  type Sequence,
  type Subscription,
} from '@eventing/api';
import { capabilitiesOf } from '../observation/observation';
import { AddressResolver } from '../resolver/address-resolver';
import { MemoryResourceStore } from '../store/memory-store';
import { reconcileSequence, sequenceChildName } from './sequence';
import { applyFlowResult, settleChildren } from './testing';

const MESSAGING = 'messaging.knative.dev';
const IMC = { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' };
const KAFKA = {
  apiVersion: 'messaging.knative.dev/v1beta1',
  kind: 'KafkaChannel',
  spec: { numPartitions: 4 },
};
const step = (name: string) => ({ uri: `http://${name}.fn.local/` });

function setup(spec: Sequence['spec']) {
  const store = new MemoryResourceStore();
  const seq = store.apply(
    setDefaultsSequence({
      apiVersion: 'flows.knative.dev/v1',
      kind: 'Sequence',
      metadata: { name: 'seq', namespace: 'ns' },
      spec,
    }) as Resource,
  ) as Sequence;
  const resolver = new AddressResolver(store, { lookup: () => undefined });
  const ctx = { store, resolver };
  const current = () => store.get('flows.knative.dev', 'Sequence', 'ns', 'seq') as Sequence;
  /** Reconciles the Sequence as the controller would, and the children's own statuses after it. */
  const round = async () => {
    const result = reconcileSequence(current(), ctx);
    await applyFlowResult(store, current(), result);
    await settleChildren(store, capabilitiesOf(['memory', 'kafka']));
    return result;
  };
  const edit = (next: Sequence['spec']) =>
    store.apply({ ...current(), spec: setDefaultsSequence({ ...current(), spec: next }).spec } as Resource);
  return { store, seq, ctx, current, round, edit };
}

const cond = (conds: Condition[] | undefined, type: string) => conds?.find((c) => c.type === type);
const subscription = (store: MemoryResourceStore, i: number) =>
  store.get(MESSAGING, 'Subscription', 'ns', sequenceChildName('seq', i)) as Subscription | undefined;
const names = (store: MemoryResourceStore, kind: string) =>
  store.list(kind, MESSAGING).map((r) => r.metadata.name);

describe('Sequence reconciler (CONFORMANCE 1.1 Sequence, 2.14)', () => {
  it('a channel and a Subscription per step, named <seq>-kn-sequence-<i>, owned by the Sequence', () => {
    const { seq, ctx } = setup({
      steps: [
        step('a'),
        { ...step('b'), delivery: { retry: 2, deadLetterSink: { uri: 'http://dls.local/' } } },
        step('c'),
      ],
      reply: { ref: { apiVersion: 'v1', kind: 'Service', name: 'out' } },
    });
    const { children } = reconcileSequence(seq, ctx);
    const owner = {
      apiVersion: 'flows.knative.dev/v1',
      kind: 'Sequence',
      name: 'seq',
      uid: seq.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    expect(children.map((c) => `${c.kind}/${c.metadata.namespace}/${c.metadata.name}`)).toEqual([
      'InMemoryChannel/ns/seq-kn-sequence-0',
      'InMemoryChannel/ns/seq-kn-sequence-1',
      'InMemoryChannel/ns/seq-kn-sequence-2',
      'Subscription/ns/seq-kn-sequence-0',
      'Subscription/ns/seq-kn-sequence-1',
      'Subscription/ns/seq-kn-sequence-2',
    ]);
    for (const c of children) {
      expect(c.metadata.ownerReferences).toEqual([owner]);
      expect(c.metadata.labels).toBeUndefined();
    }
    expect(children[0]).toMatchObject({ apiVersion: 'messaging.knative.dev/v1', spec: {} });
    const subs = children.slice(3).map((c) => (c as Subscription).spec);
    const channel = (i: number) => ({ ...IMC, name: `seq-kn-sequence-${i}` });
    expect(subs).toEqual([
      { channel: channel(0), subscriber: step('a'), reply: { ref: { ...channel(1), namespace: 'ns' } } },
      {
        channel: channel(1),
        subscriber: step('b'),
        reply: { ref: { ...channel(2), namespace: 'ns' } },
        // The Subscription's own defaults name the dead-letter sink's namespace (none here: a URI).
        delivery: { retry: 2, deadLetterSink: { uri: 'http://dls.local/' } },
      },
      {
        channel: channel(2),
        subscriber: step('c'),
        reply: { ref: { apiVersion: 'v1', kind: 'Service', name: 'out', namespace: 'ns' } },
      },
    ]);
  });

  it('without spec.reply the last step has no reply (its output is dropped)', () => {
    const { seq, ctx } = setup({ steps: [step('a'), step('b')] });
    const subs = reconcileSequence(seq, ctx).children.filter(
      (c) => c.kind === 'Subscription',
    ) as Subscription[];
    expect(subs[1]?.spec.reply).toBeUndefined();
    expect(subs[0]?.spec.reply?.ref?.name).toBe('seq-kn-sequence-1');
  });

  it('channels are of the template kind with its spec, defaulted as the webhook would', () => {
    const { seq, ctx } = setup({ steps: [step('a')], channelTemplate: KAFKA });
    const [channel, sub] = reconcileSequence(seq, ctx).children;
    expect(channel).toMatchObject({
      apiVersion: 'messaging.knative.dev/v1beta1',
      kind: 'KafkaChannel',
      metadata: { name: 'seq-kn-sequence-0', annotations: { 'messaging.knative.dev/subscribable': 'v1' } },
      spec: { numPartitions: 4, replicationFactor: 1, retentionDuration: 'PT168H' },
    });
    expect((sub as Subscription).spec.channel).toEqual({
      apiVersion: 'messaging.knative.dev/v1beta1',
      kind: 'KafkaChannel',
      name: 'seq-kn-sequence-0',
    });
  });

  it('before the children exist: every condition Unknown, saying what it waits for', () => {
    const { seq, ctx } = setup({ steps: [step('a'), step('b')] });
    const { status } = reconcileSequence(seq, ctx);
    expect(cond(status.conditions, 'ChannelsReady')).toMatchObject({
      status: 'Unknown',
      reason: 'ChannelsNotReady',
      message: 'Channels are not ready yet: InMemoryChannel seq-kn-sequence-0 does not exist yet',
    });
    expect(cond(status.conditions, 'SubscriptionsReady')).toMatchObject({
      status: 'Unknown',
      reason: 'SubscriptionsNotReady',
    });
    expect(cond(status.conditions, 'Addressable')).toMatchObject({
      status: 'Unknown',
      reason: 'emptyAddress',
    });
    expect(cond(status.conditions, 'EventPoliciesReady')).toMatchObject({
      status: 'True',
      reason: 'OIDCDisabled',
    });
    expect(cond(status.conditions, 'Ready')?.status).toBe('Unknown');
    expect(status.address).toBeUndefined();
    expect(status.channelStatuses?.[1]).toEqual({
      channel: {
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'InMemoryChannel',
        name: 'seq-kn-sequence-1',
        namespace: 'ns',
      },
      ready: {
        type: 'Ready',
        status: 'Unknown',
        reason: 'NoReady',
        message: 'Channel does not have Ready condition',
      },
    });
    expect(status.subscriptionStatuses?.[0]?.ready.reason).toBe('NoReady');
  });

  it('once the children are ready: Ready, with the first channel as the address', async () => {
    const { round, current } = setup({ steps: [step('a'), step('b'), step('c')] });
    await round();
    await round();
    const status = current().status as Sequence['status'];
    expect(cond(status?.conditions, 'Ready')?.status).toBe('True');
    expect(status?.address).toEqual({ url: 'http://eventing.local/_channels/ns/seq-kn-sequence-0' });
    expect(status?.channelStatuses?.map((c) => [c.channel.name, c.ready.status])).toEqual([
      ['seq-kn-sequence-0', 'True'],
      ['seq-kn-sequence-1', 'True'],
      ['seq-kn-sequence-2', 'True'],
    ]);
    expect(status?.subscriptionStatuses?.map((s) => [s.subscription.name, s.ready.status])).toEqual([
      ['seq-kn-sequence-0', 'True'],
      ['seq-kn-sequence-1', 'True'],
      ['seq-kn-sequence-2', 'True'],
    ]);
    expect(status?.observedGeneration).toBe(1);
  });

  it('the status is stable: reconciling again with nothing changed computes the same status', async () => {
    const { round, current, ctx } = setup({ steps: [step('a'), step('b')] });
    await round();
    await round();
    const before = current().status;
    expect(reconcileSequence(current(), ctx).status).toEqual(before);
  });

  it('a step whose Subscription is not ready keeps the Sequence not Ready and names it', async () => {
    const { round, current, store } = setup({
      steps: [step('a'), { ref: { apiVersion: 'v1', kind: 'Service', name: 'missing' } }],
    });
    await round();
    await round();
    const status = current().status as Sequence['status'];
    expect(cond(subscription(store, 1)?.status?.conditions, 'Ready')?.status).toBe('False');
    expect(cond(status?.conditions, 'SubscriptionsReady')).toMatchObject({
      status: 'Unknown',
      reason: 'SubscriptionsNotReady',
    });
    expect(cond(status?.conditions, 'SubscriptionsReady')?.message).toMatch(
      /^Subscriptions are not ready yet: Subscription seq-kn-sequence-1 is not ready \(ReferencesNotResolved: subscriber: Service ns\/missing/,
    );
    expect(cond(status?.conditions, 'Ready')?.status).toBe('Unknown');
    expect(status?.subscriptionStatuses?.[1]?.ready).toMatchObject({ type: 'Ready', status: 'False' });
    expect(cond(status?.conditions, 'ChannelsReady')?.status).toBe('True');
  });

  it('a channel kind not served here keeps ChannelsReady Unknown with the channel reason', async () => {
    const store = new MemoryResourceStore();
    const seq = store.apply(
      setDefaultsSequence({
        apiVersion: 'flows.knative.dev/v1',
        kind: 'Sequence',
        metadata: { name: 'seq', namespace: 'ns' },
        spec: {
          steps: [step('a')],
          channelTemplate: { apiVersion: 'messaging.knative.dev/v1alpha1', kind: 'NatsJetStreamChannel' },
        },
      }) as Resource,
    ) as Sequence;
    const ctx = { store };
    await applyFlowResult(store, seq, reconcileSequence(seq, ctx));
    await settleChildren(store);
    const message = cond(reconcileSequence(seq, ctx).status.conditions, 'ChannelsReady')?.message;
    expect(message).toContain('NatsJetStreamChannel seq-kn-sequence-0 is not ready (ChannelKindNotSupported');
    expect(message).toContain('--nats-url');
  });

  it('inserting a step in the middle retargets the children after it in place and adds the last ones', async () => {
    const { round, edit, store, current } = setup({
      steps: [step('a'), step('b'), step('c')],
      reply: { uri: 'http://end.local/' },
    });
    await round();
    const uids = names(store, 'Subscription').map(
      (n) => store.get(MESSAGING, 'Subscription', 'ns', n ?? '')?.metadata.uid,
    );
    edit({ steps: [step('a'), step('x'), step('b'), step('c')], reply: { uri: 'http://end.local/' } });
    const held = await round();
    expect(names(store, 'InMemoryChannel')).toEqual([0, 1, 2, 3].map((i) => `seq-kn-sequence-${i}`));
    expect(names(store, 'Subscription')).toEqual([0, 1, 2, 3].map((i) => `seq-kn-sequence-${i}`));
    const spec = (i: number) => subscription(store, i)?.spec;
    const wiring = () =>
      [0, 1, 2, 3].map((i) => [spec(i)?.subscriber.uri, spec(i)?.reply?.ref?.name ?? spec(i)?.reply?.uri]);
    // Make before break: step 2 keeps replying to the end until the new last Subscription runs, so
    // nothing is sent into the new channel before it is read.
    expect(wiring()).toEqual([
      ['http://a.fn.local/', 'seq-kn-sequence-1'],
      ['http://x.fn.local/', 'seq-kn-sequence-2'],
      ['http://c.fn.local/', 'http://end.local/'],
      ['http://c.fn.local/', 'http://end.local/'],
    ]);
    expect(cond(held.status.conditions, 'SubscriptionsReady')).toMatchObject({
      status: 'Unknown',
      message:
        'Subscriptions are not ready yet: Subscription seq-kn-sequence-2 waits for Subscription seq-kn-sequence-3 to be ready before it sends into its channel',
    });
    await round();
    expect(wiring()).toEqual([
      ['http://a.fn.local/', 'seq-kn-sequence-1'],
      ['http://x.fn.local/', 'seq-kn-sequence-2'],
      ['http://b.fn.local/', 'seq-kn-sequence-3'],
      ['http://c.fn.local/', 'http://end.local/'],
    ]);
    // Updated in place: the same objects (same uid), so their queues and consumers stay.
    expect([0, 1, 2].map((i) => subscription(store, i)?.metadata.uid)).toEqual(uids);
    await round();
    expect(cond((current().status as Sequence['status'])?.conditions, 'Ready')?.status).toBe('True');
    expect((current().status as Sequence['status'])?.subscriptionStatuses).toHaveLength(4);
  });

  it('removing steps deletes the channels and Subscriptions past the end; others it does not own stay', async () => {
    const { round, edit, store } = setup({ steps: [step('a'), step('b'), step('c')] });
    store.apply({
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'InMemoryChannel',
      metadata: { name: 'seq-kn-sequence-9', namespace: 'ns' },
    });
    await round();
    edit({ steps: [step('a')] });
    await round();
    expect(names(store, 'InMemoryChannel')).toEqual(['seq-kn-sequence-0', 'seq-kn-sequence-9']);
    expect(names(store, 'Subscription')).toEqual(['seq-kn-sequence-0']);
    expect(subscription(store, 0)?.spec.reply).toBeUndefined();
  });

  it('changing the channel template replaces every channel with one of the new kind', async () => {
    const { round, edit, store } = setup({ steps: [step('a'), step('b')] });
    await round();
    edit({ steps: [step('a'), step('b')], channelTemplate: KAFKA });
    await round();
    expect(names(store, 'InMemoryChannel')).toEqual([]);
    expect(names(store, 'KafkaChannel')).toEqual(['seq-kn-sequence-0', 'seq-kn-sequence-1']);
    expect(subscription(store, 0)?.spec.channel.kind).toBe('KafkaChannel');
    expect(subscription(store, 0)?.spec.reply?.ref?.kind).toBe('KafkaChannel');
  });

  it('deleting the Sequence deletes everything it owns', async () => {
    const { round, store } = setup({ steps: [step('a'), step('b')] });
    await round();
    store.remove('flows.knative.dev', 'Sequence', 'ns', 'seq');
    expect(names(store, 'InMemoryChannel')).toEqual([]);
    expect(names(store, 'Subscription')).toEqual([]);
  });
});
