import {
  SubscriptionConditionSet,
  SubscriptionKind,
  setDefaultsSubscription,
  validateSubscription,
  type Subscription,
} from './subscription';
import { TEST_CERT, withPath } from './testdata';

const CHANNEL = { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel', name: 'imc' };
const base: Subscription = {
  apiVersion: 'messaging.knative.dev/v1',
  kind: 'Subscription',
  metadata: { name: 'sub', namespace: 'ns' },
  spec: { channel: CHANNEL, subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'svc' } } },
};

const paths = (obj: unknown, ctx = {}) => validateSubscription(obj, ctx).map((e) => e.path);
const ref = (name: string) => ({ ref: { apiVersion: 'v1', kind: 'Service', name } });

describe('Subscription defaults (1.3)', () => {
  it('subscriber, reply and dead letter sink refs get the namespace; the channel ref does not', () => {
    const out = setDefaultsSubscription({
      ...base,
      spec: { ...base.spec, reply: ref('r'), delivery: { deadLetterSink: ref('d') } },
    });
    expect(out.spec.subscriber.ref?.namespace).toBe('ns');
    expect(out.spec.reply?.ref?.namespace).toBe('ns');
    expect(out.spec.delivery?.deadLetterSink?.ref?.namespace).toBe('ns');
    expect(out.spec.channel.namespace).toBeUndefined();
    expect(base.spec.subscriber.ref?.namespace).toBeUndefined();
  });

  it('keeps explicit namespaces and URIs', () => {
    const out = setDefaultsSubscription(
      withPath(base, 'spec.subscriber', { uri: 'http://s.example', ref: undefined }),
    );
    expect(out.spec.subscriber).toEqual({ uri: 'http://s.example' });
    expect(
      setDefaultsSubscription(withPath(base, 'spec.subscriber.ref.namespace', 'x')).spec.subscriber.ref
        ?.namespace,
    ).toBe('x');
  });
});

