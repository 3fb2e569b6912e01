import { Registry } from 'prom-client';
import { FOLDED_LABEL_VALUE } from './bounded-series';
import { METRICS, type MetricInfo } from './catalogue';
import {
  DEFAULT_MAX_HISTOGRAM_SERIES_PER_METRIC,
  DEFAULT_MAX_SERIES_PER_METRIC,
  FamilyFactory,
  processMetrics,
  type MetricsOptions,
} from './factory';
import {
  LazyChild,
  type CounterChild,
  type CounterFamily,
  type HistogramChild,
  type HistogramFamily,
} from './families';
import { codeClass } from './metrics';

/** Resource groups of the sources, as upstream's `kn.source.resourcegroup`. */
export const PING_SOURCE_GROUP = 'pingsources.sources.knative.dev';
export const API_SERVER_SOURCE_GROUP = 'apiserversources.sources.knative.dev';

/** Upstream's legacy counters of the sources that had them (CONFORMANCE 5.2). */
const LEGACY: Record<string, readonly [MetricInfo, MetricInfo]> = {
  [PING_SOURCE_GROUP]: [METRICS.pingSourceEventCount, METRICS.pingSourceRetryEventCount],
  [API_SERVER_SOURCE_GROUP]: [METRICS.apiServerSourceEventCount, METRICS.apiServerSourceRetryEventCount],
};

/** Distinct event types kept per source; later ones read `other`. */
const MAX_TYPES_PER_SOURCE = 20;

/** The metrics of one source, bound once. */
export interface OneSourceMetrics {
  /**
   * Records one attempt to send an event to the sink: `retry` when it is not the event's first,
   * `status` the response code (0 when no response came), `seconds` how long the attempt took.
   */
  attempt(eventType: string, eventSource: string, status: number, retry: boolean, seconds: number): void;
}

/**
 * The metrics of source adapters: upstream's `http.client.request.duration` per attempt with the
 * source's name, namespace and resource group, and the legacy `pingsource_event_count` /
 * `apiserversource_event_count` (+ `…_retry_event_count`) for the sources that had them.
 */
export class SourceMetrics {
  readonly registry: Registry;
  private readonly factory: FamilyFactory;
  private readonly duration: HistogramFamily;
  private readonly legacy = new Map<string, readonly [CounterFamily, CounterFamily]>();
  private readonly sources = new Map<string, OneSourceMetrics>();
  private readonly maxSeries: number;

  constructor(options: MetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    if (options.defaultMetrics !== false) processMetrics(this.registry);
    this.maxSeries = options.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES_PER_METRIC;
    this.factory = new FamilyFactory(
      this.registry,
      this.maxSeries,
      options.maxHistogramSeriesPerMetric ?? DEFAULT_MAX_HISTOGRAM_SERIES_PER_METRIC,
    );
    this.duration = this.factory.histogram(METRICS.sourceRequestDuration, [
      'kn_source_namespace',
      'kn_source_name',
      'cloudevents_type',
    ]);
  }

  /** The metrics of one source, e.g. `source(PING_SOURCE_GROUP, 'default', 'every-minute')`. */
  source(resourceGroup: string, namespace: string, name: string): OneSourceMetrics {
    const key = `${resourceGroup}/${namespace}/${name}`;
    let bound = this.sources.get(key);
    if (bound !== undefined) return bound;
    const legacy = this.legacyFamilies(resourceGroup);
    const cells = new Map<
      string,
      {
        count?: LazyChild<CounterChild>;
        retry?: LazyChild<CounterChild>;
        duration: LazyChild<HistogramChild>;
      }
    >();
    let types = 0;
    bound = {
      attempt: (eventType, eventSource, status, retry, seconds) => {
        const cellKey = `${eventType}\u0000${eventSource}\u0000${status}`;
        let cell = cells.get(cellKey);
        if (cell === undefined) {
          const folded = types >= MAX_TYPES_PER_SOURCE;
          const type = folded ? FOLDED_LABEL_VALUE : eventType;
          const src = folded ? FOLDED_LABEL_VALUE : eventSource;
          const code = String(status);
          const labels = [namespace, name, resourceGroup, src, type, code, codeClass(status)];
          cell = {
            count: legacy && new LazyChild(legacy[0], labels, folded),
            retry: legacy && new LazyChild(legacy[1], labels, folded),
            duration: new LazyChild(this.duration, [namespace, name, resourceGroup, type, code], folded),
          };
          if (!folded) {
            cells.set(cellKey, cell);
            types++;
          }
        }
        (retry ? cell.retry : cell.count)?.get().inc();
        cell.duration.get().observe(seconds);
      },
    };
    if (this.sources.size < this.maxSeries) this.sources.set(key, bound);
    return bound;
  }

  private legacyFamilies(resourceGroup: string): readonly [CounterFamily, CounterFamily] | undefined {
    const infos = LEGACY[resourceGroup];
    if (infos === undefined) return undefined;
    let families = this.legacy.get(resourceGroup);
    if (families === undefined) {
      const fold = ['namespace_name', 'name', 'event_source', 'event_type'];
      families = [this.factory.counter(infos[0], fold), this.factory.counter(infos[1], fold)];
      this.legacy.set(resourceGroup, families);
    }
    return families;
  }
}

/** What a source's send function returns (as PingSend does). */
export interface SendResult {
  ok: boolean;
  status?: number;
}

/** The event fields a send wrapper reads. */
export interface SentEvent {
  attributes: { id: string; type: string; source: string };
}

/**
 * Wraps a PingSource send function (one call per attempt) so every attempt is counted and timed for
 * the PingSource named in the event's `source` (`/apis/v1/namespaces/<ns>/pingsources/<name>`).
 * An attempt for an event id seen in the last 1,000 sends counts as a retry.
 */
export function instrumentPingSend<E extends SentEvent, R extends SendResult>(
  metrics: SourceMetrics,
  send: (event: E, sinkUri: string) => Promise<R>,
): (event: E, sinkUri: string) => Promise<R> {
  const recent = new Set<string>();
  return async (event, sinkUri) => {
    const { id, type, source } = event.attributes;
    const retry = recent.has(id);
    if (!retry) {
      recent.add(id);
      if (recent.size > 1000) recent.delete(recent.values().next().value as string);
    }
    const match = /^\/apis\/v1\/namespaces\/([^/]+)\/pingsources\/([^/]+)$/.exec(source);
    const [namespace, name] = match ? [match[1]!, match[2]!] : [FOLDED_LABEL_VALUE, FOLDED_LABEL_VALUE];
    const bound = metrics.source(PING_SOURCE_GROUP, namespace, name);
    const started = performance.now();
    try {
      const result = await send(event, sinkUri);
      bound.attempt(type, source, result.status ?? 0, retry, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      bound.attempt(type, source, 0, retry, (performance.now() - started) / 1000);
      throw err;
    }
  };
}
