import type { CloudEvent } from '@eventing/cloudevents';

// W3C trace context on stored messages as the CloudEvents distributed-tracing extension: the
// `traceparent`/`tracestate` HTTP headers of an appended event are written as the extension
// attributes `traceparent`/`tracestate` (`ce_traceparent` on a Kafka record, `ce-traceparent` on a
// NATS message), as upstream's Kafka broker and channel do, rather than as passthrough headers; read
// back for HTTP delivery they are the `traceparent`/`tracestate` headers again, not attributes.
//
// An event that already holds the extension itself (it arrived with `ce-traceparent`) keeps it as an
// attribute, exact, and its HTTP trace headers stay passthrough headers: such a message carries the
// marker header TRACE_EXTENSION_MARKER, so that reading it leaves the attributes alone. A message
// without the marker (ours, or one upstream wrote) has its extension lifted into HTTP headers.
// Without any trace context this costs two property reads per event each way.

/** Marker header: the event's `traceparent`/`tracestate` attributes are its own, keep them. */
export const TRACE_EXTENSION_MARKER = 'kne-trace-ext';

/** What to write for an appended event: extension attributes and the passthrough headers left. */
export interface TraceOut {
  /** The event to encode (with the extension when it came from HTTP headers). */
  event: CloudEvent;
  passthrough: Record<string, string>;
  /** Whether to write TRACE_EXTENSION_MARKER. */
  marker: boolean;
}

/**
 * The event and passthrough headers to store: `traceparent`/`tracestate` headers become the
 * extension unless the event has the extension of its own (then marked, and left as they are).
 */
export function traceOut(event: CloudEvent, passthrough: Record<string, string>): TraceOut {
  const a = event.attributes;
  if (a['traceparent'] !== undefined || a['tracestate'] !== undefined)
    return { event, passthrough, marker: true };
  const tp = passthrough['traceparent'];
  const ts = passthrough['tracestate'];
  if (tp === undefined && ts === undefined) return { event, passthrough, marker: false };
  const attributes = { ...a };
  const rest: Record<string, string> = {};
  for (const name in passthrough)
    if (name !== 'traceparent' && name !== 'tracestate') rest[name] = passthrough[name]!;
  if (tp !== undefined) attributes['traceparent'] = tp;
  if (ts !== undefined) attributes['tracestate'] = ts;
  return { event: { attributes, data: event.data }, passthrough: rest, marker: false };
}

/** Whether an event holds `traceparent` or `tracestate` attributes (two property reads). */
export function hasTraceAttributes(event: CloudEvent): boolean {
  return event.attributes['traceparent'] !== undefined || event.attributes['tracestate'] !== undefined;
}

/**
 * A read message's event and headers for HTTP delivery: unless `marked`, its `traceparent`/
 * `tracestate` attributes are moved into `headers` (which are changed in place) and a new event
 * without them is returned; a passthrough header of the same name is kept over the attribute.
 */
export function traceIn(event: CloudEvent, headers: Record<string, string>, marked: boolean): CloudEvent {
  const a = event.attributes;
  const tp = a['traceparent'];
  const ts = a['tracestate'];
  if (tp === undefined && ts === undefined) return event;
  if (marked) return event;
  const attributes = { ...a };
  delete attributes['traceparent'];
  delete attributes['tracestate'];
  if (typeof tp === 'string' && headers['traceparent'] === undefined) headers['traceparent'] = tp;
  if (typeof ts === 'string' && headers['tracestate'] === undefined) headers['tracestate'] = ts;
  return { attributes, data: event.data };
}
