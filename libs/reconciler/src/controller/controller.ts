import { isDeepStrictEqual } from 'node:util';
import {
  allKinds,
  BROKER_CLASS_ANNOTATION,
  keepTransitionTimes,
  type Broker,
  type Channel,
  type Condition,
  type InMemoryChannel,
  type PingSource,
  type Resource,
  type Subscription,
  type Trigger,
} from '@eventing/api';
import {
  CONTRACT_VERSION,
  type ApplyReport,
  type BrokerEntry,
  type ChannelEntry,
  type Contract,
  type PingSchedule,
  type StoreKind,
  type SubscriptionEntry,
  type TriggerEntry,
} from '@eventing/contract';
import { groupOf, keyOf, parseKey, resourceKey, type ResourceStore } from '../store/store';
import { AddressResolver, type AddressBook } from '../resolver/address-resolver';
import { brokerConditions, reconcileBroker } from '../broker/reconcile';
import {
  brokerChannelTemplate,
  brokerTriggerChannel,
  childReady,
  filterOnlyEntry,
  triggerSubscription,
  type ClusterTopology,
} from '../broker/cluster';
import { reconcileTrigger } from '../trigger/reconcile';
import { reconcilePingSource } from '../pingsource/reconcile';
import { EVENTTYPE_CHILD_KIND, sourceEventTypes } from '../eventtype/source-eventtypes';
import { CHANNEL_KINDS, reconcileChannel } from '../channel/reconcile';
import { brokerStore, type ConfigMapLookup } from '../broker/store';
import { reconcileSubscription } from '../subscription/reconcile';
import {
  KAFKA_BROKER_CLASS,
  MEMORY_CAPABILITIES,
  observe,
  type Capabilities,
  type Observation,
} from '../observation/observation';
import { TrackingReads } from './tracking';
import { WorkQueue, type WorkQueueOptions } from './work-queue';
import { OWNED_KINDS } from './kinds';
import type { OwnedKindReconciler } from './owner';
import { beingDeleted, Provisioning, type DurableShare, type ProvisionerLookup } from './provisioning';

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

/** The contract without its generation: what the controller compiles. */
export type ContractBody = Omit<Contract, 'generation'>;

/**
 * Where the compiled contract goes: the in-process data plane (standalone) or ConfigMaps the data
 * plane mounts (Kubernetes). Resolves to what the data plane made of it.
 */
export interface ContractSink {
  publish(contract: ContractBody): Promise<ApplyReport>;
}

/** Where PingSource schedules go: the in-process scheduler, or the ping adapter's ConfigMap. */
export interface ScheduleSink {
  publish(schedules: PingSchedule[]): Promise<ApplyReport>;
}

export interface ControllerOptions {
  /** The URL at which a broker is served (`brokerClass`: its class annotation). */
  ingressUrl(namespace: string, name: string, brokerClass?: string): string;
  /** The URL at which channels are served (`store`: where the channel's events live); channels are not served without it. */
  channelUrl?(namespace: string, name: string, store?: StoreKind): string;
  /**
   * Lay channel-based brokers out as in a cluster: each Broker owns a trigger channel, each Trigger a
   * Subscription to broker-filter. Without it (standalone), a broker is served in-process over its store.
   */
  cluster?: ClusterTopology;
  /** Addresses of Services; given the store view a reconcile reads through, so lookups are tracked. */
  addressBook: AddressBook | ((reads: ResourceStore) => AddressBook);
  /** Broker classes and channel kinds the data plane serves (default: the memory data plane's); read on every reconcile. */
  capabilities?: Capabilities | (() => Capabilities);
  /**
   * ConfigMaps by namespace and name (broker configs naming a channel template); `'store'` reads
   * them from the store (tracked: a ConfigMap's change re-queues what read it).
   */
  configMap?: ConfigMapLookup | 'store';
  /** Where the contract goes when the controller runs (`start`). */
  contract?: ContractSink;
  schedules?: ScheduleSink;
  /** Called with each resource's Ready condition when it changes. */
  onReady?(report: ReadyReport): void;
  /** Called when one key's reconcile failed (it is retried with backoff). */
  onError?(key: string, error: unknown): void;
  /** Called after each reconcile with its kind and duration. */
  onReconciled?(kind: string, ms: number, outcome: 'ok' | 'error' | 'conflict'): void;
  queue?: WorkQueueOptions;
  /**
   * The sinks report nothing back (a cluster: services read the ConfigMaps on their own), so what the
   * contract holds is taken as served, and statuses never wait on a report.
   */
  assumeServed?: boolean;
  /** Longest time a contract change waits while the queue is busy (default 1 s). */
  publishMaxDelayMs?: number;
  /**
   * Provisioners of durable stores (Kafka topics, JetStream streams): a channel or broker on one is
   * admitted to the contract only once its store exists, and its store is removed when it is deleted
   * (held by a finalizer meanwhile). Without one, the data plane creates the stores it uses.
   */
  provisioner?: ProvisionerLookup;
}

