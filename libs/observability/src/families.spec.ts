import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CounterFamily, GaugeFamily, HistogramFamily, LazyChild } from './families';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5];

function families(maxSeries = 100) {
  const ours = new Registry();
  const theirs = new Registry();
  let folds = 0;
  const base = { foldable: ['name'], maxSeries, onFold: () => folds++, registry: ours };
  return {
    ours,
    theirs,
    folds: () => folds,
    counter: new CounterFamily({ ...base, name: 'c_total', help: 'c', labelNames: ['name', 'code'] }),
    gauge: new GaugeFamily({ ...base, name: 'g', help: 'g', labelNames: ['name'] }),
    histogram: new HistogramFamily({
      ...base,
      name: 'h_seconds',
      help: 'h',
      labelNames: ['name', 'code'],
      buckets: BUCKETS,
    }),
    promCounter: new Counter({
      name: 'c_total',
      help: 'c',
      labelNames: ['name', 'code'],
      registers: [theirs],
    }),
    promGauge: new Gauge({ name: 'g', help: 'g', labelNames: ['name'], registers: [theirs] }),
    promHistogram: new Histogram({
      name: 'h_seconds',
      help: 'h',
      labelNames: ['name', 'code'],
      buckets: BUCKETS,
      registers: [theirs],
    }),
  };
}

/** The exposition's lines, sorted: both registries list series in first-use order, which may differ. */
async function lines(registry: Registry): Promise<string[]> {
  return (await registry.metrics()).split('\n').sort();
}

describe('metric families', () => {
  it('expose exactly what prom-client exposes for the same samples (any names, codes and values)', async () => {
    const name = fc.constantFrom('a', 'b', 'with "quotes"', 'back\\slash', 'new\nline', 'ünï');
    const code = fc.constantFrom('200', '404', '503');
    const sample = fc.record({
      name,
      code,
      value: fc.double({ min: 0, max: 20, noNaN: true }),
      delta: fc.integer({ min: -5, max: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(sample, { maxLength: 60 }), async (samples) => {
        const f = families();
        for (const s of samples) {
          f.counter.child([s.name, s.code]).inc(s.value);
          f.promCounter.labels(s.name, s.code).inc(s.value);
          f.gauge.child([s.name]).inc(s.delta);
          f.promGauge.labels(s.name).inc(s.delta);
          f.histogram.child([s.name, s.code]).observe(s.value);
          f.promHistogram.labels(s.name, s.code).observe(s.value);
        }
        expect(await lines(f.ours)).toEqual(await lines(f.theirs));
      }),
      { numRuns: 60 },
    );
  });

  it('hold at most maxSeries children and count every folded sample', async () => {
    const f = families(10);
    for (let i = 0; i < 1000; i++) f.counter.child([`n${i}`, '200']).inc();
    expect(f.counter.size).toBeLessThanOrEqual(10);
    const text = await f.ours.metrics();
    const sum = [...text.matchAll(/^c_total\{[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
    expect(sum).toBe(1000);
    expect(f.folds()).toBe(1000 - 9);
  });

  it('a lazy child keeps its series once it has one, and looks a folded one up on every use', () => {
    const f = families(4);
    const kept = new LazyChild(f.counter, ['kept', '200']);
    kept.get().inc();
    for (let i = 0; i < 10; i++) f.counter.child([`filler${i}`, '200']).inc();
    // Three own series (a tenth of the cap, at least one, is kept for the buckets): eight fillers fold.
    expect(f.folds()).toBe(8);
    kept.get().inc();
    expect(f.folds()).toBe(8);
    const late = new LazyChild(f.counter, ['late', '200']);
    late.get().inc();
    late.get().inc();
    expect(f.folds()).toBe(10);
    const forced = new LazyChild(f.counter, ['other', '200'], true);
    forced.get().inc();
    expect(f.folds()).toBe(11);
  });

  it('leave empty label values out, so one family serves label sets that differ', async () => {
    const f = families();
    f.counter.child(['', '200']).inc();
    expect(await f.ours.metrics()).toContain('c_total{code="200"} 1');
  });

  it('refuse buckets that are not distinct finite numbers', () => {
    const registry = new Registry();
    const base = { help: 'h', labelNames: ['a'], foldable: ['a'], maxSeries: 1, onFold: () => 0, registry };
    expect(() => new HistogramFamily({ ...base, name: 'h1', buckets: [] })).toThrow(RangeError);
    expect(() => new HistogramFamily({ ...base, name: 'h2', buckets: [1, 1] })).toThrow(RangeError);
    expect(() => new HistogramFamily({ ...base, name: 'h3', buckets: [1, Infinity] })).toThrow(RangeError);
  });

  it('start again from zero on Registry.resetMetrics', async () => {
    const f = families();
    f.counter.child(['a', '200']).inc(3);
    f.histogram.child(['a', '200']).observe(0.2);
    f.ours.resetMetrics();
    const text = await f.ours.metrics();
    expect(text).toContain('c_total{name="a",code="200"} 0');
    expect(text).toContain('h_seconds_count{name="a",code="200"} 0');
  });
});
