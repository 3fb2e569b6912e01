import { context } from '@opentelemetry/api';
import { TRACING } from './tracing-hooks';

// Starts OpenTelemetry tracing for a service when an OTLP endpoint is configured: a tracer provider
// with a parent-based ratio sampler, a batching OTLP/HTTP (JSON) exporter, and an AsyncLocalStorage
// context manager, so a span made active by a hop stays active across its awaits (log lines written
// meanwhile name it). The SDK is loaded only then, so a service without an endpoint never loads it,
// registers no context manager and its hops never start a span.

export interface TracingOptions {
  /** OTLP/HTTP base URL (`http://collector:4318`); spans go to `<endpoint>/v1/traces`. Empty: off. */
  endpoint: string;
  /** `service.name` of the spans. */
  serviceName: string;
  /** Share of new traces sampled, 0 to 1; a hop with a sampled parent always follows its parent. */
  sampleRatio: number;
  /** How often the batch exporter sends (ms); default 5000. */
  exportIntervalMs?: number;
}

/** Running tracing: flushes what is buffered and stops exporting. */
export interface TracingHandle {
  shutdown(): Promise<void>;
}

const OFF: TracingHandle = { shutdown: () => Promise.resolve() };

/** Starts tracing as `options` say (nothing when `endpoint` is empty); one per process. */
export async function startTracing(options: TracingOptions): Promise<TracingHandle> {
  if (options.endpoint === '') return OFF;
  if (TRACING.tracer !== undefined) throw new Error('tracing is already started in this process');
  if (!(options.sampleRatio >= 0 && options.sampleRatio <= 1))
    throw new Error(`the trace sampling ratio must be between 0 and 1, not ${options.sampleRatio}`);
  const [sdk, { OTLPTraceExporter }, { resourceFromAttributes }, { AsyncLocalStorageContextManager }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/context-async-hooks'),
    ]);
  const url = `${options.endpoint.replace(/\/+$/, '')}/v1/traces`;
  const exporter = new OTLPTraceExporter({ url });
  const provider = new sdk.TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(options.sampleRatio) }),
    spanProcessors: [
      new sdk.BatchSpanProcessor({
        exporter: exporter as never,
        scheduledDelayMillis: options.exportIntervalMs ?? 5000,
        maxQueueSize: 4096,
        maxExportBatchSize: 512,
      }),
    ],
  });
  // Registered only when none is (an embedding process may have its own); removed with the tracer.
  const contextManager = new AsyncLocalStorageContextManager();
  const ownsContext = context.setGlobalContextManager(contextManager.enable());
  if (!ownsContext) contextManager.disable();
  TRACING.tracer = provider.getTracer('eventing');
  return {
    shutdown: async () => {
      TRACING.tracer = undefined;
      if (ownsContext) context.disable();
      await provider.shutdown();
    },
  };
}
