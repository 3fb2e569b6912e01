// The Kafka protocol binding (bindings/kafka-protocol-binding.md) as upstream Knative's Kafka broker,
// sink and channel write it through the Java SDK's cloudevents-kafka (and the Go SDK's kafka_sarama):
// binary mode puts each attribute in a `ce_<name>` header as raw UTF-8 (3.2.3: header values are UTF-8
// strings, with no percent-encoding), datacontenttype in `content-type` (3.2.1) and data in the value
// (3.2.2: none is a null value); structured mode puts the JSON event format in the value with
// `content-type: application/cloudevents+json`, the only header the Java SDK sets (3.3). The record
// key is the `partitionkey` extension when present (3.1), as upstream keys records.

import { isUtf8 } from 'node:buffer';
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

export { type MessageContentMode } from './binary-headers';

/** A Kafka record carrying a CloudEvent, as written by `toKafkaRecord`. */
export interface KafkaRecord {
  /** The `partitionkey` extension as text, when the event has one: upstream keys records by it. */
  key?: string;
  /** Binary mode: the data, null when the event has none (a tombstone, 3.2.2). Structured: the JSON event. */
  value: Buffer | null;
  /** Header name -> value bytes (UTF-8 text). */
  headers: Record<string, Buffer>;
}

/** A header value as Kafka clients hand it over: bytes, or text when a producer built it. */
export type KafkaHeaderValue = Buffer | Uint8Array | string | null | undefined;

/**
 * Record headers as Kafka clients deliver them: an object by name with repeated names as arrays
 * (kafkajs), or pairs in record order (a Map or list of pairs, as @platformatic/kafka gives them).
 */
export type KafkaHeaders =
  | Iterable<readonly [string | Uint8Array, KafkaHeaderValue]>
  | { readonly [name: string]: KafkaHeaderValue | readonly KafkaHeaderValue[] };

/** The parts of a consumed record that carry the event; the key is not read (upstream does not either). */
export interface KafkaRecordInput {
  headers?: KafkaHeaders | null;
  value?: Uint8Array | null;
}

/** Content type of structured-mode records, exactly as the Java and Go SDKs write it. */
export const KAFKA_STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';

const CONTENT_TYPE = 'content-type';
// One buffer for every structured record: Kafka clients only read header values.
const STRUCTURED_CONTENT_TYPE = Buffer.from(KAFKA_STRUCTURED_CONTENT_TYPE);
const headerNames = new AttributeHeaders('ce_');

const keyOf = (event: CloudEvent): string | undefined => {
  const key = event.attributes.partitionkey;
  return key === undefined ? undefined : headerText(key);
};

/**
 * Writes an event as a Kafka record: binary mode (default) as `ce_` headers holding raw UTF-8 with
 * datacontenttype as `content-type` and the data as the value (not copied), or structured mode. The key
 * is the `partitionkey` extension when present.
 */
export function toKafkaRecord(event: CloudEvent, mode: MessageContentMode = 'binary'): KafkaRecord {
  const key = keyOf(event);
  let record: KafkaRecord;
  if (mode === 'structured') {
    record = { value: structuredBody(event), headers: { [CONTENT_TYPE]: STRUCTURED_CONTENT_TYPE } };
  } else {
    const headers: Record<string, Buffer> = {};
    const a = event.attributes;
    for (const name in a) {
      const text = Buffer.from(headerText(a[name]!), 'utf8');
      headers[name === 'datacontenttype' ? CONTENT_TYPE : headerNames.headerOf(name)] = text;
    }
    record = { value: event.data ?? null, headers };
  }
  if (key !== undefined) record.key = key;
  return record;
}

/** Header values of interest, the last occurrence of each name (in any case) that has a value. */
interface CollectedHeaders {
  contentType: KafkaHeaderValue;
  // attribute name -> raw value; Object.create(null), so any name is a plain key.
  attributes: Record<string, Buffer | Uint8Array | string>;
  invalidHeader: string | undefined;
}

const nameText = (name: string | Uint8Array): string =>
  typeof name === 'string' ? name : bufferOf(name).toString('utf8');

function collect(headers: KafkaHeaders | null | undefined): CollectedHeaders {
  const out: CollectedHeaders = {
    contentType: undefined,
    attributes: Object.create(null) as Record<string, Buffer | Uint8Array | string>,
    invalidHeader: undefined,
  };
  if (headers === null || headers === undefined) return out;
  const take = (name: string, value: KafkaHeaderValue): void => {
    if (value === null || value === undefined) return; // a null header carries nothing (as the Java SDK skips it)
    const attribute = headerNames.attributeOf(name);
    if (attribute === NOT_AN_ATTRIBUTE) {
      if (name.length === 12 && name.toLowerCase() === CONTENT_TYPE) out.contentType = value;
    } else if (attribute === INVALID_NAME) {
      out.invalidHeader ??= name;
    } else {
      out.attributes[attribute] = value;
    }
  };
  if (Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<readonly [string | Uint8Array, KafkaHeaderValue]>)
      take(nameText(name), value);
  } else {
    const byName = headers as { readonly [name: string]: KafkaHeaderValue | readonly KafkaHeaderValue[] };
    for (const name in byName) {
      const v = byName[name];
      if (Array.isArray(v)) for (const one of v as readonly KafkaHeaderValue[]) take(name, one);
      else take(name, v as KafkaHeaderValue);
    }
  }
  return out;
}

/** The text of a header value, or undefined when its bytes are not UTF-8. */
function textOf(v: Buffer | Uint8Array | string): string | undefined {
  if (typeof v === 'string') return v;
  const b = bufferOf(v);
  return isUtf8(b) ? b.toString('utf8') : undefined;
}

/**
 * Reads a Kafka record (binary or structured mode) into a CloudEvent, validated as parseHttp validates.
 * Header names match in any case; a name that repeats counts by its last value (as the Java SDK's
 * deserializer and the Go SDK read them); values are UTF-8 text taken exactly, never percent-decoded
 * (3.2.3); bytes that are not UTF-8 are refused naming the attribute. `content-type` is datacontenttype;
 * a `ce_datacontenttype` header is read only when there is none.
 */
export function parseKafkaRecord(record: KafkaRecordInput): ParseResult {
  const h = collect(record.headers);
  let contentType: string | undefined;
  if (h.contentType !== null && h.contentType !== undefined) {
    contentType = textOf(h.contentType);
    if (contentType === undefined)
      return failure('attribute "datacontenttype" (header "content-type") is not UTF-8', 'datacontenttype');
  }
  switch (contentModeOf(contentType)) {
    case ContentMode.Binary:
      break;
    case ContentMode.Structured:
      return parseStructuredBody(record.value ? bufferOf(record.value) : undefined);
    case ContentMode.Batch:
      return failure('batch mode is not supported (content type application/cloudevents-batch+json)');
    default:
      return failure(
        `unsupported event format "${contentType}": only application/cloudevents+json is supported`,
      );
  }
  if (h.invalidHeader !== undefined) return invalidNameFailure(h.invalidHeader);
  const attributes: Record<string, AttributeValue> = {};
  for (const name in h.attributes) {
    const text = textOf(h.attributes[name]!);
    if (text === undefined) return failure(`attribute "${name}" has header bytes that are not UTF-8`, name);
    attributes[name] = text;
  }
  if (contentType !== undefined) attributes.datacontenttype = contentType;
  return binaryEvent(
    attributes,
    record.value,
    'no ce_specversion header, and the content type is not application/cloudevents+json',
  );
}
