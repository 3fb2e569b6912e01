import { Registry } from 'prom-client';
import { METRICS } from './catalogue';
import type { HistogramChild, HistogramFamily } from './families';
import {
  DEFAULT_MAX_HISTOGRAM_SERIES_PER_METRIC,
  DEFAULT_MAX_SERIES_PER_METRIC,
  FamilyFactory,
  processMetrics,
  type MetricsOptions,
} from './factory';

/** How one reconcile ended: done, failed (retried with backoff), or asked to run again later. */
export type ReconcileResult = 'success' | 'error' | 'requeue';

/** The reconcile metrics of one kind, bound once. */
export interface KindReconcileMetrics {
  /** Records one reconcile that took `seconds`. */
  observe(seconds: number, result: ReconcileResult): void;
  /** Starts timing one reconcile; call the returned function when it ends. */
  start(): (result: ReconcileResult) => void;
}

/**
 * The controller's metrics: how long each reconcile takes, by kind and result, and how many keys wait
 * in each work queue. Reconcile errors are the `result="error"` series of
 * `eventing_reconcile_duration_seconds_count`.
 */
export class ControlPlaneMetrics {
  readonly registry: Registry;
  private readonly duration: HistogramFamily;
  private readonly kinds = new Map<string, KindReconcileMetrics>();
  private readonly queues = new Map<string, () => number>();

  constructor(options: MetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    if (options.defaultMetrics !== false) processMetrics(this.registry);
    const f = new FamilyFactory(
      this.registry,
      options.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES_PER_METRIC,
      options.maxHistogramSeriesPerMetric ?? DEFAULT_MAX_HISTOGRAM_SERIES_PER_METRIC,
    );
    this.duration = f.histogram(METRICS.reconcileDuration, ['kind']);
    f.collected(METRICS.reconcileQueueDepth, () => this.depths());
  }

  /** The reconcile metrics of one kind (`Broker`, `Trigger`…); keep it, each call after the first is a lookup. */
  kind(kind: string): KindReconcileMetrics {
    let bound = this.kinds.get(kind);
    if (bound !== undefined) return bound;
    const children = new Map<ReconcileResult, HistogramChild>();
    const child = (result: ReconcileResult) => {
      let c = children.get(result);
      if (c === undefined) {
        c = this.duration.child([kind, result]);
        if (!this.duration.lastFolded) children.set(result, c);
      }
      return c;
    };
    bound = {
      observe: (seconds, result) => child(result).observe(seconds),
      start: () => {
        const started = performance.now();
        return (result) => child(result).observe((performance.now() - started) / 1000);
      },
    };
    // Kinds are a short fixed list; the family's cap bounds the series if a caller invents more.
    if (this.kinds.size < 256) this.kinds.set(kind, bound);
    return bound;
  }

  /** Records one reconcile of `kind` that took `seconds`. */
  reconciled(kind: string, seconds: number, result: ReconcileResult): void {
    this.kind(kind).observe(seconds, result);
  }

  /** Reads a work queue's depth when Prometheus scrapes; returns a function that removes it. */
  trackQueue(queue: string, depth: () => number): () => void {
    this.queues.set(queue, depth);
    return () => {
      if (this.queues.get(queue) === depth) this.queues.delete(queue);
    };
  }

  private *depths(): Iterable<readonly [readonly string[], number]> {
    for (const [queue, depth] of this.queues) yield [[queue], depth()];
  }
}
