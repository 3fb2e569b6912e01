/** Feature flags of `config-features` that change what the API accepts. */
export interface FeatureFlags {
  'delivery-timeout': boolean;
  'delivery-retryafter': boolean;
  'cross-namespace-event-links': boolean;
  'kreference-group': boolean;
  /** The data plane registers the types of the events it receives as EventTypes. */
  'eventtype-auto-create': boolean;
  /** ApiServerSource `spec.filters` (upstream's `new-apiserversource-filters`). */
  'new-apiserversource-filters': boolean;
}

/** Upstream's shipped flag values: only `delivery-timeout` is on. */
export const defaultFeatureFlags: FeatureFlags = Object.freeze({
  'delivery-timeout': true,
  'delivery-retryafter': false,
  'cross-namespace-event-links': false,
  'kreference-group': false,
  'eventtype-auto-create': false,
  'new-apiserversource-filters': false,
});

/** Resolves a flag against the defaults. */
export function isEnabled(flags: Partial<FeatureFlags> | undefined, flag: keyof FeatureFlags): boolean {
  return flags?.[flag] ?? defaultFeatureFlags[flag];
}
