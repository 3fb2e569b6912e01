import {
  matchesLabelSelector,
  parseLabelSelectorString,
  type ApiServerAdapterConfig,
  type LabelSelector,
} from '@eventing/api';
import type { KubeObjectLike, ObjectChangeType } from './events';

/** One change of a watched object, as an adapter hears of it. */
export interface ObjectChange {
  type: ObjectChangeType;
  object: KubeObjectLike;
}

/**
 * Where an ApiServerSource adapter hears of changes: the API server (list-then-watch) or the
 * in-process store of standalone mode. `start` resolves once every watch has its first list:
 * what existed then is not reported (upstream's adapter ignores the initial list), only what
 * changes afterwards.
 */
export interface ObjectFeed {
  start(onChange: (change: ObjectChange) => void): Promise<void>;
  stop(): Promise<void>;
}

/** One kind (in one namespace, or all) to list and watch. */
export interface WatchTarget {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** Undefined: every namespace. */
  namespace?: string;
  labelSelector?: string;
}

/** What a list-then-watch loop reports: an object added or changed, or gone. */
export interface WatchLoopEvent {
  type: 'upsert' | 'delete';
  object: KubeObjectLike;
}

/** A list-then-watch loop over one target (libs/kube's ListWatch has this shape). */
export interface WatchLoop {
  start(): unknown;
  stop(): Promise<void>;
  synced(): Promise<void>;
}

/** Makes the loop of one target; its events go to `onEvent`. */
export type WatchLoopFactory = (target: WatchTarget, onEvent: (event: WatchLoopEvent) => void) => WatchLoop;

function objectKey(object: KubeObjectLike): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/**
 * Tells additions from updates: an object seen before is updated. Until `ready`, objects are only
 * remembered (the first list). The set holds one key per object the loop holds.
 */
class Seen {
  private readonly keys = new Set<string>();
  ready = false;

  constructor(private readonly emit: (change: ObjectChange) => void) {}

  on(event: WatchLoopEvent): void {
    const key = objectKey(event.object);
    if (event.type === 'delete') {
      if (this.keys.delete(key) && this.ready) this.emit({ type: 'delete', object: event.object });
      return;
    }
    const known = this.keys.has(key);
    this.keys.add(key);
    if (this.ready) this.emit({ type: known ? 'update' : 'add', object: event.object });
  }
}

/**
 * A feed over list-then-watch loops, one per target. A relist after the watch expired reports
 * what changed meanwhile (its loop emits the difference), so nothing is missed and nothing is
 * reported twice.
 */
export class ListWatchFeed implements ObjectFeed {
  private readonly loops: WatchLoop[] = [];

  constructor(
    private readonly targets: readonly WatchTarget[],
    private readonly makeLoop: WatchLoopFactory,
  ) {}

  async start(onChange: (change: ObjectChange) => void): Promise<void> {
    const seen: Seen[] = [];
    for (const target of this.targets) {
      const s = new Seen(onChange);
      seen.push(s);
      const loop = this.makeLoop(target, (e) => s.on(e));
      this.loops.push(loop);
      loop.start();
    }
    await Promise.all(
      this.loops.map((loop, i) =>
        loop.synced().then(() => {
          (seen[i] as Seen).ready = true;
        }),
      ),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.loops.splice(0).map((l) => l.stop()));
  }
}

/** The part of a resource store (libs/reconciler's ResourceStore) a store feed reads. */
export interface WatchableStore {
  watch(
    kind: string,
    group: string,
    handler: (event: { type: 'upsert' | 'delete'; resource: KubeObjectLike }) => void,
  ): () => void;
}

/**
 * A feed over an in-process store (standalone mode): the store's watch of each kind, narrowed to
 * the configured namespaces and label selectors. The store replays what it holds when a watch
 * starts; that replay is the first list, and is not reported.
 */
export class StoreFeed implements ObjectFeed {
  private readonly unwatch: (() => void)[] = [];

  constructor(
    private readonly store: WatchableStore,
    private readonly config: ApiServerAdapterConfig,
  ) {}

  start(onChange: (change: ObjectChange) => void): Promise<void> {
    const namespaces = new Set(this.config.namespaces);
    for (const resource of this.config.resources) {
      const selector: LabelSelector | undefined =
        resource.selector !== undefined ? parseLabelSelectorString(resource.selector) : undefined;
      const seen = new Seen(onChange);
      this.unwatch.push(
        this.store.watch(resource.kind, resource.gvr.Group, (e) => {
          const object = e.resource;
          if (!this.config.allNamespaces && !namespaces.has(object.metadata?.namespace ?? '')) return;
          // An object whose labels no longer match leaves the selection, as a selector watch reports it.
          const selected = selector === undefined || matchesLabelSelector(selector, object.metadata?.labels);
          seen.on({ type: selected ? e.type : 'delete', object });
        }),
      );
      seen.ready = true;
    }
    return Promise.resolve();
  }

  stop(): Promise<void> {
    for (const off of this.unwatch.splice(0)) off();
    return Promise.resolve();
  }
}
