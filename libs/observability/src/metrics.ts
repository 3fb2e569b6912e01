import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BoundedSeries, BoundedValueSets, FOLDED_LABEL_VALUE, seriesKey } from './bounded-series';

const CODE_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** `2xx`, `4xx`… as upstream's `response_code_class` label. */
export function codeClass(status: number): string {
  const hundreds = Math.floor(status / 100);
  return CODE_CLASSES[hundreds] ?? `${hundreds}xx`;
}

/** How one delivery ended, for the outcome counter. */
export type DeliveryOutcomeKind = 'delivered' | 'dead_lettered' | 'failed' | 'held';

export interface EventingMetricsOptions {
  /** Collect Node's process metrics into the same registry (default: true). */
  defaultMetrics?: boolean;
  /**
   * Distinct label combinations each metric may hold (default: 2000). Beyond it, samples fold into
   * series whose client-chosen labels read `other`, and `eventing_metric_label_overflow_total`
   * counts them.
   */
  maxSeriesPerMetric?: number;
  /** Distinct `event_type` values kept per broker at ingress; later types read `other` (default: 100). */
  maxEventTypesPerBroker?: number;
}

export const DEFAULT_MAX_SERIES_PER_METRIC = 2000;
export const DEFAULT_MAX_EVENT_TYPES_PER_BROKER = 100;

type CounterSeries = { inc(value?: number): void };
type GaugeSeries = { inc(value?: number): void };

/**
 * The data plane's Prometheus metrics, with upstream's legacy names and labels so existing Knative
 * dashboards work, plus an outcome counter that makes every undelivered event visible.
 *
 * Label values come from requests and resource names, so every labelled metric is capped (see
 * {@link EventingMetricsOptions}): a client sending random event types or paths costs at most
 * `maxSeriesPerMetric` series per metric. Folded samples are still counted, under `other`.
 */
export class EventingMetrics {
  readonly registry = new Registry();
  private readonly ingress: BoundedSeries<CounterSeries>;
  private readonly eventTypes: BoundedValueSets;
  private readonly filter: BoundedSeries<CounterSeries>;
  private readonly channel: BoundedSeries<CounterSeries>;
  private readonly outcomes: BoundedSeries<CounterSeries>;
  private readonly discards: BoundedSeries<CounterSeries>;
  private readonly accepts: BoundedSeries<CounterSeries>;
  private readonly acceptedCopies: BoundedSeries<CounterSeries>;
  private readonly heldGauge: BoundedSeries<GaugeSeries>;
  /** Each resource's current held count, kept only while non-zero, so `setHeld` can be a delta. */
  private readonly heldNow = new Map<string, number>();
  private readonly applyFailures: BoundedSeries<CounterSeries>;
  private readonly generation: Gauge;

  constructor(options: EventingMetricsOptions = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const maxSeries = options.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES_PER_METRIC;
    const registers = [this.registry];
    const overflow = new Counter({
      name: 'eventing_metric_label_overflow_total',
      help: 'Samples whose label values were folded into "other" because the metric reached its series cap (or, for event_type, its per-broker cap)',
      labelNames: ['metric'],
      registers,
    });
    const counter = (name: string, help: string, labelNames: string[], foldable: string[]) => {
      const metric = new Counter({ name, help, labelNames, registers });
      const folds = overflow.labels({ metric: name });
      folds.inc(0);
      return new BoundedSeries<CounterSeries>({
        labelNames,
        foldable,
        maxSeries,
        create: (labels) => metric.labels(labels),
        onFold: () => folds.inc(),
      });
    };

    this.ingress = counter(
      'mt_broker_ingress_event_count',
      'Events received by broker ingress, by response code',
      ['broker_name', 'namespace_name', 'event_type', 'response_code', 'response_code_class'],
      ['broker_name', 'namespace_name', 'event_type'],
    );
    this.eventTypes = new BoundedValueSets(
      maxSeries,
      options.maxEventTypesPerBroker ?? DEFAULT_MAX_EVENT_TYPES_PER_BROKER,
    );
    this.filter = counter(
      'mt_broker_filter_event_count',
      'Events delivered to trigger subscribers, by final response code',
      ['broker_name', 'trigger_name', 'namespace_name', 'response_code', 'response_code_class'],
      ['broker_name', 'trigger_name', 'namespace_name'],
    );
    this.channel = counter(
      'inmemorychannel_dispatcher_event_count',
      'Events delivered to channel subscribers, by final response code',
      ['namespace_name', 'subscription_name', 'response_code', 'response_code_class'],
      ['namespace_name', 'subscription_name'],
    );
    this.outcomes = counter(
      'eventing_delivery_outcomes_total',
      'Final outcome of each delivery: delivered, dead_lettered, failed (dropped after retries, no dead-letter sink) or held (dead-letter sink failed too; retried later; counted once per event)',
      ['namespace', 'kind', 'name', 'outcome'],
      ['namespace', 'name'],
    );
    this.discards = counter(
      'eventing_events_discarded_total',
      'Accepted events dropped without a delivery outcome, by reason (trigger_deleted, shutdown, …)',
      ['namespace', 'kind', 'name', 'reason'],
      ['namespace', 'name'],
    );
    this.accepts = counter(
      'eventing_events_accepted_total',
      'Events a broker or channel stored for at least one trigger or subscription (events stored for none are counted in eventing_events_discarded_total)',
      ['namespace', 'kind', 'name'],
      ['namespace', 'name'],
    );
    this.acceptedCopies = counter(
      'eventing_deliveries_accepted_total',
      'Deliveries owed for stored events, one per matching trigger or channel subscription; each ends as exactly one outcome (delivered, dead_lettered, failed) or discard',
      ['namespace', 'kind', 'name'],
      ['namespace', 'name'],
    );
    this.applyFailures = counter(
      'eventing_contract_apply_failures_total',
      'Times the data plane failed to apply a new contract, by reason',
      ['reason'],
      ['reason'],
    );

    const held = new Gauge({
      name: 'eventing_events_held',
      help: 'Events held now (their dead-letter sink failed too) waiting to be tried again, per trigger or subscription',
      labelNames: ['namespace', 'kind', 'name'],
      registers,
    });
    const heldFolds = overflow.labels({ metric: 'eventing_events_held' });
    heldFolds.inc(0);
    this.heldGauge = new BoundedSeries<GaugeSeries>({
      labelNames: ['namespace', 'kind', 'name'],
      foldable: ['namespace', 'name'],
      maxSeries,
      create: (labels) => held.labels(labels),
      onFold: () => heldFolds.inc(),
    });
    this.generation = new Gauge({
      name: 'eventing_contract_generation',
      help: 'Generation of the contract the data plane applied last',
      registers,
    });
  }

