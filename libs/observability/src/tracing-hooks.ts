import {
  ROOT_CONTEXT,
  SpanKind,
  context,
  SpanStatusCode,
  createTraceState,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';

// The data path's side of tracing, on @opentelemetry/api only. `TRACING.tracer` is undefined until a
// service starts an exporter (tracing.ts); every hop checks it once and does nothing else when it is
// off: `traceparent`/`tracestate` then travel as opaque passthrough headers, never parsed.

/** The tracer hops start spans with; undefined while tracing is off. */
export const TRACING: { tracer: Tracer | undefined } = { tracer: undefined };

export { SpanKind };
export type { Span, Tracer };

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;
const INVALID_TRACE = '00000000000000000000000000000000';
const INVALID_SPAN = '0000000000000000';

/**
 * Starts a hop's span, child of the W3C `traceparent` (and `tracestate`) of `headers` when it holds a
 * valid one, else a new trace; an invalid header is ignored, as W3C Trace Context says.
 */
export function startHopSpan(
  tracer: Tracer,
  name: string,
  kind: SpanKind,
  headers: Record<string, string | string[] | undefined>,
  attributes?: Attributes,
): Span {
  return tracer.startSpan(name, { kind, attributes }, remoteContext(headers));
}

/** The context of the valid `traceparent` (and `tracestate`) of `headers`, else the root context. */
function remoteContext(headers: Record<string, string | string[] | undefined>): Context {
  const parent = headers['traceparent'];
  const m = typeof parent === 'string' ? TRACEPARENT.exec(parent) : null;
  if (m === null || m[1] === 'ff' || m[2] === INVALID_TRACE || m[3] === INVALID_SPAN) return ROOT_CONTEXT;
  const state = headers['tracestate'];
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[2]!,
    spanId: m[3]!,
    traceFlags: parseInt(m[4]!, 16) & 1,
    isRemote: true,
    traceState: typeof state === 'string' && state.length > 0 ? createTraceState(state) : undefined,
  });
}

/**
 * Runs `fn` with `span` active, so log lines written meanwhile (after awaits too, with the context
 * manager tracing registers) name it. For code that already holds a span, so only with tracing on.
 */
export function withActiveSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(ROOT_CONTEXT, span), fn);
}

/**
 * Runs `fn` in the trace of the `traceparent` in `headers` (a stored event's), so its log lines name
 * that trace and the span that stored it; none when there is no valid one, whatever was active
 * before. While tracing is off: a plain call.
 */
export function inTraceOf<T>(headers: Record<string, string | string[] | undefined>, fn: () => T): T {
  if (TRACING.tracer === undefined) return fn();
  return context.with(remoteContext(headers), fn);
}

/** The `traceparent` naming `span` as the parent of the next hop. */
export function traceparentOf(span: Span): string {
  const sc = span.spanContext();
  return `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`;
}

/**
 * A copy of passthrough `headers` whose `traceparent` names `span` (and whose `tracestate` is the
 * span's, when it has one), for the next hop.
 */
export function withTraceparent(headers: Record<string, string>, span: Span): Record<string, string> {
  const out: Record<string, string> = { ...headers, traceparent: traceparentOf(span) };
  const state = span.spanContext().traceState?.serialize();
  if (state) out['tracestate'] = state;
  return out;
}

/** Ends a hop's span with its HTTP status; 5xx (and a `reason` with no status) marks it failed. */
export function endHopSpan(span: Span, status: number | undefined, reason?: string): void {
  if (status !== undefined) span.setAttribute('http.response.status_code', status);
  if ((status !== undefined && status >= 500) || (status === undefined && reason !== undefined))
    span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
  else if (status !== undefined && status >= 400 && reason !== undefined)
    span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
  span.end();
}
