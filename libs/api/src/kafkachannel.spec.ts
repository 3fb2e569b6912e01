import { parse } from 'yaml';
import { admitResource } from './admission';
import { setDefaultsChannel, validateChannel } from './channel';
import { parseChannelDefaultsConfigMap } from './config-maps';
import {
  KAFKA_CHANNEL_INFO_CONDITIONS,
  KafkaChannelConditionSet,
  KafkaChannelKind,
  setDefaultsKafkaChannel,
  validateKafkaChannel,
  type KafkaChannel,
} from './kafkachannel';
import type { KindDefinition } from './kind';
import { EVENTING_CONTROLLER_USER } from './messaging';
import type { Resource } from './meta';
import { kindFor } from './registry';
import { withPath } from './testdata';

const SUBSCRIBABLE = 'messaging.knative.dev/subscribable';
const SCOPE_PATH = 'metadata.annotations[eventing.knative.dev/scope]';

const bare: KafkaChannel = {
  apiVersion: 'messaging.knative.dev/v1beta1',
  kind: 'KafkaChannel',
  metadata: { name: 'kc', namespace: 'ns' },
};
const base = setDefaultsKafkaChannel(bare);
const sub = (extra: Record<string, unknown>) => ({ uid: 'u-1', generation: 1, ...extra });

const paths = (obj: unknown, ctx = {}) => validateKafkaChannel(obj, ctx).map((e) => e.path);

describe('KafkaChannel defaults (EKB kafka_channel_defaults.go)', () => {
  it('subscribable annotation v1; 1 partition, replication factor 1, retention PT168H; input untouched', () => {
    expect(base.metadata.annotations).toEqual({ [SUBSCRIBABLE]: 'v1' });
    expect(base.spec).toEqual({ numPartitions: 1, replicationFactor: 1, retentionDuration: 'PT168H' });
    expect(bare.spec).toBeUndefined();
    expect(bare.metadata.annotations).toBeUndefined();
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['absent', {}, { numPartitions: 1, replicationFactor: 1, retentionDuration: 'PT168H' }],
    [
      'zeros and empty string count as absent (upstream cannot tell them apart)',
      { numPartitions: 0, replicationFactor: 0, retentionDuration: '' },
      { numPartitions: 1, replicationFactor: 1, retentionDuration: 'PT168H' },
    ],
    [
      'explicit values kept',
      { numPartitions: 10, replicationFactor: 3, retentionDuration: 'P1D' },
      { numPartitions: 10, replicationFactor: 3, retentionDuration: 'P1D' },
    ],
    [
      'negative values kept for validation to refuse',
      { numPartitions: -1, replicationFactor: -2 },
      { numPartitions: -1, replicationFactor: -2, retentionDuration: 'PT168H' },
    ],
  ])('%s', (_name, spec, expected) => {
    expect(setDefaultsKafkaChannel(withPath(bare, 'spec', spec)).spec).toEqual(expected);
  });

  it('keeps an existing subscribable annotation', () => {
    const out = setDefaultsKafkaChannel(
      withPath(bare, 'metadata.annotations', { [SUBSCRIBABLE]: 'v1beta1' }),
    );
    expect(out.metadata.annotations).toEqual({ [SUBSCRIBABLE]: 'v1beta1' });
  });

  it('defaults the dead letter sink ref namespace', () => {
    const out = setDefaultsKafkaChannel(
      withPath(bare, 'spec.delivery', {
        deadLetterSink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'd' } },
      }),
    );
    expect(out.spec?.delivery?.deadLetterSink?.ref?.namespace).toBe('ns');
  });

  it('is idempotent', () => {
    expect(setDefaultsKafkaChannel(base)).toEqual(base);
  });
});

