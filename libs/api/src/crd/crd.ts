import type { TSchema } from '@sinclair/typebox';
import { stringify } from 'yaml';
import type { KindDefinition } from '../kind';
import { allKinds } from '../registry';

/** A JSON-schema node, as typebox emits it. */
type Node = Record<string, unknown>;
/** A node of a Kubernetes structural schema. */
export type StructuralSchema = Record<string, unknown>;

const PRESERVE = 'x-kubernetes-preserve-unknown-fields';
// Validation keywords Kubernetes accepts in a structural schema and that we carry over.
const CARRIED = [
  'format',
  'enum',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'pattern',
  'nullable',
  'default',
];

/**
 * Converts a typebox schema into the structural subset Kubernetes accepts: no $id/$ref/const,
 * every node typed, maps as `additionalProperties`, recursion cut with `x-kubernetes-preserve-unknown-fields`.
 */
export function toStructural(schema: TSchema): StructuralSchema {
  return convert(schema as Node);
}

function convert(node: Node): StructuralSchema {
  // A self-reference (recursive filter): Kubernetes cannot express it, so keep whatever is there.
  if (typeof node['$ref'] === 'string') return describedAs(node, { type: 'object', [PRESERVE]: true });
  const out: StructuralSchema = {};
  if (node['const'] !== undefined) {
    out['type'] = typeof node['const'];
    out['enum'] = [node['const']];
    return describedAs(node, out);
  }
  const anyOf = node['anyOf'] as Node[] | undefined;
  if (anyOf !== undefined) return convertUnion(anyOf, node);
  const type = node['type'];
  if (typeof type !== 'string')
    throw new Error(`cannot express schema without a type in a CRD: ${JSON.stringify(node)}`);
  // Description first, as people write CRDs by hand.
  if (typeof node['description'] === 'string') out['description'] = node['description'];
  out['type'] = type;
  for (const key of CARRIED) if (node[key] !== undefined) out[key] = node[key];
  if (type === 'array') {
    out['items'] = convert(node['items'] as Node);
  } else if (type === 'object') {
    const properties = node['properties'] as Record<string, Node> | undefined;
    const pattern = node['patternProperties'] as Record<string, Node> | undefined;
    const additional = node['additionalProperties'];
    if (properties !== undefined && Object.keys(properties).length > 0) {
      out['properties'] = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, convert(v)]));
      const required = node['required'] as string[] | undefined;
      if (required !== undefined && required.length > 0) out['required'] = [...required];
      if (additional === true) out[PRESERVE] = true;
    } else if (pattern !== undefined) {
      const values = Object.values(pattern);
      if (values.length !== 1)
        throw new Error('only one patternProperties entry can become additionalProperties');
      out['additionalProperties'] = convert(values[0] as Node);
    } else if (typeof additional === 'object' && additional !== null) {
      out['additionalProperties'] = convert(additional as Node);
    } else {
      out[PRESERVE] = true;
    }
  }
  return out;
}

function convertUnion(anyOf: Node[], node: Node): StructuralSchema {
  const nonNull = anyOf.filter((n) => n['type'] !== 'null');
  const nullable = nonNull.length < anyOf.length;
  if (
    nonNull.length > 0 &&
    nonNull.every((n) => n['const'] !== undefined && typeof n['const'] === typeof nonNull[0]?.['const'])
  ) {
    const out: StructuralSchema = describedAs(node, {
      type: typeof nonNull[0]?.['const'],
      enum: nonNull.map((n) => n['const']),
    });
    if (nullable) out['nullable'] = true;
    return out;
  }
  if (nonNull.length === 1) {
    const out = describedAs(node, convert(nonNull[0] as Node));
    if (nullable) out['nullable'] = true;
    return out;
  }
  throw new Error(`cannot express union in a CRD: ${JSON.stringify(anyOf)}`);
}

/** `out` with the description of `node`, placed first as in a hand-written schema; `out` when there is none. */
function describedAs(node: Node, out: StructuralSchema): StructuralSchema {
  const description = node['description'];
  if (typeof description !== 'string' || out['description'] !== undefined) return out;
  return { description, ...out };
}

/** The `openAPIV3Schema` of a kind: typed apiVersion/kind, opaque metadata, structural spec and status. */
export function openApiSchemaFor(def: KindDefinition): StructuralSchema {
  const root = def.schema as Node;
  const properties = root['properties'] as Record<string, Node>;
  const envelope = (key: string, out: StructuralSchema) => {
    const child = properties[key];
    return child === undefined ? out : describedAs(child, out);
  };
  const out: Record<string, StructuralSchema> = {
    apiVersion: envelope('apiVersion', { type: 'string' }),
    kind: envelope('kind', { type: 'string' }),
    // Kubernetes validates metadata itself and refuses anything but its type here, a description
    // included (it documents metadata as ObjectMeta on its own).
    metadata: { type: 'object' },
  };
  for (const key of ['spec', 'status']) {
    const child = properties[key];
    if (child !== undefined) out[key] = convert(child);
  }
  const schema: StructuralSchema = describedAs(root, { type: 'object', properties: out });
  const required = ((root['required'] as string[] | undefined) ?? []).filter((r) => r === 'spec');
  if (required.length > 0) schema['required'] = required;
  return schema;
}

/** The CustomResourceDefinition of a kind, as a plain object. */
export function crdFor(def: KindDefinition): Record<string, unknown> {
  const schema = openApiSchemaFor(def);
  const versions = def.versions.map((name, i) => {
    const version: Record<string, unknown> = { name, served: true, storage: i === 0 };
    const warning = def.deprecatedVersions?.[name];
    if (warning !== undefined) {
      version['deprecated'] = true;
      version['deprecationWarning'] = warning;
    }
    version['subresources'] = { status: {} };
    version['schema'] = { openAPIV3Schema: schema };
    const columns = def.versionPrinterColumns?.[name] ?? def.printerColumns;
    version['additionalPrinterColumns'] = columns.map((c) => ({ ...c }));
    return version;
  });
  const metadata: Record<string, unknown> = {
    name: `${def.plural}.${def.group}`,
    labels: {
      'knative.dev/crd-install': 'true',
      ...(def.labels ?? {}),
      'app.kubernetes.io/name': 'knative-eventing',
    },
  };
  if (def.annotations !== undefined) metadata['annotations'] = { ...def.annotations };
  const names: Record<string, unknown> = { kind: def.kind, plural: def.plural, singular: def.singular };
  if (def.shortNames !== undefined && def.shortNames.length > 0) names['shortNames'] = [...def.shortNames];
  names['categories'] = [...def.categories];
  const spec: Record<string, unknown> = { group: def.group, versions, names, scope: 'Namespaced' };
  // Every served version has the same schema, so the API server converts without a webhook.
  if (def.versions.length > 1) spec['conversion'] = { strategy: 'None' };
  return { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata, spec };
}

const HEADER =
  '# Generated by tools/crdgen from libs/api; do not edit. Regenerate: node tools/crdgen/run.mjs\n';

/** Renders every kind's CRD as YAML, keyed by file name (`<singular>.yaml`). */
export function renderCrds(kinds: readonly KindDefinition[] = allKinds): Map<string, string> {
  const files = new Map<string, string>();
  for (const def of kinds) {
    files.set(
      `${def.singular}.yaml`,
      HEADER + stringify(crdFor(def), { lineWidth: 0, aliasDuplicateObjects: false }),
    );
  }
  return files;
}
