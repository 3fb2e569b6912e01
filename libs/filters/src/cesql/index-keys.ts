import type { TriggerIndexKeys } from '../trigger/types';
import type { CesqlNode } from './ast';
import { parseTree } from './parser';

/**
 * Routing-index keys implied by a CESQL expression: conjuncts of the top-level AND chain of the form
 * `<attribute> = '…'` or `type LIKE '<prefix>%…'`. For the expression to be true, every
 * conjunct must be true, so a matching event carries these values. Anything else pins nothing.
 */
export function cesqlIndexKeys(expression: string): TriggerIndexKeys {
  const keys: TriggerIndexKeys = {};
  let tree: CesqlNode;
  try {
    tree = parseTree(expression);
  } catch {
    return keys;
  }
  collect(tree, keys);
  return keys;
}

function collect(node: CesqlNode, keys: TriggerIndexKeys): void {
  if (node.kind === 'binary' && node.operator === 'AND') {
    collect(node.left, keys);
    collect(node.right, keys);
    return;
  }
  if (node.kind === 'binary' && node.operator === '=') {
    const pair = attributeAndString(node.left, node.right) ?? attributeAndString(node.right, node.left);
    if (pair === undefined) return;
    if (pair.name === 'type' || pair.name === 'source') {
      if (keys[pair.name] === undefined) keys[pair.name] = pair.value;
    } else {
      keys.extensions ??= {};
      keys.extensions[pair.name] ??= pair.value;
    }
    return;
  }
  if (
    node.kind === 'like' &&
    !node.negated &&
    node.operand.kind === 'attribute' &&
    node.operand.name === 'type'
  ) {
    const prefix = literalPrefix(node.pattern);
    if (prefix.length === node.pattern.length) {
      if (keys.type === undefined) keys.type = prefix;
    } else if (prefix.length > (keys.typePrefix?.length ?? 0)) {
      keys.typePrefix = prefix;
    }
  }
}

function attributeAndString(a: CesqlNode, b: CesqlNode): { name: string; value: string } | undefined {
  if (a.kind === 'attribute' && b.kind === 'literal' && typeof b.value === 'string')
    return { name: a.name, value: b.value };
  return undefined;
}

/** The part of a LIKE pattern before its first wildcard or escape. */
function literalPrefix(pattern: string): string {
  let end = 0;
  while (end < pattern.length && pattern[end] !== '%' && pattern[end] !== '_' && pattern[end] !== '\\') end++;
  return pattern.slice(0, end);
}
