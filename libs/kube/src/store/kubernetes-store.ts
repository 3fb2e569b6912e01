import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Resource } from '@eventing/api';
import {
  groupOf,
  resourceKey,
  type ResourceStore,
  type StoreEvent,
  type WriteResult,
} from '@eventing/reconciler';
import type { Logger } from '@eventing/runtime';
import {
  APPLY_PATCH,
  type ApiStatus,
  JSON_PATCH,
  KubeApiError,
  KubeClient,
  type KubeClientOptions,
} from '../client/kube-client';
import { apiVersionOf, objectPath, type WatchedKind } from '../client/kinds';
import {
  type KubeObject,
  ListWatch,
  type ListWatchEvent,
  type ListWatchOptions,
} from '../list-watch/list-watch';

/** Options of a KubernetesResourceStore. */
export interface KubernetesStoreOptions {
  /** The kinds to cache (see `controllerKinds`); only these can be read or written. */
  kinds: readonly WatchedKind[];
  /** The field manager named by server-side apply. Default `eventing-controller`. */
  fieldManager?: string;
  /** Options of every kind's list-watch loop. */
  listWatch?: Omit<ListWatchOptions, 'logger'>;
  client?: KubeClientOptions;
  logger?: Logger;
}

interface KindEntry {
  kind: WatchedKind;
  loops: ListWatch[];
  handlers: Set<(event: StoreEvent) => void>;
  /** The kind's resources sorted by key, made on demand and dropped on every change. */
  sorted: Resource[] | undefined;
}

/** A write to a kind the store was not told about. */
export class KindNotWatchedError extends Error {
  constructor(group: string, kind: string) {
    super(
      `kind ${kind}${group ? '.' + group : ''} is not among the store's kinds: add it to the kinds the KubernetesResourceStore watches`,
    );
    this.name = 'KindNotWatchedError';
  }
}

/**
 * The ResourceStore over a Kubernetes API server: one list-watch cache per kind (reads are served from
 * them), watches fanned out from them, and writes through the API — status through the status
 * subresource with the resource's resourceVersion, owned children by server-side apply, finalizers by
 * a JSON patch that tests what the caller saw. Call `start()` first and `stop()` at the end.
 */
export class KubernetesResourceStore implements ResourceStore {
  readonly client: KubeClient;
  private readonly entries = new Map<string, KindEntry>();
  private readonly fieldManager: string;
  private started = false;

  constructor(config: KubeConfig, options: KubernetesStoreOptions) {
    this.client = new KubeClient(config, options.client);
    this.fieldManager = options.fieldManager ?? 'eventing-controller';
    for (const kind of options.kinds) {
      const id = `${kind.group}/${kind.kind}`;
      let entry = this.entries.get(id);
      if (entry === undefined) {
        entry = { kind, loops: [], handlers: new Set(), sorted: undefined };
        this.entries.set(id, entry);
      }
      const target = entry;
      const loop = new ListWatch(this.client, kind, (event) => this.dispatch(target, event), {
        // No reconciler reads managedFields or kubectl's last-applied copy: the cache does without.
        trim: true,
        ...options.listWatch,
        logger: options.logger,
      });
      entry.loops.push(loop);
    }
  }

  /** Starts every kind's list-watch loop. */
  start(): this {
    if (!this.started) {
      this.started = true;
      for (const entry of this.entries.values()) for (const loop of entry.loops) loop.start();
    }
    return this;
  }

  /** Stops every loop and closes the connections. */
  async stop(): Promise<void> {
    await Promise.all([...this.entries.values()].flatMap((e) => e.loops.map((l) => l.stop())));
    await this.client.close();
  }

  /** Every list-watch loop, for their stats and last errors. */
  loops(): ListWatch[] {
    return [...this.entries.values()].flatMap((e) => e.loops);
  }

  /** The kinds whose cache has not been filled yet, with the last error of each (for readiness). */
  unsynced(): { kind: string; error: string | undefined }[] {
    return this.loops()
      .filter((l) => !l.hasSynced)
      .map((l) => ({
        kind: `${l.target.plural}${l.target.group ? '.' + l.target.group : ''}`,
        error: l.lastError,
      }));
  }

