// JSON Patch (RFC 6902) from one JSON document to another, as a mutating webhook answers.

export type JsonPatchOperation =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Escapes one reference token of a JSON Pointer (RFC 6901 §3): `~` → `~0`, `/` → `~1`. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Deep equality of JSON values (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * The operations that turn `from` into `to`: objects are compared key by key (remove, add, recurse);
 * arrays and scalars that differ are replaced whole. The patch touches only what differs, so a
 * field another webhook set meanwhile is left alone unless this one changes it too.
 */
export function createJsonPatch(from: unknown, to: unknown, path = ''): JsonPatchOperation[] {
  const ops: JsonPatchOperation[] = [];
  diff(from, to, path, ops);
  return ops;
}

function diff(from: unknown, to: unknown, path: string, ops: JsonPatchOperation[]): void {
  if (isObject(from) && isObject(to)) {
    for (const key of Object.keys(from)) {
      if (!Object.hasOwn(to, key) || to[key] === undefined) {
        if (from[key] !== undefined) ops.push({ op: 'remove', path: `${path}/${escapePointerToken(key)}` });
      }
    }
    for (const [key, value] of Object.entries(to)) {
      if (value === undefined) continue;
      const child = `${path}/${escapePointerToken(key)}`;
      if (!Object.hasOwn(from, key) || from[key] === undefined) ops.push({ op: 'add', path: child, value });
      else diff(from[key], value, child, ops);
    }
    return;
  }
  if (!jsonEqual(from, to)) ops.push({ op: 'replace', path, value: to });
}
