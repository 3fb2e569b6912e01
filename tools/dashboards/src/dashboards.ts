import { METRICS as M } from '@eventing/observability';
import type { DashboardSpec, PanelSpec } from './spec';

// The dashboards: an overview, then one per component. Queries use the dashboard variable
// `$namespace` (resource namespace; `.*` for all) and Grafana's `$__rate_interval`.

const RI = '$__rate_interval';
/** Our metrics' resource namespace. */
const NS = 'namespace=~"$namespace"';
/** Upstream legacy metrics' resource namespace. */
const NSL = 'namespace_name=~"$namespace"';

const rate = (metric: string, selector: string) => `rate(${metric}{${selector}}[${RI}])`;

/** p50, p90 and p99 of a histogram, per `by` (plus `le`). */
function quantiles(metric: string, selector: string, by: string, legend: string) {
  return [0.5, 0.9, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le, ${by}) (${rate(`${metric}_bucket`, selector)}))`,
    legend: `p${q * 100} ${legend}`,
  }));
}

const processPanels = (jobSelector: string): PanelSpec[] => [
  {
    title: 'CPU per instance',
    description: 'CPU seconds used per second by each process (1 = one core busy).',
    kind: 'timeseries',
    unit: 'percentunit',
    queries: [
      { expr: `rate(process_cpu_seconds_total{${jobSelector}}[${RI}])`, legend: '{{job}} {{instance}}' },
    ],
    width: 8,
  },
  {
    title: 'Resident memory per instance',
    description: 'Resident set size of each process.',
    kind: 'timeseries',
    unit: 'bytes',
    queries: [{ expr: `process_resident_memory_bytes{${jobSelector}}`, legend: '{{job}} {{instance}}' }],
    width: 8,
  },
  {
    title: 'Event loop lag p99 per instance',
    description:
      'How late timers and I/O callbacks run, 99th percentile: above a few tens of milliseconds the process is saturated.',
    kind: 'timeseries',
    unit: 's',
    queries: [{ expr: `nodejs_eventloop_lag_p99_seconds{${jobSelector}}`, legend: '{{job}} {{instance}}' }],
    width: 8,
  },
];

const OUTCOMES = M.deliveryOutcomes.name;
const ENDED = 'outcome=~"delivered|dead_lettered|failed"';

export const OVERVIEW: DashboardSpec = {
  uid: 'eventing-overview',
  title: 'Eventing / Overview',
  description:
    'Events in, deliveries out, and every way an accepted event can end: delivered, dead-lettered, dropped or discarded.',
  rows: [
    {
      title: 'Now',
      panels: [
        {
          title: 'Events stored /s',
          description:
            'Events brokers and channels stored for at least one trigger or subscription (eventing_events_accepted_total).',
          kind: 'stat',
          unit: 'ops',
          queries: [{ expr: `sum(${rate(M.eventsAccepted.name, NS)})` }],
          main: true,
          width: 6,
        },
        {
          title: 'Delivered /s',
          description: 'Deliveries a subscriber answered 2xx.',
          kind: 'stat',
          unit: 'ops',
          queries: [{ expr: `sum(${rate(OUTCOMES, `${NS},outcome="delivered"`)})` }],
          main: true,
          width: 6,
        },
        {
          title: 'Dead-lettered /s',
          description: 'Deliveries that exhausted their retries and went to the dead-letter sink.',
          kind: 'stat',
          unit: 'ops',
          queries: [{ expr: `sum(${rate(OUTCOMES, `${NS},outcome="dead_lettered"`)})` }],
          main: true,
          width: 6,
        },
        {
          title: 'Dropped /s',
          description:
            'Deliveries that exhausted their retries without a dead-letter sink: the events are gone (upstream drops them too).',
          kind: 'stat',
          unit: 'ops',
          queries: [{ expr: `sum(${rate(OUTCOMES, `${NS},outcome="failed"`)})` }],
          main: true,
          width: 6,
        },
      ],
    },
    {
      title: 'Traffic and outcomes',
      panels: [
        {
          title: 'Ingress requests /s by response class',
          description: 'Requests to broker ingress (mt_broker_ingress_event_count), by 2xx, 4xx, 5xx.',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: `sum by (response_code_class) (${rate(M.ingressEventCount.name, NSL)})`,
              legend: '{{response_code_class}}',
            },
          ],
          main: true,
          stacked: true,
        },
        {
          title: 'Delivery outcomes /s',
          description:
            'How deliveries end: delivered, dead_lettered, failed (dropped) — and held (the dead-letter sink failed too; counted once, retried later).',
          kind: 'timeseries',
          unit: 'ops',
          queries: [{ expr: `sum by (outcome) (${rate(OUTCOMES, NS)})`, legend: '{{outcome}}' }],
          main: true,
          stacked: true,
        },
        {
          title: 'Discarded /s by reason',
          description:
            'Accepted events that left without a delivery: stored for nobody (no_matching_trigger, no_subscribers), or their trigger, subscription, broker or channel went away, or shutdown.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [{ expr: `sum by (reason) (${rate(M.eventsDiscarded.name, NS)})`, legend: '{{reason}}' }],
          main: true,
        },
        {
          title: 'Pending and held deliveries',
          description:
            'Deliveries owed and not ended yet (queued, in flight or held), and those held because their dead-letter sink failed too.',
          kind: 'timeseries',
          unit: 'short',
          queries: [
            { expr: `sum(${M.deliveriesPending.name}{${NS}})`, legend: 'pending' },
            { expr: `sum(${M.eventsHeld.name}{${NS}})`, legend: 'held' },
          ],
          main: true,
        },
      ],
    },
    {
      title: 'Health',
      panels: [
        {
          title: 'Contract generation per instance',
          description:
            'Generation of the contract each data-plane process applied last: instances that lag behind the others have not picked up the latest changes.',
          kind: 'timeseries',
          unit: 'none',
          queries: [
            { expr: `max by (job, instance) (${M.contractGeneration.name})`, legend: '{{job}} {{instance}}' },
          ],
          main: true,
          width: 8,
        },
        {
          title: 'Contract apply failures /s',
          description: 'Contracts (or resources of them) the data plane could not apply, by reason.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (reason) (rate(${M.contractApplyFailures.name}[${RI}]))`,
              legend: '{{reason}}',
            },
          ],
          width: 8,
        },
        {
          title: 'Reconcile errors /s by kind',
          description: 'Reconciles the controller ended with an error (they are retried with backoff).',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (kind) (rate(${M.controllerReconciles.name}{outcome="error"}[${RI}]))`,
              legend: '{{kind}}',
            },
          ],
          width: 8,
        },
        {
          title: 'Metric samples folded into "other" /s',
          description:
            'Samples whose labels went to `other` because a metric reached its series cap: raise the cap or find the client sending random event types.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            { expr: `sum by (metric) (rate(${M.labelOverflow.name}[${RI}])) > 0`, legend: '{{metric}}' },
          ],
          width: 12,
        },
        {
          title: 'Scrape targets up',
          description: 'Whether Prometheus reaches each instance of the services (1 up, 0 down).',
          kind: 'timeseries',
          unit: 'none',
          queries: [{ expr: `up{job=~"$job"}`, legend: '{{job}} {{instance}}' }],
          main: true,
          width: 12,
        },
      ],
    },
  ],
};

export const INGRESS: DashboardSpec = {
  uid: 'eventing-ingress',
  title: 'Eventing / Broker ingress',
  description: 'Requests to brokers: what was stored, what was refused and why, and how long storing took.',
  rows: [
    {
      title: 'Requests',
      panels: [
        {
          title: 'Requests /s by broker',
          description: 'Requests to each broker (mt_broker_ingress_event_count), all response codes.',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: `sum by (namespace_name, broker_name) (${rate(M.ingressEventCount.name, NSL)})`,
              legend: '{{namespace_name}}/{{broker_name}}',
            },
          ],
          main: true,
        },
        {
          title: 'Requests /s by response code',
          description:
            '202 stored; 400 not a valid CloudEvent or TTL used up; 404 no such broker; 413 too large; 503 a queue is full (Retry-After).',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: `sum by (response_code) (${rate(M.ingressEventCount.name, NSL)})`,
              legend: '{{response_code}}',
            },
          ],
          main: true,
        },
        {
          title: 'Top event types /s',
          description:
            'The ten busiest event types per broker (types beyond the per-broker cap are counted as `other`).',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `topk(10, sum by (namespace_name, broker_name, event_type) (${rate(M.ingressEventCount.name, NSL)}))`,
              legend: '{{broker_name}} {{event_type}}',
            },
          ],
          main: true,
        },
        {
          title: 'Refused requests /s (4xx and 5xx)',
          description: 'Requests not stored, by broker and code: the producer got the error.',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: `sum by (namespace_name, broker_name, response_code) (${rate(M.ingressEventCount.name, `${NSL},response_code_class=~"4xx|5xx"`)})`,
              legend: '{{namespace_name}}/{{broker_name}} {{response_code}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Stored',
      panels: [
        {
          title: 'Events stored /s by broker and channel',
          description: 'Events stored for at least one trigger or subscription.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (namespace, kind, name) (${rate(M.eventsAccepted.name, NS)})`,
              legend: '{{kind}} {{namespace}}/{{name}}',
            },
          ],
          main: true,
        },
        {
          title: 'Deliveries owed /s by broker and channel',
          description: 'One per matching trigger or subscription of each stored event.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (namespace, kind, name) (${rate(M.deliveriesAccepted.name, NS)})`,
              legend: '{{kind}} {{namespace}}/{{name}}',
            },
          ],
          main: true,
        },
      ],
    },
    {
      title: 'Latency',
      panels: [
        {
          title: 'Time to store an event',
          description:
            'From the request to the answer, p50/p90/p99 per broker (kn_eventing_dispatch_duration_seconds, messaging_destination_name="broker:<name>.<namespace>").',
          kind: 'timeseries',
          unit: 's',
          queries: quantiles(
            M.dispatchDuration.name,
            'messaging_destination_name=~"broker:.*",kn_broker_namespace=~"$namespace"',
            'messaging_destination_name',
            '{{messaging_destination_name}}',
          ),
        },
        {
          title: 'Time to store an event (legacy ms histogram)',
          description:
            "The same, from upstream's legacy mt_broker_ingress_event_dispatch_latencies, p99 per broker.",
          kind: 'timeseries',
          unit: 'ms',
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (le, broker_name) (${rate(`${M.ingressLatencies.name}_bucket`, NSL)}))`,
              legend: 'p99 {{broker_name}}',
            },
          ],
        },
      ],
    },
  ],
};

function deliveryDashboard(kind: 'Trigger' | 'Subscription'): DashboardSpec {
  const trigger = kind === 'Trigger';
  const sel = `${NS},kind="${kind}"`;
  const legacy = trigger ? M.filterEventCount.name : M.channelEventCount.name;
  const who = trigger ? 'trigger_name' : 'subscription_name';
  const parent = trigger ? 'Broker' : 'Channel';
  const destination = trigger ? 'trigger:.*' : 'subscription:.*';
  const parentNs = trigger ? 'kn_broker_namespace' : 'kn_channel_namespace';
  const panels: PanelSpec[] = [
    {
      title: `Deliveries /s by ${kind.toLowerCase()} and response code`,
      description: `Ended deliveries per ${kind.toLowerCase()} and the subscriber's final response code (${legacy}).`,
      kind: 'timeseries',
      unit: 'ops',
      queries: [
        {
          expr: `sum by (namespace_name, ${who}, response_code) (${rate(legacy, NSL)})`,
          legend: `{{namespace_name}}/{{${who}}} {{response_code}}`,
        },
      ],
      main: true,
    },
    {
      title: `Outcomes /s by ${kind.toLowerCase()}`,
      description: 'delivered, dead_lettered, failed (dropped without a dead-letter sink) and held.',
      kind: 'timeseries',
      unit: 'ops',
      queries: [
        {
          expr: `sum by (namespace, name, outcome) (${rate(OUTCOMES, sel)})`,
          legend: '{{namespace}}/{{name}} {{outcome}}',
        },
      ],
      main: true,
    },
    {
      title: `Dead letters /s by ${kind.toLowerCase()}`,
      description: 'Deliveries that went to the dead-letter sink after their retries.',
      kind: 'timeseries',
      unit: 'ops',
      queries: [
        {
          expr: `sum by (namespace, name) (${rate(OUTCOMES, `${sel},outcome="dead_lettered"`)})`,
          legend: '{{namespace}}/{{name}}',
        },
      ],
      main: true,
    },
    {
      title: `Retries /s by ${kind.toLowerCase()}`,
      description: 'Attempts after the first, counted when the delivery ends.',
      kind: 'timeseries',
      unit: 'ops',
      queries: [
        {
          expr: `sum by (namespace, name) (${rate(M.deliveryRetries.name, sel)})`,
          legend: '{{namespace}}/{{name}}',
        },
      ],
      main: true,
    },
    {
      title: `Success ratio by ${kind.toLowerCase()}`,
      description: 'Delivered ÷ ended (delivered, dead-lettered, dropped).',
      kind: 'timeseries',
      unit: 'percentunit',
      queries: [
        {
          expr: `sum by (namespace, name) (${rate(OUTCOMES, `${sel},outcome="delivered"`)}) / sum by (namespace, name) (${rate(OUTCOMES, `${sel},${ENDED}`)})`,
          legend: '{{namespace}}/{{name}}',
        },
      ],
      main: true,
    },
    {
      title: `Held now by ${kind.toLowerCase()}`,
      description: 'Events whose dead-letter sink failed too, waiting to be tried again.',
      kind: 'timeseries',
      unit: 'short',
      queries: [
        {
          expr: `sum by (namespace, name) (${M.eventsHeld.name}{${sel}}) > 0`,
          legend: '{{namespace}}/{{name}}',
        },
      ],
    },
    {
      title: `Discarded /s by ${kind.toLowerCase()} and reason`,
      description: 'Deliveries cut because their resource was deleted or moved, or at shutdown.',
      kind: 'timeseries',
      unit: 'ops',
      queries: [
        {
          expr: `sum by (namespace, name, reason) (${rate(M.eventsDiscarded.name, sel)})`,
          legend: '{{namespace}}/{{name}} {{reason}}',
        },
      ],
    },
    {
      title: `Pending deliveries by ${parent.toLowerCase()}`,
      description:
        'Deliveries owed and not ended yet (queued, in flight or held); it grows when subscribers fall behind.',
      kind: 'timeseries',
      unit: 'short',
      queries: [
        {
          expr: `sum by (namespace, name) (${M.deliveriesPending.name}{${NS},kind="${parent}"})`,
          legend: '{{namespace}}/{{name}}',
        },
      ],
      main: true,
    },
    {
      title: `Backlog in the store by ${kind.toLowerCase()}`,
      description:
        'Events waiting in the store for the consumer: queue length (memory) or consumer lag (Kafka, JetStream).',
      kind: 'timeseries',
      unit: 'short',
      queries: [
        {
          expr: `sum by (namespace, name) (${M.consumerBacklog.name}{${sel}})`,
          legend: '{{namespace}}/{{name}}',
        },
      ],
    },
    {
      title: `Delivery duration by ${kind.toLowerCase()}`,
      description:
        'From the start of a delivery to its end, retries included, p50/p90/p99 (kn_eventing_dispatch_duration_seconds).',
      kind: 'timeseries',
      unit: 's',
      queries: quantiles(
        M.dispatchDuration.name,
        `messaging_destination_name=~"${destination}",${parentNs}=~"$namespace"`,
        'messaging_destination_name',
        '{{messaging_destination_name}}',
      ),
    },
  ];
  return trigger
    ? {
        uid: 'eventing-triggers',
        title: 'Eventing / Triggers (broker filter)',
        description:
          'Deliveries to trigger subscribers: outcomes, retries, dead letters, what is pending and held.',
        rows: [
          { title: 'Deliveries', panels: panels.slice(0, 5) },
          { title: 'Waiting', panels: panels.slice(5, 9) },
          { title: 'Latency', panels: panels.slice(9) },
        ],
      }
    : {
        uid: 'eventing-channels',
        title: 'Eventing / Channels and dispatchers',
        description:
          'Deliveries to channel subscribers and the dispatcher processes: outcomes, retries, dead letters, pending and in-flight deliveries.',
        rows: [
          { title: 'Deliveries', panels: panels.slice(0, 5) },
          { title: 'Waiting', panels: panels.slice(5, 9) },
          {
            title: 'Dispatcher processes',
            panels: [
              {
                title: 'Deliveries in flight and waiting for a slot',
                description:
                  'Deliveries running now per process, and those waiting for a slot of --max-in-flight-total.',
                kind: 'timeseries',
                unit: 'short',
                queries: [
                  {
                    expr: `sum by (job, instance) (${M.deliveriesInFlight.name})`,
                    legend: 'in flight {{job}} {{instance}}',
                  },
                  {
                    expr: `sum by (job, instance) (${M.deliveriesWaiting.name})`,
                    legend: 'waiting {{job}} {{instance}}',
                  },
                ],
              },
              panels[9]!,
              ...processPanels('job=~"$job"'),
            ],
          },
        ],
      };
}