  list(kind: string, group?: string): Resource[] {
    if (group !== undefined) return [...this.sortedOf(this.entries.get(`${group}/${kind}`))];
    const out: Resource[] = [];
    for (const entry of this.entries.values())
      if (entry.kind.kind === kind) out.push(...this.sortedOf(entry));
    return out.sort((a, b) => resourceKey(a).localeCompare(resourceKey(b)));
  }

  get(group: string, kind: string, namespace: string, name: string): Resource | undefined {
    const entry = this.entries.get(`${group}/${kind}`);
    if (entry === undefined) return undefined;
    for (const loop of entry.loops) {
      const found = loop.get(namespace, name);
      if (found !== undefined) return found as unknown as Resource;
    }
    return undefined;
  }

  watch(kind: string, group: string, handler: (event: StoreEvent) => void): () => void {
    const entry = this.entries.get(`${group}/${kind}`);
    if (entry === undefined) throw new KindNotWatchedError(group, kind);
    entry.handlers.add(handler);
    for (const resource of this.sortedOf(entry)) handler({ type: 'upsert', resource });
    return () => entry.handlers.delete(handler);
  }

  synced(): Promise<void> {
    return Promise.all(this.loops().map((l) => l.synced())).then(() => undefined);
  }

  async updateStatus(resource: Resource, status: unknown): Promise<WriteResult> {
    const { entry, namespace, name } = this.locate(resource);
    const cached = this.get(entry.kind.group, entry.kind.kind, namespace, name);
    const resourceVersion = resource.metadata.resourceVersion ?? cached?.metadata.resourceVersion;
    if (cached !== undefined) {
      // The cache already holds a newer copy: the server would say the same.
      if (cached.metadata.uid !== resource.metadata.uid) return 'conflict';
      if (cached.metadata.resourceVersion !== resourceVersion) return 'conflict';
      if (isDeepStrictEqual(cached.status, status)) return 'ok';
    }
    // Only what identifies the object and the status: the status subresource ignores the rest anyway.
    const metadata: Record<string, unknown> = { name, resourceVersion, uid: resource.metadata.uid };
    if (entry.kind.namespaced) metadata['namespace'] = namespace;
    const path = objectPath(entry.kind, namespace, name, 'status');
    const response = await this.client.request('PUT', path, {
      purpose: 'write',
      body: { apiVersion: apiVersionOf(entry.kind), kind: entry.kind.kind, metadata, status },
    });
    switch (response.status) {
      case 200:
      case 201:
        this.accept(entry, response.body as KubeObject, resourceVersion);
        return 'ok';
      case 409:
        return 'conflict';
      case 404:
        return 'gone';
      default:
        throw KubeApiError.of('PUT', path, response);
    }
  }

  async applyChild(resource: Resource): Promise<Resource> {
    const { entry, namespace, name } = this.locate(resource);
    const { status: _status, metadata, ...rest } = resource;
    const {
      uid: _uid,
      resourceVersion: _rv,
      generation: _generation,
      creationTimestamp: _created,
      deletionTimestamp: _deleted,
      managedFields: _managed,
      selfLink: _selfLink,
      ...kept
    } = metadata as Record<string, unknown>;
    const path = objectPath(entry.kind, namespace, name);
    const response = await this.client.request('PATCH', path, {
      purpose: 'write',
      query: { fieldManager: this.fieldManager, force: true },
      contentType: APPLY_PATCH,
      body: { ...rest, apiVersion: resource.apiVersion, kind: resource.kind, metadata: kept },
    });
    if (response.status !== 200 && response.status !== 201) throw KubeApiError.of('PATCH', path, response);
    return response.body as Resource;
  }

  async delete(group: string, kind: string, namespace: string, name: string): Promise<boolean> {
    const entry = this.entryOf(group, kind);
    const path = objectPath(entry.kind, namespace, name);
    const response = await this.client.request('DELETE', path, {
      purpose: 'write',
      query: { propagationPolicy: 'Background' },
    });
    if (response.status === 404) return false;
    if (response.status === 200 || response.status === 202) return true;
    throw KubeApiError.of('DELETE', path, response);
  }

