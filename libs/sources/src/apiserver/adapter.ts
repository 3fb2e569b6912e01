import type { ApiServerAdapterConfig } from '@eventing/api';
import { compileTriggerFilter, type CompiledFilter, type SubscriptionsApiFilter } from '@eventing/filters';
import type { Logger } from '@eventing/runtime';
import type { SourceSink } from '@eventing/source-runtime';
import { apiServerEvent, passesOwnerFilter } from './events';
import type { ObjectChange, ObjectFeed } from './feed';

export interface ApiServerAdapterOptions {
  config: ApiServerAdapterConfig;
  /** Where events go (libs/source-runtime: retries, metrics, ceOverrides). */
  sink: SourceSink;
  /** The `source` of every event: the URL of the API server watched. */
  source: string;
  feed: ObjectFeed;
  log?: Logger;
  /** Changes waiting to be sent at most; beyond, a change is dropped and counted. Default 1000. */
  maxPending?: number;
}

/** What an adapter did so far. */
export interface ApiServerAdapterStats {
  /** Events the sink accepted. */
  sent: number;
  /** Events the sink refused or could not be reached for, after the retries. */
  failed: number;
  /** Changes left out by the owner filter or `filters`. */
  filtered: number;
  /** Changes dropped because `maxPending` were already waiting. */
  dropped: number;
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The ApiServerSource adapter (CONFORMANCE 4.2): every change its feed reports after the first list
 * becomes one event — upstream's type for the change and mode, its subject, extensions and data —
 * sent in order, one at a time, through the sink's retries. The owner filter and the `filters` of
 * the source leave changes out; a failed send is logged and counted, and the next change goes on.
 */
export class ApiServerAdapter {
  readonly stats: ApiServerAdapterStats = { sent: 0, failed: 0, filtered: 0, dropped: 0 };
  private readonly pending: ObjectChange[] = [];
  private readonly filter: CompiledFilter | undefined;
  private readonly maxPending: number;
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private pumping: Promise<void> | undefined;
  private head = 0;

  constructor(private readonly options: ApiServerAdapterOptions) {
    const filters = options.config.filters;
    this.filter =
      filters !== undefined && filters.length > 0
        ? compileTriggerFilter(undefined, filters as SubscriptionsApiFilter[])
        : undefined;
    this.maxPending = options.maxPending ?? 1000;
    this.log = options.log ?? quiet;
  }

  /** Starts the feed; resolves once its first list is done (changes from then on are sent). */
  start(): Promise<void> {
    return this.options.feed.start((change) => this.accept(change));
  }

  /** Stops watching and stops retrying; the event being sent ends with its attempt. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.options.feed.stop();
    await this.pumping;
  }

  /** Resolves when every change reported so far has been sent (or failed). */
  async idle(): Promise<void> {
    while (this.pumping !== undefined) await this.pumping;
  }

  /** Changes waiting to be sent. */
  get depth(): number {
    return this.pending.length - this.head;
  }

  private accept(change: ObjectChange): void {
    if (this.stopping.signal.aborted) return;
    if (!passesOwnerFilter(change.object, this.options.config.owner)) {
      this.stats.filtered++;
      return;
    }
    if (this.depth >= this.maxPending) {
      this.stats.dropped++;
      this.log.warn(
        {
          name: change.object.metadata?.name,
          namespace: change.object.metadata?.namespace,
          change: change.type,
        },
        `${this.maxPending} changes already wait for the sink: this one is dropped`,
      );
      return;
    }
    this.pending.push(change);
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  private async pump(): Promise<void> {
    while (this.head < this.pending.length && !this.stopping.signal.aborted) {
      const change = this.pending[this.head] as ObjectChange;
      this.pending[this.head++] = undefined as unknown as ObjectChange;
      if (this.head > 1024 && this.head * 2 > this.pending.length) {
        this.pending.splice(0, this.head);
        this.head = 0;
      }
      const { config, source, sink } = this.options;
      const event = apiServerEvent(change.type, change.object, config.mode, source);
      if (this.filter !== undefined && !this.filter.match(event)) {
        this.stats.filtered++;
        continue;
      }
      const result = await sink.send(event, this.stopping.signal);
      if (result.ok) this.stats.sent++;
      else {
        this.stats.failed++;
        this.log.warn(
          {
            id: event.attributes['id'],
            type: event.attributes['type'],
            subject: event.attributes['subject'],
            status: result.status,
            attempts: result.attempts,
            error: result.reason,
          },
          'event not delivered to the sink',
        );
      }
    }
    if (this.head >= this.pending.length) {
      this.pending.length = 0;
      this.head = 0;
    }
  }
}
