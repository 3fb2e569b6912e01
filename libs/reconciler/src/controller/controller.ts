import { isDeepStrictEqual } from 'node:util';
import type {
  Broker,
  Channel,
  Condition,
  InMemoryChannel,
  PingSource,
  Resource,
  Subscription,
  Trigger,
} from '@eventing/api';
import {
  CONTRACT_VERSION,
  type ApplyReport,
  type BrokerEntry,
  type ChannelEntry,
  type Contract,
  type PingSchedule,
  type SubscriptionEntry,
  type TriggerEntry,
} from '@eventing/contract';
import { groupOf, type ResourceStore } from '../store/store';
import { AddressResolver, type AddressBook } from '../resolver/address-resolver';
import { reconcileBroker } from '../broker/reconcile';
import { reconcileTrigger } from '../trigger/reconcile';
import { reconcilePingSource } from '../pingsource/reconcile';
import { CHANNEL_KINDS, reconcileChannel } from '../channel/reconcile';
import { brokerStore, type ConfigMapLookup } from '../broker/store';
import { reconcileSubscription } from '../subscription/reconcile';
import { MEMORY_CAPABILITIES, observe, type Capabilities } from '../observation/observation';

/** The Ready condition of one resource, for printing. */
export interface ReadyReport {
  /** API group of the resource (`''` for the core group). */
  group: string;
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
  /** Broker classes and channel kinds the data plane serves (default: the memory data plane's); read on every reconcile. */
  capabilities?: Capabilities | (() => Capabilities);
  /** ConfigMaps by namespace and name (broker configs naming a channel template). */
  configMap?: ConfigMapLookup;
}

const EVENTING = 'eventing.knative.dev';
const SOURCES = 'sources.knative.dev';
const MESSAGING = 'messaging.knative.dev';

/**
 * Reconciles every resource in the store: Brokers first (their addresses feed Triggers and
 * sinks), then Triggers and PingSources. Writes statuses back and compiles the data-plane contract.
 */
export class Controller {
  private readonly resolver: AddressResolver;
  private readonly capabilitiesOf: () => Capabilities;
  private capabilities: Capabilities = MEMORY_CAPABILITIES;
  private generation = 0;
  private lastContract: Omit<Contract, 'generation'> | undefined;
  /** What the data plane reported last; conditions that depend on it are derived from it. */
  private observed: ApplyReport | undefined;

  constructor(
    private readonly store: ResourceStore,
    options: ControllerOptions,
  ) {
    this.resolver = new AddressResolver(store, options.addressBook);
    this.ingressUrl = options.ingressUrl;
    this.channelUrl = options.channelUrl;
    const capabilities = options.capabilities ?? MEMORY_CAPABILITIES;
    this.capabilitiesOf = typeof capabilities === 'function' ? capabilities : () => capabilities;
    this.configMap = options.configMap ?? (() => undefined);
  }

  private readonly configMap: ConfigMapLookup;

  private readonly ingressUrl: (namespace: string, name: string) => string;
  private readonly channelUrl?: (namespace: string, name: string) => string;

