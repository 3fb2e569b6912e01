import { Type, type Static } from '@sinclair/typebox';
import { ConditionSet, StatusBaseProperties } from './conditions';
import {
  AddressableStatusProperties,
  DeliverySpecSchema,
  DeliveryStatusProperties,
  KReferenceSchema,
  PoliciesSchema,
  setDeliveryDefaults,
  validateDeliverySpec,
  validateKReference,
  type DeliverySpec,
  type KReference,
} from './duck';
import { described } from './describe';
import { jsonEqual } from './equality';
import { FieldError, indexPath } from './errors';
import type { ValidationContext } from './kind';
import {
  AGE_COLUMN,
  readyColumns,
  type BrokerConfigDefaults,
  type BrokerDefaults,
  type DefaultsContext,
  type KindDefinition,
} from './kind';
import { resourceSchema, validateObjectMeta } from './meta';
import { validateShape } from './structural';

export const BROKER_CLASS_ANNOTATION = 'eventing.knative.dev/broker.class';
export const MT_CHANNEL_BROKER_CLASS = 'MTChannelBasedBroker';

export const BrokerSpecSchema = Type.Object(
  {
    config: Type.Optional(
      described(
        KReferenceSchema,
        'The configuration of this Broker, read by its class: for MTChannelBasedBroker a ConfigMap whose channel-template-spec says which channel kind stores the events. Defaulted from config-br-defaults (config-br-default-channel in knative-eventing as shipped). Cannot be changed after creation.',
      ),
    ),
    delivery: Type.Optional(
      described(
        DeliverySpecSchema,
        "Retries, timeout and dead-letter sink used for every Trigger of this Broker that sets no delivery of its own (a Trigger's delivery replaces this one as a whole). Defaulted from config-br-defaults when unset. Can be changed.",
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The desired state of the Broker. Its class is the eventing.knative.dev/broker.class annotation (defaulted, immutable).',
  },
);
export type BrokerSpec = Static<typeof BrokerSpecSchema>;

export const BrokerStatusSchema = Type.Object(
  {
    ...StatusBaseProperties,
    ...AddressableStatusProperties,
    ...DeliveryStatusProperties,
    policies: Type.Optional(PoliciesSchema),
  },
  {
    additionalProperties: false,
    description:
      'The observed state of the Broker, written by its controller: whether it is Ready, and the URL producers send events to.',
  },
);
export type BrokerStatus = Static<typeof BrokerStatusSchema>;

export const BrokerSchema = resourceSchema(
  Type.Optional(BrokerSpecSchema),
  BrokerStatusSchema,
  'A Broker receives events over HTTP at the URL in status.address.url, stores them, and hands each one to the subscriber of every Trigger whose filter matches it.',
);
export type Broker = Static<typeof BrokerSchema>;

/** Condition set of a multi-tenant channel-based Broker. */
export const BrokerConditionSet = new ConditionSet('Ready', [
  'Addressable',
  'DeadLetterSinkResolved',
  'EventPoliciesReady',
  'FilterReady',
  'IngressReady',
  'TriggerChannelReady',
]);

/** What upstream ships in `config-br-defaults`. */
export const shippedBrokerDefaults: Readonly<BrokerDefaults> = Object.freeze<BrokerDefaults>({
  clusterDefault: {
    brokerClass: MT_CHANNEL_BROKER_CLASS,
    apiVersion: 'v1',
    kind: 'ConfigMap',
    name: 'config-br-default-channel',
    namespace: 'knative-eventing',
    delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' },
  },
});

type ScopedConfig = Partial<KReference> & { delivery?: DeliverySpec };

/** Picks the broker config (spec.config reference and delivery) for a namespace and class, as upstream does. */
export function brokerConfigFor(
  defaults: BrokerDefaults,
  namespace: string | undefined,
  brokerClass: string | undefined,
): ScopedConfig | undefined {
  const ns = namespace === undefined ? undefined : defaults.namespaceDefaults?.[namespace];
  if (!brokerClass) {
    if (ns?.brokerClass) return byClass(defaults, ns, ns.brokerClass);
    return clusterConfig(defaults.clusterDefault, '');
  }
  return byClass(defaults, ns, brokerClass);
}

function byClass(
  defaults: BrokerDefaults,
  ns: BrokerConfigDefaults | undefined,
  brokerClass: string,
): ScopedConfig | undefined {
  if (ns !== undefined) {
    const perClass = ns.brokerClasses?.[brokerClass];
    if (perClass !== undefined) return perClass;
    if (ns.brokerClass === brokerClass && hasOwnConfig(ns)) return ns;
  }
  return clusterConfig(defaults.clusterDefault, brokerClass);
}

function clusterConfig(
  cluster: BrokerConfigDefaults | undefined,
  brokerClass: string,
): ScopedConfig | undefined {
  if (cluster === undefined || !hasOwnConfig(cluster)) return undefined;
  return cluster.brokerClasses?.[brokerClass] ?? cluster;
}

function hasOwnConfig(c: BrokerConfigDefaults): boolean {
  return (
    c.kind !== undefined || c.name !== undefined || c.apiVersion !== undefined || c.delivery !== undefined
  );
}

/** The default broker class of a namespace, or undefined when none is configured. */
export function defaultBrokerClass(
  defaults: BrokerDefaults,
  namespace: string | undefined,
): string | undefined {
  const ns = namespace === undefined ? undefined : defaults.namespaceDefaults?.[namespace];
  return ns?.brokerClass || defaults.clusterDefault?.brokerClass || undefined;
}

/** Applies upstream's Broker defaults (class annotation, spec.config, spec.delivery when absent). Pure. */
export function setDefaultsBroker(obj: Broker, ctx: DefaultsContext = {}): Broker {
  const defaults = ctx.brokerDefaults ?? shippedBrokerDefaults;
  const namespace = obj.metadata.namespace;
  const annotations = obj.metadata.annotations ?? {};
  const spec: BrokerSpec = { ...(obj.spec ?? {}) };
  const cfg = brokerConfigFor(defaults, namespace, annotations[BROKER_CLASS_ANNOTATION]);
  if (cfg !== undefined) {
    if (spec.config === undefined && cfg.kind !== undefined && cfg.name !== undefined) {
      const ref: KReference = { kind: cfg.kind, name: cfg.name };
      if (cfg.namespace !== undefined) ref.namespace = cfg.namespace;
      if (cfg.apiVersion !== undefined) ref.apiVersion = cfg.apiVersion;
      spec.config = ref;
    }
    if (spec.delivery === undefined && cfg.delivery !== undefined) {
      // Only these four fields are inherited, as upstream.
      const d = cfg.delivery;
      const delivery: DeliverySpec = {};
      if (d.deadLetterSink !== undefined) delivery.deadLetterSink = structuredClone(d.deadLetterSink);
      if (d.retry !== undefined) delivery.retry = d.retry;
      if (d.backoffPolicy !== undefined) delivery.backoffPolicy = d.backoffPolicy;
      if (d.backoffDelay !== undefined) delivery.backoffDelay = d.backoffDelay;
      spec.delivery = delivery;
    }
  }
  if (spec.config !== undefined && !spec.config.namespace && namespace)
    spec.config = { ...spec.config, namespace };
  if (spec.delivery !== undefined) spec.delivery = setDeliveryDefaults(spec.delivery, namespace);
  let metadata = obj.metadata;
  if (!(BROKER_CLASS_ANNOTATION in annotations)) {
    const cls = defaultBrokerClass(defaults, namespace);
    if (cls !== undefined)
      metadata = { ...metadata, annotations: { ...annotations, [BROKER_CLASS_ANNOTATION]: cls } };
  }
  return { ...obj, metadata, spec };
}

function allowDifferentNamespace(
  defaults: BrokerDefaults | undefined,
  namespace: string | undefined,
): boolean {
  const ns = namespace === undefined ? undefined : defaults?.namespaceDefaults?.[namespace];
  if (ns?.disallowDifferentNamespaceConfig === true) return false;
  if (defaults?.clusterDefault?.disallowDifferentNamespaceConfig === true) return false;
  return true;
}

const CLASS_PATH = indexPath('metadata.annotations', BROKER_CLASS_ANNOTATION);

/** Validates a Broker: class annotation, spec.config, spec.delivery, and on update the immutable fields. */
export function validateBroker(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(BrokerSchema, obj);
  if (shape.length > 0) return shape;
  const b = obj as Broker;
  const errs = validateObjectMeta(b.metadata);
  const cls = b.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
  if (!cls) errs.push(new FieldError(CLASS_PATH, 'missing field(s)'));
  const duck = {
    features: ctx.features,
    parentNamespace: b.metadata.namespace,
    allowDifferentNamespace: allowDifferentNamespace(ctx.brokerDefaults, b.metadata.namespace),
  };
  if (b.spec?.config !== undefined) errs.push(...validateKReference(b.spec.config, 'spec.config', duck));
  if (b.spec?.delivery !== undefined)
    errs.push(...validateDeliverySpec(b.spec.delivery, 'spec.delivery', duck));
  if (ctx.original !== undefined && ctx.original !== null) {
    const original = ctx.original as Broker;
    const before = { ...(original.spec ?? {}), delivery: undefined } as Record<string, unknown>;
    const after = { ...(b.spec ?? {}), delivery: undefined } as Record<string, unknown>;
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (!jsonEqual(before[key], after[key])) {
        errs.push(
          new FieldError(
            `spec.${key}`,
            `immutable field changed (-old +new): -${JSON.stringify(before[key])} +${JSON.stringify(after[key])}`,
          ),
        );
      }
    }
    const oldClass = original.metadata?.annotations?.[BROKER_CLASS_ANNOTATION];
    if (oldClass !== cls) {
      errs.push(
        new FieldError(
          CLASS_PATH,
          `immutable annotation changed (-old +new): -${String(oldClass)} +${String(cls)}`,
        ),
      );
    }
  }
  return errs;
}

export const BrokerKind: KindDefinition = {
  group: 'eventing.knative.dev',
  versions: ['v1'],
  kind: 'Broker',
  plural: 'brokers',
  singular: 'broker',
  categories: ['all', 'knative', 'eventing'],
  labels: { 'duck.knative.dev/addressable': 'true' },
  schema: BrokerSchema,
  setDefaults: setDefaultsBroker,
  validate: validateBroker,
  conditionSet: BrokerConditionSet,
  conditionTypes: BrokerConditionSet.types,
  printerColumns: [
    { name: 'URL', type: 'string', jsonPath: '.status.address.url' },
    AGE_COLUMN,
    ...readyColumns(),
    {
      name: 'Class',
      type: 'string',
      priority: 1,
      jsonPath: '.metadata.annotations.eventing\\.knative\\.dev/broker\\.class',
    },
  ],
};
