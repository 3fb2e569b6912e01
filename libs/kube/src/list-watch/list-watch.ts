import type { Logger } from '@eventing/runtime';
import { type ApiStatus, KubeApiError, type KubeClient } from '../client/kube-client';
import { apiVersionOf, collectionPath, type WatchedKind } from '../client/kinds';
import { Backoff, sleep } from './backoff';

/** An object as the API server returns it; only `metadata` is looked at here. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** A change to the cache: an object added or changed, or one gone. */
export interface ListWatchEvent {
  type: 'upsert' | 'delete';
  object: KubeObject;
}

/** Options of a ListWatch. */
export interface ListWatchOptions {
  /** Objects per list page (`limit`). Default 500. */
  pageSize?: number;
  /**
   * A watch that has said nothing (no event, no bookmark) for this long is taken for dead and opened
   * again. The API server sends a bookmark about every minute. Default 90 s.
   */
  watchdogMs?: number;
  /** First delay after a failed request; doubles per failure. Default 500 ms. */
  backoffInitialMs?: number;
  /** The longest delay between attempts. Default 30 s. */
  backoffMaxMs?: number;
  /** The server ends each watch after a random time in [min, 2·min) seconds. Default 300. */
  watchTimeoutSeconds?: number;
  logger?: Logger;
  /**
   * Keep objects without `metadata.managedFields` and kubectl's last-applied copy (`trimmed`): for
   * caches whose readers never look at them (the controller's). Default false: objects as served.
   */
  trim?: boolean;
}

/** What one ListWatch did so far. */
export interface ListWatchStats {
  /** Complete lists (every page), the first one included. */
  lists: number;
  /** Lists after the first: after a 410 Gone or a failed list. */
  relists: number;
  /** Watches opened. */
  watches: number;
  /** Watches the API server answered with 410 Gone (expired resourceVersion). */
  gone: number;
  /** Watches closed by the watchdog after a silence. */
  watchdogRestarts: number;
  /** Failed requests and broken connections. */
  errors: number;
}

type WatchOutcome = 'ended' | 'gone' | 'silent' | 'failed';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A local cache of one kind (optionally one namespace, label and field selector) kept by a
 * list-then-watch loop: list (in pages), watch from the list's resourceVersion with bookmarks, relist
 * on 410 Gone and emit what changed meanwhile, reopen a silent watch, and retry every failure with a
 * capped backoff until `stop()`. The cache holds one copy of each object.
 */
export class ListWatch {
  readonly stats: ListWatchStats = {
    lists: 0,
    relists: 0,
    watches: 0,
    gone: 0,
    watchdogRestarts: 0,
    errors: 0,
  };
  /** The last error seen (cleared by the next successful list), for readiness messages. */
  lastError: string | undefined;

  private readonly cache = new Map<string, KubeObject>();
  private readonly keep: (object: KubeObject) => KubeObject;
  private readonly path: string;
  private readonly apiVersion: string;
  private readonly pageSize: number;
  private readonly watchdogMs: number;
  private readonly watchTimeoutSeconds: number;
  private readonly backoff: Backoff;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private resourceVersion = '';
  private loop: Promise<void> | undefined;
  private syncedOnce = false;
  private readonly firstSync: Promise<void>;
  private markSynced!: () => void;

  constructor(
    private readonly client: KubeClient,
    readonly target: WatchedKind,
    private readonly onEvent: (event: ListWatchEvent) => void,
    options: ListWatchOptions = {},
  ) {
    this.path = collectionPath(target, target.namespace);
    this.apiVersion = apiVersionOf(target);
    this.pageSize = options.pageSize ?? 500;
    this.watchdogMs = options.watchdogMs ?? 90_000;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.backoff = new Backoff(options.backoffInitialMs ?? 500, options.backoffMaxMs ?? 30_000);
    this.logger = options.logger ?? quiet;
    this.keep = options.trim === true ? trimmed : (object) => object;
    this.firstSync = new Promise((done) => (this.markSynced = done));
  }

  /** Starts the loop (once). */
  start(): this {
    this.loop ??= this.run();
    return this;
  }

  /** Ends the loop and the open watch; the cache stays as it was. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  /** Resolves once the first list has filled the cache. */
  synced(): Promise<void> {
    return this.firstSync;
  }

  get hasSynced(): boolean {
    return this.syncedOnce;
  }

  /** The cached object, or undefined. */
  get(namespace: string, name: string): KubeObject | undefined {
    return this.cache.get(`${namespace}/${name}`);
  }

