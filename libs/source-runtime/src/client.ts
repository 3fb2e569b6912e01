import type { CloudEvent } from '@eventing/cloudevents';
import { Dispatcher, backoffDelay, type DeliveryPolicy, type DispatcherOptions } from '@eventing/delivery';
import { SourceMetrics, type OneSourceMetrics } from '@eventing/observability';
import type { CeOverrides, SourceEnv } from './env';
import { applyCeOverrides } from './event';

/** Upstream adapters' delivery: 5 retries after the first attempt, exponential from 50 ms (CONFORMANCE 4.1, 4.2). */
export const SOURCE_DELIVERY_POLICY: DeliveryPolicy = Object.freeze({
  retry: 5,
  backoffPolicy: 'exponential',
  backoffDelayMs: 50,
});

/** How sending one event ended. Failures are values: a source logs them and goes on. */
export type SourceSendResult =
  | { ok: true; status: number; attempts: number }
  | { ok: false; status: number; attempts: number; reason: string };

/** The source resource events are sent for, and where they go. */
export interface SourceTarget {
  namespace: string;
  name: string;
  /** The sink's absolute URL (`status.sinkUri`, or `K_SINK`). */
  uri: string;
  /** Set on every event sent through this sink. */
  ceOverrides?: CeOverrides;
  /** Time each attempt may take; default the client's. */
  timeoutMs?: number;
}

/** One source's sink, bound once: send as many events as the source makes. */
export interface SourceSink {
  readonly uri: string;
  /**
   * Applies the overrides and sends the event, retrying per the client's policy (404, 408, 409,
   * 429, 5xx and network errors are retried). Each attempt is counted in the source metrics.
   * `signal` stops waiting between retries (shutdown). Never throws.
   */
  send(event: CloudEvent, signal?: AbortSignal): Promise<SourceSendResult>;
}

export interface SourceClientOptions {
  /** `<plural>.<group>` of the source kind, e.g. `pingsources.sources.knative.dev` (metrics label). */
  resourceGroup: string;
  /** Where attempts are counted; default a new SourceMetrics with its own registry. */
  metrics?: SourceMetrics;
  /** Retries and backoff; default {@link SOURCE_DELIVERY_POLICY}. */
  policy?: DeliveryPolicy;
  /** Binary (default) or structured (json) content mode. */
  format?: 'binary' | 'json';
  /** Connection settings of the Dispatcher the client makes. */
  dispatcher?: DispatcherOptions;
}

/**
 * Sends a source's events through the delivery engine (libs/delivery's keep-alive pools, response
 * limits and header encoding) with upstream's adapter retries, counting every attempt in upstream's
 * source metrics. One client per process; one {@link SourceSink} per source resource.
 */
export class SourceClient {
  readonly metrics: SourceMetrics;
  private readonly dispatcher: Dispatcher;
  private readonly policy: DeliveryPolicy;
  private readonly format: 'binary' | 'json';
  private readonly resourceGroup: string;

  constructor(options: SourceClientOptions) {
    this.resourceGroup = options.resourceGroup;
    this.metrics = options.metrics ?? new SourceMetrics();
    this.policy = options.policy ?? SOURCE_DELIVERY_POLICY;
    this.format = options.format ?? 'binary';
    this.dispatcher = new Dispatcher({ userAgent: 'eventing-source', ...options.dispatcher });
  }

  /** Binds a sink for one source: its metrics series and overrides are looked up once, here. */
  sink(target: SourceTarget): SourceSink {
    const metrics = this.metrics.source(this.resourceGroup, target.namespace, target.name);
    const timeoutMs = target.timeoutMs ?? this.policy.timeoutMs;
    const { uri, ceOverrides, namespace } = target;
    return {
      uri,
      send: (event, signal) =>
        this.deliver(applyCeOverrides(event, ceOverrides), uri, namespace, timeoutMs, metrics, signal),
    };
  }

  /** The sink of a single-tenant adapter: `K_SINK`, `K_CE_OVERRIDES`, `K_SINK_TIMEOUT`, `NAMESPACE`, `NAME`. */
  envSink(env: SourceEnv): SourceSink {
    return this.sink({
      namespace: env.namespace,
      name: env.name,
      uri: env.sink,
      ceOverrides: env.ceOverrides,
      timeoutMs: env.sinkTimeoutMs,
    });
  }

  /** Closes pooled connections once in-flight requests end. */
  close(): Promise<void> {
    return this.dispatcher.close();
  }

  private async deliver(
    event: CloudEvent,
    uri: string,
    namespace: string,
    timeoutMs: number | undefined,
    metrics: OneSourceMetrics,
    signal: AbortSignal | undefined,
  ): Promise<SourceSendResult> {
    const type = String(event.attributes['type']);
    const source = String(event.attributes['source']);
    const opts = { format: this.format, timeoutMs, namespace };
    const maxAttempts = Math.max(0, Math.floor(this.policy.retry)) + 1;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const result = await this.dispatcher.send(uri, event, NO_HEADERS, opts);
      metrics.attempt(type, source, result.status, attempt > 1, (performance.now() - started) / 1000);
      if (result.ok) return { ok: true, status: result.status, attempts: attempt };
      if (!result.retryable || attempt >= maxAttempts)
        return { ok: false, status: result.status, attempts: attempt, reason: result.reason };
      if (!(await pause(backoffDelay(this.policy, attempt), signal)))
        return {
          ok: false,
          status: result.status,
          attempts: attempt,
          reason: `${result.reason}; retries stopped: shutting down`,
        };
    }
  }
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Waits ms; false at once, or as soon as the signal aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (!(ms > 0)) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
