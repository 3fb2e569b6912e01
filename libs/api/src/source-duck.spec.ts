import type { TObject } from '@sinclair/typebox';
import { PingSourceKind } from './pingsource';
import { allKinds } from './registry';
import {
  EVENT_TYPES_ANNOTATION,
  SourceDuckSchema,
  parseEventTypesAnnotation,
  schemaHasPath,
  validateSourceSpec,
} from './source-duck';
import { validateShape } from './structural';

const sourceKinds = allKinds.filter((k) => k.labels?.['duck.knative.dev/source'] === 'true');

describe('the Source duck type (CONFORMANCE 4.10)', () => {
  it('PingSource is a source', () => {
    expect(sourceKinds).toContain(PingSourceKind);
  });

  describe.each(sourceKinds.map((k) => [k.kind, k] as const))('%s', (_name, kind) => {
    it('is labelled a source and listed by `kubectl get sources`', () => {
      expect(kind.labels).toMatchObject({
        'duck.knative.dev/source': 'true',
        'eventing.knative.dev/source': 'true',
      });
      expect(kind.categories).toEqual(expect.arrayContaining(['sources']));
    });

    it('has spec.sink, spec.ceOverrides.extensions, status.sinkUri, status.ceAttributes and conditions', () => {
      const schema = kind.schema as TObject;
      for (const path of [
        ['spec', 'sink'],
        ['spec', 'ceOverrides', 'extensions'],
        ['status', 'sinkUri'],
        ['status', 'ceAttributes'],
        ['status', 'conditions'],
      ])
        expect([path.join('.'), schemaHasPath(schema, path)]).toEqual([path.join('.'), true]);
      expect(kind.conditionTypes[0]).toBe('Ready');
    });

    it('lists the event types it emits, if it does, in a valid registry.knative.dev/eventTypes annotation', () => {
      const text = kind.annotations?.[EVENT_TYPES_ANNOTATION];
      if (text === undefined) return; // a SHOULD: ContainerSource's types are its image's business
      const types = parseEventTypesAnnotation(text);
      expect(types).toBeInstanceOf(Array);
      expect((types as unknown[]).length).toBeGreaterThan(0);
    });

    it('prints Sink, Age, Ready and Reason', () => {
      const names = kind.printerColumns.map((c) => c.name);
      expect(names).toEqual(expect.arrayContaining(['Sink', 'Age', 'Ready', 'Reason']));
      expect(kind.printerColumns.find((c) => c.name === 'Sink')?.jsonPath).toBe('.status.sinkUri');
    });
  });
});

describe('parseEventTypesAnnotation', () => {
  it.each([
    ['{', `${EVENT_TYPES_ANNOTATION}: invalid value: not JSON`],
    ['{}', `${EVENT_TYPES_ANNOTATION}: invalid value: expected a JSON array`],
    ['[{"description":"x"}]', `${EVENT_TYPES_ANNOTATION}[0].type: missing field(s)`],
    ['[{"type":"a"},{"type":""}]', `${EVENT_TYPES_ANNOTATION}[1].type: missing field(s)`],
  ])('refuses %s', (text, message) => {
    expect(String(parseEventTypesAnnotation(text))).toContain(message);
  });

  it('reads type, schema and description', () => {
    expect(parseEventTypesAnnotation('[{"type":"a","schema":"s","description":"d"}]')).toEqual([
      { type: 'a', schema: 's', description: 'd' },
    ]);
  });
});

describe('validateSourceSpec', () => {
  it('names spec.sink and spec.ceOverrides', () => {
    const errs = validateSourceSpec({ sink: {}, ceOverrides: { extensions: { type: 'x', Bad: 'y' } } });
    expect(errs.map((e) => e.path)).toEqual([
      'spec.sink',
      'spec.ceOverrides.extensions[type]',
      'spec.ceOverrides.extensions[Bad]',
    ]);
  });
});

describe('SourceDuckSchema', () => {
  it('reads any source through the duck fields only', () => {
    const source = {
      apiVersion: 'sources.knative.dev/v1',
      kind: 'PingSource',
      metadata: { name: 'p', namespace: 'demo' },
      spec: { sink: { uri: 'http://x' }, schedule: '* * * * *' },
      status: { sinkUri: 'http://x', ceAttributes: [{ type: 't', source: 's' }] },
    };
    expect(validateShape(SourceDuckSchema, source)).toEqual([]);
  });
});
