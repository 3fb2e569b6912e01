// Every metric the project exposes, with its labels and meaning: the one list the metric families,
// the dashboards (tools/dashboards) and docs/observability.md are checked against.

/** What kind of series a metric is. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** Which process exposes a metric. */
export type MetricScope = 'data-plane' | 'control-plane' | 'sources' | 'process';

/** One metric: its Prometheus name, labels and meaning. */
export interface MetricInfo {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  readonly help: string;
  readonly scope: MetricScope;
  /** Where the name comes from: upstream's current (OTel) or legacy (OpenCensus) name, or ours. */
  readonly origin: 'upstream' | 'upstream-legacy' | 'eventing';
  /** Histogram bucket upper bounds. */
  readonly buckets?: readonly number[];
}

/** Upstream's OTel duration buckets, in seconds (CONFORMANCE 5.1). */
export const DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
] as const;

/** Upstream's legacy latency buckets, in milliseconds (CONFORMANCE 5.2). */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] as const;

/** Buckets of reconcile durations, in seconds (apps/controller's). */
export const RECONCILE_BUCKETS_SECONDS = [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] as const;

const LEGACY_INGRESS = [
  'broker_name',
  'namespace_name',
  'event_type',
  'response_code',
  'response_code_class',
];
const LEGACY_FILTER = [
  'broker_name',
  'trigger_name',
  'namespace_name',
  'response_code',
  'response_code_class',
];
const LEGACY_CHANNEL = ['namespace_name', 'subscription_name', 'response_code', 'response_code_class'];
/** kn.eventing.dispatch.duration's attributes after the OTel → Prometheus translation. */
const OTEL_DISPATCH = [
  'kn_broker_namespace',
  'kn_broker_name',
  'kn_channel_namespace',
  'kn_channel_name',
  'messaging_destination_name',
  'cloudevents_type',
  'http_response_status_code',
  'messaging_system',
  'messaging_operation_name',
  'url_scheme',
];
const LEGACY_SOURCE = [
  'namespace_name',
  'name',
  'resource_group',
  'event_source',
  'event_type',
  'response_code',
  'response_code_class',
];
const RESOURCE = ['namespace', 'kind', 'name'];

