import { ce } from '@eventing/testing';
import type { ReceivedSpan } from './otlp-receiver';

// What the tracing tests share: the sender's trace context, how events are sent, and how spans are
// picked out of what the receiver got.

/** Span kinds as OTLP numbers them. */
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4 } as const;
/** The sender's trace and span: every span of the event's trace descends from them. */
export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
export const SENDER_SPAN = '00f067aa0ba902b7';
export const TRACEPARENT = `00-${TRACE_ID}-${SENDER_SPAN}-01`;

/** POSTs a binary-mode `test.event` (or `type`) with extra headers. */
export const sendEvent = (
  url: string,
  id: string,
  headers: Record<string, string>,
  type = 'test.event',
): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { ...ce(id, type), ...headers }, body: 'ping' });

/** The one span of `trace` matching `predicate`; throws listing the trace when there is not exactly one. */
export function oneSpan(
  trace: readonly ReceivedSpan[],
  predicate: (s: ReceivedSpan) => boolean,
  what: string,
): ReceivedSpan {
  const found = trace.filter(predicate);
  if (found.length !== 1)
    throw new Error(
      `expected one ${what}, found ${found.length} in:\n${trace.map((s) => `${s.service} ${s.name} ${s.spanId}←${s.parentSpanId}`).join('\n')}`,
    );
  return found[0]!;
}

/** Spans of the event `id` (its `cloudevents.event_id` attribute). */
export const ofEvent =
  (id: string) =>
  (s: ReceivedSpan): boolean =>
    s.attributes['cloudevents.event_id'] === id;

/** Every span's parent is the sender's span or another span of `trace`: the sender made none itself. */
export function unlinkedSpans(trace: readonly ReceivedSpan[]): string[] {
  const ids = new Set([SENDER_SPAN, ...trace.map((s) => s.spanId)]);
  return trace.filter((s) => !ids.has(s.parentSpanId)).map((s) => `${s.service} ${s.name}`);
}
