/**
 * How one delivery is retried: a DeliverySpec reduced to numbers.
 *
 * `retry` counts retries after the first attempt (CONFORMANCE Y1). `timeoutMs` bounds each attempt
 * as a whole, body included (Y8). `retryAfterMaxMs` opts in to honouring `Retry-After` on 429/503,
 * capped at that value; absent or 0 disables it (Y9).
 */
export interface DeliveryPolicy {
  retry: number;
  backoffPolicy: 'linear' | 'exponential';
  backoffDelayMs: number;
  timeoutMs?: number;
  retryAfterMaxMs?: number;
}

/** One attempt and no retries: what a subscriber without a DeliverySpec gets (Y2). */
export const NO_RETRY: DeliveryPolicy = Object.freeze({
  retry: 0,
  backoffPolicy: 'exponential',
  backoffDelayMs: 0,
});

/** Wait before retry k (1-based): linear = d*k, exponential = d*2^(k-1) (CONFORMANCE §7 choice). */
export function backoffDelay(policy: DeliveryPolicy, k: number): number {
  const d = policy.backoffDelayMs;
  if (!(d > 0) || !(k >= 1)) return 0;
  return policy.backoffPolicy === 'linear' ? d * k : d * 2 ** (k - 1);
}

/** Whether a response status asks for another attempt (CONFORMANCE 2.1): 404, 408, 409, 429 and 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 ? status < 600 : status === 404 || status === 408 || status === 409 || status === 429;
}

const DELTA_SECONDS = /^\d+$/;
/** Every HTTP-date form names a month; this keeps Date.parse's leniency ("-1") out. */
const HAS_LETTER = /[a-z]/i;

/**
 * The delay a `Retry-After` header asks for, in milliseconds: delta-seconds or an HTTP-date
 * (RFC 9110 §10.2.3). A date in the past means 0; anything unparsable means undefined.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (DELTA_SECONDS.test(v)) return Number(v) * 1000;
  if (!HAS_LETTER.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return at > now ? at - now : 0;
}

/**
 * Wait before retry k: the backoff, raised to the server's `Retry-After` (capped at
 * `retryAfterMaxMs`) when the policy opts in (Y9).
 */
export function retryWait(policy: DeliveryPolicy, k: number, retryAfterMs: number | undefined): number {
  const backoff = backoffDelay(policy, k);
  const cap = policy.retryAfterMaxMs;
  if (retryAfterMs === undefined || cap === undefined || !(cap > 0)) return backoff;
  return Math.max(backoff, Math.min(retryAfterMs, cap));
}
