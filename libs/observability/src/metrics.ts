import { Registry } from 'prom-client';
import { BoundedValueSets, FOLDED_LABEL_VALUE, seriesKey } from './bounded-series';
import { METRICS } from './catalogue';
import {
  DEFAULT_MAX_HISTOGRAM_SERIES_PER_METRIC,
  DEFAULT_MAX_SERIES_PER_METRIC,
  FamilyFactory,
  processMetrics,
  type MetricsOptions,
} from './factory';
import {
  type CounterFamily,
  type GaugeFamily,
  type HistogramFamily,
  LazyChild,
  type CounterChild,
  type GaugeChild,
  type HistogramChild,
} from './families';

const CODE_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** `2xx`, `4xx`… as upstream's `response_code_class` label. */
export function codeClass(status: number): string {
  const hundreds = Math.floor(status / 100);
  return CODE_CLASSES[hundreds] ?? `${hundreds}xx`;
}

/** How one delivery ended, for the outcome counter. */
export type DeliveryOutcomeKind = 'delivered' | 'dead_lettered' | 'failed' | 'held';

export interface EventingMetricsOptions extends MetricsOptions {
  /** Distinct `event_type` values kept per broker at ingress; later types read `other` (default: 100). */
  maxEventTypesPerBroker?: number;
  /**
   * Also record upstream's legacy latency histograms in milliseconds (`mt_broker_*_dispatch_latencies`,
   * `inmemorychannel_dispatcher_event_dispatch_latencies`) for dashboards of Knative ≤ 1.18 (default: true).
   */
  legacyLatencies?: boolean;
}

export const DEFAULT_MAX_EVENT_TYPES_PER_BROKER = 100;

/**
 * Why the data plane could not apply a contract: it did not parse (contract_rejected), applying it
 * threw (apply_error), a resource of it failed (resource_failed), standalone could not reload its
 * folder (reload_error).
 */
export const CONTRACT_FAILURE_REASONS = [
  'contract_rejected',
  'apply_error',
  'resource_failed',
  'reload_error',
] as const;

/**
 * Who a delivery or an accepted event is counted for: a Trigger (with its broker), a channel
 * Subscription (with its channel), or the Broker or Channel that stored the event. The data plane's
 * own target objects fit; keep one object per resource and the metrics bound to it are found in one
 * lookup.
 */
export interface MetricsTarget {
  readonly kind: 'Trigger' | 'Subscription' | 'Broker' | 'Channel';
  readonly namespace: string;
  readonly name: string;
  /** The Trigger's broker. */
  readonly broker?: string;
  /** The Subscription's channel. */
  readonly channel?: string;
}

/** A gauge read at scrape time. */
export type InFlightSource = () => { active: number; waiting: number };

/** Backlog per consumer at scrape time: namespace, kind (Trigger or Subscription), name, events waiting. */
export type BacklogSource = () => Iterable<readonly [string, string, string, number]>;

/** The metrics bound to one Trigger or Subscription: found once, then counting costs no label work. */
class DeliveryHandle {
  readonly outcomes: Record<'delivered' | 'dead_lettered' | 'failed' | 'held', LazyChild<CounterChild>>;
  readonly retries: LazyChild<CounterChild>;
  readonly held: LazyChild<GaugeChild>;
  /** The broker's or channel's pending deliveries. */
  readonly pending: LazyChild<GaugeChild>;
  /** The broker's or channel's owed deliveries (stores that do not count copies). */
  readonly owed: LazyChild<CounterChild>;
  /** By status: upstream's legacy counter and latency histogram. */
  readonly byStatus = new Map<number, StatusCells>();
  /** By admitted event type, then status: the OTel dispatch duration. */
  readonly byType = new Map<string | number | boolean | undefined, Map<number, LazyChild<HistogramChild>>>();
  readonly discards = new Map<string, LazyChild<CounterChild>>();
  /** `trigger:<name>.<namespace>` or `subscription:<name>.<namespace>`. */
  readonly destination: string;
  readonly parentKind: 'Broker' | 'Channel';
  readonly parent: string;

