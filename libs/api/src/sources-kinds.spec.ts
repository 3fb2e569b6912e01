import { setDefaultsApiServerSource, validateApiServerSource, type ApiServerSource } from './apiserversource';
import { setDefaultsContainerSource, validateContainerSource, type ContainerSource } from './containersource';
import { admitResource } from './admission';
import {
  isEmptyLabelSelector,
  labelSelectorString,
  matchesLabelSelector,
  parseLabelSelectorString,
  validateLabelSelector,
  type LabelSelector,
} from './label-selector';
import { kindFor } from './registry';
import { setDefaultsSinkBinding, validateSinkBinding, type SinkBinding } from './sinkbinding';
import { withPath } from './testdata';
import { validateTrigger } from './trigger';

const apiserver: ApiServerSource = {
  apiVersion: 'sources.knative.dev/v1',
  kind: 'ApiServerSource',
  metadata: { name: 'a', namespace: 'ns' },
  spec: {
    resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }],
    mode: 'Reference',
    serviceAccountName: 'default',
    sink: { uri: 'http://sink.example/' },
  },
};
const paths = (errs: { path: string }[]) => errs.map((e) => e.path);

describe('ApiServerSource defaults and validation (1.3, 4.2)', () => {
  it('mode defaults to Reference, serviceAccountName to default, the sink ref to its namespace', () => {
    const bare = withPath(
      withPath(withPath(apiserver, 'spec.mode', undefined), 'spec.serviceAccountName', undefined),
      'spec.sink',
      { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'b' } },
    );
    const out = setDefaultsApiServerSource(bare);
    expect(out.spec.mode).toBe('Reference');
    expect(out.spec.serviceAccountName).toBe('default');
    expect(out.spec.sink.ref?.namespace).toBe('ns');
    expect(bare.spec.mode).toBeUndefined();
  });

  it.each<[string, unknown, string[]]>([
    ['valid', apiserver, []],
    ['Resource mode', withPath(apiserver, 'spec.mode', 'Resource'), []],
    ['unknown mode', withPath(apiserver, 'spec.mode', 'Everything'), ['spec.mode']],
    ['no resources', withPath(apiserver, 'spec.resources', []), ['spec.resources']],
    [
      'apiVersion with two slashes',
      withPath(apiserver, 'spec.resources', [{ apiVersion: 'a/b/c', kind: 'X' }]),
      ['spec.resources[0].apiVersion'],
    ],
    [
      'blank kind',
      withPath(apiserver, 'spec.resources', [{ apiVersion: 'v1', kind: ' ' }]),
      ['spec.resources[0].kind'],
    ],
    [
      'In without values',
      withPath(apiserver, 'spec.resources', [
        { apiVersion: 'v1', kind: 'Pod', selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } },
      ]),
      ['spec.resources[0].selector.matchExpressions[0].values'],
    ],
    [
      'owner without kind',
      withPath(apiserver, 'spec.owner', { apiVersion: 'apps/v1', kind: '' }),
      ['spec.owner.kind'],
    ],
    ['no sink', withPath(apiserver, 'spec.sink', {}), ['spec.sink']],
    [
      'ceOverrides naming a required attribute',
      withPath(apiserver, 'spec.ceOverrides', { extensions: { type: 'x' } }),
      ['spec.ceOverrides.extensions[type]'],
    ],
    [
      'filters without the feature',
      withPath(apiserver, 'spec.filters', [{ exact: { type: 'x' } }]),
      ['spec.filters'],
    ],
  ])('%s', (_name, obj, expected) => {
    expect(paths(validateApiServerSource(obj))).toEqual(expected);
  });

  it('filters are accepted with the new-apiserversource-filters feature, and checked', () => {
    const ctx = { features: { 'new-apiserversource-filters': true } };
    expect(
      validateApiServerSource(withPath(apiserver, 'spec.filters', [{ exact: { type: 'x' } }]), ctx),
    ).toEqual([]);
    expect(paths(validateApiServerSource(withPath(apiserver, 'spec.filters', [{ exact: {} }]), ctx))).toEqual(
      ['spec.filters[0].exact'],
    );
  });

  it('a Trigger still validates after an ApiServerSource compiled the shared filter schema', () => {
    validateApiServerSource(apiserver);
    const trigger = {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 't', namespace: 'ns' },
      spec: { broker: 'default', filters: [{ exact: { type: 'x' } }], subscriber: { uri: 'http://s/' } },
    };
    expect(validateTrigger(trigger)).toEqual([]);
  });

  it('is admitted through the registry with its defaults', () => {
    const { mode: _m, serviceAccountName: _s, ...spec } = apiserver.spec;
    const kind = kindFor('sources.knative.dev/v1', 'ApiServerSource');
    expect(kind?.plural).toBe('apiserversources');
    const result = admitResource(kind!, { ...apiserver, spec });
    expect(result).toMatchObject({
      ok: true,
      resource: { spec: { mode: 'Reference', serviceAccountName: 'default' } },
    });
  });
});

