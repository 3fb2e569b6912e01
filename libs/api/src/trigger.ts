import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ConditionSet, StatusBaseProperties } from './conditions';
import {
  AuthStatusSchema,
  DeliverySpecSchema,
  DeliveryStatusProperties,
  DestinationSchema,
  KReferenceSchema,
  setDeliveryDefaults,
  setDestinationDefaults,
  validateDeliverySpec,
  validateDestination,
} from './duck';
import { validateDeliveryOrderAnnotation } from './delivery-order';
import { described } from './describe';
import { FieldError, indexPath, joinPath } from './errors';
import { isEnabled } from './features';
import type { ValidationContext } from './kind';
import { AGE_COLUMN, readyColumns, type DefaultsContext, type KindDefinition } from './kind';
import { resourceSchema, validateObjectMeta } from './meta';
import { validateShape } from './structural';

export const BROKER_LABEL = 'eventing.knative.dev/broker';
export const DEPENDENCY_ANNOTATION = 'knative.dev/dependency';
export const INJECTION_ANNOTATION = 'eventing.knative.dev/injection';

const StringMap = Type.Record(Type.String(), Type.String());

const ATTRIBUTE_KEYS =
  'Keys are CloudEvents attribute names (lower-case letters and digits, starting with a letter), values non-empty; the comparison is case-sensitive, and an attribute the event lacks never matches.';

/** One element of `spec.filters[]`: a CloudEvents Subscriptions API filter dialect (recursive). */
export const TriggerFilterSchema = Type.Recursive(
  (This) =>
    Type.Object(
      {
        exact: Type.Optional(
          described(StringMap, `Matches when each named attribute equals the given value. ${ATTRIBUTE_KEYS}`),
        ),
        prefix: Type.Optional(
          described(
            StringMap,
            `Matches when each named attribute starts with the given value. ${ATTRIBUTE_KEYS}`,
          ),
        ),
        suffix: Type.Optional(
          described(
            StringMap,
            `Matches when each named attribute ends with the given value. ${ATTRIBUTE_KEYS}`,
          ),
        ),
        all: Type.Optional(
          Type.Array(This, {
            description: 'Matches when every filter in the list matches; at least one filter.',
          }),
        ),
        any: Type.Optional(
          Type.Array(This, {
            description: 'Matches when at least one filter in the list matches; at least one filter.',
          }),
        ),
        not: Type.Optional(described(This, 'Matches when the filter it holds does not match.')),
        cesql: Type.Optional(
          Type.String({
            description:
              "Matches when this CloudEvents SQL expression is true for the event, e.g. \"type LIKE 'com.example.%' AND source = 'shop'\".",
          }),
        ),
      },
      { additionalProperties: false },
    ),
  { $id: 'TriggerFilter' },
);
export type TriggerFilter = Static<typeof TriggerFilterSchema>;

/** Legacy `spec.filter`: exact attribute matches. */
export const TriggerAttributesFilterSchema = Type.Object(
  {
    attributes: Type.Optional(
      described(
        StringMap,
        'Matches when each named CloudEvents attribute equals the given value exactly; an empty value matches any non-empty value. Keys are attribute names (lower-case letters and digits, starting with a letter). Empty or unset: every event matches.',
      ),
    ),
  },
  { additionalProperties: false },
);
export type TriggerAttributesFilter = Static<typeof TriggerAttributesFilterSchema>;

export const TriggerSpecSchema = Type.Object(
  {
    broker: Type.Optional(
      Type.String({
        description:
          'Name of the Broker, in the namespace of the Trigger, to receive events from. Give broker or brokerRef. Cannot be changed after creation.',
      }),
    ),
    brokerRef: Type.Optional(
      described(
        KReferenceSchema,
        'The Broker to receive events from, as a reference (kind, apiVersion, name, and namespace for a Broker in another namespace, which needs the cross-namespace-event-links feature). Give broker or brokerRef.',
      ),
    ),
    filter: Type.Optional(
      described(
        TriggerAttributesFilterSchema,
        'Which events to deliver, by exact attribute values. Ignored when filters is set. Unset: every event.',
      ),
    ),
    filters: Type.Optional(
      Type.Array(TriggerFilterSchema, {
        description:
          'Which events to deliver: an event is delivered when every filter in the list matches it. Each filter uses exactly one of exact, prefix, suffix, all, any, not or cesql. When set, filter is ignored. Empty or unset: every event.',
      }),
    ),
    subscriber: described(
      DestinationSchema,
      'Where matching events are sent: a ref to an Addressable or Service and/or a URI. An event the subscriber answers with goes back into the Broker. Required.',
    ),
    delivery: Type.Optional(
      described(
        DeliverySpecSchema,
        "Retries, timeout and dead-letter sink for deliveries to the subscriber. When set it replaces the Broker's spec.delivery as a whole; unset, the Broker's applies.",
      ),
    ),
  },
  {
    additionalProperties: false,
    description: 'The desired state of the Trigger: which Broker, which events, and where to send them.',
  },
);
export type TriggerSpec = Static<typeof TriggerSpecSchema>;

