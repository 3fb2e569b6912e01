// The events the interop specs send through the official SDKs' bindings (HTTP, Kafka, NATS) and back:
// one table of attribute values and data kinds, so every binding is checked on the same cases.
import { type AttributeValue, type CloudEvent } from '../event';

/** Attribute values that need care in headers: non-ASCII, double quotes, '%', spaces. */
export const HEADER_VALUES = ['café ☕', '"quoted"', '50% off', 'ext value 1'];

/** For the message bindings (raw UTF-8 header values): also a '%' before hex digits, never to be decoded. */
export const MESSAGE_VALUES = [...HEADER_VALUES, '100%41'];

/** Data of each kind, with its `datacontenttype`; JSON data may come back re-serialised. */
export const INTEROP_DATA: Record<string, { datacontenttype: string; data: Buffer; json?: boolean }> = {
  text: { datacontenttype: 'text/plain; charset=utf-8', data: Buffer.from('hello ☕') },
  json: { datacontenttype: 'application/json', data: Buffer.from('{"k": [1, 2.0], "s": "☕"}'), json: true },
  binary: { datacontenttype: 'application/octet-stream', data: Buffer.from([0, 1, 2, 0xfe, 0xff]) },
};

/** One interop case: a value in the subject and string extensions, data of one kind. */
export interface InteropCase {
  value: string;
  kind: string;
  /** Whether its data is JSON (an SDK may re-serialise it). */
  json: boolean;
  event: CloudEvent;
}

/**
 * Every value × data kind as an event of `binding` (its id prefix and source), with string extensions
 * carrying the value, typed extensions (integers, booleans), and `extra` attributes of the binding's own.
 */
export function interopCases(
  binding: string,
  values: readonly string[],
  extra: (value: string) => Record<string, AttributeValue> = () => ({}),
): InteropCase[] {
  let seq = 0;
  return values.flatMap((value) =>
    Object.entries(INTEROP_DATA).map(([kind, d]) => ({
      value,
      kind,
      json: d.json === true,
      event: {
        attributes: {
          specversion: '1.0',
          id: `${binding}-${++seq}`,
          source: `/interop/${binding}`,
          type: 'dev.interop.values',
          time: '2024-05-06T07:08:09.123Z',
          subject: value,
          datacontenttype: d.datacontenttype,
          myext: value,
          otherext: `a ${value} b`,
          ...extra(value),
          count: 42,
          negative: -7,
          flag: true,
          off: false,
        },
        data: d.data,
      },
    })),
  );
}

/** The context attributes of 1.0 and 0.3 (the SDKs keep them apart from extensions). */
export const CONTEXT_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'schemaurl',
];

/** Attributes as text, as a binary-mode reader sees every value. */
export function attributeStrings(attributes: Record<string, AttributeValue>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, String(v)]));
}

/** Attributes as an SDK holds them: context attributes as text, extensions typed (`typed`) or as text. */
export function sdkAttributes(
  attributes: Record<string, AttributeValue>,
  typed: boolean,
): { attributes: Record<string, string>; extensions: Record<string, AttributeValue> } {
  const out = { attributes: {} as Record<string, string>, extensions: {} as Record<string, AttributeValue> };
  for (const [k, v] of Object.entries(attributes)) {
    if (CONTEXT_ATTRIBUTES.includes(k)) out.attributes[k] = String(v);
    else out.extensions[k] = typed ? v : String(v);
  }
  return out;
}

/** The smallest event: no data, no optional attribute. */
export const MINIMAL_EVENT: CloudEvent = {
  attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' },
  data: undefined,
};

/** A 0.3 event with `schemaurl` and JSON data. */
export const V03_EVENT: CloudEvent = {
  attributes: { specversion: '0.3', id: '1', source: '/s', type: 't', schemaurl: 'http://example.com/s' },
  data: Buffer.from('{"v":3}'),
};

/** The minimal event with `attributes` added, and `data`. */
export function minimalWith(attributes: Record<string, AttributeValue>, data?: Buffer): CloudEvent {
  return { attributes: { ...MINIMAL_EVENT.attributes, ...attributes }, data };
}
