import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AdmissionRequest } from './review';

const OTHER = 'other';
const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);
const SUBRESOURCES = new Set(['', 'status']);

/**
 * Upstream's webhook metric (`kn.webhook.handler.duration`, seconds, by webhook type, resource
 * group/version/kind, subresource, operation and outcome) in Prometheus form. Every label is
 * bounded: a kind this webhook does not serve is counted as `other`.
 */
export class WebhookMetrics {
  readonly registry = new Registry();
  private readonly duration = new Histogram({
    name: 'kn_webhook_handler_duration_seconds',
    help: 'The duration of task execution.',
    labelNames: [
      'kn_webhook_type',
      'kn_webhook_resource_group',
      'kn_webhook_resource_version',
      'kn_webhook_resource_kind',
      'kn_webhook_subresource',
      'kn_webhook_operation_type',
      'kn_webhook_operation_status',
    ],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    registers: [this.registry],
  });

  constructor(private readonly serves: (group: string, version: string, kind: string) => boolean) {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Records one answered request. */
  observe(type: 'defaulting' | 'validation', req: AdmissionRequest, allowed: boolean, seconds: number): void {
    const { group, version, kind } = req.kind;
    const known = this.serves(group, version, kind);
    const subresource = req.subResource ?? '';
    this.duration.observe(
      {
        kn_webhook_type: type,
        kn_webhook_resource_group: known ? group : OTHER,
        kn_webhook_resource_version: known ? version : OTHER,
        kn_webhook_resource_kind: known ? kind : OTHER,
        kn_webhook_subresource: SUBRESOURCES.has(subresource) ? subresource : OTHER,
        kn_webhook_operation_type: OPERATIONS.has(req.operation) ? req.operation : OTHER,
        kn_webhook_operation_status: allowed ? 'success' : 'failure',
      },
      seconds,
    );
  }
}
