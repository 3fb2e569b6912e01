// Byte-level JSON scanning for structured mode: find the top-level `data` member of a body and check
// that it is one well-formed JSON value (RFC 8259) without building it. UTF-8 validity of the body is
// checked separately (node:buffer isUtf8), so bytes >= 0x80 are accepted inside strings here.

const isWs = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipWs(b: Uint8Array, i: number, end: number): number {
  while (i < end && isWs(b[i]!)) i++;
  return i;
}

/** Index just past the string opening at `i`, without checking its contents. */
function skipString(b: Uint8Array, i: number, end: number): number {
  for (i++; i < end; i++) {
    const c = b[i]!;
    if (c === 0x22) return i + 1;
    if (c === 0x5c) i++;
  }
  return end;
}

/** Index just past the value starting at `i`, trusting it to be well-formed. */
function skipValue(b: Uint8Array, i: number, end: number): number {
  const first = b[i];
  if (first === 0x22) return skipString(b, i, end);
  if (first === 0x7b || first === 0x5b) {
    let depth = 0;
    for (; i < end; i++) {
      const c = b[i]!;
      if (c === 0x22) i = skipString(b, i, end) - 1;
      else if (c === 0x7b || c === 0x5b) depth++;
      else if ((c === 0x7d || c === 0x5d) && --depth === 0) return i + 1;
    }
    return end;
  }
  while (i < end) {
    const c = b[i]!;
    if (c === 0x2c || c === 0x7d || c === 0x5d || isWs(c)) break;
    i++;
  }
  return i;
}

function isDataKey(b: Uint8Array, start: number, end: number): boolean {
  if (end - start === 6) {
    return (
      b[start + 1] === 0x64 &&
      b[start + 2] === 0x61 &&
      b[start + 3] === 0x74 &&
      b[start + 4] === 0x61 &&
      b[start + 5] === 0x22
    );
  }
  // Only an escaped spelling such as "d\u0061ta" can still name "data". The search stays inside the
  // key: searching the rest of the body from every key made a body of many keys quadratic.
  let i = start + 1;
  while (i < end && b[i] !== 0x5c) i++;
  if (i >= end) return false;
  try {
    return JSON.parse(Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8')) === 'data';
  } catch {
    return false;
  }
}

/**
 * Locates the value of the last top-level member named `data` in a JSON object text (the one JSON.parse
 * keeps) and checks it is well-formed. Returns [start, end) byte offsets, end -1 when the value is
 * malformed, or undefined when there is no such member. The other members are only skipped, not
 * checked: the caller parses them.
 */
export function findDataMember(b: Uint8Array): [number, number] | undefined {
  const end = b.length;
  let i = skipWs(b, 0, end);
  if (b[i] !== 0x7b) return undefined;
  let found: [number, number] | undefined;
  i++;
  while (i < end) {
    i = skipWs(b, i, end);
    if (b[i] !== 0x22) break;
    const keyStart = i;
    i = skipString(b, i, end);
    const isData = isDataKey(b, keyStart, i);
    i = skipWs(b, i, end);
    if (b[i] !== 0x3a) break;
    i = skipWs(b, i + 1, end);
    const valueStart = i;
    if (isData) {
      i = jsonValueEnd(b, i, end);
      if (i < 0) return [valueStart, -1];
      found = [valueStart, i];
    } else {
      i = skipValue(b, i, end);
    }
    i = skipWs(b, i, end);
    if (b[i] !== 0x2c) break;
    i++;
  }
  return found;
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
const isHexDigit = (c: number | undefined): boolean =>
  c !== undefined && ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66));

// Valid characters after a backslash in a JSON string: " \ / b f n r t (u is handled apart).
const SIMPLE_ESCAPE = new Uint8Array(128);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

/** Index past a well-formed string opening at `i`, or -1. */
function stringEnd(b: Uint8Array, i: number, end: number): number {
  for (i++; i < end; i++) {
    const c = b[i]!;
    if (c === 0x22) return i + 1;
    if (c < 0x20) return -1;
    if (c === 0x5c) {
      const e = b[++i];
      if (e === 0x75) {
        if (!isHexDigit(b[i + 1]) || !isHexDigit(b[i + 2]) || !isHexDigit(b[i + 3]) || !isHexDigit(b[i + 4]))
          return -1;
        i += 4;
      } else if (e === undefined || e >= 128 || SIMPLE_ESCAPE[e] === 0) {
        return -1;
      }
    }
  }
  return -1;
}

/** Index past a well-formed number at `i`: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?, or -1. */
function numberEnd(b: Uint8Array, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    if (!isDigit(b[++i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if ((b[i]! | 0x20) === 0x65) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

function literalEnd(b: Uint8Array, i: number, word: readonly number[]): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

let containers = new Uint8Array(64);

/**
 * Index just past the well-formed JSON value starting at `i` (no leading whitespace), or -1. A number
 * ending at `end` is read up to the first non-number byte, so pass the end of the whole text.
 */
export function jsonValueEnd(b: Uint8Array, i: number, end: number): number {
  let depth = 0;
  for (;;) {
    // A value at i.
    const c = b[i];
    if (c === 0x7b || c === 0x5b) {
      i = skipWs(b, i + 1, end);
      if (b[i] === c + 2) {
        i++; // empty {} or []
      } else {
        if (depth === containers.length) {
          const grown = new Uint8Array(depth * 2);
          grown.set(containers);
          containers = grown;
        }
        containers[depth++] = c;
        if (c === 0x7b) {
          if (b[i] !== 0x22 || (i = stringEnd(b, i, end)) < 0) return -1;
          i = skipWs(b, i, end);
          if (b[i] !== 0x3a) return -1;
          i = skipWs(b, i + 1, end);
        }
        continue;
      }
    } else if (c === 0x22) {
      i = stringEnd(b, i, end);
    } else if (c === 0x74) {
      i = literalEnd(b, i, TRUE);
    } else if (c === 0x66) {
      i = literalEnd(b, i, FALSE);
    } else if (c === 0x6e) {
      i = literalEnd(b, i, NULL);
    } else {
      i = numberEnd(b, i);
    }
    if (i < 0 || i > end) return -1;
    // After a value: close containers or move to the next element.
    for (;;) {
      if (depth === 0) return i;
      i = skipWs(b, i, end);
      const open = containers[depth - 1]!;
      const next = b[i];
      if (next === open + 2) {
        depth--;
        i++;
        continue;
      }
      if (next !== 0x2c) return -1;
      i = skipWs(b, i + 1, end);
      if (open === 0x7b) {
        if (b[i] !== 0x22 || (i = stringEnd(b, i, end)) < 0) return -1;
        i = skipWs(b, i, end);
        if (b[i] !== 0x3a) return -1;
        i = skipWs(b, i + 1, end);
      }
      break;
    }
  }
}

/** True when `b` holds exactly one well-formed JSON value, optionally surrounded by whitespace. */
export function isJsonValue(b: Uint8Array): boolean {
  const end = b.length;
  const i = jsonValueEnd(b, skipWs(b, 0, end), end);
  return i >= 0 && i <= end && skipWs(b, i, end) === end;
}
