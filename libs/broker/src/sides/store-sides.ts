import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChannelBackend, ChannelRef } from '@eventing/channels';
import {
  watchContractFile,
  type ApplyReport,
  type BrokerEntry,
  type ChannelEntry,
  type Contract,
  type StoreKind,
  type StoreSettings,
} from '@eventing/contract';
import type { Dispatcher } from '@eventing/delivery';
import { compileTriggerFilter, triggerIndexKeys } from '@eventing/filters';
import type { EventingMetrics } from '@eventing/observability';
import type { Logger } from '@eventing/runtime';
import type { FrameHandler } from '@eventing/frames';
import { brokerChannel, channelStore } from '../data-plane';
import { triggerTarget, type BrokerReplyFn, type CompiledTrigger } from '../egress/trigger-router';
import { outcomeObserver } from '../egress/outcome-observer';
import { frameAnswer, respond } from '../ingress/respond';
import { TriggerIndex } from '../routing/trigger-index';
import type { EventTypeRecorder } from '../eventtypes/recorder';
import { BrokerIngress } from './ingress-side';
import { BrokerDispatch } from './dispatch-side';

export interface StoreSidesOptions {
  /** The store kind served: brokers or channels stored elsewhere belong to another service. */
  store: StoreKind;
  /** The store's client; `close` closes it. */
  backend: ChannelBackend;
  /** Brokers with their triggers (a broker receiver or dispatcher), or channels with their subscriptions. */
  resources: 'brokers' | 'channels';
  /**
   * Runs the ingress side (parse, route, append): brokers at `/<namespace>/<name>`; channels at
   * `/<namespace>/<name>` and `/_channels/<namespace>/<name>`. Without it, every event path is 404.
   */
  ingress?: {
    maxBodyBytes: number;
    maxTtl?: number;
    eventTypes?: EventTypeRecorder;
    /** Answers say this service takes eventing frames (serve {@link StoreSides.frames} then). */
    advertiseFrames?: boolean;
  };
  /** Runs the dispatch side: one consumer per Trigger or Subscription, deliver, reply, dead-letter. */
  dispatch?: {
    dispatcher: Dispatcher;
    /** Stores a trigger's reply in its broker (brokers only). */
    reply?: BrokerReplyFn;
    /** Public URL of a broker, named in dead letters of replies that could not be stored. */
    brokerUrl?: (namespace: string, name: string) => string;
    /** In-flight deliveries per trigger or subscription unless it says otherwise (default 100). */
    defaultMaxInFlight?: number;
    /** In-flight deliveries across the process (default 1,000). */
    maxInFlightTotal?: number;
  };
  /**
   * Creates each served broker's or channel's store (idempotently) before serving it. Provisioning is
   * the control plane's job in a cluster; until a controller does it, the services ensure their stores.
   */
  ensureStores: boolean;
  /** Backoff of re-applying a contract some resource of which failed (default 1 s, doubling to 60 s). */
  retryDelayMs?: { initial: number; max: number };
  metrics: EventingMetrics;
  log: Logger;
}

interface Served<E> {
  entry: E;
  channel: ChannelRef;
}

/** The answer over frames once closing, as the HTTP handler's 503: another replica takes it. */
const SHUTTING_DOWN_FRAME = frameAnswer(503, 'shutting down: send it again (another replica takes it)', {
  'retry-after': '1',
});

type Entry = (BrokerEntry | ChannelEntry) & { store?: StoreKind; storeSettings?: StoreSettings };

/**
 * What a data-plane service runs for the brokers or channels of one store kind, driven by the
 * contract: the ingress side, the dispatch side, or both (BrokerIngress, BrokerDispatch). A channel
 * dispatcher runs both for its channels; the Kafka broker receiver runs the ingress side and the
 * Kafka broker dispatcher the dispatch side. Several replicas may run on one store when the store
 * shares consumers among processes (Kafka consumer groups, JetStream durable consumers).
 */
