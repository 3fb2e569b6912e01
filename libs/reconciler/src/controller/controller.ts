import { isDeepStrictEqual } from 'node:util';
import type {
  Broker,
  Channel,
  InMemoryChannel,
  PingSource,
  Resource,
  Subscription,
  Trigger,
} from '@eventing/api';
import {
  CONTRACT_VERSION,
  type BrokerEntry,
  type ChannelEntry,
  type Contract,
  type PingSchedule,
  type SubscriptionEntry,
  type TriggerEntry,
} from '@eventing/contract';
import type { ResourceStore } from '../store/memory-store';
import { AddressResolver, type AddressBook } from '../resolver/address-resolver';
import { brokerConditions, reconcileBroker } from '../broker/reconcile';
import { reconcileTrigger } from '../trigger/reconcile';
import { reconcilePingSource } from '../pingsource/reconcile';
import { reconcileChannel } from '../channel/reconcile';
import { reconcileSubscription } from '../subscription/reconcile';

/** The Ready condition of one resource, for printing. */
export interface ReadyReport {
  kind: string;
  namespace: string;
  name: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export interface ReconcileOutput {
  contract: Contract;
  schedules: PingSchedule[];
  ready: ReadyReport[];
}

export interface ControllerOptions {
  ingressUrl(namespace: string, name: string): string;
  /** The URL at which channels are served; channels are not served without it. */
  channelUrl?(namespace: string, name: string): string;
  addressBook: AddressBook;
}

const EVENTING = 'eventing.knative.dev';
const SOURCES = 'sources.knative.dev';
const MESSAGING = 'messaging.knative.dev';
const CHANNEL_KINDS = ['Channel', 'InMemoryChannel'];

/**
 * Reconciles every resource in the store: Brokers first (their addresses feed Triggers and
 * sinks), then Triggers and PingSources. Writes statuses back and compiles the data-plane contract.
 */
export class Controller {
  private readonly resolver: AddressResolver;
  private generation = 0;
  private lastContract: Omit<Contract, 'generation'> | undefined;

  constructor(
    private readonly store: ResourceStore,
    options: ControllerOptions,
  ) {
    this.resolver = new AddressResolver(store, options.addressBook);
    this.ingressUrl = options.ingressUrl;
    this.channelUrl = options.channelUrl;
  }

  private readonly ingressUrl: (namespace: string, name: string) => string;
  private readonly channelUrl?: (namespace: string, name: string) => string;

  reconcile(): ReconcileOutput {
    const ready: ReadyReport[] = [];
    const brokers: BrokerEntry[] = [];
    const triggers: TriggerEntry[] = [];
    const schedules: PingSchedule[] = [];

    for (const resource of this.store.list('Broker', EVENTING)) {
      const broker = resource as Broker;
      const status = reconcileBroker(broker, { ingressUrl: this.ingressUrl, resolver: this.resolver });
      this.store.updateStatus(resource, status);
      ready.push(report(resource, status.conditions));
      if (brokerConditions.isReady(status.conditions)) {
        brokers.push({
          uid: broker.metadata.uid ?? '',
          namespace: broker.metadata.namespace ?? 'default',
          name: broker.metadata.name ?? '',
        });
      }
    }
    const { channels, subscriptions } = this.reconcileMessaging(ready);
    for (const resource of this.store.list('Trigger', EVENTING)) {
      const trigger = resource as Trigger;
      const namespace = trigger.metadata.namespace ?? 'default';
      const brokerName = trigger.spec.broker ?? trigger.spec.brokerRef?.name ?? '';
      const broker = this.store.get(
        EVENTING,
        'Broker',
        trigger.spec.brokerRef?.namespace ?? namespace,
        brokerName,
      ) as Broker | undefined;
      const result = reconcileTrigger(trigger, broker, this.resolver);
      this.store.updateStatus(resource, result.status);
      ready.push(report(resource, result.status.conditions));
      if (result.egress) triggers.push(result.egress);
    }
    for (const resource of this.store.list('PingSource', SOURCES)) {
      const result = reconcilePingSource(resource as PingSource, this.resolver);
      this.store.updateStatus(resource, result.status);
      ready.push(report(resource, result.status.conditions));
      if (result.schedule) schedules.push(result.schedule);
    }

    const body = { version: CONTRACT_VERSION, brokers, triggers, channels, subscriptions } as const;
    if (!isDeepStrictEqual(body, this.lastContract)) {
      this.generation++;
      this.lastContract = body;
    }
    return { contract: { ...body, generation: this.generation }, schedules, ready };
  }

  /**
   * Channels (a Channel and an InMemoryChannel of the same name are one channel: the Channel's
   * backing one) and the Subscriptions on them.
   */
  private reconcileMessaging(ready: ReadyReport[]): {
    channels: ChannelEntry[];
    subscriptions: SubscriptionEntry[];
  } {
    const channels: ChannelEntry[] = [];
    const subscriptions: SubscriptionEntry[] = [];
    if (this.channelUrl === undefined) return { channels, subscriptions };
    const subs = this.store.list('Subscription', MESSAGING) as Subscription[];
    const served = new Set<string>();
    for (const kind of CHANNEL_KINDS) {
      for (const resource of this.store.list(kind, MESSAGING)) {
        const namespace = resource.metadata.namespace ?? 'default';
        const name = resource.metadata.name ?? '';
        const subscribers = subs
          .filter(
            (s) =>
              (s.metadata.namespace ?? 'default') === namespace &&
              s.spec.channel.name === name &&
              channelKindOf(s.spec.channel.kind),
          )
          .map((s) => ({ uid: s.metadata.uid ?? '', generation: s.metadata.generation ?? 1 }));
        const status = reconcileChannel(resource as Channel | InMemoryChannel, {
          channelUrl: this.channelUrl,
          resolver: this.resolver,
          subscribers,
        });
        this.store.updateStatus(resource, status);
        ready.push(report(resource, status.conditions));
        const key = `${namespace}/${name}`;
        if (!served.has(key)) {
          served.add(key);
          channels.push({ uid: resource.metadata.uid ?? '', namespace, name });
        }
      }
    }
    for (const subscription of subs) {
      const namespace = subscription.metadata.namespace ?? 'default';
      const ref = subscription.spec.channel;
      const channel = (
        channelKindOf(ref.kind) ? this.store.get(MESSAGING, ref.kind, namespace, ref.name) : undefined
      ) as Channel | InMemoryChannel | undefined;
      const result = reconcileSubscription(subscription, channel, this.resolver);
      this.store.updateStatus(subscription, result.status);
      ready.push(report(subscription, result.status.conditions));
      if (result.egress) subscriptions.push(result.egress);
    }
    return { channels, subscriptions };
  }
}

/** The channel a Subscription reads: a Channel or InMemoryChannel of that name. */
function channelKindOf(kind: string): boolean {
  return CHANNEL_KINDS.includes(kind);
}

function report(
  resource: Resource,
  conditions:
    { type: string; status: 'True' | 'False' | 'Unknown'; reason?: string; message?: string }[] | undefined,
): ReadyReport {
  const readyCond = conditions?.find((c) => c.type === 'Ready');
  const out: ReadyReport = {
    kind: resource.kind,
    namespace: resource.metadata.namespace ?? 'default',
    name: resource.metadata.name ?? '',
    status: readyCond?.status ?? 'Unknown',
  };
  if (readyCond?.reason) out.reason = readyCond.reason;
  if (readyCond?.message) out.message = readyCond.message;
  return out;
}
