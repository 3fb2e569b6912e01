import { METRICS as M } from '@eventing/observability';
import { DEFAULT_ALERT_SETTINGS, type AlertSettings, type AlertSpec } from './spec';

/** The alerting rules, with production windows and durations unless `settings` say otherwise. */
export function alertRules(settings: Partial<AlertSettings> = {}): AlertSpec[] {
  const s = { ...DEFAULT_ALERT_SETTINGS, ...settings };
  const w = s.window;
  const outcomes = M.deliveryOutcomes.name;
  const byResource = 'namespace, kind, name';
  const ingress = M.ingressEventCount.name;
  const T = s.backlogThreshold;
  return [
    {
      alert: 'EventingDeadLettersRising',
      expr: `sum by (${byResource}) (rate(${outcomes}{outcome="dead_lettered"}[${w}])) > 0`,
      for: s.for('10m'),
      severity: 'warning',
      summary:
        'Events to {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} are going to the dead-letter sink',
      description:
        'Deliveries to this subscriber keep failing after all their retries ({{ $value | humanize }}/s); the events are in the dead-letter sink.',
      action:
        'Look at the subscriber: its logs, and the last status in the warn log "delivery failed; event sent to the dead-letter sink" (field status). The dead-lettered events carry knativeerrorcode and knativeerrordata; replay them from the dead-letter sink once the subscriber is fixed.',
    },
    {
      alert: 'EventingEventsDropped',
      expr: `sum by (${byResource}) (rate(${outcomes}{outcome="failed"}[${w}])) > 0`,
      for: s.for('5m'),
      severity: 'critical',
      summary:
        'Events to {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} are dropped after their retries',
      description:
        'Deliveries fail after all retries and there is no dead-letter sink ({{ $value | humanize }}/s): these events are lost.',
      action:
        'Fix the subscriber (see the error log "delivery failed and there is no dead-letter sink", fields status and reason), and give the Trigger or Subscription a spec.delivery.deadLetterSink so that failures are kept.',
    },
    {
      alert: 'EventingDeliveriesHeld',
      expr: `sum by (${byResource}) (${M.eventsHeld.name}) > 0`,
      for: s.for('15m'),
      severity: 'warning',
      summary:
        '{{ $value }} events of {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} are held',
      description:
        'Both the subscriber and the dead-letter sink fail; the events are kept and tried again with backoff (up to --redelivery-max-delay).',
      action:
        'Bring back the dead-letter sink (or the subscriber); the held events go out on their next try. While they are held they use queue room: a full queue makes ingress answer 503.',
    },
    {
      alert: 'EventingBacklogGrowing',
      expr:
        `(sum by (${byResource}) (deriv(${M.consumerBacklog.name}[${w}])) > 0 and sum by (${byResource}) (${M.consumerBacklog.name}) > ${T})` +
        ` or (sum by (${byResource}) (deriv(${M.deliveriesPending.name}[${w}])) > 0 and sum by (${byResource}) (${M.deliveriesPending.name}) > ${T})`,
      for: s.for('15m'),
      severity: 'warning',
      summary: 'Deliveries of {{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.name }} fall behind',
      description:
        'More than ' +
        T +
        ' deliveries wait (queued, in flight, held, or consumer lag in the store) and the number keeps growing: subscribers are slower than producers.',
      action:
        'Find the slow trigger or subscription on the Triggers or Channels dashboard (delivery duration, retries). Speed up or scale the subscriber, raise spec.delivery / --max-in-flight if the subscriber can take more, or split busy triggers across brokers. A memory queue that fills makes ingress answer 503.',
    },
    {
      alert: 'EventingIngress5xx',
      expr:
        `sum by (namespace_name, broker_name) (rate(${ingress}{response_code_class="5xx"}[${w}]))` +
        ` / sum by (namespace_name, broker_name) (rate(${ingress}[${w}])) > ${s.ingress5xxRatio}`,
      for: s.for('5m'),
      severity: 'critical',
      summary:
        'Broker {{ $labels.namespace_name }}/{{ $labels.broker_name }} refuses {{ $value | humanizePercentage }} of events with 5xx',
      description:
        "Producers get 5xx from broker ingress: 503 when a trigger queue is full (its subscriber falls behind), 500 when the broker's channel or store fails.",
      action:
        'On the Broker ingress dashboard, read the response code. 503: find the trigger whose pending deliveries grow (Triggers dashboard) and speed up its subscriber, or raise --queue-capacity. 500: check the channel dispatcher or the Kafka/NATS store (their logs and the EventingTargetDown alert).',
    },
    {
      alert: 'EventingContractApplyFailures',
      expr: `sum by (job, instance, reason) (increase(${M.contractApplyFailures.name}[${w}])) > 0`,
      for: s.for('0m'),
      severity: 'warning',
      summary: '{{ $labels.job }} {{ $labels.instance }} failed to apply the contract ({{ $labels.reason }})',
      description:
        'The data plane could not apply the contract, or a resource of it; it keeps serving the last good state and retries resources with backoff.',
      action:
        'Read the error logs of that instance ("contract rejected" or "a resource could not be applied": they name the resource and why). contract_rejected: the mounted contract does not parse — check the controller that writes it. resource_failed: usually a store (Kafka, NATS) that is unreachable or refuses the topic or stream.',
    },
    {
      alert: 'EventingReconcileErrors',
      expr: `sum by (kind) (rate(${M.controllerReconciles.name}{outcome="error"}[${w}])) > 0`,
      for: s.for('15m'),
      severity: 'warning',
      summary: 'Reconciles of {{ $labels.kind }} keep failing',
      description:
        'The controller fails to reconcile some resources of this kind; their status says why (Ready=False).',
      action:
        'kubectl get <kind> -A and look for Ready=False; the condition message names the field or dependency. Controller logs have the error per resource key. Standalone prints the Ready condition of each resource and logs "reconcile failed" with the key and error; a store it cannot reach (--kafka-bootstrap, --nats-url) fails the reconciles of everything on it.',
    },
    {
      alert: 'EventingTargetDown',
      expr: `up{job=~"${s.jobs}"} == 0`,
      for: s.for('5m'),
      severity: 'critical',
      summary: '{{ $labels.job }} {{ $labels.instance }} is down',
      description:
        'Prometheus cannot scrape this instance: it is stopped, crashing, or its /metrics is unreachable. A stopped dispatcher delivers nothing.',
      action:
        'kubectl get pods and describe the pod (restarts, OOMKilled, readiness); its last logs say why it stopped. Events in a durable store wait for it; events for an in-memory channel are lost when it restarts.',
    },
  ];
}
