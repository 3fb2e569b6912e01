import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createLogger } from './logger';

// Log lines written inside an active span name its trace and span (real SDK, real context manager).

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('test');
const manager = new AsyncLocalStorageContextManager();
beforeAll(() => context.setGlobalContextManager(manager.enable()));
afterAll(async () => {
  context.disable();
  await provider.shutdown();
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ service: 's', write: (l) => lines.push(JSON.parse(l)) });
  return { lines, log };
}

describe('logger trace fields', () => {
  it('adds trace_id and span_id inside an active span, also after an await', async () => {
    const { lines, log } = capture();
    let ids = { traceId: '', spanId: '' };
    await tracer.startActiveSpan('deliver', async (span) => {
      ids = span.spanContext();
      await new Promise((r) => setImmediate(r));
      log.warn({ id: 'e1' }, 'delivery failed; event sent to the dead-letter sink');
      span.end();
    });
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(lines[0]).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId, id: 'e1', level: 'warn' });
  });

  it('adds nothing outside a span', () => {
    const { lines, log } = capture();
    expect(trace.getActiveSpan()).toBeUndefined();
    log.warn({ id: 'e2' }, 'no span');
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[0]).not.toHaveProperty('span_id');
  });
});