  constructor(
    readonly target: MetricsTarget,
    families: EventingMetrics['families'],
  ) {
    const { namespace, kind, name } = target;
    const own = [namespace, kind, name];
    const outcome = (o: string) => new LazyChild(families.outcomes, [...own, o]);
    this.outcomes = {
      delivered: outcome('delivered'),
      dead_lettered: outcome('dead_lettered'),
      failed: outcome('failed'),
      held: outcome('held'),
    };
    this.retries = new LazyChild(families.retries, own);
    this.held = new LazyChild(families.held, own);
    const trigger = kind === 'Trigger';
    this.parentKind = trigger ? 'Broker' : 'Channel';
    this.parent = (trigger ? target.broker : target.channel) ?? '';
    const parent = [namespace, this.parentKind, this.parent];
    this.pending = new LazyChild(families.pending, parent);
    this.owed = new LazyChild(families.copies, parent);
    this.destination = `${trigger ? 'trigger' : 'subscription'}:${name}.${namespace}`;
  }
}

/** Upstream's legacy counter and latency histogram of one target and status. */
interface StatusCells {
  count: LazyChild<CounterChild>;
  latency: LazyChild<HistogramChild> | undefined;
}

/** The metrics bound to one Broker or Channel that stores events. */
class StoreHandle {
  readonly accepted: LazyChild<CounterChild>;
  readonly copies: LazyChild<CounterChild>;
  readonly pending: LazyChild<GaugeChild>;
  readonly discards = new Map<string, LazyChild<CounterChild>>();

  constructor(target: MetricsTarget, families: EventingMetrics['families']) {
    const own = [target.namespace, target.kind, target.name];
    this.accepted = new LazyChild(families.accepted, own);
    this.copies = new LazyChild(families.copies, own);
    this.pending = new LazyChild(families.pending, own);
  }
}

/** The ingress metrics of one broker, event type and status. */
interface IngressCell {
  count: LazyChild<CounterChild>;
  legacy: LazyChild<HistogramChild> | undefined;
  duration: LazyChild<HistogramChild>;
}

/**
 * The data plane's Prometheus metrics: upstream's names and labels (current and legacy, so existing
 * Knative dashboards work) plus what an operator needs beyond them — every delivery's outcome,
 * retries, pending and held deliveries, discards by reason, in-flight deliveries, backlog per
 * consumer, the applied contract's generation.
 *
 * Label values come from requests and resource names, so every labelled metric is capped (see
 * {@link EventingMetricsOptions}): a client sending random event types or paths costs at most the cap
 * of series per metric. Folded samples are still counted, under `other`. The per-event methods take
 * a target object ({@link MetricsTarget}) and find the series bound to it in one WeakMap lookup; the
 * series themselves are plain objects, so counting builds no string and hashes no label set.
 */
export class EventingMetrics {
  readonly registry: Registry;
  /** The metric families (read by the handles bound to targets). */
  readonly families: {
    readonly ingress: CounterFamily;
    readonly ingressLatency: HistogramFamily | undefined;
    readonly filter: CounterFamily;
    readonly filterLatency: HistogramFamily | undefined;
    readonly channel: CounterFamily;
    readonly channelLatency: HistogramFamily | undefined;
    readonly dispatch: HistogramFamily;
    readonly outcomes: CounterFamily;
    readonly retries: CounterFamily;
    readonly discards: CounterFamily;
    readonly accepted: CounterFamily;
    readonly copies: CounterFamily;
    readonly held: GaugeFamily;
    readonly pending: GaugeFamily;
    readonly applyFailures: CounterFamily;
    readonly generation: GaugeFamily;
  };
  private readonly eventTypes: BoundedValueSets;
  private readonly generation: GaugeChild;
  private readonly deliveries = new WeakMap<MetricsTarget, DeliveryHandle>();
  private readonly stores = new WeakMap<MetricsTarget, StoreHandle>();
  /** Target objects of the name-keyed methods, by their names; cleared when it grows past the cap. */
  private readonly byKey = new Map<string, MetricsTarget>();
  /** Ingress cells by namespace, broker, admitted event type and status; cleared past the cap. */
  private readonly ingressCells = new Map<string, Map<string, Map<string, Map<number, IngressCell>>>>();
  private ingressTypeCount = 0;
  private readonly maxSeries: number;
  /** Held counts of the name-keyed methods, kept while non-zero, so setHeld can apply a delta. */
  private readonly heldNow = new Map<string, number>();
  private readonly inFlightSources = new Set<InFlightSource>();
  private readonly backlogSources = new Set<BacklogSource>();

