import { ControlPlaneMetrics } from './control-plane-metrics';
import { EventingMetrics } from './metrics';

describe('ControlPlaneMetrics', () => {
  it("records reconciles per kind and outcome under apps/controller's names, durations in seconds", async () => {
    const m = new ControlPlaneMetrics({ defaultMetrics: false });
    const { onReconciled } = m;
    onReconciled('Broker', 4, 'ok');
    onReconciled('Broker', 200, 'error');
    onReconciled('Trigger', 0.3, 'conflict');
    const text = await m.registry.metrics();
    expect(text).toContain('eventing_controller_reconciles_total{kind="Broker",outcome="ok"} 1');
    expect(text).toContain('eventing_controller_reconciles_total{kind="Broker",outcome="error"} 1');
    // Every outcome of a kind is there from its first reconcile, so increase() sees the first error.
    expect(text).toContain('eventing_controller_reconciles_total{kind="Broker",outcome="conflict"} 0');
    expect(text).toContain(
      'eventing_controller_reconcile_duration_seconds_bucket{le="0.005",kind="Broker"} 1',
    );
    expect(text).toContain('eventing_controller_reconcile_duration_seconds_bucket{le="0.5",kind="Broker"} 2');
    expect(text).toContain('eventing_controller_reconcile_duration_seconds_count{kind="Trigger"} 1');
  });

  it('reads the queue depth and API requests when scraped, and shows leadership and the contract written', async () => {
    const m = new ControlPlaneMetrics({ defaultMetrics: false });
    let depth = 4;
    m.trackQueueDepth(() => depth);
    m.trackApiRequests(() => ({ list: 3, write: 1 }));
    m.setLeader(true);
    m.contractWritten(7);
    let text = await m.registry.metrics();
    expect(text).toContain('eventing_controller_queue_depth 4');
    expect(text).toContain('eventing_controller_api_requests{purpose="list"} 3');
    expect(text).toContain('eventing_controller_leader 1');
    expect(text).toContain('eventing_contract_generation 7');
    depth = 0;
    m.setLeader(false);
    text = await m.registry.metrics();
    expect(text).toContain('eventing_controller_queue_depth 0');
    expect(text).toContain('eventing_controller_leader 0');
  });

  it('shares one registry with the data plane metrics (standalone runs both)', async () => {
    const data = new EventingMetrics();
    const control = new ControlPlaneMetrics({ registry: data.registry });
    control.onReconciled('Broker', 1, 'ok');
    data.contractApplied(3);
    const text = await data.registry.metrics();
    expect(text).toContain('eventing_controller_reconciles_total{kind="Broker",outcome="ok"} 1');
    expect(text).toContain('eventing_contract_generation 3');
    expect(text).toContain('process_cpu_seconds_total');
  });
});
