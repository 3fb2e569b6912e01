import {
  InMemoryChannelConditionSet,
  InMemoryChannelKind,
  setDefaultsInMemoryChannel,
  validateInMemoryChannel,
  type InMemoryChannel,
} from './inmemorychannel';
import { EVENTING_CONTROLLER_USER } from './messaging';
import { withPath } from './testdata';

const SUBSCRIBABLE = 'messaging.knative.dev/subscribable';
const SCOPE_PATH = 'metadata.annotations[eventing.knative.dev/scope]';

const bare: InMemoryChannel = {
  apiVersion: 'messaging.knative.dev/v1',
  kind: 'InMemoryChannel',
  metadata: { name: 'imc', namespace: 'ns' },
};
const base = setDefaultsInMemoryChannel(bare);
const sub = (extra: Record<string, unknown>) => ({ uid: 'u-1', generation: 1, ...extra });

const paths = (obj: unknown, ctx = {}) => validateInMemoryChannel(obj, ctx).map((e) => e.path);

describe('InMemoryChannel defaults (1.3)', () => {
  it('subscribable annotation v1; the input is not modified', () => {
    expect(base.metadata.annotations).toEqual({ [SUBSCRIBABLE]: 'v1' });
    expect(bare.metadata.annotations).toBeUndefined();
  });

  it('keeps an existing subscribable annotation', () => {
    expect(
      setDefaultsInMemoryChannel(withPath(bare, 'metadata.annotations', { [SUBSCRIBABLE]: 'v1beta1' }))
        .metadata.annotations,
    ).toEqual({
      [SUBSCRIBABLE]: 'v1beta1',
    });
  });

  it('defaults dead letter sink ref namespaces of the channel and of each subscriber', () => {
    const dls = { deadLetterSink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'd' } } };
    const out = setDefaultsInMemoryChannel(
      withPath(bare, 'spec', {
        delivery: dls,
        subscribers: [
          sub({ subscriberUri: 'http://a.example', delivery: dls }),
          sub({ replyUri: 'http://r.example' }),
        ],
      }),
    );
    expect(out.spec?.delivery?.deadLetterSink?.ref?.namespace).toBe('ns');
    expect(out.spec?.subscribers?.[0]?.delivery?.deadLetterSink?.ref?.namespace).toBe('ns');
    expect(out.spec?.subscribers?.[1]).toEqual(sub({ replyUri: 'http://r.example' }));
  });
});