/** The metrics, by the key the code uses. */
export const METRICS = {
  // Upstream names (CONFORMANCE 5.1 current, 5.2 legacy).
  ingressEventCount: {
    name: 'mt_broker_ingress_event_count',
    type: 'counter',
    labels: LEGACY_INGRESS,
    help: 'Events received by broker ingress, by response code',
    scope: 'data-plane',
    origin: 'upstream-legacy',
  },
  ingressLatencies: {
    name: 'mt_broker_ingress_event_dispatch_latencies',
    type: 'histogram',
    labels: LEGACY_INGRESS,
    help: 'Time broker ingress took to store an event and answer, in milliseconds',
    scope: 'data-plane',
    origin: 'upstream-legacy',
    buckets: LATENCY_BUCKETS_MS,
  },
  filterEventCount: {
    name: 'mt_broker_filter_event_count',
    type: 'counter',
    labels: LEGACY_FILTER,
    help: 'Events delivered to trigger subscribers, by final response code',
    scope: 'data-plane',
    origin: 'upstream-legacy',
  },
  filterLatencies: {
    name: 'mt_broker_filter_event_dispatch_latencies',
    type: 'histogram',
    labels: LEGACY_FILTER,
    help: 'Time from the start of a trigger delivery to its end (retries included), in milliseconds',
    scope: 'data-plane',
    origin: 'upstream-legacy',
    buckets: LATENCY_BUCKETS_MS,
  },
  channelEventCount: {
    name: 'inmemorychannel_dispatcher_event_count',
    type: 'counter',
    labels: LEGACY_CHANNEL,
    help: 'Events delivered to channel subscribers, by final response code',
    scope: 'data-plane',
    origin: 'upstream-legacy',
  },
  channelLatencies: {
    name: 'inmemorychannel_dispatcher_event_dispatch_latencies',
    type: 'histogram',
    labels: LEGACY_CHANNEL,
    help: 'Time from the start of a channel subscription delivery to its end (retries included), in milliseconds',
    scope: 'data-plane',
    origin: 'upstream-legacy',
    buckets: LATENCY_BUCKETS_MS,
  },
  dispatchDuration: {
    name: 'kn_eventing_dispatch_duration_seconds',
    type: 'histogram',
    labels: OTEL_DISPATCH,
    help: 'Time to dispatch an event: at ingress, to store it (messaging_destination_name is the broker); for a trigger or subscription, from the start of its delivery to its end, retries included (trigger:<name>.<namespace>, subscription:<name>.<namespace>)',
    scope: 'data-plane',
    origin: 'upstream',
    buckets: DURATION_BUCKETS_SECONDS,
  },
  pingSourceEventCount: {
    name: 'pingsource_event_count',
    type: 'counter',
    labels: LEGACY_SOURCE,
    help: 'Events a PingSource sent to its sink, by the response code of the last attempt',
    scope: 'sources',
    origin: 'upstream-legacy',
  },
  pingSourceRetryEventCount: {
    name: 'pingsource_retry_event_count',
    type: 'counter',
    labels: LEGACY_SOURCE,
    help: 'Attempts a PingSource made after the first for one event, by response code',
    scope: 'sources',
    origin: 'upstream-legacy',
  },
  apiServerSourceEventCount: {
    name: 'apiserversource_event_count',
    type: 'counter',
    labels: LEGACY_SOURCE,
    help: 'Events an ApiServerSource sent to its sink, by the response code of the last attempt',
    scope: 'sources',
    origin: 'upstream-legacy',
  },
  apiServerSourceRetryEventCount: {
    name: 'apiserversource_retry_event_count',
    type: 'counter',
    labels: LEGACY_SOURCE,
    help: 'Attempts an ApiServerSource made after the first for one event, by response code',
    scope: 'sources',
    origin: 'upstream-legacy',
  },
  sourceRequestDuration: {
    name: 'http_client_request_duration_seconds',
    type: 'histogram',
    labels: [
      'kn_source_namespace',
      'kn_source_name',
      'kn_source_resourcegroup',
      'cloudevents_type',
      'http_response_status_code',
    ],
    help: 'Time a source took to send one event to its sink, retries included, by the final status (0: no response)',
    scope: 'sources',
    origin: 'upstream',
    buckets: DURATION_BUCKETS_SECONDS,
  },

  // Ours: what an operator needs beyond upstream's names.
  eventsAccepted: {
    name: 'eventing_events_accepted_total',
    type: 'counter',
    labels: RESOURCE,
    help: 'Events a broker or channel stored for at least one trigger or subscription (events stored for none are counted in eventing_events_discarded_total)',
    scope: 'data-plane',
    origin: 'eventing',
  },
  deliveriesAccepted: {
    name: 'eventing_deliveries_accepted_total',
    type: 'counter',
    labels: RESOURCE,
    help: 'Deliveries owed for stored events, one per matching trigger or channel subscription; each ends as exactly one outcome (delivered, dead_lettered, failed) or discard',
    scope: 'data-plane',
    origin: 'eventing',
  },
  deliveryOutcomes: {
    name: 'eventing_delivery_outcomes_total',
    type: 'counter',
    labels: [...RESOURCE, 'outcome'],
    help: 'Final outcome of each delivery: delivered, dead_lettered, failed (dropped after retries, no dead-letter sink) or held (dead-letter sink failed too; retried later; counted once per event)',
    scope: 'data-plane',
    origin: 'eventing',
  },
  deliveryRetries: {
    name: 'eventing_delivery_retries_total',
    type: 'counter',
    labels: RESOURCE,
    help: 'Attempts after the first, counted when the delivery ends (delivered, dead_lettered or failed)',
    scope: 'data-plane',
    origin: 'eventing',
  },
  eventsDiscarded: {
    name: 'eventing_events_discarded_total',
    type: 'counter',
    labels: [...RESOURCE, 'reason'],
    help: 'Accepted events dropped without a delivery outcome, by reason (trigger_deleted, shutdown, …)',
    scope: 'data-plane',
    origin: 'eventing',
  },
  eventsHeld: {
    name: 'eventing_events_held',
    type: 'gauge',
    labels: RESOURCE,
    help: 'Events held now (their dead-letter sink failed too) waiting to be tried again, per trigger or subscription',
    scope: 'data-plane',
    origin: 'eventing',
  },
  deliveriesPending: {
    name: 'eventing_deliveries_pending',
    type: 'gauge',
    labels: RESOURCE,
    help: 'Deliveries a broker or channel owes and has not ended yet (queued, in flight or held); for a store that does not count copies (Kafka broker class), only those a consumer has taken on',
    scope: 'data-plane',
    origin: 'eventing',
  },
  deliveriesInFlight: {
    name: 'eventing_deliveries_in_flight',
    type: 'gauge',
    labels: [],
    help: 'Deliveries running now in this process (they hold a slot of --max-in-flight-total)',
    scope: 'data-plane',
    origin: 'eventing',
  },
  deliveriesWaiting: {
    name: 'eventing_deliveries_waiting',
    type: 'gauge',
    labels: [],
    help: 'Deliveries waiting for a free slot of --max-in-flight-total',
    scope: 'data-plane',
    origin: 'eventing',
  },
  consumerBacklog: {
    name: 'eventing_consumer_backlog',
    type: 'gauge',
    labels: RESOURCE,
    help: "Events waiting in the store for a trigger's or subscription's consumer: queue length (memory) or consumer lag (Kafka, JetStream)",
    scope: 'data-plane',
    origin: 'eventing',
  },
  contractGeneration: {
    name: 'eventing_contract_generation',
    type: 'gauge',
    labels: [],
    help: 'Generation of the contract applied last (data plane) or written last (controller)',
    scope: 'data-plane',
    origin: 'eventing',
  },
  contractApplyFailures: {
    name: 'eventing_contract_apply_failures_total',
    type: 'counter',
    labels: ['reason'],
    help: 'Times the data plane failed to apply a new contract, or a resource of it, by reason',
    scope: 'data-plane',
    origin: 'eventing',
  },
  labelOverflow: {
    name: 'eventing_metric_label_overflow_total',
    type: 'counter',
    labels: ['metric'],
    help: 'Samples whose label values were folded into "other" because the metric reached its series cap (or, for event_type, its per-broker cap)',
    scope: 'process',
    origin: 'eventing',
  },
  controllerReconciles: {
    name: 'eventing_controller_reconciles_total',
    type: 'counter',
    labels: ['kind', 'outcome'],
    help: 'Reconciles by kind and outcome (ok, error, conflict).',
    scope: 'control-plane',
    origin: 'eventing',
  },
  controllerReconcileDuration: {
    name: 'eventing_controller_reconcile_duration_seconds',
    type: 'histogram',
    labels: ['kind'],
    help: 'Time one reconcile took, by kind.',
    scope: 'control-plane',
    origin: 'eventing',
    buckets: RECONCILE_BUCKETS_SECONDS,
  },
  controllerQueueDepth: {
    name: 'eventing_controller_queue_depth',
    type: 'gauge',
    labels: [],
    help: 'Resources waiting to be reconciled.',
    scope: 'control-plane',
    origin: 'eventing',
  },
  controllerLeader: {
    name: 'eventing_controller_leader',
    type: 'gauge',
    labels: [],
    help: '1 while this replica leads (reconciles and writes), else 0.',
    scope: 'control-plane',
    origin: 'eventing',
  },
  controllerApiRequests: {
    name: 'eventing_controller_api_requests',
    type: 'gauge',
    labels: ['purpose'],
    help: 'API requests made since start, by purpose (list, watch, get, write).',
    scope: 'control-plane',
    origin: 'eventing',
  },
} as const satisfies Record<string, MetricInfo>;

/** The key of a metric in {@link METRICS}. */
export type MetricKey = keyof typeof METRICS;

/** Every metric, in the order of {@link METRICS}. */
export const METRIC_LIST: readonly MetricInfo[] = Object.values(METRICS);
