import { FieldError, indexPath } from './errors';
import type { ObjectMeta } from './meta';

/**
 * Trigger annotation choosing how a Kafka-backed broker dispatches to the subscriber: `ordered`
 * (one event at a time per partition) or `unordered` (concurrently). Upstream's Kafka broker reads
 * it on Triggers only, case-insensitively; Subscriptions are never asked (a KafkaChannel always
 * dispatches ordered).
 */
export const KAFKA_DELIVERY_ORDER_ANNOTATION = 'kafka.eventing.knative.dev/delivery.order';

export const DELIVERY_ORDERS = ['ordered', 'unordered'] as const;
export type DeliveryOrder = (typeof DELIVERY_ORDERS)[number];

/** What a Kafka-backed broker uses for a Trigger without the annotation. */
export const DEFAULT_TRIGGER_DELIVERY_ORDER: DeliveryOrder = 'unordered';
/** What a KafkaChannel uses for every subscription (upstream has no per-subscription choice). */
export const KAFKA_CHANNEL_DELIVERY_ORDER: DeliveryOrder = 'ordered';

/** Reads a delivery order value as upstream does (case-insensitive); undefined when it is neither. */
export function parseDeliveryOrder(value: string): DeliveryOrder | undefined {
  const lower = value.toLowerCase();
  return (DELIVERY_ORDERS as readonly string[]).includes(lower) ? (lower as DeliveryOrder) : undefined;
}

/** The delivery order a Trigger asks for: its annotation when valid, else `fallback`. */
export function deliveryOrderOf(
  meta: ObjectMeta,
  fallback: DeliveryOrder = DEFAULT_TRIGGER_DELIVERY_ORDER,
): DeliveryOrder {
  const value = meta.annotations?.[KAFKA_DELIVERY_ORDER_ANNOTATION];
  return (value === undefined ? undefined : parseDeliveryOrder(value)) ?? fallback;
}

/** Validates the delivery order annotation when present: `ordered` or `unordered`, any case. */
export function validateDeliveryOrderAnnotation(meta: ObjectMeta): FieldError[] {
  const value = meta.annotations?.[KAFKA_DELIVERY_ORDER_ANNOTATION];
  if (value === undefined || parseDeliveryOrder(value) !== undefined) return [];
  return [
    new FieldError(
      indexPath('metadata.annotations', KAFKA_DELIVERY_ORDER_ANNOTATION),
      `invalid value: ${value}: must be "ordered" or "unordered"`,
    ),
  ];
}
