import { EventingMetrics, codeClass } from './metrics';

/** One series of the text exposition: its labels and value. */
interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The series of `name` in the registry's text exposition. */
async function samples(m: EventingMetrics, name: string): Promise<Sample[]> {
  const text = await m.registry.metrics();
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels: Record<string, string> = {};
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    if (open >= 0) {
      for (const [, key, value] of line.slice(open + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
        labels[key!] = value!;
    }
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return out;
}

const total = (series: Sample[]) => series.reduce((sum, s) => sum + s.value, 0);

async function overflow(m: EventingMetrics, metric: string): Promise<number> {
  return total(
    (await samples(m, 'eventing_metric_label_overflow_total')).filter((s) => s.labels['metric'] === metric),
  );
}

/** Deterministic random words, so a failure can be replayed. */
function randomWords(seed: number): () => string {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0).toString(36);
  };
}

const N = 100_000;

describe('EventingMetrics', () => {
  it('counts ingress and deliveries under upstream names and an outcome counter', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    m.ingressResult('ns', 'default', 'order', 202);
    m.ingressResult('ns', 'default', 'order', 202);
    m.triggerDelivery('ns', 'default', 't1', 500, 'held');
    m.held('ns', 'Trigger', 't1');
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
      'eventing_delivery_outcomes_total{namespace="ns",kind="Subscription",name="s1",outcome="delivered"} 1',
    );
    expect(text).toContain(
      'inmemorychannel_dispatcher_event_count{namespace_name="ns",subscription_name="s1",response_code="202",response_code_class="2xx"} 1',
    );
    expect(text).toContain('eventing_metric_label_overflow_total{metric="mt_broker_ingress_event_count"} 0');
    expect(codeClass(404)).toBe('4xx');
  });

  it('counts a held event once, by held(), however many attempts end held', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    m.triggerDelivery('ns', 'default', 't1', 503, 'held');
    m.triggerDelivery('ns', 'default', 't1', 503, 'held');
    m.subscriptionDelivery('ns', 's1', 503, 'held');
    expect(await samples(m, 'eventing_delivery_outcomes_total')).toEqual([]);
    m.held('ns', 'Trigger', 't1');
    expect(await samples(m, 'eventing_delivery_outcomes_total')).toEqual([
      { labels: { namespace: 'ns', kind: 'Trigger', name: 't1', outcome: 'held' }, value: 1 },
    ]);
    expect(total(await samples(m, 'mt_broker_filter_event_count'))).toBe(2);
  });

  it('refuses a cap below 1', () => {
    expect(() => new EventingMetrics({ defaultMetrics: false, maxSeriesPerMetric: 0 })).toThrow(RangeError);
    expect(() => new EventingMetrics({ defaultMetrics: false, maxEventTypesPerBroker: 0 })).toThrow(
      RangeError,
    );
  });
});

