import { SubscriberServer, type Answer, type RecordedRequest } from './subscriber-server';

export type { RecordedRequest } from './subscriber-server';

/** What a test subscriber answers: status, headers, body, and optionally a delay or a dropped connection. */
export type ScriptedResponse = Answer & { status: number };

export type Responder = (req: RecordedRequest, index: number) => ScriptedResponse;

export interface TestSubscriber {
  url: string;
  requests: RecordedRequest[];
  /** Resolves with the requests once `count` arrived, or rejects after `timeoutMs` naming how many came. */
  waitFor(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

/** Starts a real HTTP subscriber on 127.0.0.1 that records every request and answers from a function. */
export async function startSubscriber(respond: Responder = () => ({ status: 202 })): Promise<TestSubscriber> {
  const server = await SubscriberServer.start(respond);
  return {
    url: server.url,
    requests: server.requests,
    waitFor: async (count, timeoutMs = 10_000) => {
      await server.waitForRequests(count, timeoutMs);
      return server.requests.slice();
    },
    close: () => server.close(),
  };
}

/** Waits `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls the async `check` every 200 ms until it resolves with something other than undefined. A check
 * that throws counts as "not yet"; when `timeoutMs` passes, the error names `what`, the last error
 * and, when given, `detail()` (e.g. the tail of a process's output).
 */
export async function eventuallyAsync<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  detail?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const more = detail === undefined ? '' : `\n${detail()}`;
      throw new Error(`not within ${timeoutMs} ms: ${what}${last ? ` (${String(last)})` : ''}${more}`);
    }
    await sleep(200);
  }
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => T | undefined | false,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
