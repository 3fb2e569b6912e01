import { watch, type FSWatcher } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { isEnabled, type EventType, type Resource } from '@eventing/api';
import { BrokerDataPlane, EventTypeRecorder, outcomeObserver, pathOf } from '@eventing/broker';
import { MemoryChannelBackend, backendProvisioner, type ChannelBackend } from '@eventing/channels';
import type { KafkaChannelBackend } from '@eventing/channels/kafka';
import type { JetStreamChannelBackend } from '@eventing/channels/jetstream';
import { Dispatcher } from '@eventing/delivery';
import { PingScheduler, nextRuns } from '@eventing/sources';
import {
  Controller,
  EventTypeRegistrar,
  MemoryResourceStore,
  capabilitiesOf,
  FolderSource,
  configureSources,
  type LoadProblem,
  type LoadResult,
  type ReadyReport,
} from '@eventing/reconciler';
import type { ApplyReport, PingSchedule } from '@eventing/contract';
import type { Logger } from '@eventing/runtime';
import { ControlPlaneMetrics, EventingMetrics } from '@eventing/observability';
import type { StandaloneOptions } from './options';
import { storeConnections, storeKinds, type StoreConnections } from './stores';
import { DeploymentRunner, apiServerOf } from './deployment-runner';

type Loaded = LoadResult;

/**
 * Standalone mode: loads resource YAML from a folder, reconciles it, runs the data plane in-process
 * with the memory channel, and applies edits to the folder while running. One resource that fails
 * (to validate, reconcile, apply or schedule) is reported not Ready with its reason; the rest runs.
 */
export class StandaloneRuntime {
  readonly backend: MemoryChannelBackend;
  /** Durable stores given on the command line or by ConfigMaps in the folder (read at start). */
  readonly stores: { kafka?: KafkaChannelBackend; jetstream?: JetStreamChannelBackend } = {};
  /** Found by `start` in the first load's ConfigMaps (or given on the command line). */
  private connections: StoreConnections = {};
  readonly metrics = new EventingMetrics();
  /** The controller's metrics, as apps/controller exposes them, on the same registry. */
  readonly controlPlane = new ControlPlaneMetrics({ registry: this.metrics.registry, defaultMetrics: false });
  readonly dispatcher: Dispatcher;
  readonly dataPlane: BrokerDataPlane;
  private readonly store = new MemoryResourceStore();
  private readonly folder: FolderSource;
  private generation = 0;
  private readonly controller: Controller;
  private readonly ping: PingScheduler;
  /** Runs the Deployments sources own: a ContainerSource's commands, an ApiServerSource's adapter. */
  private readonly deployments: DeploymentRunner;
  /** Types of the events brokers and channels accept, made EventTypes when `eventtype-auto-create` is on. */
  readonly eventTypes: EventTypeRecorder;
  private readonly registrar: EventTypeRegistrar;
  private readonly printed = new Map<string, string>();
  private addresses = new Map<string, string>();
  private configMaps: ReadonlyMap<string, Record<string, string>> = new Map();
  private schedules = new Map<string, PingSchedule>();
  private watcher?: FSWatcher;
  private reloadTimer?: NodeJS.Timeout;
  private reloading: Promise<void> = Promise.resolve();
  private baseUrl = '';
  private loaded = false;

