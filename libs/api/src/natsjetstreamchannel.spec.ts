import { parse } from 'yaml';
import { admitResource } from './admission';
import { setDefaultsChannel, validateChannel } from './channel';
import { parseChannelDefaultsConfigMap } from './config-maps';
import type { KindDefinition } from './kind';
import type { Resource } from './meta';
import {
  NATS_JETSTREAM_RUNTIME_DEFAULTS,
  NatsJetStreamChannelConditionSet,
  NatsJetStreamChannelKind,
  setDefaultsNatsJetStreamChannel,
  validateNatsJetStreamChannel,
  type NatsJetStreamChannel,
} from './natsjetstreamchannel';
import { kindFor } from './registry';
import { withPath } from './testdata';

const SUBSCRIBABLE = 'messaging.knative.dev/subscribable';
const SCOPE_PATH = 'metadata.annotations[eventing.knative.dev/scope]';
const STREAM = 'spec.stream.config';
const CONSUMER = 'spec.consumerConfigTemplate';

const bare: NatsJetStreamChannel = {
  apiVersion: 'messaging.knative.dev/v1alpha1',
  kind: 'NatsJetStreamChannel',
  metadata: { name: 'js', namespace: 'ns' },
};
const base = setDefaultsNatsJetStreamChannel(bare);
const sub = (extra: Record<string, unknown>) => ({ uid: 'u-1', generation: 1, ...extra });

const paths = (obj: unknown, ctx = {}) => validateNatsJetStreamChannel(obj, ctx).map((e) => e.path);

describe('NatsJetStreamChannel defaults (NATS nats_jetstream_channel_defaults.go)', () => {
  it('only the subscribable annotation; stream and consumer settings stay as written', () => {
    expect(base.metadata.annotations).toEqual({ [SUBSCRIBABLE]: 'v1' });
    expect(base.spec).toEqual({});
    const spec = { stream: { config: { maxAge: '1h' } }, consumerConfigTemplate: { maxDeliver: 3 } };
    expect(setDefaultsNatsJetStreamChannel(withPath(bare, 'spec', spec)).spec).toEqual(spec);
    expect(bare.metadata.annotations).toBeUndefined();
  });

  it('keeps an existing subscribable annotation; defaults the dead letter sink ref namespace; idempotent', () => {
    const out = setDefaultsNatsJetStreamChannel(
      withPath(withPath(bare, 'metadata.annotations', { [SUBSCRIBABLE]: 'v1beta1' }), 'spec.delivery', {
        deadLetterSink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'd' } },
      }),
    );
    expect(out.metadata.annotations).toEqual({ [SUBSCRIBABLE]: 'v1beta1' });
    expect(out.spec?.delivery?.deadLetterSink?.ref?.namespace).toBe('ns');
    expect(setDefaultsNatsJetStreamChannel(out)).toEqual(out);
  });

  it("the dispatcher's defaults for empty enum fields (NATS dispatcher/defaults.go)", () => {
    expect(NATS_JETSTREAM_RUNTIME_DEFAULTS).toEqual({
      retention: 'Limits',
      discard: 'Old',
      storage: 'File',
      deliverPolicy: 'All',
      replayPolicy: 'Instant',
      consumerType: 'Push',
    });
  });
});