export const TriggerStatusSchema = Type.Object(
  {
    ...StatusBaseProperties,
    subscriberUri: Type.Optional(
      Type.String({ description: 'The URL spec.subscriber resolved to; where matching events are sent.' }),
    ),
    subscriberCACerts: Type.Optional(
      Type.String({ description: 'PEM-encoded CA certificates trusted when sending to the subscriber.' }),
    ),
    subscriberAudience: Type.Optional(
      Type.String({ description: 'OIDC audience of the tokens sent to the subscriber.' }),
    ),
    ...DeliveryStatusProperties,
    auth: Type.Optional(AuthStatusSchema),
  },
  {
    additionalProperties: false,
    description:
      'The observed state of the Trigger, written by its controller: whether it is Ready and the URL its subscriber resolved to.',
  },
);
export type TriggerStatus = Static<typeof TriggerStatusSchema>;

export const TriggerSchema = resourceSchema(
  TriggerSpecSchema,
  TriggerStatusSchema,
  'A Trigger asks a Broker to send the events that match its filters to a subscriber.',
);
export type Trigger = Static<typeof TriggerSchema>;

export const TriggerConditionSet = new ConditionSet('Ready', [
  'BrokerReady',
  'DeadLetterSinkResolved',
  'DependencyReady',
  'OIDCIdentityCreated',
  'SubscriberResolved',
  'SubscriptionReady',
]);

let cesqlValidator: ((expr: string) => string | undefined) | undefined;

/** Installs the CESQL syntax check used by validateTrigger; `fn` returns an error message or undefined. */
export function registerCesqlValidator(fn: ((expr: string) => string | undefined) | undefined): void {
  cesqlValidator = fn;
}

/** Applies upstream's Trigger defaults (filter `{}`, broker label, destination ref namespaces). Pure. */
export function setDefaultsTrigger(obj: Trigger, ctx: DefaultsContext = {}): Trigger {
  const namespace = obj.metadata.namespace;
  const spec: TriggerSpec = { ...obj.spec };
  if (spec.filter === undefined) spec.filter = {};
  if (spec.subscriber !== undefined) spec.subscriber = setDestinationDefaults(spec.subscriber, namespace);
  if (spec.delivery !== undefined) spec.delivery = setDeliveryDefaults(spec.delivery, namespace);
  let brokerName: string | undefined;
  if (isEnabled(ctx.features, 'cross-namespace-event-links') && spec.brokerRef !== undefined)
    brokerName = spec.brokerRef.name;
  else if (spec.broker) brokerName = spec.broker;
  const metadata =
    brokerName === undefined
      ? obj.metadata
      : { ...obj.metadata, labels: { ...(obj.metadata.labels ?? {}), [BROKER_LABEL]: brokerName } };
  return { ...obj, metadata, spec };
}

const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;
const ATTRIBUTE_NAME_RULE =
  'Attribute name must start with a letter and can only contain lowercase alphanumeric';

function validateAttributeMap(
  map: Record<string, string>,
  path: string,
  requireValues: boolean,
): FieldError[] {
  const errs: FieldError[] = [];
  for (const [key, value] of Object.entries(map)) {
    if (!ATTRIBUTE_NAME.test(key))
      errs.push(new FieldError(indexPath(path, key), `invalid key name "${key}": ${ATTRIBUTE_NAME_RULE}`));
    else if (requireValues && value === '')
      errs.push(new FieldError(indexPath(path, key), 'invalid value: the value must not be empty'));
  }
  return errs;
}

const DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const;

/** Validates one Subscriptions API filter at `path`, recursing into all/any/not. */
export function validateTriggerFilter(filter: TriggerFilter, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const present = DIALECTS.filter((d) => filter[d] !== undefined);
  if (present.length > 1) {
    errs.push(
      new FieldError(
        path,
        `multiple dialects found (${present.join(', ')}), filters can have only one dialect set`,
      ),
    );
  }
  for (const d of ['exact', 'prefix', 'suffix'] as const) {
    const map = filter[d];
    if (map === undefined) continue;
    if (Object.keys(map).length === 0) errs.push(new FieldError(joinPath(path, d), 'must not be empty'));
    else errs.push(...validateAttributeMap(map, joinPath(path, d), true));
  }
  for (const d of ['all', 'any'] as const) {
    const list = filter[d];
    if (list === undefined) continue;
    if (list.length === 0) errs.push(new FieldError(joinPath(path, d), 'must not be empty'));
    list.forEach((f, i) => errs.push(...validateTriggerFilter(f, indexPath(joinPath(path, d), i))));
  }
  if (filter.not !== undefined) {
    if (DIALECTS.every((d) => filter.not?.[d] === undefined))
      errs.push(new FieldError(joinPath(path, 'not'), 'must not be empty'));
    else errs.push(...validateTriggerFilter(filter.not, joinPath(path, 'not')));
  }
  if (filter.cesql !== undefined) {
    if (filter.cesql.trim() === '') errs.push(new FieldError(joinPath(path, 'cesql'), 'must not be empty'));
    else {
      const problem = cesqlValidator?.(filter.cesql);
      if (problem !== undefined) errs.push(new FieldError(joinPath(path, 'cesql'), problem));
    }
  }
  return errs;
}

