import { isDeepStrictEqual } from 'node:util';
import {
  BrokerConditionSet,
  ChannelConditionSet,
  KafkaChannelConditionSet,
  NatsJetStreamChannelConditionSet,
  type Condition,
  type ConditionSet,
  type Resource,
} from '@eventing/api';
import type { BrokerEntry, ChannelEntry, StoreKind } from '@eventing/contract';
import { groupOf, type ResourceStore } from '../store/store';

/** Names one durable store: a channel's (`<namespace>/<name>`) or a broker's trigger channel. */
export interface StoreRef {
  namespace: string;
  name: string;
}

/**
 * Creates and removes durable stores (Kafka topics, JetStream streams); libs/channels' provisioners
 * (`@eventing/channels/kafka`, `@eventing/channels/jetstream`) are such.
 */
export interface StoreProvisioner {
  ensure(store: StoreRef, settings?: Record<string, unknown>): Promise<void>;
  remove(store: StoreRef, settings?: Record<string, unknown>): Promise<void>;
}

/** The provisioner of a store kind, when this control plane manages that kind's stores. */
export type ProvisionerLookup = (store: Exclude<StoreKind, 'memory'>) => StoreProvisioner | undefined;

/** What a resource's share of the contract needs provisioned. */
export interface DurableShare {
  what: 'broker' | 'channel';
  entry: BrokerEntry | ChannelEntry;
}

/** One provisioned store, remembered so that it is removed when its resource goes. */
interface Provisioned {
  store: Exclude<StoreKind, 'memory'>;
  ref: StoreRef;
  settings?: Record<string, unknown>;
  /** When it was last ensured (ms since the epoch). */
  at?: number;
}

/** How long an ensured store is taken as there while its resource's settings stay the same. */
const REENSURE_MS = 60_000;

function sameTarget(a: Provisioned, b: Provisioned): boolean {
  return a.store === b.store && isDeepStrictEqual(a.ref, b.ref) && isDeepStrictEqual(a.settings, b.settings);
}

/** Upstream's finalizer of a kind whose store lives outside Kubernetes. */
export function finalizerOf(resource: Resource, store: StoreKind): string {
  switch (resource.kind) {
    case 'KafkaChannel':
      return 'kafkachannels.messaging.knative.dev';
    case 'NatsJetStreamChannel':
      return 'natsjetstreamchannels.messaging.knative.dev';
    case 'Channel':
      return 'channels.messaging.knative.dev';
    case 'Broker':
      // Upstream's Kafka broker controller's finalizer.
      return store === 'kafka' ? 'kafka.eventing' : 'brokers.eventing.knative.dev';
    default:
      return `${resource.kind.toLowerCase()}s.knative.dev`;
  }
}

/**
 * The store a contract entry reads and writes, named as the data plane names it (libs/broker's
 * `channelStore` and `brokerChannel`): a channel's own name, a broker's trigger channel
 * `<broker>-kne-trigger` (a `Kafka`-class broker's topic is named in its `storeSettings.topic`).
 */
export function storeRefOf(share: DurableShare): StoreRef {
  const { namespace, name } = share.entry;
  return share.what === 'channel' ? { namespace, name } : { namespace, name: `${name}-kne-trigger` };
}

/** The condition a store failure is reported on, per kind, with upstream's reason. */
function failureCondition(
  resource: Resource,
  store: StoreKind,
): { set: ConditionSet; type: string; reason: string } {
  switch (resource.kind) {
    case 'KafkaChannel':
      return { set: KafkaChannelConditionSet, type: 'TopicReady', reason: 'TopicNotPresentOrInvalid' };
    case 'NatsJetStreamChannel':
      return { set: NatsJetStreamChannelConditionSet, type: 'StreamReady', reason: 'StreamCreateFailed' };
    case 'Channel':
      return { set: ChannelConditionSet, type: 'BackingChannelReady', reason: 'StoreNotReady' };
    default: {
      const kafka = store === 'kafka';
      return {
        set: BrokerConditionSet,
        type: 'TriggerChannelReady',
        reason: kafka ? 'TopicNotPresentOrInvalid' : 'StreamCreateFailed',
      };
    }
  }
}

/**
 * The control plane's side of durable stores: before a resource's share is admitted to the contract
 * its finalizer is added and its store ensured; when it is being deleted (`deletionTimestamp`, held by
 * the finalizer) its store is removed, then the finalizer. A resource that disappears without one
 * (standalone's folder) has the store this process provisioned for it removed.
 */
