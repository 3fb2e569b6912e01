import type { CloudEvent } from '@eventing/cloudevents';

/** Extension carrying the remaining broker hops (loop guard, B10). */
export const TTL_EXTENSION = 'knativebrokerttl';
/** Extension stamped on every event entering a broker (B9). */
export const ARRIVAL_TIME_EXTENSION = 'knativearrivaltime';
export const DEFAULT_MAX_TTL = 255;

/**
 * Applies the broker loop guard in place: absent → maxTtl, present → decremented (floor 0),
 * unparsable → maxTtl. Returns false when no hops are left (the event must be refused).
 */
export function applyIngressTtl(event: CloudEvent, maxTtl: number): boolean {
  const raw = event.attributes[TTL_EXTENSION];
  let ttl: number;
  if (raw === undefined) {
    ttl = maxTtl;
  } else {
    const n =
      typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
    ttl = Number.isInteger(n) ? Math.max(0, n - 1) : maxTtl;
  }
  if (ttl <= 0) return false;
  event.attributes[TTL_EXTENSION] = String(ttl);
  return true;
}
