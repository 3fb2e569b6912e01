import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { admitResource, normalizeResource } from './admission';
import type { KindDefinition } from './kind';
import type { Resource } from './meta';
import { kindFor } from './registry';

const documents: Record<string, Resource> = {
  Broker: {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: { name: 'b', namespace: 'ns', labels: { team: 'a' } },
    spec: { config: { apiVersion: 'v1', kind: 'ConfigMap', name: 'c' }, delivery: { retry: 1 } },
  },
  Trigger: {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: 't', namespace: 'ns', labels: { team: 'a' } },
    spec: {
      broker: 'default',
      filter: { attributes: { type: 'x' } },
      subscriber: { uri: 'http://s.example/' },
      delivery: { retry: 1 },
    },
  },
  PingSource: {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'PingSource',
    metadata: { name: 'p', namespace: 'ns', labels: { team: 'a' } },
    spec: { sink: { uri: 'http://s.example/' }, ceOverrides: { extensions: { team: 'a' } } },
  },
  Channel: {
    apiVersion: 'messaging.knative.dev/v1',
    kind: 'Channel',
    metadata: { name: 'c', namespace: 'ns', labels: { team: 'a' } },
    spec: {
      channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' },
      delivery: { retry: 1 },
    },
  },
  InMemoryChannel: {
    apiVersion: 'messaging.knative.dev/v1',
    kind: 'InMemoryChannel',
    metadata: { name: 'i', namespace: 'ns', labels: { team: 'a' } },
    spec: { delivery: { retry: 1 } },
  },
  KafkaChannel: {
    apiVersion: 'messaging.knative.dev/v1beta1',
    kind: 'KafkaChannel',
    metadata: { name: 'k', namespace: 'ns', labels: { team: 'a' } },
    spec: { numPartitions: 3, retentionDuration: 'P1D', delivery: { retry: 1 } },
  },
  NatsJetStreamChannel: {
    apiVersion: 'messaging.knative.dev/v1alpha1',
    kind: 'NatsJetStreamChannel',
    metadata: { name: 'n', namespace: 'ns', labels: { team: 'a' } },
    spec: {
      delivery: { retry: 1 },
      stream: { config: { maxAge: '1h', storage: 'Memory' } },
      consumerConfigTemplate: { ackWait: '30s' },
    },
  },
  Subscription: {
    apiVersion: 'messaging.knative.dev/v1',
    kind: 'Subscription',
    metadata: { name: 's', namespace: 'ns', labels: { team: 'a' } },
    spec: {
      channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'c' },
      subscriber: { uri: 'http://s.example/' },
      reply: { uri: 'http://r.example/' },
      delivery: { retry: 1 },
    },
  },
};

const definition = (kind: string): KindDefinition => {
  const doc = documents[kind] as Resource;
  return kindFor(doc.apiVersion, doc.kind) as KindDefinition;
};

