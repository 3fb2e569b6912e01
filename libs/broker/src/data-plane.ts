import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloudEvent } from '@eventing/cloudevents';
import type { AppendResult, ChannelBackend, ChannelRef } from '@eventing/channels';
import type { ApplyReport, BrokerEntry, ChannelEntry, Contract } from '@eventing/contract';
import type { Dispatcher } from '@eventing/delivery';
import { compileTriggerFilter, triggerIndexKeys } from '@eventing/filters';
import {
  brokerTarget,
  createIngressHandler,
  type IngressResult,
  type IngressRoute,
  type IngressTarget,
} from './ingress/handler';
import { DEFAULT_MAX_TTL } from './ingress/ttl';
import { TriggerRouter, triggerTarget, type CompiledTrigger } from './egress/trigger-router';
import { SubscriptionRouter } from './egress/subscription-router';
import { TriggerIndex } from './routing/trigger-index';
import { InFlightLimiter } from './egress/limiter';
import type { DeliveryObserver, DeliveryTarget } from './egress/outcomes';
import { classifyPath } from './addresses';

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

interface BrokerState {
  entry: BrokerEntry;
  channel: ChannelRef;
  target: IngressTarget;
  /** Which of this broker's triggers an event matches; swapped on every contract change. */
  index: TriggerIndex;
}

interface ChannelState {
  entry: ChannelEntry;
  channel: ChannelRef;
  target: IngressTarget;
}

const ACCEPTED = { ok: true } as const;

/** The ordering key of an event: its `partitionkey` extension, as upstream's Kafka components use. */
function partitionKey(event: CloudEvent): string | undefined {
  const key = event.attributes['partitionkey'];
  return key === undefined ? undefined : String(key);
}
const NO_TRIGGERS = new TriggerIndex([]);

/** The channel backing a broker, named as upstream's trigger channel. */
export function brokerChannel(entry: { namespace: string; name: string }): ChannelRef {
  return { namespace: entry.namespace, name: `${entry.name}-kne-trigger` };
}

/** The store of a channel resource (kept apart from broker channels by its name). */
export function channelStore(entry: { namespace: string; name: string }): ChannelRef {
  return { namespace: entry.namespace, name: `${entry.name}-kn-channel` };
}

/**
 * Brokers (ingress, routing index, trigger delivery) and channels (ingress, subscription delivery)
 * over a local ChannelBackend — memory now, Kafka and JetStream later — driven by the contract.
 */
