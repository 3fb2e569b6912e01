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
import { FieldError, indexPath, joinPath } from './errors';
import { isEnabled } from './features';
import type { ValidationContext } from './kind';
import { AGE_COLUMN, readyColumns, type KindDefinition } from './kind';
import { LabelSelectorSchema, validateLabelSelector } from './label-selector';
import { resourceSchema, validateObjectMeta } from './meta';
import { StringEnum } from './string-enum';
import { validateShape } from './structural';
import { TriggerFilterSchema, validateTriggerFilter } from './trigger';

/** Event types of the Resource mode: the whole object as data (CONFORMANCE 4.2). */
export const APISERVER_RESOURCE_ADD = 'dev.knative.apiserver.resource.add';
export const APISERVER_RESOURCE_UPDATE = 'dev.knative.apiserver.resource.update';
export const APISERVER_RESOURCE_DELETE = 'dev.knative.apiserver.resource.delete';
/** Event types of the Reference mode: `{apiVersion, kind, name, namespace}` as data. */
export const APISERVER_REF_ADD = 'dev.knative.apiserver.ref.add';
export const APISERVER_REF_UPDATE = 'dev.knative.apiserver.ref.update';
export const APISERVER_REF_DELETE = 'dev.knative.apiserver.ref.delete';

/** The event types each mode emits, in upstream's order (add, delete, update). */
export const APISERVER_EVENT_TYPES = {
  Reference: [APISERVER_REF_ADD, APISERVER_REF_DELETE, APISERVER_REF_UPDATE],
  Resource: [APISERVER_RESOURCE_ADD, APISERVER_RESOURCE_DELETE, APISERVER_RESOURCE_UPDATE],
} as const;

export const APISERVER_REFERENCE_MODE = 'Reference';
export const APISERVER_RESOURCE_MODE = 'Resource';

/** Annotation that skips the permission check (and makes the adapter fail fast), as upstream's. */
export const APISERVER_SKIP_PERMISSIONS_ANNOTATION =
  'features.knative.dev/apiserversource-skip-permissions-check';

/** Feature flag (config-features) that allows `spec.filters`. */
export const APISERVER_FILTERS_FLAG = 'new-apiserversource-filters' as const;

export const ApiVersionKindSelectorSchema = Type.Object(
  {
    apiVersion: Type.String({
      description: 'API group and version of the objects to watch, e.g. v1 or apps/v1.',
    }),
    kind: Type.String({ description: 'Kind of the objects to watch, e.g. ConfigMap or Deployment.' }),
    selector: Type.Optional(
      described(
        LabelSelectorSchema,
        'Watch only the objects whose labels match this selector. Unset: every object of the kind.',
      ),
    ),
  },
  { additionalProperties: false },
);
export type ApiVersionKindSelector = Static<typeof ApiVersionKindSelectorSchema>;

