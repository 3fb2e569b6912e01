import { ControlPlaneMetrics } from './control-plane-metrics';

describe('ControlPlaneMetrics', () => {
  it('records reconcile durations per kind and result, bound once per kind', async () => {
    const m = new ControlPlaneMetrics({ defaultMetrics: false });
    const brokers = m.kind('Broker');
    expect(m.kind('Broker')).toBe(brokers);
    brokers.observe(0.004, 'success');
    brokers.observe(0.2, 'error');
    m.reconciled('Trigger', 0.0005, 'requeue');
    const done = brokers.start();
    await new Promise((r) => setTimeout(r, 20));
    done('success');
    const text = await m.registry.metrics();
    expect(text).toContain('eventing_reconcile_duration_seconds_count{kind="Broker",result="success"} 2');
    expect(text).toContain(
      'eventing_reconcile_duration_seconds_bucket{le="0.005",kind="Broker",result="success"} 1',
    );
    expect(text).toContain(
      'eventing_reconcile_duration_seconds_bucket{le="0.25",kind="Broker",result="error"} 1',
    );
    expect(text).toContain('eventing_reconcile_duration_seconds_count{kind="Trigger",result="requeue"} 1');
    const sum = Number(
      /eventing_reconcile_duration_seconds_sum\{kind="Broker",result="success"\} (\S+)/.exec(text)?.[1],
    );
    expect(sum).toBeGreaterThanOrEqual(0.004 + 0.019);
  });

  it('reads work queue depths when scraped, until a queue is removed', async () => {
    const m = new ControlPlaneMetrics({ defaultMetrics: false });
    let depth = 4;
    const stop = m.trackQueue('brokers', () => depth);
    expect(await m.registry.metrics()).toContain('eventing_reconcile_queue_depth{queue="brokers"} 4');
    depth = 0;
    expect(await m.registry.metrics()).toContain('eventing_reconcile_queue_depth{queue="brokers"} 0');
    stop();
    expect(await m.registry.metrics()).not.toContain('queue="brokers"');
  });

  it('shares one registry with the data plane metrics (standalone runs both)', async () => {
    const { EventingMetrics } = await import('./metrics');
    const data = new EventingMetrics();
    const control = new ControlPlaneMetrics({ registry: data.registry });
    control.reconciled('Broker', 0.001, 'success');
    const text = await data.registry.metrics();
    expect(text).toContain('eventing_reconcile_duration_seconds_count{kind="Broker",result="success"} 1');
    expect(text).toContain('process_cpu_seconds_total');
  });
});
