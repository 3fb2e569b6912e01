import { Type } from '@sinclair/typebox';
import { parse } from 'yaml';
import { described } from '../describe';
import type { KindDefinition } from '../kind';
import { resourceSchema } from '../meta';
import { allKinds } from '../registry';
import { renderCrds } from './crd';

// `kubectl explain <kind>.<field>` prints the description of every field from the CRD's
// openAPIV3Schema, so every field of every kind carries one, written where its schema is defined
// (`{ description }` in the typebox options, `described()` for a shared schema used in a place of its
// own, the third argument of `resourceSchema` for the kind itself).

type Json = Record<string, unknown>;

// Kubernetes refuses anything but `type: object` at the root's metadata and documents it itself.
const ROOT_METADATA = 'openAPIV3Schema.metadata';

/** Paths of the schema nodes without a description: the root and every property, at any depth. */
function undescribed(node: Json, path: string, out: string[] = []): string[] {
  const text = node['description'];
  if ((typeof text !== 'string' || text.trim() === '') && path !== ROOT_METADATA) out.push(path);
  walkChildren(node, path, out);
  return out;
}

function walkChildren(node: Json, path: string, out: string[]): void {
  for (const [key, child] of Object.entries((node['properties'] as Record<string, Json>) ?? {}))
    undescribed(child, `${path}.${key}`, out);
  // Array items and map values are described by the field that holds them; their own fields are not.
  if (typeof node['items'] === 'object') walkChildren(node['items'] as Json, `${path}[]`, out);
  if (typeof node['additionalProperties'] === 'object')
    walkChildren(node['additionalProperties'] as Json, `${path}{}`, out);
}

/** Every description of a schema, with its path. */
function descriptions(node: Json, path: string, out: [string, string][] = []): [string, string][] {
  if (typeof node['description'] === 'string') out.push([path, node['description']]);
  for (const [key, child] of Object.entries((node['properties'] as Record<string, Json>) ?? {}))
    descriptions(child, `${path}.${key}`, out);
  if (typeof node['items'] === 'object') descriptions(node['items'] as Json, `${path}[]`, out);
  if (typeof node['additionalProperties'] === 'object')
    descriptions(node['additionalProperties'] as Json, `${path}{}`, out);
  return out;
}

/** The openAPIV3Schema of every served version of every rendered CRD, named `<file> <version>`. */
function schemasOf(kinds?: readonly KindDefinition[]): [string, Json][] {
  const out: [string, Json][] = [];
  for (const [file, text] of renderCrds(kinds)) {
    const crd = parse(text) as Json;
    for (const v of (crd['spec'] as Json)['versions'] as Json[]) {
      out.push([`${file} ${String(v['name'])}`, (v['schema'] as Json)['openAPIV3Schema'] as Json]);
    }
  }
  return out;
}

describe('CRD field descriptions (kubectl explain)', () => {
  it.each(schemasOf())('%s: the kind and every field have a description', (_name, schema) => {
    const missing = undescribed(schema, 'openAPIV3Schema');
    if (missing.length > 0) {
      throw new Error(
        `${missing.length} schema node(s) without a description; add { description: '...' } where the ` +
          `schema is defined in libs/api (described() for a shared schema, the third argument of ` +
          `resourceSchema() for the kind), then run node tools/crdgen/run.mjs:\n  ${missing.join('\n  ')}`,
      );
    }
  });

  it.each(schemasOf())('%s: descriptions are sentences', (_name, schema) => {
    const bad = descriptions(schema, 'openAPIV3Schema')
      .filter(([, text]) => !/^[A-Z0-9"'(]/.test(text) || !/[.)]$/.test(text) || /\s\s|\n/.test(text))
      .map(([path, text]) => `${path}: ${JSON.stringify(text)}`);
    expect(bad).toEqual([]);
  });

  it.each(schemasOf())('%s: metadata is a bare object, as Kubernetes requires', (_name, schema) => {
    expect((schema['properties'] as Record<string, Json>)['metadata']).toEqual({ type: 'object' });
  });

  it('finds a field without a description at any depth, in arrays and maps too', () => {
    const Inner = Type.Object({ leaf: Type.String() });
    const schema = resourceSchema(
      Type.Object(
        {
          documented: Type.String({ description: 'Documented.' }),
          bare: Type.Optional(Inner),
          list: Type.Array(Inner, { description: 'A list.' }),
          map: Type.Record(Type.String(), Inner, { description: 'A map.' }),
          shared: described(Inner, 'A shared schema described where it is used.'),
        },
        { description: 'Spec.' },
      ),
      Type.Object({}),
    );
    const kind = { ...allKinds[0], schema, singular: 'probe' } as KindDefinition;
    const [[, rendered]] = schemasOf([kind]) as [[string, Json]];
    expect(undescribed(rendered, 'openAPIV3Schema')).toEqual([
      'openAPIV3Schema',
      'openAPIV3Schema.spec.bare',
      'openAPIV3Schema.spec.bare.leaf',
      'openAPIV3Schema.spec.list[].leaf',
      'openAPIV3Schema.spec.map{}.leaf',
      'openAPIV3Schema.spec.shared.leaf',
      'openAPIV3Schema.status',
    ]);
  });

  it('a description given at the place of use wins over the shared one and leaves the shared schema alone', () => {
    const Shared = Type.String({ description: 'Shared.' });
    const own = described(Shared, 'Own.');
    expect(own.description).toBe('Own.');
    expect(Shared.description).toBe('Shared.');
  });

  it('kubectl explain broker.spec.delivery has something to say about every field', () => {
    const broker = schemasOf().find(([name]) => name === 'broker.yaml v1')?.[1] as Json;
    const spec = (broker['properties'] as Record<string, Json>)['spec'] as Json;
    const delivery = (spec['properties'] as Record<string, Json>)['delivery'] as Json;
    const fields = delivery['properties'] as Record<string, Json>;
    expect(Object.keys(fields)).toEqual([
      'deadLetterSink',
      'retry',
      'timeout',
      'backoffPolicy',
      'backoffDelay',
      'retryAfterMax',
      'format',
    ]);
    expect(delivery['description']).toMatch(/Trigger/);
    expect(fields['retry']?.['description']).toMatch(/dead-letter sink/);
    expect(fields['backoffPolicy']?.['description']).toMatch(/linear.*exponential/);
    expect(fields['backoffPolicy']?.['enum']).toEqual(['linear', 'exponential']);
    expect(fields['timeout']?.['description']).toMatch(/ISO-8601/);
  });
});
