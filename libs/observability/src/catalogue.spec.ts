import { Registry } from 'prom-client';
import { METRIC_LIST } from './catalogue';
import { ControlPlaneMetrics } from './control-plane-metrics';
import { EventingMetrics } from './metrics';
import { API_SERVER_SOURCE_GROUP, PING_SOURCE_GROUP, SourceMetrics } from './source-metrics';

describe('the metric catalogue', () => {
  it('lists exactly the metrics the classes register, with their type, labels and help', async () => {
    const registry = new Registry();
    new EventingMetrics({ registry, defaultMetrics: false });
    new ControlPlaneMetrics({ registry, defaultMetrics: false });
    const sources = new SourceMetrics({ registry, defaultMetrics: false });
    // Legacy source counters are registered with the first source of their kind.
    sources.source(PING_SOURCE_GROUP, 'ns', 'p');
    sources.source(API_SERVER_SOURCE_GROUP, 'ns', 'a');
    const registered = await registry.getMetricsAsJSON();
    expect(registered.map((m) => m.name).sort()).toEqual(METRIC_LIST.map((m) => m.name).sort());
    for (const info of METRIC_LIST) {
      const metric = registered.find((m) => m.name === info.name)!;
      expect({ name: info.name, type: metric.type, help: metric.help }).toEqual({
        name: info.name,
        type: info.type,
        help: info.help,
      });
    }
  });

  it('names follow Prometheus conventions: counters of ours end in _total, durations in _seconds', () => {
    for (const info of METRIC_LIST) {
      expect(info.name).toMatch(/^[a-z_][a-z0-9_]*$/);
      for (const label of info.labels) expect(label).toMatch(/^[a-z_][a-z0-9_]*$/);
      if (info.origin === 'eventing' && info.type === 'counter') expect(info.name).toMatch(/_total$/);
      if (info.type === 'histogram' && info.origin !== 'upstream-legacy')
        expect(info.name).toMatch(/_seconds$/);
      if (info.type === 'histogram') expect(info.buckets?.length).toBeGreaterThan(0);
    }
  });
});