const EVENTING = 'eventing.knative.dev';
const SERVED: Observation = { status: 'True' };
/** How long a change waits before re-queuing what listed its kind (bursts coalesce). */
const LIST_COALESCE_MS = 100;
const SUBSCRIPTION_KIND = [{ group: 'messaging.knative.dev', kind: 'Subscription' }] as const;
const SOURCES = 'sources.knative.dev';
const MESSAGING = 'messaging.knative.dev';

/** The group of each kind this controller reconciles, from the kinds' own definitions. */
const GROUP_OF_KIND = new Map(allKinds.map((k) => [k.kind, k.group]));
function groupOfKind(kind: string): string {
  const group = GROUP_OF_KIND.get(kind);
  if (group === undefined) throw new Error(`no kind definition for ${kind}`);
  return group;
}

/** Kinds in the order a full pass reconciles them: addresses first, then what reads them. */
const CORE_KINDS: readonly string[] = ['Broker', ...CHANNEL_KINDS, 'Subscription', 'Trigger', 'PingSource'];

/** A resource's computed state: its status, what it adds to the contract, and the children it owns. */
interface Computed {
  status: { conditions?: Condition[] };
  children?: Resource[];
  childKinds?: readonly { group: string; kind: string }[];
}

/**
 * Reconciles resources one key at a time. Each key is computed from the store's cache (reads are
 * tracked, so a change to anything a resource read re-queues it), its status written back (only
 * when it changed; a conflict retries from the newer copy), its owned children applied and pruned,
 * and its share of the contract kept; the contract is published when the queue runs dry (or after
 * `publishMaxDelayMs` while it is busy), and only when its content changed.
 *
 * `reconcile()` runs one synchronous pass over every resource (for tests and tools); `start()`
 * runs the queue-driven loop both modes use.
 */
export class Controller {
  private readonly reads: TrackingReads;
  private readonly resolver: AddressResolver;
  private readonly capabilitiesOf: () => Capabilities;
  private capabilities: Capabilities = MEMORY_CAPABILITIES;
  private readonly configMap: ConfigMapLookup;
  private readonly ingressUrl: (namespace: string, name: string, brokerClass?: string) => string;
  private readonly channelUrl?: (namespace: string, name: string, store?: StoreKind) => string;
  private readonly owned: Map<string, OwnedKindReconciler>;
  private readonly cluster: ClusterTopology | undefined;
  private readonly channelKinds = CHANNEL_KINDS.map((kind) => ({ group: MESSAGING, kind }));
  /** Broker key → the kind of its trigger channel, once that channel has an address (cluster layout). */
  private readonly brokerChannels = new Map<string, { apiVersion: string; kind: string }>();

  // Each key's share of the contract.
  private readonly brokers = new Map<string, BrokerEntry>();
  private readonly triggers = new Map<string, TriggerEntry>();
  private readonly channels = new Map<string, ChannelEntry>();
  /** `<namespace>/<name>` of a served channel → the key serving it (a Channel and an InMemoryChannel of one name are one channel). */
  private readonly servedAs = new Map<string, string>();
  /** Channel keys whose kind the data plane serves (both namesakes, when one serves the other). */
  private readonly admitted = new Set<string>();
  private readonly subscriptions = new Map<string, SubscriptionEntry>();
  private readonly schedules = new Map<string, PingSchedule>();
  /** uid → key, to re-queue what a data-plane report changed. */
  private readonly keyOfUid = new Map<string, string>();
  private readonly lastReady = new Map<string, string>();

  private generation = 0;
  private lastContract: ContractBody | undefined;
  /** What the data plane and scheduler reported last; conditions that depend on them are derived from it. */
  private observed: ApplyReport | undefined;
  private contractReport: ApplyReport | undefined;
  private scheduleReport: ApplyReport | undefined;
  private publishedContract: ContractBody | undefined;
  private publishedSchedules: PingSchedule[] | undefined;

