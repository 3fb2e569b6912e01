import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ConditionSet, StatusBaseProperties } from './conditions';
import { described } from './describe';
import {
  SourceSpecProperties,
  SourceStatusProperties,
  setDestinationDefaults,
  validateCeOverrides,
  validateDestination,
} from './duck';
import { FieldError } from './errors';
import type { ValidationContext } from './kind';
import { AGE_COLUMN, readyColumns, type KindDefinition } from './kind';
import { LabelSelectorSchema, validateLabelSelector } from './label-selector';
import { isDns1123Label, resourceSchema, validateObjectMeta } from './meta';
import { validateShape } from './structural';

/** Environment variables a SinkBinding sets on every container of its subjects (CONFORMANCE 4.4). */
export const K_SINK = 'K_SINK';
export const K_CE_OVERRIDES = 'K_CE_OVERRIDES';
export const K_CA_CERTS = 'K_CA_CERTS';
export const SINK_BINDING_ENV = [K_SINK, K_CE_OVERRIDES, K_CA_CERTS] as const;

/** The finalizer that lets a SinkBinding be undone from its subjects before it goes (upstream's name). */
export const SINK_BINDING_FINALIZER = 'sinkbindings.sources.knative.dev';
/** Objects and namespaces labelled `true` are never bound (the default, exclusion mode). */
export const BINDING_EXCLUDE_LABEL = 'bindings.knative.dev/exclude';
/** In inclusion mode, only objects and namespaces labelled `true` are bound. */
export const BINDING_INCLUDE_LABEL = 'bindings.knative.dev/include';

export const SinkBindingSubjectSchema = Type.Object(
  {
    apiVersion: Type.String({
      description: 'API group and version of the subject, e.g. apps/v1, batch/v1 or serving.knative.dev/v1.',
    }),
    kind: Type.String({
      description:
        'Kind of the subject: anything with a pod template, e.g. Deployment, StatefulSet, DaemonSet, Job, CronJob or a Knative Service.',
    }),
    namespace: Type.Optional(
      Type.String({ description: 'Namespace of the subject: that of the SinkBinding (the default).' }),
    ),
    name: Type.Optional(
      Type.String({ description: 'Name of the subject. Give name or selector, not both.' }),
    ),
    selector: Type.Optional(
      described(
        LabelSelectorSchema,
        'Bind every object of the kind whose labels match this selector. Give name or selector, not both.',
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The objects whose pod template receives K_SINK, K_CE_OVERRIDES and K_CA_CERTS: one by name, or all matching a label selector.',
  },
);
export type SinkBindingSubject = Static<typeof SinkBindingSubjectSchema>;

export const SinkBindingSpecSchema = Type.Object(
  { ...SourceSpecProperties, subject: SinkBindingSubjectSchema },
  {
    additionalProperties: false,
    description: 'The desired state of the SinkBinding: which workloads send, and where to.',
  },
);
export type SinkBindingSpec = Static<typeof SinkBindingSpecSchema>;

export const SinkBindingStatusSchema = Type.Object(
  {
    ...StatusBaseProperties,
    ...SourceStatusProperties,
    oidcTokenSecretName: Type.Optional(
      Type.String({
        description: 'The Secret holding the OIDC token mounted into the subjects when authentication is on.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The observed state of the SinkBinding: whether its subjects are bound and the URL they send to.',
  },
);
export type SinkBindingStatus = Static<typeof SinkBindingStatusSchema>;

export const SinkBindingSchema = resourceSchema(
  SinkBindingSpecSchema,
  SinkBindingStatusSchema,
  'A SinkBinding tells the workloads it names where to send events: it sets K_SINK, K_CE_OVERRIDES and K_CA_CERTS on every container of their pod template.',
);
export type SinkBinding = Static<typeof SinkBindingSchema>;

export const SinkBindingConditionSet = new ConditionSet('Ready', [
  'SinkBindingAvailable',
  'SinkProvided',
  'OIDCIdentityCreated',
  'OIDCTokenSecretCreated',
  'TrustBundlePropagated',
]);

/** Applies upstream's defaults: the subject's namespace is the binding's; sink ref namespace. Pure. */
export function setDefaultsSinkBinding(obj: SinkBinding): SinkBinding {
  const spec: SinkBindingSpec = { ...obj.spec };
  if (spec.subject !== undefined && !spec.subject.namespace && obj.metadata.namespace)
    spec.subject = { ...spec.subject, namespace: obj.metadata.namespace };
  if (spec.sink !== undefined) spec.sink = setDestinationDefaults(spec.sink, obj.metadata.namespace);
  return { ...obj, spec };
}

const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Validates a SinkBinding: the subject (apiVersion, kind, namespace, name xor selector), sink, ceOverrides. */
export function validateSinkBinding(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(SinkBindingSchema, obj);
  if (shape.length > 0) return shape;
  const b = obj as SinkBinding;
  const errs = validateObjectMeta(b.metadata);
  const subject = b.spec.subject;
  if (!subject.apiVersion) errs.push(new FieldError('spec.subject.apiVersion', 'missing field(s)'));
  if (!subject.kind) errs.push(new FieldError('spec.subject.kind', 'missing field(s)'));
  else if (!C_IDENTIFIER.test(subject.kind))
    errs.push(new FieldError('spec.subject.kind', `invalid value: ${subject.kind}`));
  if (!subject.namespace) errs.push(new FieldError('spec.subject.namespace', 'missing field(s)'));
  else if (!isDns1123Label(subject.namespace))
    errs.push(new FieldError('spec.subject.namespace', `invalid value: ${subject.namespace}`));
  else if (b.metadata.namespace && subject.namespace !== b.metadata.namespace)
    errs.push(
      new FieldError(
        'spec.subject.namespace',
        `invalid value: ${subject.namespace}: a SinkBinding binds subjects of its own namespace (${b.metadata.namespace})`,
      ),
    );
  if (subject.selector !== undefined && subject.name)
    errs.push(new FieldError('spec.subject.name', 'expected exactly one, got both: name, selector'));
  else if (subject.selector !== undefined)
    errs.push(...validateLabelSelector(subject.selector, 'spec.subject.selector'));
  else if (subject.name) {
    if (!isDns1123Label(subject.name))
      errs.push(new FieldError('spec.subject.name', `invalid value: ${subject.name}`));
  } else errs.push(new FieldError('spec.subject', 'expected exactly one, got neither: name, selector'));
  errs.push(...validateDestination(b.spec.sink, 'spec.sink', { features: ctx.features }));
  if (b.spec.ceOverrides !== undefined)
    errs.push(...validateCeOverrides(b.spec.ceOverrides, 'spec.ceOverrides'));
  return errs;
}

export const SinkBindingKind: KindDefinition = {
  group: 'sources.knative.dev',
  versions: ['v1'],
  kind: 'SinkBinding',
  plural: 'sinkbindings',
  singular: 'sinkbinding',
  categories: ['all', 'knative', 'sources', 'bindings'],
  labels: {
    'eventing.knative.dev/source': 'true',
    'duck.knative.dev/source': 'true',
    'duck.knative.dev/binding': 'true',
  },
  schema: SinkBindingSchema as TSchema,
  setDefaults: setDefaultsSinkBinding,
  validate: validateSinkBinding,
  conditionSet: SinkBindingConditionSet,
  conditionTypes: SinkBindingConditionSet.types,
  printerColumns: [
    { name: 'Sink', type: 'string', jsonPath: '.status.sinkUri' },
    AGE_COLUMN,
    ...readyColumns("'"),
  ],
};