describe('KafkaChannel validation (EKB kafka_channel_validation.go)', () => {
  it.each<[string, unknown, string[]]>([
    ['valid after defaulting', base, []],
    [
      'topic settings absent (no defaulting)',
      bare,
      ['spec.numPartitions', 'spec.replicationFactor', 'spec.retentionDuration'],
    ],
    ['numPartitions 0', withPath(base, 'spec.numPartitions', 0), ['spec.numPartitions']],
    ['numPartitions negative', withPath(base, 'spec.numPartitions', -3), ['spec.numPartitions']],
    ['numPartitions above int32', withPath(base, 'spec.numPartitions', 2 ** 31), ['spec.numPartitions']],
    ['numPartitions large', withPath(base, 'spec.numPartitions', 2 ** 31 - 1), []],
    ['replicationFactor 0', withPath(base, 'spec.replicationFactor', 0), ['spec.replicationFactor']],
    ['replicationFactor negative', withPath(base, 'spec.replicationFactor', -1), ['spec.replicationFactor']],
    ['replicationFactor 32767', withPath(base, 'spec.replicationFactor', 32767), []],
    [
      'replicationFactor above int16 (shape)',
      withPath(base, 'spec.replicationFactor', 32768),
      ['spec.replicationFactor'],
    ],
    ['numPartitions fractional (shape)', withPath(base, 'spec.numPartitions', 1.5), ['spec.numPartitions']],
    ['numPartitions a string (shape)', withPath(base, 'spec.numPartitions', '3'), ['spec.numPartitions']],
    ['retention in days', withPath(base, 'spec.retentionDuration', 'P7D'), []],
    ['retention zero', withPath(base, 'spec.retentionDuration', 'PT0S'), []],
    ['retention fractional hours', withPath(base, 'spec.retentionDuration', 'PT1.5H'), []],
    ['retention not ISO-8601', withPath(base, 'spec.retentionDuration', '168h'), ['spec.retentionDuration']],
    ['retention negative', withPath(base, 'spec.retentionDuration', '-PT1H'), ['spec.retentionDuration']],
    ['retention empty', withPath(base, 'spec.retentionDuration', ''), ['spec.retentionDuration']],
    [
      'subscriber with neither URI',
      withPath(base, 'spec.subscribers', [sub({ subscriberUri: 'http://s.example' }), sub({})]),
      ['spec.subscribers[1]'],
    ],
    [
      'subscriber with reply only',
      withPath(base, 'spec.subscribers', [sub({ replyUri: 'http://r.example' })]),
      [],
    ],
    [
      'channel delivery validated',
      withPath(base, 'spec.delivery', { retry: -1, backoffDelay: 'soon' }),
      ['spec.delivery.retry', 'spec.delivery.backoffDelay'],
    ],
    [
      'scope namespace',
      withPath(base, 'metadata.annotations', { 'eventing.knative.dev/scope': 'namespace' }),
      [],
    ],
    [
      'scope other',
      withPath(base, 'metadata.annotations', { 'eventing.knative.dev/scope': 'everywhere' }),
      [SCOPE_PATH],
    ],
    ['unknown spec field (shape)', withPath(base, 'spec.partitions', 3), ['spec.partitions']],
    ['bad name', withPath(base, 'metadata.name', 'Kafka_Channel'), ['metadata.name']],
  ])('%s', (_name, obj, expected) => {
    expect(paths(obj)).toEqual(expected);
  });

  it('messages say what is wrong', () => {
    const obj = withPath(
      withPath(withPath(base, 'spec.numPartitions', -1), 'spec.replicationFactor', 0),
      'spec.retentionDuration',
      'a week',
    );
    expect(validateKafkaChannel(obj).map(String)).toEqual([
      'spec.numPartitions: invalid value: -1: must be > 0',
      'spec.replicationFactor: invalid value: 0: must be > 0',
      'spec.retentionDuration: invalid value: a week: must be a non-negative ISO-8601 duration',
    ]);
  });

  describe('on update', () => {
    const original = withPath(base, 'spec.numPartitions', 3);

    it.each<[string, string, unknown, string[]]>([
      ['numPartitions is immutable', 'spec.numPartitions', 4, ['spec.numPartitions']],
      ['replicationFactor is immutable', 'spec.replicationFactor', 2, ['spec.replicationFactor']],
      ['retentionDuration is immutable', 'spec.retentionDuration', 'P1D', ['spec.retentionDuration']],
      ['delivery may change', 'spec.delivery', { retry: 3 }, []],
      [
        'subscribers may change (no user to check)',
        'spec.subscribers',
        [sub({ subscriberUri: 'http://s' })],
        [],
      ],
      ['unchanged', 'spec.numPartitions', 3, []],
    ])('%s', (_name, path, value, expected) => {
      expect(paths(withPath(original, path, value), { original })).toEqual(expected);
    });

    it('a channel stored without retentionDuration may gain one (upstream upgrade exception)', () => {
      const old = withPath(original, 'spec.retentionDuration', undefined);
      expect(paths(original, { original: old })).toEqual([]);
      expect(paths(withPath(original, 'spec.retentionDuration', 'P30D'), { original: old })).toEqual([]);
    });

    it('names the old and new value', () => {
      expect(
        validateKafkaChannel(withPath(original, 'spec.numPartitions', 6), { original }).map(String),
      ).toEqual(['spec.numPartitions: immutable field changed (-old +new): -3 +6']);
    });

    it('only the eventing controller may change spec.subscribers when the user is known', () => {
      const withSubs = withPath(original, 'spec.subscribers', [sub({ subscriberUri: 'http://s.example' })]);
      const changed = withPath(withSubs, 'spec.subscribers', []);
      expect(paths(changed, { original: withSubs, user: 'jane' })).toEqual(['spec.subscribers']);
      expect(paths(changed, { original: withSubs, user: EVENTING_CONTROLLER_USER })).toEqual([]);
      expect(
        paths(withPath(withSubs, 'spec.delivery', { retry: 1 }), { original: withSubs, user: 'jane' }),
      ).toEqual([]);
    });
  });
});

