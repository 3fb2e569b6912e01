import type { AttributeValue } from '@eventing/cloudevents';

export type Attributes = Record<string, AttributeValue>;

/** Reads one attribute as text, or undefined when the event does not carry it. */
export type AttributeReader = (attributes: Attributes) => string | undefined;

/**
 * Attribute value as text: non-string values (numbers/booleans from structured JSON) are
 * stringified the way the wire (binary mode) would carry them; anything else — including
 * inherited object properties such as `constructor` — counts as absent.
 */
export function attributeText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * Context attribute names the filters treat as always present ("" when unset), as upstream's
 * attribute filter does (CONFORMANCE 3.1); every other name is an extension, absent when unset.
 */
export const CONTEXT_ATTRIBUTES: ReadonlySet<string> = new Set([
  'specversion',
  'type',
  'source',
  'subject',
  'id',
  'time',
  'dataschema',
  'schemaurl',
  'datacontenttype',
  'datamediatype',
  'datacontentencoding',
]);

/** `datacontenttype` without parameters, lower-cased (`application/json; charset=utf-8` → `application/json`). */
function mediaType(attributes: Attributes): string {
  const contentType = attributeText(attributes['datacontenttype']);
  if (contentType === undefined) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** `dataschema` (1.0) and `schemaurl` (0.3) name the same attribute. */
function dataSchema(attributes: Attributes): string {
  return attributeText(attributes['dataschema']) ?? attributeText(attributes['schemaurl']) ?? '';
}

/** Builds, once per filter key, the reader that looks the key up in an event. */
export function attributeReader(name: string): AttributeReader {
  switch (name) {
    case 'datamediatype':
      return mediaType;
    case 'dataschema':
    case 'schemaurl':
      return dataSchema;
    default:
      if (CONTEXT_ATTRIBUTES.has(name)) return (attributes) => attributeText(attributes[name]) ?? '';
      return (attributes) => attributeText(attributes[name]);
  }
}
