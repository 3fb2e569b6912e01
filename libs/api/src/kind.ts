import type { TSchema } from '@sinclair/typebox';
import type { FieldError } from './errors';
import type { FeatureFlags } from './features';
import type { DeliverySpec, KReference } from './duck';
import type { ConditionSet } from './conditions';
import type { ChannelTemplateSpec } from './messaging';

/** One entry of a CRD's `additionalPrinterColumns`. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'date' | 'integer' | 'number' | 'boolean';
  jsonPath: string;
  priority?: number;
  description?: string;
}

/** Broker defaults for one scope, as in the `default-br-config` key of `config-br-defaults`. */
export interface BrokerConfigDefaults extends Partial<KReference> {
  brokerClass?: string;
  delivery?: DeliverySpec;
  brokerClasses?: Record<string, Partial<KReference> & { delivery?: DeliverySpec }>;
  disallowDifferentNamespaceConfig?: boolean;
}

/** The parsed `default-br-config` of `config-br-defaults`. */
export interface BrokerDefaults {
  clusterDefault?: BrokerConfigDefaults;
  namespaceDefaults?: Record<string, BrokerConfigDefaults>;
}

/** The parsed `default-ch-config` of `default-ch-webhook`: the channel kind used when a template is absent. */
export interface ChannelDefaults {
  clusterDefault?: ChannelTemplateSpec;
  namespaceDefaults?: Record<string, ChannelTemplateSpec>;
}

/** What validation may depend on besides the object itself. */
export interface ValidationContext {
  features?: Partial<FeatureFlags>;
  /** The stored object when validating an update (enables immutability checks). */
  original?: unknown;
  /** `config-br-defaults`, for the Broker `disallowDifferentNamespaceConfig` rule. */
  brokerDefaults?: BrokerDefaults;
  /** `config-ping-defaults` `data-max-size`; -1 or absent = unlimited. */
  pingDataMaxSize?: number;
  /**
   * The user making an update (admission request). When set with `original`, only the eventing
   * controller's service account may change an InMemoryChannel's `spec.subscribers`.
   */
  user?: string;
}

/** What defaulting may depend on besides the object itself. */
export interface DefaultsContext {
  /** Defaults to `shippedBrokerDefaults`. */
  brokerDefaults?: BrokerDefaults;
  /** Defaults to `shippedChannelDefaults`. */
  channelDefaults?: ChannelDefaults;
  features?: ValidationContext['features'];
}

/** Everything the project knows about one resource kind. */
export interface KindDefinition {
  group: string;
  /** Served versions, storage version first. */
  versions: string[];
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories: string[];
  /** CRD labels (besides `knative.dev/crd-install`). */
  labels?: Record<string, string>;
  /** CRD annotations. */
  annotations?: Record<string, string>;
  /** Served but deprecated versions, with the warning the API server returns. */
  deprecatedVersions?: Record<string, string>;
  /** The whole resource (apiVersion, kind, metadata, spec, status). */
  schema: TSchema;
  setDefaults(obj: any, ctx?: DefaultsContext): any; // eslint-disable-line @typescript-eslint/no-explicit-any
  validate(obj: any, ctx?: ValidationContext): FieldError[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  conditionSet: ConditionSet;
  /** The ready condition followed by its dependents. */
  conditionTypes: string[];
  printerColumns: PrinterColumn[];
  /** Printer columns of a version that shows other ones than `printerColumns` (EventType v1beta2). */
  versionPrinterColumns?: Record<string, PrinterColumn[]>;
}

/** Ready/Reason columns shared by every kind; `quote` picks the quote style upstream uses in the JSONPath. */
export function readyColumns(quote: '"' | "'" = '"'): PrinterColumn[] {
  return [
    {
      name: 'Ready',
      type: 'string',
      jsonPath: `.status.conditions[?(@.type==${quote}Ready${quote})].status`,
    },
    {
      name: 'Reason',
      type: 'string',
      jsonPath: `.status.conditions[?(@.type==${quote}Ready${quote})].reason`,
    },
  ];
}

export const AGE_COLUMN: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
};