  constructor(options: EventingMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    if (options.defaultMetrics !== false) processMetrics(this.registry);
    this.maxSeries = options.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES_PER_METRIC;
    const f = new FamilyFactory(
      this.registry,
      this.maxSeries,
      options.maxHistogramSeriesPerMetric ?? DEFAULT_MAX_HISTOGRAM_SERIES_PER_METRIC,
    );
    const legacy = options.legacyLatencies !== false;
    const ingressFold = ['broker_name', 'namespace_name', 'event_type'];
    const filterFold = ['broker_name', 'trigger_name', 'namespace_name'];
    const channelFold = ['namespace_name', 'subscription_name'];
    const resourceFold = ['namespace', 'name'];
    this.families = {
      ingress: f.counter(METRICS.ingressEventCount, ingressFold),
      ingressLatency: legacy ? f.histogram(METRICS.ingressLatencies, ingressFold) : undefined,
      filter: f.counter(METRICS.filterEventCount, filterFold),
      filterLatency: legacy ? f.histogram(METRICS.filterLatencies, filterFold) : undefined,
      channel: f.counter(METRICS.channelEventCount, channelFold),
      channelLatency: legacy ? f.histogram(METRICS.channelLatencies, channelFold) : undefined,
      dispatch: f.histogram(METRICS.dispatchDuration, [
        'kn_broker_namespace',
        'kn_broker_name',
        'kn_channel_namespace',
        'kn_channel_name',
        'messaging_destination_name',
        'cloudevents_type',
      ]),
      outcomes: f.counter(METRICS.deliveryOutcomes, resourceFold),
      retries: f.counter(METRICS.deliveryRetries, resourceFold),
      discards: f.counter(METRICS.eventsDiscarded, resourceFold),
      accepted: f.counter(METRICS.eventsAccepted, resourceFold),
      copies: f.counter(METRICS.deliveriesAccepted, resourceFold),
      held: f.gauge(METRICS.eventsHeld, resourceFold),
      pending: f.gauge(METRICS.deliveriesPending, resourceFold),
      applyFailures: f.counter(METRICS.contractApplyFailures, ['reason']),
      generation: f.gauge(METRICS.contractGeneration, []),
    };
    this.generation = this.families.generation.child([]);
    // Exposed at 0 from the start: a counter whose first sample is already 1 shows no increase().
    for (const reason of CONTRACT_FAILURE_REASONS) this.families.applyFailures.child([reason]);
    this.eventTypes = new BoundedValueSets(
      this.maxSeries,
      options.maxEventTypesPerBroker ?? DEFAULT_MAX_EVENT_TYPES_PER_BROKER,
    );
    f.collected(METRICS.deliveriesInFlight, () => this.sumInFlight('active'));
    f.collected(METRICS.deliveriesWaiting, () => this.sumInFlight('waiting'));
    f.collected(METRICS.consumerBacklog, () => this.backlog());
  }

  // ---- ingress ----

  /**
   * Counts one ingress request, and its duration when given (from the request's arrival to the
   * answer, in seconds). A 404, or a path naming a broker that is not `served` here, is counted
   * under broker, namespace and event type `other`, so request paths never become label values.
   */
  ingressResult(
    namespace: string,
    broker: string,
    eventType: string,
    status: number,
    seconds?: number,
    served = true,
  ): void {
    const cell =
      status === 404 || !served
        ? this.ingressCell(FOLDED_LABEL_VALUE, FOLDED_LABEL_VALUE, FOLDED_LABEL_VALUE, status)
        : this.ingressCell(namespace, broker, eventType, status);
    cell.count.get().inc();
    if (seconds !== undefined) {
      cell.duration.get().observe(seconds);
      cell.legacy?.get().observe(seconds * 1000);
    }
  }

