import {
  BROKER_DEFAULTS_CONFIGMAP,
  CHANNEL_DEFAULTS_CONFIGMAP,
  parseBrokerDefaultsConfigMap,
  parseChannelDefaultsConfigMap,
  type BrokerDefaults,
  type ChannelDefaults,
  type DefaultsContext,
  type FeatureFlags,
  type ValidationContext,
} from '@eventing/api';
import { FEATURES_CONFIGMAP, parseFeatureFlags } from '@eventing/reconciler';

/** Name of the ConfigMap holding the PingSource payload limit, as upstream's. */
export const PING_DEFAULTS_CONFIGMAP = 'config-ping-defaults';

/** The ConfigMaps of the system namespace that defaulting and validation read. */
export const ADMISSION_CONFIGMAPS = [
  FEATURES_CONFIGMAP,
  BROKER_DEFAULTS_CONFIGMAP,
  CHANNEL_DEFAULTS_CONFIGMAP,
  PING_DEFAULTS_CONFIGMAP,
] as const;
export type AdmissionConfigMap = (typeof ADMISSION_CONFIGMAPS)[number];

/** What every admission request is judged against besides the object: one immutable snapshot. */
export interface AdmissionConfig {
  defaults: DefaultsContext;
  /** Everything of ValidationContext but the per-request `original` and `user`. */
  validation: Omit<ValidationContext, 'original' | 'user'>;
}

/** The snapshot before any ConfigMap is read: upstream's shipped values. */
export const SHIPPED_ADMISSION_CONFIG: AdmissionConfig = Object.freeze({
  defaults: Object.freeze({}),
  validation: Object.freeze({}),
}) as AdmissionConfig;

/** `data-max-size` (or the legacy `dataMaxSize`) of `config-ping-defaults`: an integer, -1 = unlimited. */
export function parsePingDefaults(data: Record<string, string>): { dataMaxSize: number; problems: string[] } {
  let dataMaxSize = -1;
  const problems: string[] = [];
  // The legacy key first, so the current one wins when both are set (as upstream).
  for (const key of ['dataMaxSize', 'data-max-size']) {
    const raw = data[key];
    if (raw === undefined) continue;
    const text = raw.trim();
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
      problems.push(`data.${key}: '${raw}' is not an integer (bytes; -1 for no limit)`);
    else dataMaxSize = Number(text);
  }
  return { dataMaxSize: dataMaxSize < 0 ? -1 : dataMaxSize, problems };
}

interface Parsed {
  features: Partial<FeatureFlags>;
  brokerDefaults?: BrokerDefaults;
  channelDefaults?: ChannelDefaults;
  pingDataMaxSize: number;
}

/**
 * Holds the admission ConfigMaps and the snapshot built from them. A ConfigMap that does not parse
 * keeps its last good value (upstream's config stores do the same) and its problems are returned
 * for the log; a deleted one falls back to the shipped value.
 */
export class AdmissionConfigStore {
  private parsed: Parsed = { features: {}, pingDataMaxSize: -1 };
  private snapshot: AdmissionConfig = SHIPPED_ADMISSION_CONFIG;

  /** The current snapshot; never mutated, replaced on each change. */
  current(): AdmissionConfig {
    return this.snapshot;
  }

  /** Applies one ConfigMap's data (undefined: deleted or absent) and returns what was wrong in it. */
  set(name: AdmissionConfigMap, data: Record<string, string> | undefined): string[] {
    const problems: string[] = [];
    const next: Parsed = { ...this.parsed };
    if (name === FEATURES_CONFIGMAP) {
      const flags = parseFeatureFlags(data ?? {});
      for (const p of flags.problems) problems.push(`${p.path}: ${p.message}`);
      next.features = flags.features;
    } else if (name === BROKER_DEFAULTS_CONFIGMAP) {
      if (data === undefined) delete next.brokerDefaults;
      else {
        const r = parseBrokerDefaultsConfigMap(data, next.features);
        if (r.errors.length === 0) next.brokerDefaults = r.defaults;
        else problems.push(...r.errors.map((e) => e.toString()));
      }
    } else if (name === CHANNEL_DEFAULTS_CONFIGMAP) {
      if (data === undefined) delete next.channelDefaults;
      else {
        const r = parseChannelDefaultsConfigMap(data);
        if (r.errors.length === 0) next.channelDefaults = r.defaults;
        else problems.push(...r.errors.map((e) => e.toString()));
      }
    } else {
      const r = parsePingDefaults(data ?? {});
      if (r.problems.length === 0) next.pingDataMaxSize = r.dataMaxSize;
      problems.push(...r.problems);
    }
    this.parsed = next;
    this.snapshot = build(next);
    return problems;
  }
}

function build(p: Parsed): AdmissionConfig {
  const defaults: DefaultsContext = { features: p.features };
  if (p.brokerDefaults !== undefined) defaults.brokerDefaults = p.brokerDefaults;
  if (p.channelDefaults !== undefined) defaults.channelDefaults = p.channelDefaults;
  const validation: AdmissionConfig['validation'] = {
    features: p.features,
    pingDataMaxSize: p.pingDataMaxSize,
  };
  if (p.brokerDefaults !== undefined) validation.brokerDefaults = p.brokerDefaults;
  return Object.freeze({ defaults: Object.freeze(defaults), validation: Object.freeze(validation) });
}
