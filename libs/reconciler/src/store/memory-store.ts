import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Resource } from '@eventing/api';
import { groupOf, keyOf, resourceKey, type ResourceStore, type StoreEvent, type WriteResult } from './store';

/**
 * ResourceStore kept in memory, fed from YAML files in standalone mode. `apply` and `remove` are
 * the folder's side (what the user wrote); the ResourceStore calls are the controller's side.
 * Watch handlers are called synchronously, after the change is stored.
 */
export class MemoryResourceStore implements ResourceStore {
  private readonly items = new Map<string, Resource>();
  private readonly watchers = new Map<string, Set<(event: StoreEvent) => void>>();

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
    return this.items.get(keyOf(group, kind, namespace, name));
  }

  all(): Resource[] {
    return [...this.items.values()];
  }

  watch(kind: string, group: string, handler: (event: StoreEvent) => void): () => void {
    const key = `${group}/${kind}`;
    let set = this.watchers.get(key);
    if (set === undefined) this.watchers.set(key, (set = new Set()));
    set.add(handler);
    for (const resource of this.list(kind, group)) handler({ type: 'upsert', resource });
    return () => set.delete(handler);
  }

  synced(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Creates or replaces a resource's spec and metadata (what the user wrote): keeps uid and status,
   * bumps generation on a spec change. Watchers hear of it only when something they read changed.
   */
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
    if (previous?.metadata.ownerReferences && !resource.metadata.ownerReferences)
      metadata.ownerReferences = previous.metadata.ownerReferences;
    if (previous?.metadata.finalizers && !resource.metadata.finalizers)
      metadata.finalizers = previous.metadata.finalizers;
    const next: Resource = { ...resource, metadata, status: previous?.status ?? resource.status };
    if (previous !== undefined && isDeepStrictEqual(previous, next)) return previous;
    this.items.set(key, next);
    this.emit({ type: 'upsert', resource: next });
    return next;
  }

  /** Removes a resource and, as Kubernetes' garbage collector would, every resource it owns. */
  remove(group: string, kind: string, namespace: string, name: string): boolean {
    const key = keyOf(group, kind, namespace, name);
    const previous = this.items.get(key);
    if (previous === undefined) return false;
    this.items.delete(key);
    this.emit({ type: 'delete', resource: previous });
    const uid = previous.metadata.uid;
    if (uid !== undefined)
      for (const child of [...this.items.values()]) {
        const owners = child.metadata.ownerReferences as { uid?: string }[] | undefined;
        if (owners?.some((o) => o.uid === uid)) {
          const ns = child.metadata.namespace ?? '';
          this.remove(groupOf(child.apiVersion), child.kind, ns, child.metadata.name ?? '');
        }
      }
    return true;
  }

  delete(group: string, kind: string, namespace: string, name: string): Promise<boolean> {
    return Promise.resolve(this.remove(group, kind, namespace, name));
  }

  updateStatus(resource: Resource, status: unknown): Promise<WriteResult> {
    const key = resourceKey(resource);
    const current = this.items.get(key);
    if (current === undefined) return Promise.resolve('gone');
    if (current.metadata.uid !== resource.metadata.uid) return Promise.resolve('conflict');
    if (isDeepStrictEqual(current.status, status)) return Promise.resolve('ok');
    const next = { ...current, status };
    this.items.set(key, next);
    this.emit({ type: 'upsert', resource: next });
    return Promise.resolve('ok');
  }

  applyChild(resource: Resource): Promise<Resource> {
    return Promise.resolve(this.apply(resource));
  }

  setFinalizer(resource: Resource, finalizer: string, present: boolean): Promise<WriteResult> {
    const key = resourceKey(resource);
    const current = this.items.get(key);
    if (current === undefined) return Promise.resolve('gone');
    const finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    if (present) finalizers.push(finalizer);
    const { finalizers: _old, ...rest } = current.metadata;
    const next = { ...current, metadata: finalizers.length > 0 ? { ...rest, finalizers } : rest };
    this.items.set(key, next);
    return Promise.resolve('ok');
  }

  private emit(event: StoreEvent): void {
    const set = this.watchers.get(`${groupOf(event.resource.apiVersion)}/${event.resource.kind}`);
    if (set) for (const handler of set) handler(event);
  }
}