  private ingressCell(namespace: string, broker: string, eventType: string, status: number): IngressCell {
    const byType = this.ingressCells.get(namespace)?.get(broker);
    const byStatus = byType?.get(eventType);
    const hit = byStatus?.get(status);
    if (hit !== undefined) return hit;
    if (byStatus !== undefined) {
      const cell = this.newIngressCell(namespace, broker, eventType, status, false);
      byStatus.set(status, cell);
      return cell;
    }
    const kept = eventType === FOLDED_LABEL_VALUE || this.eventTypes.admit(namespace, broker, eventType);
    // A type that found no room is counted as folded on every sample, and never kept here.
    if (!kept) return this.newIngressCell(namespace, broker, FOLDED_LABEL_VALUE, status, true);
    const cell = this.newIngressCell(namespace, broker, eventType, status, false);
    if (this.ingressTypeCount >= this.maxSeries * 4) {
      this.ingressCells.clear();
      this.ingressTypeCount = 0;
    }
    let brokers = this.ingressCells.get(namespace);
    if (brokers === undefined) this.ingressCells.set(namespace, (brokers = new Map()));
    let types = brokers.get(broker);
    if (types === undefined) brokers.set(broker, (types = new Map()));
    types.set(eventType, new Map([[status, cell]]));
    this.ingressTypeCount++;
    return cell;
  }

  private newIngressCell(
    namespace: string,
    broker: string,
    eventType: string,
    status: number,
    folded: boolean,
  ): IngressCell {
    const code = String(status);
    const legacy = [broker, namespace, eventType, code, codeClass(status)];
    const { ingress, ingressLatency, dispatch } = this.families;
    return {
      count: new LazyChild(ingress, legacy, folded),
      legacy: ingressLatency && new LazyChild(ingressLatency, legacy, folded),
      duration: new LazyChild(
        dispatch,
        [
          namespace,
          broker,
          '',
          '',
          `broker:${broker}.${namespace}`,
          eventType,
          code,
          'knative',
          'send',
          'http',
        ],
        folded,
      ),
    };
  }

  // ---- deliveries, by target object ----

  /**
   * Counts the end of one delivery to a Trigger's or Subscription's subscriber: upstream's
   * response-code counter, the outcome, its retries (`attempts` − 1) and, when given, its duration
   * in seconds (from the start of the delivery to its end, retries included). A `held` end counts
   * only the response code: {@link heldFor} counts the event once.
   */
  deliveryEnded(
    target: MetricsTarget,
    eventType: string | number | boolean | undefined,
    status: number,
    outcome: DeliveryOutcomeKind,
    attempts: number,
    seconds?: number,
  ): void {
    const h = this.delivery(target);
    let cells = h.byStatus.get(status);
    if (cells === undefined) h.byStatus.set(status, (cells = this.statusCells(h, status)));
    cells.count.get().inc();
    if (outcome === 'held') return;
    h.outcomes[outcome].get().inc();
    if (attempts > 1) h.retries.get().inc(attempts - 1);
    const pending = h.pending.get();
    if (pending.value > 0) pending.value--;
    if (seconds === undefined) return;
    cells.latency?.get().observe(seconds * 1000);
    this.dispatchDuration(h, eventType, status).observe(seconds);
  }

  /**
   * Counts one attempt a service made for a Trigger or Subscription whose retries and outcome another
   * process owns (broker-filter, in front of which the channel dispatcher retries): upstream's
   * response-code counter and, when given, the duration; no outcome.
   */
  attemptEnded(
    target: MetricsTarget,
    eventType: string | number | boolean | undefined,
    status: number,
    seconds?: number,
  ): void {
    const h = this.delivery(target);
    let cells = h.byStatus.get(status);
    if (cells === undefined) h.byStatus.set(status, (cells = this.statusCells(h, status)));
    cells.count.get().inc();
    if (seconds === undefined) return;
    cells.latency?.get().observe(seconds * 1000);
    this.dispatchDuration(h, eventType, status).observe(seconds);
  }

  /** An event is held (its dead-letter sink failed too): counted once per event, and held now. */
  heldFor(target: MetricsTarget): void {
    const h = this.delivery(target);
    h.outcomes.held.get().inc();
    h.held.get().inc(1);
  }

  /** `count` held events of a Trigger or Subscription left the held state. */
  releasedFor(target: MetricsTarget, count: number): void {
    this.delivery(target).held.get().inc(-count);
  }

