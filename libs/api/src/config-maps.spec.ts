import fc from 'fast-check';
import { stringify } from 'yaml';
import { setDefaultsBroker, shippedBrokerDefaults } from './broker';
import { setDefaultsChannel, shippedChannelDefaults } from './channel';
import { parseBrokerDefaultsConfigMap, parseChannelDefaultsConfigMap } from './config-maps';
import type { BrokerConfigDefaults, BrokerDefaults, ChannelDefaults } from './kind';

// The text upstream ships in config-br-defaults.
const SHIPPED_BR = `
clusterDefault:
  brokerClass: MTChannelBasedBroker
  apiVersion: v1
  kind: ConfigMap
  name: config-br-default-channel
  namespace: knative-eventing
  delivery:
    retry: 10
    backoffPolicy: exponential
    backoffDelay: PT0.2S
`;

// The text upstream ships in default-ch-webhook.
const SHIPPED_CH = `
clusterDefault:
  apiVersion: messaging.knative.dev/v1
  kind: InMemoryChannel
namespaceDefaults:
  some-namespace:
    apiVersion: messaging.knative.dev/v1
    kind: InMemoryChannel
`;

const brPaths = (text: string | undefined) =>
  parseBrokerDefaultsConfigMap(text === undefined ? {} : { 'default-br-config': text }).errors.map(
    (e) => e.path,
  );
const chPaths = (text: string | undefined) =>
  parseChannelDefaultsConfigMap(text === undefined ? {} : { 'default-ch-config': text }).errors.map(
    (e) => e.path,
  );

