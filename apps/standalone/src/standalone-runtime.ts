import { watch, type FSWatcher } from 'node:fs';
import type { Resource } from '@eventing/api';
import { BrokerDataPlane, CHANNELS_PATH } from '@eventing/broker';
import { MemoryChannelBackend } from '@eventing/channels';
import { Dispatcher } from '@eventing/delivery';
import { PingScheduler, nextRuns } from '@eventing/sources';
import {
  Controller,
  MemoryResourceStore,
  loadResourceDir,
  resourceKey,
  groupOf,
  type LoadProblem,
  type ReadyReport,
} from '@eventing/reconciler';
import type { PingSchedule } from '@eventing/contract';
import type { Logger } from '@eventing/runtime';
import { EventingMetrics, type DeliveryOutcomeKind } from '@eventing/observability';
import type { DeliveryOutcome } from '@eventing/delivery';
import type { StandaloneOptions } from './options';
import { SINKS_PREFIX } from './builtin-sinks';

/**
 * Standalone mode: loads resource YAML from a folder, reconciles it, runs the data plane in-process
 * with the memory channel, and applies edits to the folder while running.
 */
export class StandaloneRuntime {
  readonly backend: MemoryChannelBackend;
  readonly metrics = new EventingMetrics();
  readonly dispatcher = new Dispatcher({ connectionsPerOrigin: 128 });
  readonly dataPlane: BrokerDataPlane;
  private readonly store = new MemoryResourceStore();
  private readonly controller: Controller;
  private readonly ping: PingScheduler;
  private readonly printed = new Map<string, string>();
  private addresses = new Map<string, string>();
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
    this.backend = new MemoryChannelBackend({ capacityPerSubscription: options.queueCapacity });
    this.dataPlane = new BrokerDataPlane({
      backend: this.backend,
      dispatcher: this.dispatcher,
      maxBodyBytes: options.maxBodyBytes,
      maxTtl: options.maxTtl,
      defaultMaxInFlight: options.maxInFlight,
      maxInFlightTotal: options.maxInFlightTotal,
      brokerUrl: (namespace, name) => `${this.baseUrl}/${namespace}/${name}`,
      onIngress: (r) => {
        if (r.kind === 'broker' && r.namespace !== undefined && r.name !== undefined) {
          this.metrics.ingressResult(r.namespace, r.name, r.eventType ?? '', r.status);
        }
      },
      onChannelDelivery: (s, event, outcome) => {
        this.metrics.subscriptionDelivery(
          s.namespace,
          s.name,
          outcome.status,
          outcomeKind(outcome, s.deadLetterUri),
        );
        if (outcome.kind === 'failed')
          this.log.error(
            { subscription: `${s.namespace}/${s.name}`, id: event.attributes.id, reason: outcome.reason },
            'delivery failed',
          );
      },
      onDelivery: (trigger, event, outcome) => {
        this.metrics.triggerDelivery(
          trigger.namespace,
          trigger.broker,
          trigger.name,
          outcome.status,
          outcomeKind(outcome, trigger.deadLetterUri),
        );
        const fields = {
          trigger: `${trigger.namespace}/${trigger.name}`,
          id: event.attributes.id,
          attempts: outcome.attempts,
          status: outcome.status,
        };
        if (outcome.kind === 'dead-lettered')
          this.log.warn(fields, 'delivery failed; event sent to the dead-letter sink');
        else if (outcome.kind === 'failed')
          this.log.error({ ...fields, reason: outcome.reason }, 'delivery failed');
      },
    });
    this.controller = new Controller(this.store, {
      ingressUrl: (namespace, name) => `${this.baseUrl}/${namespace}/${name}`,
      channelUrl: (namespace, name) => `${this.baseUrl}${CHANNELS_PATH}${namespace}/${name}`,
      addressBook: { lookup: (namespace, name) => this.lookupAddress(namespace, name) },
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
    await this.reload();
    this.loaded = true;
    if (this.options.watch) {
      this.watcher = watch(this.options.configDir, { recursive: true }, () => {
        if (this.reloadTimer) clearTimeout(this.reloadTimer);
        this.reloadTimer = setTimeout(() => void this.reload(), 200);
      });
    }
  }

  /** Re-reads the folder and applies the difference. Calls are serialised. */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(
      () => this.reloadNow(),
      () => this.reloadNow(),
    );
    return this.reloading;
  }