  /**
   * `count` accepted events left without a delivery outcome, with the reason. For a Broker or
   * Channel target (stored for nobody) nothing was owed; for a Trigger or Subscription, `count`
   * deliveries its broker or channel owed end here.
   */
  discardedFor(target: MetricsTarget, reason: string, count: number): void {
    if (target.kind === 'Trigger' || target.kind === 'Subscription') {
      const h = this.delivery(target);
      this.discardChild(h.discards, target, reason).get().inc(count);
      const pending = h.pending.get();
      pending.value = Math.max(0, pending.value - count);
      return;
    }
    this.discardChild(this.store(target).discards, target, reason).get().inc(count);
  }

  /**
   * A Broker or Channel stored one event for `copies` triggers or subscriptions; undefined when the
   * store does not count them (its consumers call {@link owedFor} for each one they take on).
   */
  acceptedFor(target: MetricsTarget, copies: number | undefined): void {
    const h = this.store(target);
    h.accepted.get().inc();
    if (copies !== undefined && copies > 0) {
      h.copies.get().inc(copies);
      h.pending.get().inc(copies);
    }
  }

  /** A Trigger's or Subscription's consumer took on one delivery its store did not count. */
  owedFor(target: MetricsTarget): void {
    const h = this.delivery(target);
    h.owed.get().inc();
    h.pending.get().inc(1);
  }

  // ---- the same counts by names, for callers without a target object ----

  /**
   * Counts the end of one trigger delivery under upstream's response-code counter, and its outcome
   * unless `held`: a held event is tried again later, so {@link held} counts it, once.
   */
  triggerDelivery(
    namespace: string,
    broker: string,
    trigger: string,
    status: number,
    outcome: DeliveryOutcomeKind,
  ): void {
    this.deliveryEnded(this.named('Trigger', namespace, trigger, broker), '', status, outcome, 1);
  }

  /** Counts the end of one channel subscription delivery; as {@link triggerDelivery}. */
  subscriptionDelivery(
    namespace: string,
    subscription: string,
    status: number,
    outcome: DeliveryOutcomeKind,
  ): void {
    this.deliveryEnded(this.named('Subscription', namespace, subscription), '', status, outcome, 1);
  }

  /** Counts the outcome `held` for one event (`kind` Trigger or Subscription); call it once per event. */
  held(namespace: string, kind: string, name: string): void {
    this.families.outcomes.child([namespace, kind, name, 'held']).inc();
  }

  /**
   * Counts `count` accepted events dropped without a delivery outcome. `reason` is one of
   * trigger_deleted, subscription_deleted, broker_deleted, channel_deleted, shutdown, handler_error,
   * no_subscriber; other strings are accepted and bounded like every label.
   */
  discarded(namespace: string, kind: string, name: string, reason: string, count = 1): void {
    this.families.discards.child([namespace, kind, name, reason]).inc(count);
  }

  /** Counts one event a broker or channel (`kind` Broker or Channel) stored for `copies` triggers or subscriptions. */
  accepted(namespace: string, kind: string, name: string, copies: number): void {
    this.acceptedFor(this.named(kind, namespace, name), copies);
  }

