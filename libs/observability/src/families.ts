import type { Registry } from 'prom-client';
import { BoundedSeries } from './bounded-series';

// Metric families whose children are plain objects bound once to their label values: counting is
// `child.value += n` (a histogram: a bucket search and three additions). prom-client's own labelled
// children hash their label object on every `inc`/`observe`; these build label strings only when a
// child is created and when Prometheus scrapes.

/** A prom-client value line: labels, value, and (histograms) the suffixed name. */
interface Sample {
  labels: Record<string, string>;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry reads from a metric. */
interface Collected {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: Sample[];
  aggregator: 'sum';
}

/** One counter series. */
export class CounterChild {
  value = 0;

  constructor(readonly labels: Record<string, string>) {}

  /** Adds `n` (default 1). */
  inc(n = 1): void {
    this.value += n;
  }
}

/** One gauge series. */
export class GaugeChild {
  value = 0;

  constructor(readonly labels: Record<string, string>) {}

  /** Adds `delta` (negative to subtract). */
  inc(delta = 1): void {
    this.value += delta;
  }

  set(value: number): void {
    this.value = value;
  }
}

/** One histogram: a count per bucket (not cumulative), the sum and the count. */
export class HistogramChild {
  /** counts[i]: observations ≤ bounds[i] and > bounds[i-1]; the last is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /** Label objects of each `_bucket` line (with `le`), built once. */
  readonly bucketLabels: Record<string, string>[];

  constructor(
    readonly labels: Record<string, string>,
    private readonly bounds: Float64Array,
    les: readonly string[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
    // `le` first, as prom-client writes it.
    this.bucketLabels = les.map((le) => ({ le, ...labels }));
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** How a family is named, labelled and bounded. */
export interface FamilyOptions {
  name: string;
  help: string;
  labelNames: readonly string[];
  /** Labels whose values come from clients or resource names: the first to become `other`. */
  foldable: readonly string[];
  /** Most label combinations (children) the family holds. */
  maxSeries: number;
  /** Called once per sample whose labels were folded into `other`. */
  onFold: () => void;
  registry: Registry;
}

abstract class Family<C extends { labels: Record<string, string> }> {
  readonly name: string;
  readonly help: string;
  /** Undefined for a family without labels: its one child is `single`. */
  private readonly series: BoundedSeries<C> | undefined;
  private single: C | undefined;
  protected readonly children: C[] = [];

  constructor(options: FamilyOptions) {
    this.name = options.name;
    this.help = options.help;
    this.series =
      options.labelNames.length === 0
        ? undefined
        : new BoundedSeries<C>({
            labelNames: options.labelNames,
            foldable: options.foldable,
            maxSeries: options.maxSeries,
            create: (all) => {
              // An empty value is an absent label (Prometheus drops them anyway): one family serves
              // components whose label sets differ (kn.broker.* at ingress, kn.channel.* for channels).
              const labels: Record<string, string> = {};
              for (const key in all) if (all[key] !== '') labels[key] = all[key]!;
              return this.add(labels);
            },
            onFold: options.onFold,
          });
    options.registry.registerMetric(this as never);
  }

  /**
   * The child for these label values (in `labelNames` order), or the `other` bucket they fold into.
   * Keep the child: counting through it costs no lookup. `folded`: the caller already replaced a
   * value with `other`, so the sample is counted as folded.
   */
  child(values: readonly string[], folded = false): C {
    if (this.series === undefined) return (this.single ??= this.add({}));
    return this.series.get(values, folded);
  }

  /** Whether the last {@link child} call folded its values (then do not keep that child for later samples). */
  get lastFolded(): boolean {
    return this.series?.lastFolded ?? false;
  }

  /** Children held so far. */
  get size(): number {
    return this.children.length;
  }

  private add(labels: Record<string, string>): C {
    const child = this.make(labels);
    this.children.push(child);
    return child;
  }

  protected abstract make(labels: Record<string, string>): C;

  abstract get(): Collected;

  /** For Registry.resetMetrics: counts start again from zero, children stay bound. */
  abstract reset(): void;
}

/** A counter family (`…_total` names by convention, except upstream's legacy names). */
export class CounterFamily extends Family<CounterChild> {
  protected make(labels: Record<string, string>): CounterChild {
    return new CounterChild(labels);
  }

  get(): Collected {
    const values: Sample[] = [];
    for (const c of this.children) values.push({ labels: c.labels, value: c.value });
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }

  reset(): void {
    for (const c of this.children) c.value = 0;
  }
}

/** A gauge family. */
export class GaugeFamily extends Family<GaugeChild> {
  protected make(labels: Record<string, string>): GaugeChild {
    return new GaugeChild(labels);
  }

  get(): Collected {
    const values: Sample[] = [];
    for (const c of this.children) values.push({ labels: c.labels, value: c.value });
    return { name: this.name, help: this.help, type: 'gauge', values, aggregator: 'sum' };
  }

  reset(): void {
    for (const c of this.children) c.value = 0;
  }
}

/** Options of a histogram family: its bucket upper bounds, ascending. */
export interface HistogramFamilyOptions extends FamilyOptions {
  buckets: readonly number[];
}

/** A histogram family; `maxSeries` counts label combinations, each exposing `buckets + 3` series. */
export class HistogramFamily extends Family<HistogramChild> {
  private readonly bounds: Float64Array;
  private readonly les: string[];

  constructor(options: HistogramFamilyOptions) {
    const sorted = [...options.buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1])))
      throw new RangeError(`${options.name}: buckets must be distinct finite numbers`);
    const bounds = Float64Array.from(sorted);
    const les = [...sorted.map(String), '+Inf'];
    super(options);
    this.bounds = bounds;
    this.les = les;
  }

