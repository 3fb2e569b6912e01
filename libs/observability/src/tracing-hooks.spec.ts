import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { SpanKind, endHopSpan, startHopSpan, traceparentOf, withTraceparent } from './tracing-hooks';

// The hop helpers on the real SDK, spans collected in memory.

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('test');
afterEach(() => exporter.reset());
afterAll(() => provider.shutdown());

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('startHopSpan', () => {
  it('continues the trace of a valid traceparent, with its tracestate, and hands on its own span', () => {
    const span = startHopSpan(tracer, 'hop', SpanKind.SERVER, {
      traceparent: `00-${TRACE}-${PARENT}-01`,
      tracestate: 'a=1,b=2',
    });
    const next = withTraceparent({ 'x-request-id': 'r1', traceparent: 'old' }, span);
    endHopSpan(span, 202);
    const [done] = exporter.getFinishedSpans();
    expect(done!.spanContext().traceId).toBe(TRACE);
    expect(done!.parentSpanContext?.spanId).toBe(PARENT);
    expect(next).toEqual({
      'x-request-id': 'r1',
      traceparent: `00-${TRACE}-${done!.spanContext().spanId}-01`,
      tracestate: 'a=1,b=2',
    });
    expect(done!.attributes['http.response.status_code']).toBe(202);
    expect(done!.status.code).toBe(0);
  });

  it.each([
    ['no header', undefined],
    ['a malformed one', 'not-a-traceparent'],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['an all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
  ])('starts a new trace for %s', (_, traceparent) => {
    const span = startHopSpan(tracer, 'hop', SpanKind.SERVER, traceparent ? { traceparent } : {});
    span.end();
    const [done] = exporter.getFinishedSpans();
    expect(done!.parentSpanContext).toBeUndefined();
    expect(done!.spanContext().traceId).not.toBe(TRACE);
    expect(traceparentOf(span)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('marks 5xx answers as errors with the reason', () => {
    const span = startHopSpan(tracer, 'hop', SpanKind.CLIENT, {});
    endHopSpan(span, 503, 'store full');
    const [done] = exporter.getFinishedSpans();
    expect(done!.status).toEqual({ code: 2, message: 'store full' });
  });
});
