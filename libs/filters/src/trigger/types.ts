import type { CloudEvent } from '@eventing/cloudevents';

/** A Trigger's legacy `spec.filter`: exact attribute matches, `""` meaning "present and non-empty". */
export interface TriggerAttributesFilter {
  attributes?: Record<string, string>;
}

/** One element of a Trigger's `spec.filters` (CloudEvents Subscriptions API filter dialects). */
export interface SubscriptionsApiFilter {
  exact?: Record<string, string>;
  prefix?: Record<string, string>;
  suffix?: Record<string, string>;
  all?: SubscriptionsApiFilter[];
  any?: SubscriptionsApiFilter[];
  not?: SubscriptionsApiFilter;
  cesql?: string;
}

/** Compiles one CESQL expression into a predicate; throws on an unparsable expression. */
export type CesqlCompiler = (expression: string) => (event: CloudEvent) => boolean;

export interface CompileOptions {
  /** Replaces the built-in CESQL v1 engine (`parseCesql`) for `cesql` elements. */
  cesql?: CesqlCompiler;
}

/** A Trigger filter compiled once into a predicate. */
export interface CompiledFilter {
  /** True when the event should be delivered to the Trigger's subscriber. */
  match(event: CloudEvent): boolean;
  /** The same decision with the reasons that led to it, for debug logs and tooling (not the hot path). */
  explain(event: CloudEvent): { matched: boolean; reasons: string[] };
}

/** Exact attribute values every event matching a filter must carry (a routing index key). */
export interface TriggerIndexKeys {
  type?: string;
  source?: string;
  /** A prefix every matching event's `type` starts with (the longest one found). */
  typePrefix?: string;
  /** Extension values every matching event carries (compared as text), e.g. `{ tenant: 'a' }`. */
  extensions?: Record<string, string>;
}