describe('EventingMetrics: label sets stay bounded whatever clients send', () => {
  it(`ingress: ${N} random brokers, namespaces, types and codes make exactly the cap of series, every request counted`, async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    const word = randomWords(1);
    for (let i = 0; i < N; i++) {
      const status = 200 + (Number.parseInt(word(), 36) % 400);
      m.ingressResult(`ns-${word()}`, `b-${word()}`, `type.${word()}`, status === 404 ? 405 : status);
    }
    const series = await samples(m, 'mt_broker_ingress_event_count');
    expect(series).toHaveLength(2000);
    expect(total(series)).toBe(N);
    // Nine tenths of the cap hold one request each under their own labels; the rest were folded.
    const own = series.filter((s) => s.labels['broker_name'] !== 'other');
    expect(own).toHaveLength(1800);
    expect(total(own)).toBe(1800);
    expect(await overflow(m, 'mt_broker_ingress_event_count')).toBe(N - 1800);
    // Folded buckets keep the response code while there is room, then share one all-`other` series.
    expect(series).toContainEqual({
      labels: {
        broker_name: 'other',
        namespace_name: 'other',
        event_type: 'other',
        response_code: 'other',
        response_code_class: 'other',
      },
      value: expect.any(Number),
    });
  });

  it(`ingress: ${N} random event types at one broker keep 100 types and fold the rest into "other"`, async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    const word = randomWords(2);
    for (let i = 0; i < N; i++) m.ingressResult('ns', 'default', `type.${word()}`, 202);
    const series = await samples(m, 'mt_broker_ingress_event_count');
    expect(series).toHaveLength(101);
    expect(total(series)).toBe(N);
    expect(series.find((s) => s.labels['event_type'] === 'other')?.value).toBe(N - 100);
    expect(await overflow(m, 'mt_broker_ingress_event_count')).toBe(N - 100);
  });

  it('ingress: the per-broker type cap is an option, and each broker has its own', async () => {
    const m = new EventingMetrics({ defaultMetrics: false, maxEventTypesPerBroker: 3 });
    for (const broker of ['a', 'b'])
      for (const type of ['t1', 't2', 't3', 't4', 't5']) m.ingressResult('ns', broker, type, 202);
    const series = await samples(m, 'mt_broker_ingress_event_count');
    expect(
      series.map((s) => `${s.labels['broker_name']}/${s.labels['event_type']}=${s.value}`).sort(),
    ).toEqual(['a/other=2', 'a/t1=1', 'a/t2=1', 'a/t3=1', 'b/other=2', 'b/t1=1', 'b/t2=1', 'b/t3=1']);
  });

  it(`ingress: ${N} requests to random unknown brokers (404) are counted in one fixed series`, async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    const word = randomWords(3);
    for (let i = 0; i < N; i++) m.ingressResult(`ns-${word()}`, `b-${word()}`, `type.${word()}`, 404);
    expect(await samples(m, 'mt_broker_ingress_event_count')).toEqual([
      {
        labels: {
          broker_name: 'other',
          namespace_name: 'other',
          event_type: 'other',
          response_code: '404',
          response_code_class: '4xx',
        },
        value: N,
      },
    ]);
    expect(await overflow(m, 'mt_broker_ingress_event_count')).toBe(0);
  });

  it('the series cap is an option of the constructor and applies to every labelled metric', async () => {
    const m = new EventingMetrics({ defaultMetrics: false, maxSeriesPerMetric: 50 });
    const word = randomWords(4);
    const calls = 5_000;
    for (let i = 0; i < calls; i++) {
      const status = [200, 202, 500, 503][i % 4]!;
      m.ingressResult(`ns-${word()}`, `b-${word()}`, `t-${word()}`, status);
      m.triggerDelivery(`ns-${word()}`, `b-${word()}`, `t-${word()}`, status, 'delivered');
      m.subscriptionDelivery(`ns-${word()}`, `s-${word()}`, status, 'failed');
      m.held(`ns-${word()}`, 'Trigger', `t-${word()}`);
      m.discarded(`ns-${word()}`, 'Trigger', `t-${word()}`, `reason-${word()}`, 2);
      m.applyFailed(`reason-${word()}`);
    }
    for (const [name, sum] of [
      ['mt_broker_ingress_event_count', calls],
      ['mt_broker_filter_event_count', calls],
      ['inmemorychannel_dispatcher_event_count', calls],
      ['eventing_delivery_outcomes_total', 3 * calls],
      ['eventing_events_discarded_total', 2 * calls],
      ['eventing_contract_apply_failures_total', calls],
    ] as const) {
      const series = await samples(m, name);
      expect({ name, count: series.length <= 50 && series.length >= 45 }).toEqual({ name, count: true });
      expect({ name, sum: total(series) }).toEqual({ name, sum });
      expect(await overflow(m, name)).toBeGreaterThan(0);
    }
  });

  it(`held gauge: ${N} random changes on 10,000 resources stay within the cap and add up`, async () => {
    const m = new EventingMetrics({ defaultMetrics: false, maxSeriesPerMetric: 100 });
    const word = randomWords(5);
    const now = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const r = Number.parseInt(word(), 36);
      const name = `t${r % 10_000}`;
      const held = now.get(name) ?? 0;
      const next = r % 3 === 0 ? r % 7 : Math.max(0, held + (r % 2 === 0 ? 1 : -1));
      if (r % 3 === 0) m.setHeld('ns', 'Trigger', name, next);
      else m.addHeld('ns', 'Trigger', name, next - held);
      now.set(name, next);
    }
    const series = await samples(m, 'eventing_events_held');
    expect(series.length).toBeLessThanOrEqual(100);
    expect(total(series)).toBe([...now.values()].reduce((a, b) => a + b, 0));
    for (const name of now.keys()) m.setHeld('ns', 'Trigger', name, 0);
    expect((await samples(m, 'eventing_events_held')).every((s) => s.value === 0)).toBe(true);
  });
});