  private readonly queue: WorkQueue;
  private unwatch: (() => void)[] = [];
  private publishing: Promise<void> = Promise.resolve();
  private publishTimer?: NodeJS.Timeout;
  private publishWanted = false;
  private running = false;
  /** Nothing is published until every key has been reconciled once after start (no partial contract). */
  private firstPass = true;
  private firstPassDone: Promise<void> = Promise.resolve();
  private readonly provisioning?: Provisioning;

  constructor(
    private readonly store: ResourceStore,
    private readonly options: ControllerOptions,
  ) {
    this.reads = new TrackingReads(store);
    const book =
      typeof options.addressBook === 'function' ? options.addressBook(this.reads) : options.addressBook;
    this.resolver = new AddressResolver(this.reads, book);
    this.ingressUrl = options.ingressUrl;
    this.channelUrl = options.channelUrl;
    const capabilities = options.capabilities ?? MEMORY_CAPABILITIES;
    this.capabilitiesOf = typeof capabilities === 'function' ? capabilities : () => capabilities;
    const configMap = options.configMap ?? (() => undefined);
    this.configMap =
      configMap === 'store'
        ? (namespace, name) =>
            (
              this.reads.get('', 'ConfigMap', namespace, name) as
                { data?: Record<string, string> } | undefined
            )?.data
        : configMap;
    this.owned = new Map(OWNED_KINDS.map((r) => [r.kind, r]));
    this.cluster = options.cluster;
    this.queue = new WorkQueue(options.queue);
    if (options.provisioner) this.provisioning = new Provisioning(store, options.provisioner);
  }

  /** Every kind this controller reconciles, in pass order. */
  kinds(): { group: string; kind: string }[] {
    return [...CORE_KINDS, ...this.owned.keys()].map((kind) => ({ group: groupOfKind(kind), kind }));
  }

  /** Keys waiting to be reconciled. */
  get depth(): number {
    return this.queue.depth;
  }

  /**
   * Runs the loop: watches every kind (and what reconciles read, such as Services), reconciles each
   * changed key, publishes the contract and schedules to the sinks.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.queue.run((key) => this.process(key));
    for (const { group, kind } of this.kinds())
      this.unwatch.push(
        this.store.watch(kind, group, (e) => {
          this.queue.add(resourceKey(e.resource));
          this.requeueDependents(resourceKey(e.resource));
        }),
      );
    for (const { group, kind } of this.reads.dependencyKinds()) {
      try {
        this.unwatch.push(
          this.store.watch(kind, group, (e) => this.requeueDependents(resourceKey(e.resource))),
        );
      } catch {
        // A store that does not hold this kind: nothing read of it can change.
      }
    }
    // Every key there at start is queued now; the contract goes out once all have been reconciled.
    this.firstPass = true;
    this.firstPassDone = this.queue.idle().then(() => {
      this.firstPass = false;
      this.publishNow();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const off of this.unwatch.splice(0)) off();
    if (this.publishTimer) clearTimeout(this.publishTimer);
    await this.queue.stop();
    await this.publishing;
  }

  /** Re-queues every resource (after a change the store does not see: capabilities, ConfigMaps, the address book). */
  requeueAll(): void {
    for (const { group, kind } of this.kinds())
      for (const r of this.store.list(kind, group)) this.queue.add(resourceKey(r));
  }

  /** Resolves when nothing is queued or being reconciled and the last contract and schedules are published. */
  async idle(): Promise<void> {
    for (;;) {
      await this.queue.idle();
      await this.firstPassDone;
      const publishing = this.publishing;
      await publishing;
      if (this.publishWanted && this.running) {
        this.publishNow();
        continue;
      }
      // A publish started meanwhile, or what it reported queued keys again: wait for those too.
      if (publishing !== this.publishing || this.queue.depth > 0 || this.queue.busy > 0) continue;
      return;
    }
  }

  /** The Ready condition of every reconciled resource, as last written. */
  readyReports(): ReadyReport[] {
    const out: ReadyReport[] = [];
    for (const { group, kind } of this.kinds())
      for (const r of this.store.list(kind, group))
        out.push(report(r, (r.status as { conditions?: Condition[] } | undefined)?.conditions));
    return out;
  }