  constructor(
    private readonly options: StandaloneOptions,
    private readonly log: Logger,
    private readonly print: (line: string) => void,
  ) {
    this.backend = new MemoryChannelBackend({
      capacityPerSubscription: options.queueCapacity,
      nackDelayMs: options.redeliveryDelayMs,
      maxNackDelayMs: options.redeliveryMaxDelayMs,
    });
    this.folder = new FolderSource(options.configDir, this.store);
    this.registrar = new EventTypeRegistrar(this.store);
    this.eventTypes = new EventTypeRecorder({
      sink: (batch) => this.registerEventTypes(batch),
      onError: (error) =>
        this.log.error({ error: error.message }, 'EventType auto-creation failed; trying again'),
    });
    this.dispatcher = new Dispatcher({
      connectionsPerOrigin: 128,
      headerEncoding: options.headerEncoding ?? 'upstream',
    });
    this.dataPlane = new BrokerDataPlane({
      backend: this.backend,
      stores: this.stores,
      dispatcher: this.dispatcher,
      durableStoresDeletedByReconcilers: true,
      maxBodyBytes: options.maxBodyBytes,
      maxTtl: options.maxTtl,
      defaultMaxInFlight: options.maxInFlight,
      maxInFlightTotal: options.maxInFlightTotal,
      brokerUrl: (namespace, name) => `${this.baseUrl}${pathOf('broker', namespace, name)}`,
      onIngress: (r) => {
        if (r.kind !== 'broker' || r.namespace === undefined || r.name === undefined) return;
        // A path that names no served broker never becomes a label value, whatever the status.
        const served = this.dataPlane.hasBroker(r.namespace, r.name);
        this.metrics.ingressResult(r.namespace, r.name, r.eventType ?? '', r.status, r.seconds, served);
      },
      observer: outcomeObserver(this.metrics, this.log),
      eventTypes: this.eventTypes,
    });
    this.metrics.trackInFlight(() => this.dataPlane.inFlight());
    this.metrics.trackBacklog(() => this.dataPlane.backlog());
    this.controller = new Controller(this.store, {
      ingressUrl: (namespace, name) => `${this.baseUrl}${pathOf('broker', namespace, name)}`,
      channelUrl: (namespace, name) => `${this.baseUrl}${pathOf('channel', namespace, name)}`,
      addressBook: { lookup: (namespace, name) => this.lookupAddress(namespace, name) },
      capabilities: () => capabilitiesOf(storeKinds(this.connections)),
      configMap: (namespace, name) => this.configMaps.get(`${namespace}/${name}`),
      // The in-process data plane and scheduler are the sinks: what they report feeds the conditions.
      contract: {
        publish: async (body) => {
          const applied = await this.dataPlane.apply({ ...body, generation: ++this.generation });
          this.noteApply(applied);
          return applied;
        },
      },
      schedules: { publish: (schedules) => Promise.resolve(this.applySchedules(schedules)) },
      // Durable stores are created and removed by the reconcilers, over the stores the data plane uses.
      provisioner: (kind) => {
        const backend = this.stores[kind];
        return backend === undefined ? undefined : backendProvisioner(backend);
      },
      onError: (key, error) =>
        this.log.error(
          { key, error: error instanceof Error ? error.message : String(error) },
          'reconcile failed',
        ),
      onReconciled: this.controlPlane.onReconciled,
    });
    // The only replica: it always leads. It makes no Kubernetes API requests.
    this.controlPlane.setLeader(true);
    this.controlPlane.trackQueueDepth(() => this.controller.depth);
    this.deployments = new DeploymentRunner({
      store: this.store,
      configDir: options.configDir,
      log: this.log,
      print: this.print,
      apiServerUrl: () => this.baseUrl,
      // What runs changed a status: print the Ready conditions once the controller settled.
      onStatus: () =>
        void this.controller.idle().then(() => this.reportReady(this.controller.readyReports())),
      ...(options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {}),
    });
    this.ping = new PingScheduler({
      send: async (event, sinkUri) => {
        const sent = await this.dispatcher.send(sinkUri, event, {}, { format: 'binary', timeoutMs: 10_000 });
        return sent.ok
          ? { ok: true, status: sent.status }
          : { ok: false, status: sent.status, reason: sent.reason };
      },
      logger: this.log,
    });
  }

  /** Whether the first load has been applied. */
  get ready(): boolean {
    return this.loaded;
  }

  /** Loads the folder, applies it, and starts watching; `baseUrl` is where ingress listens. */
  async start(baseUrl: string): Promise<void> {
    this.baseUrl = baseUrl;
    // Watch before the first load: an edit made while it runs triggers another reload (reloads are
    // serialised and read the whole folder), so nothing written after start is missed.
    if (this.options.watch) {
      this.watcher = watch(this.options.configDir, { recursive: true }, () => {
        if (this.reloadTimer) clearTimeout(this.reloadTimer);
        this.reloadTimer = setTimeout(() => void this.reload(), 200);
      });
      this.watcher.on('error', (err) =>
        this.print(`✗  watching ${this.options.configDir} failed: ${err.message}`),
      );
    }
    // One read of the folder: durable stores are found in it once (the command line, else its
    // ConfigMaps), and the same load is the first one applied.
    const first = this.folder.read();
    this.connections = storeConnections(this.options, first.configMaps);
    if (this.connections.kafka)
      this.print(
        `…  Kafka at ${this.connections.kafka.bootstrap.join(',')} (from ${this.connections.kafka.from})`,
      );
    if (this.connections.nats)
      this.print(
        `…  NATS JetStream at ${this.connections.nats.servers.join(',')} (from ${this.connections.nats.from})`,
      );
    // Reloads wait for the stores, and the first load is queued before any edit's reload.
    this.reloading = this.openStores();
    // ApiServerSources name where their events come from: this process, or the cluster they watch.
    configureSources({
      apiServerUrl: this.options.kubeconfig !== undefined ? apiServerOf(this.options.kubeconfig) : baseUrl,
    });
    this.deployments.start();
    this.controller.start();
    await this.reload(first);
    this.loaded = true;
  }

