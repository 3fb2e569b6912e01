import type { FieldError } from './errors';
import type { ValidationContext } from './kind';
import type { DefaultsContext, KindDefinition } from './kind';
import type { Resource } from './meta';
import { pruneNulls, validateShape } from './structural';

/** What defaulting and validation of one resource may depend on besides the resource. */
export interface AdmissionContext {
  defaults?: DefaultsContext;
  validation?: ValidationContext;
}

/** A resource accepted on create (defaults applied), or why it was refused. */
export type AdmissionResult = { ok: true; resource: Resource } | { ok: false; errors: FieldError[] };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Decodes a resource of `definition`'s kind as the API server does on create, before any
 * webhook: nulls the structural schema does not allow are dropped at every depth (see
 * `pruneNulls`), and `status` is dropped (the status subresource owns it; a create never sets
 * it). Returns a copy; never throws.
 */
export function normalizeResource(definition: KindDefinition, obj: unknown): unknown {
  const pruned = pruneNulls(definition.schema, obj);
  if (!isObject(pruned) || !Object.hasOwn(pruned, 'status')) return pruned;
  const { status: _ignored, ...rest } = pruned;
  return rest;
}

/**
 * Admits a resource on create: normalizes it, checks its shape, applies the kind's defaults and
 * validates the result. Every path that turns user input into a stored resource goes through
 * here, so all kinds treat nulls, `status` and wrongly-typed input alike.
 */
export function admitResource(
  definition: KindDefinition,
  obj: unknown,
  ctx: AdmissionContext = {},
): AdmissionResult {
  const normalized = normalizeResource(definition, obj);
  // Defaulting reads the object as its type says; a wrong shape is reported, never defaulted.
  const shape = validateShape(definition.schema, normalized);
  if (shape.length > 0) return { ok: false, errors: shape };
  const resource = definition.setDefaults(normalized, ctx.defaults) as Resource;
  const errors = definition.validate(resource, ctx.validation);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, resource };
}