const get = (obj: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((cur, key) => (cur as Record<string, unknown> | undefined)?.[key], obj);

const MARK = 'NULL-HERE';
const FORMS = ['null', '~', 'empty', 'comment only'] as const;

/** The document as YAML with the field at `path` written in one of YAML's null forms. */
function yamlWithNull(kind: string, path: string, form: (typeof FORMS)[number]): string {
  const copy = structuredClone(documents[kind]) as unknown as Record<string, unknown>;
  const keys = path.split('.');
  const parent = keys.slice(0, -1).reduce((cur, k) => cur[k] as Record<string, unknown>, copy);
  parent[keys[keys.length - 1] as string] = MARK;
  const written = { null: ' null', '~': ' ~', empty: '', 'comment only': '' }[form];
  return stringify(copy).replace(new RegExp(`^( *)([^ :]+): ${MARK}$`, 'm'), (_m, indent: string, key) =>
    form === 'comment only'
      ? `${indent}${key}:\n${indent}  # only a comment: YAML reads this as null`
      : `${indent}${key}:${written}`,
  );
}

// Every field a user may leave null by writing only a comment under it, with what defaulting makes of it.
const cases: [kind: string, path: string, check: (r: Resource) => void][] = [
  ...Object.keys(documents).map((kind): [string, string, (r: Resource) => void] => [
    kind,
    'metadata.labels',
    (r) => expect(r.metadata.labels?.['team']).toBeUndefined(),
  ]),
  [
    'Broker',
    'spec.delivery',
    (r) =>
      expect(get(r, 'spec.delivery')).toEqual({
        retry: 10,
        backoffPolicy: 'exponential',
        backoffDelay: 'PT0.2S',
      }),
  ],
  ['Broker', 'spec.config', (r) => expect(get(r, 'spec.config.name')).toBe('config-br-default-channel')],
  ['Trigger', 'spec.delivery', (r) => expect(get(r, 'spec.delivery')).toBeUndefined()],
  ['Trigger', 'spec.filter', (r) => expect(get(r, 'spec.filter')).toEqual({})],
  ['Trigger', 'spec.filter.attributes', (r) => expect(get(r, 'spec.filter')).toEqual({})],
  ['PingSource', 'spec.ceOverrides', (r) => expect(get(r, 'spec.ceOverrides')).toBeUndefined()],
  ['Channel', 'spec.delivery', (r) => expect(get(r, 'spec.delivery')).toBeUndefined()],
  [
    'Channel',
    'spec.channelTemplate',
    (r) => expect(get(r, 'spec.channelTemplate.kind')).toBe('InMemoryChannel'),
  ],
  ['InMemoryChannel', 'spec.delivery', (r) => expect(get(r, 'spec.delivery')).toBeUndefined()],
  ['KafkaChannel', 'spec.delivery', (r) => expect(get(r, 'spec.delivery')).toBeUndefined()],
  ['KafkaChannel', 'spec.numPartitions', (r) => expect(get(r, 'spec.numPartitions')).toBe(1)],
  ['KafkaChannel', 'spec.retentionDuration', (r) => expect(get(r, 'spec.retentionDuration')).toBe('PT168H')],
  ['NatsJetStreamChannel', 'spec.stream', (r) => expect(get(r, 'spec.stream')).toBeUndefined()],
  [
    'NatsJetStreamChannel',
    'spec.stream.config.maxAge',
    (r) => expect(get(r, 'spec.stream.config')).toEqual({ storage: 'Memory' }),
  ],
  [
    'NatsJetStreamChannel',
    'spec.consumerConfigTemplate',
    (r) => expect(get(r, 'spec.consumerConfigTemplate')).toBeUndefined(),
  ],
  ['Subscription', 'spec.delivery', (r) => expect(get(r, 'spec.delivery')).toBeUndefined()],
  ['Subscription', 'spec.reply', (r) => expect(get(r, 'spec.reply')).toBeUndefined()],
];

describe('admitResource: YAML nulls are dropped as the structural schema decoder drops them', () => {
  const table = cases.flatMap(([kind, path, check]) =>
    FORMS.map((form) => [kind, path, form, check] as const),
  );

  it.each(table)('%s %s written as %s: admitted with defaults', (kind, path, form, check) => {
    const text = yamlWithNull(kind, path, form);
    const parsed: unknown = parse(text);
    expect(get(parsed, path)).toBeNull();
    const result = admitResource(definition(kind), parsed);
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    check(result.resource);
    // Defaults of every kind still applied.
    if (kind === 'PingSource') expect(get(result.resource, 'spec.schedule')).toBe('* * * * *');
    if (kind === 'Trigger')
      expect(result.resource.metadata.labels?.['eventing.knative.dev/broker']).toBe('default');
    if (['Channel', 'InMemoryChannel', 'KafkaChannel', 'NatsJetStreamChannel'].includes(kind))
      expect(result.resource.metadata.annotations?.['messaging.knative.dev/subscribable']).toBe('v1');
  });

  it('drops nulls at any depth, including inside objects held in arrays', () => {
    const trigger = {
      ...documents['Trigger'],
      spec: {
        broker: 'default',
        subscriber: { ref: { apiVersion: 'v1', kind: 'Service', name: 's', namespace: null } },
        filters: [{ exact: { type: 'x', source: null }, prefix: null }],
      },
    };
    const result = admitResource(definition('Trigger'), trigger);
    expect(result).toMatchObject({
      ok: true,
      resource: {
        spec: {
          subscriber: { ref: { namespace: 'ns' } },
          filters: [{ exact: { type: 'x' } }],
        },
      },
    });
  });

  it('keeps a null array item, which then fails validation (as Kubernetes does)', () => {
    const trigger = {
      ...documents['Trigger'],
      spec: { broker: 'default', subscriber: { uri: 'http://s.example/' }, filters: [null] },
    };
    const result = admitResource(definition('Trigger'), trigger);
    expect(result.ok ? [] : result.errors.map((e) => e.toString())).toEqual([
      'spec.filters[0]: expected object, got null',
    ]);
  });

  it('keeps nulls the schema allows and nulls of unknown fields (reported as unknown)', () => {
    const broker = documents['Broker'] as Resource;
    expect(
      normalizeResource(definition('Broker'), {
        ...broker,
        metadata: { ...broker.metadata, creationTimestamp: null },
      }),
    ).toMatchObject({ metadata: { creationTimestamp: null } });
    const result = admitResource(definition('Broker'), { ...broker, spec: { bogus: null } });
    expect(result.ok ? [] : result.errors.map((e) => e.toString())).toEqual(['spec.bogus: unknown field']);
  });

  it('a null spec is absent: optional for a Broker, missing for a Trigger', () => {
    expect(admitResource(definition('Broker'), { ...documents['Broker'], spec: null }).ok).toBe(true);
    const result = admitResource(definition('Trigger'), { ...documents['Trigger'], spec: null });
    expect(result.ok ? [] : result.errors.map((e) => e.toString())).toEqual(['spec: missing field(s)']);
  });

  it('does not change its input', () => {
    const input = parse(yamlWithNull('Broker', 'spec.delivery', 'null')) as unknown;
    const before = structuredClone(input);
    admitResource(definition('Broker'), input);
    expect(input).toEqual(before);
  });
});

describe('admitResource: status on create is ignored', () => {
  it.each(Object.keys(documents))('%s', (kind) => {
    for (const status of [null, { bogus: true }, { conditions: 'not a list' }, 'text']) {
      const result = admitResource(definition(kind), { ...documents[kind], status });
      expect(result).toMatchObject({ ok: true });
      if (result.ok) expect(result.resource).not.toHaveProperty('status');
    }
  });
});

describe('admitResource: wrong shapes are reported, never defaulted', () => {
  it.each<[string, unknown, string[]]>([
    [
      'metadata a string',
      { ...documents['Broker'], metadata: 'b' },
      ['metadata: expected object, got string'],
    ],
    [
      'delivery a list',
      { ...documents['Trigger'], spec: { ...(documents['Trigger']?.spec as object), delivery: [] } },
      ['spec.delivery: expected object, got array'],
    ],
    ['spec a number', { ...documents['Channel'], spec: 3 }, ['spec: expected object, got number']],
    ['document a list', [], ['expected object, got array']],
  ])('%s', (_name, obj, expected) => {
    const kind = Array.isArray(obj) ? 'Broker' : (obj as Resource).kind;
    const result = admitResource(definition(kind), obj);
    expect(result.ok ? [] : result.errors.map((e) => e.toString().replace(/^: /, ''))).toEqual(expected);
  });
});

describe('admitResource properties', () => {
  const paths = (doc: unknown): string[][] => {
    const out: string[][] = [];
    const stack: [unknown, string[]][] = [[doc, []]];
    while (stack.length > 0) {
      const [value, path] = stack.pop() as [unknown, string[]];
      out.push(path);
      if (typeof value === 'object' && value !== null)
        for (const [k, v] of Object.entries(value)) stack.push([v, [...path, k]]);
    }
    return out;
  };
  const set = (doc: unknown, path: string[], value: unknown): unknown => {
    if (path.length === 0) return value;
    const copy = structuredClone(doc) as Record<string, unknown>;
    let cur = copy;
    for (const key of path.slice(0, -1)) cur = cur[key] as Record<string, unknown>;
    cur[path[path.length - 1] as string] = value;
    return copy;
  };
  const kinds = Object.keys(documents);

  it('never throws on a mutated document, and admitting what it admitted changes nothing', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.array(fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 3 })), { minLength: 1, maxLength: 4 }),
        (kind, mutations) => {
          let doc: unknown = documents[kind];
          for (const [at, value] of mutations) {
            const all = paths(doc);
            doc = set(doc, all[at % all.length] as string[], value);
          }
          const first = admitResource(definition(kind), doc);
          if (!first.ok) {
            expect(first.errors.length).toBeGreaterThan(0);
            return;
          }
          expect(admitResource(definition(kind), first.resource)).toEqual(first);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
