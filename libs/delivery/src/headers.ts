/**
 * Whether a header travels with an event from hop to hop (CONFORMANCE B11, 2.9): `x-request-id`,
 * `retry-after`, `traceparent`, `tracestate`, and any `knative-*` or `x-b3-*`. `ce-*` headers are not
 * passthrough: they are the event itself.
 */
export const PASSTHROUGH_HEADERS = (name: string): boolean => {
  const n = name.length > 0 && hasUpper(name) ? name.toLowerCase() : name;
  return (
    n.startsWith('knative-') ||
    n.startsWith('x-b3-') ||
    n === 'x-request-id' ||
    n === 'traceparent' ||
    n === 'tracestate' ||
    n === 'retry-after'
  );
};

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

/** The passthrough subset of a header map, names lower-cased, repeated values joined with ", ". */
export function pickPassthroughHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    if (!PASSTHROUGH_HEADERS(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    out[name.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  }
  return out;
}