  /**
   * Opens the durable stores that were given. Their clients are loaded only then, so a process
   * without Kafka or NATS never loads either client. The data plane reads `stores` when it applies.
   */
  private async openStores(): Promise<void> {
    const log = this.log;
    const storeError = (store: string) => (error: unknown, context: string) =>
      log.warn(
        { store, context, error: error instanceof Error ? error.message : String(error) },
        'store error',
      );
    if (this.connections.kafka) {
      const { KafkaChannelBackend } = await import('@eventing/channels/kafka');
      this.stores.kafka = new KafkaChannelBackend({
        bootstrap: this.connections.kafka.bootstrap,
        clientId: 'eventing-standalone',
        onError: storeError('kafka'),
        onMalformedRecord: (r) =>
          log.warn(
            { store: 'kafka', record: r as unknown as object },
            'a record that is not a CloudEvent was skipped',
          ),
      });
    }
    if (this.connections.nats) {
      const { JetStreamChannelBackend } = await import('@eventing/channels/jetstream');
      this.stores.jetstream = new JetStreamChannelBackend({
        servers: this.connections.nats.servers,
        name: 'eventing-standalone',
        onMalformedMessage: (m) =>
          log.warn(
            { store: 'jetstream', message: m as unknown as object },
            'a message that is not a CloudEvent was skipped',
          ),
      });
    }
  }

  /**
   * Re-reads the folder and applies the difference. Calls are serialised and never reject: a failure
   * is printed and counted, the last good state keeps serving, and the next reload runs as usual.
   * `loaded` is a load already read (the first one, at start) to apply instead of reading again.
   */
  reload(loaded?: Loaded): Promise<void> {
    this.reloading = this.reloading.then(() =>
      this.reloadNow(loaded).catch((err: Error) => {
        this.metrics.applyFailed('reload_error');
        this.log.error({ error: err.message }, 'reload failed; the last good state keeps serving');
        this.print(
          `✗  reload failed: ${err.message} (the last good state keeps serving; fix the folder and save again)`,
        );
      }),
    );
    return this.reloading;
  }

  async stop(): Promise<void> {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.watcher?.close();
    this.eventTypes.close();
    await this.reloading;
    await this.deployments.stop();
    await this.controller.stop();
    this.ping.stop();
    const queued = this.dataPlane.pending();
    if (queued > 0) this.print(`…  delivering ${queued} queued event(s) before exiting (up to 30 s)`);
    // Durable stores keep what is left for the next start; memory counts it as discarded.
    const drained = await this.dataPlane.close(30_000);
    if (!drained)
      this.print(
        '✗  the grace period ended with undelivered events; they were discarded and counted as eventing_events_discarded_total{reason="shutdown"}',
      );
    await this.backend.close();
    await Promise.all(Object.values(this.stores).map((s: ChannelBackend) => s.close()));
    await this.dispatcher.close();
  }

  private lookupAddress(namespace: string, name: string): string | undefined {
    const url =
      this.options.services.get(`${name}.${namespace}`) ?? this.addresses.get(`${namespace}/${name}`);
    if (url?.startsWith('builtin:'))
      return `${this.baseUrl}${pathOf('sink', url.slice('builtin:'.length), name)}`;
    return url;
  }

  private async reloadNow(loaded: Loaded = this.folder.read()): Promise<void> {
    const synced = this.folder.sync(loaded);
    this.eventTypes.setEnabled(isEnabled(loaded.features, 'eventtype-auto-create'));
    this.reportProblems(synced.problems);
    const addressesChanged = !isDeepStrictEqual(this.addresses, synced.addresses);
    this.addresses = synced.addresses;
    this.configMaps = synced.configMaps;
    for (const existing of synced.removed) {
      const { namespace = 'default', name = '' } = existing.metadata;
      this.printed.delete(printKey(existing));
      this.print(`-  ${existing.kind} ${namespace}/${name} removed`);
    }
    // What the store does not see (the address book, broker configs) re-queues everything.
    if (synced.configChanged || addressesChanged) this.controller.requeueAll();
    // The controller reconciles what changed, publishes to the data plane and the scheduler, and
    // reconciles again against what they reported, so every condition reports what was checked.
    await this.controller.idle();
    this.reportReady(this.controller.readyReports());
  }