export const ApiServerSourceSpecSchema = Type.Object(
  {
    ...SourceSpecProperties,
    resources: Type.Array(ApiVersionKindSelectorSchema, {
      description:
        'The kinds of objects whose additions, updates and deletions are sent as events, each with an optional label selector. At least one.',
    }),
    owner: Type.Optional(
      Type.Object(
        {
          apiVersion: Type.String({ description: 'API group and version of the owner, e.g. apps/v1.' }),
          kind: Type.String({ description: 'Kind of the owner, e.g. ReplicaSet.' }),
        },
        {
          additionalProperties: false,
          description:
            'Send events only for objects whose controlling owner reference names this apiVersion and kind; objects without a controller are left out.',
        },
      ),
    ),
    mode: Type.Optional(
      StringEnum([APISERVER_REFERENCE_MODE, APISERVER_RESOURCE_MODE], {
        description:
          'What an event carries: Reference sends the apiVersion, kind, name and namespace of the object (event types dev.knative.apiserver.ref.*), Resource the whole object (dev.knative.apiserver.resource.*). Defaults to Reference.',
      }),
    ),
    serviceAccountName: Type.Optional(
      Type.String({
        description:
          'The ServiceAccount the adapter watches with; it needs get, list and watch on the resources. Defaults to default.',
      }),
    ),
    namespaceSelector: Type.Optional(
      described(
        LabelSelectorSchema,
        'Watch the namespaces whose labels match this selector (an empty selector: every namespace). Unset: only the namespace of the source.',
      ),
    ),
    filters: Type.Optional(
      Type.Array(TriggerFilterSchema, {
        description:
          'CloudEvents Subscriptions API filters applied to each event before it is sent; an event is sent only when every filter matches. Needs the new-apiserversource-filters feature.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'The desired state of the ApiServerSource: what to watch, how to report it, and where.',
  },
);
export type ApiServerSourceSpec = Static<typeof ApiServerSourceSpecSchema>;

export const ApiServerSourceStatusSchema = Type.Object(
  {
    ...StatusBaseProperties,
    ...SourceStatusProperties,
    namespaces: Type.Optional(
      Type.Array(Type.String(), { description: 'The namespaces the source watches now.' }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The observed state of the ApiServerSource, written by its controller: whether it is Ready, where it sends and which namespaces it watches.',
  },
);
export type ApiServerSourceStatus = Static<typeof ApiServerSourceStatusSchema>;

export const ApiServerSourceSchema = resourceSchema(
  ApiServerSourceSpecSchema,
  ApiServerSourceStatusSchema,
  'An ApiServerSource sends an event to its sink for every addition, update and deletion of the Kubernetes objects it watches.',
);
export type ApiServerSource = Static<typeof ApiServerSourceSchema>;

export const ApiServerSourceConditionSet = new ConditionSet('Ready', [
  'SinkProvided',
  'Deployed',
  'SufficientPermissions',
  'OIDCIdentityCreated',
]);

/** Applies upstream's defaults: mode Reference, serviceAccountName default, sink ref namespace. Pure. */
export function setDefaultsApiServerSource(obj: ApiServerSource): ApiServerSource {
  const spec: ApiServerSourceSpec = { ...obj.spec };
  if (!spec.mode) spec.mode = APISERVER_REFERENCE_MODE;
  if (!spec.serviceAccountName) spec.serviceAccountName = 'default';
  if (spec.sink !== undefined) spec.sink = setDestinationDefaults(spec.sink, obj.metadata.namespace);
  return { ...obj, spec };
}

/** Whether an apiVersion parses as `version` or `group/version` (Kubernetes' ParseGroupVersion). */
function isGroupVersion(apiVersion: string): boolean {
  return apiVersion.split('/').length <= 2;
}

/** Validates an ApiServerSource: mode, resources, owner, selectors, sink, ceOverrides, filters. */
export function validateApiServerSource(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(ApiServerSourceSchema, obj);
  if (shape.length > 0) return shape;
  const s = obj as ApiServerSource;
  const errs = validateObjectMeta(s.metadata);
  const spec = s.spec;
  const mode = spec.mode ?? '';
  if (mode !== APISERVER_REFERENCE_MODE && mode !== APISERVER_RESOURCE_MODE)
    errs.push(new FieldError('spec.mode', `invalid value: ${mode}: must be Reference or Resource`));
  errs.push(...validateDestination(spec.sink, 'spec.sink', { features: ctx.features }));
  if (spec.resources.length === 0) errs.push(new FieldError('spec.resources', 'missing field(s)'));
  spec.resources.forEach((r, i) => {
    const at = indexPath('spec.resources', i);
    if (!isGroupVersion(r.apiVersion))
      errs.push(new FieldError(joinPath(at, 'apiVersion'), `invalid value: ${r.apiVersion}`));
    if (r.kind.trim() === '') errs.push(new FieldError(joinPath(at, 'kind'), 'missing field(s)'));
    if (r.selector !== undefined) errs.push(...validateLabelSelector(r.selector, joinPath(at, 'selector')));
  });
  if (spec.owner !== undefined) {
    if (!isGroupVersion(spec.owner.apiVersion))
      errs.push(new FieldError('spec.owner.apiVersion', `invalid value: ${spec.owner.apiVersion}`));
    if (spec.owner.kind.trim() === '') errs.push(new FieldError('spec.owner.kind', 'missing field(s)'));
  }
  if (spec.namespaceSelector !== undefined)
    errs.push(...validateLabelSelector(spec.namespaceSelector, 'spec.namespaceSelector'));
  if (spec.ceOverrides !== undefined) errs.push(...validateCeOverrides(spec.ceOverrides, 'spec.ceOverrides'));
  const filters = spec.filters ?? [];
  const filtersAllowed = isEnabled(ctx.features, APISERVER_FILTERS_FLAG);
  if (filters.length > 0 && !filtersAllowed)
    errs.push(
      new FieldError(
        'spec.filters',
        `must not set the field(s) (feature ${APISERVER_FILTERS_FLAG} is disabled)`,
      ),
    );
  else filters.forEach((f, i) => errs.push(...validateTriggerFilter(f, indexPath('spec.filters', i))));
  return errs;
}

const EVENT_TYPE_DESCRIPTIONS: [string, string][] = [
  [APISERVER_RESOURCE_ADD, 'CloudEvent type used for add operations when in Resource mode'],
  [APISERVER_RESOURCE_DELETE, 'CloudEvent type used for delete operations when in Resource mode'],
  [APISERVER_RESOURCE_UPDATE, 'CloudEvent type used for update operations when in Resource mode'],
  [APISERVER_REF_ADD, 'CloudEvent type used for add operations when in Reference mode'],
  [APISERVER_REF_DELETE, 'CloudEvent type used for delete operations when in Reference mode'],
  [APISERVER_REF_UPDATE, 'CloudEvent type used for update operations when in Reference mode'],
];

export const ApiServerSourceKind: KindDefinition = {
  group: 'sources.knative.dev',
  versions: ['v1'],
  kind: 'ApiServerSource',
  plural: 'apiserversources',
  singular: 'apiserversource',
  categories: ['all', 'knative', 'sources'],
  labels: { 'eventing.knative.dev/source': 'true', 'duck.knative.dev/source': 'true' },
  annotations: {
    'registry.knative.dev/eventTypes': JSON.stringify(
      EVENT_TYPE_DESCRIPTIONS.map(([type, description]) => ({ type, description })),
      null,
      2,
    ),
  },
  schema: ApiServerSourceSchema as TSchema,
  setDefaults: setDefaultsApiServerSource,
  validate: validateApiServerSource,
  conditionSet: ApiServerSourceConditionSet,
  conditionTypes: ApiServerSourceConditionSet.types,
  printerColumns: [
    { name: 'Sink', type: 'string', jsonPath: '.status.sinkUri' },
    AGE_COLUMN,
    ...readyColumns(),
  ],
};