describe('config-br-defaults (1.5)', () => {
  it('parses the shipped text into the shipped defaults', () => {
    expect(parseBrokerDefaultsConfigMap({ 'default-br-config': SHIPPED_BR })).toEqual({
      defaults: shippedBrokerDefaults,
      errors: [],
    });
  });

  it('namespaceDefaults, brokerClasses and disallowDifferentNamespaceConfig feed Broker defaulting', () => {
    const { defaults, errors } = parseBrokerDefaultsConfigMap({
      'default-br-config': `
clusterDefault:
  brokerClass: MTChannelBasedBroker
  apiVersion: v1
  kind: ConfigMap
  name: config-br-default-channel
  namespace: knative-eventing
  brokerClasses:
    Kafka:
      apiVersion: v1
      kind: ConfigMap
      name: kafka-broker-config
      namespace: knative-eventing
      delivery: { retry: 3 }
  disallowDifferentNamespaceConfig: yes
namespaceDefaults:
  team-a:
    brokerClass: Kafka
`,
    });
    expect(errors).toEqual([]);
    expect(defaults.clusterDefault?.disallowDifferentNamespaceConfig).toBe(true);
    const b = setDefaultsBroker(
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'b', namespace: 'team-a' } },
      { brokerDefaults: defaults },
    );
    expect(b.metadata.annotations).toEqual({ 'eventing.knative.dev/broker.class': 'Kafka' });
    expect(b.spec).toEqual({
      config: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        name: 'kafka-broker-config',
        namespace: 'knative-eventing',
      },
      delivery: { retry: 3 },
    });
  });

  it('a document of only comments configures nothing', () => {
    expect(parseBrokerDefaultsConfigMap({ 'default-br-config': '# nothing here\n' })).toEqual({
      defaults: {},
      errors: [],
    });
  });

  const R = 'data.default-br-config';
  it.each<[string, string | undefined, string[]]>([
    ['key missing', undefined, [R]],
    ['key empty', '', [R]],
    ['invalid YAML', 'clusterDefault: [unclosed', [R]],
    ['bad indentation', 'clusterDefault:\n  brokerClass: a\n bad: b', [R]],
    ['not a mapping', '- a\n- b', [R]],
    ['a scalar', 'just text', [R]],
    ['clusterDefault not a mapping', 'clusterDefault: MTChannelBasedBroker', [`${R}.clusterDefault`]],
    [
      'retry not an integer',
      'clusterDefault:\n  delivery:\n    retry: ten',
      [`${R}.clusterDefault.delivery.retry`],
    ],
    [
      'retry a fraction',
      'clusterDefault:\n  delivery:\n    retry: 1.5',
      [`${R}.clusterDefault.delivery.retry`],
    ],
    ['retry negative', 'clusterDefault:\n  delivery:\n    retry: -1', [`${R}.clusterDefault.delivery.retry`]],
    [
      'backoffPolicy enum',
      'clusterDefault:\n  delivery:\n    backoffPolicy: fast',
      [`${R}.clusterDefault.delivery.backoffPolicy`],
    ],
    [
      'backoffDelay not ISO-8601',
      'clusterDefault:\n  delivery:\n    backoffDelay: 200ms',
      [`${R}.clusterDefault.delivery.backoffDelay`],
    ],
    [
      'dead letter sink relative uri',
      'clusterDefault:\n  delivery:\n    deadLetterSink:\n      uri: /dls',
      [`${R}.clusterDefault.delivery.deadLetterSink.uri`],
    ],
    ['brokerClass not a string', 'clusterDefault:\n  brokerClass: [a]', [`${R}.clusterDefault.brokerClass`]],
    [
      'disallowDifferentNamespaceConfig not a boolean',
      'clusterDefault:\n  disallowDifferentNamespaceConfig: sometimes',
      [`${R}.clusterDefault.disallowDifferentNamespaceConfig`],
    ],
    [
      'unknown field (a typo would be silently ignored upstream)',
      'clusterDefault:\n  brokerclass: Kafka',
      [`${R}.clusterDefault.brokerclass`],
    ],
    ['unknown top-level field', 'clusterDefaults: {}', [`${R}.clusterDefaults`]],
    [
      'namespace default wrong type',
      'namespaceDefaults:\n  team-a:\n    delivery:\n      retry: "3"',
      [`${R}.namespaceDefaults[team-a].delivery.retry`],
    ],
    [
      'namespace default semantic',
      'namespaceDefaults:\n  team-a:\n    delivery:\n      retry: -3',
      [`${R}.namespaceDefaults[team-a].delivery.retry`],
    ],
    [
      'brokerClasses entry wrong type',
      'clusterDefault:\n  brokerClasses:\n    Kafka:\n      name: 5',
      [`${R}.clusterDefault.brokerClasses[Kafka].name`],
    ],
    [
      'brokerClasses entry semantic, at both levels',
      'clusterDefault:\n  brokerClasses:\n    Kafka:\n      delivery: { backoffDelay: x }\nnamespaceDefaults:\n  team-b:\n    brokerClasses:\n      Kafka:\n        delivery: { retry: -1 }',
      [
        `${R}.clusterDefault.brokerClasses[Kafka].delivery.backoffDelay`,
        `${R}.namespaceDefaults[team-b].brokerClasses[Kafka].delivery.retry`,
      ],
    ],
    ['namespaceDefaults not a mapping', 'namespaceDefaults: [a]', [`${R}.namespaceDefaults`]],
  ])('%s', (_name, text, expected) => {
    expect(brPaths(text)).toEqual(expected);
  });

  it('on any error the shipped defaults are returned (all or nothing)', () => {
    const out = parseBrokerDefaultsConfigMap({
      'default-br-config': 'clusterDefault:\n  brokerClass: Kafka\n  delivery:\n    retry: ten',
    });
    expect(out.defaults).toBe(shippedBrokerDefaults);
    expect(out.errors.map(String)).toEqual([
      'data.default-br-config.clusterDefault.delivery.retry: expected integer, got string',
    ]);
  });

  it('invalid YAML reports the parser message with its position', () => {
    const [err] = parseBrokerDefaultsConfigMap({ 'default-br-config': 'clusterDefault: [unclosed' }).errors;
    expect(err?.path).toBe('data.default-br-config');
    expect(err?.message).toMatch(/^invalid YAML: .*line 1/);
  });

  it('a missing key says so', () => {
    expect(parseBrokerDefaultsConfigMap({ other: 'x' }).errors.map(String)).toEqual([
      'data.default-br-config: missing field(s)',
    ]);
  });

  it('delivery features are a parameter (timeout needs delivery-timeout)', () => {
    const data = { 'default-br-config': 'clusterDefault:\n  delivery:\n    timeout: PT5S' };
    expect(parseBrokerDefaultsConfigMap(data).errors).toEqual([]);
    expect(
      parseBrokerDefaultsConfigMap(data, { 'delivery-timeout': false }).errors.map((e) => e.path),
    ).toEqual(['data.default-br-config.clusterDefault.delivery.timeout']);
  });
});

