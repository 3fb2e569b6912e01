import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@eventing/runtime';

/** The parts of an object a list-watch needs. */
export interface Named {
  metadata?: { name?: string; resourceVersion?: string };
}

export interface ListWatchOptions<T extends Named> {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. `/api/v1/namespaces/knative-eventing/configmaps`. */
  path: string;
  /** Only these names are reported (others in the collection are ignored). */
  names: readonly string[];
  /** Lists the collection: its items and the resourceVersion to watch from. */
  list(): Promise<{ items: T[]; resourceVersion: string | undefined }>;
  /** Called with the object of one of `names`, or undefined when it is absent or was deleted. */
  onChange(name: string, object: T | undefined): void;
  log: Logger;
  /** Field selector for list and watch alike (e.g. `metadata.name=x`). */
  fieldSelector?: string;
  /** Longest wait between attempts after a failure (ms). */
  maxBackoffMs?: number;
}

/**
 * Follows a few named objects of one collection: lists it, reports each name's object (or its
 * absence), then watches from the list's resourceVersion and reports changes; relists when the
 * watch is too old (410) and retries failures with a growing delay. `start` resolves after the first
 * successful list, so a caller knows the state before it serves anything.
 */
export class ListWatch<T extends Named> {
  private stopped = false;
  private abort: AbortController | undefined;
  private resourceVersion: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly known = new Map<string, string | undefined>();

  constructor(private readonly options: ListWatchOptions<T>) {}

  /** Lists once (retrying until it works or `stop` is called), then keeps watching in the background. */
  async start(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      try {
        await this.relist();
        break;
      } catch (err) {
        this.options.log.warn({ path: this.options.path, error: errorText(err) }, 'list failed; retrying');
        await new Promise((resolve) => (this.timer = setTimeout(resolve, this.backoff())));
      }
    }
    void this.watch();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private backoff(): number {
    this.failures++;
    return Math.min(this.options.maxBackoffMs ?? 30_000, 250 * 2 ** Math.min(this.failures, 10));
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.options.list();
    const seen = new Set<string>();
    for (const item of items) {
      const name = item.metadata?.name;
      if (name === undefined || !this.options.names.includes(name)) continue;
      seen.add(name);
      this.report(name, item);
    }
    for (const name of this.options.names) if (!seen.has(name)) this.report(name, undefined);
    this.resourceVersion = resourceVersion;
    this.failures = 0;
  }

  private report(name: string, object: T | undefined): void {
    const version = object === undefined ? undefined : (object.metadata?.resourceVersion ?? '');
    // The first report of each name always goes out (absent included); later ones only on change.
    if (this.known.has(name) && this.known.get(name) === version) return;
    this.known.set(name, version);
    this.options.onChange(name, object);
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    let expired = false;
    const done = (err: unknown) => {
      this.abort = undefined;
      if (this.stopped) return;
      if (expired) {
        void this.recover();
        return;
      }
      if (err && !isTimeout(err)) {
        this.options.log.warn({ path: this.options.path, error: errorText(err) }, 'watch ended; resuming');
        this.timer = setTimeout(() => void this.watch(), this.backoff());
      } else {
        // The API server closes a watch after its timeout, and the client gives up on one that said
        // nothing for 30 s (a quiet collection between bookmarks): resume from the last version seen.
        void this.watch();
      }
    };
    const event = (phase: string, object: T & { code?: number }) => {
      if (phase === 'BOOKMARK') {
        this.resourceVersion = object.metadata?.resourceVersion ?? this.resourceVersion;
        return;
      }
      if (phase === 'ERROR') {
        // 410 Gone: the version we watch from is compacted away; list again.
        expired = true;
        this.abort?.abort();
        return;
      }
      this.resourceVersion = object.metadata?.resourceVersion ?? this.resourceVersion;
      const name = object.metadata?.name;
      if (name === undefined || !this.options.names.includes(name)) return;
      this.failures = 0;
      this.report(name, phase === 'DELETED' ? undefined : object);
    };
    try {
      this.abort = await new Watch(this.options.kubeConfig).watch(
        this.options.path,
        {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: 300,
          fieldSelector: this.options.fieldSelector,
        },
        event,
        done,
      );
      if (this.stopped) this.abort.abort();
    } catch (err) {
      done(err);
    }
  }

  private async recover(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      try {
        await this.relist();
        void this.watch();
        return;
      } catch (err) {
        this.options.log.warn({ path: this.options.path, error: errorText(err) }, 'relist failed; retrying');
        await new Promise((resolve) => (this.timer = setTimeout(resolve, this.backoff())));
      }
    }
  }
}

function isTimeout(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'TimeoutError';
}

/** A short description of an error from the Kubernetes client (status code and message when there are). */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code =
      (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
    const body = (err as { body?: unknown }).body;
    let message = err.message.split('\n')[0] ?? err.message;
    if (typeof body === 'string') {
      try {
        const status = JSON.parse(body) as { message?: string };
        if (status.message) message = status.message;
      } catch {
        // not a Status document
      }
    }
    return typeof code === 'number' ? `${code}: ${message}` : message;
  }
  return String(err);
}

/** The HTTP status of a failed Kubernetes API call, when it has one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}