  /**
   * One synchronous pass over every resource, in dependency order: writes statuses and compiles the
   * contract. `observed` is what the data plane made of the last contract. For tests and tools; the
   * running controller works per key.
   */
  reconcile(observed: ApplyReport | undefined = this.observed): ReconcileOutput {
    this.observed = observed;
    const ready: ReadyReport[] = [];
    for (const { group, kind } of this.kinds()) {
      const present = new Set<string>();
      for (const resource of this.store.list(kind, group)) {
        const key = resourceKey(resource);
        present.add(key);
        const computed = this.compute(key, resource);
        void this.store.updateStatus(resource, computed.status);
        if (computed.children) for (const c of computed.children) void this.store.applyChild(c);
        ready.push(report(resource, computed.status.conditions));
      }
      for (const key of this.contributorsOf(kind)) if (!present.has(key)) this.drop(key);
    }
    const body = this.body();
    if (!isDeepStrictEqual(body, this.lastContract)) {
      this.generation++;
      this.lastContract = body;
    }
    return { contract: { ...body, generation: this.generation }, schedules: this.scheduleList(), ready };
  }

  /** Reconciles one key: compute, write children and status, keep its contract share. */
  private async process(key: string): Promise<void> {
    const started = performance.now();
    const { group, kind, namespace, name } = parseKey(key);
    let resource = this.store.get(group, kind, namespace, name);
    if (resource === undefined || beingDeleted(resource)) {
      // A resource being deleted contributes nothing and gets no status: only its cleanup runs.
      const share = resource && this.provisioning ? this.durableShareOf(key, resource) : undefined;
      if (this.drop(key)) this.contractChanged(key);
      this.reads.forget(key);
      this.lastReady.delete(key);
      if (this.provisioning) {
        try {
          if (resource === undefined) await this.provisioning.gone(key);
          else await this.provisioning.finalize(key, resource, share);
          this.queue.forget(key);
        } catch (err) {
          this.options.onError?.(key, err);
          this.queue.addRateLimited(key);
        }
      }
      return;
    }
    const before = this.shareOf(key);
    let computed = this.compute(key, resource);
    let outcome: 'ok' | 'error' | 'conflict' = 'ok';
    try {
      if (this.provisioning) {
        const refused = await this.provisioning.admit(key, resource, this.durableShare(key), computed.status);
        if (refused !== undefined) {
          // Nothing of it in the contract until its store exists; retried with backoff.
          this.channels.delete(key);
          this.brokers.delete(key);
          this.admitted.delete(key);
          computed = { ...computed, status: refused.status };
          outcome = 'error';
          this.options.onError?.(key, new Error(refused.failed));
        }
        resource = this.store.get(group, kind, namespace, name) ?? resource;
      }
      if (computed.children !== undefined) await this.applyChildren(resource, computed);
      // A status made in steps (compute, then a provisioning failure marked on top) keeps the stored
      // transition time of each condition whose status is unchanged: a reconcile that fails the same
      // way again rewrites no status (and its write queues no reconcile before the backoff).
      const stored = (resource.status as { conditions?: Condition[] } | undefined)?.conditions;
      const conditions = keepTransitionTimes(computed.status.conditions, stored);
      const status =
        conditions === computed.status.conditions ? computed.status : { ...computed.status, conditions };
      const written = isDeepStrictEqual(resource.status, plain(status))
        ? 'ok'
        : await this.store.updateStatus(resource, status);
      if (written === 'conflict') {
        outcome = 'conflict';
        this.queue.addRateLimited(key);
      } else if (outcome === 'error') this.queue.addRateLimited(key);
      else this.queue.forget(key);
    } catch (err) {
      outcome = 'error';
      this.options.onError?.(key, err);
      this.queue.addRateLimited(key);
    }
    if (!isDeepStrictEqual(before, this.shareOf(key))) this.contractChanged(key);
    this.noteReady(key, resource, computed.status.conditions);
    this.options.onReconciled?.(kind, performance.now() - started, outcome);
  }

