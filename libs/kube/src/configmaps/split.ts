import { createHash } from 'node:crypto';

/** The data of one ConfigMap that holds part of a document. */
export type ConfigMapData = Record<string, string>;

/** One ConfigMap of a split document: its name and data. */
export interface ConfigMapPart {
  name: string;
  data: ConfigMapData;
}

/** Options of splitIntoConfigMaps. */
export interface SplitOptions {
  /** The data key holding each part's share of the document. Default `data`. */
  key?: string;
}

/** The data key holding `<index>/<count>`. */
export const PART_KEY = 'part';
/** The data key holding the SHA-256 (hex) of the whole document, the same in every part. */
export const DIGEST_KEY = 'digest';

/** Kubernetes' limit on a ConfigMap's data: 1 MiB. */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;
/** Room left in each part for its name, metadata and the other keys. */
const OVERHEAD = 4096;

/** The name of part `index` of `name`: the first is `name` itself, then `name-1`, `name-2`... */
export function partName(name: string, index: number): string {
  return index === 0 ? name : `${name}-${index}`;
}

/**
 * Splits a document (JSON or any text) into ConfigMaps whose data stays under `maxBytes` each
 * (default: the 1 MiB limit less room for metadata). Parts are cut between UTF-8 characters; each
 * names its place (`part: i/n`) and the digest of the whole, so a reader can tell a complete set of
 * one version from a mix of two (ConfigMap volumes of a pod are updated one by one).
 */
export function splitIntoConfigMaps(
  name: string,
  document: string,
  maxBytes = CONFIGMAP_MAX_BYTES - OVERHEAD,
  options: SplitOptions = {},
): ConfigMapPart[] {
  const key = options.key ?? 'data';
  if (key === PART_KEY || key === DIGEST_KEY) throw new Error(`split: the data key cannot be '${key}'`);
  const bytes = Buffer.from(document, 'utf8');
  const digest = createHash('sha256').update(bytes).digest('hex');
  // What the other keys take in each part: `part` holds at most "<n>/<n>" with n < 10^6.
  const room = maxBytes - key.length - PART_KEY.length - DIGEST_KEY.length - digest.length - 13;
  if (room < 4) throw new Error(`split: maxBytes ${maxBytes} leaves no room for data`);
  const chunks: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(bytes.length, start + room);
    // Never end inside a UTF-8 sequence: back up over continuation bytes (10xxxxxx).
    if (end < bytes.length) while (end > start && (bytes[end]! & 0xc0) === 0x80) end--;
    chunks.push(bytes.toString('utf8', start, end));
    start = end;
  }
  if (chunks.length === 0) chunks.push('');
  return chunks.map((chunk, i) => ({
    name: partName(name, i),
    data: { [key]: chunk, [PART_KEY]: `${i}/${chunks.length}`, [DIGEST_KEY]: digest },
  }));
}

/** Why reassembling failed. */
export class IncompleteDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompleteDocumentError';
  }
}

/**
 * Puts a split document together from the data of the ConfigMaps a reader has (in any order, extra
 * and stale parts allowed): the parts of the digest part 0 names. Throws IncompleteDocumentError when
 * a part of that version is missing or the result does not match the digest — read again later.
 */
export function reassembleConfigMaps(parts: readonly ConfigMapData[], options: SplitOptions = {}): string {
  const key = options.key ?? 'data';
  const first = parts.find((p) => parsePart(p)?.index === 0);
  if (first === undefined) throw new IncompleteDocumentError('no first part (part: 0/<n>)');
  const digest = first[DIGEST_KEY];
  const count = parsePart(first)!.count;
  const ordered: string[] = new Array<string>(count);
  for (const p of parts) {
    if (p[DIGEST_KEY] !== digest) continue;
    const place = parsePart(p);
    if (place === undefined || place.count !== count || place.index >= count) continue;
    ordered[place.index] = p[key] ?? '';
  }
  for (let i = 0; i < count; i++)
    if (ordered[i] === undefined)
      throw new IncompleteDocumentError(`part ${i} of ${count} (digest ${digest}) is missing`);
  const document = ordered.join('');
  const actual = createHash('sha256').update(document, 'utf8').digest('hex');
  if (actual !== digest) throw new IncompleteDocumentError(`the parts do not add up to digest ${digest}`);
  return document;
}

function parsePart(data: ConfigMapData): { index: number; count: number } | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(data[PART_KEY] ?? '');
  if (!m) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return index < count ? { index, count } : undefined;
}
