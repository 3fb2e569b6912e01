import { EventingMetrics, type MetricsTarget } from './metrics';

/** The value of the one series of `name` whose labels include all of `labels`; 0 when there is none. */
async function value(m: EventingMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await m.registry.metrics();
  let found = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      found += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return found;
}

const broker: MetricsTarget = { kind: 'Broker', namespace: 'ns', name: 'default' };
const trigger: MetricsTarget = { kind: 'Trigger', namespace: 'ns', name: 't1', broker: 'default' };
const channel: MetricsTarget = { kind: 'Channel', namespace: 'ns', name: 'ch' };
const subscription: MetricsTarget = { kind: 'Subscription', namespace: 'ns', name: 's1', channel: 'ch' };

describe('EventingMetrics by target', () => {
  it('counts outcomes, retries and upstream response codes of trigger deliveries', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    m.deliveryEnded(trigger, 'order', 202, 'delivered', 1);
    m.deliveryEnded(trigger, 'order', 503, 'dead_lettered', 4);
    m.deliveryEnded(trigger, 'order', 503, 'held', 4);
    const text = await m.registry.metrics();
    expect(text).toContain(
      'mt_broker_filter_event_count{broker_name="default",trigger_name="t1",namespace_name="ns",response_code="503",response_code_class="5xx"} 2',
    );
    expect(text).toContain(
      'eventing_delivery_outcomes_total{namespace="ns",kind="Trigger",name="t1",outcome="delivered"} 1',
    );
    expect(text).toContain(
      'eventing_delivery_outcomes_total{namespace="ns",kind="Trigger",name="t1",outcome="dead_lettered"} 1',
    );
    // A held end is counted by heldFor, once per event; its attempts are counted when it ends.
    expect(await value(m, 'eventing_delivery_outcomes_total', { outcome: 'held' })).toBe(0);
    expect(text).toContain('eventing_delivery_retries_total{namespace="ns",kind="Trigger",name="t1"} 3');
  });

  it('records dispatch durations under upstream OTel names for triggers, subscriptions and ingress', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    m.deliveryEnded(trigger, 'order', 202, 'delivered', 1, 0.03);
    m.deliveryEnded(subscription, 'order', 200, 'delivered', 1, 0.2);
    m.ingressResult('ns', 'default', 'order', 202, 0.004);
    const text = await m.registry.metrics();
    expect(text).toContain(
      'kn_eventing_dispatch_duration_seconds_bucket{le="0.05",kn_broker_namespace="ns",kn_broker_name="default",messaging_destination_name="trigger:t1.ns",cloudevents_type="order",http_response_status_code="202",messaging_system="knative",messaging_operation_name="send",url_scheme="http"} 1',
    );
    expect(text).toContain(
      'kn_eventing_dispatch_duration_seconds_bucket{le="0.25",kn_channel_namespace="ns",kn_channel_name="ch",messaging_destination_name="subscription:s1.ns",cloudevents_type="order",http_response_status_code="200",messaging_system="knative",messaging_operation_name="send",url_scheme="http"} 1',
    );
    expect(text).toContain(
      'kn_eventing_dispatch_duration_seconds_count{kn_broker_namespace="ns",kn_broker_name="default",messaging_destination_name="broker:default.ns",cloudevents_type="order",http_response_status_code="202",messaging_system="knative",messaging_operation_name="send",url_scheme="http"} 1',
    );
    // Legacy latencies, in milliseconds.
    expect(
      await value(m, 'mt_broker_filter_event_dispatch_latencies_bucket', { le: '50', trigger_name: 't1' }),
    ).toBe(1);
    expect(
      await value(m, 'mt_broker_filter_event_dispatch_latencies_bucket', { le: '20', trigger_name: 't1' }),
    ).toBe(0);
    expect(await value(m, 'inmemorychannel_dispatcher_event_dispatch_latencies_sum')).toBeCloseTo(200);
    expect(await value(m, 'mt_broker_ingress_event_dispatch_latencies_count', { event_type: 'order' })).toBe(
      1,
    );
  });

  it('leaves the legacy latency histograms out when asked', async () => {
    const m = new EventingMetrics({ defaultMetrics: false, legacyLatencies: false });
    m.deliveryEnded(trigger, 'order', 202, 'delivered', 1, 0.03);
    m.ingressResult('ns', 'default', 'order', 202, 0.004);
    const text = await m.registry.metrics();
    expect(text).not.toContain('_dispatch_latencies');
    expect(text).toContain('kn_eventing_dispatch_duration_seconds_count');
  });

  it('tracks pending deliveries per broker and channel from accepted to their end', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    const pending = (t: MetricsTarget) =>
      value(m, 'eventing_deliveries_pending', { kind: t.kind, name: t.name });
    m.acceptedFor(broker, 3);
    m.acceptedFor(broker, 2);
    m.acceptedFor(channel, 1);
    expect(await pending(broker)).toBe(5);
    m.deliveryEnded(trigger, 'order', 202, 'delivered', 1);
    m.deliveryEnded(trigger, 'order', 500, 'failed', 3);
    m.deliveryEnded(trigger, 'order', 500, 'held', 3);
    expect(await pending(broker)).toBe(3);
    m.discardedFor(trigger, 'trigger_deleted', 2);
    expect(await pending(broker)).toBe(1);
    // Stored for nobody: counted as discarded at the broker, nothing was owed.
    m.discardedFor(broker, 'no_matching_trigger', 1);
    expect(await pending(broker)).toBe(1);
    expect(
      await value(m, 'eventing_events_discarded_total', { kind: 'Broker', reason: 'no_matching_trigger' }),
    ).toBe(1);
    m.deliveryEnded(subscription, 'order', 202, 'delivered', 1);
    expect(await pending(channel)).toBe(0);
    // Ends of events accepted before a restart (a durable store) never make it negative.
    m.deliveryEnded(subscription, 'order', 202, 'delivered', 1);
    expect(await pending(channel)).toBe(0);
    expect(await value(m, 'eventing_deliveries_accepted_total', { name: 'default' })).toBe(5);
    expect(await value(m, 'eventing_events_accepted_total', { name: 'default' })).toBe(2);
  });

  it('counts deliveries consumers take on when the store does not count copies', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    m.acceptedFor(broker, undefined);
    m.owedFor(trigger);
    m.owedFor(trigger);
    expect(await value(m, 'eventing_deliveries_accepted_total', { kind: 'Broker', name: 'default' })).toBe(2);
    expect(await value(m, 'eventing_deliveries_pending', { kind: 'Broker', name: 'default' })).toBe(2);
    m.deliveryEnded(trigger, 'order', 202, 'delivered', 1);
    expect(await value(m, 'eventing_deliveries_pending', { kind: 'Broker', name: 'default' })).toBe(1);
  });

  it('counts a held event once and shows it held until released', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    m.heldFor(trigger);
    m.heldFor(trigger);
    expect(await value(m, 'eventing_events_held', { name: 't1' })).toBe(2);
    expect(await value(m, 'eventing_delivery_outcomes_total', { name: 't1', outcome: 'held' })).toBe(2);
    m.releasedFor(trigger, 2);
    expect(await value(m, 'eventing_events_held', { name: 't1' })).toBe(0);
  });

  it('reads in-flight deliveries and consumer backlogs when scraped, from every source until removed', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    let active = 3;
    const stopA = m.trackInFlight(() => ({ active, waiting: 1 }));
    m.trackInFlight(() => ({ active: 2, waiting: 0 }));
    const stopB = m.trackBacklog(() => [
      ['ns', 'Trigger', 't1', 7],
      ['ns', 'Subscription', 's1', 0],
    ]);
    expect(await value(m, 'eventing_deliveries_in_flight')).toBe(5);
    expect(await value(m, 'eventing_deliveries_waiting')).toBe(1);
    expect(await value(m, 'eventing_consumer_backlog', { kind: 'Trigger', name: 't1' })).toBe(7);
    active = 10;
    expect(await value(m, 'eventing_deliveries_in_flight')).toBe(12);
    stopA();
    stopB();
    expect(await value(m, 'eventing_deliveries_in_flight')).toBe(2);
    expect(await m.registry.metrics()).not.toMatch(/^eventing_consumer_backlog\{/m);
  });

  it('bounds dispatch histograms: many triggers and event types keep the cap and count every sample', async () => {
    const m = new EventingMetrics({
      defaultMetrics: false,
      maxHistogramSeriesPerMetric: 50,
      maxEventTypesPerBroker: 5,
    });
    const N = 20_000;
    const targets: MetricsTarget[] = [];
    for (let i = 0; i < 200; i++)
      targets.push({ kind: 'Trigger', namespace: 'ns', name: `t${i}`, broker: 'b' });
    for (let i = 0; i < N; i++)
      m.deliveryEnded(targets[i % 200]!, `type.${i % 37}`, 202, 'delivered', 1, 0.01);
    const text = await m.registry.metrics();
    const counts = [...text.matchAll(/^kn_eventing_dispatch_duration_seconds_count\{[^}]*\} (\d+)$/gm)];
    expect(counts.length).toBeLessThanOrEqual(50);
    expect(counts.reduce((a, c) => a + Number(c[1]), 0)).toBe(N);
    expect(
      await value(m, 'eventing_metric_label_overflow_total', {
        metric: 'kn_eventing_dispatch_duration_seconds',
      }),
    ).toBeGreaterThan(0);
    expect(text).toContain('cloudevents_type="other"');
  });

  it('counts an attempt without an outcome for services that do not own retries (broker-filter)', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    m.attemptEnded(trigger, 'order', 503);
    m.attemptEnded(trigger, 'order', 202, 0.01);
    expect(await value(m, 'mt_broker_filter_event_count', { trigger_name: 't1' })).toBe(2);
    expect(await value(m, 'eventing_delivery_outcomes_total')).toBe(0);
    expect(await value(m, 'eventing_deliveries_pending')).toBe(0);
    expect(
      await value(m, 'kn_eventing_dispatch_duration_seconds_count', {
        messaging_destination_name: 'trigger:t1.ns',
      }),
    ).toBe(1);
  });

  it('the name-keyed methods and the target ones count the same series', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    m.accepted('ns', 'Broker', 'default', 2);
    m.acceptedFor(broker, 1);
    m.triggerDelivery('ns', 'default', 't1', 202, 'delivered');
    m.deliveryEnded(trigger, 'order', 202, 'delivered', 1);
    expect(await value(m, 'eventing_deliveries_accepted_total', { name: 'default' })).toBe(3);
    expect(await value(m, 'eventing_delivery_outcomes_total', { name: 't1', outcome: 'delivered' })).toBe(2);
    expect(await value(m, 'eventing_deliveries_pending', { name: 'default' })).toBe(1);
  });
});