export class Provisioning {
  private readonly provisioned = new Map<string, Provisioned>();

  constructor(
    private readonly store: ResourceStore,
    private readonly lookup: ProvisionerLookup,
  ) {}

  /**
   * Provisions a share whose store is durable and managed here; resolves to why it cannot be, as the
   * resource's status (its conditions with the failure marked), or undefined when it is in place or
   * nothing is to be done. Throws when the finalizer cannot be written (retried by the caller).
   */
  async admit(
    key: string,
    resource: Resource,
    share: DurableShare | undefined,
    status: { conditions?: Condition[] },
  ): Promise<{ failed: string; status: { conditions?: Condition[] } } | undefined> {
    const target = share === undefined ? undefined : this.target(share);
    if (target === undefined) return undefined;
    // Stores of a kind nobody provisions here are left to whoever does (no finalizer that nobody removes).
    const provisioner = this.lookup(target.store);
    if (provisioner === undefined) return undefined;
    const finalizer = finalizerOf(resource, target.store);
    if (!(resource.metadata.finalizers ?? []).includes(finalizer)) {
      const written = await this.store.setFinalizer(resource, finalizer, true);
      if (written !== 'ok') throw new Error(`adding finalizer ${finalizer}: ${written}`);
    }
    // Ensured again now and then (a store deleted behind our back comes back), not on every reconcile.
    const previous = this.provisioned.get(key);
    const now = Date.now();
    if (previous !== undefined && now - (previous.at ?? 0) < REENSURE_MS && sameTarget(previous, target))
      return undefined;
    try {
      await provisioner.ensure(target.ref, target.settings);
      this.provisioned.set(key, { ...target, at: now });
      return undefined;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const { set, type, reason } = failureCondition(resource, target.store);
      return {
        failed: message,
        status: { ...status, conditions: set.markFalse(status.conditions ?? [], type, reason, message) },
      };
    }
  }

  /**
   * Cleans up after a resource being deleted: removes its store (`share`: what it would contribute, for
   * a store this process has not seen yet), then its finalizers of ours. Throws on failure; the
   * finalizer stays and the caller retries.
   */
  async finalize(key: string, resource: Resource, share: DurableShare | undefined): Promise<void> {
    const target = this.provisioned.get(key) ?? (share === undefined ? undefined : this.target(share));
    if (target !== undefined) {
      // Without a provisioner of its kind (the controller no longer given that store's address) the
      // store is left as it is rather than the resource held for ever.
      await this.lookup(target.store)?.remove(target.ref, target.settings);
    }
    this.provisioned.delete(key);
    for (const store of ['kafka', 'jetstream'] as const) {
      const finalizer = finalizerOf(resource, store);
      if (!(resource.metadata.finalizers ?? []).includes(finalizer)) continue;
      const written = await this.store.setFinalizer(resource, finalizer, false);
      if (written === 'conflict') throw new Error(`removing finalizer ${finalizer}: conflict`);
      const current = this.store.get(
        groupOf(resource.apiVersion),
        resource.kind,
        resource.metadata.namespace ?? '',
        resource.metadata.name ?? '',
      );
      if (current === undefined) return;
      resource = current;
    }
  }

  /** A resource gone without finalizing (no finalizer held it): removes the store provisioned for it here. */
  async gone(key: string): Promise<void> {
    const target = this.provisioned.get(key);
    if (target === undefined) return;
    await this.lookup(target.store)?.remove(target.ref, target.settings);
    this.provisioned.delete(key);
  }

  /** The durable store of a share, unless it is memory or owned by another resource (a broker's trigger channel in a cluster). */
  private target(share: DurableShare): Provisioned | undefined {
    const store = share.entry.store ?? 'memory';
    if (store === 'memory') return undefined;
    if (share.what === 'broker' && (share.entry as BrokerEntry).channelAddress !== undefined)
      return undefined;
    const out: Provisioned = { store, ref: storeRefOf(share) };
    if (share.entry.storeSettings !== undefined)
      out.settings = share.entry.storeSettings as Record<string, unknown>;
    return out;
  }
}

/** Whether a resource is being deleted (a finalizer holds it). */
export function beingDeleted(resource: Resource): boolean {
  return resource.metadata.deletionTimestamp !== undefined && resource.metadata.deletionTimestamp !== null;
}
