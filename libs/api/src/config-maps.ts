import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { parseDocument } from 'yaml';
import { shippedBrokerDefaults } from './broker';
import { shippedChannelDefaults } from './channel';
import { DeliverySpecSchema, validateDeliverySpec, type DuckContext } from './duck';
import { FieldError, indexPath, joinPath } from './errors';
import type { FeatureFlags } from './features';
import type { BrokerDefaults, ChannelDefaults } from './kind';
import { ChannelTemplateSpecSchema } from './messaging';
import { pruneNulls, validateShape } from './structural';
import { MAX_YAML_DEPTH, yamlNestingDepth } from './yaml-limits';

/** Name of the ConfigMap holding the Broker defaults, and its key. */
export const BROKER_DEFAULTS_CONFIGMAP = 'config-br-defaults';
export const BROKER_DEFAULTS_KEY = 'default-br-config';
/** Name of the ConfigMap holding the Channel defaults, and its key. */
export const CHANNEL_DEFAULTS_CONFIGMAP = 'default-ch-webhook';
export const CHANNEL_DEFAULTS_KEY = 'default-ch-config';

const brokerConfigProperties = {
  apiVersion: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  group: Type.Optional(Type.String()),
  address: Type.Optional(Type.String()),
  delivery: Type.Optional(DeliverySpecSchema),
};

/** The config of one broker class: a `spec.config` reference and the delivery a new Broker inherits. */
const BrokerClassConfigSchema = Type.Object(brokerConfigProperties, { additionalProperties: false });

