import {
  NO_RETRY,
  backoffDelay,
  isRetryableStatus,
  parseRetryAfter,
  retryWait,
  type DeliveryPolicy,
} from './policy';

const linear: DeliveryPolicy = { retry: 5, backoffPolicy: 'linear', backoffDelayMs: 100 };
const exponential: DeliveryPolicy = { retry: 5, backoffPolicy: 'exponential', backoffDelayMs: 100 };

describe('backoffDelay (CONFORMANCE §7 choice: first wait = d in both policies)', () => {
  it.each([
    [1, 100, 100],
    [2, 200, 200],
    [3, 300, 400],
    [4, 400, 800],
    [10, 1000, 51200],
  ])('retry %i: linear %i ms, exponential %i ms', (k, lin, exp) => {
    expect(backoffDelay(linear, k)).toBe(lin);
    expect(backoffDelay(exponential, k)).toBe(exp);
  });

  it('Y3: no delay configured means immediate retries', () => {
    expect(backoffDelay({ retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 0 }, 3)).toBe(0);
    expect(backoffDelay(NO_RETRY, 1)).toBe(0);
  });

  it('Y7: shipped broker default (retry 10, exponential, 200 ms) totals 204.6 s of backoff', () => {
    const policy: DeliveryPolicy = { retry: 10, backoffPolicy: 'exponential', backoffDelayMs: 200 };
    let total = 0;
    for (let k = 1; k <= policy.retry; k++) total += backoffDelay(policy, k);
    expect(total).toBe(204_600);
  });

  it('Y2: NO_RETRY is one attempt', () => {
    expect(NO_RETRY.retry).toBe(0);
  });
});

describe('isRetryableStatus (CONFORMANCE 2.1)', () => {
  it.each([404, 408, 409, 429, 500, 501, 502, 503, 504, 599])('%i is retried', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });
  it.each([100, 101, 200, 202, 300, 301, 302, 304, 400, 401, 403, 405, 406, 410, 413, 415, 422, 451, 600])(
    '%i is not retried',
    (status) => {
      expect(isRetryableStatus(status)).toBe(false);
    },
  );
});

describe('parseRetryAfter (Y9)', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });
  it('reads an HTTP-date relative to now; past dates mean 0', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });
  it('ignores garbage, negatives and fractions', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
  });
});

describe('retryWait (Y9: max(backoff, min(Retry-After, retryAfterMax)))', () => {
  it('ignores Retry-After unless retryAfterMaxMs is set and positive', () => {
    expect(retryWait(linear, 1, 5000)).toBe(100);
    expect(retryWait({ ...linear, retryAfterMaxMs: 0 }, 1, 5000)).toBe(100);
  });
  it('caps Retry-After at retryAfterMaxMs and never waits less than the backoff', () => {
    expect(retryWait({ ...linear, retryAfterMaxMs: 2000 }, 1, 5000)).toBe(2000);
    expect(retryWait({ ...linear, retryAfterMaxMs: 2000 }, 1, 1500)).toBe(1500);
    expect(retryWait({ ...linear, retryAfterMaxMs: 2000 }, 3, 50)).toBe(300);
    expect(retryWait({ ...linear, retryAfterMaxMs: 2000 }, 2, undefined)).toBe(200);
  });
});
