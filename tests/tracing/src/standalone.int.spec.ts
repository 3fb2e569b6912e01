import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildApps,
  ce,
  eventually,
  spawnStandalone,
  startSubscriber,
  waitReady,
  type AppProcess,
  type TestSubscriber,
} from '@eventing/testing';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver';
import {
  SENDER_SPAN,
  SPAN_KIND,
  TRACEPARENT,
  TRACE_ID,
  ofEvent,
  oneSpan,
  sendEvent,
  unlinkedSpans,
} from './spans';

// The same event as trace.int.spec.ts, through standalone as one process: its broker, a trigger whose
// subscriber replies, the reply back into the broker. With OTEL_EXPORTER_OTLP_ENDPOINT every hop's span
// reaches the receiver this test runs, in the sender's trace; a trigger whose subscriber and dead-letter
// sink both fail shows that a log line written while its delivery is handled names the event's trace.
// Without the endpoint, traceparent and tracestate reach the subscriber as sent and no line names a trace.

interface Topology {
  standalone: AppProcess;
  subscriber: TestSubscriber;
  brokerUrl: string;
  stop(): Promise<void>;
}

/** A URL nothing listens on: every POST to it is refused. */
async function closedUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  return `http://127.0.0.1:${port}/`;
}

async function startTopology(env: Record<string, string>): Promise<Topology> {
  const dir = mkdtempSync(join(tmpdir(), 'tracing-standalone-'));
  // The first event is answered with a reply without trace context; the reply is filtered out.
  const subscriber = await startSubscriber((req) =>
    req.headers['ce-type'] === 'test.event'
      ? {
          status: 200,
          headers: { ...ce('reply-1', 'test.reply'), 'content-type': 'text/plain' },
          body: 'pong',
        }
      : { status: 202 },
  );
  const dead = await closedUrl();
  // A dead-letter sink that fails once: the held event goes there on its next try.
  let deadLetters = 0;
  const deadLetterSink = await startSubscriber(() => ({ status: deadLetters++ === 0 ? 500 : 202 }));
  writeFileSync(
    join(dir, 'resources.yaml'),
    `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default, namespace: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: only-events, namespace: default }
spec:
  broker: default
  filter: { attributes: { type: test.event } }
  subscriber: { uri: "${subscriber.url}/" }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: held, namespace: default }
spec:
  broker: default
  filter: { attributes: { type: test.hold } }
  subscriber: { uri: "${dead}" }
  delivery: { retry: 0, deadLetterSink: { uri: "${deadLetterSink.url}/" } }
`,
  );
  const args = ['--config', dir, '--no-watch', '--log-format', 'json', '--log-level', 'warn'];
  const standalone = await spawnStandalone([...args, '--redelivery-delay', '200'], env).catch(
    async (err: unknown) => {
      await subscriber.close();
      await deadLetterSink.close();
      throw err;
    },
  );
  await waitReady(standalone.url);
  return {
    standalone,
    subscriber,
    brokerUrl: `${standalone.url}/default/default`,
    stop: async () => {
      // SIGTERM: standalone exports what it still buffers before exiting.
      standalone.kill('SIGTERM');
      await standalone.exited;
      await subscriber.close();
      await deadLetterSink.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The JSON log lines of a process with `msg`. */
const logLines = (p: AppProcess, msg: string): Record<string, unknown>[] =>
  p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l['msg'] === msg);

const HELD = 'delivery and dead-letter sink failed; event held and retried with backoff';
const DEAD_LETTERED = 'delivery failed; event sent to the dead-letter sink';

beforeAll(() => buildApps('standalone'), 120_000);

describe('standalone, tracing on: one event, one trace in the OTLP receiver', () => {
  let receiver: OtlpReceiver;
  let topology: Topology;
  let trace: ReceivedSpan[];
  let held: Record<string, unknown>[];
  let exportedBeforeStop: number;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    topology = await startTopology({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      // Nothing is exported on schedule during the test: the spans arrive when SIGTERM flushes them.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    const res = await sendEvent(topology.brokerUrl, 'e-1', {
      traceparent: TRACEPARENT,
      tracestate: 'vendor=abc',
    });
    expect(res.status).toBe(202);
    const toHold = await sendEvent(topology.brokerUrl, 'h-1', { traceparent: TRACEPARENT }, 'test.hold');
    expect(toHold.status).toBe(202);
    await topology.subscriber.waitFor(1);
    // The held event is dead-lettered on its second try.
    await eventually(
      () => logLines(topology.standalone, DEAD_LETTERED).length > 0,
      20_000,
      'the dead-letter warning',
    );
    exportedBeforeStop = receiver.spans.length;
    held = logLines(topology.standalone, HELD);
    await topology.stop();
    trace = receiver.spans.filter((s) => s.traceId === TRACE_ID);
  }, 120_000);

  afterAll(() => receiver.close());

  it('exports the spans it buffered when it stops (SIGTERM)', () => {
    expect(exportedBeforeStop).toBe(0);
    expect(trace.length).toBeGreaterThanOrEqual(10);
  });

  it('exports OTLP/HTTP JSON as the service standalone', () => {
    expect(receiver.contentTypes.length).toBeGreaterThan(0);
    expect(receiver.contentTypes.every((t) => t.startsWith('application/json'))).toBe(true);
    expect(new Set(trace.map((s) => s.service))).toEqual(new Set(['standalone']));
  });

  it('links ingress → delivery → POST to the subscriber → reply → ingress, each to its parent', () => {
    const original = ofEvent('e-1');
    const reply = ofEvent('reply-1');
    const ingress = oneSpan(trace, (s) => original(s) && s.kind === SPAN_KIND.SERVER, 'ingress span');
    expect(ingress.name).toBe('broker ingress default/default');
    expect(ingress.parentSpanId).toBe(SENDER_SPAN);
    const deliver = oneSpan(trace, (s) => original(s) && s.kind === SPAN_KIND.PRODUCER, 'delivery span');
    expect(deliver.parentSpanId).toBe(ingress.spanId);
    expect(deliver.attributes['eventing.delivery.outcome']).toBe('delivered');
    const toSubscriber = oneSpan(
      trace,
      (s) => original(s) && s.kind === SPAN_KIND.CLIENT,
      'POST to the subscriber',
    );
    expect(toSubscriber.parentSpanId).toBe(deliver.spanId);
    expect(toSubscriber.attributes['http.response.status_code']).toBe(200);
    const [delivered] = topology.subscriber.requests;
    expect(delivered!.headers['traceparent']).toBe(`00-${TRACE_ID}-${toSubscriber.spanId}-01`);
    expect(delivered!.headers['tracestate']).toBe('vendor=abc');

    // The reply had no trace context of its own: it continues under the delivery's span, and enters
    // the broker in-process (no request: an internal span).
    const replyIngress = oneSpan(
      trace,
      (s) => reply(s) && s.kind === SPAN_KIND.INTERNAL,
      'ingress span of the reply',
    );
    expect(replyIngress.name).toBe('broker ingress default/default');
    expect(replyIngress.parentSpanId).toBe(deliver.spanId);
    // Filtered out by both triggers: the reply makes no delivery.
    expect(trace.filter((s) => reply(s) && s.kind === SPAN_KIND.PRODUCER)).toEqual([]);
  });

  it('makes no span of its own for the sender: every span is a child of one in the trace', () => {
    expect(unlinkedSpans(trace)).toEqual([]);
  });

  it('names the event’s trace on the warning written while its delivery was handled', () => {
    const heldIngress = oneSpan(
      trace,
      (s) => ofEvent('h-1')(s) && s.kind === SPAN_KIND.SERVER,
      'ingress span of the held event',
    );
    expect(held).toHaveLength(1);
    // The handling runs in the trace the event was stored with: its ingress span.
    expect(held[0]).toMatchObject({ id: 'h-1', trace_id: TRACE_ID, span_id: heldIngress.spanId });
  });
});

describe('standalone, tracing off', () => {
  let topology: Topology;
  afterAll(() => topology?.stop());

  it('hands the subscriber traceparent and tracestate as sent, and no log line names a trace', async () => {
    topology = await startTopology({});
    const res = await sendEvent(topology.brokerUrl, 'e-2', {
      traceparent: TRACEPARENT,
      tracestate: 'vendor=abc',
    });
    expect(res.status).toBe(202);
    const hold = await sendEvent(topology.brokerUrl, 'h-2', { traceparent: TRACEPARENT }, 'test.hold');
    expect(hold.status).toBe(202);
    const [delivered] = await topology.subscriber.waitFor(1);
    expect(delivered!.headers['traceparent']).toBe(TRACEPARENT);
    expect(delivered!.headers['tracestate']).toBe('vendor=abc');
    await eventually(() => logLines(topology.standalone, HELD).length > 0, 20_000, 'the held warning');
    const [line] = logLines(topology.standalone, HELD);
    expect(line).toMatchObject({ id: 'h-2' });
    expect(line).not.toHaveProperty('trace_id');
    expect(topology.standalone.output()).not.toContain('exporting spans');
  });
});