export const TRIGGERS = deliveryDashboard('Trigger');
export const CHANNELS = deliveryDashboard('Subscription');

export const CONTROLLER: DashboardSpec = {
  uid: 'eventing-controller',
  title: 'Eventing / Controller',
  description:
    'Reconciles per kind, their errors and durations, the work queue, leadership and API requests.',
  rows: [
    {
      title: 'Reconciles',
      panels: [
        {
          title: 'Reconciles /s by kind and outcome',
          description:
            'ok, error (retried with backoff) or conflict (the resource changed meanwhile; retried at once).',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (kind, outcome) (rate(${M.controllerReconciles.name}[${RI}]))`,
              legend: '{{kind}} {{outcome}}',
            },
          ],
        },
        {
          title: 'Reconcile errors /s by kind',
          description: 'Reconciles that ended with an error.',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (kind) (rate(${M.controllerReconciles.name}{outcome="error"}[${RI}]))`,
              legend: '{{kind}}',
            },
          ],
        },
        {
          title: 'Reconcile duration by kind',
          description: 'p50/p90/p99 of one reconcile of one resource.',
          kind: 'timeseries',
          unit: 's',
          queries: quantiles(M.controllerReconcileDuration.name, '', 'kind', '{{kind}}'),
        },
        {
          title: 'Work queue depth',
          description:
            'Resources waiting to be reconciled; a depth that keeps growing means the controller falls behind.',
          kind: 'timeseries',
          unit: 'short',
          queries: [
            { expr: `max by (job, instance) (${M.controllerQueueDepth.name})`, legend: '{{instance}}' },
          ],
        },
        {
          title: 'Leader',
          description:
            'Which replica leads (1): only the leader reconciles and writes; the others wait for its lease.',
          kind: 'timeseries',
          unit: 'none',
          queries: [{ expr: `max by (job, instance) (${M.controllerLeader.name})`, legend: '{{instance}}' }],
        },
        {
          title: 'API server requests /s by purpose',
          description: 'Requests to the Kubernetes API server: list, watch, get, write.',
          kind: 'timeseries',
          unit: 'reqps',
          queries: [
            {
              expr: `sum by (purpose) (rate(${M.controllerApiRequests.name}[${RI}]))`,
              legend: '{{purpose}}',
            },
          ],
        },
      ],
    },
    { title: 'Process', panels: processPanels('job=~".*controller.*"') },
  ],
};

