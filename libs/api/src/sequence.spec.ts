import { kindFor } from './registry';
import {
  SequenceConditionSet,
  SequenceKind,
  setDefaultsSequence,
  validateSequence,
  type Sequence,
} from './sequence';
import { TEST_CERT, withPath } from './testdata';

const IMC = { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' };
const KAFKA = {
  apiVersion: 'messaging.knative.dev/v1beta1',
  kind: 'KafkaChannel',
  spec: { numPartitions: 3 },
};
const svc = (name: string) => ({ ref: { apiVersion: 'v1', kind: 'Service', name } });

const bare: Sequence = {
  apiVersion: 'flows.knative.dev/v1',
  kind: 'Sequence',
  metadata: { name: 'seq', namespace: 'ns' },
  spec: { steps: [svc('one'), { uri: 'http://two.example/' }], reply: svc('out') },
};
const base = setDefaultsSequence(bare);

const paths = (obj: unknown, ctx = {}) => validateSequence(obj, ctx).map((e) => e.path);

describe('Sequence kind (1.1)', () => {
  it('is flows.knative.dev/v1 with upstream names, categories, label and columns', () => {
    expect(kindFor('flows.knative.dev/v1', 'Sequence')).toBe(SequenceKind);
    expect(SequenceKind).toMatchObject({
      plural: 'sequences',
      singular: 'sequence',
      categories: ['all', 'knative', 'flows'],
      labels: { 'duck.knative.dev/addressable': 'true' },
    });
    expect(SequenceKind.shortNames).toBeUndefined();
    expect(SequenceKind.printerColumns.map((c) => c.name)).toEqual(['URL', 'Age', 'Ready', 'Reason']);
    expect(SequenceKind.printerColumns[0]?.jsonPath).toBe('.status.address.url');
    expect(SequenceConditionSet.types).toEqual([
      'Ready',
      'ChannelsReady',
      'SubscriptionsReady',
      'Addressable',
      'EventPoliciesReady',
    ]);
  });
});

describe('Sequence defaults (1.3)', () => {
  it('channelTemplate from the shipped default-ch-webhook (InMemoryChannel); step and reply refs get the namespace', () => {
    expect(base.spec?.channelTemplate).toEqual(IMC);
    expect(base.spec?.steps?.[0]).toEqual({ ref: { ...svc('one').ref, namespace: 'ns' } });
    expect(base.spec?.steps?.[1]).toEqual({ uri: 'http://two.example/' });
    expect(base.spec?.reply?.ref?.namespace).toBe('ns');
    expect(bare.spec?.channelTemplate).toBeUndefined();
    expect(bare.spec?.steps?.[0]?.ref?.namespace).toBeUndefined();
  });

  it('takes the namespace default of default-ch-webhook before the cluster default', () => {
    const channelDefaults = { clusterDefault: IMC, namespaceDefaults: { ns: KAFKA } };
    expect(setDefaultsSequence(bare, { channelDefaults }).spec?.channelTemplate).toEqual(KAFKA);
    const other = withPath(bare, 'metadata.namespace', 'other');
    expect(setDefaultsSequence(other, { channelDefaults }).spec?.channelTemplate).toEqual(IMC);
  });

  it('keeps an explicit channelTemplate and leaves a step delivery alone, as upstream', () => {
    const step = { ...svc('one'), delivery: { retry: 2, deadLetterSink: svc('dls') } };
    const out = setDefaultsSequence({ ...bare, spec: { steps: [step], channelTemplate: KAFKA } });
    expect(out.spec?.channelTemplate).toEqual(KAFKA);
    expect(out.spec?.steps?.[0]?.delivery).toEqual({ retry: 2, deadLetterSink: svc('dls') });
    expect(out.spec?.steps?.[0]?.ref?.namespace).toBe('ns');
  });

  it('a Sequence without spec gets a spec with the channel template', () => {
    const { spec: _spec, ...noSpec } = bare;
    expect(setDefaultsSequence(noSpec as Sequence).spec).toEqual({ channelTemplate: IMC });
  });
});

describe('Sequence validation (1.3)', () => {
  it.each<[string, unknown, string[]]>([
    ['valid', base, []],
    [
      'valid with step delivery and CA certs',
      withPath(base, 'spec.steps.0', {
        uri: 'https://one.example/',
        CACerts: TEST_CERT,
        delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT0.5S', deadLetterSink: svc('d') },
      }),
      [],
    ],
    ['no steps', withPath(base, 'spec.steps', []), ['spec.steps']],
    ['steps missing', withPath(base, 'spec.steps', undefined), ['spec.steps']],
    ['no spec at all', withPath(bare, 'spec', undefined), ['spec.steps', 'spec.channelTemplate']],
    ['empty step', withPath(base, 'spec.steps.1', {}), ['spec.steps[1]']],
    ['step relative uri without ref', withPath(base, 'spec.steps.1', { uri: '/x' }), ['spec.steps[1].uri']],
    [
      'step ref without apiVersion',
      withPath(base, 'spec.steps.0.ref', { kind: 'Service', name: 'one' }),
      ['spec.steps[0].ref.apiVersion'],
    ],
    [
      'step delivery invalid',
      withPath(base, 'spec.steps.1.delivery', { retry: -1, backoffDelay: 'soon' }),
      ['spec.steps[1].delivery.retry', 'spec.steps[1].delivery.backoffDelay'],
    ],
    [
      'step delivery dead-letter sink invalid',
      withPath(base, 'spec.steps.1.delivery', { deadLetterSink: {} }),
      ['spec.steps[1].delivery.deadLetterSink'],
    ],
    ['channelTemplate missing', withPath(bare, 'spec.channelTemplate', undefined), ['spec.channelTemplate']],
    [
      'channelTemplate without apiVersion',
      withPath(base, 'spec.channelTemplate', { kind: 'InMemoryChannel' }),
      ['spec.channelTemplate.apiVersion'],
    ],
    [
      'channelTemplate without kind',
      withPath(base, 'spec.channelTemplate.kind', ''),
      ['spec.channelTemplate.kind'],
    ],
    ['reply empty', withPath(base, 'spec.reply', {}), ['spec.reply']],
    [
      'reply ref without apiVersion',
      withPath(base, 'spec.reply.ref', { kind: 'Service', name: 'x' }),
      ['spec.reply.ref.apiVersion'],
    ],
    ['no reply is fine', withPath(base, 'spec.reply', undefined), []],
    ['unknown spec field (shape)', withPath(base, 'spec.stepz', []), ['spec.stepz']],
    [
      'step with an unknown field (shape)',
      withPath(base, 'spec.steps.0.filter', {}),
      ['spec.steps[0].filter'],
    ],
    ['bad name', withPath(base, 'metadata.name', 'Seq'), ['metadata.name']],
  ])('%s', (_name, obj, expected) => {
    expect(paths(obj)).toEqual(expected);
  });

  it('the messages say what to do', () => {
    const errs = validateSequence(withPath(bare, 'spec.steps', []));
    expect(errs.map(String)).toEqual([
      'spec.steps: missing field(s): a Sequence needs at least one step',
      'spec.channelTemplate: missing field(s): name the channel kind (apiVersion and kind), or configure a default channel in default-ch-webhook',
    ]);
  });

  it('a step timeout needs the delivery-timeout feature', () => {
    const obj = withPath(base, 'spec.steps.0.delivery', { timeout: 'PT1S' });
    expect(paths(obj)).toEqual([]);
    expect(paths(obj, { features: { 'delivery-timeout': false } })).toEqual([
      'spec.steps[0].delivery.timeout',
    ]);
  });
});
