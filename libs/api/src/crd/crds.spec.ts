import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { allKinds, kindFor } from '../registry';
import { renderCrds } from './crd';

const CRD_DIR = join(__dirname, '..', '..', '..', '..', 'charts', 'eventing', 'crds');

type Json = Record<string, unknown>;

/** A schema node as `expected`, with a description of its own (its text is checked elsewhere). */
const described = (expected: Json): Json => ({ description: expect.stringMatching(/\S/), ...expected });

/** Walks a structural schema and returns the paths of nodes Kubernetes would refuse. */
function structuralProblems(node: Json, path: string, out: string[] = []): string[] {
  for (const banned of ['$id', '$ref', '$schema', 'const', 'anyOf', 'oneOf', 'allOf', 'patternProperties']) {
    if (banned in node) out.push(`${path}: ${banned}`);
  }
  if (node['additionalProperties'] === false) out.push(`${path}: additionalProperties false`);
  if (typeof node['type'] !== 'string') out.push(`${path}: no type`);
  if ('properties' in node && 'additionalProperties' in node)
    out.push(`${path}: properties and additionalProperties`);
  for (const [k, v] of Object.entries((node['properties'] as Record<string, Json>) ?? {}))
    structuralProblems(v, `${path}.${k}`, out);
  if (node['items']) structuralProblems(node['items'] as Json, `${path}[]`, out);
  if (typeof node['additionalProperties'] === 'object')
    structuralProblems(node['additionalProperties'] as Json, `${path}{}`, out);
  return out;
}

describe('CRDs (1.1, 1.5)', () => {
  const rendered = renderCrds();

  it('committed CRDs match the definitions', () => {
    const committed = new Map(
      readdirSync(CRD_DIR)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => [f, readFileSync(join(CRD_DIR, f), 'utf8')]),
    );
    const stale = [...rendered].filter(([f, text]) => committed.get(f) !== text).map(([f]) => f);
    const extra = [...committed.keys()].filter((f) => !rendered.has(f));
    if (stale.length > 0 || extra.length > 0) {
      throw new Error(
        `CRDs are stale: run node tools/crdgen/run.mjs (differs: ${[...stale, ...extra].join(', ')})`,
      );
    }
  });

  it.each([...renderCrds().keys()])('%s is a structural schema', (file) => {
    const crd = parse(rendered.get(file) as string) as Json;
    for (const v of (crd['spec'] as Json)['versions'] as Json[]) {
      const schema = (v['schema'] as Json)['openAPIV3Schema'] as Json;
      expect(structuralProblems(schema, 'openAPIV3Schema')).toEqual([]);
    }
  });

  it('Broker CRD: names, labels, printer columns as upstream', () => {
    const crd = parse(rendered.get('broker.yaml') as string) as Json;
    expect(crd['metadata']).toMatchObject({
      name: 'brokers.eventing.knative.dev',
      labels: { 'knative.dev/crd-install': 'true', 'duck.knative.dev/addressable': 'true' },
    });
    const spec = crd['spec'] as Json;
    expect(spec['scope']).toBe('Namespaced');
    expect(spec['names']).toEqual({
      kind: 'Broker',
      plural: 'brokers',
      singular: 'broker',
      categories: ['all', 'knative', 'eventing'],
    });
    const v1 = (spec['versions'] as Json[])[0] as Json;
    expect(v1).toMatchObject({ name: 'v1', served: true, storage: true, subresources: { status: {} } });
    expect((v1['additionalPrinterColumns'] as Json[]).map((c) => c['name'])).toEqual([
      'URL',
      'Age',
      'Ready',
      'Reason',
      'Class',
    ]);
  });

  it('Trigger CRD: recursive filters cut with x-kubernetes-preserve-unknown-fields', () => {
    const crd = parse(rendered.get('trigger.yaml') as string) as Json;
    const v1 = ((crd['spec'] as Json)['versions'] as Json[])[0] as Json;
    const filters = (
      ((v1['schema'] as Json)['openAPIV3Schema'] as Json)['properties'] as Record<string, Json>
    )['spec'] as Json;
    const item = ((filters['properties'] as Record<string, Json>)['filters'] as Json)['items'] as Json;
    const props = item['properties'] as Record<string, Json>;
    expect(props['not']).toEqual(described({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }));
    expect(props['all']).toEqual(
      described({
        type: 'array',
        items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      }),
    );
    expect(props['exact']).toEqual(described({ type: 'object', additionalProperties: { type: 'string' } }));
    expect((v1['additionalPrinterColumns'] as Json[]).map((c) => c['name'])).toEqual([
      'Broker',
      'Subscriber_URI',
      'Age',
      'Ready',
      'Reason',
    ]);
  });

  it('PingSource CRD: v1 storage, v1beta2 served, source labels', () => {
    const crd = parse(rendered.get('pingsource.yaml') as string) as Json;
    expect((crd['metadata'] as Json)['labels']).toMatchObject({
      'duck.knative.dev/source': 'true',
      'eventing.knative.dev/source': 'true',
    });
    const versions = (crd['spec'] as Json)['versions'] as Json[];
    expect(versions.map((v) => [v['name'], v['served'], v['storage']])).toEqual([
      ['v1', true, true],
      ['v1beta2', true, false],
    ]);
    expect((versions[0] as Json)['additionalPrinterColumns']).toHaveLength(5);
  });
});

