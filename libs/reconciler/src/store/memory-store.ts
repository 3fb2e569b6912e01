import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Resource } from '@eventing/api';

/** Identifies one resource: its group (from apiVersion), kind, namespace and name. */
export function resourceKey(r: {
  apiVersion: string;
  kind: string;
  metadata: { namespace?: string; name?: string };
}): string {
  const group = r.apiVersion.includes('/') ? r.apiVersion.slice(0, r.apiVersion.indexOf('/')) : '';
  return `${group}/${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name ?? ''}`;
}

export type StoreEvent = { type: 'upsert' | 'delete'; resource: Resource };

/**
 * Where resources live while a controller reconciles them. The in-process implementation serves
 * standalone mode; a Kubernetes one (informers, status subresource) implements the same calls.
 */
export interface ResourceStore {
  list(kind: string, group?: string): Resource[];
  get(group: string, kind: string, namespace: string, name: string): Resource | undefined;
  /** Creates or replaces a resource's spec and metadata; keeps uid and bumps generation on spec change. */
  apply(resource: Resource): Resource;
  delete(group: string, kind: string, namespace: string, name: string): boolean;
  /** Replaces only the status of an existing resource. */
  updateStatus(resource: Resource, status: unknown): void;
}

/** ResourceStore kept in memory, fed from YAML files in standalone mode. */
export class MemoryResourceStore implements ResourceStore {
  private readonly items = new Map<string, Resource>();

  list(kind: string, group?: string): Resource[] {
    const out: Resource[] = [];
    for (const r of this.items.values()) {
      if (r.kind !== kind) continue;
      if (group !== undefined && groupOf(r.apiVersion) !== group) continue;
      out.push(r);
    }
    return out.sort((a, b) => resourceKey(a).localeCompare(resourceKey(b)));
  }

  get(group: string, kind: string, namespace: string, name: string): Resource | undefined {
    return this.items.get(`${group}/${kind}/${namespace}/${name}`);
  }

  all(): Resource[] {
    return [...this.items.values()];
  }

  apply(resource: Resource): Resource {
    const key = resourceKey(resource);
    const previous = this.items.get(key);
    const specChanged = !previous || !isDeepStrictEqual(previous.spec, resource.spec);
    const metadata = {
      ...resource.metadata,
      uid: previous?.metadata.uid ?? resource.metadata.uid ?? randomUUID(),
      generation: previous ? (previous.metadata.generation ?? 1) + (specChanged ? 1 : 0) : 1,
      creationTimestamp: previous?.metadata.creationTimestamp ?? new Date().toISOString(),
    };
    const next: Resource = { ...resource, metadata, status: previous?.status ?? resource.status };
    this.items.set(key, next);
    return next;
  }

  delete(group: string, kind: string, namespace: string, name: string): boolean {
    return this.items.delete(`${group}/${kind}/${namespace}/${name}`);
  }

  updateStatus(resource: Resource, status: unknown): void {
    const key = resourceKey(resource);
    const current = this.items.get(key);
    if (current) this.items.set(key, { ...current, status });
  }
}

/** The API group of an apiVersion (`''` for the core group). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
