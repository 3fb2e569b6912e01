import type { DeliveryOutcome } from '@eventing/delivery';
import type { EventingMetrics } from '@eventing/observability';
import type { Logger } from '@eventing/runtime';
import type { DeliveryObserver, DeliveryTarget } from './outcomes';

/** Reasons a discard is expected behaviour rather than news: counted, logged only at debug. */
const ROUTINE_DISCARDS = new Set(['no_matching_trigger', 'no_subscribers']);

/**
 * Counts and logs how every accepted event ends (docs/ARCHITECTURE.md, "Nothing accepted is dropped
 * silently"): outcomes, held once per event with a gauge of what is held now, discards with reasons.
 */
export function outcomeObserver(metrics: EventingMetrics, log: Logger): DeliveryObserver {
  const who = (t: DeliveryTarget) => ({ [t.kind.toLowerCase()]: `${t.namespace}/${t.name}` });
  return {
    accepted: (t, copies) => metrics.acceptedFor(t, copies),
    // A consumer took on a delivery the store did not count: owed by its broker or channel.
    owed: (t) => metrics.owedFor(t),
    outcome: (t, event, outcome, seconds) => {
      metrics.deliveryEnded(
        t,
        event.attributes.type,
        outcome.status,
        outcomeLabel(outcome),
        outcome.attempts,
        seconds,
      );
      // Delivered is counted, never logged: no log fields are built for it.
      if (outcome.kind === 'delivered') return;
      const fields: Record<string, unknown> = {
        ...who(t),
        id: event.attributes.id,
        attempts: outcome.attempts,
        status: outcome.status,
      };
      // Traced deliveries name their trace and span (`00-<trace id>-<span id>-<flags>`).
      const tp = outcome.traceparent;
      if (tp !== undefined) {
        fields['trace_id'] = tp.slice(3, 35);
        fields['span_id'] = tp.slice(36, 52);
      }
      if (outcome.kind === 'dead-lettered')
        log.warn(fields, 'delivery failed; event sent to the dead-letter sink');
      else
        log.error(
          { ...fields, reason: outcome.reason },
          'delivery failed and there is no dead-letter sink; event dropped',
        );
    },
    held: (t, event, reason, detail) => {
      metrics.heldFor(t);
      log.warn(
        { ...who(t), id: event.attributes.id, reason, error: detail },
        reason === 'handler_error'
          ? 'delivery code failed; event held and retried with backoff'
          : 'delivery and dead-letter sink failed; event held and retried with backoff',
      );
    },
    released: (t, count) => metrics.releasedFor(t, count),
    discarded: (t, events, reason) => {
      metrics.discardedFor(t, reason, events.length);
      const fields = { ...who(t), count: events.length, reason, first: events[0]?.attributes.id };
      if (ROUTINE_DISCARDS.has(reason)) log.debug(fields, 'event stored for nobody');
      else log.warn(fields, 'accepted event(s) discarded without delivery');
    },
    handlerError: (t, event, error) =>
      log.error(
        { ...who(t), id: event.attributes.id, error: error instanceof Error ? error.message : String(error) },
        'delivery code threw; event kept for redelivery',
      ),
  };
}

function outcomeLabel(outcome: DeliveryOutcome): 'delivered' | 'dead_lettered' | 'failed' {
  if (outcome.kind === 'delivered') return 'delivered';
  return outcome.kind === 'dead-lettered' ? 'dead_lettered' : 'failed';
}
