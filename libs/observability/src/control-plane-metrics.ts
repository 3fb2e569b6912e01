import { Registry } from 'prom-client';
import { METRICS } from './catalogue';
import {
  DEFAULT_MAX_HISTOGRAM_SERIES_PER_METRIC,
  DEFAULT_MAX_SERIES_PER_METRIC,
  FamilyFactory,
  processMetrics,
  type MetricsOptions,
} from './factory';
import type {
  CounterChild,
  CounterFamily,
  GaugeChild,
  GaugeFamily,
  HistogramChild,
  HistogramFamily,
} from './families';

/** How one reconcile ended, as the reconciler reports it (`onReconciled`). */
export type ReconcileOutcome = 'ok' | 'error' | 'conflict';

const OUTCOMES: readonly ReconcileOutcome[] = ['ok', 'error', 'conflict'];

/** The series of one kind, bound once. */
interface KindSeries {
  duration: HistogramChild;
  outcomes: Record<ReconcileOutcome, CounterChild>;
}

/**
 * The controller's metrics, under the names apps/controller exposes: reconciles by kind and outcome,
 * how long each took, the work queue's depth, leadership, API requests, and the generation of the
 * contract written. `onReconciled` has the signature of the reconciler's callback, so it can be passed
 * as it is; series are bound once per kind, so a reconcile costs a Map lookup and three additions.
 */
export class ControlPlaneMetrics {
  readonly registry: Registry;
  private readonly reconciles: CounterFamily;
  private readonly duration: HistogramFamily;
  private readonly kinds = new Map<string, KindSeries>();
  private readonly leader: GaugeChild;
  private readonly generation: GaugeChild;
  private depth: () => number = () => 0;
  private requests: () => Readonly<Record<string, number>> = () => ({});

  constructor(options: MetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    if (options.defaultMetrics !== false) processMetrics(this.registry);
    const f = new FamilyFactory(
      this.registry,
      options.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES_PER_METRIC,
      options.maxHistogramSeriesPerMetric ?? DEFAULT_MAX_HISTOGRAM_SERIES_PER_METRIC,
    );
    this.reconciles = f.counter(METRICS.controllerReconciles, ['kind']);
    this.duration = f.histogram(METRICS.controllerReconcileDuration, ['kind']);
    this.leader = f.gauge(METRICS.controllerLeader, []).child([]);
    // Standalone shares one registry with the data plane, which has this gauge already.
    const generation =
      (this.registry.getSingleMetric(METRICS.contractGeneration.name) as unknown as
        GaugeFamily | undefined) ?? f.gauge(METRICS.contractGeneration, []);
    this.generation = generation.child([]);
    f.collected(METRICS.controllerQueueDepth, () => [[[], this.depth()]]);
    f.collected(METRICS.controllerApiRequests, () =>
      Object.entries(this.requests()).map(([purpose, n]) => [[purpose], n] as const),
    );
  }

  /** Records one reconcile of `kind` that took `ms` milliseconds (the reconciler's `onReconciled`). */
  readonly onReconciled = (kind: string, ms: number, outcome: ReconcileOutcome): void => {
    const series = this.kinds.get(kind) ?? this.bind(kind);
    series.outcomes[outcome].inc();
    series.duration.observe(ms / 1000);
  };

  /** Reads the work queue's depth when Prometheus scrapes. */
  trackQueueDepth(depth: () => number): void {
    this.depth = depth;
  }

  /** Reads the API requests made since start, by purpose, when Prometheus scrapes. */
  trackApiRequests(requests: () => Readonly<Record<string, number>>): void {
    this.requests = requests;
  }

  /** Whether this replica leads now. */
  setLeader(leading: boolean): void {
    this.leader.set(leading ? 1 : 0);
  }

  /** Records the generation of the contract just written. */
  contractWritten(generation: number): void {
    this.generation.set(generation);
  }

  private bind(kind: string): KindSeries {
    const outcomes = {} as Record<ReconcileOutcome, CounterChild>;
    for (const o of OUTCOMES) outcomes[o] = this.reconciles.child([kind, o]);
    const series = { duration: this.duration.child([kind]), outcomes };
    // Kinds are a short fixed list; one that found no room (a folded series) is looked up each time.
    if (!this.reconciles.lastFolded && !this.duration.lastFolded) this.kinds.set(kind, series);
    return series;
  }
}
