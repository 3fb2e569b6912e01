import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { StatusBaseProperties } from './conditions';
import {
  SourceSpecProperties,
  SourceStatusProperties,
  setDestinationDefaults,
  validateCeOverrides,
  validateDestination,
  type CloudEventAttributes,
  type CloudEventOverrides,
  type Destination,
} from './duck';
import { FieldError } from './errors';
import type { ValidationContext } from './kind';
import { AGE_COLUMN, readyColumns, type KindDefinition, type PrinterColumn } from './kind';
import { resourceSchema } from './meta';

// The Source duck type (CONFORMANCE 4.10, upstream's docs/spec/sources.md): every source kind has
// spec.sink and spec.ceOverrides, status.sinkUri, status.ceAttributes and a Ready condition, its CRD
// is labelled duck.knative.dev/source and in the category `sources`, and may list the event types
// it emits in the registry.knative.dev/eventTypes annotation. One definition here, reused by every
// source kind.

export { SourceSpecProperties, SourceStatusProperties };

/** CRD labels of every source kind. */
export const SOURCE_LABELS: Readonly<Record<string, string>> = Object.freeze({
  'eventing.knative.dev/source': 'true',
  'duck.knative.dev/source': 'true',
});
/** CRD categories of every source kind (`kubectl get sources` lists them all). */
export const SOURCE_CATEGORIES: readonly string[] = Object.freeze(['all', 'knative', 'sources']);
/** The CRD annotation listing the event types a source kind emits. */
export const EVENT_TYPES_ANNOTATION = 'registry.knative.dev/eventTypes';
/** The condition a source sets once its sink resolved. */
export const SINK_PROVIDED = 'SinkProvided';

/** One entry of `registry.knative.dev/eventTypes`. */
export interface RegistryEventType {
  type: string;
  schema?: string;
  description?: string;
}

/** The `registry.knative.dev/eventTypes` annotation for these types, as upstream writes it. */
export function eventTypesAnnotation(types: readonly RegistryEventType[]): Record<string, string> {
  return { [EVENT_TYPES_ANNOTATION]: JSON.stringify(types, null, 2) };
}

/**
 * Reads a `registry.knative.dev/eventTypes` annotation: a JSON array of objects whose `type` is a
 * non-empty string. Answers the types, or the FieldError naming the entry that is wrong.
 */
export function parseEventTypesAnnotation(text: string): RegistryEventType[] | FieldError {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return new FieldError(EVENT_TYPES_ANNOTATION, `invalid value: not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value))
    return new FieldError(EVENT_TYPES_ANNOTATION, 'invalid value: expected a JSON array');
  for (let i = 0; i < value.length; i++) {
    const type = (value[i] as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || type === '')
      return new FieldError(`${EVENT_TYPES_ANNOTATION}[${i}].type`, 'missing field(s)');
  }
  return value as RegistryEventType[];
}

/** A source kind's spec schema: its own fields plus `sink` and `ceOverrides`. */
export function sourceSpecSchema<P extends TProperties>(properties: P, description: string) {
  return Type.Object(
    { ...SourceSpecProperties, ...properties },
    { additionalProperties: false, description },
  );
}

/** A source kind's status schema: conditions, observedGeneration, sinkUri, ceAttributes, plus its own fields. */
export function sourceStatusSchema<P extends TProperties>(properties: P, description: string) {
  return Type.Object(
    { ...StatusBaseProperties, ...SourceStatusProperties, ...properties },
    { additionalProperties: false, description },
  );
}

/** Any source, read through the duck type only (spec.sink, spec.ceOverrides, the status fields). */
export const SourceDuckSchema = resourceSchema(
  Type.Object(SourceSpecProperties, { description: 'The fields every source has in its spec.' }),
  Type.Object(
    { ...StatusBaseProperties, ...SourceStatusProperties },
    { description: 'The fields every source has in its status.' },
  ),
  'Any source: a resource that sends events to its sink.',
);
export type SourceDuck = Static<typeof SourceDuckSchema>;

/** The spec part every source shares. */
export interface SourceSpecDuck {
  sink: Destination;
  ceOverrides?: CloudEventOverrides;
}

/** Defaults the shared part of a source spec (the sink ref's namespace); returns a new spec. */
export function setSourceSpecDefaults<S extends SourceSpecDuck>(spec: S, namespace: string | undefined): S {
  return { ...spec, sink: setDestinationDefaults(spec.sink, namespace) };
}

/** Validates the shared part of a source spec at `spec.sink` and `spec.ceOverrides`. */
export function validateSourceSpec(spec: SourceSpecDuck, ctx: ValidationContext = {}): FieldError[] {
  const errs = validateDestination(spec.sink, 'spec.sink', { features: ctx.features });
  if (spec.ceOverrides !== undefined) errs.push(...validateCeOverrides(spec.ceOverrides, 'spec.ceOverrides'));
  return errs;
}

/** `status.ceAttributes` for a source sending these types from one `source` attribute. */
export function ceAttributesFor(types: readonly string[], source: string): CloudEventAttributes[] {
  return types.map((type) => ({ type, source }));
}

/** A source kind's printer columns, as upstream's: Sink, the kind's own, Age, Ready, Reason. */
export function sourcePrinterColumns(
  own: readonly PrinterColumn[] = [],
  quote: '"' | "'" = '"',
): PrinterColumn[] {
  return [
    { name: 'Sink', type: 'string', jsonPath: '.status.sinkUri' },
    ...own,
    AGE_COLUMN,
    ...readyColumns(quote),
  ];
}

/** A source kind: its definition with the duck's labels, categories and event types annotation filled in. */
export function sourceKind(
  definition: Omit<KindDefinition, 'categories' | 'labels'> & {
    eventTypes: readonly RegistryEventType[];
    labels?: Record<string, string>;
  },
): KindDefinition {
  const { eventTypes, labels, annotations, ...rest } = definition;
  return {
    ...rest,
    categories: [...SOURCE_CATEGORIES],
    labels: { ...SOURCE_LABELS, ...labels },
    annotations: { ...eventTypesAnnotation(eventTypes), ...annotations },
  };
}

/** Whether a schema has the object property at `path` (e.g. ['spec', 'sink']). */
export function schemaHasPath(schema: TObject, path: readonly string[]): boolean {
  let at: unknown = schema;
  for (const key of path) {
    const props = (at as { properties?: Record<string, unknown> }).properties;
    if (props === undefined || !(key in props)) return false;
    at = props[key];
  }
  return true;
}
