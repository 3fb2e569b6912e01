import { type CloudEvent, parseKafkaRecord, toKafkaRecord } from '@eventing/cloudevents';
import { TRACE_EXTENSION_MARKER, traceIn, traceOut } from '../trace-extension';

// Events as Kafka records: the CloudEvents Kafka binding in binary mode (`ce_` headers, as upstream's
// receiver writes them), plus the passthrough HTTP headers captured at ingress under a prefix of
// their own, so that no passthrough header can ever be read as a `ce_` attribute or content-type.
// W3C trace context travels as the distributed-tracing extension (`ce_traceparent`), see
// trace-extension.ts.

/** Prefix of the record headers that carry passthrough HTTP headers (`kne-h-x-request-id`...). */
export const PASSTHROUGH_PREFIX = 'kne-h-';
const PREFIX_BYTES = Buffer.from(PASSTHROUGH_PREFIX, 'latin1');
const MARKER_BYTES = Buffer.from(TRACE_EXTENSION_MARKER, 'latin1');
const MARKER_VALUE = Buffer.from('1', 'latin1');

/** A record as the producer takes it: header names and values as bytes. */
export interface ProducerRecord {
  topic: string;
  key?: Buffer;
  /** Absent for an event without data (a null value on the wire, 3.2.2). */
  value?: Buffer;
  headers: Map<Buffer, Buffer>;
}

// Header names repeat across events (the attribute names, a handful of passthrough names): their
// bytes are made once. The cache is bounded so that unusual names cannot grow it without end.
const NAME_CACHE_LIMIT = 1024;
const nameBytes = new Map<string, Buffer>();
function headerName(name: string): Buffer {
  let bytes = nameBytes.get(name);
  if (bytes === undefined) {
    bytes = Buffer.from(name, 'utf8');
    if (nameBytes.size < NAME_CACHE_LIMIT) nameBytes.set(name, bytes);
  }
  return bytes;
}

/**
 * Writes an event as one binary-mode record for `topic`. The key is `key` when given (the
 * `partitionkey` the caller took from the event), else the event's own `partitionkey`. Returns the
 * record and roughly how many bytes it takes in a produce request (for batch bounds).
 */
export function encodeRecord(
  topic: string,
  event: CloudEvent,
  passthrough: Record<string, string>,
  key?: string,
): { record: ProducerRecord; bytes: number } {
  const traced = traceOut(event, passthrough);
  passthrough = traced.passthrough;
  const binding = toKafkaRecord(traced.event, 'binary');
  const headers = new Map<Buffer, Buffer>();
  let bytes = binding.value?.length ?? 0;
  if (traced.marker) {
    headers.set(MARKER_BYTES, MARKER_VALUE);
    bytes += MARKER_BYTES.length + 3;
  }
  for (const name in binding.headers) {
    const value = binding.headers[name]!;
    headers.set(headerName(name), value);
    bytes += name.length + value.length + 2;
  }
  for (const name in passthrough) {
    const value = Buffer.from(passthrough[name]!, 'utf8');
    headers.set(headerName(PASSTHROUGH_PREFIX + name), value);
    bytes += PASSTHROUGH_PREFIX.length + name.length + value.length + 2;
  }
  const record: ProducerRecord = { topic, headers };
  if (binding.value !== null) record.value = binding.value;
  const recordKey = key ?? binding.key;
  if (recordKey !== undefined) {
    record.key = Buffer.from(recordKey, 'utf8');
    bytes += record.key.length;
  }
  return { record, bytes: bytes + 32 };
}

/** A consumed record read back: the event and the passthrough headers, or why it is not an event. */
export type DecodedRecord =
  { ok: true; event: CloudEvent; headers: Record<string, string> } | { ok: false; reason: string };

/** Record headers as the consumer hands them over: name and value bytes, in record order. */
export type RecordHeaders = readonly (readonly [Buffer | null, Buffer | null])[];

function isPassthrough(name: Buffer): boolean {
  return (
    name.length > PREFIX_BYTES.length &&
    name.compare(PREFIX_BYTES, 0, PREFIX_BYTES.length, 0, PREFIX_BYTES.length) === 0
  );
}

/**
 * Reads a consumed record (binary or structured mode, as parseKafkaRecord) and its passthrough
 * headers. Never throws: whatever cannot be read is a `{ ok: false, reason }`.
 */
export function decodeRecord(headers: RecordHeaders, value: Buffer | null): DecodedRecord {
  const passthrough: Record<string, string> = {};
  const named: [Buffer, Buffer | null][] = [];
  let marked = false;
  for (const [name, v] of headers) {
    if (name === null) continue;
    if (isPassthrough(name)) {
      if (v !== null) passthrough[name.toString('utf8', PREFIX_BYTES.length)] = v.toString('utf8');
    } else if (name.length === MARKER_BYTES.length && name.equals(MARKER_BYTES)) {
      marked = true;
    } else {
      named.push([name, v]);
    }
  }
  try {
    const parsed = parseKafkaRecord({ headers: named, value });
    if (!parsed.ok) return { ok: false, reason: parsed.reason };
    return { ok: true, event: traceIn(parsed.event, passthrough, marked), headers: passthrough };
  } catch (err) {
    return { ok: false, reason: `unreadable record: ${(err as Error).message}` };
  }
}