  /**
   * Reconciles every resource and compiles the contract. `observed` is what the data plane made of
   * the last contract; pass it to turn data-plane conditions from Unknown into what really happened.
   * A resource whose reconciliation throws is marked not Ready (ReconcileError) and the rest goes on.
   */
  reconcile(observed: ApplyReport | undefined = this.observed): ReconcileOutput {
    this.observed = observed;
    this.capabilities = this.capabilitiesOf();
    const ready: ReadyReport[] = [];
    const brokers: BrokerEntry[] = [];
    const triggers: TriggerEntry[] = [];
    const schedules: PingSchedule[] = [];
    const admittedBrokers = new Set<string>();

    for (const resource of this.store.list('Broker', EVENTING)) {
      this.guard(resource, ready, () => {
        const broker = resource as Broker;
        const uid = broker.metadata.uid ?? '';
        const store = brokerStore(broker, this.capabilities, this.configMap);
        const result = reconcileBroker(broker, {
          ingressUrl: this.ingressUrl,
          resolver: this.resolver,
          brokerClasses: this.capabilities.brokerClasses,
          store,
          observed: observe(observed, uid),
        });
        if (result.admitted && store.ok) {
          const entry: BrokerEntry = {
            uid,
            namespace: broker.metadata.namespace ?? 'default',
            name: broker.metadata.name ?? '',
          };
          if (store.store !== 'memory') entry.store = store.store;
          if (store.settings !== undefined && store.store !== 'memory') entry.storeSettings = store.settings;
          brokers.push(entry);
          admittedBrokers.add(`${entry.namespace}/${entry.name}`);
        }
        return result.status;
      });
    }
    const { channels, subscriptions } = this.reconcileMessaging(ready, observed);
    for (const resource of this.store.list('Trigger', EVENTING)) {
      this.guard(resource, ready, () => {
        const trigger = resource as Trigger;
        const namespace = trigger.metadata.namespace ?? 'default';
        const brokerName = trigger.spec.broker ?? trigger.spec.brokerRef?.name ?? '';
        const brokerNamespace = trigger.spec.brokerRef?.namespace ?? namespace;
        const broker = this.store.get(EVENTING, 'Broker', brokerNamespace, brokerName) as Broker | undefined;
        const result = reconcileTrigger(trigger, broker, {
          resolver: this.resolver,
          brokerAdmitted: admittedBrokers.has(`${brokerNamespace}/${brokerName}`),
          observed: observe(observed, trigger.metadata.uid ?? ''),
        });
        if (result.egress) triggers.push(result.egress);
        return result.status;
      });
    }
    for (const resource of this.store.list('PingSource', SOURCES)) {
      this.guard(resource, ready, () => {
        const result = reconcilePingSource(
          resource as PingSource,
          this.resolver,
          observe(observed, resource.metadata.uid ?? ''),
        );
        if (result.schedule) schedules.push(result.schedule);
        return result.status;
      });
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
  private reconcileMessaging(
    ready: ReadyReport[],
    observed: ApplyReport | undefined,
  ): {
    channels: ChannelEntry[];
    subscriptions: SubscriptionEntry[];
  } {
    const channels: ChannelEntry[] = [];
    const subscriptions: SubscriptionEntry[] = [];
    const channelUrl = this.channelUrl;
    if (channelUrl === undefined) return { channels, subscriptions };
    const subs = this.store.list('Subscription', MESSAGING) as Subscription[];
    /** `<kind>/<namespace>/<name>` of the channels the data plane serves → the uid it serves them as. */
    const admitted = new Map<string, string>();
    /** `<namespace>/<name>` of served channels → their store. */
    const channelStores = new Map<string, string>();
    const servedAs = new Map<string, string>();
    for (const kind of CHANNEL_KINDS) {
      for (const resource of this.store.list(kind, MESSAGING)) {
        this.guard(resource, ready, () => {
          const namespace = resource.metadata.namespace ?? 'default';
          const name = resource.metadata.name ?? '';
          const key = `${namespace}/${name}`;
          // A Channel and an InMemoryChannel of the same name are one channel, served under the first uid.
          const uid = servedAs.get(key) ?? resource.metadata.uid ?? '';
          const subscribers = subs
            .filter(
              (s) =>
                (s.metadata.namespace ?? 'default') === namespace &&
                s.spec.channel.name === name &&
                channelKindOf(s.spec.channel.kind),
            )
            .map((s) => ({
              uid: s.metadata.uid ?? '',
              generation: s.metadata.generation ?? 1,
              observed: observe(observed, s.metadata.uid ?? ''),
            }));
          const result = reconcileChannel(resource as Channel | InMemoryChannel, {
            channelUrl,
            resolver: this.resolver,
            subscribers,
            capabilities: this.capabilities,
            observed: observe(observed, uid),
          });
          if (result.admitted) {
            admitted.set(`${kind}/${key}`, uid);
            if (!servedAs.has(key)) {
              servedAs.set(key, uid);
              const entry: ChannelEntry = { uid, namespace, name };
              if (result.store !== undefined && result.store !== 'memory') entry.store = result.store;
              channelStores.set(key, result.store ?? 'memory');
              if (result.storeSettings !== undefined && entry.store !== undefined)
                entry.storeSettings = result.storeSettings;
              channels.push(entry);
            }
          }
          return result.status;
        });
      }
    }
    for (const subscription of subs) {
      this.guard(subscription, ready, () => {
        const namespace = subscription.metadata.namespace ?? 'default';
        const ref = subscription.spec.channel;
        const channel = (
          channelKindOf(ref.kind) ? this.store.get(MESSAGING, ref.kind, namespace, ref.name) : undefined
        ) as Channel | InMemoryChannel | undefined;
        const result = reconcileSubscription(subscription, channel, {
          resolver: this.resolver,
          channelAdmitted: admitted.has(`${ref.kind}/${namespace}/${ref.name}`),
          observed: observe(observed, subscription.metadata.uid ?? ''),
        });
        if (result.egress) {
          // A KafkaChannel delivers in order per partition, as upstream's channel dispatcher does.
          if (channelStores.get(`${namespace}/${ref.name}`) === 'kafka') result.egress.ordered = true;
          subscriptions.push(result.egress);
        }
        return result.status;
      });
    }
    return { channels, subscriptions };
  }

  /**
   * Runs one resource's reconciliation and writes its status. A throw is that resource's failure
   * alone: it is marked not Ready with the error, and reconciling the others goes on.
   */
  private guard(
    resource: Resource,
    ready: ReadyReport[],
    reconcileOne: () => { conditions?: Condition[] },
  ): void {
    let status: { conditions?: Condition[] };
    try {
      status = reconcileOne();
    } catch (err) {
      status = {
        observedGeneration: resource.metadata.generation ?? 1,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'ReconcileError',
            message: err instanceof Error ? err.message : String(err),
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      } as { conditions?: Condition[] };
    }
    void this.store.updateStatus(resource, status);
    ready.push(report(resource, status.conditions));
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
    group: groupOf(resource.apiVersion),
    kind: resource.kind,
    namespace: resource.metadata.namespace ?? 'default',
    name: resource.metadata.name ?? '',
    status: readyCond?.status ?? 'Unknown',
  };
  if (readyCond?.reason) out.reason = readyCond.reason;
  if (readyCond?.message) out.message = readyCond.message;
  return out;
}