  /** The bucket bounds, ascending. */
  get buckets(): readonly number[] {
    return [...this.bounds];
  }

  protected make(labels: Record<string, string>): HistogramChild {
    return new HistogramChild(labels, this.bounds, this.les);
  }

  get(): Collected {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    const sum = `${this.name}_sum`;
    const count = `${this.name}_count`;
    for (const c of this.children) {
      let cumulative = 0;
      for (let i = 0; i < c.counts.length; i++) {
        cumulative += c.counts[i]!;
        values.push({ labels: c.bucketLabels[i]!, value: cumulative, metricName: bucket });
      }
      values.push({ labels: c.labels, value: c.sum, metricName: sum });
      values.push({ labels: c.labels, value: c.count, metricName: count });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  reset(): void {
    for (const c of this.children) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }
}

/** A gauge read when Prometheus scrapes: `read()` yields each series' label values and value. */
export class CollectedGauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly read: () => Iterable<readonly [readonly string[], number]>,
    registry: Registry,
    private readonly maxSeries: number,
  ) {
    registry.registerMetric(this as never);
  }

  get(): Collected {
    const values: Sample[] = [];
    for (const [labelValues, value] of this.read()) {
      if (values.length >= this.maxSeries) break;
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = labelValues[i] ?? ''));
      values.push({ labels, value });
    }
    return { name: this.name, help: this.help, type: 'gauge', values, aggregator: 'sum' };
  }

  reset(): void {
    // Read afresh on every scrape: nothing to reset.
  }
}

/**
 * A child found on first use and kept, unless the family was full and folded it into an `other`
 * bucket: then every use looks it up again, so each folded sample is counted as folded.
 */
export class LazyChild<C> {
  private child: C | undefined;

  constructor(
    private readonly family: { child(values: readonly string[], folded?: boolean): C; lastFolded: boolean },
    private readonly values: readonly string[],
    /** The caller replaced a value with `other` already: never kept, always counted as folded. */
    private readonly folded = false,
  ) {}

  get(): C {
    if (this.child !== undefined) return this.child;
    const child = this.family.child(this.values, this.folded);
    if (!this.folded && !this.family.lastFolded) this.child = child;
    return child;
  }
}