export class StoreSides {
  /** The per-event HTTP handler (503 once closing, so clients go to another replica). */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The ingress side over eventing frames (503 once closing); none without an ingress side. */
  readonly frames: FrameHandler | undefined;
  private readonly ingress: BrokerIngress | undefined;
  private readonly dispatch: BrokerDispatch | undefined;
  private current = new Map<string, Served<Entry>>();
  /** The tail of the apply queue; never rejects. */
  private applying: Promise<unknown> = Promise.resolve();
  private applied = false;
  private closing = false;
  private latest: Contract | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private readonly retryDelays: { initial: number; max: number };
  /** Removes this service's sources of the in-flight gauges. */
  private readonly untrack: (() => void)[] = [];

  constructor(private readonly options: StoreSidesOptions) {
    const { metrics, log } = options;
    const observer = outcomeObserver(metrics, log);
    this.retryDelays = options.retryDelayMs ?? { initial: 1_000, max: 60_000 };
    this.retryDelay = this.retryDelays.initial;
    if (options.ingress) {
      const ingress = new BrokerIngress({
        backend: options.backend,
        maxBodyBytes: options.ingress.maxBodyBytes,
        maxTtl: options.ingress.maxTtl,
        eventTypes: options.ingress.eventTypes,
        advertiseFrames: options.ingress.advertiseFrames,
        observer,
        paths: options.resources === 'channels' ? 'channels-at-root' : 'default',
        onIngress: (r) => {
          if (r.kind !== 'broker' || r.namespace === undefined || r.name === undefined) return;
          // A path that names no served broker never becomes a label value, whatever the status.
          const served = ingress.hasBroker(r.namespace, r.name);
          metrics.ingressResult(r.namespace, r.name, r.eventType ?? '', r.status, r.seconds, served);
        },
      });
      this.ingress = ingress;
    }
    const dispatch = options.dispatch;
    if (dispatch)
      this.dispatch = new BrokerDispatch({
        backend: options.backend,
        dispatcher: dispatch.dispatcher,
        observer,
        defaultMaxInFlight: dispatch.defaultMaxInFlight,
        maxInFlightTotal: dispatch.maxInFlightTotal,
        brokerUrl: dispatch.brokerUrl,
        reply:
          dispatch.reply ??
          (async (trigger) => ({
            ok: false,
            status: 404,
            reason: `broker ${trigger.namespace}/${trigger.broker} takes no replies here`,
          })),
      });
    const d = this.dispatch;
    if (d !== undefined)
      this.untrack.push(
        metrics.trackInFlight(() => d.inFlight()),
        metrics.trackBacklog(() => d.backlog()),
      );
    const serve =
      this.ingress?.handler ??
      ((req: IncomingMessage, res: ServerResponse) => {
        req.resume();
        respond(
          res,
          404,
          `this service receives no events (it dispatches ${options.store} ${options.resources})`,
        );
      });
    const frames = this.ingress?.frames;
    this.frames = frames && ((req) => (this.closing ? Promise.resolve(SHUTTING_DOWN_FRAME) : frames(req)));
    this.handler = (req, res) => {
      if (!this.closing) return serve(req, res);
      req.resume();
      respond(res, 503, 'shutting down: send it again (another replica takes it)', {
        'retry-after': '1',
        connection: 'close',
      });
    };
  }

  /** Readiness for `/readyz`: ready once the first contract was applied, until shutdown begins. */
  readiness(): { ready: boolean; reason?: string } {
    if (this.closing) return { ready: false, reason: 'shutting down' };
    return this.applied ? { ready: true } : { ready: false, reason: 'no contract applied yet' };
  }