  /** Applies a resource's children and deletes the children it owns but no longer wants. */
  private async applyChildren(owner: Resource, computed: Computed): Promise<void> {
    const wanted = new Set<string>();
    for (const child of computed.children ?? []) {
      wanted.add(resourceKey(child));
      const existing = this.store.get(
        groupOf(child.apiVersion),
        child.kind,
        child.metadata.namespace ?? '',
        child.metadata.name ?? '',
      );
      if (existing !== undefined && sameDesired(existing, child)) continue;
      try {
        await this.store.applyChild(child);
      } catch (err) {
        if (existing === undefined || !refusedAsImmutable(err)) throw err;
        // A field the API does not let change (a Subscription's spec.channel when a flow's channel
        // template changes kind): replace the child, as upstream does.
        const { namespace = '', name = '' } = child.metadata;
        await this.store.delete(groupOf(child.apiVersion), child.kind, namespace, name);
        await this.store.applyChild(child);
      }
    }
    const uid = owner.metadata.uid;
    for (const { group, kind } of computed.childKinds ?? [])
      for (const r of this.store.list(kind, group)) {
        const owners = (r.metadata.ownerReferences ?? []) as { uid?: string; controller?: boolean }[];
        if (!owners.some((o) => o.uid === uid && o.controller === true)) continue;
        if (wanted.has(resourceKey(r))) continue;
        await this.store.delete(group, kind, r.metadata.namespace ?? '', r.metadata.name ?? '');
      }
  }

  private noteReady(key: string, resource: Resource, conditions: Condition[] | undefined): void {
    const r = report(resource, conditions);
    const line = `${r.status}/${r.reason ?? ''}/${r.message ?? ''}`;
    if (this.lastReady.get(key) === line) return;
    this.lastReady.set(key, line);
    this.options.onReady?.(r);
  }

  /**
   * Re-queues whatever read `key` in its last reconcile. What listed its whole kind (a channel lists
   * its Subscriptions) is queued a moment later, so that a burst of changes is reconciled once.
   */
  private requeueDependents(key: string): void {
    const { exact, listed } = this.reads.dependentsOf(key);
    for (const dependent of exact) this.queue.add(dependent);
    for (const dependent of listed) this.queue.addSoon(dependent, LIST_COALESCE_MS);
  }

  /** A key's share of the contract changed: its dependents may read it, and the contract must go out. */
  private contractChanged(key: string): void {
    this.requeueDependents(key);
    this.publishWanted = true;
    if (this.queue.depth === 0) queueMicrotask(() => this.publishIfIdle());
    else if (this.publishTimer === undefined) {
      this.publishTimer = setTimeout(() => {
        this.publishTimer = undefined;
        this.publishNow();
      }, this.options.publishMaxDelayMs ?? 1000);
      this.publishTimer.unref();
    }
  }

  private publishIfIdle(): void {
    if (this.queue.depth === 0) this.publishNow();
    else this.contractChanged('');
  }

  /** Publishes the contract and schedules (serialised), then re-queues what the reports changed. */
  private publishNow(): void {
    if (!this.publishWanted || !this.running) return;
    // Still reconciling what was there at start: published once that pass is done.
    if (this.firstPass) return;
    this.publishWanted = false;
    if (this.publishTimer) {
      clearTimeout(this.publishTimer);
      this.publishTimer = undefined;
    }
    this.publishing = this.publishing.then(async () => {
      const before = this.observed;
      const body = this.body();
      const schedules = this.scheduleList();
      if (this.options.contract && !isDeepStrictEqual(body, this.publishedContract)) {
        try {
          this.contractReport = await this.options.contract.publish(body);
          this.publishedContract = body;
        } catch (err) {
          this.options.onError?.('contract', err);
          this.contractChanged('');
        }
      }
      if (this.options.schedules && !isDeepStrictEqual(schedules, this.publishedSchedules)) {
        try {
          this.scheduleReport = await this.options.schedules.publish(schedules);
          this.publishedSchedules = schedules;
        } catch (err) {
          this.options.onError?.('schedules', err);
          this.contractChanged('');
        }
      }
      this.observed = mergeReports(this.contractReport, this.scheduleReport);
      for (const [uid, key] of this.keyOfUid)
        if (!isDeepStrictEqual(observe(before, uid), observe(this.observed, uid))) this.queue.add(key);
    });
  }

  /** What the data plane made of a resource: served, when the sinks report nothing back. */
  private observation(uid: string): Observation {
    return this.options.assumeServed ? SERVED : observe(this.observed, uid);
  }

  /** Computes one resource, with its reads tracked; a throw is that resource's failure alone. */
  private compute(key: string, resource: Resource): Computed {
    this.capabilities = this.capabilitiesOf();
    const uid = resource.metadata.uid;
    if (uid !== undefined) this.keyOfUid.set(uid, key);
    this.reads.begin(key);
    try {
      return this.computeKind(key, resource);
    } catch (err) {
      this.drop(key);
      return {
        status: {
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
        } as { conditions?: Condition[] },
      };
    } finally {
      this.reads.end();
    }
  }

