/** Where an ingress request is addressed: a broker, or an HTTP status explaining why not (B1). */
export type BrokerPath =
  { ok: true; namespace: string; name: string } | { ok: false; status: 400 | 404; reason: string };

/** Splits `/<namespace>/<broker>` (trailing slash tolerated, query ignored). */
export function parseBrokerPath(url: string): BrokerPath {
  let end = url.indexOf('?');
  if (end < 0) end = url.length;
  if (end > 1 && url.charCodeAt(end - 1) === 47 /* / */) end--;
  if (end <= 1)
    return { ok: false, status: 404, reason: 'no broker in the path: POST to /<namespace>/<broker>' };
  const parts = url.slice(1, end).split('/');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    return {
      ok: false,
      status: 400,
      reason: `malformed path '${url.slice(0, end)}': expected /<namespace>/<broker>`,
    };
  }
  return { ok: true, namespace: parts[0]!, name: parts[1]! };
}