/** Cluster or namespace broker defaults: default class, its config, per-class configs. */
export const BrokerConfigDefaultsSchema = Type.Object(
  {
    brokerClass: Type.Optional(Type.String()),
    ...brokerConfigProperties,
    brokerClasses: Type.Optional(Type.Record(Type.String(), BrokerClassConfigSchema)),
    disallowDifferentNamespaceConfig: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** The document under `default-br-config`. */
export const BrokerDefaultsSchema = Type.Object(
  {
    clusterDefault: Type.Optional(BrokerConfigDefaultsSchema),
    namespaceDefaults: Type.Optional(Type.Record(Type.String(), BrokerConfigDefaultsSchema)),
  },
  { additionalProperties: false },
);

/** The document under `default-ch-config`. */
export const ChannelDefaultsSchema = Type.Object(
  {
    clusterDefault: Type.Optional(ChannelTemplateSpecSchema),
    namespaceDefaults: Type.Optional(Type.Record(Type.String(), ChannelTemplateSpecSchema)),
  },
  { additionalProperties: false },
);

/** Parsed defaults plus every problem found; on any problem `defaults` is the shipped value (all or nothing, as upstream). */
export interface ParsedDefaults<T> {
  defaults: T;
  errors: FieldError[];
}

/** Reads `key` of a ConfigMap's data as a YAML document checked against `schema`; errors are prefixed `data.<key>`. */
function parseDefaultsEntry(
  data: Record<string, string>,
  key: string,
  schema: TSchema,
): { value?: unknown; errors: FieldError[] } {
  const root = joinPath('data', key);
  const text: unknown = data[key];
  if (text === undefined || text === '') return { errors: [new FieldError(root, 'missing field(s)')] };
  if (typeof text !== 'string')
    return {
      errors: [new FieldError(root, `expected string, got ${Array.isArray(text) ? 'array' : typeof text}`)],
    };
  const depth = yamlNestingDepth(text);
  if (depth > MAX_YAML_DEPTH)
    return {
      errors: [
        new FieldError(root, `invalid YAML: nested ${depth} levels deep, more than ${MAX_YAML_DEPTH}`),
      ],
    };
  // YAML 1.1, as the Kubernetes YAML reader upstream uses (yes/no are booleans).
  const doc = parseDocument(text, { version: '1.1', logLevel: 'error' });
  const problem = doc.errors[0];
  if (problem !== undefined)
    return { errors: [new FieldError(root, `invalid YAML: ${problem.message.split('\n')[0] ?? ''}`)] };
  let decoded: unknown;
  try {
    decoded = doc.toJS();
  } catch (e) {
    // e.g. too many aliases (a "billion laughs" document).
    return { errors: [new FieldError(root, `invalid YAML: ${(e as Error).message}`)] };
  }
  // An empty document (only comments) configures nothing, as upstream; nulls inside are absent
  // (Go's YAML decoder leaves a null field at its zero value).
  const value: unknown = pruneNulls(schema, decoded ?? {});
  const shape = validateShape(schema, value).map(
    (e) => new FieldError(e.path === '' ? root : joinPath(root, e.path), e.message),
  );
  return shape.length > 0 ? { errors: shape } : { value, errors: [] };
}

function deliveryErrors(
  cfg: Static<typeof BrokerConfigDefaultsSchema>,
  path: string,
  ctx: DuckContext,
): FieldError[] {
  const errs: FieldError[] = [];
  if (cfg.delivery !== undefined)
    errs.push(...validateDeliverySpec(cfg.delivery, joinPath(path, 'delivery'), ctx));
  for (const [cls, c] of Object.entries(cfg.brokerClasses ?? {})) {
    if (c.delivery !== undefined)
      errs.push(
        ...validateDeliverySpec(
          c.delivery,
          joinPath(indexPath(joinPath(path, 'brokerClasses'), cls), 'delivery'),
          ctx,
        ),
      );
  }
  return errs;
}

/**
 * Parses the data of `config-br-defaults` (key `default-br-config`: clusterDefault, namespaceDefaults,
 * brokerClasses). Wrong types, unknown fields and invalid delivery specs are errors naming the path
 * (`data.default-br-config.clusterDefault.delivery.retry`).
 */
export function parseBrokerDefaultsConfigMap(
  data: Record<string, string>,
  features?: Partial<FeatureFlags>,
): ParsedDefaults<BrokerDefaults> {
  const root = joinPath('data', BROKER_DEFAULTS_KEY);
  const parsed = parseDefaultsEntry(data, BROKER_DEFAULTS_KEY, BrokerDefaultsSchema);
  const errors = parsed.errors;
  if (parsed.value !== undefined) {
    const doc = parsed.value as Static<typeof BrokerDefaultsSchema>;
    const ctx = { features };
    if (doc.clusterDefault !== undefined)
      errors.push(...deliveryErrors(doc.clusterDefault, joinPath(root, 'clusterDefault'), ctx));
    for (const [ns, cfg] of Object.entries(doc.namespaceDefaults ?? {})) {
      errors.push(...deliveryErrors(cfg, indexPath(joinPath(root, 'namespaceDefaults'), ns), ctx));
    }
    if (errors.length === 0) return { defaults: doc, errors };
  }
  return { defaults: shippedBrokerDefaults, errors };
}

/**
 * Parses the data of `default-ch-webhook` (key `default-ch-config`: clusterDefault, namespaceDefaults).
 * Each template must name apiVersion and kind; errors name the path (`data.default-ch-config.clusterDefault.kind`).
 */
export function parseChannelDefaultsConfigMap(data: Record<string, string>): ParsedDefaults<ChannelDefaults> {
  const root = joinPath('data', CHANNEL_DEFAULTS_KEY);
  const parsed = parseDefaultsEntry(data, CHANNEL_DEFAULTS_KEY, ChannelDefaultsSchema);
  const errors = parsed.errors;
  if (parsed.value !== undefined) {
    const doc = parsed.value as Static<typeof ChannelDefaultsSchema>;
    const templates: [string, Static<typeof ChannelTemplateSpecSchema>][] = [];
    if (doc.clusterDefault !== undefined)
      templates.push([joinPath(root, 'clusterDefault'), doc.clusterDefault]);
    for (const [ns, t] of Object.entries(doc.namespaceDefaults ?? {}))
      templates.push([indexPath(joinPath(root, 'namespaceDefaults'), ns), t]);
    for (const [path, t] of templates) {
      // A template without apiVersion/kind would only fail later, on every Channel defaulted from it.
      if (!t.apiVersion) errors.push(new FieldError(joinPath(path, 'apiVersion'), 'missing field(s)'));
      if (!t.kind) errors.push(new FieldError(joinPath(path, 'kind'), 'missing field(s)'));
    }
    if (errors.length === 0) return { defaults: doc, errors };
  }
  return { defaults: shippedChannelDefaults, errors };
}