describe('Subscription validation (1.3)', () => {
  it.each<[string, unknown, string[]]>([
    ['valid', base, []],
    ['valid after defaulting', setDefaultsSubscription(base), []],
    [
      'valid with reply and delivery',
      withPath(withPath(base, 'spec.reply', { uri: 'http://r.example' }), 'spec.delivery', {
        retry: 3,
        deadLetterSink: ref('d'),
      }),
      [],
    ],
    ['channel missing (shape)', withPath(base, 'spec.channel', undefined), ['spec.channel']],
    ['channel all empty', withPath(base, 'spec.channel', { kind: '', name: '' }), ['spec.channel']],
    ['channel name empty', withPath(base, 'spec.channel.name', ''), ['spec.channel.name']],
    [
      'channel without apiVersion',
      withPath(base, 'spec.channel', { kind: 'InMemoryChannel', name: 'imc' }),
      ['spec.channel.apiVersion'],
    ],
    ['channel without kind', withPath(base, 'spec.channel.kind', ''), ['spec.channel.kind']],
    [
      'channel namespace without the cross-namespace flag',
      withPath(base, 'spec.channel.namespace', 'other'),
      ['spec.channel.namespace'],
    ],
    ['channel namespace empty string is no namespace', withPath(base, 'spec.channel.namespace', ''), []],
    ['subscriber missing (shape)', withPath(base, 'spec.subscriber', undefined), ['spec.subscriber']],
    ['subscriber empty', withPath(base, 'spec.subscriber', {}), ['spec.subscriber']],
    [
      'subscriber relative uri without ref',
      withPath(base, 'spec.subscriber', { uri: '/path' }),
      ['spec.subscriber.uri'],
    ],
    [
      'subscriber absolute uri with ref',
      withPath(base, 'spec.subscriber.uri', 'http://x.example/'),
      ['spec.subscriber.uri'],
    ],
    [
      'subscriber ref without name',
      withPath(base, 'spec.subscriber.ref.name', ''),
      ['spec.subscriber.ref.name'],
    ],
    [
      'subscriber bad CACerts',
      withPath(base, 'spec.subscriber.CACerts', 'not a cert'),
      ['spec.subscriber.CACerts'],
    ],
    ['subscriber good CACerts', withPath(base, 'spec.subscriber.CACerts', TEST_CERT), []],
    [
      'subscriber only CACerts',
      withPath(base, 'spec.subscriber', { CACerts: TEST_CERT }),
      ['spec.subscriber'],
    ],
    ['empty reply is no reply', withPath(base, 'spec.reply', {}), []],
    ['reply invalid', withPath(base, 'spec.reply', { uri: 'relative' }), ['spec.reply.uri']],
    [
      'reply ref without kind',
      withPath(base, 'spec.reply', { ref: { apiVersion: 'v1', kind: '', name: 'r' } }),
      ['spec.reply.ref.kind'],
    ],
    [
      'delivery invalid',
      withPath(base, 'spec.delivery', { retry: -1, retryAfterMax: 'PT1S' }),
      ['spec.delivery.retry', 'spec.delivery.retryAfterMax'],
    ],
    [
      'delivery dead letter sink invalid',
      withPath(base, 'spec.delivery', { deadLetterSink: {} }),
      ['spec.delivery.deadLetterSink'],
    ],
    ['unknown spec field (shape)', withPath(base, 'spec.filter', {}), ['spec.filter']],
    [
      'status physicalSubscription field wrong type (shape)',
      withPath(base, 'status', { physicalSubscription: { subscriberUri: 1 } }),
      ['status.physicalSubscription.subscriberUri'],
    ],
  ])('%s', (_name, obj, expected) => {
    expect(paths(obj)).toEqual(expected);
  });

  it('shape errors carry the offending value', () => {
    expect(
      validateSubscription(withPath(base, 'spec.delivery', { backoffPolicy: 'fast', retry: 'x' })).map(
        String,
      ),
    ).toEqual([
      'spec.delivery.retry: expected integer, got string',
      'spec.delivery.backoffPolicy: invalid value: fast: must be one of linear, exponential',
    ]);
  });

  it('channel namespace is allowed with cross-namespace-event-links', () => {
    const s = withPath(base, 'spec.channel.namespace', 'other');
    expect(paths(s, { features: { 'cross-namespace-event-links': true } })).toEqual([]);
  });

  it('messages say what is wrong', () => {
    expect(validateSubscription(withPath(base, 'spec.subscriber', {})).map(String)).toEqual([
      'spec.subscriber: missing field(s): the Subscription must reference a subscriber',
    ]);
    expect(validateSubscription(withPath(base, 'spec.channel', { kind: '', name: '' })).map(String)).toEqual([
      'spec.channel: missing field(s): the Subscription must reference a channel',
    ]);
  });

  it('spec.channel is immutable on update; subscriber, reply and delivery are mutable', () => {
    const original = setDefaultsSubscription(base);
    expect(paths(withPath(original, 'spec.subscriber', { uri: 'http://new.example' }), { original })).toEqual(
      [],
    );
    expect(paths(withPath(original, 'spec.reply', { uri: 'http://r.example' }), { original })).toEqual([]);
    expect(paths(withPath(original, 'spec.delivery', { retry: 1 }), { original })).toEqual([]);
    expect(paths(withPath(original, 'spec.channel.name', 'other'), { original })).toEqual(['spec.channel']);
    expect(paths(withPath(original, 'spec.channel.kind', 'KafkaChannel'), { original })).toEqual([
      'spec.channel',
    ]);
  });
});

describe('Subscription conditions (1.1, 8.9)', () => {
  it('Ready depends on ReferencesResolved, AddedToChannel, ChannelReady, OIDCIdentityCreated', () => {
    expect(SubscriptionKind.conditionTypes).toEqual([
      'Ready',
      'AddedToChannel',
      'ChannelReady',
      'OIDCIdentityCreated',
      'ReferencesResolved',
    ]);
    let conds = SubscriptionConditionSet.initialize();
    conds = SubscriptionConditionSet.markTrue(conds, 'ReferencesResolved');
    conds = SubscriptionConditionSet.markTrue(conds, 'AddedToChannel');
    conds = SubscriptionConditionSet.markTrue(
      conds,
      'OIDCIdentityCreated',
      'authentication-oidc feature disabled',
    );
    expect(SubscriptionConditionSet.get(conds, 'Ready')?.status).toBe('Unknown');
    conds = SubscriptionConditionSet.markTrue(conds, 'ChannelReady');
    expect(SubscriptionConditionSet.isReady(conds)).toBe(true);
    conds = SubscriptionConditionSet.markFalse(
      conds,
      'ReferencesResolved',
      'SubscriberResolveFailed',
      'Failed to resolve spec.subscriber',
    );
    expect(SubscriptionConditionSet.get(conds, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'SubscriberResolveFailed',
    });
  });
});
