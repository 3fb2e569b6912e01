import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import {
  SpanKind,
  TRACING,
  inTraceOf,
  startHopSpan,
  startTracing,
  withActiveSpan,
  type TracingHandle,
} from '@eventing/observability';
import { createLogger } from './logger';

// The context manager startTracing registers: with tracing on, a log line written in an awaited
// continuation of a hop names the hop's trace; with tracing off nothing is registered and no line
// names a trace.

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const STORED_BY = '00f067aa0ba902b7';
// Not sampled, and new traces neither (ratio 0): spans have their ids and contexts but none is exported
// (the OTLP exporter loads its transport with a dynamic import that jest's VM does not allow).
const headers = { traceparent: `00-${TRACE_ID}-${STORED_BY}-00` };
const later = () => new Promise((r) => setImmediate(r));

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    service: 's',
    write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
  });
  return { lines, log };
}

describe('tracing off', () => {
  it('registers no context manager: a span made active is gone after an await, lines name no trace', async () => {
    const handle = await startTracing({ endpoint: '', serviceName: 's', sampleRatio: 1 });
    expect(TRACING.tracer).toBeUndefined();
    const { lines, log } = capture();
    const span = trace.wrapSpanContext({ traceId: TRACE_ID, spanId: STORED_BY, traceFlags: 1 });
    await context.with(trace.setSpan(ROOT_CONTEXT, span), async () => {
      await later();
      log.warn({ id: 'e1' }, 'after an await');
    });
    await inTraceOf(headers, async () => {
      await later();
      log.warn({ id: 'e2' }, 'in a stored event’s handling');
    });
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toHaveProperty('trace_id');
      expect(line).not.toHaveProperty('span_id');
    }
    await handle.shutdown();
  });
});

describe('tracing on', () => {
  let handle: TracingHandle;

  beforeAll(async () => {
    handle = await startTracing({ endpoint: 'http://127.0.0.1:9', serviceName: 's', sampleRatio: 0 });
  });

  it('a line written after awaits inside a hop’s active span names its trace and span', async () => {
    const { lines, log } = capture();
    const span = startHopSpan(TRACING.tracer!, 'deliver', SpanKind.PRODUCER, headers);
    await withActiveSpan(span, async () => {
      await later();
      await new Promise((r) => setTimeout(r, 5));
      log.warn({ id: 'e1' }, 'delivery failed; event sent to the dead-letter sink');
    });
    span.end();
    expect(lines[0]).toMatchObject({ trace_id: TRACE_ID, span_id: span.spanContext().spanId, id: 'e1' });
    expect(span.spanContext().spanId).not.toBe(STORED_BY);
  });

  it('a stored event’s handling is in its trace, whatever was active where it was queued', async () => {
    const { lines, log } = capture();
    const other = startHopSpan(TRACING.tracer!, 'ingress', SpanKind.SERVER, {});
    // Queued from inside another event's span (a pump started by another request): not inherited.
    await withActiveSpan(
      other,
      () =>
        new Promise<void>((resolve) =>
          queueMicrotask(
            () =>
              void inTraceOf(headers, async () => {
                await later();
                log.warn({ id: 'e2' }, 'event held');
              }).then(resolve),
          ),
        ),
    );
    await inTraceOf({}, async () => {
      await later();
      log.warn({ id: 'e3' }, 'no trace context');
    });
    other.end();
    expect(lines[0]).toMatchObject({ trace_id: TRACE_ID, span_id: STORED_BY, id: 'e2' });
    expect(lines[1]).not.toHaveProperty('trace_id');
  });

  it('outside any span a line names no trace; shutting down removes the context manager', async () => {
    const { lines, log } = capture();
    log.warn({}, 'idle');
    expect(lines[0]).not.toHaveProperty('trace_id');
    const span = startHopSpan(TRACING.tracer!, 'x', SpanKind.SERVER, headers);
    span.end();
    await handle.shutdown();
    expect(TRACING.tracer).toBeUndefined();
    const seen = await withActiveSpan(span, async () => {
      await later();
      return trace.getActiveSpan();
    });
    expect(seen).toBeUndefined();
  });
});
