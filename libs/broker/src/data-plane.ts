import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChannelBackend, ChannelRef } from '@eventing/channels';
import type {
  ApplyReport,
  BrokerEntry,
  ChannelEntry,
  Contract,
  StoreKind,
  StoreSettings,
} from '@eventing/contract';
import type { Dispatcher } from '@eventing/delivery';
import { SpanKind, TRACING, endHopSpan, startHopSpan, withTraceparent } from '@eventing/observability';
import { compileTriggerFilter, triggerIndexKeys, type TriggerIndexKeys } from '@eventing/filters';
import type { IngressResult } from './ingress/handler';
import { triggerTarget, type CompiledTrigger } from './egress/trigger-router';
import { TriggerIndex } from './routing/trigger-index';
import type { DeliveryObserver } from './egress/outcomes';
import { BrokerIngress } from './sides/ingress-side';
import { BrokerDispatch } from './sides/dispatch-side';
import { InFlightLimiter } from './egress/limiter';
import type { EventTypeRecorder } from './eventtypes/recorder';

export interface BrokerDataPlaneOptions {
  /** The memory store, and the store of every broker or channel that names none. */
  backend: ChannelBackend;
  /** Durable stores by kind, for brokers and channels whose contract entry names one. */
  stores?: Partial<Record<Exclude<StoreKind, 'memory'>, ChannelBackend>>;
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
  /** Notes the types of accepted events for EventType auto-creation (`eventtype-auto-create`). */
  eventTypes?: EventTypeRecorder;
  /**
   * The reconcilers delete durable stores (Kafka topics, JetStream streams) of brokers and channels
   * that go; here their consumers are only closed. Memory stores are always deleted here.
   */
  durableStoresDeletedByReconcilers?: boolean;
}

/**
 * The channel backing a broker, named as upstream's trigger channel `<broker>-kne-trigger`: a broker
 * on KafkaChannel has upstream's topic `knative-messaging-kafka.<namespace>.<broker>-kne-trigger`, one
 * on NatsJetStreamChannel the stream `KN_<NAMESPACE>__<BROKER>_KNE_TRIGGER`. (A `Kafka`-class
 * broker's topic is named by the control plane in its `storeSettings.topic`.)
 */
export function brokerChannel(entry: { namespace: string; name: string }): ChannelRef {
  return { namespace: entry.namespace, name: `${entry.name}-kne-trigger` };
}

/**
 * The store of a channel resource: the channel's own name, so its durable store is named exactly as
 * upstream's (KafkaChannel topic `knative-messaging-kafka.<namespace>.<name>`, NatsJetStreamChannel
 * stream `KN_<NAMESPACE>__<NAME>` on subject `<namespace>.<name>._knative`). A channel named like a
 * broker's trigger channel would share its store: {@link storeClaims} refuses it, as upstream's
 * one-object-per-name does.
 */
export function channelStore(entry: { namespace: string; name: string }): ChannelRef {
  return { namespace: entry.namespace, name: entry.name };
}

/**
 * Which broker or channel holds each store, so that no two share one: a broker `b` and a channel
 * `b-kne-trigger` in one store kind would. What holds a store keeps it; among newcomers brokers go
 * first. Returns the entries that may be provisioned, and records why each other one may not.
 */
export function storeClaims<B extends ClaimEntry, C extends ClaimEntry>(
  brokers: readonly B[],
  channels: readonly C[],
  holding: Iterable<{ uid: string; kind: StoreKind; channel: ChannelRef }>,
  failed: Map<string, string>,
): { brokers: B[]; channels: C[] } {
  const keyOf = (kind: StoreKind, ref: ChannelRef) => `${kind}\n${ref.namespace}/${ref.name}`;
  const wanted = new Map<string, StoreKind>();
  for (const e of [...brokers, ...channels]) wanted.set(e.uid, e.store ?? 'memory');
  const holder = new Map<string, string>();
  for (const h of holding) if (wanted.get(h.uid) === h.kind) holder.set(keyOf(h.kind, h.channel), h.uid);
  const names = new Map<string, string>();
  for (const e of brokers) names.set(e.uid, `broker ${e.namespace}/${e.name} (its trigger channel)`);
  for (const e of channels) names.set(e.uid, `channel ${e.namespace}/${e.name}`);
  const claim = <E extends ClaimEntry>(entries: readonly E[], storeOf: (e: E) => ChannelRef, what: string) =>
    entries.filter((e) => {
      const key = keyOf(e.store ?? 'memory', storeOf(e));
      const held = holder.get(key);
      if (held === undefined || held === e.uid) {
        holder.set(key, e.uid);
        return true;
      }
      const ref = storeOf(e);
      failed.set(
        e.uid,
        `the store ${ref.namespace}/${ref.name} of ${what} ${e.namespace}/${e.name} is taken by ${names.get(held) ?? 'another resource'}: rename one of them`,
      );
      return false;
    });
  return {
    brokers: claim(brokers, brokerChannel, 'broker'),
    channels: claim(channels, channelStore, 'channel'),
  };
}

