import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChannelBackend, ChannelRef } from '@eventing/channels';
import type { ApplyReport, BrokerEntry, ChannelEntry, Contract } from '@eventing/contract';
import type { Dispatcher } from '@eventing/delivery';
import { compileTriggerFilter, triggerIndexKeys, type TriggerIndexKeys } from '@eventing/filters';
import type { IngressResult } from './ingress/handler';
import { triggerTarget, type CompiledTrigger } from './egress/trigger-router';
import { TriggerIndex } from './routing/trigger-index';
import type { DeliveryObserver } from './egress/outcomes';
import { BrokerIngress } from './sides/ingress-side';
import { BrokerDispatch } from './sides/dispatch-side';

export interface BrokerDataPlaneOptions {
  backend: ChannelBackend;
  dispatcher: Dispatcher;
  maxBodyBytes: number;
  maxTtl?: number;
  /** In-flight deliveries per trigger or subscription unless it says otherwise. */
  defaultMaxInFlight?: number;
  /** In-flight deliveries across every trigger and subscription (default 1,000). */
  maxInFlightTotal?: number;
  onIngress?: (result: IngressResult) => void;
  /** Told how every accepted event ends (delivered, dead-lettered, failed, held, discarded). */
  observer: DeliveryObserver;
  /** Public URL of a broker, for dead letters of replies that could not be stored. */
  brokerUrl?: (namespace: string, name: string) => string;
}

/** The channel backing a broker, named as upstream's trigger channel. */
export function brokerChannel(entry: { namespace: string; name: string }): ChannelRef {
  return { namespace: entry.namespace, name: `${entry.name}-kne-trigger` };
}

/** The store of a channel resource (kept apart from broker channels by its name). */
export function channelStore(entry: { namespace: string; name: string }): ChannelRef {
  return { namespace: entry.namespace, name: `${entry.name}-kn-channel` };
}

/**
 * Brokers and channels over one local ChannelBackend, driven by the contract: provisions their stores
 * and runs the ingress side (parse, route, append) and the dispatch side (consume, filter, deliver,
 * reply) together in one process, as standalone mode does. Services run each side alone.
 */
