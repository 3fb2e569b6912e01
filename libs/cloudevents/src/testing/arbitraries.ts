// fast-check generators of valid CloudEvents for the binding round-trip tests.
import fc from 'fast-check';
import { isCloudEventsString } from '../attributes';
import { type AttributeValue, type CloudEvent } from '../event';

const RESERVED = new Set([
  'data',
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
  'schemaurl',
  'datacontentencoding',
]);

/** Any allowed CloudEvents String, with spaces, quotes, `%`, escapes and non-ASCII made likely. */
export const ceString: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1 }),
    fc.stringMatching(/^[ %"a-zé€😀☕\t]{1,12}$/),
    fc.constantFrom('café ☕', '50% off', '100%41', ' padded ', '"quoted"'),
  )
  .filter(isCloudEventsString);

const extensionName = fc.stringMatching(/^[a-z0-9]{1,24}$/).filter((n) => !RESERVED.has(n));
const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
const time = fc
  .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const source = fc.oneof(
  fc.webUrl(),
  fc.constantFrom('/a/b', 'urn:x:y', '1-555-123-4567', 'mailto:a@example.com'),
);

type DataChoice = { datacontenttype?: string; data?: Buffer; base64?: boolean };

const dataChoice: fc.Arbitrary<DataChoice> = fc.oneof(
  fc.constant({}),
  fc.constant({ datacontenttype: 'application/json' }),
  fc.json().map((j) => ({ data: Buffer.from(j) })),
  fc
    .json()
    .map((j) => ({ datacontenttype: 'application/vnd.example+json; charset=utf-8', data: Buffer.from(j) })),
  ceString.map((s) => ({ datacontenttype: 'text/plain; charset=utf-8', data: Buffer.from(s) })),
  fc
    .uint8Array({ minLength: 1, maxLength: 64 })
    .map((b) => ({ datacontenttype: 'application/octet-stream', data: Buffer.from(b), base64: true })),
);

/**
 * Random valid events, 1.0 and 0.3, with unicode strings, every optional attribute and binary or JSON
 * data. `typedExtensions` adds Integer and Boolean extensions, which only structured mode keeps typed.
 */
export function validEvents(typedExtensions: boolean): fc.Arbitrary<CloudEvent> {
  const extValue: fc.Arbitrary<AttributeValue> = typedExtensions
    ? fc.oneof(ceString, int32, fc.boolean())
    : ceString;
  return fc
    .record(
      {
        v03: fc.boolean(),
        id: ceString,
        source,
        type: ceString,
        subject: ceString,
        time,
        schema: fc.webUrl(),
        extensions: fc.dictionary(extensionName, extValue, { maxKeys: 4 }),
        partitionkey: extValue,
        data: dataChoice,
      },
      { requiredKeys: ['v03', 'id', 'source', 'type', 'extensions', 'data'] },
    )
    .map((r) => {
      const attributes: Record<string, AttributeValue> = {
        specversion: r.v03 ? '0.3' : '1.0',
        id: r.id,
        source: r.source,
        type: r.type,
      };
      if (r.subject !== undefined) attributes.subject = r.subject;
      if (r.time !== undefined) attributes.time = r.time;
      if (r.schema !== undefined) attributes[r.v03 ? 'schemaurl' : 'dataschema'] = r.schema;
      for (const [k, v] of Object.entries(r.extensions)) attributes[k] = v;
      if (r.partitionkey !== undefined) attributes.partitionkey = r.partitionkey;
      if (r.data.datacontenttype !== undefined) attributes.datacontenttype = r.data.datacontenttype;
      // 0.3 has no data_base64: binary data travels base64 in `data`, which the event must declare.
      if (r.v03 && r.data.base64) attributes.datacontentencoding = 'base64';
      return { attributes, data: r.data.data };
    });
}

/** The event as binary mode carries it: every attribute value as its text. */
export function asStrings(event: CloudEvent): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.attributes)) out[k] = String(v);
  return out;
}
