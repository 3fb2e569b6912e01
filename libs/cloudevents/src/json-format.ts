// The JSON event format (formats/json-format.md) on our CloudEvent value: attributes are JSON
// members; `data` is bytes in memory and rendered per datacontenttype as a JSON value, a string,
// or `data_base64` (`data` + `datacontentencoding: base64` in 0.3).

import { isUtf8 } from 'node:buffer';
import { isAttributeName, validateEvent } from './attributes';
import { type AttributeValue, type CloudEvent } from './event';
import { findDataMember, isJsonValue } from './json-scan';
import { DataKind, dataKindOf } from './media-type';

/** Result of reading an event: the validated event, or why not and which attribute is at fault. */
export type ParseResult = { ok: true; event: CloudEvent } | { ok: false; reason: string; attribute?: string };

/** Media type of structured-mode bodies written by this library. */
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

// Data buffers known to hold valid JSON text (sliced from a body JSON.parse accepted), so writing them
// back as a raw JSON member needs no second parse.
const validJson = new WeakSet<Buffer>();

function isValidJson(data: Buffer): boolean {
  return validJson.has(data) || (isUtf8(data) && isJsonValue(data));
}

// ---- reading ----

const failure = (reason: string, attribute?: string): ParseResult =>
  attribute === undefined ? { ok: false, reason } : { ok: false, reason, attribute };

// Characters of base64 (RFC 4648 section 4, and the URL-safe alphabet of section 5).
const BASE64_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_')
  BASE64_CHAR[c.charCodeAt(0)] = 1;

/**
 * True when `s` is base64: alphabet characters, then at most two '=', whitespace anywhere. Buffer.from
 * skips anything else without a word, so a malformed value would become other bytes than were sent.
 */
function isBase64(s: string): boolean {
  let padding = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (c === 0x3d) {
      if (++padding > 2) return false;
    } else if (padding > 0 || c >= 128 || BASE64_CHAR[c] === 0) {
      return false;
    }
  }
  return true;
}

/**
 * Builds an event from a parsed JSON-format object. With `rawData` (the exact, already checked bytes of
 * the `data` member, whose value in `json` is a placeholder), JSON data is kept byte for byte;
 * without, it is re-serialised from `json.data`.
 */
function eventFromJson(json: unknown, rawData: Buffer | undefined): ParseResult {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return failure('a CloudEvent in the JSON format must be a JSON object');
  }
  const members = json as Record<string, unknown>;
  const attributes: Record<string, AttributeValue> = {};
  let hasData = false;
  let dataValue: unknown;
  let base64: unknown;
  for (const key in members) {
    const value = members[key];
    if (key === 'data') {
      hasData = true;
      dataValue = value;
      continue;
    }
    if (key === 'data_base64') {
      base64 = value;
      continue;
    }
    if (value === null) continue; // null means unset (JSON format section 2.2)
    if (!isAttributeName(key)) {
      return failure(
        `attribute "${key}" has an invalid name: attribute names are lower-case ASCII letters and digits`,
        key,
      );
    }
    const t = typeof value;
    if (t !== 'string' && t !== 'number' && t !== 'boolean') {
      return failure(
        `attribute "${key}" must be a string, boolean or integer, got ${Array.isArray(value) ? 'array' : t}`,
        key,
      );
    }
    attributes[key] = value as AttributeValue;
  }
  const event: CloudEvent = { attributes, data: undefined };
  const err = validateEvent(event);
  if (err !== undefined) return { ok: false, reason: err.reason, attribute: err.attribute };

  if (base64 !== undefined && base64 !== null) {
    if (hasData) return failure('attribute "data" must not be present together with "data_base64"', 'data');
    if (typeof base64 !== 'string' || !isBase64(base64))
      return failure('attribute "data_base64" must be a base64 string', 'data_base64');
    event.data = Buffer.from(base64, 'base64');
    return { ok: true, event };
  }
  if (!hasData) return { ok: true, event };

  const kind = dataKindOf(attributes.datacontenttype);
  const base64In03 = attributes.specversion === '0.3' && attributes.datacontentencoding === 'base64';
  if (rawData !== undefined) {
    if (kind === DataKind.Json && !base64In03) {
      validJson.add(rawData);
      event.data = rawData;
      return { ok: true, event };
    }
    dataValue = JSON.parse(rawData.toString('utf8'));
  }
  if (base64In03) {
    if (typeof dataValue !== 'string' || !isBase64(dataValue)) {
      return failure('attribute "data" must be a base64 string when datacontentencoding is base64', 'data');
    }
    event.data = Buffer.from(dataValue, 'base64');
    return { ok: true, event };
  }
  if (kind !== DataKind.Json) {
    if (typeof dataValue === 'string') {
      event.data = Buffer.from(dataValue, 'utf8');
      return { ok: true, event };
    }
    if (dataValue === null) return { ok: true, event };
  }
  // JSON data, or a non-string value under a non-JSON type: the JSON text of the value.
  const text = rawData ?? Buffer.from(JSON.stringify(dataValue), 'utf8');
  validJson.add(text);
  event.data = text;
  return { ok: true, event };
}

