import { Dispatcher } from '@eventing/delivery';
import { EventingMetrics, TRACING } from '@eventing/observability';
import { createLogger } from '@eventing/runtime';
import { SubscriberServer } from '@eventing/testing';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { outcomeObserver } from './outcome-observer';
import type { DeliveryTarget } from './outcomes';

// A traced delivery that ends in the dead-letter sink is logged with the trace and span of its
// `deliver` span (real SDK, real HTTP subscriber and sink); untraced, the line has neither.

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
afterAll(() => provider.shutdown());

describe('outcome log lines and tracing', () => {
  let subscriber: SubscriberServer;
  let dls: SubscriberServer;
  let dispatcher: Dispatcher;
  beforeEach(async () => {
    subscriber = await SubscriberServer.start([{ status: 400 }]);
    dls = await SubscriberServer.start([{ status: 202 }]);
    dispatcher = new Dispatcher();
  });
  afterEach(async () => {
    TRACING.tracer = undefined;
    exporter.reset();
    await dispatcher.close();
    await Promise.all([subscriber.close(), dls.close()]);
  });

  async function deadLetterLine(): Promise<Record<string, unknown>> {
    const lines: Record<string, unknown>[] = [];
    const observer = outcomeObserver(
      new EventingMetrics(),
      createLogger({ service: 't', write: (l) => lines.push(JSON.parse(l)) }),
    );
    const event = {
      attributes: { specversion: '1.0', id: 'e1', source: '/s', type: 't' },
      data: undefined,
    };
    const target: DeliveryTarget = {
      kind: 'Trigger',
      namespace: 'ns',
      name: 'tr',
      deadLetterUri: `${dls.url}/dls`,
    };
    const outcome = await dispatcher.deliver({
      event,
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      subscriberUri: `${subscriber.url}/sub`,
      namespace: 'ns',
      format: 'binary',
      policy: { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 0 },
      deadLetterUri: `${dls.url}/dls`,
      malformedReply: 'fail',
    });
    expect(outcome.kind).toBe('dead-lettered');
    observer.outcome(target, event, outcome);
    expect(lines.map((l) => l['msg'])).toEqual(['delivery failed; event sent to the dead-letter sink']);
    return lines[0]!;
  }

  it('carries trace_id and span_id of the deliver span when traced', async () => {
    TRACING.tracer = provider.getTracer('test');
    const line = await deadLetterLine();
    const deliver = exporter.getFinishedSpans().find((s) => s.name.startsWith('deliver '))!;
    expect(deliver.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(line).toMatchObject({
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: deliver.spanContext().spanId,
      id: 'e1',
      trigger: 'ns/tr',
    });
  });

  it('carries neither with tracing off', async () => {
    const line = await deadLetterLine();
    expect(line).not.toHaveProperty('trace_id');
    expect(line).not.toHaveProperty('span_id');
  });
});
