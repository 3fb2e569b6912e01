import type { Resource } from '@eventing/api';
import { keyOf, type ResourceStore, type StoreEvent, type WriteResult } from '../store/store';

/** Kinds that reconciles read without reconciling them; the controller watches them for dependents. */
const READ_ONLY_KINDS: readonly { group: string; kind: string }[] = [
  { group: '', kind: 'Service' },
  { group: '', kind: 'ConfigMap' },
  // The Deployments sources own (their availability is the source's) and the namespaces they select.
  { group: 'apps', kind: 'Deployment' },
  { group: '', kind: 'Namespace' },
];

/**
 * The store as a reconcile sees it: reads go to the store's cache and are recorded against the key
 * being reconciled, so that a change to anything it read (even something that did not exist yet,
 * such as a Service created later) re-queues it. Writes pass through.
 */
export class TrackingReads implements ResourceStore {
  private current: string | undefined;
  /** key → what it read (exact keys, or `*<group>/<kind>` for a whole kind). */
  private readonly readsOf = new Map<string, Set<string>>();
  /** what was read → the keys that read it. */
  private readonly readers = new Map<string, Set<string>>();

  constructor(private readonly store: ResourceStore) {}

  /** Starts recording reads for `key`, forgetting what it read last time. */
  begin(key: string): void {
    this.forget(key);
    this.current = key;
  }

  end(): void {
    this.current = undefined;
  }

  /** Records that the current key depends on `dependency` without reading it. */
  note(dependency: string): void {
    const key = this.current;
    if (key === undefined || dependency === key) return;
    let reads = this.readsOf.get(key);
    if (reads === undefined) this.readsOf.set(key, (reads = new Set()));
    reads.add(dependency);
    let readers = this.readers.get(dependency);
    if (readers === undefined) this.readers.set(dependency, (readers = new Set()));
    readers.add(key);
  }

  /** Drops what `key` read. */
  forget(key: string): void {
    const reads = this.readsOf.get(key);
    if (reads === undefined) return;
    this.readsOf.delete(key);
    for (const dependency of reads) {
      const readers = this.readers.get(dependency);
      readers?.delete(key);
      if (readers?.size === 0) this.readers.delete(dependency);
    }
  }

  /** The keys that read `key`, and those that listed its kind, in their last reconcile. */
  dependentsOf(key: string): { exact: string[]; listed: string[] } {
    const [group = '', kind = ''] = key.split('/');
    const exact = new Set(this.readers.get(key));
    exact.delete(key);
    const listed: string[] = [];
    for (const k of this.readers.get(`*${group}/${kind}`) ?? [])
      if (k !== key && !exact.has(k)) listed.push(k);
    return { exact: [...exact], listed };
  }

  /** Kinds read but not reconciled, which the controller also watches. */
  dependencyKinds(): readonly { group: string; kind: string }[] {
    return READ_ONLY_KINDS;
  }

  list(kind: string, group?: string): Resource[] {
    this.note(`*${group ?? ''}/${kind}`);
    return this.store.list(kind, group);
  }

  get(group: string, kind: string, namespace: string, name: string): Resource | undefined {
    this.note(keyOf(group, kind, namespace, name));
    return this.store.get(group, kind, namespace, name);
  }

  watch(kind: string, group: string, handler: (event: StoreEvent) => void): () => void {
    return this.store.watch(kind, group, handler);
  }

  synced(): Promise<void> {
    return this.store.synced();
  }

  updateStatus(resource: Resource, status: unknown): Promise<WriteResult> {
    return this.store.updateStatus(resource, status);
  }

  applyChild(resource: Resource): Promise<Resource> {
    return this.store.applyChild(resource);
  }

  delete(group: string, kind: string, namespace: string, name: string): Promise<boolean> {
    return this.store.delete(group, kind, namespace, name);
  }

  setFinalizer(resource: Resource, finalizer: string, present: boolean): Promise<WriteResult> {
    return this.store.setFinalizer(resource, finalizer, present);
  }
}