describe('default-ch-webhook (1.5)', () => {
  it('parses the shipped text', () => {
    const out = parseChannelDefaultsConfigMap({ 'default-ch-config': SHIPPED_CH });
    expect(out.errors).toEqual([]);
    expect(out.defaults).toEqual({
      ...shippedChannelDefaults,
      namespaceDefaults: { 'some-namespace': shippedChannelDefaults.clusterDefault },
    });
  });

  it('namespace defaults, with an opaque spec, feed Channel defaulting', () => {
    const { defaults, errors } = parseChannelDefaultsConfigMap({
      'default-ch-config': `
clusterDefault:
  apiVersion: messaging.knative.dev/v1
  kind: InMemoryChannel
namespaceDefaults:
  kafka:
    apiVersion: messaging.knative.dev/v1beta1
    kind: KafkaChannel
    spec:
      numPartitions: 3
      replicationFactor: 1
`,
    });
    expect(errors).toEqual([]);
    const ch = setDefaultsChannel(
      {
        apiVersion: 'messaging.knative.dev/v1',
        kind: 'Channel',
        metadata: { name: 'c', namespace: 'kafka' },
      },
      { channelDefaults: defaults },
    );
    expect(ch.spec?.channelTemplate).toEqual({
      apiVersion: 'messaging.knative.dev/v1beta1',
      kind: 'KafkaChannel',
      spec: { numPartitions: 3, replicationFactor: 1 },
    });
  });

  const R = 'data.default-ch-config';
  it.each<[string, string | undefined, string[]]>([
    ['key missing', undefined, [R]],
    ['key empty', '', [R]],
    ['invalid YAML', 'clusterDefault: {apiVersion: v1', [R]],
    ['not a mapping', '[1, 2]', [R]],
    [
      'clusterDefault without kind',
      'clusterDefault:\n  apiVersion: messaging.knative.dev/v1',
      [`${R}.clusterDefault.kind`],
    ],
    [
      'clusterDefault empty',
      'clusterDefault: {}',
      [`${R}.clusterDefault.apiVersion`, `${R}.clusterDefault.kind`],
    ],
    [
      'namespace default without apiVersion',
      'namespaceDefaults:\n  ns1:\n    kind: InMemoryChannel',
      [`${R}.namespaceDefaults[ns1].apiVersion`],
    ],
    ['kind not a string', 'clusterDefault:\n  apiVersion: v1\n  kind: 7', [`${R}.clusterDefault.kind`]],
    [
      'spec not a mapping',
      'clusterDefault:\n  apiVersion: v1\n  kind: K\n  spec: text',
      [`${R}.clusterDefault.spec`],
    ],
    ['unknown field', 'clusterDefault:\n  apiVersion: v1\n  kind: K\n  spc: {}', [`${R}.clusterDefault.spc`]],
    [
      'namespace default not a mapping',
      'namespaceDefaults:\n  ns1: InMemoryChannel',
      [`${R}.namespaceDefaults[ns1]`],
    ],
  ])('%s', (_name, text, expected) => {
    expect(chPaths(text)).toEqual(expected);
  });

  it('on any error the shipped defaults are returned', () => {
    const out = parseChannelDefaultsConfigMap({ 'default-ch-config': 'clusterDefault: {}' });
    expect(out.defaults).toBe(shippedChannelDefaults);
    expect(out.errors.map(String)).toEqual([
      `${R}.clusterDefault.apiVersion: missing field(s)`,
      `${R}.clusterDefault.kind: missing field(s)`,
    ]);
  });
});