describe('KafkaChannel conditions (EKB control-plane/pkg/reconciler/channel/channel.go)', () => {
  it('Ready depends on ConfigMapUpdated, ConfigParsed, ProbeSucceeded, Subscribers, TopicReady', () => {
    expect(KafkaChannelKind.conditionTypes).toEqual([
      'Ready',
      'ConfigMapUpdated',
      'ConfigParsed',
      'ProbeSucceeded',
      'Subscribers',
      'TopicReady',
    ]);
    let conds = KafkaChannelConditionSet.initialize();
    for (const type of KafkaChannelConditionSet.dependents) {
      expect(KafkaChannelConditionSet.isReady(conds)).toBe(false);
      conds = KafkaChannelConditionSet.markTrue(conds, type);
    }
    expect(KafkaChannelConditionSet.isReady(conds)).toBe(true);
    conds = KafkaChannelConditionSet.markFalse(
      conds,
      'TopicReady',
      'Topic is not present or invalid',
      'failed to create topic',
    );
    expect(KafkaChannelConditionSet.get(conds, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Topic is not present or invalid',
    });
  });

  it.each(KAFKA_CHANNEL_INFO_CONDITIONS)(
    '%s is reported with severity Info and does not decide Ready',
    (type) => {
      let conds = KafkaChannelConditionSet.initialize();
      for (const dep of KafkaChannelConditionSet.dependents)
        conds = KafkaChannelConditionSet.markTrue(conds, dep);
      conds = KafkaChannelConditionSet.markFalse(conds, type, 'NotYet', 'not yet');
      expect(KafkaChannelConditionSet.get(conds, type)).toMatchObject({ status: 'False', severity: 'Info' });
      expect(KafkaChannelConditionSet.isReady(conds)).toBe(true);
    },
  );
});

