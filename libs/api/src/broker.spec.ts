import {
  BROKER_CLASS_ANNOTATION,
  setDefaultsBroker,
  shippedBrokerDefaults,
  validateBroker,
  type Broker,
} from './broker';
import type { BrokerDefaults } from './kind';
import { withPath } from './testdata';

const CLASS_PATH = 'metadata.annotations[eventing.knative.dev/broker.class]';

const base: Broker = {
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  metadata: {
    name: 'default',
    namespace: 'ns',
    annotations: { [BROKER_CLASS_ANNOTATION]: 'MTChannelBasedBroker' },
  },
};

describe('Broker defaults (1.3)', () => {
  it('defaults class annotation, spec.config and spec.delivery from the shipped config-br-defaults', () => {
    const out = setDefaultsBroker({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      metadata: { name: 'b', namespace: 'ns' },
    });
    expect(out.metadata.annotations).toEqual({ [BROKER_CLASS_ANNOTATION]: 'MTChannelBasedBroker' });
    expect(out.spec).toEqual({
      config: {
        kind: 'ConfigMap',
        name: 'config-br-default-channel',
        namespace: 'knative-eventing',
        apiVersion: 'v1',
      },
      delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' },
    });
  });

  it('is pure: the input is not modified', () => {
    const input = structuredClone(base);
    setDefaultsBroker(input);
    expect(input).toEqual(base);
  });

  it('keeps an existing class annotation, even an empty one', () => {
    const out = setDefaultsBroker(withPath(base, 'metadata.annotations', { [BROKER_CLASS_ANNOTATION]: '' }));
    expect(out.metadata.annotations?.[BROKER_CLASS_ANNOTATION]).toBe('');
  });

  it('8.8: spec.delivery is defaulted only when absent (a given delivery is kept whole)', () => {
    const out = setDefaultsBroker(withPath(base, 'spec', { delivery: { retry: 1 } }));
    expect(out.spec?.delivery).toEqual({ retry: 1 });
  });

  it('delivery defaults are a parameter', () => {
    const defaults: BrokerDefaults = {
      clusterDefault: {
        brokerClass: 'Kafka',
        delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S', timeout: 'PT5S' },
      },
    };
    const out = setDefaultsBroker(
      { ...base, metadata: { name: 'b', namespace: 'ns' } },
      { brokerDefaults: defaults },
    );
    expect(out.metadata.annotations?.[BROKER_CLASS_ANNOTATION]).toBe('Kafka');
    // Only retry, backoffPolicy, backoffDelay and deadLetterSink are inherited (upstream).
    expect(out.spec?.delivery).toEqual({ retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S' });
    expect(out.spec?.config).toBeUndefined();
  });

  it('namespace defaults override the cluster default', () => {
    const defaults: BrokerDefaults = {
      clusterDefault: shippedBrokerDefaults.clusterDefault,
      namespaceDefaults: {
        special: {
          brokerClass: 'Kafka',
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: 'kafka-cfg',
          namespace: 'special',
          delivery: { retry: 2 },
        },
      },
    };
    const out = setDefaultsBroker(
      { ...base, metadata: { name: 'b', namespace: 'special' } },
      { brokerDefaults: defaults },
    );
    expect(out.metadata.annotations?.[BROKER_CLASS_ANNOTATION]).toBe('Kafka');
    expect(out.spec?.config?.name).toBe('kafka-cfg');
    expect(out.spec?.delivery).toEqual({ retry: 2 });
  });

  it('defaults ref namespaces of spec.config and the dead letter sink', () => {
    const out = setDefaultsBroker(
      withPath(base, 'spec', {
        config: { apiVersion: 'v1', kind: 'ConfigMap', name: 'c' },
        delivery: { deadLetterSink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'dls' } } },
      }),
    );
    expect(out.spec?.config?.namespace).toBe('ns');
    expect(out.spec?.delivery?.deadLetterSink?.ref?.namespace).toBe('ns');
  });
});

describe('Broker validation (1.3)', () => {
  it.each<[string, unknown, string[]]>([
    ['valid minimal', base, []],
    ['valid after defaulting', setDefaultsBroker(base), []],
    ['class annotation missing', withPath(base, 'metadata.annotations', {}), [CLASS_PATH]],
    [
      'class annotation empty',
      withPath(base, 'metadata.annotations', { [BROKER_CLASS_ANNOTATION]: '' }),
      [CLASS_PATH],
    ],
    ['bad name', withPath(base, 'metadata.name', 'Bad_Name'), ['metadata.name']],
    [
      'config without name',
      withPath(base, 'spec', { config: { apiVersion: 'v1', kind: 'ConfigMap', name: '' } }),
      ['spec.config.name'],
    ],
    [
      'config without apiVersion',
      withPath(base, 'spec', { config: { kind: 'ConfigMap', name: 'c' } }),
      ['spec.config.apiVersion'],
    ],
    [
      'delivery bad backoffDelay',
      withPath(base, 'spec', { delivery: { backoffDelay: 'forever' } }),
      ['spec.delivery.backoffDelay'],
    ],
    ['delivery negative retry', withPath(base, 'spec', { delivery: { retry: -3 } }), ['spec.delivery.retry']],
    [
      'delivery backoffPolicy enum',
      withPath(base, 'spec', { delivery: { backoffPolicy: 'fast' } }),
      ['spec.delivery.backoffPolicy'],
    ],
    [
      'delivery retry not an integer',
      withPath(base, 'spec', { delivery: { retry: 'ten' } }),
      ['spec.delivery.retry'],
    ],
    ['unknown spec field', withPath(base, 'spec', { channel: 'x' }), ['spec.channel']],
    [
      'class annotation not a string',
      withPath(base, 'metadata.annotations', { [BROKER_CLASS_ANNOTATION]: 5 }),
      [CLASS_PATH],
    ],
  ])('%s', (_name, obj, expected) => {
    expect(validateBroker(obj).map((e) => e.path)).toEqual(expected);
  });

  it('config in another namespace is rejected only when disallowDifferentNamespaceConfig is set', () => {
    const b = withPath(base, 'spec', {
      config: { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'other' },
    });
    expect(validateBroker(b)).toEqual([]);
    const brokerDefaults: BrokerDefaults = { clusterDefault: { disallowDifferentNamespaceConfig: true } };
    expect(validateBroker(b, { brokerDefaults }).map((e) => e.path)).toEqual(['spec.config.namespace']);
  });

  it('on update spec.config and the class annotation are immutable, spec.delivery is mutable', () => {
    const original = setDefaultsBroker(base);
    expect(validateBroker(withPath(original, 'spec.delivery', { retry: 1 }), { original })).toEqual([]);
    expect(
      validateBroker(withPath(original, 'spec.config.name', 'other'), { original }).map((e) => e.path),
    ).toEqual(['spec.config']);
    expect(
      validateBroker(withPath(original, 'metadata.annotations', { [BROKER_CLASS_ANNOTATION]: 'Kafka' }), {
        original,
      }).map((e) => e.path),
    ).toEqual([CLASS_PATH]);
  });

  it('error messages name the path', () => {
    expect(validateBroker(withPath(base, 'metadata.annotations', {})).map(String)).toEqual([
      `${CLASS_PATH}: missing field(s)`,
    ]);
  });
});