describe('InMemoryChannel validation (1.3)', () => {
  it.each<[string, unknown, string[]]>([
    ['valid bare', bare, []],
    ['valid after defaulting', base, []],
    [
      'subscriber with subscriberUri',
      withPath(base, 'spec.subscribers', [sub({ subscriberUri: 'http://s.example' })]),
      [],
    ],
    [
      'subscriber with replyUri only',
      withPath(base, 'spec.subscribers', [sub({ replyUri: 'http://r.example' })]),
      [],
    ],
    [
      'subscriber with neither',
      withPath(base, 'spec.subscribers', [sub({ subscriberUri: 'http://s.example' }), sub({})]),
      ['spec.subscribers[1]'],
    ],
    [
      'subscriber with empty URIs',
      withPath(base, 'spec.subscribers', [sub({ subscriberUri: '', replyUri: '' })]),
      ['spec.subscribers[0]'],
    ],
    [
      'subscriber delivery validated',
      withPath(base, 'spec.subscribers', [
        sub({ subscriberUri: 'http://s.example', delivery: { retry: -2, deadLetterSink: { uri: 'x' } } }),
      ]),
      ['spec.subscribers[0].delivery.deadLetterSink.uri', 'spec.subscribers[0].delivery.retry'],
    ],
    [
      'channel delivery validated',
      withPath(base, 'spec.delivery', { backoffPolicy: 'linear', backoffDelay: 'PT1S', timeout: 'nope' }),
      ['spec.delivery.timeout'],
    ],
    [
      'scope cluster',
      withPath(base, 'metadata.annotations', { 'eventing.knative.dev/scope': 'cluster' }),
      [],
    ],
    [
      'scope namespace',
      withPath(base, 'metadata.annotations', { 'eventing.knative.dev/scope': 'namespace' }),
      [],
    ],
    [
      'scope resource is refused',
      withPath(base, 'metadata.annotations', { 'eventing.knative.dev/scope': 'resource' }),
      [SCOPE_PATH],
    ],
    [
      'scope empty is refused',
      withPath(base, 'metadata.annotations', { 'eventing.knative.dev/scope': '' }),
      [SCOPE_PATH],
    ],
    [
      'subscriber field of the wrong type (shape)',
      withPath(base, 'spec.subscribers', [sub({ generation: 'one' })]),
      ['spec.subscribers[0].generation'],
    ],
    [
      'unknown subscriber field (shape)',
      withPath(base, 'spec.subscribers', [sub({ subscriberURI: 'http://s.example' })]),
      ['spec.subscribers[0].subscriberURI'],
    ],
    [
      'status subscriber ready enum (shape)',
      withPath(base, 'status', { subscribers: [{ uid: 'u', ready: 'yes' }] }),
      ['status.subscribers[0].ready'],
    ],
  ])('%s', (_name, obj, expected) => {
    expect(paths(obj)).toEqual(expected);
  });

  it('messages name the path and the missing fields', () => {
    expect(validateInMemoryChannel(withPath(base, 'spec.subscribers', [sub({})])).map(String)).toEqual([
      'spec.subscribers[0]: expected at least one, got none: subscriberUri, replyUri',
    ]);
    expect(
      validateInMemoryChannel(
        withPath(base, 'metadata.annotations', { 'eventing.knative.dev/scope': 'global' }),
      ).map(String),
    ).toEqual([`${SCOPE_PATH}: invalid value: global: expected either 'cluster' or 'namespace'`]);
  });

  it('on an admission update only the eventing controller may change spec.subscribers', () => {
    const original = withPath(base, 'spec.subscribers', [sub({ subscriberUri: 'http://s.example' })]);
    const changed = withPath(original, 'spec.subscribers', [sub({ subscriberUri: 'http://other.example' })]);
    expect(paths(changed, { original, user: 'jane' })).toEqual(['spec.subscribers']);
    expect(paths(changed, { original, user: EVENTING_CONTROLLER_USER })).toEqual([]);
    // Without a user (standalone loader, the controller itself) there is nobody to check.
    expect(paths(changed, { original })).toEqual([]);
    // Other changes by any user are fine.
    expect(paths(withPath(original, 'spec.delivery', { retry: 1 }), { original, user: 'jane' })).toEqual([]);
  });
});

describe('InMemoryChannel conditions (1.1, 8.9)', () => {
  it('Ready depends on the upstream living set; DispatcherReady is informational', () => {
    expect(InMemoryChannelKind.conditionTypes).toEqual([
      'Ready',
      'Addressable',
      'ChannelServiceReady',
      'DeadLetterSinkResolved',
      'EndpointsReady',
      'EventPoliciesReady',
      'ServiceReady',
    ]);
    let conds = InMemoryChannelConditionSet.initialize();
    for (const type of InMemoryChannelConditionSet.dependents)
      conds = InMemoryChannelConditionSet.markTrue(conds, type);
    expect(InMemoryChannelConditionSet.isReady(conds)).toBe(true);
    conds = InMemoryChannelConditionSet.markFalse(
      conds,
      'DispatcherReady',
      'DispatcherDeploymentFalse',
      'The status of Dispatcher Deployment is False',
    );
    expect(InMemoryChannelConditionSet.get(conds, 'DispatcherReady')).toMatchObject({
      status: 'False',
      severity: 'Info',
    });
    expect(InMemoryChannelConditionSet.isReady(conds)).toBe(true);
    conds = InMemoryChannelConditionSet.markFalse(
      conds,
      'Addressable',
      'emptyHostname',
      'hostname is the empty string',
    );
    expect(InMemoryChannelConditionSet.get(conds, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'emptyHostname',
    });
  });
});
