import {
  ChannelConditionSet,
  ChannelKind,
  channelTemplateFor,
  setDefaultsChannel,
  shippedChannelDefaults,
  validateChannel,
  type Channel,
} from './channel';
import type { ChannelDefaults } from './kind';
import { withPath } from './testdata';

const SUBSCRIBABLE = 'messaging.knative.dev/subscribable';
const IMC = { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' };

const bare: Channel = {
  apiVersion: 'messaging.knative.dev/v1',
  kind: 'Channel',
  metadata: { name: 'ch', namespace: 'ns' },
};
const base = setDefaultsChannel(bare);

const paths = (obj: unknown, ctx = {}) => validateChannel(obj, ctx).map((e) => e.path);

describe('Channel defaults (1.3)', () => {
  it('subscribable annotation v1 and channelTemplate from the shipped default-ch-webhook (InMemoryChannel)', () => {
    expect(base.metadata.annotations).toEqual({ [SUBSCRIBABLE]: 'v1' });
    expect(base.spec).toEqual({ channelTemplate: IMC });
    expect(bare.spec).toBeUndefined();
  });

  it('keeps an existing subscribable annotation and other annotations', () => {
    const out = setDefaultsChannel(withPath(bare, 'metadata.annotations', { [SUBSCRIBABLE]: 'v0', a: 'b' }));
    expect(out.metadata.annotations).toEqual({ [SUBSCRIBABLE]: 'v0', a: 'b' });
  });

  it('keeps an explicit channelTemplate', () => {
    const template = {
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'KafkaChannel',
      spec: { numPartitions: 3 },
    };
    expect(
      setDefaultsChannel(withPath(bare, 'spec', { channelTemplate: template })).spec?.channelTemplate,
    ).toEqual(template);
  });

  it.each<[string, string | undefined, ChannelDefaults, unknown]>([
    [
      'namespace default wins',
      'kafka-ns',
      {
        clusterDefault: IMC,
        namespaceDefaults: { 'kafka-ns': { apiVersion: 'messaging.knative.dev/v1', kind: 'KafkaChannel' } },
      },
      'KafkaChannel',
    ],
    [
      'cluster default for other namespaces',
      'other',
      { clusterDefault: IMC, namespaceDefaults: { 'kafka-ns': { kind: 'KafkaChannel' } } },
      'InMemoryChannel',
    ],
    ['no defaults: template stays absent', 'ns', {}, undefined],
  ])('channelTemplate: %s', (_name, namespace, channelDefaults, kind) => {
    const out = setDefaultsChannel(withPath(bare, 'metadata.namespace', namespace), { channelDefaults });
    expect(out.spec?.channelTemplate?.kind).toBe(kind);
  });

  it('the defaulted template is a copy (the defaults are not shared with the object)', () => {
    const channelDefaults: ChannelDefaults = { clusterDefault: { ...IMC, spec: { delivery: { retry: 1 } } } };
    const out = setDefaultsChannel(bare, { channelDefaults });
    expect(out.spec?.channelTemplate).toEqual(channelDefaults.clusterDefault);
    expect(out.spec?.channelTemplate?.spec).not.toBe(channelDefaults.clusterDefault?.spec);
  });

  it('defaults the dead letter sink ref namespace', () => {
    const out = setDefaultsChannel(
      withPath(bare, 'spec', {
        delivery: { deadLetterSink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'd' } } },
      }),
    );
    expect(out.spec?.delivery?.deadLetterSink?.ref?.namespace).toBe('ns');
  });

  it('channelTemplateFor picks namespace, then cluster', () => {
    expect(channelTemplateFor(shippedChannelDefaults, 'any')).toEqual(IMC);
    expect(channelTemplateFor({}, 'any')).toBeUndefined();
    expect(channelTemplateFor({ namespaceDefaults: { a: { kind: 'X' } } }, undefined)).toBeUndefined();
  });
});

