// The NATS protocol binding (bindings/nats-protocol-binding.md) as the Go SDK's JetStream binding
// (protocol/nats_jetstream/v2) writes and reads it: binary mode puts every attribute, datacontenttype
// included, in a `ce-<name>` header (3.1.3.1) as its text, raw UTF-8 with no percent-encoding; the
// payload is the data. Structured mode puts the JSON event format in the payload; we add
// `content-type: application/cloudevents+json`, which the spec's mode rule (section 3) looks for and the
// Go SDK, which sets no header at all there, ignores.
//
// Header values are strings here: the NATS clients (nats.js, nats.go) carry them as UTF-8 text.

import {
  AttributeHeaders,
  INVALID_NAME,
  type MessageContentMode,
  NOT_AN_ATTRIBUTE,
  binaryEvent,
  bufferOf,
  failure,
  headerText,
  invalidNameFailure,
} from './binary-headers';
import { type AttributeValue, type CloudEvent } from './event';
import { type ParseResult, parseStructuredBody, structuredBody } from './json-format';
import { ContentMode, contentModeOf } from './media-type';

/** A NATS message carrying a CloudEvent, as written by `toNatsMessage`. */
export interface NatsMessage {
  /** Header name -> value, to set on the client's headers (`headers().set(name, value)` in nats.js). */
  headers: Record<string, string>;
  /** The payload: the data in binary mode (the event's own buffer, empty when it has none), else the JSON event. */
  data: Uint8Array;
}

/**
 * Message headers as NATS clients deliver them: nats.js `MsgHdrs` (iterable as name -> values), any
 * iterable of [name, value or values] pairs, or an object by name (as nats.go's `nats.Header`).
 */
export type NatsHeaders =
  | Iterable<readonly [string, string | readonly string[]]>
  | { readonly [name: string]: string | readonly string[] | undefined };

/** Content type of structured-mode messages written by this binding. */
export const NATS_STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';

const CONTENT_TYPE = 'content-type';
const EMPTY = new Uint8Array(0);
const headerNames = new AttributeHeaders('ce-');

/**
 * Writes an event as a NATS message: binary mode (default) as `ce-` headers holding each value's text,
 * `ce-datacontenttype` included, and the data as the payload (not copied); or structured mode.
 */
export function toNatsMessage(event: CloudEvent, mode: MessageContentMode = 'binary'): NatsMessage {
  if (mode === 'structured') {
    return { headers: { [CONTENT_TYPE]: NATS_STRUCTURED_CONTENT_TYPE }, data: structuredBody(event) };
  }
  const headers: Record<string, string> = {};
  const a = event.attributes;
  for (const name in a) headers[headerNames.headerOf(name)] = headerText(a[name]!);
  return { headers, data: event.data ?? EMPTY };
}

interface CollectedHeaders {
  contentType: string | undefined;
  attributes: Record<string, string>; // Object.create(null): any attribute name is a plain key
  invalidHeader: string | undefined;
}

function collect(headers: NatsHeaders | null | undefined): CollectedHeaders {
  const out: CollectedHeaders = {
    contentType: undefined,
    attributes: Object.create(null) as Record<string, string>,
    invalidHeader: undefined,
  };
  if (headers === null || headers === undefined) return out;
  // The first value of a name counts, as nats.go's Header.Get and the Go SDK's reader take it.
  const take = (name: string, value: string | readonly string[] | undefined): void => {
    const v = typeof value === 'string' ? value : value?.[0];
    if (v === undefined) return;
    const attribute = headerNames.attributeOf(name);
    if (attribute === NOT_AN_ATTRIBUTE) {
      if (out.contentType === undefined && name.length === 12 && name.toLowerCase() === CONTENT_TYPE)
        out.contentType = v;
    } else if (attribute === INVALID_NAME) {
      out.invalidHeader ??= name;
    } else if (!(attribute in out.attributes)) {
      out.attributes[attribute] = v;
    }
  };
  if (Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<readonly [string, string | readonly string[]]>)
      take(name, value);
  } else {
    const byName = headers as { readonly [name: string]: string | readonly string[] | undefined };
    for (const name in byName) take(name, byName[name]);
  }
  return out;
}

/**
 * Reads a NATS message into a CloudEvent, validated as parseHttp validates. Structured mode when
 * `content-type` is application/cloudevents+json, and also when there is neither a `ce-specversion` nor a
 * `content-type` header (the Go SDK writes structured messages with no headers); otherwise binary mode.
 * Header names match in any case (the NATS header design says so); a repeated name counts by its first
 * value; values are taken exactly, never percent-decoded, as the Go SDK writes them. datacontenttype
 * is `ce-datacontenttype`, or `content-type` when that is absent.
 */
export function parseNatsMessage(
  headers: NatsHeaders | null | undefined,
  data: Uint8Array | null | undefined,
): ParseResult {
  const h = collect(headers);
  const payload = data === null || data === undefined || data.length === 0 ? undefined : bufferOf(data);
  switch (contentModeOf(h.contentType)) {
    case ContentMode.Binary:
      break;
    case ContentMode.Structured:
      return parseStructuredBody(payload);
    case ContentMode.Batch:
      return failure('batch mode is not supported (content type application/cloudevents-batch+json)');
    default:
      return failure(
        `unsupported event format "${h.contentType}": only application/cloudevents+json is supported`,
      );
  }
  if (h.attributes.specversion === undefined && h.contentType === undefined) {
    const r = parseStructuredBody(payload);
    if (r.ok) return r;
    return failure(
      `not a CloudEvent: no ce-specversion header, and as structured mode (no content-type header, as the Go SDK writes it): ${r.reason}`,
      r.attribute ?? 'specversion',
    );
  }
  if (h.invalidHeader !== undefined) return invalidNameFailure(h.invalidHeader);
  const attributes: Record<string, AttributeValue> = {};
  for (const name in h.attributes) attributes[name] = h.attributes[name]!;
  if (attributes.datacontenttype === undefined && h.contentType !== undefined)
    attributes.datacontenttype = h.contentType;
  return binaryEvent(
    attributes,
    payload,
    'no ce-specversion header, and the content type is not application/cloudevents+json',
  );
}