describe('defaults ConfigMaps: properties', () => {
  const name = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?$/);
  const delivery = fc.record(
    {
      retry: fc.nat({ max: 1000 }),
      backoffPolicy: fc.constantFrom('linear' as const, 'exponential' as const),
      backoffDelay: fc.constantFrom('PT0.2S', 'PT1S', 'PT2M'),
    },
    { requiredKeys: [] },
  );
  const config = fc.record(
    { apiVersion: fc.constant('v1'), kind: fc.constant('ConfigMap'), name, namespace: name, delivery },
    { requiredKeys: [] },
  );
  const scoped: fc.Arbitrary<BrokerConfigDefaults> = fc.record(
    {
      brokerClass: fc.constantFrom('MTChannelBasedBroker', 'Kafka', 'yes', 'on'),
      apiVersion: fc.constant('v1'),
      kind: fc.constant('ConfigMap'),
      name,
      delivery,
      brokerClasses: fc.dictionary(fc.constantFrom('Kafka', 'MTChannelBasedBroker', 'no'), config, {
        maxKeys: 2,
      }),
      disallowDifferentNamespaceConfig: fc.boolean(),
    },
    { requiredKeys: [] },
  );
  const brokerDefaults: fc.Arbitrary<BrokerDefaults> = fc.record(
    { clusterDefault: scoped, namespaceDefaults: fc.dictionary(name, scoped, { maxKeys: 3 }) },
    { requiredKeys: [] },
  );
  const template = fc.record({
    apiVersion: fc.constant('messaging.knative.dev/v1'),
    kind: fc.constantFrom('InMemoryChannel', 'KafkaChannel'),
  });
  const channelDefaults: fc.Arbitrary<ChannelDefaults> = fc.record(
    { clusterDefault: template, namespaceDefaults: fc.dictionary(name, template, { maxKeys: 3 }) },
    { requiredKeys: [] },
  );

  it('any valid broker defaults survive writing as YAML and parsing back', () => {
    fc.assert(
      fc.property(brokerDefaults, (defaults) => {
        // Written as YAML 1.1 so that `yes`, `on`, `n`... stay strings, as a careful user would quote them.
        const out = parseBrokerDefaultsConfigMap({
          'default-br-config': stringify(defaults, { version: '1.1' }),
        });
        expect(out.errors).toEqual([]);
        expect(out.defaults).toEqual(defaults);
      }),
    );
  });

  it('any valid channel defaults survive writing as YAML and parsing back', () => {
    fc.assert(
      fc.property(channelDefaults, (defaults) => {
        const out = parseChannelDefaultsConfigMap({
          'default-ch-config': stringify(defaults, { version: '1.1' }),
        });
        expect(out.errors).toEqual([]);
        expect(out.defaults).toEqual(defaults);
      }),
    );
  });

  it('arbitrary text never throws and every error is under data.<key>', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        for (const e of parseBrokerDefaultsConfigMap({ 'default-br-config': text }).errors)
          expect(e.path.startsWith('data.default-br-config')).toBe(true);
        for (const e of parseChannelDefaultsConfigMap({ 'default-ch-config': text }).errors)
          expect(e.path.startsWith('data.default-ch-config')).toBe(true);
      }),
    );
  });
});

describe('defaults ConfigMaps: hostile and null YAML', () => {
  let bomb = 'a0: &a0 [x, x, x, x]\n';
  for (let i = 1; i < 10; i++) bomb += `a${i}: &a${i} [*a${i - 1}, *a${i - 1}, *a${i - 1}, *a${i - 1}]\n`;
  const deep = `clusterDefault: ${'['.repeat(50_000)}${']'.repeat(50_000)}`;

  it.each([
    ['an alias bomb', bomb, /^invalid YAML: Excessive alias count/],
    ['nesting deeper than the stack', deep, /^invalid YAML: nested 50001 levels deep, more than 100$/],
  ])('%s is an error on data.<key>, not a crash', (_name, text, message) => {
    const broker = parseBrokerDefaultsConfigMap({ 'default-br-config': text });
    expect(broker.defaults).toBe(shippedBrokerDefaults);
    expect(broker.errors.map((e) => [e.path, e.message])).toEqual([
      ['data.default-br-config', expect.stringMatching(message)],
    ]);
    const channel = parseChannelDefaultsConfigMap({ 'default-ch-config': text });
    expect(channel.errors.map((e) => e.path)).toEqual(['data.default-ch-config']);
  });

  it('a null field is absent, as the Go YAML decoder leaves it', () => {
    const out = parseBrokerDefaultsConfigMap({
      'default-br-config':
        'clusterDefault:\n  brokerClass: MTChannelBasedBroker\n  delivery: # none\nnamespaceDefaults: ~\n',
    });
    expect(out).toEqual({
      defaults: { clusterDefault: { brokerClass: 'MTChannelBasedBroker' } },
      errors: [],
    });
  });
});