  /** Counts one delivery owed by a broker or channel, taken on by a consumer that reads every event. */
  owed(namespace: string, kind: string, name: string): void {
    const labels = [namespace, kind, name];
    this.families.copies.child(labels).inc();
    this.families.pending.child(labels).inc(1);
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

  // Always a delta, so a folded series holds the sum of the resources folded into it.
  private moveHeld(key: string, namespace: string, kind: string, name: string, delta: number): void {
    if (delta === 0) return;
    const now = (this.heldNow.get(key) ?? 0) + delta;
    if (now === 0) this.heldNow.delete(key);
    else this.heldNow.set(key, now);
    this.families.held.child([namespace, kind, name]).inc(delta);
  }

  // ---- contract, in-flight, backlog ----

  /** Counts one contract, or one resource of it, that could not be applied. */
  applyFailed(reason: string): void {
    this.families.applyFailures.child([reason]).inc();
  }

  /** Records the generation of the contract just applied. */
  contractApplied(generation: number): void {
    this.generation.set(generation);
  }

  /**
   * Reads deliveries running and waiting for a slot when Prometheus scrapes (a dispatch side's
   * in-flight limiter); several sources are summed. Returns a function that removes the source.
   */
  trackInFlight(source: InFlightSource): () => void {
    this.inFlightSources.add(source);
    return () => void this.inFlightSources.delete(source);
  }

  /**
   * Reads each consumer's backlog in its store when Prometheus scrapes (queue length, consumer lag).
   * Returns a function that removes the source.
   */
  trackBacklog(source: BacklogSource): () => void {
    this.backlogSources.add(source);
    return () => void this.backlogSources.delete(source);
  }

  // ---- internals ----

  private delivery(target: MetricsTarget): DeliveryHandle {
    let h = this.deliveries.get(target);
    if (h === undefined) this.deliveries.set(target, (h = new DeliveryHandle(target, this.families)));
    return h;
  }

  private store(target: MetricsTarget): StoreHandle {
    let h = this.stores.get(target);
    if (h === undefined) this.stores.set(target, (h = new StoreHandle(target, this.families)));
    return h;
  }

  /** One target object per name, so the name-keyed methods share the handles of the target ones. */
  private named(kind: string, namespace: string, name: string, broker?: string): MetricsTarget {
    const key = `${kind}\u0000${namespace}\u0000${name}\u0000${broker ?? ''}`;
    let target = this.byKey.get(key);
    if (target === undefined) {
      if (this.byKey.size >= this.maxSeries) this.byKey.clear();
      target = { kind: kind as MetricsTarget['kind'], namespace, name, broker };
      this.byKey.set(key, target);
    }
    return target;
  }

  private statusCells(h: DeliveryHandle, status: number): StatusCells {
    const { namespace, name, kind } = h.target;
    const code = String(status);
    const cls = codeClass(status);
    const { filter, filterLatency, channel, channelLatency } = this.families;
    if (kind === 'Trigger') {
      const labels = [h.parent, name, namespace, code, cls];
      return {
        count: new LazyChild(filter, labels),
        latency: filterLatency && new LazyChild(filterLatency, labels),
      };
    }
    const labels = [namespace, name, code, cls];
    return {
      count: new LazyChild(channel, labels),
      latency: channelLatency && new LazyChild(channelLatency, labels),
    };
  }

  private dispatchDuration(
    h: DeliveryHandle,
    eventType: string | number | boolean | undefined,
    status: number,
  ): HistogramChild {
    let byStatus = h.byType.get(eventType);
    let folded = false;
    if (byStatus === undefined) {
      folded = !this.eventTypes.admit(h.target.namespace, h.parent, String(eventType));
      if (!folded) h.byType.set(eventType, (byStatus = new Map()));
    }
    let child = byStatus?.get(status);
    if (child === undefined) {
      const { namespace } = h.target;
      const broker = h.parentKind === 'Broker';
      child = new LazyChild(
        this.families.dispatch,
        [
          broker ? namespace : '',
          broker ? h.parent : '',
          broker ? '' : namespace,
          broker ? '' : h.parent,
          h.destination,
          folded ? FOLDED_LABEL_VALUE : String(eventType),
          String(status),
          'knative',
          'send',
          'http',
        ],
        folded,
      );
      byStatus?.set(status, child);
    }
    return child.get();
  }

  private discardChild(
    map: Map<string, LazyChild<CounterChild>>,
    target: MetricsTarget,
    reason: string,
  ): LazyChild<CounterChild> {
    let child = map.get(reason);
    if (child === undefined) {
      child = new LazyChild(this.families.discards, [target.namespace, target.kind, target.name, reason]);
      // Reasons are a short fixed list in the data plane; a caller inventing them gets no cache.
      if (map.size < 32) map.set(reason, child);
    }
    return child;
  }

  private *sumInFlight(which: 'active' | 'waiting'): Iterable<readonly [readonly string[], number]> {
    let total = 0;
    for (const source of this.inFlightSources) total += source()[which];
    yield [[], total];
  }

  private *backlog(): Iterable<readonly [readonly string[], number]> {
    for (const source of this.backlogSources)
      for (const [namespace, kind, name, depth] of source()) yield [[namespace, kind, name], depth];
  }
}