  /**
   * The EventTypes of the store (all, or those of one namespace and one broker or channel name), as
   * `GET /eventtypes[?namespace=&name=]` answers.
   */
  listEventTypes(filter: { namespace?: string; name?: string } = {}): EventType[] {
    return (this.store.list('EventType', 'eventing.knative.dev') as EventType[]).filter(
      (et) =>
        (filter.namespace === undefined || et.metadata.namespace === filter.namespace) &&
        (filter.name === undefined || et.spec.reference?.name === filter.name),
    );
  }

  /** Creates the observed types' EventTypes in the store, then prints them as every resource is. */
  private async registerEventTypes(batch: Parameters<EventTypeRegistrar['register']>[0]): Promise<void> {
    const report = await this.registrar.register(batch);
    if (report.created.length === 0) return;
    this.log.info({ created: report.created }, 'EventTypes auto-created');
    await this.controller.idle();
    this.reportReady(this.controller.readyReports());
  }

  private noteApply(report: ApplyReport): void {
    this.metrics.contractApplied(report.generation);
    const whole = report.failed.get('');
    if (whole !== undefined) {
      this.metrics.applyFailed('apply_error');
      this.log.error({ generation: report.generation, error: whole }, 'contract apply failed');
    }
    for (const [uid, reason] of report.failed) {
      if (uid === '') continue;
      this.metrics.applyFailed('resource_failed');
      this.log.error(
        { generation: report.generation, uid, error: reason },
        'a resource could not be applied',
      );
    }
  }

  /** Makes the scheduler match; returns what it scheduled and what it refused, by PingSource uid. */
  private applySchedules(schedules: PingSchedule[]): ApplyReport {
    this.schedules = new Map(schedules.map((s) => [`${s.namespace}/${s.name}`, s]));
    return this.ping.sync(schedules);
  }

  private reportProblems(problems: LoadProblem[]): void {
    for (const p of problems) {
      const what = [p.kind, p.name].filter(Boolean).join(' ');
      const field = p.path ? `${p.path}: ` : '';
      this.print(`✗  ${p.file}${what ? `: ${what}` : ''}: ${field}${p.message}`);
    }
  }

  private reportReady(reports: ReadyReport[]): void {
    for (const r of reports) {
      const resource = this.store.get(r.group, r.kind, r.namespace, r.name);
      const schedule = r.kind === 'PingSource' ? this.schedules.get(`${r.namespace}/${r.name}`) : undefined;
      const detail = resource ? describe(resource, schedule) : '';
      const line =
        r.status === 'True'
          ? `✓  ${r.kind} ${r.namespace}/${r.name} Ready${detail}`
          : `…  ${r.kind} ${r.namespace}/${r.name} Ready=${r.status}${r.reason ? ` (${r.reason})` : ''}${r.message ? `: ${r.message}` : ''}`;
      const key = `${r.kind}/${r.namespace}/${r.name}`;
      if (this.printed.get(key) === line) continue;
      this.printed.set(key, line);
      this.print(line);
    }
  }
}

function printKey(r: Resource): string {
  return `${r.kind}/${r.metadata.namespace ?? 'default'}/${r.metadata.name ?? ''}`;
}

function describe(resource: Resource, schedule: PingSchedule | undefined): string {
  const status = resource.status as
    | {
        address?: { url?: string };
        subscriberUri?: string;
        physicalSubscription?: { subscriberUri?: string };
      }
    | undefined;
  if (resource.kind === 'EventType') {
    const spec = (resource as EventType).spec;
    const attribute = (n: string) => spec.attributes?.find((a) => a.name === n)?.value ?? '';
    const ref = spec.reference ? `  (${spec.reference.kind} ${spec.reference.name})` : '';
    return `  ${attribute('type') || spec.type || ''} from ${attribute('source') || spec.source || ''}${ref}`;
  }
  if (status?.address?.url) return `  ${status.address.url}`;
  const subscriber = status?.subscriberUri ?? status?.physicalSubscription?.subscriberUri;
  if (subscriber) return `  → ${subscriber}`;
  if (schedule) {
    const [next] = nextRuns(schedule.schedule, schedule.timezone, 1);
    return `  → ${schedule.sinkUri}${next ? `  (next ping ${next.toISOString()})` : ''}`;
  }
  return '';
}
