import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { FieldError } from './errors';

const StringMap = Type.Record(Type.String(), Type.String());

const API_VERSION_DESCRIPTION =
  'The API group and version this object is written in, e.g. eventing.knative.dev/v1; the API server converts between the versions it serves.';
const KIND_DESCRIPTION = 'The kind of this object, in CamelCase, as its CRD names it.';

/** The subset of Kubernetes ObjectMeta this project reads and writes. */
export const ObjectMetaSchema = Type.Object(
  {
    name: Type.Optional(Type.String()),
    generateName: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
    labels: Type.Optional(StringMap),
    annotations: Type.Optional(StringMap),
    uid: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Integer()),
    resourceVersion: Type.Optional(Type.String()),
    creationTimestamp: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    deletionTimestamp: Type.Optional(Type.String()),
    finalizers: Type.Optional(Type.Array(Type.String())),
    ownerReferences: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
  },
  // Kubernetes adds fields (managedFields, selfLink...) that are none of our business.
  { additionalProperties: true },
);
export type ObjectMeta = Static<typeof ObjectMetaSchema>;

/** Any resource this project handles. */
export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks a DNS-1123 subdomain (object names): ≤253 chars, lower-case alphanumerics, '-' and '.'. */
export function isDns1123Subdomain(value: string): boolean {
  return value.length <= 253 && DNS1123_SUBDOMAIN.test(value);
}

/** Checks a DNS-1123 label (namespaces): ≤63 chars, lower-case alphanumerics and '-'. */
export function isDns1123Label(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

/** Validates metadata.name (or generateName) and metadata.namespace. */
export function validateObjectMeta(meta: ObjectMeta | undefined): FieldError[] {
  const errs: FieldError[] = [];
  if (meta === undefined) return [new FieldError('metadata', 'missing field(s)')];
  if (meta.name === undefined || meta.name === '') {
    if (meta.generateName === undefined || meta.generateName === '') {
      errs.push(new FieldError('metadata.name', 'missing field(s)'));
    }
  } else if (!isDns1123Subdomain(meta.name)) {
    errs.push(
      new FieldError(
        'metadata.name',
        `invalid value: ${meta.name}: must be a DNS-1123 subdomain (lower case alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character, at most 253 characters)`,
      ),
    );
  }
  if (meta.namespace !== undefined && meta.namespace !== '' && !isDns1123Label(meta.namespace)) {
    errs.push(
      new FieldError(
        'metadata.namespace',
        `invalid value: ${meta.namespace}: must be a DNS-1123 label (lower case alphanumeric characters or '-', at most 63 characters)`,
      ),
    );
  }
  return errs;
}

/**
 * The envelope every kind shares: apiVersion, kind, metadata, its spec (pass `Type.Optional(...)`
 * where upstream allows none) and an optional status. `description` says what the kind is; it heads
 * the kind's CRD schema and `kubectl explain <kind>`.
 */
export function resourceSchema<S extends TSchema, St extends TSchema>(
  spec: S,
  status: St,
  description?: string,
) {
  return Type.Object(
    {
      apiVersion: Type.String({ description: API_VERSION_DESCRIPTION }),
      kind: Type.String({ description: KIND_DESCRIPTION }),
      metadata: ObjectMetaSchema,
      spec,
      status: Type.Optional(status),
    },
    description === undefined
      ? { additionalProperties: false }
      : { additionalProperties: false, description },
  );
}
