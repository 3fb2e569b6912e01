/**
 * Compiles a LIKE pattern (spec 3.4.3) once into a matcher: `%` is any sequence, `_` one character,
 * `\%` and `\_` the literal characters; a backslash before anything else is a literal backslash.
 * Patterns that are a plain string, a prefix, a suffix or an infix avoid the regular expression.
 */
export function compileLike(pattern: string): (text: string) => boolean {
  type Part = { wildcard: '%' | '_' } | { literal: string };
  const parts: Part[] = [];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    const next = chars[i + 1];
    if (ch === '\\' && (next === '%' || next === '_')) {
      parts.push({ literal: next });
      i++;
    } else if (ch === '%' || ch === '_') {
      parts.push({ wildcard: ch });
    } else {
      parts.push({ literal: ch });
    }
  }
  const isPercent = (part: Part | undefined) =>
    part !== undefined && 'wildcard' in part && part.wildcard === '%';
  const leading = isPercent(parts[0]);
  const trailing = parts.length > 1 && isPercent(parts[parts.length - 1]);
  const middle = parts.slice(leading ? 1 : 0, trailing ? parts.length - 1 : parts.length);
  if (middle.every((part) => 'literal' in part)) {
    const text = middle.map((part) => (part as { literal: string }).literal).join('');
    if (leading && trailing) return (s) => s.includes(text);
    if (leading) return (s) => s.endsWith(text);
    if (trailing) return (s) => s.startsWith(text);
    return (s) => s === text;
  }
  const source = parts
    .map((part) =>
      'literal' in part
        ? part.literal.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')
        : part.wildcard === '%'
          ? '.*'
          : '.',
    )
    .join('');
  // `s`: a wildcard also matches line breaks; `u`: `_` is one Unicode character, not one UTF-16 unit.
  const regex = new RegExp(`^${source}$`, 'su');
  return (s) => regex.test(s);
}