  private computeKind(key: string, resource: Resource): Computed {
    const observed = this.observation(resource.metadata.uid ?? '');
    switch (resource.kind) {
      case 'Broker':
        return this.computeBroker(key, resource as Broker, observed);
      case 'Trigger':
        return this.computeTrigger(key, resource as Trigger, observed);
      case 'PingSource': {
        const result = reconcilePingSource(resource as PingSource, this.resolver, observed);
        if (result.schedule) this.schedules.set(key, result.schedule);
        else this.schedules.delete(key);
        const eventTypes = sourceEventTypes(resource as PingSource, result.status.ceAttributes);
        return { status: result.status, children: eventTypes, childKinds: [EVENTTYPE_CHILD_KIND] };
      }
      case 'Subscription':
        return this.computeSubscription(key, resource as Subscription, observed);
      default:
        if (CHANNEL_KINDS.includes(resource.kind)) return this.computeChannel(key, resource, observed);
    }
    const owned = this.owned.get(resource.kind);
    if (owned === undefined) throw new Error(`no reconciler for kind ${resource.kind}`);
    const result = owned.reconcile(resource, { store: this.reads, resolver: this.resolver });
    return { status: result.status, children: result.children, childKinds: owned.childKinds };
  }

  private computeBroker(key: string, broker: Broker, observed: Observation): Computed {
    const namespace = broker.metadata.namespace ?? 'default';
    const name = broker.metadata.name ?? '';
    const uid = broker.metadata.uid ?? '';
    const brokerClass = broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
    const store = brokerStore(broker, this.capabilities, this.configMap);
    const result = reconcileBroker(broker, {
      ingressUrl: (ns, n) => this.ingressUrl(ns, n, brokerClass),
      resolver: this.resolver,
      brokerClasses: this.capabilities.brokerClasses,
      store,
      observed,
    });
    this.brokerChannels.delete(key);
    if (!result.admitted || !store.ok) {
      this.brokers.delete(key);
      return {
        status: result.status,
        children: this.cluster ? [] : undefined,
        childKinds: this.channelKinds,
      };
    }
    const entry: BrokerEntry = { uid, namespace, name };
    if (store.store !== 'memory') entry.store = store.store;
    if (store.settings !== undefined && store.store !== 'memory') entry.storeSettings = store.settings;
    if (this.cluster === undefined || brokerClass === KAFKA_BROKER_CLASS) {
      this.brokers.set(key, entry);
      return {
        status: result.status,
        children: this.cluster ? [] : undefined,
        childKinds: this.channelKinds,
      };
    }
    // In a cluster, a channel-based broker owns its trigger channel; ingress appends to its address.
    const template = brokerChannelTemplate(broker, store.store, this.configMap);
    const child = brokerTriggerChannel(broker, template);
    const channelName = child.metadata.name ?? '';
    const existing = this.reads.get(groupOf(template.apiVersion), template.kind, namespace, channelName);
    const ready = childReady(existing, `${template.kind} ${namespace}/${channelName}`);
    const address = (existing?.status as { address?: { url?: string } } | undefined)?.address?.url;
    const status = result.status;
    if (address !== undefined) {
      status.annotations = {
        'knative.dev/channelAddress': address,
        'knative.dev/channelAPIVersion': template.apiVersion,
        'knative.dev/channelKind': template.kind,
        'knative.dev/channelName': channelName,
      };
    }
    if (!ready.ok || address === undefined) {
      const why = ready.ok
        ? { reason: 'NoAddress', message: 'the trigger channel has no address yet' }
        : ready;
      status.conditions = brokerConditions.markUnknown(
        status.conditions ?? [],
        'TriggerChannelReady',
        why.reason,
        why.message,
      );
      this.brokers.delete(key);
    } else {
      this.brokers.set(key, { ...entry, channelAddress: address });
      this.brokerChannels.set(key, { apiVersion: template.apiVersion, kind: template.kind });
    }
    return { status, children: [child], childKinds: this.channelKinds };
  }