  /** Every cached object. */
  values(): IterableIterator<KubeObject> {
    return this.cache.values();
  }

  get size(): number {
    return this.cache.size;
  }

  /**
   * Takes the copy a write returned into the cache (and emits it) when the cache still holds the copy
   * the write was based on (`basedOn` resourceVersion, same uid); otherwise the watch brings the news.
   * Returns whether it was taken.
   */
  accept(object: KubeObject, basedOn: string): boolean {
    const key = keyOf(object);
    const cached = this.cache.get(key);
    if (cached === undefined) return false;
    if (cached.metadata.resourceVersion !== basedOn || cached.metadata.uid !== object.metadata.uid)
      return false;
    if (object.metadata.resourceVersion === basedOn) return true;
    this.withType(object);
    this.cache.set(key, this.keep(object));
    this.emit('upsert', object);
    return true;
  }

  private async run(): Promise<void> {
    let needList = true;
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.list();
          needList = false;
        }
        const outcome = await this.watchOnce();
        if (signal.aborted) break;
        switch (outcome) {
          case 'gone':
            this.stats.gone++;
            needList = true;
            break;
          case 'silent':
            this.stats.watchdogRestarts++;
            this.logger.warn(this.fields(), 'watch silent too long; opening it again');
            break;
          case 'failed':
            await sleep(this.backoff.next(), signal);
            break;
          case 'ended':
            break;
        }
      } catch (err) {
        if (signal.aborted) break;
        this.stats.errors++;
        this.lastError = (err as Error).message;
        this.logger.warn({ ...this.fields(), error: this.lastError }, 'list failed; retrying');
        await sleep(this.backoff.next(), signal);
      }
    }
  }

  /** Lists every page, then makes the cache equal to the result and emits the difference. */
  private async list(): Promise<void> {
    const fresh = new Map<string, KubeObject>();
    let resourceVersion = '';
    let next: string | undefined;
    let restarts = 0;
    do {
      const response = await this.client.request('GET', this.path, {
        purpose: 'list',
        query: {
          limit: this.pageSize,
          continue: next,
          labelSelector: this.target.labelSelector,
          fieldSelector: this.target.fieldSelector,
        },
        signal: this.stopping.signal,
      });
      if (response.status === 410 && next !== undefined && restarts++ < 3) {
        // The continue token expired between pages: list again from the start.
        fresh.clear();
        next = undefined;
        continue;
      }
      if (response.status === 404 && (response.body as ApiStatus | undefined)?.kind !== 'Status') {
        const t = this.target;
        throw new Error(
          `${t.plural}${t.group ? '.' + t.group : ''}/${t.version} is not served by the API server (is its CRD installed?)`,
        );
      }
      if (response.status !== 200) throw KubeApiError.of('GET', this.path, response);
      const page = response.body as {
        metadata?: { resourceVersion?: string; continue?: string };
        items?: KubeObject[];
      };
      for (const item of page.items ?? []) {
        this.withType(item);
        fresh.set(keyOf(item), item);
      }
      if (next === undefined) resourceVersion = page.metadata?.resourceVersion ?? '';
      next = page.metadata?.continue || undefined;
    } while (next !== undefined);

    if (this.stats.lists > 0) this.stats.relists++;
    this.stats.lists++;
    this.resourceVersion = resourceVersion;
    this.lastError = undefined;
    this.backoff.reset();
    for (const [key, object] of fresh) {
      const cached = this.cache.get(key);
      if (cached !== undefined && cached.metadata.resourceVersion === object.metadata.resourceVersion)
        continue;
      this.cache.set(key, this.keep(object));
      this.emit('upsert', object);
    }
    for (const [key, cached] of this.cache) {
      if (fresh.has(key)) continue;
      this.cache.delete(key);
      this.emit('delete', cached);
    }
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      this.markSynced();
    }
  }

  /** One watch from the last resourceVersion, until it ends, fails, goes silent or says 410. */
  private async watchOnce(): Promise<WatchOutcome> {
    const controller = new AbortController();
    const onStop = () => controller.abort();
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    let silent = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent = true;
        controller.abort();
      }, this.watchdogMs);
    };
    arm();
    const opened = Date.now();
    const generation = this.client.generation;
    let received = false;
    try {
      this.stats.watches++;
      const stream = await this.client.watch(
        this.path,
        {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.watchTimeoutSeconds + Math.floor(Math.random() * this.watchTimeoutSeconds),
          labelSelector: this.target.labelSelector,
          fieldSelector: this.target.fieldSelector,
        },
        controller.signal,
      );
      if (stream.status === 410) return 'gone';
      if (stream.status !== 200) {
        this.fail(
          KubeApiError.of('GET', `${this.path}?watch=true`, { status: stream.status, body: stream.error }),
        );
        return 'failed';
      }
      for await (const line of stream.lines) {
        arm();
        const outcome = this.apply(line);
        if (outcome !== undefined) return outcome;
        received = true;
      }
      if (silent) return 'silent';
      // A watch the server ends at once, with nothing said, is retried after a backoff, not in a loop.
      return !received && Date.now() - opened < 1_000 ? 'failed' : 'ended';
    } catch (err) {
      if (silent) return 'silent';
      if (this.stopping.signal.aborted) return 'ended';
      this.fail(err as Error);
      return 'failed';
    } finally {
      clearTimeout(timer);
      controller.abort();
      // Over HTTP/2 a silent connection carries every other request too: give it up.
      if (silent) this.client.resetConnections(generation);
      this.stopping.signal.removeEventListener('abort', onStop);
      // A watch that worked for a while earns a fresh backoff; one failing at once keeps growing it.
      if (received || Date.now() - opened > 10_000) this.backoff.reset();
    }
  }

  /** Applies one watch line to the cache; returns an outcome when the watch must end. */
  private apply(line: string): WatchOutcome | undefined {
    let event: { type?: string; object?: KubeObject };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      this.fail(new Error(`undecodable watch event: ${line.slice(0, 200)}`));
      return 'failed';
    }
    const object = event.object;
    if (object === undefined || typeof object !== 'object') return undefined;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        this.withType(object);
        this.resourceVersion = object.metadata?.resourceVersion ?? this.resourceVersion;
        const key = keyOf(object);
        const cached = this.cache.get(key);
        if (cached !== undefined && cached.metadata.resourceVersion === object.metadata.resourceVersion)
          return;
        this.cache.set(key, this.keep(object));
        this.emit('upsert', object);
        return;
      }
      case 'DELETED': {
        this.withType(object);
        this.resourceVersion = object.metadata?.resourceVersion ?? this.resourceVersion;
        const key = keyOf(object);
        if (!this.cache.delete(key)) return;
        this.emit('delete', object);
        return;
      }
      case 'BOOKMARK':
        this.resourceVersion = object.metadata?.resourceVersion ?? this.resourceVersion;
        return;
      case 'ERROR': {
        const status = object as unknown as ApiStatus;
        if (status.code === 410) return 'gone';
        this.fail(
          new Error(`watch error ${status.code ?? '?'} ${status.reason ?? ''}: ${status.message ?? ''}`),
        );
        return 'failed';
      }
      default:
        return undefined;
    }
  }

  private emit(type: ListWatchEvent['type'], object: KubeObject): void {
    try {
      this.onEvent({ type, object });
    } catch (err) {
      this.logger.error({ ...this.fields(), error: (err as Error).message }, 'watch handler threw');
    }
  }

  private fail(err: Error): void {
    this.stats.errors++;
    this.lastError = err.message;
    this.logger.warn({ ...this.fields(), error: err.message }, 'watch failed; retrying');
  }

  /** List items come without apiVersion and kind; every cached object has them. */
  private withType(object: KubeObject): void {
    object.apiVersion ??= this.apiVersion;
    object.kind ??= this.target.kind;
  }

  private fields(): Record<string, string> {
    const t = this.target;
    return { resource: `${t.plural}${t.group ? '.' + t.group : ''}`, namespace: t.namespace ?? '' };
  }
}

function keyOf(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/** kubectl's copy of what it last applied: a whole second copy of the object, read by nobody here. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The object as the cache keeps it: without `metadata.managedFields` and kubectl's last-applied copy,
 * which together are often larger than the object itself and which no reconciler reads (server-side
 * apply tracks ownership on the server). Changed in place: the parsed object is ours.
 */
export function trimmed<T extends KubeObject>(object: T): T {
  const metadata = object.metadata as KubeObject['metadata'] & {
    managedFields?: unknown;
    annotations?: Record<string, string>;
  };
  if (metadata.managedFields !== undefined) delete metadata.managedFields;
  if (metadata.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _dropped, ...rest } = metadata.annotations;
    metadata.annotations = rest;
  }
  return object;
}