describe('EventingMetrics: discards, held events and contracts', () => {
  it('counts discarded events by reason, one or many at a time', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    m.discarded('ns', 'Trigger', 't1', 'trigger_deleted', 7);
    m.discarded('ns', 'Trigger', 't1', 'trigger_deleted');
    m.discarded('ns', 'Subscription', 's1', 'shutdown', 3);
    expect(await samples(m, 'eventing_events_discarded_total')).toEqual([
      { labels: { namespace: 'ns', kind: 'Trigger', name: 't1', reason: 'trigger_deleted' }, value: 8 },
      { labels: { namespace: 'ns', kind: 'Subscription', name: 's1', reason: 'shutdown' }, value: 3 },
    ]);
  });

  it('sets and moves the held gauge per resource', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    m.setHeld('ns', 'Trigger', 't1', 4);
    m.addHeld('ns', 'Trigger', 't1', -1);
    m.addHeld('ns', 'Subscription', 's1', 2);
    expect(await samples(m, 'eventing_events_held')).toEqual([
      { labels: { namespace: 'ns', kind: 'Trigger', name: 't1' }, value: 3 },
      { labels: { namespace: 'ns', kind: 'Subscription', name: 's1' }, value: 2 },
    ]);
  });

  it('a folded held series holds the sum of the resources folded into it', async () => {
    // Cap 20: eighteen resources get their own series, two are kept for the buckets.
    const m = new EventingMetrics({ defaultMetrics: false, maxSeriesPerMetric: 20 });
    for (let i = 1; i <= 22; i++) m.setHeld('ns', 'Trigger', `t${i}`, i);
    m.setHeld('ns', 'Trigger', 't22', 1);
    const series = await samples(m, 'eventing_events_held');
    expect(series).toHaveLength(19);
    expect(series.find((s) => s.labels['name'] === 'other')).toEqual({
      labels: { namespace: 'other', kind: 'Trigger', name: 'other' },
      value: 19 + 20 + 21 + 1,
    });
    expect(await overflow(m, 'eventing_events_held')).toBe(5);
    for (let i = 19; i <= 22; i++) m.setHeld('ns', 'Trigger', `t${i}`, 0);
    expect((await samples(m, 'eventing_events_held')).find((s) => s.labels['name'] === 'other')?.value).toBe(
      0,
    );
  });

  it('counts contract apply failures and records the generation applied', async () => {
    const m = new EventingMetrics({ defaultMetrics: false });
    expect(await samples(m, 'eventing_contract_generation')).toEqual([{ labels: {}, value: 0 }]);
    // The known reasons are there at 0 from the start, so the first failure shows in increase().
    expect(await samples(m, 'eventing_contract_apply_failures_total')).toEqual(
      ['contract_rejected', 'apply_error', 'resource_failed', 'reload_error'].map((reason) => ({
        labels: { reason },
        value: 0,
      })),
    );
    m.applyFailed('contract_rejected');
    m.applyFailed('contract_rejected');
    m.contractApplied(42);
    expect(
      (await samples(m, 'eventing_contract_apply_failures_total')).find(
        (s) => s.labels['reason'] === 'contract_rejected',
      ),
    ).toEqual({ labels: { reason: 'contract_rejected' }, value: 2 });
    expect(await samples(m, 'eventing_contract_generation')).toEqual([{ labels: {}, value: 42 }]);
  });
});
