import type { CloudEvent } from '@eventing/cloudevents';
import type { CompiledFilter, TriggerIndexKeys } from '@eventing/filters';

/** One trigger as the index sees it. */
export interface IndexedRoute {
  id: string;
  filter: CompiledFilter;
  keys: TriggerIndexKeys;
}

interface PrefixGroup {
  length: number;
  byPrefix: Map<string, CompiledRoute[]>;
}

interface CompiledRoute {
  id: string;
  filter: CompiledFilter;
}

/**
 * Finds the triggers an event matches without evaluating every trigger: each trigger sits in one
 * bucket — its exact `type`, else its exact `source`, else its `type` prefix, else one exact
 * extension value, else the unindexed list — and only the buckets an event can hit are evaluated.
 * Built once per contract change.
 */
export class TriggerIndex {
  private readonly byType = new Map<string, CompiledRoute[]>();
  private readonly bySource = new Map<string, CompiledRoute[]>();
  private readonly prefixes: PrefixGroup[] = [];
  /** Extension name → its value → routes. */
  private readonly byExtension = new Map<string, Map<string, CompiledRoute[]>>();
  private readonly unindexed: CompiledRoute[] = [];
  readonly size: number;

  constructor(routes: readonly IndexedRoute[]) {
    this.size = routes.length;
    const prefixGroups = new Map<number, Map<string, CompiledRoute[]>>();
    for (const { id, filter, keys } of routes) {
      const route = { id, filter };
      if (keys.type !== undefined) push(this.byType, keys.type, route);
      else if (keys.source !== undefined) push(this.bySource, keys.source, route);
      else if (keys.typePrefix !== undefined && keys.typePrefix !== '') {
        let group = prefixGroups.get(keys.typePrefix.length);
        if (group === undefined) prefixGroups.set(keys.typePrefix.length, (group = new Map()));
        push(group, keys.typePrefix, route);
      } else if (keys.extensions !== undefined && Object.keys(keys.extensions).length > 0) {
        const [name, value] = Object.entries(keys.extensions)[0]!;
        let byValue = this.byExtension.get(name);
        if (byValue === undefined) this.byExtension.set(name, (byValue = new Map()));
        push(byValue, value, route);
      } else this.unindexed.push(route);
    }
    for (const [length, byPrefix] of prefixGroups) this.prefixes.push({ length, byPrefix });
    this.prefixes.sort((a, b) => a.length - b.length);
  }

  /** Ids of the triggers whose filter matches the event, each at most once. */
  match(event: CloudEvent): string[] {
    const out: string[] = [];
    const attributes = event.attributes;
    const type = String(attributes.type);
    matchAll(this.byType.get(type), event, out);
    if (this.bySource.size > 0) matchAll(this.bySource.get(String(attributes.source)), event, out);
    for (let i = 0; i < this.prefixes.length; i++) {
      const group = this.prefixes[i] as PrefixGroup;
      if (group.length > type.length) break;
      matchAll(group.byPrefix.get(type.slice(0, group.length)), event, out);
    }
    if (this.byExtension.size > 0) {
      for (const [name, byValue] of this.byExtension) {
        const value = attributes[name];
        if (value !== undefined) matchAll(byValue.get(String(value)), event, out);
      }
    }
    matchAll(this.unindexed, event, out);
    return out;
  }
}

function push(map: Map<string, CompiledRoute[]>, key: string, route: CompiledRoute): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [route]);
  else list.push(route);
}

function matchAll(routes: CompiledRoute[] | undefined, event: CloudEvent, out: string[]): void {
  if (routes === undefined) return;
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i] as CompiledRoute;
    if (route.filter.match(event)) out.push(route.id);
  }
}
