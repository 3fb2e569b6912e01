import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { watchSchedulesFile, type PingSchedule } from '@eventing/contract';
import { KubeClient, LeaderElector } from '@eventing/kube';
import { PING_SOURCE_GROUP, SourceMetrics } from '@eventing/observability';
import { createLogger, type Logger, type LogLevel, type Readiness } from '@eventing/runtime';
import { SourceClient, type SourceSink } from '@eventing/source-runtime';
import { ClaimedPingScheduler, MemoryTickLedger, type TickLedger } from '@eventing/sources';
import { LeaseTickLedger } from './lease-ledger';

/** What the adapter is configured with (see settings.ts for the environment). */
export interface PingSourceSettings {
  schedulesPath: string;
  /** `kubernetes`: leader election and the tick ledger on Leases; `none`: one replica, ledger in memory. */
  coordination: 'kubernetes' | 'none';
  /** A kubeconfig file; '' = the in-cluster service account. */
  kubeconfig: string;
  systemNamespace: string;
  leaseName: string;
  /** Who this replica is on the Lease; '' = the host name (the pod name). */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  jitterMs: number;
  catchUpMs: number;
  shutdownGraceMs: number;
  logLevel: LogLevel;
}

/**
 * The multi-tenant PingSource adapter: every PingSource of the schedules file (hot-reloaded), sent
 * by whichever replica leads the Lease, each tick once across replicas thanks to the tick ledger.
 */
export class PingSourceAdapter implements Readiness {
  readonly metrics = new SourceMetrics();
  readonly log: Logger;
  private readonly client: SourceClient;
  private readonly scheduler: ClaimedPingScheduler;
  private readonly elector: LeaderElector | undefined;
  private readonly watcher: { close(): void };
  private readonly sinks = new Map<string, { fingerprint: string; sink: SourceSink }>();
  private readonly running = new Set<Promise<void>>();
  private readonly standalone = new AbortController();
  private loaded = false;
  private closed = false;
  readonly identity: string;

  constructor(private readonly settings: PingSourceSettings) {
    this.log = createLogger({ service: 'ping-source', level: settings.logLevel });
    this.identity = settings.identity || hostname();
    this.client = new SourceClient({ resourceGroup: PING_SOURCE_GROUP, metrics: this.metrics });
    let ledger: TickLedger;
    if (settings.coordination === 'kubernetes') {
      const kc = new KubeConfig();
      if (settings.kubeconfig !== '') kc.loadFromFile(settings.kubeconfig);
      else kc.loadFromCluster();
      const kube = new KubeClient(kc, { userAgent: 'ping-source' });
      ledger = new LeaseTickLedger(
        kube,
        settings.systemNamespace,
        `${settings.leaseName}-ticks`,
        this.identity,
      );
      // The identity is the pod's name without a random suffix: a container restarted in its pod
      // takes its own Lease back at once instead of after a lease duration; the ledger, not the
      // Lease, is what keeps two senders apart.
      this.elector = new LeaderElector(kube, {
        namespace: settings.systemNamespace,
        name: settings.leaseName,
        identity: this.identity,
        leaseDurationMs: settings.leaseDurationMs,
        renewDeadlineMs: settings.renewDeadlineMs,
        retryPeriodMs: settings.retryPeriodMs,
        onStartedLeading: (lost) => this.lead(lost),
        logger: this.log,
      });
    } else {
      ledger = new MemoryTickLedger();
    }
    this.scheduler = new ClaimedPingScheduler({
      ledger,
      jitterMs: settings.jitterMs,
      catchUpMs: settings.catchUpMs,
      send: (spec, event, signal) => this.send(spec, event, signal),
      logger: this.log,
    });
    this.watcher = watchSchedulesFile(
      settings.schedulesPath,
      (doc) => this.apply(doc.schedules, doc.generation),
      (err) => this.log.error({ error: err.message }, 'schedules file refused; the last good schedules stay'),
    );
    if (this.elector) this.elector.start();
    else this.lead(this.standalone.signal);
  }

  /** Requests other than the admin paths: this adapter receives no events. */
  readonly handler = (_req: IncomingMessage, res: ServerResponse): void => {
    res.statusCode = 404;
    res.setHeader('content-type', 'text/plain');
    res.end('ping-source receives no events: it only sends them\n');
  };

  get registry() {
    return this.metrics.registry;
  }

  /** Whether this replica sends now. */
  get leading(): boolean {
    return this.elector ? this.elector.isLeader : !this.closed;
  }

  readiness(): { ready: boolean; reason?: string } {
    if (this.closed) return { ready: false, reason: 'shutting down' };
    if (!this.loaded)
      return { ready: false, reason: `schedules not read yet from ${this.settings.schedulesPath}` };
    return { ready: true };
  }

  /** Stops sending, lets sends in flight finish (shutdown grace), then releases the Lease. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watcher.close();
    this.standalone.abort();
    // Stop planning first; the Lease is kept until the sends in flight are done, so no successor
    // starts while this replica still sends (the ledger keeps it from re-sending them anyway).
    await this.scheduler.stop(this.settings.shutdownGraceMs);
    await Promise.allSettled([...this.running]);
    await this.elector?.stop();
    await this.client.close();
  }

  private apply(schedules: PingSchedule[], generation: number): void {
    const report = this.scheduler.sync(schedules);
    for (const [uid, reason] of report.failed) this.log.warn({ uid, reason }, 'PingSource not scheduled');
    const keys = new Set(schedules.map((s) => `${s.namespace}/${s.name}`));
    for (const key of this.sinks.keys()) if (!keys.has(key)) this.sinks.delete(key);
    this.loaded = true;
    this.log.info(
      { generation, scheduled: report.served.size, refused: report.failed.size },
      'schedules applied',
    );
  }

  private lead(lost: AbortSignal): void {
    if (this.closed) return;
    this.log.info({ identity: this.identity }, 'sending PingSource events');
    const run = this.scheduler.run(lost).finally(() => {
      this.running.delete(run);
      this.log.info({ identity: this.identity }, 'no longer sending PingSource events');
    });
    this.running.add(run);
  }

  private async send(spec: PingSchedule, event: Parameters<SourceSink['send']>[0], signal: AbortSignal) {
    const key = `${spec.namespace}/${spec.name}`;
    const fingerprint = spec.sinkUri;
    let bound = this.sinks.get(key);
    if (bound?.fingerprint !== fingerprint) {
      // ceOverrides are already on the event (buildPingEvent sets them).
      bound = {
        fingerprint,
        sink: this.client.sink({ namespace: spec.namespace, name: spec.name, uri: spec.sinkUri }),
      };
      this.sinks.set(key, bound);
    }
    const result = await bound.sink.send(event, signal);
    if (!result.ok)
      this.log.warn(
        {
          pingsource: key,
          sink: spec.sinkUri,
          id: event.attributes['id'],
          status: result.status,
          attempts: result.attempts,
          reason: result.reason,
        },
        'ping event lost: every delivery attempt failed',
      );
  }
}
