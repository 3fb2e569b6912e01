import { FieldError } from './errors';
import {
  validateCeOverrides,
  validateDeliverySpec,
  validateDestination,
  validateKReference,
  type DeliverySpec,
  type Destination,
} from './duck';
import type { FeatureFlags } from './features';
import { TEST_CERT } from './testdata';

const paths = (errs: FieldError[]) => errs.map((e) => e.path);
const ref = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'svc' };

describe('Destination (1.2)', () => {
  it.each<[string, Destination, string[]]>([
    ['uri only, absolute', { uri: 'http://example.com/x' }, []],
    ['ref only', { ref }, []],
    ['ref + relative uri', { ref, uri: '/extra/path' }, []],
    ['neither', {}, ['spec.subscriber']],
    ['empty uri', { uri: '' }, ['spec.subscriber']],
    ['uri alone relative', { uri: '/path' }, ['spec.subscriber.uri']],
    ['uri alone without host', { uri: 'mailto:x' }, ['spec.subscriber.uri']],
    ['ref + absolute uri', { ref, uri: 'http://example.com' }, ['spec.subscriber.uri']],
    ['ref without name', { ref: { ...ref, name: '' } }, ['spec.subscriber.ref.name']],
    [
      'ref without kind and apiVersion',
      { ref: { kind: '', name: 'x' } },
      ['spec.subscriber.ref.apiVersion', 'spec.subscriber.ref.kind'],
    ],
    [
      'ref with group (flag off)',
      { ref: { ...ref, group: 'serving.knative.dev' } },
      ['spec.subscriber.ref.group'],
    ],
    ['valid CACerts', { uri: 'https://example.com', CACerts: TEST_CERT }, []],
    ['CACerts not PEM', { uri: 'https://example.com', CACerts: 'garbage' }, ['spec.subscriber.CACerts']],
    [
      'CACerts not a certificate',
      {
        uri: 'https://example.com',
        CACerts: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      },
      ['spec.subscriber.CACerts'],
    ],
    [
      'CACerts broken certificate',
      {
        uri: 'https://example.com',
        CACerts: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      },
      ['spec.subscriber.CACerts'],
    ],
  ])('%s', (_name, dest, expected) => {
    expect(paths(validateDestination(dest, 'spec.subscriber'))).toEqual(expected);
  });
});

describe('KReference (1.2)', () => {
  it('group allowed with flag kreference-group; apiVersion may then be omitted', () => {
    const features = { 'kreference-group': true };
    expect(
      validateKReference({ kind: 'Service', name: 's', group: 'serving.knative.dev' }, 'r', { features }),
    ).toEqual([]);
    expect(paths(validateKReference({ kind: 'Service', name: 's' }, 'r', { features }))).toEqual([
      'r.apiVersion',
    ]);
    expect(
      paths(validateKReference({ kind: 'S', name: 's', apiVersion: 'a/v1', group: 'b' }, 'r', { features })),
    ).toEqual(['r.group']);
  });

  it('namespace must equal the parent namespace when different namespaces are disallowed', () => {
    const r = { ...ref, namespace: 'other' };
    expect(
      validateKReference(r, 'spec.config', { parentNamespace: 'ns', allowDifferentNamespace: true }),
    ).toEqual([]);
    expect(
      paths(validateKReference(r, 'spec.config', { parentNamespace: 'ns', allowDifferentNamespace: false })),
    ).toEqual(['spec.config.namespace']);
  });
});

describe('DeliverySpec (1.2)', () => {
  it.each<[string, DeliverySpec, Partial<FeatureFlags>, string[]]>([
    ['shipped default', { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' }, {}, []],
    ['retry 0', { retry: 0 }, {}, []],
    ['negative retry', { retry: -1 }, {}, ['spec.delivery.retry']],
    ['linear', { backoffPolicy: 'linear' }, {}, []],
    ['unknown policy', { backoffPolicy: 'random' as never }, {}, ['spec.delivery.backoffPolicy']],
    ['bad backoffDelay', { backoffDelay: '200ms' }, {}, ['spec.delivery.backoffDelay']],
    ['timeout', { timeout: 'PT10S' }, {}, []],
    ['zero timeout', { timeout: 'PT0S' }, {}, ['spec.delivery.timeout']],
    ['bad timeout', { timeout: '10s' }, {}, ['spec.delivery.timeout']],
    ['timeout with flag off', { timeout: 'PT10S' }, { 'delivery-timeout': false }, ['spec.delivery.timeout']],
    ['retryAfterMax flag off (default)', { retryAfterMax: 'PT10S' }, {}, ['spec.delivery.retryAfterMax']],
    ['retryAfterMax flag on', { retryAfterMax: 'PT10S' }, { 'delivery-retryafter': true }, []],
    ['retryAfterMax zero', { retryAfterMax: 'PT0S' }, { 'delivery-retryafter': true }, []],
    [
      'retryAfterMax negative',
      { retryAfterMax: '-PT1S' },
      { 'delivery-retryafter': true },
      ['spec.delivery.retryAfterMax'],
    ],
    [
      'retryAfterMax invalid',
      { retryAfterMax: 'soon' },
      { 'delivery-retryafter': true },
      ['spec.delivery.retryAfterMax'],
    ],
    ['format json', { format: 'json' }, {}, []],
    ['format binary', { format: 'binary' }, {}, []],
    ['format xml', { format: 'xml' as never }, {}, ['spec.delivery.format']],
    [
      'dead letter sink relative',
      { deadLetterSink: { uri: '/x' } },
      {},
      ['spec.delivery.deadLetterSink.uri'],
    ],
    ['dead letter sink empty', { deadLetterSink: {} }, {}, ['spec.delivery.deadLetterSink']],
  ])('%s', (_name, delivery, features, expected) => {
    expect(paths(validateDeliverySpec(delivery, 'spec.delivery', { features }))).toEqual(expected);
  });
});

describe('ceOverrides (1.2 SourceSpec)', () => {
  it.each<[Record<string, string>, string[]]>([
    [{ myext: 'x', abc123: 'y' }, []],
    [{ '': 'x' }, ['spec.ceOverrides.extensions[]']],
    [{ 'my-ext': 'x' }, ['spec.ceOverrides.extensions[my-ext]']],
    [{ MyExt: 'x' }, ['spec.ceOverrides.extensions[MyExt]']],
    [{ type: 'x' }, ['spec.ceOverrides.extensions[type]']],
    [
      { source: 'x', id: 'y', specversion: 'z' },
      [
        'spec.ceOverrides.extensions[source]',
        'spec.ceOverrides.extensions[id]',
        'spec.ceOverrides.extensions[specversion]',
      ],
    ],
  ])('%j', (extensions, expected) => {
    expect(paths(validateCeOverrides({ extensions }, 'spec.ceOverrides'))).toEqual(expected);
  });
});

describe('FieldError', () => {
  it('renders path: message', () => {
    expect(String(new FieldError('spec.filters[2].exact', 'must not be empty'))).toBe(
      'spec.filters[2].exact: must not be empty',
    );
  });
});
