import {
  registerCesqlValidator,
  setDefaultsTrigger,
  validateTrigger,
  type Trigger,
  type TriggerFilter,
} from './trigger';
import { withPath } from './testdata';

const base: Trigger = {
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name: 't', namespace: 'ns' },
  spec: { broker: 'default', subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 'svc' } } },
};

const paths = (obj: unknown, ctx = {}) => validateTrigger(obj, ctx).map((e) => e.path);
const withFilters = (filters: unknown[]) => withPath(base, 'spec.filters', filters);

describe('Trigger defaults (1.3)', () => {
  it('filter := {}, label eventing.knative.dev/broker, subscriber ref namespace', () => {
    const out = setDefaultsTrigger(base);
    expect(out.spec.filter).toEqual({});
    expect(out.metadata.labels).toEqual({ 'eventing.knative.dev/broker': 'default' });
    expect(out.spec.subscriber.ref?.namespace).toBe('ns');
    expect(base.spec.filter).toBeUndefined();
  });

  it('keeps an explicit filter and subscriber namespace', () => {
    const t = withPath(
      withPath(base, 'spec.filter', { attributes: { type: 'x' } }),
      'spec.subscriber.ref.namespace',
      'other',
    );
    const out = setDefaultsTrigger(t);
    expect(out.spec.filter).toEqual({ attributes: { type: 'x' } });
    expect(out.spec.subscriber.ref?.namespace).toBe('other');
  });

  it('uses brokerRef.name for the label only with cross-namespace-event-links', () => {
    const t = withPath(withPath(base, 'spec.broker', undefined), 'spec.brokerRef', {
      kind: 'Broker',
      apiVersion: 'eventing.knative.dev/v1',
      name: 'b',
      namespace: 'x',
    });
    expect(setDefaultsTrigger(t).metadata.labels).toBeUndefined();
    expect(
      setDefaultsTrigger(t, { features: { 'cross-namespace-event-links': true } }).metadata.labels,
    ).toEqual({ 'eventing.knative.dev/broker': 'b' });
  });

  it('defaults the dead letter sink ref namespace', () => {
    const t = withPath(base, 'spec.delivery', {
      deadLetterSink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'd' } },
    });
    expect(setDefaultsTrigger(t).spec.delivery?.deadLetterSink?.ref?.namespace).toBe('ns');
  });
});

