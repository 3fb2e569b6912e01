/**
 * The path layout of a data plane that serves brokers, channels and built-in sinks on one port.
 *
 * Namespaces are DNS-1123 labels (`[a-z0-9-]`) and object names DNS-1123 subdomains, so a first
 * segment starting with `_` can never be a namespace: channels and sinks live under such prefixes.
 * Admin endpoints (`/healthz`, `/readyz`, `/metrics`) are single segments while every broker path
 * has two, so no namespace or name can shadow another address. URLs are printed with `pathOf` and
 * served through `classifyPath`, which are written against the same table.
 */
export type AddressKind = 'broker' | 'channel' | 'sink';

/** First segment of each kind's path (brokers have none: `/<namespace>/<name>`). */
const PREFIXES: Record<AddressKind, string> = { broker: '', channel: '_channels', sink: '_sinks' };

/** Path prefix under which channels are served: `/_channels/<namespace>/<name>`. */
export const CHANNELS_PATH = `/${PREFIXES.channel}/`;
/** Path prefix of the built-in sinks: `/_sinks/<sink>/<name>`. */
export const SINKS_PATH = `/${PREFIXES.sink}/`;

/** The path at which one addressable is served. */
export function pathOf(kind: AddressKind, namespace: string, name: string): string {
  const prefix = PREFIXES[kind];
  return prefix === '' ? `/${namespace}/${name}` : `/${prefix}/${namespace}/${name}`;
}

/** Where a request goes, or the status that says why it cannot go anywhere (B1). */
export type ClassifiedPath =
  | { ok: true; kind: AddressKind; namespace: string; name: string }
  | { ok: false; status: 400 | 404; reason: string };

const USAGE: Record<AddressKind, string> = {
  broker: '/<namespace>/<broker>',
  channel: `${CHANNELS_PATH}<namespace>/<channel>`,
  sink: `${SINKS_PATH}<sink>/<name>`,
};

/**
 * Splits a request URL into its kind, namespace (for sinks: the sink) and name. A trailing slash and
 * the query are ignored. Admin paths are not addresses: the service routes them before this.
 */
export function classifyPath(url: string): ClassifiedPath {
  let end = url.indexOf('?');
  if (end < 0) end = url.length;
  if (end > 1 && url.charCodeAt(end - 1) === 47 /* / */) end--;
  if (end <= 1)
    return { ok: false, status: 404, reason: 'no broker in the path: POST to /<namespace>/<broker>' };
  const parts = url.slice(1, end).split('/');
  let kind: AddressKind = 'broker';
  if (parts[0] === PREFIXES.channel) kind = 'channel';
  else if (parts[0] === PREFIXES.sink) kind = 'sink';
  if (kind !== 'broker') parts.shift();
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    return {
      ok: false,
      status: 400,
      reason: `malformed path '${url.slice(0, end)}': expected ${USAGE[kind]}`,
    };
  }
  return { ok: true, kind, namespace: parts[0]!, name: parts[1]! };
}
