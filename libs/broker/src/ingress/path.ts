import { classifyPath } from '../addresses';

/** Where an ingress request is addressed: a broker, or an HTTP status explaining why not (B1). */
export type BrokerPath =
  { ok: true; namespace: string; name: string } | { ok: false; status: 400 | 404; reason: string };

/** Splits `/<namespace>/<broker>` (trailing slash tolerated, query ignored); other addresses are 404. */
export function parseBrokerPath(url: string): BrokerPath {
  const path = classifyPath(url);
  if (!path.ok) return path;
  if (path.kind !== 'broker')
    return {
      ok: false,
      status: 404,
      reason: `no broker is served at '${url}': POST to /<namespace>/<broker>`,
    };
  return { ok: true, namespace: path.namespace, name: path.name };
}