  private computeTrigger(key: string, trigger: Trigger, observed: Observation): Computed {
    const namespace = trigger.metadata.namespace ?? 'default';
    const brokerName = trigger.spec.broker ?? trigger.spec.brokerRef?.name ?? '';
    const brokerNamespace = trigger.spec.brokerRef?.namespace ?? namespace;
    const brokerKey = keyOf(EVENTING, 'Broker', brokerNamespace, brokerName);
    const broker = this.reads.get(EVENTING, 'Broker', brokerNamespace, brokerName) as Broker | undefined;
    const channel = this.brokerChannels.get(brokerKey);
    this.reads.note(brokerKey);
    // In a cluster, a channel-based broker's Trigger owns a Subscription: its readiness is the Trigger's.
    let subscription: Resource | undefined;
    let subscriptionObserved = observed;
    if (this.cluster !== undefined && broker !== undefined && channel !== undefined) {
      const brokerClass = broker.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
      subscription = triggerSubscription(
        trigger,
        broker,
        channel,
        this.cluster,
        this.ingressUrl(brokerNamespace, brokerName, brokerClass),
      );
      const existing = this.reads.get(MESSAGING, 'Subscription', namespace, subscription.metadata.name ?? '');
      const ready = childReady(existing, `Subscription ${namespace}/${subscription.metadata.name ?? ''}`);
      subscriptionObserved = ready.ok ? { status: 'True' } : { status: 'Unknown', ...ready };
    }
    const result = reconcileTrigger(trigger, broker, {
      resolver: this.resolver,
      brokerAdmitted: this.brokers.has(brokerKey),
      observed: subscriptionObserved,
    });
    if (result.egress) this.triggers.set(key, subscription ? filterOnlyEntry(result.egress) : result.egress);
    else this.triggers.delete(key);
    if (this.cluster === undefined) return { status: result.status };
    const children = subscription !== undefined && result.egress !== undefined ? [subscription] : [];
    return { status: result.status, children, childKinds: SUBSCRIPTION_KIND };
  }

  private computeChannel(key: string, resource: Resource, observed: Observation): Computed {
    const namespace = resource.metadata.namespace ?? 'default';
    const name = resource.metadata.name ?? '';
    const channelUrl = this.channelUrl;
    const nsName = `${namespace}/${name}`;
    if (channelUrl === undefined) {
      this.drop(key);
      return { status: (resource.status ?? {}) as { conditions?: Condition[] } };
    }
    // A Channel and an InMemoryChannel of the same name are one channel, served under the first key.
    const owner = this.servedAs.get(nsName);
    const servingKey = owner === undefined || this.channels.has(owner) ? (owner ?? key) : key;
    const servingEntry = this.channels.get(servingKey);
    const uid = servingKey === key ? (resource.metadata.uid ?? '') : (servingEntry?.uid ?? '');
    const subscribers = (this.reads.list('Subscription', MESSAGING) as Subscription[])
      .filter(
        (s) =>
          (s.metadata.namespace ?? 'default') === namespace &&
          s.spec.channel.name === name &&
          CHANNEL_KINDS.includes(s.spec.channel.kind),
      )
      .map((s) => ({
        uid: s.metadata.uid ?? '',
        generation: s.metadata.generation ?? 1,
        observed: this.observation(s.metadata.uid ?? ''),
      }));
    const result = reconcileChannel(resource as Channel | InMemoryChannel, {
      channelUrl,
      resolver: this.resolver,
      subscribers,
      capabilities: this.capabilities,
      observed: servingKey === key ? observed : this.observation(uid),
    });
    if (!result.admitted) {
      this.drop(key);
      return { status: result.status };
    }
    this.admitted.add(key);
    if (servingKey === key) {
      const entry: ChannelEntry = { uid, namespace, name };
      if (result.store !== undefined && result.store !== 'memory') entry.store = result.store;
      if (result.storeSettings !== undefined && entry.store !== undefined)
        entry.storeSettings = result.storeSettings;
      this.channels.set(key, entry);
      this.servedAs.set(nsName, key);
    } else {
      // Served by its namesake; this key reads it so it hears when that one goes.
      this.reads.note(servingKey);
    }
    return { status: result.status };
  }

