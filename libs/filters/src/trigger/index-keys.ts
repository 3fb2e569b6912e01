import { dialectOf } from './dialect';
import { cesqlIndexKeys } from '../cesql/index-keys';
import type { SubscriptionsApiFilter, TriggerAttributesFilter, TriggerIndexKeys } from './types';
import { CONTEXT_ATTRIBUTES } from './attributes';

/** Records an exact value: `type`/`source` in their own keys, extensions in `extensions`. */
function pin(keys: TriggerIndexKeys, name: string, value: string): void {
  if (name === 'type' || name === 'source') {
    if (keys[name] === undefined) keys[name] = value;
  } else if (!CONTEXT_ATTRIBUTES.has(name) && /^[a-z0-9]+$/.test(name)) {
    keys.extensions ??= {};
    keys.extensions[name] ??= value;
  }
}

/** Collects exact values and type prefixes from the AND spine: elements directly under the (implicit) `all`. */
function collect(filters: SubscriptionsApiFilter[], keys: TriggerIndexKeys): void {
  for (const filter of filters) {
    const dialect = dialectOf(filter);
    if (dialect.kind === 'exact') {
      for (const [name, value] of dialect.entries) pin(keys, name, value);
    } else if (dialect.kind === 'prefix') {
      for (const [name, value] of dialect.entries) {
        if (name === 'type' && value.length > (keys.typePrefix?.length ?? 0)) keys.typePrefix = value;
      }
    } else if (dialect.kind === 'all') {
      collect(dialect.filters, keys);
    } else if (dialect.kind === 'cesql') {
      const implied = cesqlIndexKeys(dialect.expression);
      if (implied.type !== undefined) pin(keys, 'type', implied.type);
      if (implied.source !== undefined) pin(keys, 'source', implied.source);
      for (const [name, value] of Object.entries(implied.extensions ?? {})) pin(keys, name, value);
      if (implied.typePrefix !== undefined && implied.typePrefix.length > (keys.typePrefix?.length ?? 0))
        keys.typePrefix = implied.typePrefix;
    }
    // any / not / suffix constrain nothing exactly: conservatively ignored.
  }
}

/**
 * Exact `type`/`source`/extension values and a `type` prefix that every event matching the Trigger
 * must have (compared against the stringified attribute), for a routing index; a key is omitted when
 * the filter does not pin it.
 */
export function triggerIndexKeys(
  filter: TriggerAttributesFilter | undefined,
  filters: SubscriptionsApiFilter[] | undefined,
): TriggerIndexKeys {
  const keys: TriggerIndexKeys = {};
  if (filters != null && filters.length > 0) {
    collect(filters, keys);
    return keys;
  }
  const attributes = filter?.attributes;
  if (attributes == null) return keys;
  for (const [name, value] of Object.entries(attributes)) {
    // "" means "any non-empty value": no exact key.
    if (typeof value === 'string' && value !== '') pin(keys, name, value);
  }
  return keys;
}