describe('KafkaChannel as upstream documents it, through admitResource', () => {
  const admit = (text: string, namespace = 'default') => {
    const doc = parse(text) as Resource;
    const def = kindFor(doc.apiVersion, doc.kind);
    expect(def?.kind).toBe('KafkaChannel');
    return admitResource(def as KindDefinition, { ...doc, metadata: { namespace, ...doc.metadata } });
  };

  it('docs/channel/README.md example (v1beta1, every topic setting)', () => {
    const result = admit(`
apiVersion: messaging.knative.dev/v1beta1
kind: KafkaChannel
metadata:
  name: my-kafka-channel
spec:
  numPartitions: 1
  replicationFactor: 1
  retentionDuration: PT168H
`);
    expect(result).toEqual({
      ok: true,
      resource: {
        apiVersion: 'messaging.knative.dev/v1beta1',
        kind: 'KafkaChannel',
        metadata: { name: 'my-kafka-channel', namespace: 'default', annotations: { [SUBSCRIBABLE]: 'v1' } },
        spec: { numPartitions: 1, replicationFactor: 1, retentionDuration: 'PT168H' },
      },
    });
  });

  it('the v1 API takes the same document; omitted settings get the webhook defaults', () => {
    const result = admit(`
apiVersion: messaging.knative.dev/v1
kind: KafkaChannel
metadata:
  name: kc
spec:
  numPartitions: 3
  delivery:
    deadLetterSink:
      ref:
        apiVersion: serving.knative.dev/v1
        kind: Service
        name: dls
    retry: 5
    backoffPolicy: exponential
    backoffDelay: PT0.5S
`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.resource.spec).toEqual({
      numPartitions: 3,
      replicationFactor: 1,
      retentionDuration: 'PT168H',
      delivery: {
        deadLetterSink: {
          ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'dls', namespace: 'default' },
        },
        retry: 5,
        backoffPolicy: 'exponential',
        backoffDelay: 'PT0.5S',
      },
    });
  });

  it('no spec at all is a valid channel with every default', () => {
    const result = admit(
      'apiVersion: messaging.knative.dev/v1beta1\nkind: KafkaChannel\nmetadata:\n  name: k\n',
    );
    expect(result).toMatchObject({
      ok: true,
      resource: { spec: { numPartitions: 1, replicationFactor: 1, retentionDuration: 'PT168H' } },
    });
  });

  it('a refused document names every field path', () => {
    const result = admit(`
apiVersion: messaging.knative.dev/v1beta1
kind: KafkaChannel
metadata:
  name: kc
spec:
  numPartitions: -1
  retentionDuration: 7 days
`);
    expect(result.ok ? [] : result.errors.map((e) => e.path)).toEqual([
      'spec.numPartitions',
      'spec.retentionDuration',
    ]);
  });

  it('not served as v1alpha1', () => {
    expect(kindFor('messaging.knative.dev/v1alpha1', 'KafkaChannel')).toBeUndefined();
  });
});

describe('KafkaChannel behind a Channel (default-ch-webhook)', () => {
  // EKB test/config/default-ch-webhook.yaml
  const { defaults, errors } = parseChannelDefaultsConfigMap({
    'default-ch-config': `
clusterDefault:
  apiVersion: messaging.knative.dev/v1beta1
  kind: KafkaChannel
  spec:
    numPartitions: 10
    replicationFactor: 3
`,
  });

  it('the cluster default names KafkaChannel; the Channel validates and its template admits as a KafkaChannel', () => {
    expect(errors).toEqual([]);
    const channel = setDefaultsChannel(
      { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: 'c', namespace: 'ns' } },
      { channelDefaults: defaults },
    );
    expect(validateChannel(channel)).toEqual([]);
    const template = channel.spec?.channelTemplate;
    expect(template).toEqual({
      apiVersion: 'messaging.knative.dev/v1beta1',
      kind: 'KafkaChannel',
      spec: { numPartitions: 10, replicationFactor: 3 },
    });
    const backing = {
      apiVersion: template?.apiVersion,
      kind: template?.kind,
      metadata: { name: 'c', namespace: 'ns' },
      spec: template?.spec,
    };
    expect(admitResource(KafkaChannelKind, backing)).toMatchObject({
      ok: true,
      resource: { spec: { numPartitions: 10, replicationFactor: 3, retentionDuration: 'PT168H' } },
    });
  });
});