export class BrokerDataPlane {
  /** HTTP handler for `/<namespace>/<broker>` and `/_channels/<namespace>/<channel>` (see addresses.ts). */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  private readonly brokers = new Map<string, BrokerState>();
  private readonly channels = new Map<string, ChannelState>();
  private readonly triggers: TriggerRouter;
  private readonly subscriptions: SubscriptionRouter;
  private readonly maxTtl: number;
  /** The tail of the apply queue; never rejects, so one failed apply cannot poison the next. */
  private applying: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: BrokerDataPlaneOptions) {
    this.maxTtl = options.maxTtl ?? DEFAULT_MAX_TTL;
    const defaultMaxInFlight = options.defaultMaxInFlight ?? 100;
    const limiter = new InFlightLimiter(options.maxInFlightTotal ?? 1000);
    this.handler = createIngressHandler({
      route: (url) => this.route(url),
      maxBodyBytes: options.maxBodyBytes,
      onResult: options.onIngress,
    });
    this.triggers = new TriggerRouter({
      backend: options.backend,
      dispatcher: options.dispatcher,
      defaultMaxInFlight,
      limiter,
      observer: options.observer,
      brokerUrl: options.brokerUrl ? (t) => options.brokerUrl!(t.namespace, t.broker) : undefined,
      reply: async (trigger, event, headers) => {
        const broker = this.brokers.get(`${trigger.namespace}/${trigger.broker}`);
        if (!broker)
          return {
            ok: false,
            status: 404,
            reason: `broker ${trigger.namespace}/${trigger.broker} not found`,
          };
        const stored = await broker.target.append(event, headers);
        return stored.ok ? { ok: true } : { ok: false, status: stored.status, reason: stored.reason };
      },
    });
    this.subscriptions = new SubscriptionRouter({
      backend: options.backend,
      dispatcher: options.dispatcher,
      defaultMaxInFlight,
      limiter,
      observer: options.observer,
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
    return this.brokers.has(`${namespace}/${name}`);
  }

  /**
   * Graceful stop: waits up to `graceMs` for every accepted event to be delivered or
   * dead-lettered, then stops retrying and closes the consumers. Returns whether all drained.
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
    await Promise.all([this.triggers.close('shutdown'), this.subscriptions.close('shutdown')]);
    return drained;
  }

  /** Reports what an accepted append stored; an event stored for nobody is counted as discarded. */
  private counted(who: DeliveryTarget, event: CloudEvent, result: { copies?: number }, none: string): void {
    const copies = result.copies ?? 1;
    if (copies > 0) this.options.observer.accepted(who, copies);
    else this.options.observer.discarded(who, [event], none);
  }

  private route(url: string): IngressRoute {
    const path = classifyPath(url);
    if (!path.ok) return path;
    const { kind, namespace, name } = path;
    const key = `${namespace}/${name}`;
    if (kind === 'broker') return { ok: true, namespace, name, kind, target: this.brokers.get(key)?.target };
    if (kind === 'channel')
      return { ok: true, namespace, name, kind, target: this.channels.get(key)?.target };
    return { ok: false, status: 404, reason: `no built-in sink is served at '${url}'` };
  }

  private async applyNow(
    contract: Contract,
    served: Set<string>,
    failed: Map<string, string>,
  ): Promise<void> {
    await this.applyBrokers(contract, served, failed);
    await this.applyChannels(contract, served, failed);
  }

  /** Deletes a broker's or channel's store after cancelling its consumers; failures are only logged by the caller. */
  private async deleteStore(channel: ChannelRef, reason: string): Promise<void> {
    this.triggers.closeChannel(channel, reason);
    this.subscriptions.closeChannel(channel, reason);
    await this.options.backend.deleteChannel(channel, reason);
  }

  private async applyBrokers(
    contract: Contract,
    served: Set<string>,
    failed: Map<string, string>,
  ): Promise<void> {
    const { backend } = this.options;
    const wanted = new Map<string, BrokerEntry>();
    for (const b of contract.brokers) wanted.set(`${b.namespace}/${b.name}`, b);
    for (const [key, state] of this.brokers) {
      const next = wanted.get(key);
      if (next && next.uid === state.entry.uid) continue;
      this.brokers.delete(key);
      await this.deleteStore(state.channel, 'broker_deleted').catch((err: Error) =>
        failed.set(state.entry.uid, `deleting the broker's channel failed: ${err.message}`),
      );
    }
    for (const [key, entry] of wanted) {
      const existing = this.brokers.get(key);
      if (existing) {
        existing.entry = entry;
        served.add(entry.uid);
        continue;
      }
      const channel = brokerChannel(entry);
      try {
        await backend.ensureChannel(channel);
      } catch (err) {
        failed.set(entry.uid, `cannot create the broker's channel: ${(err as Error).message}`);
        continue;
      }
      const state: BrokerState = {
        entry,
        channel,
        index: NO_TRIGGERS,
        target: { append: () => Promise.resolve(ACCEPTED) },
      };
      const who: DeliveryTarget = { kind: 'Broker', namespace: entry.namespace, name: entry.name };
      const stored = (event: CloudEvent, result: AppendResult): AppendResult => {
        if (result.ok) this.counted(who, event, result, 'no_matching_trigger');
        return result;
      };
      const store: IngressTarget = {
        append: backend.targetedAppend
          ? (event, headers) => {
              // Route once at ingress: only the matching triggers' queues receive the event.
              const targets = state.index.match(event);
              if (targets.length === 0) {
                this.options.observer.discarded(who, [event], 'no_matching_trigger');
                return Promise.resolve(ACCEPTED);
              }
              return backend
                .append(channel, event, headers, { targets, key: partitionKey(event) })
                .then((r) => stored(event, r));
            }
          : (event, headers) =>
              backend
                .append(channel, event, headers, { key: partitionKey(event) })
                .then((r) => stored(event, r)),
      };
      state.target = brokerTarget(store, this.maxTtl);
      this.brokers.set(key, state);
      served.add(entry.uid);
    }
    const compiled: (CompiledTrigger & { keys: ReturnType<typeof triggerIndexKeys> })[] = [];
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
    const running = await this.triggers.apply(
      compiled,
      (t) => this.brokers.get(`${t.namespace}/${t.broker}`)?.channel,
      failed,
    );
    for (const uid of running) served.add(uid);
    for (const state of this.brokers.values()) {
      const { namespace, name } = state.entry;
      // Only triggers whose consumer runs are routed to: an event is never queued for nobody.
      state.index = new TriggerIndex(
        compiled
          .filter(
            (t) => t.entry.namespace === namespace && t.entry.broker === name && running.has(t.entry.uid),
          )
          .map((t) => ({ id: t.entry.uid, filter: t.filter, keys: t.keys })),
      );
    }
  }

  private async applyChannels(
    contract: Contract,
    served: Set<string>,
    failed: Map<string, string>,
  ): Promise<void> {
    const { backend } = this.options;
    const wanted = new Map<string, ChannelEntry>();
    for (const c of contract.channels ?? []) wanted.set(`${c.namespace}/${c.name}`, c);
    for (const [key, state] of this.channels) {
      const next = wanted.get(key);
      if (next && next.uid === state.entry.uid) continue;
      this.channels.delete(key);
      await this.deleteStore(state.channel, 'channel_deleted').catch((err: Error) =>
        failed.set(state.entry.uid, `deleting the channel failed: ${err.message}`),
      );
    }
    for (const [key, entry] of wanted) {
      const existing = this.channels.get(key);
      if (existing) {
        existing.entry = entry;
        served.add(entry.uid);
        continue;
      }
      const channel = channelStore(entry);
      try {
        await backend.ensureChannel(channel);
      } catch (err) {
        failed.set(entry.uid, `cannot create the channel's store: ${(err as Error).message}`);
        continue;
      }
      // C4: a channel stores the event exactly as received.
      const who: DeliveryTarget = { kind: 'Channel', namespace: entry.namespace, name: entry.name };
      this.channels.set(key, {
        entry,
        channel,
        target: {
          append: (event, headers) =>
            backend.append(channel, event, headers, { key: partitionKey(event) }).then((result) => {
              if (result.ok) this.counted(who, event, result, 'no_subscribers');
              return result;
            }),
        },
      });
      served.add(entry.uid);
    }
    const running = await this.subscriptions.apply(
      contract.subscriptions ?? [],
      (s) => this.channels.get(`${s.channel.namespace}/${s.channel.name}`)?.channel,
      failed,
    );
    for (const uid of running) served.add(uid);
  }
}
