// The HTTP protocol binding (bindings/http-protocol-binding.md): binary mode maps attributes to
// `ce-` headers and datacontenttype to Content-Type with the body as data; structured mode carries
// the JSON event format. Batch mode is not supported (B7).

import { validateEvent } from './attributes';
import { type AttributeValue, type CloudEvent, type HttpMessage } from './event';
import {
  type ParseResult,
  STRUCTURED_CONTENT_TYPE,
  parseStructuredBody,
  structuredBody,
} from './json-format';
import { ContentMode, contentModeOf } from './media-type';
import { type HeaderEncoding, headerValueEncoder, textOfHeaderValue } from './header-encoding';
import { decodeHeaderValue } from './percent';

const CACHE_LIMIT = 4096;

// `ce-<name>` header -> attribute name, for names already seen to be valid.
const attributeOfHeader = new Map<string, string>();
// attribute name -> `ce-<name>` header.
const headerOfAttribute = new Map<string, string>();

/** The attribute a `ce-` header carries (lower-cased), or undefined when the name is not a valid attribute name. */
function attributeNameOf(header: string): string | undefined {
  const cached = attributeOfHeader.get(header);
  if (cached !== undefined) return cached;
  const n = header.length;
  if (n === 3) return undefined;
  for (let i = 3; i < n; i++) {
    const c = header.charCodeAt(i) | 0x20; // header names are case-insensitive
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39))) return undefined;
  }
  const name = header.slice(3).toLowerCase();
  if (attributeOfHeader.size < CACHE_LIMIT) attributeOfHeader.set(header, name);
  return name;
}

function headerNameOf(attribute: string): string {
  let h = headerOfAttribute.get(attribute);
  if (h === undefined) {
    h = 'ce-' + attribute;
    if (headerOfAttribute.size < CACHE_LIMIT) headerOfAttribute.set(attribute, h);
  }
  return h;
}

const failure = (reason: string, attribute?: string): ParseResult =>
  attribute === undefined ? { ok: false, reason } : { ok: false, reason, attribute };

const first = (v: string | string[] | undefined): string | undefined => (typeof v === 'string' ? v : v?.[0]);

function parseBinary(
  headers: Record<string, string | string[] | undefined>,
  contentType: string | undefined,
  body: Buffer | undefined,
): ParseResult {
  const attributes: Record<string, AttributeValue> = {};
  for (const header in headers) {
    // Node delivers lower-case names; a `ce-` prefix in another case is still accepted below.
    if (
      (header.charCodeAt(0) | 0x20) !== 0x63 ||
      (header.charCodeAt(1) | 0x20) !== 0x65 ||
      header.charCodeAt(2) !== 0x2d
    ) {
      continue;
    }
    const raw = first(headers[header]);
    if (raw === undefined) continue;
    const name = attributeNameOf(header);
    if (name === undefined) {
      const attribute = header.slice(3).toLowerCase();
      return failure(
        `attribute "${attribute}" (header "${header}") has an invalid name: attribute names are lower-case ASCII letters and digits`,
        attribute,
      );
    }
    // Both header forms are read: raw UTF-8 bytes (the Go SDK, 'upstream') and percent-encoding (3.1.3.2).
    const text = textOfHeaderValue(raw);
    if (text === undefined) return failure(`attribute "${name}" has header bytes that are not UTF-8`, name);
    const value = decodeHeaderValue(text);
    if (value === undefined)
      return failure(`attribute "${name}" has percent-encoded bytes that are not UTF-8`, name);
    attributes[name] = value;
  }
  if (attributes.specversion === undefined) {
    return failure(
      'not a CloudEvent: attribute "specversion" is required (no ce-specversion header, and the content type is not structured)',
      'specversion',
    );
  }
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  const event: CloudEvent = { attributes, data: body !== undefined && body.length > 0 ? body : undefined };
  const err = validateEvent(event);
  if (err !== undefined) return { ok: false, reason: err.reason, attribute: err.attribute };
  return { ok: true, event };
}

/** Reads an HTTP request/response (binary or structured mode) into a CloudEvent, validated. Header names must be lower-case, as Node delivers them. */
export function parseHttp(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer | undefined,
): ParseResult {
  const contentType = first(headers['content-type']);
  switch (contentModeOf(contentType)) {
    case ContentMode.Binary:
      return parseBinary(headers, contentType, body);
    case ContentMode.Structured:
      return parseStructuredBody(body);
    case ContentMode.Batch:
      return failure('batch mode is not supported (content type application/cloudevents-batch+json)');
    default:
      return failure(
        `unsupported event format "${contentType}": only application/cloudevents+json is supported`,
      );
  }
}

/**
 * Binary mode: attributes as `ce-` headers in the given header form (default 'upstream', as the Go SDK
 * writes them; 'percent' per 3.1.3.2), datacontenttype as Content-Type, data as the body (not copied).
 * Header values are latin1 strings, one char per wire byte, as undici and node:http write them.
 */
export function toBinary(event: CloudEvent, encoding: HeaderEncoding = 'upstream'): HttpMessage {
  const encode = headerValueEncoder(encoding);
  const headers: Record<string, string> = {};
  const a = event.attributes;
  for (const name in a) {
    const v = a[name]!;
    if (name === 'datacontenttype') headers['content-type'] = String(v);
    else headers[headerNameOf(name)] = typeof v === 'string' ? encode(v) : String(v);
  }
  return { headers, body: event.data };
}

/**
 * Binary mode as {@link toBinary}, the headers appended to `out` as name, value pairs (the flat list
 * undici and node:http take) instead of built into an object; returns the body.
 */
export function pushBinaryHeaders(
  event: CloudEvent,
  encoding: HeaderEncoding,
  out: string[],
): Buffer | undefined {
  const encode = headerValueEncoder(encoding);
  const a = event.attributes;
  for (const name in a) {
    const v = a[name]!;
    if (name === 'datacontenttype') out.push('content-type', String(v));
    else out.push(headerNameOf(name), typeof v === 'string' ? encode(v) : String(v));
  }
  return event.data;
}

/** Structured mode: the JSON event format with `content-type: application/cloudevents+json; charset=utf-8`. */
export function toStructured(event: CloudEvent): HttpMessage {
  return { headers: { 'content-type': STRUCTURED_CONTENT_TYPE }, body: structuredBody(event) };
}