  async setFinalizer(resource: Resource, finalizer: string, present: boolean): Promise<WriteResult> {
    const { entry, namespace, name } = this.locate(resource);
    const seen = resource.metadata.finalizers ?? [];
    if (seen.includes(finalizer) === present) return 'ok';
    const next = present ? [...seen, finalizer] : seen.filter((f) => f !== finalizer);
    // The patch applies only to what the caller saw: the same object (uid) with the same finalizers
    // (or, when it had none, the same resourceVersion). Anything else is a conflict, never a clobber.
    const patch: object[] = [{ op: 'test', path: '/metadata/uid', value: resource.metadata.uid }];
    if (seen.length > 0) patch.push({ op: 'test', path: '/metadata/finalizers', value: seen });
    else
      patch.push({ op: 'test', path: '/metadata/resourceVersion', value: resource.metadata.resourceVersion });
    if (next.length === 0) patch.push({ op: 'remove', path: '/metadata/finalizers' });
    else patch.push({ op: seen.length > 0 ? 'replace' : 'add', path: '/metadata/finalizers', value: next });
    const path = objectPath(entry.kind, namespace, name);
    const response = await this.client.request('PATCH', path, {
      purpose: 'write',
      contentType: JSON_PATCH,
      body: patch,
    });
    switch (response.status) {
      case 200:
        this.accept(entry, response.body as KubeObject, resource.metadata.resourceVersion);
        return 'ok';
      case 404:
        return 'gone';
      case 409:
        return 'conflict';
      case 422:
        // A `test` that failed: the API server answers a patch it could not apply with a bare 422
        // (no causes); an invalid result would name its fields.
        if (!hasCauses(response.body)) return 'conflict';
        throw KubeApiError.of('PATCH', path, response);
      default:
        throw KubeApiError.of('PATCH', path, response);
    }
  }

  private dispatch(entry: KindEntry, event: ListWatchEvent): void {
    entry.sorted = undefined;
    if (entry.handlers.size === 0) return;
    const storeEvent: StoreEvent = { type: event.type, resource: event.object as unknown as Resource };
    for (const handler of entry.handlers) handler(storeEvent);
  }

  private accept(entry: KindEntry, object: KubeObject, basedOn: string | undefined): void {
    if (basedOn === undefined || object?.metadata === undefined) return;
    for (const loop of entry.loops) if (loop.accept(object, basedOn)) return;
  }

  private sortedOf(entry: KindEntry | undefined): Resource[] {
    if (entry === undefined) return [];
    if (entry.sorted === undefined) {
      const all: Resource[] = [];
      for (const loop of entry.loops) for (const o of loop.values()) all.push(o as unknown as Resource);
      const keyed = all.map((r) => [resourceKey(r), r] as const);
      keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      entry.sorted = keyed.map(([, r]) => r);
    }
    return entry.sorted;
  }

  private entryOf(group: string, kind: string): KindEntry {
    const entry = this.entries.get(`${group}/${kind}`);
    if (entry === undefined) throw new KindNotWatchedError(group, kind);
    return entry;
  }

  private locate(resource: Resource): { entry: KindEntry; namespace: string; name: string } {
    const entry = this.entryOf(groupOf(resource.apiVersion), resource.kind);
    const name = resource.metadata.name;
    if (!name) throw new Error(`${resource.kind}: metadata.name is required to write it`);
    const namespace = entry.kind.namespaced ? (resource.metadata.namespace ?? '') : '';
    if (entry.kind.namespaced && !namespace)
      throw new Error(`${resource.kind} ${name}: metadata.namespace is required to write it`);
    return { entry, namespace, name };
  }
}

function hasCauses(body: unknown): boolean {
  const details = (body as ApiStatus | undefined)?.details as { causes?: unknown[] } | undefined;
  return (details?.causes?.length ?? 0) > 0;
}