const container: ContainerSource = {
  apiVersion: 'sources.knative.dev/v1',
  kind: 'ContainerSource',
  metadata: { name: 'heartbeats', namespace: 'ns' },
  spec: {
    template: {
      spec: { containers: [{ name: 'beat', image: 'example/heartbeats', command: ['node', 'x.js'] }] },
    },
    sink: { uri: 'http://sink.example/' },
  },
};

describe('ContainerSource defaults and validation (1.3, 4.3)', () => {
  it('names unnamed containers <source>-<index>, keeps named ones and every other field', () => {
    const obj = withPath(container, 'spec.template.spec.containers', [
      { image: 'a', ports: [{ containerPort: 80 }] },
      { name: 'keep', image: 'b' },
    ]);
    const out = setDefaultsContainerSource(obj);
    expect(out.spec.template.spec?.containers).toEqual([
      { name: 'heartbeats-0', image: 'a', ports: [{ containerPort: 80 }] },
      { name: 'keep', image: 'b' },
    ]);
  });

  it.each<[string, unknown, string[]]>([
    ['valid', container, []],
    [
      'no containers',
      withPath(container, 'spec.template.spec.containers', []),
      ['spec.template.spec.containers'],
    ],
    ['no template spec', withPath(container, 'spec.template', {}), ['spec.template.spec.containers']],
    [
      'container without image',
      withPath(container, 'spec.template.spec.containers', [{ name: 'x' }]),
      ['spec.template.spec.containers[0].image'],
    ],
    [
      'container without name',
      withPath(container, 'spec.template.spec.containers', [{ image: 'x' }]),
      ['spec.template.spec.containers[0].name'],
    ],
    ['relative sink', withPath(container, 'spec.sink', { uri: '/x' }), ['spec.sink.uri']],
  ])('%s', (_name, obj, expected) => {
    expect(paths(validateContainerSource(obj))).toEqual(expected);
  });
});

const binding: SinkBinding = {
  apiVersion: 'sources.knative.dev/v1',
  kind: 'SinkBinding',
  metadata: { name: 'bind', namespace: 'ns' },
  spec: {
    subject: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', name: 'app' },
    sink: { uri: 'http://sink.example/' },
  },
};

describe('SinkBinding defaults and validation (1.3, 4.4)', () => {
  it('the subject namespace defaults to the binding namespace', () => {
    const out = setDefaultsSinkBinding(withPath(binding, 'spec.subject.namespace', undefined));
    expect(out.spec.subject.namespace).toBe('ns');
  });

  it.each<[string, unknown, string[]]>([
    ['valid by name', binding, []],
    [
      'valid by selector',
      withPath(withPath(binding, 'spec.subject.name', undefined), 'spec.subject.selector', {
        matchLabels: { app: 'x' },
      }),
      [],
    ],
    [
      'name and selector',
      withPath(binding, 'spec.subject.selector', { matchLabels: { a: 'b' } }),
      ['spec.subject.name'],
    ],
    ['neither name nor selector', withPath(binding, 'spec.subject.name', undefined), ['spec.subject']],
    ['another namespace', withPath(binding, 'spec.subject.namespace', 'other'), ['spec.subject.namespace']],
    ['no namespace', withPath(binding, 'spec.subject.namespace', undefined), ['spec.subject.namespace']],
    ['no kind', withPath(binding, 'spec.subject.kind', ''), ['spec.subject.kind']],
    ['no apiVersion', withPath(binding, 'spec.subject.apiVersion', ''), ['spec.subject.apiVersion']],
    ['no sink', withPath(binding, 'spec.sink', {}), ['spec.sink']],
  ])('%s', (_name, obj, expected) => {
    expect(paths(validateSinkBinding(obj))).toEqual(expected);
  });
});

