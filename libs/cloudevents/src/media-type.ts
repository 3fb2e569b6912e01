// Classification of Content-Type / datacontenttype values, memoised: the same few media types
// arrive on every request, so each distinct string is parsed once.

/** How a message's Content-Type selects the HTTP content mode. */
export enum ContentMode {
  Binary,
  Structured,
  Batch,
  UnsupportedFormat,
}

/** How `data` is rendered in the JSON event format, by datacontenttype (JSON format section 3.1). */
export enum DataKind {
  Json,
  Text,
  Binary,
}

interface Classification {
  mode: ContentMode;
  kind: DataKind;
}

const CACHE_LIMIT = 1024;
const cache = new Map<string, Classification>();

/** The media type without parameters, trimmed and lower-cased. */
export function essence(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

function classifyUncached(contentType: string): Classification {
  const media = essence(contentType);
  const slash = media.indexOf('/');
  const sub = slash === -1 ? '' : media.slice(slash + 1);
  let mode = ContentMode.Binary;
  if (media === 'application/cloudevents+json') mode = ContentMode.Structured;
  else if (media === 'application/cloudevents-batch+json') mode = ContentMode.Batch;
  else if (media.startsWith('application/cloudevents')) mode = ContentMode.UnsupportedFormat;
  let kind = DataKind.Binary;
  if (sub === 'json' || sub.endsWith('+json')) kind = DataKind.Json;
  else if (media.startsWith('text/') || sub === 'xml' || sub.endsWith('+xml')) kind = DataKind.Text;
  return { mode, kind };
}

function classify(contentType: string): Classification {
  let c = cache.get(contentType);
  if (c === undefined) {
    c = classifyUncached(contentType);
    if (cache.size < CACHE_LIMIT) cache.set(contentType, c);
  }
  return c;
}

/** The content mode a Content-Type header selects; no header means binary mode. */
export function contentModeOf(contentType: string | undefined): ContentMode {
  return contentType === undefined ? ContentMode.Binary : classify(contentType).mode;
}

/** How data with this datacontenttype is rendered in JSON; absent means application/json. */
export function dataKindOf(datacontenttype: unknown): DataKind {
  return typeof datacontenttype === 'string' ? classify(datacontenttype).kind : DataKind.Json;
}

/** True when the Content-Type is the JSON batch format, `application/cloudevents-batch+json` (unsupported, B7). */
export function isCloudEventsBatch(contentType: string | undefined): boolean {
  return contentModeOf(contentType) === ContentMode.Batch;
}
