import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { MetricInfo } from './catalogue';
import { METRICS } from './catalogue';
import { CollectedGauge, CounterFamily, GaugeFamily, HistogramFamily } from './families';

/** The options every metrics class of this library takes. */
export interface MetricsOptions {
  /** The registry to fill (default: a new one, in `registry`). */
  registry?: Registry;
  /** Collect Node's process metrics into the same registry (default: true). */
  defaultMetrics?: boolean;
  /**
   * Distinct label combinations each counter or gauge may hold (default: 2000). Beyond it, samples
   * fold into series whose client-chosen labels read `other`, and `eventing_metric_label_overflow_total`
   * counts them.
   */
  maxSeriesPerMetric?: number;
  /**
   * Distinct label combinations each histogram may hold (default: 500); each exposes one series per
   * bucket plus `_sum` and `_count` (17 for upstream's buckets).
   */
  maxHistogramSeriesPerMetric?: number;
}

export const DEFAULT_MAX_SERIES_PER_METRIC = 2000;
export const DEFAULT_MAX_HISTOGRAM_SERIES_PER_METRIC = 500;

/** Adds Node's process metrics (prom-client's defaults) to a registry, once however often it is called. */
export function processMetrics(registry: Registry): void {
  if (registry.getSingleMetric('process_cpu_seconds_total') === undefined)
    collectDefaultMetrics({ register: registry });
}

/** Builds the families of a {@link MetricInfo} list into one registry, bounded and counted alike. */
export class FamilyFactory {
  private readonly overflow: CounterFamily;

  constructor(
    readonly registry: Registry,
    private readonly maxSeries: number,
    private readonly maxHistogramSeries: number,
  ) {
    for (const [name, n] of [
      ['maxSeriesPerMetric', maxSeries],
      ['maxHistogramSeriesPerMetric', maxHistogramSeries],
    ] as const)
      if (!Number.isInteger(n) || n < 1)
        throw new RangeError(`${name} ${n}: expected an integer of at least 1`);
    this.overflow =
      (registry.getSingleMetric(METRICS.labelOverflow.name) as unknown as CounterFamily | undefined) ??
      new CounterFamily({
        ...this.base(METRICS.labelOverflow, ['metric']),
        maxSeries: 1000,
        onFold: () => undefined,
      });
  }

  /** A counter; `foldable` labels become `other` first when it is full. */
  counter(info: MetricInfo, foldable: readonly string[]): CounterFamily {
    return new CounterFamily({
      ...this.base(info, foldable),
      maxSeries: this.maxSeries,
      onFold: this.folds(info),
    });
  }

  gauge(info: MetricInfo, foldable: readonly string[]): GaugeFamily {
    return new GaugeFamily({
      ...this.base(info, foldable),
      maxSeries: this.maxSeries,
      onFold: this.folds(info),
    });
  }

  histogram(info: MetricInfo, foldable: readonly string[]): HistogramFamily {
    return new HistogramFamily({
      ...this.base(info, foldable),
      maxSeries: this.maxHistogramSeries,
      onFold: this.folds(info),
      buckets: info.buckets ?? [],
    });
  }

  /** A gauge computed when Prometheus scrapes. */
  collected(info: MetricInfo, read: () => Iterable<readonly [readonly string[], number]>): CollectedGauge {
    return new CollectedGauge(info.name, info.help, info.labels, read, this.registry, this.maxSeries);
  }

  /** The overflow child of one metric; a metric without labels gets none. */
  private folds(info: MetricInfo): () => void {
    const child = this.overflow.child([info.name]);
    return () => child.inc();
  }

  private base(info: MetricInfo, foldable: readonly string[]) {
    return { name: info.name, help: info.help, labelNames: info.labels, foldable, registry: this.registry };
  }
}