describe('Trigger validation (1.3, 3.1, 3.2)', () => {
  afterEach(() => registerCesqlValidator(undefined));

  it.each<[string, unknown, string[]]>([
    ['valid', base, []],
    ['valid after defaulting', setDefaultsTrigger(base), []],
    ['no broker nor brokerRef', withPath(base, 'spec.broker', undefined), ['spec.broker']],
    ['empty broker', withPath(base, 'spec.broker', ''), ['spec.broker']],
    [
      'broker and brokerRef',
      withPath(base, 'spec.brokerRef', { kind: 'Broker', name: 'b', apiVersion: 'eventing.knative.dev/v1' }),
      ['spec.broker'],
    ],
    [
      'brokerRef with namespace, flag off',
      withPath(withPath(base, 'spec.broker', undefined), 'spec.brokerRef', {
        kind: 'Broker',
        name: 'b',
        namespace: 'o',
      }),
      ['spec.brokerRef.namespace'],
    ],
    ['no subscriber', withPath(base, 'spec.subscriber', undefined), ['spec.subscriber']],
    ['empty subscriber', withPath(base, 'spec.subscriber', {}), ['spec.subscriber']],
    [
      'relative subscriber uri',
      withPath(base, 'spec.subscriber', { uri: 'svc/path' }),
      ['spec.subscriber.uri'],
    ],
    [
      '3.1 attribute key upper case',
      withPath(base, 'spec.filter', { attributes: { Type: 'x' } }),
      ['spec.filter.attributes[Type]'],
    ],
    [
      '3.1 attribute key with dash',
      withPath(base, 'spec.filter', { attributes: { 'my-ext': 'x' } }),
      ['spec.filter.attributes[my-ext]'],
    ],
    [
      '3.1 attribute key starting with a digit',
      withPath(base, 'spec.filter', { attributes: { '1a': 'x' } }),
      ['spec.filter.attributes[1a]'],
    ],
    [
      '3.1 empty attribute value is allowed',
      withPath(base, 'spec.filter', { attributes: { type: '', myext1: 'v' } }),
      [],
    ],
    [
      'attribute value not a string',
      withPath(base, 'spec.filter', { attributes: { type: 5 } }),
      ['spec.filter.attributes[type]'],
    ],
    [
      'delivery invalid',
      withPath(base, 'spec.delivery', { retry: -1, timeout: 'x' }),
      ['spec.delivery.retry', 'spec.delivery.timeout'],
    ],
    ['unknown spec field', withPath(base, 'spec.filterz', {}), ['spec.filterz']],
  ])('%s', (_name, obj, expected) => {
    expect(paths(obj)).toEqual(expected);
  });

  it('brokerRef with namespace is allowed with cross-namespace-event-links', () => {
    const t = withPath(withPath(base, 'spec.broker', undefined), 'spec.brokerRef', {
      kind: 'Broker',
      name: 'b',
      namespace: 'o',
    });
    expect(paths(t, { features: { 'cross-namespace-event-links': true } })).toEqual([]);
  });

  it.each<[string, TriggerFilter[], string[]]>([
    [
      'all dialects valid',
      [
        { exact: { type: 'a' } },
        { prefix: { source: '/x' } },
        { suffix: { type: '.v1' } },
        { all: [{ exact: { a: 'b' } }] },
        { any: [{ exact: { a: 'b' } }] },
        { not: { exact: { a: 'b' } } },
        { cesql: "type = 'x'" },
      ],
      [],
    ],
    ['no dialect element is skipped upstream, accepted', [{}], []],
    ['several keys in one exact are fine', [{ exact: { type: 'a', source: 'b' } }], []],
    [
      '3.2 two dialects',
      [{ exact: { type: 'a' } }, { exact: { type: 'a' }, prefix: { source: 'b' } }],
      ['spec.filters[1]'],
    ],
    ['exact key invalid', [{}, {}, { exact: { 'Bad-Key': 'a' } }], ['spec.filters[2].exact[Bad-Key]']],
    ['prefix key invalid', [{ prefix: { _x: 'a' } }], ['spec.filters[0].prefix[_x]']],
    ['suffix key invalid', [{ suffix: { X: 'a' } }], ['spec.filters[0].suffix[X]']],
    ['exact empty value', [{ exact: { type: '' } }], ['spec.filters[0].exact[type]']],
    ['empty exact', [{ exact: {} }], ['spec.filters[0].exact']],
    ['empty prefix', [{ prefix: {} }], ['spec.filters[0].prefix']],
    ['empty suffix', [{ suffix: {} }], ['spec.filters[0].suffix']],
    ['empty all', [{ all: [] }], ['spec.filters[0].all']],
    ['empty any', [{ any: [] }], ['spec.filters[0].any']],
    ['empty not', [{ not: {} }], ['spec.filters[0].not']],
    ['empty cesql', [{ cesql: '' }], ['spec.filters[0].cesql']],
    [
      'nested error in all',
      [{ all: [{ exact: { type: 'a' } }, { exact: { BAD: 'a' } }] }],
      ['spec.filters[0].all[1].exact[BAD]'],
    ],
    [
      'nested error in any/not',
      [{ any: [{ not: { prefix: { type: 'a' }, suffix: { type: 'b' } } }] }],
      ['spec.filters[0].any[0].not'],
    ],
    [
      'deep nesting',
      [{ not: { all: [{ any: [{ exact: {} }] }] } }],
      ['spec.filters[0].not.all[0].any[0].exact'],
    ],
  ])('filters: %s', (_name, filters, expected) => {
    expect(paths(withFilters(filters))).toEqual(expected);
  });

  it('structural errors inside recursive filters name the path', () => {
    expect(paths(withFilters([{ all: [{ exact: { type: 1 } }] }]))).toEqual([
      'spec.filters[0].all[0].exact[type]',
    ]);
    expect(paths(withFilters([{ not: { regex: 'x' } }]))).toEqual(['spec.filters[0].not.regex']);
  });

  it('registered CESQL validator reports spec.filters[i].cesql', () => {
    registerCesqlValidator((expr) =>
      expr.includes(')') ? `unexpected token ')' at ${expr.indexOf(')')}` : undefined,
    );
    const errs = validateTrigger(withFilters([{ cesql: "type = 'a'" }, { not: { cesql: "a = 'b')" } }]));
    expect(errs.map(String)).toEqual(["spec.filters[1].not.cesql: unexpected token ')' at 7"]);
  });

  it('dependency annotation must be a JSON object reference in the same namespace', () => {
    const ann = (v: string) => withPath(base, 'metadata.annotations', { 'knative.dev/dependency': v });
    expect(paths(ann('{"kind":"PingSource","name":"p","apiVersion":"sources.knative.dev/v1"}'))).toEqual([]);
    expect(paths(ann('not json'))).toEqual(['metadata.annotations[knative.dev/dependency]']);
    expect(paths(ann('{"kind":"PingSource","namespace":"other"}'))).toEqual([
      'metadata.annotations[knative.dev/dependency].namespace',
      'metadata.annotations[knative.dev/dependency].name',
      'metadata.annotations[knative.dev/dependency].apiVersion',
    ]);
  });

  it('injection annotation: enabled|disabled and only for the default broker', () => {
    const ann = (t: Trigger, v: string) =>
      withPath(t, 'metadata.annotations', { 'eventing.knative.dev/injection': v });
    expect(paths(ann(base, 'enabled'))).toEqual([]);
    expect(paths(ann(base, 'yes'))).toEqual(['metadata.annotations[eventing.knative.dev/injection]']);
    expect(paths(ann(withPath(base, 'spec.broker', 'other'), 'enabled'))).toEqual([
      'metadata.annotations[eventing.knative.dev/injection]',
    ]);
  });

  it('spec.broker is immutable on update; other spec fields are mutable', () => {
    const original = setDefaultsTrigger(base);
    expect(paths(withPath(original, 'spec.subscriber', { uri: 'http://x.example' }), { original })).toEqual(
      [],
    );
    expect(paths(withPath(original, 'spec.broker', 'other'), { original })).toEqual(['spec.broker']);
  });
});