describe('label selectors', () => {
  const labels = { app: 'shop', tier: 'web' };
  it.each<[string, LabelSelector | undefined, boolean]>([
    ['absent selects nothing', undefined, false],
    ['empty selects everything', {}, true],
    ['matchLabels equal', { matchLabels: { app: 'shop' } }, true],
    ['matchLabels different', { matchLabels: { app: 'bank' } }, false],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] }, true],
    ['In, label absent', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn, label absent', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    [
      'NotIn, value listed',
      { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['shop'] }] },
      false,
    ],
    ['Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
  ])('%s', (_name, selector, expected) => {
    expect(matchesLabelSelector(selector, labels)).toBe(expected);
  });

  it('prints the API server text form, sorted by key', () => {
    expect(
      labelSelectorString({
        matchLabels: { tier: 'web' },
        matchExpressions: [
          { key: 'app', operator: 'In', values: ['b', 'a'] },
          { key: 'zone', operator: 'DoesNotExist' },
          { key: 'env', operator: 'NotIn', values: ['prod'] },
          { key: 'owner', operator: 'Exists' },
        ],
      }),
    ).toBe('app in (a,b),env notin (prod),owner,tier=web,!zone');
    expect(labelSelectorString({})).toBe('');
    expect(isEmptyLabelSelector({})).toBe(true);
    expect(isEmptyLabelSelector(undefined)).toBe(false);
  });

  it('names bad keys and values', () => {
    expect(
      paths(
        validateLabelSelector(
          {
            matchLabels: { 'bad key': 'v', ok: 'bad value!' },
            matchExpressions: [{ key: 'k', operator: 'Exists', values: ['x'] }],
          },
          's',
        ),
      ),
    ).toEqual(['s.matchLabels[bad key]', 's.matchLabels[ok]', 's.matchExpressions[0].values']);
  });

  it('reads the text form back: every object matches the parsed selector exactly when it matches the original', () => {
    const selector: LabelSelector = {
      matchLabels: { tier: 'web' },
      matchExpressions: [
        { key: 'app', operator: 'In', values: ['a', 'b'] },
        { key: 'zone', operator: 'DoesNotExist' },
        { key: 'env', operator: 'NotIn', values: ['prod'] },
        { key: 'example.com/owner', operator: 'Exists' },
      ],
    };
    const parsed = parseLabelSelectorString(labelSelectorString(selector));
    const objects: Record<string, string>[] = [
      { tier: 'web', app: 'a', 'example.com/owner': 'x' },
      { tier: 'web', app: 'c', 'example.com/owner': 'x' },
      { tier: 'web', app: 'b', 'example.com/owner': 'x', zone: 'z' },
      { tier: 'web', app: 'b', 'example.com/owner': 'x', env: 'prod' },
      { tier: 'web', app: 'b', 'example.com/owner': 'x', env: 'dev' },
      { tier: 'db', app: 'a', 'example.com/owner': 'x' },
      { tier: 'web', app: 'a' },
    ];
    for (const labels of objects)
      expect(matchesLabelSelector(parsed, labels)).toBe(matchesLabelSelector(selector, labels));
    expect(parseLabelSelectorString('a==1, b != 2')).toEqual({
      matchExpressions: [
        { key: 'a', operator: 'In', values: ['1'] },
        { key: 'b', operator: 'NotIn', values: ['2'] },
      ],
    });
    expect(() => parseLabelSelectorString('a in b')).toThrow(/a in b/);
  });
});
