import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloudEvent } from '@eventing/cloudevents';
import type { ChannelBackend, ChannelRef } from '@eventing/channels';
import type {
  BrokerEntry,
  ChannelEntry,
  Contract,
  SubscriptionEntry,
  TriggerEntry,
} from '@eventing/contract';
import type { DeliveryOutcome, Dispatcher } from '@eventing/delivery';
import { compileTriggerFilter, triggerIndexKeys } from '@eventing/filters';
import {
  brokerTarget,
  createIngressHandler,
  type IngressResult,
  type IngressRoute,
  type IngressTarget,
} from './ingress/handler';
import { parseBrokerPath } from './ingress/path';
import { DEFAULT_MAX_TTL } from './ingress/ttl';
import { TriggerRouter } from './egress/trigger-router';
import { SubscriptionRouter } from './egress/subscription-router';
import { TriggerIndex } from './routing/trigger-index';
import { InFlightLimiter } from './egress/limiter';

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
  onDelivery?: (trigger: TriggerEntry, event: CloudEvent, outcome: DeliveryOutcome) => void;
  onChannelDelivery?: (subscription: SubscriptionEntry, event: CloudEvent, outcome: DeliveryOutcome) => void;
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
const NO_TRIGGERS = new TriggerIndex([]);

/** Path prefix under which channels are served: `/channels/<namespace>/<name>`. */
export const CHANNELS_PATH = '/channels/';

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
  /** HTTP handler for `/<namespace>/<broker>` and `/channels/<namespace>/<channel>`. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  private readonly brokers = new Map<string, BrokerState>();
  private readonly channels = new Map<string, ChannelState>();
  private readonly triggers: TriggerRouter;
  private readonly subscriptions: SubscriptionRouter;
  private readonly abort = new AbortController();
  private readonly maxTtl: number;
  private applying: Promise<void> = Promise.resolve();

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
      signal: this.abort.signal,
      onOutcome: options.onDelivery,
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
      signal: this.abort.signal,
      onOutcome: options.onChannelDelivery,
    });
  }

  /** Makes brokers, channels and their consumers match the contract. Calls are serialised. */
  apply(contract: Contract): Promise<void> {
    this.applying = this.applying.then(() => this.applyNow(contract));
    return this.applying;
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
    this.abort.abort();
    await Promise.all([this.triggers.close(), this.subscriptions.close()]);
    return drained;
  }

  private route(url: string): IngressRoute {
    if (url.startsWith(CHANNELS_PATH)) {
      const path = parseBrokerPath(url.slice(CHANNELS_PATH.length - 1));
      if (!path.ok)
        return {
          ok: false,
          status: 400,
          reason: `malformed path '${url}': expected /channels/<namespace>/<channel>`,
        };
      const target = this.channels.get(`${path.namespace}/${path.name}`)?.target;
      return { ok: true, namespace: path.namespace, name: path.name, kind: 'channel', target };
    }
    const path = parseBrokerPath(url);
    if (!path.ok) return path;
    return {
      ok: true,
      namespace: path.namespace,
      name: path.name,
      kind: 'broker',
      target: this.brokers.get(`${path.namespace}/${path.name}`)?.target,
    };
  }

  private async applyNow(contract: Contract): Promise<void> {
    await this.applyBrokers(contract);
    await this.applyChannels(contract);
  }

  private async applyBrokers(contract: Contract): Promise<void> {
    const { backend } = this.options;
    const wanted = new Map<string, BrokerEntry>();
    for (const b of contract.brokers) wanted.set(`${b.namespace}/${b.name}`, b);
    for (const [key, state] of this.brokers) {
      const next = wanted.get(key);
      if (next && next.uid === state.entry.uid) continue;
      this.brokers.delete(key);
      this.triggers.forgetChannel(state.channel);
      await backend.deleteChannel(state.channel);
    }
    for (const [key, entry] of wanted) {
      const existing = this.brokers.get(key);
      if (existing) {
        existing.entry = entry;
        continue;
      }
      const channel = brokerChannel(entry);
      await backend.ensureChannel(channel);
      const state: BrokerState = {
        entry,
        channel,
        index: NO_TRIGGERS,
        target: { append: () => Promise.resolve(ACCEPTED) },
      };
      const store: IngressTarget = {
        append: backend.targetedAppend
          ? (event, headers) => {
              // Route once at ingress: only the matching triggers' queues receive the event.
              const targets = state.index.match(event);
              return targets.length === 0
                ? Promise.resolve(ACCEPTED)
                : backend.append(channel, event, headers, targets);
            }
          : (event, headers) => backend.append(channel, event, headers),
      };
      state.target = brokerTarget(store, this.maxTtl);
      this.brokers.set(key, state);
    }
    const compiled = contract.triggers.map((entry) => ({
      entry,
      filter: compileTriggerFilter(entry.filter, entry.filters),
      keys: triggerIndexKeys(entry.filter, entry.filters),
    }));
    await this.triggers.apply(compiled, (t) => this.brokers.get(`${t.namespace}/${t.broker}`)?.channel);
    for (const state of this.brokers.values()) {
      const { namespace, name } = state.entry;
      state.index = new TriggerIndex(
        compiled
          .filter((t) => t.entry.namespace === namespace && t.entry.broker === name)
          .map((t) => ({ id: t.entry.uid, filter: t.filter, keys: t.keys })),
      );
    }
  }

  private async applyChannels(contract: Contract): Promise<void> {
    const { backend } = this.options;
    const wanted = new Map<string, ChannelEntry>();
    for (const c of contract.channels ?? []) wanted.set(`${c.namespace}/${c.name}`, c);
    for (const [key, state] of this.channels) {
      const next = wanted.get(key);
      if (next && next.uid === state.entry.uid) continue;
      this.channels.delete(key);
      this.subscriptions.forgetChannel(state.channel);
      await backend.deleteChannel(state.channel);
    }
    for (const [key, entry] of wanted) {
      const existing = this.channels.get(key);
      if (existing) {
        existing.entry = entry;
        continue;
      }
      const channel = channelStore(entry);
      await backend.ensureChannel(channel);
      // C4: a channel stores the event exactly as received.
      this.channels.set(key, {
        entry,
        channel,
        target: { append: (event, headers) => backend.append(channel, event, headers) },
      });
    }
    await this.subscriptions.apply(
      contract.subscriptions ?? [],
      (s) => this.channels.get(`${s.channel.namespace}/${s.channel.name}`)?.channel,
    );
  }
}