describe('Channel validation (1.3)', () => {
  it.each<[string, unknown, string[]]>([
    ['valid after defaulting', base, []],
    ['channelTemplate missing (no defaulting)', bare, ['spec.channelTemplate']],
    [
      'channelTemplate without kind',
      withPath(base, 'spec.channelTemplate', { apiVersion: 'messaging.knative.dev/v1' }),
      ['spec.channelTemplate.kind'],
    ],
    [
      'channelTemplate without apiVersion',
      withPath(base, 'spec.channelTemplate', { kind: 'InMemoryChannel' }),
      ['spec.channelTemplate.apiVersion'],
    ],
    [
      'channelTemplate empty',
      withPath(base, 'spec.channelTemplate', {}),
      ['spec.channelTemplate.apiVersion', 'spec.channelTemplate.kind'],
    ],
    [
      'subscribers are disallowed',
      withPath(base, 'spec.subscribers', [{ uid: 'u', subscriberUri: 'http://s.example' }]),
      ['spec.subscribers'],
    ],
    ['empty subscribers list is fine', withPath(base, 'spec.subscribers', []), []],
    [
      'delivery validated',
      withPath(base, 'spec.delivery', { retry: -1, backoffDelay: 'soon' }),
      ['spec.delivery.retry', 'spec.delivery.backoffDelay'],
    ],
    [
      'dead letter sink validated',
      withPath(base, 'spec.delivery', { deadLetterSink: { uri: '/relative' } }),
      ['spec.delivery.deadLetterSink.uri'],
    ],
    [
      'channelTemplate.spec is opaque',
      withPath(base, 'spec.channelTemplate.spec', { anything: { goes: [1] } }),
      [],
    ],
    ['unknown spec field (shape)', withPath(base, 'spec.template', {}), ['spec.template']],
    [
      'template kind not a string (shape)',
      withPath(base, 'spec.channelTemplate.kind', 3),
      ['spec.channelTemplate.kind'],
    ],
    ['bad name', withPath(base, 'metadata.name', 'Not_Valid'), ['metadata.name']],
  ])('%s', (_name, obj, expected) => {
    expect(paths(obj)).toEqual(expected);
  });

  it('on update the whole spec except subscribers is immutable, delivery included (upstream)', () => {
    const original = base;
    expect(paths(withPath(original, 'spec.subscribers', []), { original })).toEqual([]);
    expect(paths(withPath(original, 'spec.channelTemplate.kind', 'KafkaChannel'), { original })).toEqual([
      'spec.channelTemplate',
    ]);
    expect(paths(withPath(original, 'spec.delivery', { retry: 2 }), { original })).toEqual(['spec.delivery']);
    expect(
      validateChannel(withPath(original, 'spec.delivery', { retry: 2 }), { original }).map(String),
    ).toEqual(['spec.delivery: immutable field changed (-old +new): -undefined +{"retry":2}']);
  });

  it('errors name the path', () => {
    expect(validateChannel(bare).map(String)).toEqual(['spec.channelTemplate: missing field(s)']);
  });
});

describe('Channel conditions (1.1, 8.9)', () => {
  it('Ready depends on BackingChannelReady, Addressable, DeadLetterSinkResolved, EventPoliciesReady', () => {
    expect(ChannelKind.conditionTypes).toEqual([
      'Ready',
      'Addressable',
      'BackingChannelReady',
      'DeadLetterSinkResolved',
      'EventPoliciesReady',
    ]);
    let conds = ChannelConditionSet.initialize();
    conds = ChannelConditionSet.markTrue(conds, 'BackingChannelReady');
    conds = ChannelConditionSet.markTrue(conds, 'Addressable');
    conds = ChannelConditionSet.markTrue(
      conds,
      'DeadLetterSinkResolved',
      'DeadLetterSinkNotConfigured',
      'No dead letter sink is configured.',
    );
    expect(ChannelConditionSet.isReady(conds)).toBe(false);
    conds = ChannelConditionSet.markTrue(conds, 'EventPoliciesReady');
    expect(ChannelConditionSet.isReady(conds)).toBe(true);
    conds = ChannelConditionSet.markFalse(
      conds,
      'BackingChannelReady',
      'BackingChannelFailed',
      'backing channel not ready',
    );
    expect(ChannelConditionSet.get(conds, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'BackingChannelFailed',
    });
  });
});