export class BrokerDataPlane {
  /** HTTP handler for `/<namespace>/<broker>` and `/_channels/<namespace>/<channel>` (see addresses.ts). */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly ingress: BrokerIngress;
  readonly dispatch: BrokerDispatch;
  /** Stores provisioned now, by broker or channel uid. */
  private brokers = new Map<string, { entry: BrokerEntry; channel: ChannelRef }>();
  private channels = new Map<string, { entry: ChannelEntry; channel: ChannelRef }>();
  /** The tail of the apply queue; never rejects, so one failed apply cannot poison the next. */
  private applying: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: BrokerDataPlaneOptions) {
    this.ingress = new BrokerIngress({
      backend: options.backend,
      maxBodyBytes: options.maxBodyBytes,
      maxTtl: options.maxTtl,
      observer: options.observer,
      onIngress: options.onIngress,
    });
    this.handler = this.ingress.handler;
    this.dispatch = new BrokerDispatch({
      backend: options.backend,
      dispatcher: options.dispatcher,
      observer: options.observer,
      defaultMaxInFlight: options.defaultMaxInFlight,
      maxInFlightTotal: options.maxInFlightTotal,
      brokerUrl: options.brokerUrl,
      reply: async (trigger, event, headers) => {
        const broker = this.ingress.brokerTarget(trigger.namespace, trigger.broker);
        if (!broker)
          return {
            ok: false,
            status: 404,
            reason: `broker ${trigger.namespace}/${trigger.broker} not found`,
          };
        const stored = await broker.append(event, headers);
        return stored.ok ? { ok: true } : { ok: false, status: stored.status, reason: stored.reason };
      },
    });
  }

  /**
   * Makes brokers, channels and their consumers match the contract. Calls are serialised. Each
   * resource is applied on its own: one that fails is reported in `failed` and keeps what it had
   * (or nothing), the rest are applied, and the next call proceeds. Never rejects.
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
    this.applying = run;
    return run;
  }

  /** Whether a broker is being served. */
  hasBroker(namespace: string, name: string): boolean {
    return this.ingress.hasBroker(namespace, name);
  }

  /**
   * Graceful stop: waits up to `graceMs` for every accepted event to be delivered or
   * dead-lettered, then cancels what is left. Returns whether all drained.
   */
  async close(graceMs = 30_000): Promise<boolean> {
    await this.applying;
    let timer: NodeJS.Timeout | undefined;
    const drained = this.options.backend.drain
      ? await Promise.race([
          this.options.backend.drain().then(() => true),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
        ])
      : true;
    if (timer) clearTimeout(timer);
    // Whatever is still queued or in flight now is cancelled and counted as discarded at shutdown.
    await this.dispatch.close('shutdown');
    return drained;
  }

  private async applyNow(
    contract: Contract,
    served: Set<string>,
    failed: Map<string, string>,
  ): Promise<void> {
    const brokers = await this.provision(
      this.brokers,
      contract.brokers,
      brokerChannel,
      'broker',
      served,
      failed,
    );
    const channels = await this.provision(
      this.channels,
      contract.channels ?? [],
      channelStore,
      'channel',
      served,
      failed,
    );
    this.brokers = brokers;
    this.channels = channels;
    this.ingress.serve([...brokers.values()], [...channels.values()]);

    const byName = <E extends { namespace: string; name: string }>(
      m: Map<string, { entry: E; channel: ChannelRef }>,
    ) => new Map([...m.values()].map((v) => [`${v.entry.namespace}/${v.entry.name}`, v.channel]));
    const brokerChannels = byName(brokers);
    const channelChannels = byName(channels);
    const compiled: (CompiledTrigger & { keys: TriggerIndexKeys })[] = [];
    for (const entry of contract.triggers) {
      try {
        compiled.push({
          entry,
          filter: compileTriggerFilter(entry.filter, entry.filters),
          keys: triggerIndexKeys(entry.filter, entry.filters),
          target: triggerTarget(entry),
        });
      } catch (err) {
        failed.set(entry.uid, `cannot compile the filter: ${(err as Error).message}`);
      }
    }
    const running = await this.dispatch.apply(
      compiled,
      contract.subscriptions ?? [],
      {
        trigger: (t) => brokerChannels.get(`${t.namespace}/${t.broker}`),
        subscription: (s) => channelChannels.get(`${s.channel.namespace}/${s.channel.name}`),
      },
      failed,
    );
    for (const uid of running) served.add(uid);
    for (const { entry } of brokers.values()) {
      // Only triggers whose consumer runs are routed to: an event is never queued for nobody.
      this.ingress.routeBroker(
        entry.namespace,
        entry.name,
        new TriggerIndex(
          compiled
            .filter(
              (t) =>
                t.entry.namespace === entry.namespace &&
                t.entry.broker === entry.name &&
                running.has(t.entry.uid),
            )
            .map((t) => ({ id: t.entry.uid, filter: t.filter, keys: t.keys })),
        ),
      );
    }
  }

  /**
   * Deletes the stores no longer wanted (cancelling their consumers first) and creates the new ones.
   * Returns what is provisioned now; each failure is reported and the rest goes on.
   */
  private async provision<E extends { uid: string; namespace: string; name: string }>(
    current: Map<string, { entry: E; channel: ChannelRef }>,
    wanted: readonly E[],
    storeOf: (entry: E) => ChannelRef,
    what: 'broker' | 'channel',
    served: Set<string>,
    failed: Map<string, string>,
  ): Promise<Map<string, { entry: E; channel: ChannelRef }>> {
    const { backend } = this.options;
    const deletedReason = `${what}_deleted`;
    const wantedUids = new Set(wanted.map((e) => e.uid));
    for (const [uid, { channel }] of current) {
      if (wantedUids.has(uid)) continue;
      this.dispatch.closeChannel(channel, deletedReason);
      await backend
        .deleteChannel(channel, deletedReason)
        .catch((err: Error) => failed.set(uid, `deleting the store failed: ${err.message}`));
    }
    const next = new Map<string, { entry: E; channel: ChannelRef }>();
    for (const entry of wanted) {
      const existing = current.get(entry.uid);
      if (existing) {
        next.set(entry.uid, { entry, channel: existing.channel });
        served.add(entry.uid);
        continue;
      }
      const channel = storeOf(entry);
      try {
        await backend.ensureChannel(channel);
        next.set(entry.uid, { entry, channel });
        served.add(entry.uid);
      } catch (err) {
        failed.set(entry.uid, `cannot create the ${what}'s channel: ${(err as Error).message}`);
      }
    }
    return next;
  }
}