function validateAnnotations(t: Trigger): FieldError[] {
  const errs: FieldError[] = [];
  const annotations = t.metadata.annotations ?? {};
  const dependency = annotations[DEPENDENCY_ANNOTATION];
  if (dependency !== undefined) {
    const path = indexPath('metadata.annotations', DEPENDENCY_ANNOTATION);
    let ref: unknown;
    try {
      ref = JSON.parse(dependency);
    } catch (e) {
      ref = undefined;
      errs.push(
        new FieldError(path, `the annotation is not a JSON object reference: ${(e as Error).message}`),
      );
    }
    if (ref !== undefined) {
      if (typeof ref !== 'object' || ref === null || Array.isArray(ref)) {
        errs.push(new FieldError(path, 'the annotation is not a JSON object reference'));
      } else {
        const r = ref as Record<string, unknown>;
        if (r['namespace'] && r['namespace'] !== t.metadata.namespace) {
          errs.push(
            new FieldError(
              joinPath(path, 'namespace'),
              `namespace must be empty or equal to the trigger namespace "${t.metadata.namespace ?? ''}"`,
            ),
          );
        }
        for (const field of ['kind', 'name', 'apiVersion']) {
          if (!r[field]) errs.push(new FieldError(joinPath(path, field), 'missing field(s)'));
        }
      }
    }
  }
  const injection = annotations[INJECTION_ANNOTATION];
  if (injection !== undefined) {
    const path = indexPath('metadata.annotations', INJECTION_ANNOTATION);
    if (injection !== 'enabled' && injection !== 'disabled') {
      errs.push(new FieldError(path, `invalid value: ${injection}: must be "enabled" or "disabled"`));
    } else if (t.spec.broker !== 'default') {
      errs.push(
        new FieldError(
          path,
          `the injection annotation is only used for the default broker, not "${t.spec.broker ?? ''}"`,
        ),
      );
    }
  }
  return errs;
}

/** Validates a Trigger: broker/brokerRef, filters, subscriber, delivery, annotations, and on update spec.broker immutability. */
export function validateTrigger(obj: unknown, ctx: ValidationContext = {}): FieldError[] {
  const shape = validateShape(TriggerSchema, obj);
  if (shape.length > 0) return shape;
  const t = obj as Trigger;
  const errs = validateObjectMeta(t.metadata);
  const spec = t.spec;
  const duck = { features: ctx.features };
  if (spec.brokerRef === undefined && !spec.broker)
    errs.push(new FieldError('spec.broker', 'missing field(s)'));
  else if (spec.brokerRef !== undefined && spec.broker) {
    errs.push(new FieldError('spec.broker', 'expected exactly one, got both: broker, brokerRef'));
  }
  if (spec.brokerRef?.namespace && !isEnabled(ctx.features, 'cross-namespace-event-links')) {
    errs.push(
      new FieldError(
        'spec.brokerRef.namespace',
        'must not set the field(s): only name, apiVersion and kind are supported when feature cross-namespace-event-links is disabled',
      ),
    );
  }
  if (spec.filter?.attributes !== undefined)
    errs.push(...validateAttributeMap(spec.filter.attributes, 'spec.filter.attributes', false));
  spec.filters?.forEach((f, i) => errs.push(...validateTriggerFilter(f, indexPath('spec.filters', i))));
  errs.push(...validateDestination(spec.subscriber, 'spec.subscriber', duck));
  if (spec.delivery !== undefined) errs.push(...validateDeliverySpec(spec.delivery, 'spec.delivery', duck));
  errs.push(...validateAnnotations(t));
  // Read by Kafka-backed brokers only, but a value that is neither order is broken whatever the class.
  errs.push(...validateDeliveryOrderAnnotation(t.metadata));
  if (ctx.original !== undefined && ctx.original !== null) {
    const before = (ctx.original as Trigger).spec?.broker;
    if (before !== spec.broker) {
      errs.push(
        new FieldError(
          'spec.broker',
          `immutable field changed (-old +new): -${String(before)} +${String(spec.broker)}`,
        ),
      );
    }
  }
  return errs;
}

export const TriggerKind: KindDefinition = {
  group: 'eventing.knative.dev',
  versions: ['v1'],
  kind: 'Trigger',
  plural: 'triggers',
  singular: 'trigger',
  categories: ['all', 'knative', 'eventing'],
  schema: TriggerSchema as TSchema,
  setDefaults: setDefaultsTrigger,
  validate: validateTrigger,
  conditionSet: TriggerConditionSet,
  conditionTypes: TriggerConditionSet.types,
  printerColumns: [
    { name: 'Broker', type: 'string', jsonPath: '.spec.broker' },
    { name: 'Subscriber_URI', type: 'string', jsonPath: '.status.subscriberUri' },
    AGE_COLUMN,
    ...readyColumns(),
  ],
};
