import { request } from 'undici';
import type { ObservedTypesSink } from './recorder';

/** What a data-plane service POSTs to the controller: the event types it saw. */
export interface ObservedTypesRequest {
  items: Parameters<ObservedTypesSink>[0];
}

/**
 * Hands observed types to the controller over HTTP (`POST <url>` with `{"items":[…]}`), so the data
 * plane needs no access to the Kubernetes API: the controller creates the EventTypes. A 2xx whose
 * body says `"enabled":false` means auto-creation is off there; anything else not 2xx is an error
 * (the recorder tries again later).
 */
export function observedTypesHttpSink(url: string, options: { timeoutMs?: number } = {}): ObservedTypesSink {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return async (batch) => {
    const body = JSON.stringify({ items: batch } satisfies ObservedTypesRequest);
    const response = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode > 299)
      throw new Error(`POST ${url} answered ${response.statusCode}: ${text.slice(0, 200)}`);
    try {
      if ((JSON.parse(text) as { enabled?: unknown }).enabled === false) return 'disabled';
    } catch {
      // Not JSON: taken as accepted.
    }
    return undefined;
  };
}
