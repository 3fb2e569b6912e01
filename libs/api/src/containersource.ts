import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ConditionSet, StatusBaseProperties } from './conditions';
import {
  SourceSpecProperties,
  SourceStatusProperties,
  setDestinationDefaults,
  validateCeOverrides,
  validateDestination,
} from './duck';
import { FieldError, indexPath, joinPath } from './errors';
import type { ValidationContext } from './kind';
import { AGE_COLUMN, type KindDefinition } from './kind';
import { resourceSchema, validateObjectMeta } from './meta';
import { validateShape } from './structural';

/** One environment variable of a container (the fields this project reads; others are kept). */
export const EnvVarSchema = Type.Object(
  {
    name: Type.String({ description: 'Name of the environment variable.' }),
    value: Type.Optional(Type.String({ description: 'Its value.' })),
    valueFrom: Type.Optional(
      Type.Object(
        {},
        {
          additionalProperties: true,
          description:
            'Where to read the value from instead (a field, a resource, a ConfigMap or Secret key), as in a Pod.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
export type EnvVar = Static<typeof EnvVarSchema>;

/** A container of a pod template: the fields this project reads; every other Pod field is kept as given. */
export const ContainerSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({ description: 'Name of the container. Defaults to <source name>-<index>.' }),
    ),
    image: Type.Optional(Type.String({ description: 'The container image that sends the events.' })),
    command: Type.Optional(
      Type.Array(Type.String(), {
        description:
          "The entrypoint, replacing the image's. Standalone mode runs this command as a child process.",
      }),
    ),
    args: Type.Optional(Type.Array(Type.String(), { description: 'Arguments to the entrypoint.' })),
    env: Type.Optional(
      Type.Array(EnvVarSchema, {
        description:
          'Environment variables of the container; K_SINK and K_CE_OVERRIDES are added by the source.',
      }),
    ),
    workingDir: Type.Optional(Type.String({ description: 'The working directory of the container.' })),
  },
  { additionalProperties: true },
);
export type Container = Static<typeof ContainerSchema>;

/** The pod template of a ContainerSource, as a Deployment's `spec.template`. */
export const PodTemplateSpecSchema = Type.Object(
  {
    metadata: Type.Optional(
      Type.Object(
        {
          labels: Type.Optional(
            Type.Record(Type.String(), Type.String(), { description: 'Labels of the pods.' }),
          ),
          annotations: Type.Optional(
            Type.Record(Type.String(), Type.String(), { description: 'Annotations of the pods.' }),
          ),
        },
        { additionalProperties: true, description: 'Labels and annotations of the pods.' },
      ),
    ),
    spec: Type.Optional(
      Type.Object(
        {
          containers: Type.Optional(
            Type.Array(ContainerSchema, {
              description: 'The containers to run; at least one, each with a name and an image.',
            }),
          ),
          initContainers: Type.Optional(
            Type.Array(ContainerSchema, {
              description: 'Containers run to completion before the others start.',
            }),
          ),
          serviceAccountName: Type.Optional(
            Type.String({ description: 'The ServiceAccount the pods run as.' }),
          ),
        },
        {
          additionalProperties: true,
          description: 'The pod spec: containers, volumes and every other field a Deployment takes.',
        },
      ),
    ),
  },
  {
    additionalProperties: true,
    description:
      'A template in the shape of a Deployment spec.template: the pods that produce the events. Each container receives K_SINK (where to POST CloudEvents) and K_CE_OVERRIDES.',
  },
);
export type PodTemplateSpec = Static<typeof PodTemplateSpecSchema>;

export const ContainerSourceSpecSchema = Type.Object(
  { ...SourceSpecProperties, template: PodTemplateSpecSchema },
  {
    additionalProperties: false,
    description: 'The desired state of the ContainerSource: what to run and where its events go.',
  },
);
export type ContainerSourceSpec = Static<typeof ContainerSourceSpecSchema>;

export const ContainerSourceStatusSchema = Type.Object(
  { ...StatusBaseProperties, ...SourceStatusProperties },
  {
    additionalProperties: false,
    description:
      'The observed state of the ContainerSource, written by its controller: whether its pods run and where they send.',
  },
);
export type ContainerSourceStatus = Static<typeof ContainerSourceStatusSchema>;

export const ContainerSourceSchema = resourceSchema(
  ContainerSourceSpecSchema,
  ContainerSourceStatusSchema,
  'A ContainerSource runs a container image (in standalone mode, its command) that sends CloudEvents to the URL in K_SINK.',
);
export type ContainerSource = Static<typeof ContainerSourceSchema>;

export const ContainerSourceConditionSet = new ConditionSet('Ready', [
  'SinkBindingReady',
  'ReceiveAdapterReady',
]);

/** Applies upstream's defaults: containers without a name become `<source>-<index>`; sink ref namespace. Pure. */
export function setDefaultsContainerSource(obj: ContainerSource): ContainerSource {
  const spec: ContainerSourceSpec = { ...obj.spec };
  const name = obj.metadata.name ?? '';
  const containers = spec.template?.spec?.containers;
  if (containers !== undefined && containers.some((c) => !c.name)) {
    spec.template = {
      ...spec.template,
      spec: {
        ...spec.template.spec,
        containers: containers.map((c, i) => (c.name ? c : { ...c, name: `${name}-${i}` })),
      },
    };
  }
  if (spec.sink !== undefined) spec.sink = setDestinationDefaults(spec.sink, obj.metadata.namespace);
  return { ...obj, spec };
}

/** Validates a ContainerSource: at least one container, each with name and image; sink; ceOverrides. */
export function validateContainerSource(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(ContainerSourceSchema, obj);
  if (shape.length > 0) return shape;
  const s = obj as ContainerSource;
  const errs = validateObjectMeta(s.metadata);
  errs.push(...validateDestination(s.spec.sink, 'spec.sink', { features: ctx.features }));
  const containers = s.spec.template.spec?.containers ?? [];
  if (containers.length === 0) errs.push(new FieldError('spec.template.spec.containers', 'missing field(s)'));
  containers.forEach((c, i) => {
    const at = indexPath('spec.template.spec.containers', i);
    if (!c.name) errs.push(new FieldError(joinPath(at, 'name'), 'missing field(s)'));
    if (!c.image) errs.push(new FieldError(joinPath(at, 'image'), 'missing field(s)'));
  });
  if (s.spec.ceOverrides !== undefined)
    errs.push(...validateCeOverrides(s.spec.ceOverrides, 'spec.ceOverrides'));
  return errs;
}

export const ContainerSourceKind: KindDefinition = {
  group: 'sources.knative.dev',
  versions: ['v1'],
  kind: 'ContainerSource',
  plural: 'containersources',
  singular: 'containersource',
  categories: ['all', 'knative', 'sources'],
  labels: { 'eventing.knative.dev/source': 'true', 'duck.knative.dev/source': 'true' },
  schema: ContainerSourceSchema as TSchema,
  setDefaults: setDefaultsContainerSource,
  validate: validateContainerSource,
  conditionSet: ContainerSourceConditionSet,
  conditionTypes: ContainerSourceConditionSet.types,
  printerColumns: [
    { name: 'Sink', type: 'string', jsonPath: '.status.sinkUri' },
    AGE_COLUMN,
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Reason', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].reason" },
  ],
};
