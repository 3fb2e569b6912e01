import type { ApiServerAdapterConfig } from '@eventing/api';
import type { WatchTarget } from './feed';

/** A GET against the API server: the answer's status and parsed body (libs/kube's KubeClient has it). */
export type ApiGet = (path: string) => Promise<{ status: number; body: unknown }>;

/** What discovery found: the targets to watch, and the resources it could not find. */
export interface DiscoveredTargets {
  targets: WatchTarget[];
  /** One line per resource that is not served, saying which. */
  missing: string[];
}

interface ApiResourceList {
  resources?: { name?: string; namespaced?: boolean; kind?: string }[];
}

/**
 * Finds each configured resource in the API server's discovery documents (as upstream's adapter
 * does) to learn whether it is namespaced, then makes the targets: one per watched namespace for a
 * namespaced resource (one for all with `allNamespaces`), one for a cluster-scoped resource.
 */
export async function discoverTargets(
  config: ApiServerAdapterConfig,
  get: ApiGet,
): Promise<DiscoveredTargets> {
  const targets: WatchTarget[] = [];
  const missing: string[] = [];
  const documents = new Map<string, Promise<{ status: number; body: unknown }>>();
  for (const r of config.resources) {
    const { Group: group, Version: version, Resource: plural } = r.gvr;
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    let document = documents.get(path);
    if (document === undefined) documents.set(path, (document = get(path)));
    const answer = await document;
    const gvr = `${plural}${group ? `.${group}` : ''}/${version}`;
    if (answer.status !== 200) {
      missing.push(`${gvr}: ${path} answered ${answer.status}`);
      continue;
    }
    const found = ((answer.body as ApiResourceList | undefined)?.resources ?? []).find(
      (x) => x.name === plural,
    );
    if (found === undefined) {
      missing.push(`${gvr}: not served by the API server`);
      continue;
    }
    const base = {
      group,
      version,
      kind: found.kind ?? r.kind,
      plural,
      namespaced: found.namespaced === true,
    };
    const selector = r.selector !== undefined ? { labelSelector: r.selector } : {};
    if (base.namespaced && !config.allNamespaces)
      for (const namespace of config.namespaces) targets.push({ ...base, namespace, ...selector });
    else targets.push({ ...base, ...selector });
  }
  return { targets, missing };
}