interface ClaimEntry {
  uid: string;
  namespace: string;
  name: string;
  store?: StoreKind;
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
  /** One dispatch side per store kind in use, sharing one in-flight limit. */
  private readonly dispatches = new Map<StoreKind, BrokerDispatch>();
  private readonly limiter: InFlightLimiter;
  /** Stores provisioned now, by broker or channel uid. */
  private brokers = new Map<string, Provisioned<BrokerEntry>>();
  private channels = new Map<string, Provisioned<ChannelEntry>>();
  /** The tail of the apply queue; never rejects, so one failed apply cannot poison the next. */
  private applying: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: BrokerDataPlaneOptions) {
    this.ingress = new BrokerIngress({
      backend: options.backend,
      maxBodyBytes: options.maxBodyBytes,
      maxTtl: options.maxTtl,
      observer: options.observer,
      onIngress: options.onIngress,
      eventTypes: options.eventTypes,
    });
    this.handler = this.ingress.handler;
    this.limiter = new InFlightLimiter(options.maxInFlightTotal ?? 1000);
  }

  /** Deliveries running now and waiting for a slot, across every store (read when metrics are scraped). */
  inFlight(): { active: number; waiting: number } {
    return this.limiter.stats();
  }

  /** Each consumer's backlog, in the stores that can tell (read when metrics are scraped). */
  *backlog(): IterableIterator<readonly [string, string, string, number]> {
    for (const dispatch of this.dispatches.values()) yield* dispatch.backlog();
  }

  /** The dispatch side of one store kind, started on first use. */
  private dispatchFor(kind: StoreKind): BrokerDispatch {
    let dispatch = this.dispatches.get(kind);
    if (dispatch) return dispatch;
    const options = this.options;
    dispatch = new BrokerDispatch({
      backend: this.backendFor(kind),
      dispatcher: options.dispatcher,
      observer: options.observer,
      defaultMaxInFlight: options.defaultMaxInFlight,
      limiter: this.limiter,
      brokerUrl: options.brokerUrl,
      reply: async (trigger, event, headers) => {
        const broker = this.ingress.brokerTarget(trigger.namespace, trigger.broker);
        if (!broker)
          return {
            ok: false,
            status: 404,
            reason: `broker ${trigger.namespace}/${trigger.broker} not found`,
          };
        const tracer = TRACING.tracer;
        // Traced, the reply gets the ingress span it would get if POSTed to the broker, child of the
        // delivery (or of the subscriber's own traceparent), and its deliveries are children of that.
        const span =
          tracer === undefined
            ? undefined
            : startHopSpan(
                tracer,
                `broker ingress ${trigger.namespace}/${trigger.broker}`,
                SpanKind.INTERNAL,
                headers,
                {
                  'messaging.destination.name': `${trigger.namespace}/${trigger.broker}`,
                  'cloudevents.event_id': event.attributes.id as string,
                  'cloudevents.event_type': event.attributes.type as string,
                },
              );
        const stored = await broker.append(event, span ? withTraceparent(headers, span) : headers);
        if (span) endHopSpan(span, stored.ok ? 202 : stored.status, stored.ok ? undefined : stored.reason);
        return stored.ok ? { ok: true } : { ok: false, status: stored.status, reason: stored.reason };
      },
    });
    this.dispatches.set(kind, dispatch);
    return dispatch;
  }

  /** The store of a kind; throws when this data plane has none (the control plane should not ask). */
  private backendFor(kind: StoreKind): ChannelBackend {
    if (kind === 'memory') return this.options.backend;
    const store = this.options.stores?.[kind];
    if (store === undefined) throw new Error(`no ${kind} store is configured in this process`);
    return store;
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

  /** Events accepted and not yet finished in every store (for shutdown messages). */
  pending(): number {
    let n = 0;
    for (const b of [this.options.backend, ...Object.values(this.options.stores ?? {})])
      n += (b as { pending?: () => number }).pending?.() ?? 0;
    return n;
  }

  /**
   * Graceful stop: waits up to `graceMs` for every accepted event to be delivered or
   * dead-lettered, then cancels what is left. Returns whether all drained.
   */
  async close(graceMs = 30_000): Promise<boolean> {
    await this.applying;
    let timer: NodeJS.Timeout | undefined;
    const stores = [this.options.backend, ...Object.values(this.options.stores ?? {})];
    const drains = stores.map((b) => b.drain?.()).filter((p): p is Promise<void> => p !== undefined);
    const drained = drains.length
      ? await Promise.race([
          Promise.all(drains).then(() => true),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
        ])
      : true;
    if (timer) clearTimeout(timer);
    // Whatever is still queued or in flight now is cancelled: counted as discarded at shutdown in
    // memory, left in the store for the next start in a durable one.
    await Promise.all([...this.dispatches.values()].map((d) => d.close('shutdown')));
    return drained;
  }

  private async applyNow(
    contract: Contract,
    served: Set<string>,
    failed: Map<string, string>,
  ): Promise<void> {
    const claimed = storeClaims(
      contract.brokers,
      contract.channels ?? [],
      [...this.brokers, ...this.channels].map(([uid, p]) => ({ uid, kind: p.kind, channel: p.channel })),
      failed,
    );
    // Every store that goes is deleted before any is created: one a broker's channel leaves may be
    // the one a new channel of the same name takes.
    await this.release(this.brokers, claimed.brokers, 'broker', failed);
    await this.release(this.channels, claimed.channels, 'channel', failed);
    const brokers = await this.provision(
      this.brokers,
      claimed.brokers,
      brokerChannel,
      'broker',
      served,
      failed,
    );
    const channels = await this.provision(
      this.channels,
      claimed.channels,
      channelStore,
      'channel',
      served,
      failed,
    );
    this.brokers = brokers;
    this.channels = channels;
    this.ingress.serve(
      [...brokers.values()].map((p) => ({ ...p, backend: this.backendFor(p.kind) })),
      [...channels.values()].map((p) => ({ ...p, backend: this.backendFor(p.kind) })),
    );

    const byName = <E extends { namespace: string; name: string }>(m: Map<string, Provisioned<E>>) =>
      new Map([...m.values()].map((v) => [`${v.entry.namespace}/${v.entry.name}`, v]));
    const brokerStores = byName(brokers);
    const channelStores = byName(channels);
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
    // Each store kind's dispatch side runs the consumers of the brokers and channels it holds.
    const running = new Set<string>();
    const kinds = new Set<StoreKind>([...this.dispatches.keys()]);
    for (const p of [...brokers.values(), ...channels.values()]) kinds.add(p.kind);
    for (const kind of kinds) {
      const inKind = <E>(p: Provisioned<E> | undefined) =>
        p !== undefined && p.kind === kind ? p.channel : undefined;
      const started = await this.dispatchFor(kind).apply(
        compiled.filter((t) => brokerStores.get(`${t.entry.namespace}/${t.entry.broker}`)?.kind === kind),
        (contract.subscriptions ?? []).filter(
          (s) => channelStores.get(`${s.channel.namespace}/${s.channel.name}`)?.kind === kind,
        ),
        {
          trigger: (t) => inKind(brokerStores.get(`${t.namespace}/${t.broker}`)),
          subscription: (s) => inKind(channelStores.get(`${s.channel.namespace}/${s.channel.name}`)),
        },
        failed,
      );
      for (const uid of started) running.add(uid);
    }
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
   * Deletes the stores no longer wanted (cancelling their consumers first): of brokers and channels
   * gone, and of those that move to another store kind. Each failure is reported and the rest goes on.
   */
  private async release<E extends { uid: string; store?: StoreKind }>(
    current: Map<string, Provisioned<E>>,
    wanted: readonly E[],
    what: 'broker' | 'channel',
    failed: Map<string, string>,
  ): Promise<void> {
    const deletedReason = `${what}_deleted`;
    const wantedKinds = new Map(wanted.map((e) => [e.uid, e.store ?? 'memory']));
    for (const [uid, { channel, kind }] of current) {
      if (wantedKinds.get(uid) === kind) continue;
      this.dispatches.get(kind)?.closeChannel(channel, deletedReason);
      if (kind !== 'memory' && this.options.durableStoresDeletedByReconcilers) continue;
      await this.backendFor(kind)
        .deleteChannel(channel, deletedReason)
        .catch((err: Error) => failed.set(uid, `deleting the ${what}'s channel failed: ${err.message}`));
    }
  }

  /**
   * Creates the stores of new brokers or channels (and of those that moved to another store kind,
   * after `release`). Returns what is provisioned now; each failure is reported and the rest goes on.
   */
  private async provision<
    E extends {
      uid: string;
      namespace: string;
      name: string;
      store?: StoreKind;
      storeSettings?: StoreSettings;
    },
  >(
    current: Map<string, Provisioned<E>>,
    wanted: readonly E[],
    storeOf: (entry: E) => ChannelRef,
    what: 'broker' | 'channel',
    served: Set<string>,
    failed: Map<string, string>,
  ): Promise<Map<string, Provisioned<E>>> {
    const next = new Map<string, Provisioned<E>>();
    for (const entry of wanted) {
      const kind = entry.store ?? 'memory';
      const existing = current.get(entry.uid);
      if (existing && existing.kind === kind) {
        next.set(entry.uid, { entry, channel: existing.channel, kind });
        served.add(entry.uid);
        continue;
      }
      const channel = storeOf(entry);
      try {
        await this.backendFor(kind).ensureChannel(
          channel,
          entry.storeSettings as Record<string, unknown> | undefined,
        );
        next.set(entry.uid, { entry, channel, kind });
        served.add(entry.uid);
      } catch (err) {
        failed.set(entry.uid, `cannot create the ${what}'s channel: ${(err as Error).message}`);
      }
    }
    return next;
  }
}

/** A broker or channel with the channel that holds its events, in a store of one kind. */
interface Provisioned<E> {
  entry: E;
  channel: ChannelRef;
  kind: StoreKind;
}
