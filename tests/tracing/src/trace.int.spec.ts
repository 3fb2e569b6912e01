import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildApps,
  ce,
  eventually,
  spawnApp,
  startSubscriber,
  writeContract,
  type AppProcess,
  type TestSubscriber,
} from '@eventing/testing';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver';
import { SENDER_SPAN, SPAN_KIND, TRACEPARENT, TRACE_ID, oneSpan, sendEvent, unlinkedSpans } from './spans';

// One event through upstream's channel-based broker as three processes on one contract file:
// broker-ingress → the broker's channel in imc-dispatcher → broker-filter → a subscriber that replies
// → the reply back into broker-ingress. With an OTLP endpoint every hop exports its span to the
// receiver this test runs, all in the sender's trace; without one, traceparent and tracestate still
// travel every hop untouched (CONFORMANCE B11, 2.9).

interface Topology {
  ingress: AppProcess;
  imc: AppProcess;
  filter: AppProcess;
  subscriber: TestSubscriber;
  brokerUrl: string;
  stop(): Promise<void>;
}

async function startTopology(env: Record<string, string>): Promise<Topology> {
  const dir = mkdtempSync(join(tmpdir(), 'tracing-'));
  const contractPath = join(dir, 'contract.json');
  writeContract(contractPath, { generation: 1 });
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
  const common = { CONTRACT_PATH: contractPath, LOG_LEVEL: 'warn', ...env };
  const started: AppProcess[] = [];
  try {
    const ingress = await spawnApp('broker-ingress', { ...common, OTEL_SERVICE_NAME: 'ingress' });
    started.push(ingress);
    const imc = await spawnApp('imc-dispatcher', common);
    started.push(imc);
    const filter = await spawnApp('broker-filter', common);
    started.push(filter);
    writeContract(contractPath, {
      generation: 2,
      brokers: [
        {
          uid: 'b1',
          namespace: 'default',
          name: 'default',
          channelAddress: `${imc.url}/default/default-kne-trigger`,
        },
      ],
      triggers: [
        {
          uid: 't1',
          namespace: 'default',
          name: 'only-events',
          broker: 'default',
          filter: { attributes: { type: 'test.event' } },
          subscriberUri: `${subscriber.url}/`,
          policy: { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 0 },
          format: 'binary',
        },
      ],
      channels: [{ uid: 'c1', namespace: 'default', name: 'default-kne-trigger' }],
      subscriptions: [
        {
          uid: 's1',
          namespace: 'default',
          name: 'only-events',
          channel: { namespace: 'default', name: 'default-kne-trigger' },
          subscriberUri: `${filter.url}/triggers/default/only-events/t1`,
          replyUri: `${ingress.url}/default/default`,
          policy: { retry: 0, backoffPolicy: 'exponential', backoffDelayMs: 0 },
          format: 'binary',
        },
      ],
    });
    const brokerUrl = `${ingress.url}/default/default`;
    // Ready once the broker is served (an event of another type goes nowhere but is accepted).
    const until = Date.now() + 20_000;
    for (;;) {
      const status = await fetch(brokerUrl, { method: 'POST', headers: ce('probe', 'test.probe') }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 202) break;
      if (Date.now() > until) throw new Error(`broker not served: ${status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      ingress,
      imc,
      filter,
      subscriber,
      brokerUrl,
      stop: async () => {
        // SIGTERM: each service exports what it still buffers before exiting.
        for (const p of started) p.kill('SIGTERM');
        await Promise.all(started.map((p) => p.exited));
        await subscriber.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const p of started) p.kill();
    await subscriber.close();
    throw err;
  }
}

beforeAll(() => buildApps('broker-ingress', 'imc-dispatcher', 'broker-filter'), 120_000);

describe('tracing on: one event, one trace in the OTLP receiver', () => {
  let receiver: OtlpReceiver;
  let topology: Topology;
  let trace: ReceivedSpan[];

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    topology = await startTopology({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    // The probes' answers offer eventing frames on both internal hops; once the connections are up
    // (a moment on loopback), the event travels over frames, as every event but the first few does.
    for (let i = 0; i < 5; i++) {
      await fetch(topology.brokerUrl, { method: 'POST', headers: ce(`warm-${i}`, 'test.probe') });
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await sendEvent(topology.brokerUrl, 'e-1', {
      traceparent: TRACEPARENT,
      tracestate: 'vendor=abc',
    });
    expect(res.status).toBe(202);
    // The reply re-enters the broker, goes through the channel and is filtered out: the last hops.
    await topology.subscriber.waitFor(1);
    await eventually(
      () =>
        receiver.spans.filter((s) => s.traceId === TRACE_ID && s.name.startsWith('broker ingress')).length >=
        2,
      15_000,
      'both ingress spans',
    );
    await topology.stop();
    trace = receiver.spans.filter((s) => s.traceId === TRACE_ID);
  });

  afterAll(() => receiver.close());

  const one = (predicate: (s: ReceivedSpan) => boolean, what: string) => oneSpan(trace, predicate, what);

  it('exports OTLP/HTTP JSON from all three services', () => {
    expect(receiver.contentTypes.every((t) => t.startsWith('application/json'))).toBe(true);
    expect(new Set(trace.map((s) => s.service))).toEqual(
      new Set(['ingress', 'imc-dispatcher', 'broker-filter']),
    );
  });

  it('links ingress → channel dispatch → filter → subscriber → reply → ingress, each to its parent', () => {
    const original = (s: ReceivedSpan) => s.attributes['cloudevents.event_id'] === 'e-1';
    const reply = (s: ReceivedSpan) => s.attributes['cloudevents.event_id'] === 'reply-1';
    const ingress = one(
      (s) => original(s) && s.service === 'ingress' && s.kind === SPAN_KIND.SERVER,
      'ingress span of the event',
    );
    expect(ingress.name).toBe('broker ingress default/default');
    expect(ingress.parentSpanId).toBe(SENDER_SPAN);
    // broker-ingress stores the event by POSTing it to the broker's channel in imc-dispatcher.
    const toChannel = one(
      (s) => original(s) && s.service === 'ingress' && s.kind === SPAN_KIND.CLIENT,
      'POST to the channel',
    );
    expect(toChannel.parentSpanId).toBe(ingress.spanId);
    expect(toChannel.attributes['network.protocol.name']).toBe('eventing-frames');
    const channel = one(
      (s) => original(s) && s.service === 'imc-dispatcher' && s.kind === SPAN_KIND.SERVER,
      'channel ingress span',
    );
    expect(channel.name).toBe('channel ingress default/default-kne-trigger');
    expect(channel.parentSpanId).toBe(toChannel.spanId);

    const dispatch = one(
      (s) => original(s) && s.service === 'imc-dispatcher' && s.kind === SPAN_KIND.PRODUCER,
      'channel delivery of the event',
    );
    expect(dispatch.parentSpanId).toBe(channel.spanId);
    expect(dispatch.attributes['eventing.delivery.outcome']).toBe('delivered');
    const toFilter = one(
      (s) => original(s) && s.service === 'imc-dispatcher' && s.kind === SPAN_KIND.CLIENT,
      'POST to broker-filter',
    );
    expect(toFilter.parentSpanId).toBe(dispatch.spanId);
    expect(toFilter.attributes['url.full']).toContain('/triggers/default/only-events/t1');
    expect(toFilter.attributes['network.protocol.name']).toBe('eventing-frames');

    const filter = one(
      (s) => original(s) && s.service === 'broker-filter' && s.kind === SPAN_KIND.SERVER,
      'filter span',
    );
    expect(filter.name).toBe('trigger default/only-events');
    expect(filter.parentSpanId).toBe(toFilter.spanId);
    const toSubscriber = one(
      (s) => original(s) && s.service === 'broker-filter' && s.kind === SPAN_KIND.CLIENT,
      'POST to the subscriber',
    );
    expect(toSubscriber.parentSpanId).toBe(filter.spanId);
    expect(toSubscriber.attributes['http.response.status_code']).toBe(200);

    // The subscriber was handed the delivery span's context, with the sender's tracestate.
    const [delivered] = topology.subscriber.requests;
    expect(delivered!.headers['traceparent']).toBe(`00-${TRACE_ID}-${toSubscriber.spanId}-01`);
    expect(delivered!.headers['tracestate']).toBe('vendor=abc');

    // The reply had no trace context of its own: it continues under the filter's span.
    const replyPost = one(
      (s) =>
        reply(s) &&
        s.service === 'imc-dispatcher' &&
        s.kind === SPAN_KIND.CLIENT &&
        String(s.attributes['url.full']).endsWith('/default/default'),
      'POST of the reply to the broker',
    );
    expect(replyPost.parentSpanId).toBe(filter.spanId);
    const replyIngress = one(
      (s) => reply(s) && s.service === 'ingress' && s.kind === SPAN_KIND.SERVER,
      'ingress span of the reply',
    );
    expect(replyIngress.parentSpanId).toBe(replyPost.spanId);
    const replyDispatch = one(
      (s) => reply(s) && s.service === 'imc-dispatcher' && s.kind === SPAN_KIND.PRODUCER,
      'channel delivery of the reply',
    );
    const replyChannel = one(
      (s) => reply(s) && s.service === 'imc-dispatcher' && s.kind === SPAN_KIND.SERVER,
      'channel ingress span of the reply',
    );
    expect(replyDispatch.parentSpanId).toBe(replyChannel.spanId);
    expect(replyChannel.parentSpanId).toBe(
      one(
        (s) => reply(s) && s.service === 'ingress' && s.kind === SPAN_KIND.CLIENT,
        'reply POST to the channel',
      ).spanId,
    );
    // Filtered out by the trigger: the reply reaches broker-filter but makes no delivery.
    expect(trace.filter((s) => reply(s) && s.service === 'broker-filter')).toEqual([]);
  });

  it('makes no span of its own for the sender: every span is a child of one in the trace', () => {
    expect(unlinkedSpans(trace)).toEqual([]);
  });
});

describe('tracing off: traceparent and tracestate travel untouched', () => {
  let topology: Topology;
  afterAll(() => topology?.stop());

  it('hands the subscriber the sender’s traceparent and tracestate as they were sent', async () => {
    topology = await startTopology({});
    const res = await sendEvent(topology.brokerUrl, 'e-2', {
      traceparent: TRACEPARENT,
      tracestate: 'vendor=abc',
    });
    expect(res.status).toBe(202);
    const [delivered] = await topology.subscriber.waitFor(1);
    expect(delivered!.headers['traceparent']).toBe(TRACEPARENT);
    expect(delivered!.headers['tracestate']).toBe('vendor=abc');
  });
});
