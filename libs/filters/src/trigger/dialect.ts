import type { SubscriptionsApiFilter } from './types';

/** Which dialect one `filters[]` element is evaluated with, or why it is skipped. */
export type Dialect =
  | { kind: 'exact' | 'prefix' | 'suffix'; entries: [string, string][] }
  | { kind: 'all' | 'any'; filters: SubscriptionsApiFilter[] }
  | { kind: 'not'; filter: SubscriptionsApiFilter }
  | { kind: 'cesql'; expression: string }
  | { kind: 'skip'; reason: string };

const nonEmptyMap = (map: Record<string, string> | undefined): map is Record<string, string> =>
  map != null && Object.keys(map).length > 0;

/**
 * Picks the dialect of one element the way upstream materialises it: the first set one in the
 * order exact, prefix, suffix, all, any, not, cesql (the webhook rejects objects with several).
 * An element with no dialect, or an attribute dialect with an empty key or value, is skipped.
 */
export function dialectOf(filter: SubscriptionsApiFilter | null | undefined): Dialect {
  if (filter == null || typeof filter !== 'object') return { kind: 'skip', reason: 'no dialect set' };
  for (const kind of ['exact', 'prefix', 'suffix'] as const) {
    const map = filter[kind];
    if (nonEmptyMap(map)) {
      const entries = Object.entries(map);
      const bad = entries.find(([key, value]) => key === '' || typeof value !== 'string' || value === '');
      if (bad)
        return {
          kind: 'skip',
          reason: `${kind} has an empty attribute name or value (${JSON.stringify(bad[0])})`,
        };
      return { kind, entries };
    }
  }
  if (filter.all != null && filter.all.length > 0) return { kind: 'all', filters: filter.all };
  if (filter.any != null && filter.any.length > 0) return { kind: 'any', filters: filter.any };
  if (filter.not != null) return { kind: 'not', filter: filter.not };
  if (typeof filter.cesql === 'string' && filter.cesql !== '')
    return { kind: 'cesql', expression: filter.cesql };
  return { kind: 'skip', reason: 'no dialect set' };
}