describe('NatsJetStreamChannel validation (NATS nats_jetstream_channel_validation.go and the decoders)', () => {
  it.each<[string, unknown, string[]]>([
    ['valid bare', bare, []],
    ['valid after defaulting', base, []],
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
    ['channel delivery validated', withPath(base, 'spec.delivery', { retry: -1 }), ['spec.delivery.retry']],
    [
      'scope cluster',
      withPath(base, 'metadata.annotations', { 'eventing.knative.dev/scope': 'cluster' }),
      [],
    ],
    [
      'scope other',
      withPath(base, 'metadata.annotations', { 'eventing.knative.dev/scope': 'pod' }),
      [SCOPE_PATH],
    ],
    // stream
    ['retention Interest', withPath(base, `${STREAM}.retention`, 'Interest'), []],
    ['retention unknown (shape)', withPath(base, `${STREAM}.retention`, 'Forever'), [`${STREAM}.retention`]],
    ['retention empty (shape)', withPath(base, `${STREAM}.retention`, ''), [`${STREAM}.retention`]],
    [
      'retention lower case (shape)',
      withPath(base, `${STREAM}.retention`, 'limits'),
      [`${STREAM}.retention`],
    ],
    ['discard New', withPath(base, `${STREAM}.discard`, 'New'), []],
    ['discard unknown (shape)', withPath(base, `${STREAM}.discard`, 'Oldest'), [`${STREAM}.discard`]],
    ['storage Memory', withPath(base, `${STREAM}.storage`, 'Memory'), []],
    ['storage unknown (shape)', withPath(base, `${STREAM}.storage`, 'Disk'), [`${STREAM}.storage`]],
    ['maxAge Go duration', withPath(base, `${STREAM}.maxAge`, '72h30m'), []],
    ['maxAge zero', withPath(base, `${STREAM}.maxAge`, '0'), []],
    ['maxAge ISO-8601 is refused', withPath(base, `${STREAM}.maxAge`, 'PT1H'), [`${STREAM}.maxAge`]],
    ['maxAge without unit', withPath(base, `${STREAM}.maxAge`, '3600'), [`${STREAM}.maxAge`]],
    ['maxAge negative', withPath(base, `${STREAM}.maxAge`, '-1h'), [`${STREAM}.maxAge`]],
    ['duplicateWindow', withPath(base, `${STREAM}.duplicateWindow`, '2m'), []],
    [
      'duplicateWindow bad',
      withPath(base, `${STREAM}.duplicateWindow`, '2 minutes'),
      [`${STREAM}.duplicateWindow`],
    ],
    ['replicas 3', withPath(base, `${STREAM}.replicas`, 3), []],
    ['replicas 0 (server default)', withPath(base, `${STREAM}.replicas`, 0), []],
    ['replicas 6', withPath(base, `${STREAM}.replicas`, 6), [`${STREAM}.replicas`]],
    ['replicas negative', withPath(base, `${STREAM}.replicas`, -1), [`${STREAM}.replicas`]],
    ['limits -1 mean unlimited', withPath(base, STREAM, { maxMsgs: -1, maxBytes: -1, maxConsumers: -1 }), []],
    ['maxBytes a string (shape)', withPath(base, `${STREAM}.maxBytes`, '1Gi'), [`${STREAM}.maxBytes`]],
    ['noAck', withPath(base, `${STREAM}.noAck`, true), []],
    ['additional subjects', withPath(base, `${STREAM}.additionalSubjects`, ['orders.*', 'audit.>']), []],
    [
      'additional subject with an empty token',
      withPath(base, `${STREAM}.additionalSubjects`, ['ok', 'orders..created']),
      [`${STREAM}.additionalSubjects[1]`],
    ],
    [
      'additional subject empty',
      withPath(base, `${STREAM}.additionalSubjects`, ['']),
      [`${STREAM}.additionalSubjects[0]`],
    ],
    ['placement', withPath(base, `${STREAM}.placement`, { cluster: 'east', tags: ['ssd'] }), []],
    [
      'mirror with start time',
      withPath(base, `${STREAM}.mirror`, { name: 'ORDERS', optStartTime: '2026-01-02T15:04:05Z' }),
      [],
    ],
    [
      'mirror start time not RFC 3339',
      withPath(base, `${STREAM}.mirror`, { name: 'ORDERS', optStartTime: '2026-01-02 15:04' }),
      [`${STREAM}.mirror.optStartTime`],
    ],
    [
      'source start time out of range',
      withPath(base, `${STREAM}.sources`, [
        { name: 'A' },
        { name: 'B', optStartTime: '2026-02-30T00:00:00Z' },
      ]),
      [`${STREAM}.sources[1].optStartTime`],
    ],
    [
      'source filter subject',
      withPath(base, `${STREAM}.sources`, [{ name: 'A', filterSubject: 'a. b' }]),
      [`${STREAM}.sources[0].filterSubject`],
    ],
    [
      'source optStartSeq negative (shape)',
      withPath(base, `${STREAM}.sources`, [{ optStartSeq: -1 }]),
      [`${STREAM}.sources[0].optStartSeq`],
    ],
    ['overrideName', withPath(base, 'spec.stream.overrideName', 'EXISTING_STREAM'), []],
    [
      'overrideName with a dot',
      withPath(base, 'spec.stream.overrideName', 'my.stream'),
      ['spec.stream.overrideName'],
    ],
    [
      'overrideName with a space',
      withPath(base, 'spec.stream.overrideName', 'my stream'),
      ['spec.stream.overrideName'],
    ],
    [
      'unknown stream field (shape)',
      withPath(base, `${STREAM}.maxAgeSeconds`, 3),
      [`${STREAM}.maxAgeSeconds`],
    ],
    // consumer template
    ['deliverPolicy New', withPath(base, `${CONSUMER}.deliverPolicy`, 'New'), []],
    [
      'deliverPolicy unknown (shape)',
      withPath(base, `${CONSUMER}.deliverPolicy`, 'First'),
      [`${CONSUMER}.deliverPolicy`],
    ],
    [
      'ByStartSequence with a sequence',
      withPath(base, CONSUMER, { deliverPolicy: 'ByStartSequence', optStartSeq: 42 }),
      [],
    ],
    [
      'ByStartSequence without a sequence',
      withPath(base, CONSUMER, { deliverPolicy: 'ByStartSequence' }),
      [`${CONSUMER}.optStartSeq`],
    ],
    [
      'ByStartSequence with sequence 0',
      withPath(base, CONSUMER, { deliverPolicy: 'ByStartSequence', optStartSeq: 0 }),
      [`${CONSUMER}.optStartSeq`],
    ],
    [
      'ByStartTime with a time',
      withPath(base, CONSUMER, { deliverPolicy: 'ByStartTime', optStartTime: '2026-01-02T15:04:05.5+02:00' }),
      [],
    ],
    [
      'ByStartTime without a time',
      withPath(base, CONSUMER, { deliverPolicy: 'ByStartTime' }),
      [`${CONSUMER}.optStartTime`],
    ],
    [
      'ByStartTime with a bad time',
      withPath(base, CONSUMER, { deliverPolicy: 'ByStartTime', optStartTime: 'yesterday' }),
      [`${CONSUMER}.optStartTime`],
    ],
    [
      'a sequence with the default policy (All)',
      withPath(base, CONSUMER, { optStartSeq: 5 }),
      [`${CONSUMER}.optStartSeq`],
    ],
    [
      'a time with policy New',
      withPath(base, CONSUMER, { deliverPolicy: 'New', optStartTime: '2026-01-02T15:04:05Z' }),
      [`${CONSUMER}.optStartTime`],
    ],
    ['ackWait', withPath(base, `${CONSUMER}.ackWait`, '30s'), []],
    ['ackWait ISO-8601 is refused', withPath(base, `${CONSUMER}.ackWait`, 'PT30S'), [`${CONSUMER}.ackWait`]],
    ['fetchMaxWait', withPath(base, `${CONSUMER}.fetchMaxWait`, '500ms'), []],
    ['fetchMaxWait bad', withPath(base, `${CONSUMER}.fetchMaxWait`, '500'), [`${CONSUMER}.fetchMaxWait`]],
    [
      'fetchBatchSize 0 (shape)',
      withPath(base, `${CONSUMER}.fetchBatchSize`, 0),
      [`${CONSUMER}.fetchBatchSize`],
    ],
    ['replayPolicy Original', withPath(base, `${CONSUMER}.replayPolicy`, 'Original'), []],
    [
      'replayPolicy unknown (shape)',
      withPath(base, `${CONSUMER}.replayPolicy`, 'Fast'),
      [`${CONSUMER}.replayPolicy`],
    ],
    ['consumerType Pull', withPath(base, `${CONSUMER}.consumerType`, 'Pull'), []],
    [
      'consumerType unknown (shape)',
      withPath(base, `${CONSUMER}.consumerType`, 'pull'),
      [`${CONSUMER}.consumerType`],
    ],
    [
      'rateLimitBPS negative (shape)',
      withPath(base, `${CONSUMER}.rateLimitBPS`, -1),
      [`${CONSUMER}.rateLimitBPS`],
    ],
    ['sampleFrequency 30', withPath(base, `${CONSUMER}.sampleFrequency`, '30'), []],
    ['sampleFrequency 30%', withPath(base, `${CONSUMER}.sampleFrequency`, '30%'), []],
    [
      'sampleFrequency 101',
      withPath(base, `${CONSUMER}.sampleFrequency`, '101'),
      [`${CONSUMER}.sampleFrequency`],
    ],
    [
      'sampleFrequency words',
      withPath(base, `${CONSUMER}.sampleFrequency`, 'half'),
      [`${CONSUMER}.sampleFrequency`],
    ],
    ['filterSubject wildcard', withPath(base, `${CONSUMER}.filterSubject`, 'ns.js.>'), []],
    [
      'filterSubject with a space',
      withPath(base, `${CONSUMER}.filterSubject`, 'ns js'),
      [`${CONSUMER}.filterSubject`],
    ],
    // dispatcher deployment
    [
      'deployment template',
      withPath(base, 'spec.deploymentSpecTemplate', {
        annotations: { a: 'b' },
        labels: { team: 'x' },
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: 1 } },
        affinity: {
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
        },
      }),
      [],
    ],
    [
      'deployment label value not a string (shape)',
      withPath(base, 'spec.deploymentSpecTemplate.labels', { team: 1 }),
      ['spec.deploymentSpecTemplate.labels[team]'],
    ],
  ])('%s', (_name, obj, expected) => {
    expect(paths(obj)).toEqual(expected);
  });

  it('messages say what is wrong', () => {
    const obj = withPath(withPath(base, STREAM, { maxAge: 'PT1H', replicas: 7 }), CONSUMER, {
      deliverPolicy: 'ByStartTime',
      sampleFrequency: '200%',
    });
    expect(validateNatsJetStreamChannel(obj).map(String)).toEqual([
      `${STREAM}.maxAge: invalid value: PT1H: must be a non-negative Go duration such as 30s or 1h30m`,
      `${STREAM}.replicas: invalid value: 7: must be between 0 and 5`,
      `${CONSUMER}.sampleFrequency: invalid value: 200%: must be a percentage from 0 to 100, such as 30 or 30%`,
      `${CONSUMER}.optStartTime: missing field(s): required by deliverPolicy ByStartTime`,
    ]);
    expect(
      validateNatsJetStreamChannel(withPath(base, `${STREAM}.retention`, 'Forever')).map(String),
    ).toEqual([`${STREAM}.retention: invalid value: Forever: must be one of Limits, Interest, Work`]);
  });

  it('updates are not restricted (upstream has no immutable fields and no subscriber check)', () => {
    const original = withPath(base, STREAM, { maxAge: '1h' });
    const changed = withPath(withPath(original, `${STREAM}.maxAge`, '2h'), 'spec.subscribers', [
      sub({ subscriberUri: 'http://s.example' }),
    ]);
    expect(paths(changed, { original, user: 'jane' })).toEqual([]);
  });
});