  private computeSubscription(key: string, subscription: Subscription, observed: Observation): Computed {
    const namespace = subscription.metadata.namespace ?? 'default';
    const ref = subscription.spec.channel;
    const isChannel = CHANNEL_KINDS.includes(ref.kind);
    const channel = (isChannel ? this.reads.get(MESSAGING, ref.kind, namespace, ref.name) : undefined) as
      Channel | InMemoryChannel | undefined;
    const channelKey = keyOf(MESSAGING, ref.kind, namespace, ref.name);
    const servingKey = this.servedAs.get(`${namespace}/${ref.name}`);
    const admitted = isChannel && channel !== undefined && this.admitted.has(channelKey);
    if (servingKey !== undefined) this.reads.note(servingKey);
    const result = reconcileSubscription(subscription, channel, {
      resolver: this.resolver,
      channelAdmitted: admitted,
      observed,
    });
    if (result.egress) {
      // A KafkaChannel delivers in order per partition, as upstream's channel dispatcher does.
      if (servingKey !== undefined && this.channels.get(servingKey)?.store === 'kafka')
        result.egress.ordered = true;
      this.subscriptions.set(key, result.egress);
    } else this.subscriptions.delete(key);
    return { status: result.status };
  }

  /** A key's share that lives in a store of its own (a broker's or a served channel's). */
  private durableShare(key: string): DurableShare | undefined {
    const channel = this.channels.get(key);
    if (channel !== undefined) return { what: 'channel', entry: channel };
    const broker = this.brokers.get(key);
    return broker === undefined ? undefined : { what: 'broker', entry: broker };
  }

  /** What a resource being deleted would contribute, to find its store (computed, then dropped by the caller). */
  private durableShareOf(key: string, resource: Resource): DurableShare | undefined {
    const current = this.durableShare(key);
    if (current !== undefined) return current;
    this.compute(key, resource);
    return this.durableShare(key);
  }

  /** Removes a key's share of the contract; true when it had one. */
  private drop(key: string): boolean {
    let had = this.admitted.delete(key);
    for (const map of [this.brokers, this.triggers, this.channels, this.subscriptions, this.schedules])
      had = map.delete(key) || had;
    for (const [nsName, owner] of this.servedAs)
      if (owner === key) {
        this.servedAs.delete(nsName);
        // Its namesake of another kind may serve the channel now.
        const { namespace, name } = parseKey(key);
        for (const kind of CHANNEL_KINDS) this.queue.add(keyOf(MESSAGING, kind, namespace, name));
      }
    return had;
  }

  private shareOf(key: string): unknown {
    return [
      this.brokers.get(key),
      this.triggers.get(key),
      this.channels.get(key),
      this.subscriptions.get(key),
      this.schedules.get(key),
    ];
  }

  private contributorsOf(kind: string): string[] {
    const out: string[] = [];
    for (const map of [this.brokers, this.triggers, this.channels, this.subscriptions, this.schedules])
      for (const key of map.keys()) if (parseKey(key).kind === kind) out.push(key);
    return out;
  }

  /** The contract body, entries sorted by key so equal content compares equal. */
  private body(): ContractBody {
    const sorted = <T>(map: Map<string, T>): T[] =>
      [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
    return {
      version: CONTRACT_VERSION,
      brokers: sorted(this.brokers),
      triggers: sorted(this.triggers),
      channels: this.channelUrl === undefined ? [] : sorted(this.channels),
      subscriptions: this.channelUrl === undefined ? [] : sorted(this.subscriptions),
    };
  }

  private scheduleList(): PingSchedule[] {
    return [...this.schedules.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  }
}

/** Whether a write was refused because it changes a field that may not change (admission or schema). */
function refusedAsImmutable(err: unknown): boolean {
  const status = (err as { status?: unknown }).status;
  return (status === 400 || status === 422) && /immutable/i.test(err instanceof Error ? err.message : '');
}

/** A value as it reads back from a store: what JSON keeps (no undefined fields). */
function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** Whether a stored child already is what its owner wants (spec, labels and owners). */
function sameDesired(existing: Resource, wanted: Resource): boolean {
  return (
    isDeepStrictEqual(existing.spec, wanted.spec) &&
    isDeepStrictEqual(existing.metadata.labels, wanted.metadata.labels) &&
    isDeepStrictEqual(existing.metadata.ownerReferences, wanted.metadata.ownerReferences)
  );
}

/** A data-plane report and the scheduler's, as one observation. */
function mergeReports(a: ApplyReport | undefined, b: ApplyReport | undefined): ApplyReport | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return {
    generation: a.generation,
    served: new Set([...a.served, ...b.served]),
    failed: new Map([...a.failed, ...b.failed]),
  };
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

export { EVENTING, SOURCES, MESSAGING };