export const SOURCES: DashboardSpec = {
  uid: 'eventing-sources',
  title: 'Eventing / Sources',
  description: 'Events sources sent to their sinks, failures and send durations.',
  rows: [
    {
      title: 'Sends',
      panels: [
        {
          title: 'Events sent /s by source and status',
          description: 'Attempts to send to the sink, by final HTTP status (0: no response).',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (kn_source_resourcegroup, kn_source_namespace, kn_source_name, http_response_status_code) (${rate(`${M.sourceRequestDuration.name}_count`, 'kn_source_namespace=~"$namespace"')})`,
              legend: '{{kn_source_namespace}}/{{kn_source_name}} {{http_response_status_code}}',
            },
          ],
        },
        {
          title: 'Failed sends /s by source',
          description: 'Attempts the sink did not accept (not 2xx, or no response).',
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (kn_source_namespace, kn_source_name) (${rate(`${M.sourceRequestDuration.name}_count`, 'kn_source_namespace=~"$namespace",http_response_status_code!~"2.."')})`,
              legend: '{{kn_source_namespace}}/{{kn_source_name}}',
            },
          ],
        },
        {
          title: 'Send duration by source',
          description: 'p50/p90/p99 of one attempt to the sink.',
          kind: 'timeseries',
          unit: 's',
          queries: quantiles(
            M.sourceRequestDuration.name,
            'kn_source_namespace=~"$namespace"',
            'kn_source_name',
            '{{kn_source_name}}',
          ),
        },
        {
          title: 'PingSource events and retries /s (legacy)',
          description: "Upstream's legacy pingsource_event_count and pingsource_retry_event_count.",
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (namespace_name, name, response_code) (${rate(M.pingSourceEventCount.name, NSL)})`,
              legend: 'sent {{namespace_name}}/{{name}} {{response_code}}',
            },
            {
              expr: `sum by (namespace_name, name, response_code) (${rate(M.pingSourceRetryEventCount.name, NSL)})`,
              legend: 'retried {{namespace_name}}/{{name}} {{response_code}}',
            },
          ],
        },
        {
          title: 'ApiServerSource events and retries /s (legacy)',
          description: "Upstream's legacy apiserversource_event_count and apiserversource_retry_event_count.",
          kind: 'timeseries',
          unit: 'ops',
          queries: [
            {
              expr: `sum by (namespace_name, name, response_code) (${rate(M.apiServerSourceEventCount.name, NSL)})`,
              legend: 'sent {{namespace_name}}/{{name}} {{response_code}}',
            },
            {
              expr: `sum by (namespace_name, name, response_code) (${rate(M.apiServerSourceRetryEventCount.name, NSL)})`,
              legend: 'retried {{namespace_name}}/{{name}} {{response_code}}',
            },
          ],
        },
      ],
    },
  ],
};

/** Every dashboard, overview first. */
export const DASHBOARDS: readonly DashboardSpec[] = [
  OVERVIEW,
  INGRESS,
  TRIGGERS,
  CHANNELS,
  CONTROLLER,
  SOURCES,
];
