import type { CloudEvent } from '@eventing/cloudevents';
import { decodeRecord, encodeRecord, PASSTHROUGH_PREFIX, type RecordHeaders } from './kafka-records';

const event: CloudEvent = {
  attributes: {
    specversion: '1.0',
    id: 'r1',
    source: '/records',
    type: 'records.test',
    datacontenttype: 'application/json',
    partitionkey: 'from-event',
    subject: 'café ☕ "q"',
  },
  data: Buffer.from('{"a":1}'),
};

const headersOf = (headers: Map<Buffer, Buffer>): RecordHeaders => [...headers.entries()];

describe('Kafka records', () => {
  it('round-trips an event and its passthrough headers in binary mode', () => {
    const passthrough = { 'x-request-id': 'r-1', traceparent: '00-abc-def-01' };
    const { record, bytes } = encodeRecord('t', event, passthrough);
    expect(record.topic).toBe('t');
    expect(record.key?.toString()).toBe('from-event');
    expect(bytes).toBeGreaterThan(record.value!.length);
    const names = [...record.headers.keys()].map((k) => k.toString());
    expect(names).toContain('ce_id');
    expect(names).toContain('content-type');
    expect(names).toContain(`${PASSTHROUGH_PREFIX}x-request-id`);
    const decoded = decodeRecord(headersOf(record.headers), record.value ?? null);
    expect(decoded).toEqual({ ok: true, event, headers: passthrough });
  });

  it('keys by the key given, else the partitionkey, else none', () => {
    expect(encodeRecord('t', event, {}, 'given').record.key?.toString()).toBe('given');
    const { partitionkey: _, ...attributes } = event.attributes;
    expect(encodeRecord('t', { ...event, attributes }, {}).record.key).toBeUndefined();
  });

  it('never reads a passthrough header as an attribute or content type', () => {
    const passthrough = { 'content-type': 'text/evil', ce_id: 'not-the-id', 'ce-type': 'x' };
    const { record } = encodeRecord('t', event, passthrough);
    const decoded = decodeRecord(headersOf(record.headers), record.value ?? null);
    expect(decoded).toEqual({ ok: true, event, headers: passthrough });
  });

  it('writes an event without data as a null value', () => {
    const { record } = encodeRecord('t', { ...event, data: undefined }, {});
    expect(record.value).toBeUndefined();
    const decoded = decodeRecord(headersOf(record.headers), null);
    expect(decoded.ok && decoded.event.data).toBeUndefined();
  });

  it.each([
    ['no headers at all', [], Buffer.from('bytes')],
    ['a header without a name', [[null, Buffer.from('x')]], null],
    ['missing required attributes', [[Buffer.from('ce_specversion'), Buffer.from('1.0')]], null],
    ['bytes that are not UTF-8', [[Buffer.from('ce_id'), Buffer.from([0xff, 0xfe])]], null],
  ] as [string, RecordHeaders, Buffer | null][])(
    'reports a record with %s as not an event',
    (_, headers, value) => {
      const decoded = decodeRecord(headers, value);
      expect(decoded.ok).toBe(false);
      expect(!decoded.ok && decoded.reason.length).toBeGreaterThan(0);
    },
  );
});
