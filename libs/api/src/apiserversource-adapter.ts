import { APISERVER_REFERENCE_MODE, APISERVER_RESOURCE_MODE } from './apiserversource';
import type { TriggerFilter } from './trigger';

/** A group, version and resource (plural), as upstream's adapter configuration spells it. */
export interface GroupVersionResource {
  Group: string;
  Version: string;
  Resource: string;
}

/** One kind an ApiServerSource adapter watches. */
export interface AdapterResourceWatch {
  gvr: GroupVersionResource;
  /** The kind (list items come without one); upstream's adapter reads it from discovery. */
  kind: string;
  /** Label selector in the API server's text form; absent: every object. */
  selector?: string;
}

/**
 * What an ApiServerSource adapter is told to do, in `K_SOURCE_CONFIG` (upstream's adapter
 * configuration, plus each resource's kind).
 */
export interface ApiServerAdapterConfig {
  /** Namespaces to watch (ignored with `allNamespaces`). */
  namespaces: string[];
  allNamespaces: boolean;
  resources: AdapterResourceWatch[];
  /** Only objects whose controller owner reference has this apiVersion and kind. */
  owner?: { apiVersion: string; kind: string };
  mode: typeof APISERVER_REFERENCE_MODE | typeof APISERVER_RESOURCE_MODE;
  filters?: TriggerFilter[];
  /** Stop at the first watch that fails instead of retrying it. */
  failFast?: boolean;
}

/**
 * The resource (plural) of a kind as Kubernetes guesses it without discovery: lower case, `s`
 * added; a kind ending in `s` takes `es`, one ending in `y` takes `ies`; `endpoints` stays.
 */
export function guessResource(kind: string): string {
  const singular = kind.toLowerCase();
  if (singular === '' || singular.endsWith('endpoints')) return singular;
  if (singular.endsWith('s')) return `${singular}es`;
  if (singular.endsWith('y')) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

/** The group and version of an apiVersion (`v1` → core group). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** A malformed `K_SOURCE_CONFIG`, naming the field that is wrong. */
export class AdapterConfigError extends Error {
  constructor(message: string) {
    super(`K_SOURCE_CONFIG: ${message}`);
    this.name = 'AdapterConfigError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Parses `K_SOURCE_CONFIG`; throws AdapterConfigError naming the field that is wrong. */
export function parseApiServerAdapterConfig(text: string | undefined): ApiServerAdapterConfig {
  if (text === undefined || text.trim() === '') throw new AdapterConfigError('missing');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AdapterConfigError(`not JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new AdapterConfigError('expected a JSON object');
  const namespaces = raw['namespaces'] ?? [];
  if (!Array.isArray(namespaces) || namespaces.some((n) => typeof n !== 'string'))
    throw new AdapterConfigError('namespaces: expected an array of strings');
  const resources = raw['resources'];
  if (!Array.isArray(resources) || resources.length === 0)
    throw new AdapterConfigError('resources: expected at least one');
  const watches = resources.map((r: unknown, i): AdapterResourceWatch => {
    const gvr = isObject(r) ? r['gvr'] : undefined;
    if (
      !isObject(r) ||
      !isObject(gvr) ||
      typeof gvr['Version'] !== 'string' ||
      typeof gvr['Resource'] !== 'string'
    )
      throw new AdapterConfigError(`resources[${i}].gvr: expected {Group, Version, Resource}`);
    const resource = gvr['Resource'];
    const kind = typeof r['kind'] === 'string' && r['kind'] !== '' ? r['kind'] : undefined;
    if (kind === undefined) throw new AdapterConfigError(`resources[${i}].kind: missing`);
    const out: AdapterResourceWatch = {
      gvr: {
        Group: typeof gvr['Group'] === 'string' ? gvr['Group'] : '',
        Version: gvr['Version'],
        Resource: resource,
      },
      kind,
    };
    if (typeof r['selector'] === 'string' && r['selector'] !== '') out.selector = r['selector'];
    return out;
  });
  const mode = raw['mode'] ?? APISERVER_REFERENCE_MODE;
  if (mode !== APISERVER_REFERENCE_MODE && mode !== APISERVER_RESOURCE_MODE)
    throw new AdapterConfigError(`mode: ${String(mode)}: expected Reference or Resource`);
  const config: ApiServerAdapterConfig = {
    namespaces: namespaces as string[],
    allNamespaces: raw['allNamespaces'] === true,
    resources: watches,
    mode,
  };
  const owner = raw['owner'];
  if (owner !== undefined && owner !== null) {
    if (!isObject(owner) || typeof owner['apiVersion'] !== 'string' || typeof owner['kind'] !== 'string')
      throw new AdapterConfigError('owner: expected {apiVersion, kind}');
    config.owner = { apiVersion: owner['apiVersion'], kind: owner['kind'] };
  }
  const filters = raw['filters'];
  if (Array.isArray(filters) && filters.length > 0) config.filters = filters as TriggerFilter[];
  if (raw['failFast'] === true) config.failFast = true;
  return config;
}
