import type { CloudEvent } from '@eventing/cloudevents';
import type { Ack, ChannelMessage } from '@eventing/channels';
import type { DeliveryOutcome } from '@eventing/delivery';
import type { ConsumerContext } from './consumer-set';

/**
 * Who an event was being delivered for: a Trigger (with its broker) or a channel Subscription; or,
 * for what ingress stored, the Broker or Channel it was stored in.
 */
export interface DeliveryTarget {
  kind: 'Trigger' | 'Subscription' | 'Broker' | 'Channel';
  namespace: string;
  name: string;
  /** The Trigger's broker. */
  broker?: string;
  /** The Subscription's channel. */
  channel?: string;
  deadLetterUri?: string;
}

/** Why an event is held for a later redelivery. */
export type HeldReason = 'dead_letter_failed' | 'handler_error';

/**
 * Every way an accepted event leaves a trigger's or subscription's queue, reported exactly once per
 * event and target, plus the held state in between. The data plane's owner counts and logs them.
 */
export interface DeliveryObserver {
  /**
   * Ingress stored an event for `copies` triggers or subscriptions of a broker or channel; `copies` is
   * undefined when the store does not know, and then consumers report each delivery they take on.
   */
  accepted(target: DeliveryTarget, copies: number | undefined): void;
  /** A consumer took on one delivery of an event whose copies the store did not count. */
  owed(target: DeliveryTarget): void;
  /** Delivered, dead-lettered, or failed after its retries with no dead-letter sink. */
  /** `seconds`: from the start of the delivery (its slot taken) to its end, retries included. */
  outcome(target: DeliveryTarget, event: CloudEvent, outcome: DeliveryOutcome, seconds?: number): void;
  /** The event is held for a later redelivery; reported once per event, on the first time. */
  held(target: DeliveryTarget, event: CloudEvent, reason: HeldReason, detail: string): void;
  /** `count` held events left the held state (delivered, dead-lettered or discarded). */
  released(target: DeliveryTarget, count: number): void;
  /** Events that leave without delivery or dead letter, with the reason (`trigger_deleted`…). */
  discarded(target: DeliveryTarget, events: readonly CloudEvent[], reason: string): void;
  /** The delivery code threw (a bug); the event is kept and redelivered later. */
  handlerError(target: DeliveryTarget, event: CloudEvent, error: unknown): void;
}

/** Observer that ignores everything (tests, tools). */
export const IGNORE_OUTCOMES: DeliveryObserver = {
  accepted: () => undefined,
  owed: () => undefined,
  outcome: () => undefined,
  held: () => undefined,
  released: () => undefined,
  discarded: () => undefined,
  handlerError: () => undefined,
};

/**
 * What the backend is told after a delivery attempt ended: failed because it was cancelled ⇒ counted
 * as discarded with the cancellation's reason; failed with a dead-letter sink that failed too ⇒ held and redelivered later
 * (never dropped); anything else ⇒ done, with its outcome reported.
 */
export function conclude<C>(
  observer: DeliveryObserver,
  target: DeliveryTarget,
  message: ChannelMessage,
  event: CloudEvent,
  outcome: DeliveryOutcome,
  context: ConsumerContext<C>,
  startedAt?: number,
): Ack {
  // A delivery that ended before the cancellation reached it keeps its real outcome.
  if (outcome.kind === 'failed' && context.cancel.aborted) {
    // A durable store keeps it for the next start; anywhere else it is gone, and counted.
    if (context.requeueOnCancel) return 'nack';
    discard(observer, target, [message], context.cancelReason ?? 'cancelled');
    return 'term';
  }
  if (outcome.kind === 'failed' && target.deadLetterUri !== undefined) {
    if (message.redeliveries === 0) observer.held(target, event, 'dead_letter_failed', outcome.reason);
    return 'nack';
  }
  if (message.redeliveries > 0) observer.released(target, 1);
  observer.outcome(
    target,
    event,
    outcome,
    startedAt === undefined ? undefined : (performance.now() - startedAt) / 1000,
  );
  return 'ack';
}

/** Reports messages that leave without delivery; those that were held leave the held state too. */
export function discard(
  observer: DeliveryObserver,
  target: DeliveryTarget,
  messages: readonly ChannelMessage[],
  reason: string,
): void {
  let held = 0;
  const events: CloudEvent[] = [];
  for (const m of messages) {
    if (m.redeliveries > 0) held++;
    events.push(m.event);
  }
  if (held > 0) observer.released(target, held);
  observer.discarded(target, events, reason);
}

/** A handler bug: the backend redelivers the message later; it counts as held from the first time. */
export function handlerFailed(
  observer: DeliveryObserver,
  target: DeliveryTarget,
  message: ChannelMessage,
  error: unknown,
): void {
  observer.handlerError(target, message.event, error);
  if (message.redeliveries === 0)
    observer.held(
      target,
      message.event,
      'handler_error',
      error instanceof Error ? error.message : String(error),
    );
}
