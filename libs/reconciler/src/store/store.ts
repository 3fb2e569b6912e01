import type { Resource } from '@eventing/api';

/**
 * Where the resources a controller reconciles live. Two implementations: the in-process one fed
 * from YAML files (standalone mode) and the Kubernetes one (list-then-watch caches over the API
 * server, writes through the API).
 *
 * Reads are synchronous and served from a local cache, as Kubernetes listers are: a reconciler
 * reads what it needs without awaiting. Writes are asynchronous and report what happened, so a
 * reconciler can retry a conflict from the cache's newer copy instead of overwriting it.
 */
export interface ResourceStore {
  /** Every cached resource of a kind (optionally of one API group), sorted by key. */
  list(kind: string, group?: string): Resource[];
  /** One cached resource, or undefined. */
  get(group: string, kind: string, namespace: string, name: string): Resource | undefined;
  /**
   * Calls `handler` for every change to resources of `kind` in `group`: first an upsert for each
   * resource already cached, then each change as it happens. Returns the unsubscribe function.
   */
  watch(kind: string, group: string, handler: (event: StoreEvent) => void): () => void;
  /** Resolves once every watched kind's cache has been filled by a first list. */
  synced(): Promise<void>;
  /**
   * Writes a resource's status (the status subresource in Kubernetes). `resource` is the copy the
   * status was computed from; a newer copy in the store makes the write a conflict, never a
   * silent overwrite of what the reconciler did not see.
   */
  updateStatus(resource: Resource, status: unknown): Promise<WriteResult>;
  /**
   * Creates or updates a resource this controller owns (a child: the Channel of a Sequence step,
   * the Subscription of a Parallel branch...). Its `metadata.ownerReferences` name its owner, so
   * it goes when the owner goes. Resolves to the stored copy.
   */
  applyChild(resource: Resource): Promise<Resource>;
  /** Deletes a resource; resolves false when it was not there. */
  delete(group: string, kind: string, namespace: string, name: string): Promise<boolean>;
  /**
   * Adds (`present`) or removes a finalizer on a resource. Used where cleanup happens outside
   * the store (a Kafka topic, a JetStream stream) before the resource may go.
   */
  setFinalizer(resource: Resource, finalizer: string, present: boolean): Promise<WriteResult>;
}

/** A change to one resource. */
export type StoreEvent = { type: 'upsert' | 'delete'; resource: Resource };

/** What a write did: done, refused because the store holds a newer copy, or the resource is gone. */
export type WriteResult = 'ok' | 'conflict' | 'gone';

/** Identifies one resource: its group (from apiVersion), kind, namespace and name. */
export function resourceKey(r: {
  apiVersion: string;
  kind: string;
  metadata: { namespace?: string; name?: string };
}): string {
  return keyOf(groupOf(r.apiVersion), r.kind, r.metadata.namespace ?? '', r.metadata.name ?? '');
}

/** The key of a resource given by its parts (`<group>/<kind>/<namespace>/<name>`). */
export function keyOf(group: string, kind: string, namespace: string, name: string): string {
  return `${group}/${kind}/${namespace}/${name}`;
}

/** The parts of a key made by `keyOf`. */
export function parseKey(key: string): { group: string; kind: string; namespace: string; name: string } {
  const [group = '', kind = '', namespace = '', ...rest] = key.split('/');
  return { group, kind, namespace, name: rest.join('/') };
}

/** The API group of an apiVersion (`''` for the core group). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