describe('messaging CRDs (1.1)', () => {
  const rendered = renderCrds();
  const load = (file: string) => parse(rendered.get(file) as string) as Json;
  const v1Of = (crd: Json) => ((crd['spec'] as Json)['versions'] as Json[])[0] as Json;
  const schemaOf = (crd: Json) => (v1Of(crd)['schema'] as Json)['openAPIV3Schema'] as Json;
  const props = (node: Json) => node['properties'] as Record<string, Json>;

  it.each<[string, string, string, string[], string[], Record<string, string>, string[]]>([
    [
      'channel.yaml',
      'channels.messaging.knative.dev',
      'Channel',
      ['ch'],
      ['all', 'knative', 'messaging', 'channel'],
      { 'messaging.knative.dev/subscribable': 'true', 'duck.knative.dev/addressable': 'true' },
      ['URL', 'Age', 'Ready', 'Reason'],
    ],
    [
      'inmemorychannel.yaml',
      'inmemorychannels.messaging.knative.dev',
      'InMemoryChannel',
      ['imc'],
      ['all', 'knative', 'messaging', 'channel'],
      { 'messaging.knative.dev/subscribable': 'true', 'duck.knative.dev/addressable': 'true' },
      ['URL', 'Age', 'Ready', 'Reason'],
    ],
    [
      'subscription.yaml',
      'subscriptions.messaging.knative.dev',
      'Subscription',
      ['sub'],
      ['all', 'knative', 'messaging'],
      {},
      ['Age', 'Ready', 'Reason'],
    ],
  ])(
    '%s: names, short names, categories, labels, printer columns as upstream',
    (file, name, kind, shortNames, categories, labels, columns) => {
      const crd = load(file);
      expect((crd['metadata'] as Json)['name']).toBe(name);
      expect((crd['metadata'] as Json)['labels']).toEqual({
        'knative.dev/crd-install': 'true',
        ...labels,
        'app.kubernetes.io/name': 'knative-eventing',
      });
      const names = (crd['spec'] as Json)['names'] as Json;
      expect(names).toMatchObject({ kind, shortNames, categories });
      expect(v1Of(crd)).toMatchObject({
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
      });
      expect((v1Of(crd)['additionalPrinterColumns'] as Json[]).map((c) => c['name'])).toEqual(columns);
    },
  );

  it('Channel: channelTemplate.spec is opaque; status mirrors the channelable duck and the backing channel ref', () => {
    const schema = schemaOf(load('channel.yaml'));
    const spec = props(schema)['spec'] as Json;
    expect(props(props(spec)['channelTemplate'] as Json)['spec']).toEqual(
      described({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }),
    );
    const status = props(props(schema)['status'] as Json);
    for (const field of [
      'address',
      'addresses',
      'subscribers',
      'deadLetterSinkUri',
      'deadLetterSinkCACerts',
      'deadLetterSinkAudience',
      'policies',
      'channel',
      'conditions',
      'observedGeneration',
    ]) {
      expect(status[field]).toBeDefined();
    }
    expect(Object.keys(props(status['subscribers']?.['items'] as Json))).toEqual([
      'uid',
      'observedGeneration',
      'ready',
      'message',
      'auth',
    ]);
  });

  it('InMemoryChannel: spec.subscribers[] carry the SubscriberSpec fields', () => {
    const spec = props(schemaOf(load('inmemorychannel.yaml')))['spec'] as Json;
    const item = (props(spec)['subscribers'] as Json)['items'] as Json;
    expect(Object.keys(props(item))).toEqual([
      'name',
      'uid',
      'generation',
      'subscriberUri',
      'subscriberCACerts',
      'subscriberAudience',
      'replyUri',
      'replyCACerts',
      'replyAudience',
      'delivery',
      'auth',
    ]);
  });

  it('Subscription: spec requires channel and subscriber; status.physicalSubscription has the resolved URIs', () => {
    const schema = schemaOf(load('subscription.yaml'));
    expect((props(schema)['spec'] as Json)['required']).toEqual(['channel', 'subscriber']);
    const physical = props(props(schema)['status'] as Json)['physicalSubscription'] as Json;
    expect(Object.keys(props(physical))).toEqual([
      'subscriberUri',
      'subscriberCACerts',
      'subscriberAudience',
      'replyUri',
      'replyCACerts',
      'replyAudience',
      'deadLetterSinkUri',
      'deadLetterSinkCACerts',
      'deadLetterSinkAudience',
    ]);
  });
});