  /**
   * Applies the contract file at `path` now and on every change (a mounted ConfigMap). A document
   * that does not parse keeps the last good one in force; a contract some resource of which failed is
   * applied again with backoff, so a store that was briefly away is served once it is back.
   */
  follow(path: string): { close(): void } {
    const watcher = watchContractFile(
      path,
      (contract) => {
        this.latest = contract;
        this.retryDelay = this.retryDelays.initial;
        this.applyLatest();
      },
      (err) => {
        this.options.metrics.applyFailed('contract_rejected');
        this.options.log.error({ error: err.message }, 'contract rejected; keeping the previous one');
      },
    );
    return {
      close: () => {
        watcher.close();
        if (this.retryTimer) clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
      },
    };
  }

  /**
   * Makes the served brokers or channels, and their consumers, match the contract. Calls are
   * serialised; each resource is applied on its own (one that fails is in `failed`, the rest are
   * served). Never rejects.
   */
  apply(contract: Contract): Promise<ApplyReport> {
    const served = new Set<string>();
    const failed = new Map<string, string>();
    const run = this.applying.then(() =>
      this.applyNow(contract, served, failed).then(
        () => ({ generation: contract.generation, served, failed }),
        (err: Error) => {
          failed.set('', `apply failed: ${err.message}`);
          return { generation: contract.generation, served, failed };
        },
      ),
    );
    this.applying = run.then((report) => {
      this.applied = true;
      return report;
    });
    return run;
  }

  /**
   * Graceful stop: new events are refused (503), the consumers finish what they hold for up to
   * `graceMs`, then the rest is cancelled (a durable store keeps it for the next start, memory counts
   * it as discarded at shutdown) and the store client is closed. Returns whether all drained.
   */
  async close(graceMs: number): Promise<boolean> {
    this.closing = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.applying;
    const { backend, log } = this.options;
    let timer: NodeJS.Timeout | undefined;
    const drain = backend.drain?.();
    const drained = drain
      ? await Promise.race([
          drain.then(() => true),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
        ])
      : true;
    if (timer) clearTimeout(timer);
    if (!drained)
      log.warn(
        { graceMs },
        backend.durable
          ? 'the grace period ended; undelivered events stay in the store for the next start'
          : 'the grace period ended; undelivered events are discarded (eventing_events_discarded_total{reason="shutdown"})',
      );
    for (const untrack of this.untrack.splice(0)) untrack();
    await this.dispatch?.close('shutdown');
    await backend.close();
    return drained;
  }