/**
 * Reads a structured-mode body (`application/cloudevents+json`). The `data` member is found and checked
 * in one pass of a byte scanner and kept as a view into `body`; only the attributes go through JSON.parse.
 */
export function parseStructuredBody(body: Buffer | undefined): ParseResult {
  if (body === undefined || body.length === 0) return failure('structured mode: the body is empty');
  if (!isUtf8(body)) return failure('structured mode: the body is not UTF-8');
  const span = findDataMember(body);
  let rawData: Buffer | undefined;
  let text: string;
  if (span === undefined) {
    text = body.toString('utf8');
  } else {
    if (span[1] < 0)
      return failure('structured mode: attribute "data" is not a well-formed JSON value', 'data');
    rawData = body.subarray(span[0], span[1]);
    // The members around `data` are parsed with a placeholder in its place.
    text = body.toString('utf8', 0, span[0]) + 'null' + body.toString('utf8', span[1]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return failure(`structured mode: the body is not valid JSON (${(e as Error).message})`);
  }
  return eventFromJson(json, rawData);
}

/** Reads an event in the JSON event format from an already parsed JSON value, validated. */
export function fromJsonFormat(json: unknown): ParseResult {
  return eventFromJson(json, undefined);
}

// ---- writing ----

const enum DataMember {
  None,
  RawJson,
  Text,
  Base64,
  Base64In03Data,
}

/** How an event's data is rendered, and whether a 0.3 event needs `datacontentencoding: base64` added. */
function dataMember(event: CloudEvent): { member: DataMember; addEncoding: boolean } {
  const data = event.data;
  if (data === undefined) return { member: DataMember.None, addEncoding: false };
  const a = event.attributes;
  const v03 = a.specversion === '0.3';
  if (v03 && a.datacontentencoding === 'base64')
    return { member: DataMember.Base64In03Data, addEncoding: false };
  const kind = dataKindOf(a.datacontenttype);
  if (kind === DataKind.Json && isValidJson(data)) return { member: DataMember.RawJson, addEncoding: false };
  if (kind === DataKind.Text && isUtf8(data)) return { member: DataMember.Text, addEncoding: false };
  if (!v03) return { member: DataMember.Base64, addEncoding: false };
  // 0.3 has no data_base64: UTF-8 goes as a string, anything else needs datacontentencoding.
  return isUtf8(data)
    ? { member: DataMember.Text, addEncoding: false }
    : { member: DataMember.Base64In03Data, addEncoding: true };
}

const CLOSE_BRACE = 0x7d;

/** Renders an event as a JSON-format body (structured mode), copying data bytes once at most. */
export function structuredBody(event: CloudEvent): Buffer {
  const { member, addEncoding } = dataMember(event);
  const attrs = JSON.stringify(
    addEncoding ? Object.assign({}, event.attributes, { datacontentencoding: 'base64' }) : event.attributes,
  );
  if (member === DataMember.None) return Buffer.from(attrs, 'utf8');
  const data = event.data!;
  // `attrs` ends with '}'; reopen it to append the data member.
  const head = attrs.length > 2 ? attrs.slice(0, -1) + ',' : '{';
  switch (member) {
    case DataMember.RawJson: {
      const prefix = head + '"data":';
      const headLen = Buffer.byteLength(prefix, 'utf8');
      const out = Buffer.allocUnsafe(headLen + data.length + 1);
      out.write(prefix, 0, 'utf8');
      data.copy(out, headLen);
      out[headLen + data.length] = CLOSE_BRACE;
      return out;
    }
    case DataMember.Text:
      return Buffer.from(head + '"data":' + JSON.stringify(data.toString('utf8')) + '}', 'utf8');
    case DataMember.Base64:
      return Buffer.from(head + '"data_base64":"' + data.toString('base64') + '"}', 'utf8');
    default:
      return Buffer.from(head + '"data":"' + data.toString('base64') + '"}', 'utf8');
  }
}

/** Renders an event as a JSON-format object (for files, CLIs and tests); data per datacontenttype. */
export function toJsonFormat(event: CloudEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const a = event.attributes;
  for (const name in a) out[name] = a[name];
  const { member, addEncoding } = dataMember(event);
  const data = event.data;
  if (data === undefined) return out;
  if (addEncoding) out.datacontentencoding = 'base64';
  switch (member) {
    case DataMember.RawJson:
      out.data = JSON.parse(data.toString('utf8'));
      break;
    case DataMember.Text:
      out.data = data.toString('utf8');
      break;
    case DataMember.Base64:
      out.data_base64 = data.toString('base64');
      break;
    default:
      out.data = data.toString('base64');
  }
  return out;
}
