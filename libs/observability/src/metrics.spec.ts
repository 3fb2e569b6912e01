import { EventingMetrics, codeClass } from './metrics';

describe('EventingMetrics', () => {
  it('counts ingress and deliveries under upstream names and an outcome counter', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    m.ingressResult('ns', 'default', 'order', 202);
    m.ingressResult('ns', 'default', 'order', 202);
    m.triggerDelivery('ns', 'default', 't1', 500, 'held');
    m.subscriptionDelivery('ns', 's1', 202, 'delivered');
    const text = await m.registry.metrics();
    expect(text).toContain(
      'mt_broker_ingress_event_count{broker_name="default",namespace_name="ns",event_type="order",response_code="202",response_code_class="2xx"} 2',
    );
    expect(text).toContain(
      'mt_broker_filter_event_count{broker_name="default",trigger_name="t1",namespace_name="ns",response_code="500",response_code_class="5xx"} 1',
    );
    expect(text).toContain(
      'eventing_delivery_outcomes_total{namespace="ns",kind="Trigger",name="t1",outcome="held"} 1',
    );
    expect(text).toContain(
      'inmemorychannel_dispatcher_event_count{namespace_name="ns",subscription_name="s1",response_code="202",response_code_class="2xx"} 1',
    );
    expect(codeClass(404)).toBe('4xx');
  });
});