describe('NatsJetStreamChannel conditions (NATS nats_jetstream_lifecycle.go)', () => {
  it('Ready depends on all six conditions', () => {
    expect(NatsJetStreamChannelKind.conditionTypes).toEqual([
      'Ready',
      'Addressable',
      'ChannelServiceReady',
      'DispatcherReady',
      'EndpointsReady',
      'ServiceReady',
      'StreamReady',
    ]);
    let conds = NatsJetStreamChannelConditionSet.initialize();
    for (const type of NatsJetStreamChannelConditionSet.dependents) {
      expect(NatsJetStreamChannelConditionSet.isReady(conds)).toBe(false);
      conds = NatsJetStreamChannelConditionSet.markTrue(conds, type);
    }
    expect(NatsJetStreamChannelConditionSet.isReady(conds)).toBe(true);
    conds = NatsJetStreamChannelConditionSet.markFalse(
      conds,
      'DispatcherReady',
      'DispatcherNotReady',
      'Dispatcher Deployment is not ready',
    );
    expect(NatsJetStreamChannelConditionSet.get(conds, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'DispatcherNotReady',
    });
  });
});

describe('NatsJetStreamChannel as upstream documents it, through admitResource', () => {
  const admit = (text: string) => {
    const doc = parse(text) as Resource;
    const def = kindFor(doc.apiVersion, doc.kind);
    expect(def?.kind).toBe('NatsJetStreamChannel');
    return admitResource(def as KindDefinition, doc);
  };

  it('examples/NatsJetstreamChannel-simple.yaml (no spec)', () => {
    const result = admit(`
apiVersion: messaging.knative.dev/v1alpha1
kind: NatsJetStreamChannel
metadata:
  name: channel-defaults
  namespace: knative-eventing
`);
    expect(result).toEqual({
      ok: true,
      resource: {
        apiVersion: 'messaging.knative.dev/v1alpha1',
        kind: 'NatsJetStreamChannel',
        metadata: {
          name: 'channel-defaults',
          namespace: 'knative-eventing',
          annotations: { [SUBSCRIBABLE]: 'v1' },
        },
        spec: {},
      },
    });
  });

  it("docs/jetstream.md's spec, every field filled in, round-trips unchanged", () => {
    const spec = {
      subscribers: [],
      delivery: { retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT1S' },
      stream: {
        overrideName: 'ORDERS',
        config: {
          additionalSubjects: ['legacy.orders.>'],
          retention: 'Interest',
          maxConsumers: 10,
          maxMsgs: 100000,
          maxBytes: 1073741824,
          discard: 'New',
          maxAge: '168h',
          maxMsgSize: 1048576,
          storage: 'Memory',
          replicas: 3,
          noAck: false,
          duplicateWindow: '2m',
          placement: { cluster: 'east', tags: ['ssd'] },
          sources: [{ name: 'A', optStartSeq: 10, filterSubject: 'a.>' }],
        },
      },
      consumerConfigTemplate: {
        deliverPolicy: 'ByStartTime',
        optStartTime: '2026-01-02T15:04:05Z',
        ackWait: '30s',
        maxDeliver: 5,
        filterSubject: 'ns.orders._knative',
        replayPolicy: 'Original',
        rateLimitBPS: 8000000,
        sampleFrequency: '30%',
        maxAckPending: 100,
        consumerType: 'Pull',
        fetchMaxWait: '1s',
        fetchBatchSize: 10,
      },
      deploymentSpecTemplate: { nodeSelector: { 'kubernetes.io/os': 'linux' } },
    };
    const doc = {
      apiVersion: 'messaging.knative.dev/v1alpha1',
      kind: 'NatsJetStreamChannel',
      metadata: { name: 'foo', namespace: 'ns' },
      spec,
    };
    const result = admitResource(NatsJetStreamChannelKind, doc);
    expect(result).toMatchObject({ ok: true, resource: { spec } });
  });

  it("the proposal's empty-string placeholders are refused with their paths", () => {
    const result = admit(`
apiVersion: messaging.knative.dev/v1alpha1
kind: NatsJetStreamChannel
metadata:
  name: foo
  namespace: ns
spec:
  stream:
    config:
      retention: ""
  consumerConfigTemplate:
    optStartSeq: ""
`);
    expect(result.ok ? [] : result.errors.map((e) => e.path)).toEqual([
      'spec.stream.config.retention',
      'spec.consumerConfigTemplate.optStartSeq',
    ]);
  });

  it('served only as v1alpha1', () => {
    expect(kindFor('messaging.knative.dev/v1', 'NatsJetStreamChannel')).toBeUndefined();
  });
});

describe('NatsJetStreamChannel behind a Channel (default-ch-webhook)', () => {
  it('a namespace default names NatsJetStreamChannel with stream settings; the template admits', () => {
    const { defaults, errors } = parseChannelDefaultsConfigMap({
      'default-ch-config': `
clusterDefault:
  apiVersion: messaging.knative.dev/v1
  kind: InMemoryChannel
namespaceDefaults:
  durable:
    apiVersion: messaging.knative.dev/v1alpha1
    kind: NatsJetStreamChannel
    spec:
      stream:
        config:
          retention: Limits
          maxAge: 24h
          replicas: 3
`,
    });
    expect(errors).toEqual([]);
    const channel = setDefaultsChannel(
      {
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'Channel',
        metadata: { name: 'c', namespace: 'durable' },
      },
      { channelDefaults: defaults },
    );
    expect(validateChannel(channel)).toEqual([]);
    const template = channel.spec?.channelTemplate;
    expect(template?.kind).toBe('NatsJetStreamChannel');
    const backing = {
      apiVersion: template?.apiVersion,
      kind: template?.kind,
      metadata: { name: 'c', namespace: 'durable' },
      spec: template?.spec,
    };
    expect(admitResource(NatsJetStreamChannelKind, backing)).toMatchObject({
      ok: true,
      resource: { spec: { stream: { config: { retention: 'Limits', maxAge: '24h', replicas: 3 } } } },
    });
  });
});
