import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { FieldError } from './errors';

// One compiler for every kind; strict mode off because typebox adds its own keywords.
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const compiled = new WeakMap<TSchema, ValidateFunction>();

type JsonSchema = {
  $id?: string;
  $ref?: string;
  type?: string | string[];
  anyOf?: JsonSchema[];
  nullable?: boolean;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
};

/** Checks `value` against the shape of `schema`; returns field-path errors (empty when it fits). */
export function validateShape(schema: TSchema, value: unknown): FieldError[] {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  const ids = collectIds(schema as JsonSchema);
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of validate.errors ?? []) {
    const fe = toFieldError(schema as JsonSchema, ids, e, value);
    const key = fe.toString();
    if (!seen.has(key)) {
      seen.add(key);
      out.push(fe);
    }
  }
  return out;
}

/**
 * Drops the nulls a structural schema's decoder drops: at every depth, an object property or map
 * entry whose value is null and whose schema does not allow null is removed, as if absent
 * (Kubernetes prunes non-nullable nulls before defaulting CustomResources). Array items are kept:
 * a null item stays and then fails validation, as in Kubernetes. Fields the schema does not know
 * are left alone, so validation still reports them. Returns a copy; `value` is not changed.
 */
export function pruneNulls(schema: TSchema, value: unknown): unknown {
  return prune(schema as JsonSchema, idsOf(schema), value);
}

const idCache = new WeakMap<TSchema, Map<string, JsonSchema>>();

function idsOf(schema: TSchema): Map<string, JsonSchema> {
  let ids = idCache.get(schema);
  if (ids === undefined) {
    ids = collectIds(schema as JsonSchema);
    idCache.set(schema, ids);
  }
  return ids;
}

function resolve(schema: JsonSchema | undefined, ids: Map<string, JsonSchema>): JsonSchema | undefined {
  let cur = schema;
  for (let hops = 0; cur?.$ref !== undefined && hops < 16; hops++) cur = ids.get(cur.$ref);
  return cur;
}

function allowsNull(schema: JsonSchema, ids: Map<string, JsonSchema>): boolean {
  const s = resolve(schema, ids);
  if (s === undefined) return true;
  if (s.nullable === true || s.type === 'null') return true;
  if (Array.isArray(s.type) && s.type.includes('null')) return true;
  return s.anyOf?.some((branch) => allowsNull(branch, ids)) ?? false;
}

/** The schema of `key` inside an object schema: a property, else the map's value schema. */
function childSchema(schema: JsonSchema, key: string): JsonSchema | undefined {
  if (schema.properties !== undefined && Object.hasOwn(schema.properties, key)) return schema.properties[key];
  if (typeof schema.additionalProperties === 'object') return schema.additionalProperties;
  const pattern = Object.entries(schema.patternProperties ?? {}).find(([re]) => regexpOf(re).test(key));
  return pattern?.[1];
}

const regexps = new Map<string, RegExp>();

function regexpOf(source: string): RegExp {
  let re = regexps.get(source);
  if (re === undefined) {
    re = new RegExp(source, 'u'); // as ajv compiles patternProperties
    regexps.set(source, re);
  }
  return re;
}

function prune(schema: JsonSchema | undefined, ids: Map<string, JsonSchema>, value: unknown): unknown {
  const s = resolve(schema, ids);
  if (s === undefined || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    return s.items === undefined ? value : value.map((item) => prune(s.items, ids, item));
  }
  const entries: [string, unknown][] = [];
  for (const [key, child] of Object.entries(value)) {
    const sub = childSchema(s, key);
    if (sub === undefined) entries.push([key, child]);
    else if (child !== null) entries.push([key, prune(sub, ids, child)]);
    else if (allowsNull(sub, ids)) entries.push([key, child]);
  }
  // fromEntries defines own properties, so a `__proto__` key stays data, never a prototype.
  return Object.fromEntries(entries);
}

function collectIds(schema: JsonSchema, ids = new Map<string, JsonSchema>()): Map<string, JsonSchema> {
  if (typeof schema !== 'object' || schema === null) return ids;
  if (schema.$id !== undefined) {
    if (ids.has(schema.$id)) return ids;
    ids.set(schema.$id, schema);
  }
  for (const value of Object.values(schema)) {
    if (Array.isArray(value)) value.forEach((v) => collectIds(v as JsonSchema, ids));
    else if (typeof value === 'object' && value !== null) collectIds(value as JsonSchema, ids);
  }
  return ids;
}

/** Renders an ajv instance path as a Knative field path, using the schema to tell properties from map keys. */
function renderPath(root: JsonSchema, ids: Map<string, JsonSchema>, instancePath: string): string {
  const segments = instancePath === '' ? [] : instancePath.slice(1).split('/').map(unescapePointer);
  let schema: JsonSchema | undefined = root;
  let path = '';
  for (const seg of segments) {
    while (schema?.$ref !== undefined) schema = ids.get(schema.$ref);
    if (schema?.properties?.[seg] !== undefined) {
      path = path === '' ? seg : `${path}.${seg}`;
      schema = schema.properties[seg];
    } else if (schema?.items !== undefined) {
      path = `${path}[${seg}]`;
      schema = schema.items;
    } else {
      path = `${path}[${seg}]`;
      const extra: JsonSchema | boolean | undefined =
        schema?.additionalProperties ?? Object.values(schema?.patternProperties ?? {})[0];
      schema = typeof extra === 'object' ? extra : undefined;
    }
  }
  return path;
}

/** The value at an ajv instance path (ajv leaves `data` out of errors unless verbose). */
function valueAt(root: unknown, instancePath: string): unknown {
  if (instancePath === '') return root;
  let cur: unknown = root;
  for (const seg of instancePath.slice(1).split('/').map(unescapePointer)) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function toFieldError(
  root: JsonSchema,
  ids: Map<string, JsonSchema>,
  e: ErrorObject,
  value: unknown,
): FieldError {
  const path = renderPath(root, ids, e.instancePath);
  const data = valueAt(value, e.instancePath);
  const child = (name: string) => (path === '' ? name : `${path}.${name}`);
  switch (e.keyword) {
    case 'required':
      return new FieldError(child(String(e.params['missingProperty'])), 'missing field(s)');
    case 'additionalProperties':
      return new FieldError(child(String(e.params['additionalProperty'])), 'unknown field');
    case 'enum':
      return new FieldError(
        path,
        `invalid value: ${String(data)}: must be one of ${(e.params['allowedValues'] as unknown[]).map(String).join(', ')}`,
      );
    case 'type':
      return new FieldError(path, `expected ${String(e.params['type'])}, got ${describeType(data)}`);
    default:
      return new FieldError(path, e.message ?? 'invalid value');
  }
}