  /**
   * Counts one ingress request. A 404 (the path names no broker) is counted under broker, namespace
   * and event type `other`, so request paths never become label values.
   */
  ingressResult(namespace: string, broker: string, eventType: string, status: number): void {
    const code = String(status);
    if (status === 404) {
      this.ingress
        .get([FOLDED_LABEL_VALUE, FOLDED_LABEL_VALUE, FOLDED_LABEL_VALUE, code, codeClass(status)])
        .inc();
      return;
    }
    const typeKept = this.eventTypes.admit(namespace, broker, eventType);
    this.ingress
      .get([broker, namespace, typeKept ? eventType : FOLDED_LABEL_VALUE, code, codeClass(status)], !typeKept)
      .inc();
  }

  /**
   * Counts the end of one trigger delivery attempt under upstream's response-code counter, and its
   * outcome unless `held`: a held event is tried again later, so {@link held} counts it, once.
   */
  triggerDelivery(
    namespace: string,
    broker: string,
    trigger: string,
    status: number,
    outcome: DeliveryOutcomeKind,
  ): void {
    this.filter.get([broker, trigger, namespace, String(status), codeClass(status)]).inc();
    if (outcome !== 'held') this.outcomes.get([namespace, 'Trigger', trigger, outcome]).inc();
  }

  /** Counts the end of one channel subscription delivery attempt; as {@link triggerDelivery}. */
  subscriptionDelivery(
    namespace: string,
    subscription: string,
    status: number,
    outcome: DeliveryOutcomeKind,
  ): void {
    this.channel.get([namespace, subscription, String(status), codeClass(status)]).inc();
    if (outcome !== 'held') this.outcomes.get([namespace, 'Subscription', subscription, outcome]).inc();
  }

  /** Counts the outcome `held` for one event (`kind` Trigger or Subscription); call it once per event. */
  held(namespace: string, kind: string, name: string): void {
    this.outcomes.get([namespace, kind, name, 'held']).inc();
  }

  /**
   * Counts `count` accepted events dropped without a delivery outcome. `reason` is one of
   * trigger_deleted, subscription_deleted, broker_deleted, channel_deleted, shutdown, handler_error,
   * no_subscriber; other strings are accepted and bounded like every label.
   */
  discarded(namespace: string, kind: string, name: string, reason: string, count = 1): void {
    this.discards.get([namespace, kind, name, reason]).inc(count);
  }

  /** Counts one event a broker or channel (`kind` Broker or Channel) stored for `copies` triggers or subscriptions. */
  accepted(namespace: string, kind: string, name: string, copies: number): void {
    const labels = [namespace, kind, name];
    this.accepts.get(labels).inc();
    if (copies > 0) this.acceptedCopies.get(labels).inc(copies);
  }

  /** Counts one delivery owed by a broker or channel, taken on by a consumer that reads every event. */
  owed(namespace: string, kind: string, name: string): void {
    this.acceptedCopies.get([namespace, kind, name]).inc();
  }

  /** Sets how many events a trigger or subscription holds now; 0 when it holds none or is gone. */
  setHeld(namespace: string, kind: string, name: string, value: number): void {
    const key = seriesKey([namespace, kind, name]);
    this.moveHeld(key, namespace, kind, name, value - (this.heldNow.get(key) ?? 0));
  }

  /** Adds `delta` (negative to subtract) to the events a trigger or subscription holds now. */
  addHeld(namespace: string, kind: string, name: string, delta: number): void {
    this.moveHeld(seriesKey([namespace, kind, name]), namespace, kind, name, delta);
  }

  /** Counts one contract that could not be applied. */
  applyFailed(reason: string): void {
    this.applyFailures.get([reason]).inc();
  }

  /** Records the generation of the contract just applied. */
  contractApplied(generation: number): void {
    this.generation.set(generation);
  }

  // Always a delta, so a folded series holds the sum of the resources folded into it.
  private moveHeld(key: string, namespace: string, kind: string, name: string, delta: number): void {
    if (delta === 0) return;
    const now = (this.heldNow.get(key) ?? 0) + delta;
    if (now === 0) this.heldNow.delete(key);
    else this.heldNow.set(key, now);
    this.heldGauge.get([namespace, kind, name]).inc(delta);
  }
}