describe('durable channel CRDs (EKB 100-kafka-channel.yaml, NATS 302-jsm-channel.yaml)', () => {
  const rendered = renderCrds();
  const load = (file: string) => parse(rendered.get(file) as string) as Json;
  const versionsOf = (crd: Json) => (crd['spec'] as Json)['versions'] as Json[];
  const props = (node: Json) => node['properties'] as Record<string, Json>;
  const specOf = (version: Json) =>
    props((version['schema'] as Json)['openAPIV3Schema'] as Json)['spec'] as Json;
  const CHANNEL_LABELS = {
    'knative.dev/crd-install': 'true',
    'messaging.knative.dev/subscribable': 'true',
    'duck.knative.dev/addressable': 'true',
    'app.kubernetes.io/name': 'knative-eventing',
  };
  const UPSTREAM_COLUMNS = [
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
    { name: 'URL', type: 'string', jsonPath: '.status.address.url' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ];

  it.each<[string, string, string, string[], [string, boolean, boolean][]]>([
    [
      'kafkachannel.yaml',
      'kafkachannels.messaging.knative.dev',
      'KafkaChannel',
      ['kc'],
      [
        ['v1beta1', true, true],
        ['v1', true, false],
      ],
    ],
    [
      'natsjetstreamchannel.yaml',
      'natsjetstreamchannels.messaging.knative.dev',
      'NatsJetStreamChannel',
      ['natsjsmc'],
      [['v1alpha1', true, true]],
    ],
  ])(
    '%s: names, labels, versions and printer columns as upstream',
    (file, name, kind, shortNames, versions) => {
      const crd = load(file);
      expect(crd['metadata']).toEqual({ name, labels: CHANNEL_LABELS });
      expect((crd['spec'] as Json)['names']).toEqual({
        kind,
        plural: `${kind.toLowerCase()}s`,
        singular: kind.toLowerCase(),
        shortNames,
        categories: ['all', 'knative', 'messaging', 'channel'],
      });
      expect(versionsOf(crd).map((v) => [v['name'], v['served'], v['storage']])).toEqual(versions);
      for (const v of versionsOf(crd)) {
        expect(v['subresources']).toEqual({ status: {} });
        expect(v['additionalPrinterColumns']).toEqual(UPSTREAM_COLUMNS);
      }
    },
  );

  it('KafkaChannel: the API server defaults partitions and replication factor to 1; int16 maximum', () => {
    const spec = props(specOf(versionsOf(load('kafkachannel.yaml'))[0] as Json));
    expect(spec['numPartitions']).toEqual(described({ type: 'integer', format: 'int32', default: 1 }));
    expect(spec['replicationFactor']).toEqual(described({ type: 'integer', maximum: 32767, default: 1 }));
    expect(spec['retentionDuration']).toEqual(described({ type: 'string' }));
    expect(Object.keys(spec)).toEqual([
      'numPartitions',
      'replicationFactor',
      'retentionDuration',
      'subscribers',
      'delivery',
    ]);
  });

  it('NatsJetStreamChannel: stream, consumer template and dispatcher template; enums; opaque Kubernetes types', () => {
    const spec = props(specOf(versionsOf(load('natsjetstreamchannel.yaml'))[0] as Json));
    expect(Object.keys(spec)).toEqual([
      'subscribers',
      'delivery',
      'stream',
      'consumerConfigTemplate',
      'deploymentSpecTemplate',
    ]);
    const config = props(props(spec['stream'] as Json)['config'] as Json);
    expect(config['retention']).toEqual(described({ type: 'string', enum: ['Limits', 'Interest', 'Work'] }));
    expect(config['storage']).toEqual(described({ type: 'string', enum: ['File', 'Memory'] }));
    expect(config['maxAge']).toEqual(described({ type: 'string' }));
    const consumer = props(spec['consumerConfigTemplate'] as Json);
    expect(consumer['fetchBatchSize']).toEqual(described({ type: 'integer', format: 'int32', minimum: 1 }));
    expect(consumer['optStartSeq']).toEqual(described({ type: 'integer', format: 'int64', minimum: 0 }));
    const deployment = props(spec['deploymentSpecTemplate'] as Json);
    expect(deployment['affinity']).toEqual(
      described({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }),
    );
  });
});

describe('kindFor', () => {
  it.each([
    ['eventing.knative.dev/v1', 'Broker', 'Broker'],
    ['eventing.knative.dev/v1', 'Trigger', 'Trigger'],
    ['sources.knative.dev/v1', 'PingSource', 'PingSource'],
    ['sources.knative.dev/v1beta2', 'PingSource', 'PingSource'],
    ['messaging.knative.dev/v1', 'Channel', 'Channel'],
    ['messaging.knative.dev/v1', 'InMemoryChannel', 'InMemoryChannel'],
    ['messaging.knative.dev/v1', 'Subscription', 'Subscription'],
    ['messaging.knative.dev/v1beta1', 'KafkaChannel', 'KafkaChannel'],
    ['messaging.knative.dev/v1', 'KafkaChannel', 'KafkaChannel'],
    ['messaging.knative.dev/v1alpha1', 'NatsJetStreamChannel', 'NatsJetStreamChannel'],
  ])('%s %s', (apiVersion, kind, expected) => {
    expect(kindFor(apiVersion, kind)?.kind).toBe(expected);
  });

  it.each([
    ['eventing.knative.dev/v1beta1', 'Broker'],
    ['v1', 'Broker'],
    ['eventing.knative.dev/v1', 'PingSource'],
    ['messaging.knative.dev/v1beta1', 'Channel'],
    ['eventing.knative.dev/v1', 'Subscription'],
    ['messaging.knative.dev/v1alpha1', 'KafkaChannel'],
    ['messaging.knative.dev/v1', 'NatsJetStreamChannel'],
  ])('unknown: %s %s', (apiVersion, kind) => {
    expect(kindFor(apiVersion, kind)).toBeUndefined();
  });

  it('exposes defaults, validation and conditions through the definition', () => {
    const def = kindFor('eventing.knative.dev/v1', 'Trigger');
    const obj = def?.setDefaults({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 't', namespace: 'n' },
      spec: { broker: 'b', subscriber: { uri: 'http://x.y' } },
    });
    expect(def?.validate(obj)).toEqual([]);
    expect(def?.conditionTypes).toEqual([
      'Ready',
      'BrokerReady',
      'DeadLetterSinkResolved',
      'DependencyReady',
      'OIDCIdentityCreated',
      'SubscriberResolved',
      'SubscriptionReady',
    ]);
  });

  it('messaging kinds take channel defaults through the definition', () => {
    const def = kindFor('messaging.knative.dev/v1', 'Channel');
    const channelDefaults = {
      clusterDefault: { apiVersion: 'messaging.knative.dev/v1beta1', kind: 'KafkaChannel' },
    };
    const obj = def?.setDefaults(
      { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', metadata: { name: 'c', namespace: 'n' } },
      { channelDefaults },
    );
    expect(obj.spec.channelTemplate).toEqual(channelDefaults.clusterDefault);
    expect(def?.validate(obj)).toEqual([]);
    const sub = kindFor('messaging.knative.dev/v1', 'Subscription');
    const s = sub?.setDefaults({
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'Subscription',
      metadata: { name: 's', namespace: 'n' },
      spec: {
        channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'c' },
        subscriber: { uri: 'http://x.y' },
      },
    });
    expect(sub?.validate(s)).toEqual([]);
  });
});

