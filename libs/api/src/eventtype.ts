import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { ConditionSet, StatusBaseProperties } from './conditions';
import { described } from './describe';
import { KReferenceSchema, setDestinationDefaults, validateKReference, type KReference } from './duck';
import { FieldError, indexPath } from './errors';
import type { ValidationContext } from './kind';
import { readyColumns, type KindDefinition, type PrinterColumn } from './kind';
import { resourceSchema, validateObjectMeta, type ObjectMeta } from './meta';
import { validateShape } from './structural';

export const EVENTTYPE_GROUP = 'eventing.knative.dev';
export const EVENTTYPE_V1BETA3 = `${EVENTTYPE_GROUP}/v1beta3`;
export const EVENTTYPE_V1BETA2 = `${EVENTTYPE_GROUP}/v1beta2`;
/** The description upstream gives the EventTypes it creates from traffic (CONFORMANCE 2.16). */
export const AUTO_CREATED_DESCRIPTION = 'Event Type auto-created by controller';
/** The attributes a v1beta3 EventType must define. */
const REQUIRED_ATTRIBUTES = ['type', 'source', 'specversion', 'id'] as const;

export const EventAttributeDefinitionSchema = Type.Object(
  {
    name: Type.String({
      description: 'Name of the CloudEvents attribute or extension, e.g. type or source.',
    }),
    required: Type.Optional(
      Type.Boolean({ description: 'Whether every event of this type carries the attribute.' }),
    ),
    value: Type.Optional(
      Type.String({
        description:
          'The value the attribute has, e.g. /apis/v1/namespaces/default/pingsources/ps, or a template of the values it may have, with the parts that vary between events in curly brackets: /apis/v1/namespaces/{namespace}/pingsources/{name}.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type EventAttributeDefinition = Static<typeof EventAttributeDefinitionSchema>;

// One schema serves both versions (the API server converts by rewriting apiVersion only): the
// v1beta3 fields (reference, description, attributes) and the v1beta2 ones (type, source, schema,
// schemaData, broker). Defaulting keeps the two views of the same object in step, so an EventType
// written in either version reads correctly in the other.
export const EventTypeSpecSchema = Type.Object(
  {
    reference: Type.Optional(
      described(
        KReferenceSchema,
        'The addressable that offers events of this type, e.g. a Broker or a Channel. The EventType is listed for it.',
      ),
    ),
    description: Type.Optional(Type.String({ description: 'What events of this type are, in words.' })),
    attributes: Type.Optional(
      Type.Array(EventAttributeDefinitionSchema, {
        description:
          'The CloudEvents attributes and extensions of the events of this type (v1beta3). Must define type, source, specversion and id. Written in v1beta2, it is derived from type, source and schema.',
      }),
    ),
    type: Type.Optional(
      Type.String({
        description:
          'The CloudEvents type attribute of the events (v1beta2; required there). Written in v1beta3, it is the value of the type attribute.',
      }),
    ),
    source: Type.Optional(
      Type.String({
        description:
          'The CloudEvents source attribute of the events, a URI (v1beta2). Written in v1beta3, it is the value of the source attribute.',
      }),
    ),
    schema: Type.Optional(
      Type.String({
        description:
          'A URI of the schema of the event data, e.g. a JSON schema (v1beta2). In v1beta3, the value of the schemadata attribute.',
      }),
    ),
    schemaData: Type.Optional(
      Type.String({
        description: 'The schema of the event data itself, stored as given and never checked (v1beta2).',
      }),
    ),
    broker: Type.Optional(
      Type.String({
        description:
          'Deprecated (v1beta2): the name of the Broker offering the events; use reference. Converted to a reference to that Broker.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Spec defines the desired state of the EventType.' },
);
export type EventTypeSpec = Static<typeof EventTypeSpecSchema>;

export const EventTypeStatusSchema = Type.Object(StatusBaseProperties, {
  additionalProperties: false,
  description: 'The observed state of the EventType: whether the resource in spec.reference exists.',
});
export type EventTypeStatus = Static<typeof EventTypeStatusSchema>;

export const EventTypeSchema = resourceSchema(
  EventTypeSpecSchema,
  EventTypeStatusSchema,
  'An EventType describes a kind of event that can be consumed from a Broker, a Channel or another addressable: the event registry.',
);
export type EventType = Static<typeof EventTypeSchema>;

export const EventTypeConditionSet = new ConditionSet('Ready', ['ReferenceExists']);

/** The value of attribute `name`, or undefined. */
export function eventTypeAttribute(spec: EventTypeSpec, name: string): string | undefined {
  return spec.attributes?.find((a) => a.name === name)?.value;
}

/** The v1beta3 attributes of a v1beta2 spec, as upstream's conversion makes them. */
function attributesFromV1beta2(spec: EventTypeSpec): EventAttributeDefinition[] {
  const out: EventAttributeDefinition[] = [
    { name: 'specversion', required: true },
    { name: 'id', required: true },
    spec.type ? { name: 'type', required: true, value: spec.type } : { name: 'type', required: true },
    spec.source ? { name: 'source', required: true, value: spec.source } : { name: 'source', required: true },
  ];
  if (spec.schema) out.push({ name: 'schemadata', required: false, value: spec.schema });
  // Attributes the v1beta2 view has no field for are kept.
  for (const a of spec.attributes ?? []) {
    if (!['specversion', 'id', 'type', 'source', 'schemadata'].includes(a.name)) out.push(a);
  }
  return out;
}

/**
 * Defaults an EventType: the reference's namespace, a v1beta2 `broker` as a reference, and the view
 * of the other version (attributes from type/source/schema when written as v1beta2; type, source
 * and schema from the attributes when written as v1beta3). Pure.
 */
export function setDefaultsEventType(obj: EventType): EventType {
  const spec: EventTypeSpec = { ...obj.spec };
  const namespace = obj.metadata.namespace;
  if (spec.reference === undefined && spec.broker) {
    spec.reference = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: spec.broker };
  }
  if (spec.reference !== undefined)
    spec.reference = setDestinationDefaults({ ref: spec.reference }, namespace).ref;
  if (obj.apiVersion === EVENTTYPE_V1BETA2) {
    spec.attributes = attributesFromV1beta2(spec);
  } else if (spec.attributes !== undefined) {
    const type = eventTypeAttribute(spec, 'type');
    const source = eventTypeAttribute(spec, 'source');
    const schema = eventTypeAttribute(spec, 'schemadata');
    if (type) spec.type = type;
    else delete spec.type;
    if (source) spec.source = source;
    else delete spec.source;
    if (schema) spec.schema = schema;
    else delete spec.schema;
  }
  return { ...obj, spec };
}

/** Validates an EventType: v1beta3 needs attributes type, source, specversion and id; v1beta2 needs type. */
export function validateEventType(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(EventTypeSchema, obj);
  if (shape.length > 0) return shape;
  const et = obj as EventType;
  const errs = validateObjectMeta(et.metadata);
  const spec = et.spec;
  if (et.apiVersion === EVENTTYPE_V1BETA2) {
    if (!spec.type) errs.push(new FieldError('spec.type', 'missing field(s)'));
  } else {
    const names = new Set((spec.attributes ?? []).map((a) => a.name));
    const missing = REQUIRED_ATTRIBUTES.filter((n) => !names.has(n));
    if (missing.length > 0)
      errs.push(
        new FieldError(
          'spec.attributes',
          `missing field(s): the attributes must define ${missing.join(', ')} (as {name: ${missing[0]}, required: true})`,
        ),
      );
    (spec.attributes ?? []).forEach((a, i) => {
      if (a.name === '')
        errs.push(new FieldError(`${indexPath('spec.attributes', i)}.name`, 'missing field(s)'));
    });
  }
  if (spec.reference !== undefined)
    errs.push(...validateKReference(spec.reference, 'spec.reference', { features: ctx.features }));
  return errs;
}

const V1BETA3_COLUMNS: PrinterColumn[] = [
  { name: 'Type', type: 'string', jsonPath: ".spec.attributes[?(@.name=='type')].value" },
  { name: 'Source', type: 'string', jsonPath: ".spec.attributes[?(@.name=='source')].value" },
  { name: 'Reference Name', type: 'string', jsonPath: '.spec.reference.name' },
  { name: 'Reference Kind', type: 'string', jsonPath: '.spec.reference.kind' },
  { name: 'Description', type: 'string', jsonPath: '.spec.description' },
  ...readyColumns(),
];
const V1BETA2_COLUMNS: PrinterColumn[] = [
  { name: 'Type', type: 'string', jsonPath: '.spec.type' },
  { name: 'Source', type: 'string', jsonPath: '.spec.source' },
  { name: 'Schema', type: 'string', jsonPath: '.spec.schema' },
  { name: 'Reference Name', type: 'string', jsonPath: '.spec.reference.name' },
  { name: 'Reference Kind', type: 'string', jsonPath: '.spec.reference.kind' },
  { name: 'Description', type: 'string', jsonPath: '.spec.description' },
  ...readyColumns(),
];

export const EventTypeKind: KindDefinition = {
  group: EVENTTYPE_GROUP,
  versions: ['v1beta3', 'v1beta2'],
  kind: 'EventType',
  plural: 'eventtypes',
  singular: 'eventtype',
  categories: ['all', 'knative', 'eventing'],
  schema: EventTypeSchema,
  setDefaults: setDefaultsEventType,
  validate: validateEventType,
  conditionSet: EventTypeConditionSet,
  conditionTypes: EventTypeConditionSet.types,
  printerColumns: V1BETA3_COLUMNS,
  versionPrinterColumns: { v1beta2: V1BETA2_COLUMNS },
};

// ---- Auto-creation from traffic (CONFORMANCE 2.16) ----

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Makes a name a DNS-1123 subdomain as upstream's ToDNS1123Subdomain does: a valid name is kept; any
 * other is cut to 243 characters, lower-cased, stripped of other characters than `a-z0-9.-`, and of
 * `-` and `.` at both ends.
 */
function toDns1123Subdomain(name: string): string {
  if (name.length <= 253 && DNS1123_SUBDOMAIN.test(name)) return name;
  const cut = name.length > 253 ? name.slice(0, 243) : name;
  return cut
    .toLowerCase()
    .replace(/[^-.a-z0-9]+/g, '')
    .replace(/^[-.]+|[-.]+$/g, '');
}

/**
 * The name upstream gives the EventType it creates for events of `type` from `source` seen at the
 * addressable `refName` in `namespace`: `et-<refName>-<md5(type + source + namespace + refName)>`,
 * made a DNS-1123 subdomain. The same event at the same addressable always gives the same name.
 */
export function autoEventTypeName(refName: string, namespace: string, type: string, source: string): string {
  const digest = createHash('md5')
    .update(type + source + namespace + refName)
    .digest('hex');
  return toDns1123Subdomain(`et-${refName}-${digest}`);
}

/** What auto-creation knows of one observed event type. */
export interface ObservedEventType {
  /** The addressable the events arrived at. */
  reference: KReference & { namespace: string; apiVersion: string };
  /** Its uid, for the owner reference (garbage-collected with it). Unknown: no owner reference. */
  referenceUid?: string;
  type: string;
  source: string;
  /** The events' `dataschema`, '' when they have none. */
  schema: string;
  specversion: string;
}

/** The v1beta3 EventType upstream creates for an observed event type. */
export function autoEventType(observed: ObservedEventType): EventType {
  const { reference } = observed;
  const metadata: ObjectMeta = {
    name: autoEventTypeName(reference.name, reference.namespace, observed.type, observed.source),
    namespace: reference.namespace,
  };
  if (observed.referenceUid) {
    metadata.ownerReferences = [
      {
        apiVersion: reference.apiVersion,
        kind: reference.kind,
        name: reference.name,
        uid: observed.referenceUid,
      },
    ];
  }
  return {
    apiVersion: EVENTTYPE_V1BETA3,
    kind: 'EventType',
    metadata,
    spec: {
      reference: { ...reference },
      description: AUTO_CREATED_DESCRIPTION,
      attributes: [
        { name: 'type', required: true, value: observed.type },
        { name: 'source', required: true, value: observed.source },
        { name: 'schemadata', required: true, value: observed.schema },
        { name: 'specversion', required: true, value: observed.specversion },
        { name: 'id', required: true },
      ],
    },
  };
}
