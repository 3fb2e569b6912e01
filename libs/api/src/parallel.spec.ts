import {
  ParallelConditionSet,
  ParallelKind,
  setDefaultsParallel,
  validateParallel,
  type Parallel,
} from './parallel';
import { kindFor } from './registry';
import { withPath } from './testdata';

const IMC = { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' };
const NATS = { apiVersion: 'messaging.knative.dev/v1alpha1', kind: 'NatsJetStreamChannel' };
const svc = (name: string) => ({ ref: { apiVersion: 'v1', kind: 'Service', name } });
const withNs = (name: string) => ({ ref: { ...svc(name).ref, namespace: 'ns' } });

const bare: Parallel = {
  apiVersion: 'flows.knative.dev/v1',
  kind: 'Parallel',
  metadata: { name: 'par', namespace: 'ns' },
  spec: {
    branches: [
      { filter: svc('f0'), subscriber: svc('s0'), reply: svc('r0'), delivery: { retry: 1 } },
      { subscriber: { uri: 'http://s1.example/' } },
    ],
    reply: svc('out'),
  },
};
const base = setDefaultsParallel(bare);

const paths = (obj: unknown, ctx = {}) => validateParallel(obj, ctx).map((e) => e.path);

describe('Parallel kind (1.1)', () => {
  it('is flows.knative.dev/v1 with upstream names, categories, label and columns', () => {
    expect(kindFor('flows.knative.dev/v1', 'Parallel')).toBe(ParallelKind);
    expect(ParallelKind).toMatchObject({
      plural: 'parallels',
      singular: 'parallel',
      categories: ['all', 'knative', 'flows'],
      labels: { 'duck.knative.dev/addressable': 'true' },
    });
    expect(ParallelKind.printerColumns.map((c) => c.name)).toEqual(['URL', 'Age', 'Ready', 'Reason']);
    expect(ParallelConditionSet.types).toEqual([
      'Ready',
      'ChannelsReady',
      'SubscriptionsReady',
      'Addressable',
      'EventPoliciesReady',
    ]);
  });
});

describe('Parallel defaults (1.3)', () => {
  it('channelTemplate from default-ch-webhook; filter, subscriber, branch reply and reply refs get the namespace', () => {
    expect(base.spec?.channelTemplate).toEqual(IMC);
    expect(base.spec?.branches?.[0]).toEqual({
      filter: withNs('f0'),
      subscriber: withNs('s0'),
      reply: withNs('r0'),
      delivery: { retry: 1 },
    });
    expect(base.spec?.branches?.[1]).toEqual({ subscriber: { uri: 'http://s1.example/' } });
    expect(base.spec?.reply).toEqual(withNs('out'));
    expect(bare.spec?.branches?.[0]?.filter?.ref?.namespace).toBeUndefined();
  });

  it('the namespace default of default-ch-webhook wins; an explicit template is kept', () => {
    const channelDefaults = { clusterDefault: IMC, namespaceDefaults: { ns: NATS } };
    expect(setDefaultsParallel(bare, { channelDefaults }).spec?.channelTemplate).toEqual(NATS);
    const explicit = withPath(bare, 'spec.channelTemplate', IMC);
    expect(setDefaultsParallel(explicit, { channelDefaults }).spec?.channelTemplate).toEqual(IMC);
  });

  it('a branch without a subscriber is left for validation to report', () => {
    const out = setDefaultsParallel(withPath(bare, 'spec.branches', [{ filter: svc('f') }]));
    expect(out.spec?.branches?.[0]).toEqual({ filter: withNs('f') });
  });
});

describe('Parallel validation (1.3)', () => {
  it.each<[string, unknown, string[]]>([
    ['valid', base, []],
    ['no branches', withPath(base, 'spec.branches', []), ['spec.branches']],
    ['branches missing', withPath(base, 'spec.branches', undefined), ['spec.branches']],
    ['subscriber missing', withPath(base, 'spec.branches.1', {}), ['spec.branches[1].subscriber']],
    ['subscriber empty', withPath(base, 'spec.branches.1.subscriber', {}), ['spec.branches[1].subscriber']],
    [
      'subscriber relative uri',
      withPath(base, 'spec.branches.1.subscriber', { uri: 'x' }),
      ['spec.branches[1].subscriber.uri'],
    ],
    ['filter empty', withPath(base, 'spec.branches.0.filter', {}), ['spec.branches[0].filter']],
    [
      'filter ref without kind',
      withPath(base, 'spec.branches.0.filter.ref.kind', ''),
      ['spec.branches[0].filter.ref.kind'],
    ],
    ['branch reply empty', withPath(base, 'spec.branches.0.reply', {}), ['spec.branches[0].reply']],
    [
      'branch delivery invalid',
      withPath(base, 'spec.branches.0.delivery', { retry: -2 }),
      ['spec.branches[0].delivery.retry'],
    ],
    ['channelTemplate missing', withPath(bare, 'spec.channelTemplate', undefined), ['spec.channelTemplate']],
    [
      'channelTemplate without apiVersion and kind',
      withPath(base, 'spec.channelTemplate', {}),
      ['spec.channelTemplate.apiVersion', 'spec.channelTemplate.kind'],
    ],
    ['reply empty', withPath(base, 'spec.reply', {}), ['spec.reply']],
    ['unknown branch field (shape)', withPath(base, 'spec.branches.0.steps', []), ['spec.branches[0].steps']],
  ])('%s', (_name, obj, expected) => {
    expect(paths(obj)).toEqual(expected);
  });

  it('the message for no branches says what is needed', () => {
    expect(validateParallel(withPath(base, 'spec.branches', [])).map(String)).toEqual([
      'spec.branches: missing field(s): a Parallel needs at least one branch',
    ]);
  });
});