describe('what kubectl get shows, as upstream (config/core/resources, in-memory-channel.yaml, EKB, eventing-natss)', () => {
  const rendered = renderCrds();
  const READY = { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' };
  const REASON = {
    name: 'Reason',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  };
  const READY_SINGLE = { ...READY, jsonPath: ".status.conditions[?(@.type=='Ready')].status" };
  const REASON_SINGLE = { ...REASON, jsonPath: ".status.conditions[?(@.type=='Ready')].reason" };
  const AGE = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
  const URL = { name: 'URL', type: 'string', jsonPath: '.status.address.url' };
  const CHANNEL = ['all', 'knative', 'messaging', 'channel'];

  it.each<[string, string[] | undefined, string[], Json[]]>([
    [
      'broker.yaml',
      undefined,
      ['all', 'knative', 'eventing'],
      [
        URL,
        AGE,
        READY,
        REASON,
        {
          name: 'Class',
          type: 'string',
          priority: 1,
          jsonPath: '.metadata.annotations.eventing\\.knative\\.dev/broker\\.class',
        },
      ],
    ],
    [
      'trigger.yaml',
      undefined,
      ['all', 'knative', 'eventing'],
      [
        { name: 'Broker', type: 'string', jsonPath: '.spec.broker' },
        { name: 'Subscriber_URI', type: 'string', jsonPath: '.status.subscriberUri' },
        AGE,
        READY,
        REASON,
      ],
    ],
    [
      'pingsource.yaml',
      undefined,
      ['all', 'knative', 'sources'],
      [
        { name: 'Sink', type: 'string', jsonPath: '.status.sinkUri' },
        { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
        AGE,
        READY_SINGLE,
        REASON_SINGLE,
      ],
    ],
    ['channel.yaml', ['ch'], CHANNEL, [URL, AGE, READY, REASON]],
    ['inmemorychannel.yaml', ['imc'], CHANNEL, [URL, AGE, READY, REASON]],
    ['subscription.yaml', ['sub'], ['all', 'knative', 'messaging'], [AGE, READY, REASON]],
    // The extension repositories put Ready and Reason first.
    ['kafkachannel.yaml', ['kc'], CHANNEL, [READY, REASON, URL, AGE]],
    ['natsjetstreamchannel.yaml', ['natsjsmc'], CHANNEL, [READY, REASON, URL, AGE]],
  ])('%s: short names %j, categories %j and printer columns', (file, shortNames, categories, columns) => {
    const crd = parse(rendered.get(file) as string) as Json;
    const names = (crd['spec'] as Json)['names'] as Json;
    expect(names['shortNames']).toEqual(shortNames);
    expect(names['categories']).toEqual(categories);
    for (const v of (crd['spec'] as Json)['versions'] as Json[])
      expect(v['additionalPrinterColumns']).toEqual(columns);
  });

  // `kubectl get eventing|messaging|sources|flows` lists every kind of that group.
  const GROUP_CATEGORY: Record<string, string> = {
    'eventing.knative.dev': 'eventing',
    'messaging.knative.dev': 'messaging',
    'sources.knative.dev': 'sources',
    'flows.knative.dev': 'flows',
  };
  it.each(allKinds.map((k) => [k.kind, k] as const))(
    '%s is in the categories all, knative and the one of its group',
    (_kind, def) => {
      expect(def.categories.slice(0, 2)).toEqual(['all', 'knative']);
      expect(def.categories).toContain(GROUP_CATEGORY[def.group]);
    },
  );
});
