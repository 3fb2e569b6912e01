import { parseIsoDuration, type DeliverySpec } from '@eventing/api';
import type { RetryPolicy } from '@eventing/contract';

/**
 * Compiles a DeliverySpec into the retry policy the data plane runs. No DeliverySpec ⇒ exactly one
 * attempt (Y2); `retry` without a delay ⇒ immediate retries (Y3). Durations were validated by the
 * webhook/loader, so an unparsable one here counts as absent.
 */
export function compileRetryPolicy(delivery: DeliverySpec | undefined): RetryPolicy {
  const policy: RetryPolicy = {
    retry: delivery?.retry ?? 0,
    backoffPolicy: delivery?.backoffPolicy === 'linear' ? 'linear' : 'exponential',
    backoffDelayMs: delivery?.backoffDelay ? (parseIsoDuration(delivery.backoffDelay) ?? 0) : 0,
  };
  const timeout = delivery?.timeout ? parseIsoDuration(delivery.timeout) : undefined;
  if (timeout !== undefined) policy.timeoutMs = timeout;
  const retryAfterMax = delivery?.retryAfterMax ? parseIsoDuration(delivery.retryAfterMax) : undefined;
  if (retryAfterMax !== undefined) policy.retryAfterMaxMs = retryAfterMax;
  return policy;
}

/**
 * The DeliverySpec a Trigger runs with: its own when it sets one, else its Broker's, replaced as a
 * whole (MT broker semantics, CONFORMANCE 1.6 item 8).
 */
export function effectiveDelivery(
  child: DeliverySpec | undefined,
  parent: DeliverySpec | undefined,
): DeliverySpec | undefined {
  return child ?? parent;
}