  async stop(): Promise<void> {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.watcher?.close();
    this.ping.stop();
    await this.reloading.catch(() => undefined);
    const queued = this.backend.pending();
    if (queued > 0) this.print(`…  delivering ${queued} queued event(s) before exiting (up to 30 s)`);
    const drained = await this.dataPlane.close(30_000);
    if (!drained)
      this.print(`✗  ${this.backend.pending()} event(s) were still undelivered when the grace period ended`);
    await this.backend.close();
    await this.dispatcher.close();
  }

  private lookupAddress(namespace: string, name: string): string | undefined {
    const url =
      this.options.services.get(`${name}.${namespace}`) ?? this.addresses.get(`${namespace}/${name}`);
    if (url?.startsWith('builtin:'))
      return `${this.baseUrl}${SINKS_PREFIX}${url.slice('builtin:'.length)}/${name}`;
    return url;
  }

  private async reloadNow(): Promise<void> {
    const loaded = loadResourceDir(this.options.configDir);
    this.reportProblems(loaded.problems);
    this.addresses = loaded.addresses;
    const keep = new Set<string>();
    for (const resource of loaded.resources) {
      keep.add(resourceKey(resource));
      this.store.apply(resource);
    }
    for (const existing of this.store.all()) {
      if (keep.has(resourceKey(existing))) continue;
      const { namespace = 'default', name = '' } = existing.metadata;
      this.store.delete(groupOf(existing.apiVersion), existing.kind, namespace, name);
      this.printed.delete(printKey(existing));
      this.print(`-  ${existing.kind} ${namespace}/${name} removed`);
    }
    const out = this.controller.reconcile();
    await this.dataPlane.apply(out.contract);
    this.applySchedules(out.schedules);
    this.reportReady(out.ready);
  }

  private applySchedules(schedules: PingSchedule[]): void {
    const next = new Map(schedules.map((s) => [`${s.namespace}/${s.name}`, s]));
    for (const key of this.schedules.keys()) if (!next.has(key)) this.ping.remove(key);
    for (const [key, spec] of next) {
      const prev = this.schedules.get(key);
      if (prev === undefined || JSON.stringify(prev) !== JSON.stringify(spec)) this.ping.upsert(key, spec);
    }
    this.schedules = next;
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
      const resource = this.store.get(groupFor(r.kind), r.kind, r.namespace, r.name);
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

/** The outcome label: a failure with a dead-letter sink is held and retried, without one it is final. */
function outcomeKind(outcome: DeliveryOutcome, deadLetterUri: string | undefined): DeliveryOutcomeKind {
  if (outcome.kind === 'delivered') return 'delivered';
  if (outcome.kind === 'dead-lettered') return 'dead_lettered';
  return deadLetterUri !== undefined ? 'held' : 'failed';
}

function printKey(r: Resource): string {
  return `${r.kind}/${r.metadata.namespace ?? 'default'}/${r.metadata.name ?? ''}`;
}

function groupFor(kind: string): string {
  if (kind === 'PingSource') return 'sources.knative.dev';
  if (kind === 'Channel' || kind === 'InMemoryChannel' || kind === 'Subscription')
    return 'messaging.knative.dev';
  return 'eventing.knative.dev';
}

function describe(resource: Resource, schedule: PingSchedule | undefined): string {
  const status = resource.status as
    | {
        address?: { url?: string };
        subscriberUri?: string;
        physicalSubscription?: { subscriberUri?: string };
      }
    | undefined;
  if (status?.address?.url) return `  ${status.address.url}`;
  const subscriber = status?.subscriberUri ?? status?.physicalSubscription?.subscriberUri;
  if (subscriber) return `  → ${subscriber}`;
  if (schedule) {
    const [next] = nextRuns(schedule.schedule, schedule.timezone, 1);
    return `  → ${schedule.sinkUri}${next ? `  (next ping ${next.toISOString()})` : ''}`;
  }
  return '';
}
