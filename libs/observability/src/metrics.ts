import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

/** `2xx`, `4xx`… as upstream's `response_code_class` label. */
export function codeClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/** How one delivery ended, for the outcome counter. */
export type DeliveryOutcomeKind = 'delivered' | 'dead_lettered' | 'failed' | 'held';

/**
 * The data plane's Prometheus metrics, with upstream's legacy names and labels so existing Knative
 * dashboards work, plus an outcome counter that makes every undelivered event visible.
 */
export class EventingMetrics {
  readonly registry = new Registry();
  private readonly ingress: Counter;
  private readonly filter: Counter;
  private readonly channel: Counter;
  private readonly outcomes: Counter;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.ingress = new Counter({
      name: 'mt_broker_ingress_event_count',
      help: 'Events received by broker ingress, by response code',
      labelNames: ['broker_name', 'namespace_name', 'event_type', 'response_code', 'response_code_class'],
      registers: [this.registry],
    });
    this.filter = new Counter({
      name: 'mt_broker_filter_event_count',
      help: 'Events delivered to trigger subscribers, by final response code',
      labelNames: ['broker_name', 'trigger_name', 'namespace_name', 'response_code', 'response_code_class'],
      registers: [this.registry],
    });
    this.channel = new Counter({
      name: 'inmemorychannel_dispatcher_event_count',
      help: 'Events delivered to channel subscribers, by final response code',
      labelNames: ['namespace_name', 'subscription_name', 'response_code', 'response_code_class'],
      registers: [this.registry],
    });
    this.outcomes = new Counter({
      name: 'eventing_delivery_outcomes_total',
      help: 'Final outcome of each delivery: delivered, dead_lettered, failed (dropped after retries, no dead-letter sink) or held (dead-letter sink failed too; retried later)',
      labelNames: ['namespace', 'kind', 'name', 'outcome'],
      registers: [this.registry],
    });
  }

  /** Counts one ingress request. */
  ingressResult(namespace: string, broker: string, eventType: string, status: number): void {
    this.ingress.inc({
      broker_name: broker,
      namespace_name: namespace,
      event_type: eventType,
      response_code: String(status),
      response_code_class: codeClass(status),
    });
  }

  /** Counts the end of one trigger delivery. */
  triggerDelivery(
    namespace: string,
    broker: string,
    trigger: string,
    status: number,
    outcome: DeliveryOutcomeKind,
  ): void {
    this.filter.inc({
      broker_name: broker,
      trigger_name: trigger,
      namespace_name: namespace,
      response_code: String(status),
      response_code_class: codeClass(status),
    });
    this.outcomes.inc({ namespace, kind: 'Trigger', name: trigger, outcome });
  }

  /** Counts the end of one channel subscription delivery. */
  subscriptionDelivery(
    namespace: string,
    subscription: string,
    status: number,
    outcome: DeliveryOutcomeKind,
  ): void {
    this.channel.inc({
      namespace_name: namespace,
      subscription_name: subscription,
      response_code: String(status),
      response_code_class: codeClass(status),
    });
    this.outcomes.inc({ namespace, kind: 'Subscription', name: subscription, outcome });
  }
}
