import { isDeepStrictEqual } from 'node:util';
import type { Resource } from '@eventing/api';
import type { MemoryResourceStore } from '../store/memory-store';
import { groupOf, resourceKey } from '../store/store';
import { loadResourceDir, type LoadResult } from './yaml-loader';

/** What one read of the folder changed in the store. */
export interface FolderSync extends LoadResult {
  /** Resources the folder no longer holds, removed from the store. */
  removed: Resource[];
  /** Whether the ConfigMaps (address book, broker configs, defaults) differ from the last read. */
  configChanged: boolean;
}

/**
 * Makes the in-process store hold what a folder of YAML holds: applies every resource read (the
 * store bumps generation only on a spec change, and tells watchers only of real changes) and
 * removes what the folder no longer holds. Children a controller created (they carry an owner
 * reference) are the controller's, not the folder's, and are left alone.
 */
export class FolderSource {
  private lastConfigMaps: LoadResult['configMaps'] | undefined;

  constructor(
    private readonly dir: string,
    private readonly store: MemoryResourceStore,
  ) {}

  /** Reads the folder once. */
  read(): LoadResult {
    return loadResourceDir(this.dir);
  }

  /** Applies one read of the folder (`read()`'s result, or a fresh read) to the store. */
  sync(loaded: LoadResult = this.read()): FolderSync {
    const keep = new Set<string>();
    for (const resource of loaded.resources) {
      keep.add(resourceKey(resource));
      this.store.apply(resource);
    }
    const removed: Resource[] = [];
    for (const existing of this.store.all()) {
      if (keep.has(resourceKey(existing))) continue;
      if ((existing.metadata.ownerReferences ?? []).length > 0) continue;
      const { namespace = 'default', name = '' } = existing.metadata;
      if (this.store.remove(groupOf(existing.apiVersion), existing.kind, namespace, name))
        removed.push(existing);
    }
    const configChanged =
      this.lastConfigMaps !== undefined && !isDeepStrictEqual(this.lastConfigMaps, loaded.configMaps);
    this.lastConfigMaps = loaded.configMaps;
    return { ...loaded, removed, configChanged };
  }
}
