// An RFC 6902 applier for the operations the webhook emits (add, remove, replace), used by tests as
// the oracle for patches; the integration tests let the real API server apply them.

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Applies add/remove/replace operations to a deep copy of `doc`; throws on a path that does not exist. */
export function applyJsonPatch(doc: unknown, ops: { op: string; path: string; value?: unknown }[]): unknown {
  let root = structuredClone(doc);
  for (const op of ops) {
    if (op.path === '') {
      if (op.op === 'remove') throw new Error('cannot remove the root');
      root = structuredClone(op.value);
      continue;
    }
    const tokens = op.path.slice(1).split('/').map(unescape);
    const last = tokens.pop()!;
    let parent: unknown = root;
    for (const t of tokens) {
      if (typeof parent !== 'object' || parent === null) throw new Error(`no such path: ${op.path}`);
      parent = Object.hasOwn(parent, t) ? (parent as Record<string, unknown>)[t] : undefined;
    }
    if (typeof parent !== 'object' || parent === null) throw new Error(`no such path: ${op.path}`);
    const container = parent as Record<string, unknown>;
    if (Array.isArray(parent)) throw new Error(`array element operations are not emitted: ${op.path}`);
    // defineProperty: a member named `__proto__` is data, as JSON.parse makes it.
    const set = () =>
      Object.defineProperty(container, last, {
        value: structuredClone(op.value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    if (op.op === 'add') set();
    else if (op.op === 'replace') {
      if (!Object.hasOwn(container, last)) throw new Error(`replace of a missing member: ${op.path}`);
      set();
    } else if (op.op === 'remove') {
      if (!Object.hasOwn(container, last)) throw new Error(`remove of a missing member: ${op.path}`);
      delete container[last];
    } else throw new Error(`unexpected op ${op.op}`);
  }
  return root;
}