  private applyLatest(): void {
    const contract = this.latest;
    if (contract === undefined || this.closing) return;
    void this.apply(contract).then((report) => {
      this.noteApply(report);
      if (this.closing || this.latest !== contract) return;
      if (report.failed.size === 0) {
        this.retryDelay = this.retryDelays.initial;
        return;
      }
      const delay = this.retryDelay;
      this.retryDelay = Math.min(this.retryDelays.max, delay * 2);
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (this.latest === contract) this.applyLatest();
      }, delay);
    });
  }

  private noteApply(report: ApplyReport): void {
    const { metrics, log } = this.options;
    metrics.contractApplied(report.generation);
    for (const [uid, reason] of report.failed) {
      metrics.applyFailed(uid === '' ? 'apply_error' : 'resource_failed');
      log.error({ generation: report.generation, uid, error: reason }, 'a resource could not be applied');
    }
    log.info(
      { generation: report.generation, served: report.served.size, failed: report.failed.size },
      'contract applied',
    );
  }

  private async applyNow(
    contract: Contract,
    served: Set<string>,
    failed: Map<string, string>,
  ): Promise<void> {
    const { backend, store, resources } = this.options;
    const brokers = resources === 'brokers';
    const what = brokers ? 'broker' : 'channel';
    const storeOf = brokers ? brokerChannel : channelStore;
    const entries: Entry[] = (brokers ? contract.brokers : (contract.channels ?? [])).filter(
      (e) => (e.store ?? 'memory') === store,
    );

    // Gone (or moved to another store): no longer taken at ingress, then their consumers stop; a
    // store in this process goes with them, a durable one is left to the control plane (other
    // replicas may still read it).
    const wanted = new Set(entries.map((e) => e.uid));
    const kept = [...this.current.values()].filter((s) => wanted.has(s.entry.uid));
    this.serve(brokers, kept);
    for (const [uid, { channel }] of this.current) {
      if (wanted.has(uid)) continue;
      this.dispatch?.closeChannel(channel, `${what}_deleted`);
      if (!backend.durable)
        await backend
          .deleteChannel(channel, `${what}_deleted`)
          .catch((err: Error) => failed.set(uid, `deleting the ${what}'s store failed: ${err.message}`));
    }
    const next = new Map<string, Served<Entry>>();
    for (const entry of entries) {
      const existing = this.current.get(entry.uid);
      if (existing) {
        next.set(entry.uid, { entry, channel: existing.channel });
        served.add(entry.uid);
        continue;
      }
      const channel = storeOf(entry);
      try {
        if (this.options.ensureStores)
          await backend.ensureChannel(channel, entry.storeSettings as Record<string, unknown> | undefined);
        next.set(entry.uid, { entry, channel });
        served.add(entry.uid);
      } catch (err) {
        failed.set(entry.uid, `cannot create the ${what}'s store: ${(err as Error).message}`);
      }
    }
    this.current = next;
    const list = [...next.values()];
    // New ones are taken at ingress only once their consumers run: a consumer that starts at the end
    // of the log (a new Kafka consumer group) sees every event accepted from then on.
    const triggers = this.dispatch
      ? await this.dispatchNow(this.dispatch, contract, brokers, list, served, failed)
      : [];
    this.serve(brokers, list);
    // A store with targeted appends routes at ingress, to the triggers whose consumer runs only.
    if (this.ingress && brokers && backend.targetedAppend)
      for (const { entry } of list)
        this.ingress.routeBroker(
          entry.namespace,
          entry.name,
          new TriggerIndex(
            triggers
              .filter((t) => t.entry.broker === entry.name && t.entry.namespace === entry.namespace)
              .filter((t) => served.has(t.entry.uid))
              .map((t) => ({
                id: t.entry.uid,
                filter: t.filter,
                keys: triggerIndexKeys(t.entry.filter, t.entry.filters),
              })),
          ),
        );
  }

  private serve(brokers: boolean, list: Served<Entry>[]): void {
    this.ingress?.serve(brokers ? (list as Served<BrokerEntry>[]) : [], brokers ? [] : list);
  }

  private async dispatchNow(
    dispatch: BrokerDispatch,
    contract: Contract,
    brokers: boolean,
    list: Served<Entry>[],
    served: Set<string>,
    failed: Map<string, string>,
  ): Promise<CompiledTrigger[]> {
    const byName = new Map(list.map((s) => [`${s.entry.namespace}/${s.entry.name}`, s.channel]));
    const triggers: CompiledTrigger[] = [];
    if (brokers)
      for (const entry of contract.triggers) {
        if (!byName.has(`${entry.namespace}/${entry.broker}`)) continue;
        try {
          triggers.push({
            entry,
            filter: compileTriggerFilter(entry.filter, entry.filters),
            target: triggerTarget(entry),
          });
        } catch (err) {
          failed.set(entry.uid, `cannot compile the filter: ${(err as Error).message}`);
        }
      }
    const subscriptions = brokers
      ? []
      : (contract.subscriptions ?? []).filter((s) => byName.has(`${s.channel.namespace}/${s.channel.name}`));
    const running = await dispatch.apply(
      triggers,
      subscriptions,
      {
        trigger: (t) => byName.get(`${t.namespace}/${t.broker}`),
        subscription: (s) => byName.get(`${s.channel.namespace}/${s.channel.name}`),
      },
      failed,
    );
    for (const uid of running) served.add(uid);
    return triggers;
  }
}
