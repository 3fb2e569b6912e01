// Binary content mode for the message bindings whose header values are text as they stand (Kafka, NATS):
// header names <-> attribute names, and the checks every binary-mode message goes through.

import { isAttributeName, validateEvent } from './attributes';
import { type AttributeValue, type CloudEvent } from './event';
import { type ParseResult } from './json-format';

/** The content modes the Kafka and NATS bindings write: batch mode is defined by neither. */
export type MessageContentMode = 'binary' | 'structured';

const CACHE_LIMIT = 4096;

/** What a header name carries in binary mode: an attribute, no attribute, or an invalid attribute name. */
export const NOT_AN_ATTRIBUTE = 0;
export const INVALID_NAME = 1;

/**
 * Header names of one binding (`ce-` for NATS, `ce_` for Kafka): the prefix is matched in any case and
 * the attribute name is lower-cased, as the specs and upstream readers do. Names seen are cached, bounded.
 */
export class AttributeHeaders {
  private readonly attributeOfHeader = new Map<string, string | typeof INVALID_NAME>();
  private readonly headerOfAttribute = new Map<string, string>();
  private readonly separator: number;

  constructor(private readonly prefix: 'ce-' | 'ce_') {
    this.separator = prefix.charCodeAt(2);
  }

  /** The attribute a header carries, `NOT_AN_ATTRIBUTE` for other headers, `INVALID_NAME` for a prefixed name that is no attribute name. */
  attributeOf(header: string): string | typeof NOT_AN_ATTRIBUTE | typeof INVALID_NAME {
    if (
      header.length <= 3 ||
      (header.charCodeAt(0) | 0x20) !== 0x63 ||
      (header.charCodeAt(1) | 0x20) !== 0x65 ||
      header.charCodeAt(2) !== this.separator
    ) {
      return NOT_AN_ATTRIBUTE;
    }
    let name = this.attributeOfHeader.get(header);
    if (name === undefined) {
      const lower = header.slice(3).toLowerCase();
      name = isAttributeName(lower) ? lower : INVALID_NAME;
      if (this.attributeOfHeader.size < CACHE_LIMIT) this.attributeOfHeader.set(header, name);
    }
    return name;
  }

  /** The header carrying an attribute: the prefix and the name. */
  headerOf(attribute: string): string {
    let h = this.headerOfAttribute.get(attribute);
    if (h === undefined) {
      h = this.prefix + attribute;
      if (this.headerOfAttribute.size < CACHE_LIMIT) this.headerOfAttribute.set(attribute, h);
    }
    return h;
  }
}

/** A failed read, naming the attribute at fault when there is one. */
export const failure = (reason: string, attribute?: string): ParseResult =>
  attribute === undefined ? { ok: false, reason } : { ok: false, reason, attribute };

/** The failure for a prefixed header whose suffix is not an attribute name. */
export function invalidNameFailure(header: string): ParseResult {
  const attribute = header.slice(3).toLowerCase();
  return failure(
    `attribute "${attribute}" (header "${header}") has an invalid name: attribute names are lower-case ASCII letters and digits`,
    attribute,
  );
}

/** A byte view of `u8` as a Buffer, without copying. */
export const bufferOf = (u8: Uint8Array): Buffer =>
  Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

/**
 * Finishes a binary-mode read: specversion is required (`missing` says which header should have held it),
 * an empty payload is no data, and the event is validated as parseHttp validates it.
 */
export function binaryEvent(
  attributes: Record<string, AttributeValue>,
  payload: Uint8Array | null | undefined,
  missing: string,
): ParseResult {
  if (attributes.specversion === undefined) {
    return failure(`not a CloudEvent: attribute "specversion" is required (${missing})`, 'specversion');
  }
  const event: CloudEvent = {
    attributes,
    data: payload !== null && payload !== undefined && payload.length > 0 ? bufferOf(payload) : undefined,
  };
  const err = validateEvent(event);
  if (err !== undefined) return { ok: false, reason: err.reason, attribute: err.attribute };
  return { ok: true, event };
}

/** The text of an attribute value as a header carries it (numbers and booleans in canonical form). */
export const headerText = (v: AttributeValue): string => (typeof v === 'string' ? v : String(v));
