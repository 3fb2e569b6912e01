import { Parser } from 'yaml';

/**
 * YAML collections nested deeper than this are refused before the document is composed:
 * composing recurses once per level, and running out of stack there can abort the process
 * instead of throwing. Resources and settings nest a few dozen levels at most.
 */
export const MAX_YAML_DEPTH = 100;

/** The deepest nesting of collections in a YAML text, measured on its CST without recursion. */
export function yamlNestingDepth(text: string): number {
  let max = 0;
  const stack: [token: unknown, depth: number][] = [];
  for (const token of new Parser().parse(text)) stack.push([token, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop() as [unknown, number];
    if (typeof token !== 'object' || token === null) continue;
    const t = token as { type?: string; value?: unknown; items?: { key?: unknown; value?: unknown }[] };
    const inner =
      t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection' ? depth + 1 : depth;
    max = Math.max(max, inner);
    if (t.value !== undefined) stack.push([t.value, depth]);
    for (const item of t.items ?? []) {
      if (item.key !== undefined) stack.push([item.key, inner]);
      if (item.value !== undefined) stack.push([item.value, inner]);
    }
  }
  return max;
}
