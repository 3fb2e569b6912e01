import type { Logger } from '@eventing/runtime';
import { KubeApiError, type KubeClient } from '../client/kube-client';
import { collectionPath, LeaseKind, objectPath } from '../client/kinds';
import { sleep } from '../list-watch/backoff';

/** Options of a LeaderElector; the durations are client-go's defaults. */
export interface LeaderElectorOptions {
  /** The Lease's namespace and name. */
  namespace: string;
  name: string;
  /** Who this candidate is (unique per process: pod name + a random suffix). */
  identity: string;
  /** How long a holder's lease lasts after its last renewal, as other candidates see it. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up leading. Default 10 s. */
  renewDeadlineMs?: number;
  /** The time between two attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** Called when this candidate starts leading; `lost` aborts when it stops. */
  onStartedLeading?: (lost: AbortSignal) => void;
  /** Called when this candidate stops leading (lost the lease, or stopped). */
  onStoppedLeading?: () => void;
  /** Called whenever the observed holder changes (empty when nobody holds it). */
  onNewLeader?: (identity: string) => void;
  logger?: Logger;
}

/** The spec of a coordination.k8s.io/v1 Lease. */
interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A MicroTime: RFC 3339 with six fractional digits, as the API server parses it. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's: candidates try every retry
 * period; the holder renews, and gives up leading when it could not renew within the renew deadline;
 * another candidate takes the lease once it has seen no change to it for a lease duration (by its own
 * clock, so clock skew does not matter). Every write carries the resourceVersion it was based on, so
 * two candidates never both win. `stop()` releases the lease (empty holder) for a successor to take
 * over at once.
 */
export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private lease: Lease | undefined;
  /** The last record seen and when (our clock) it was first seen. */
  private observed: { spec: string; at: number; holder: string } | undefined;
  private leading: AbortController | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectorOptions,
  ) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.leaseDurationMs <= this.renewDeadlineMs)
      throw new Error('leader election: leaseDuration must be greater than renewDeadline');
    if (this.renewDeadlineMs <= this.retryPeriodMs)
      throw new Error('leader election: renewDeadline must be greater than retryPeriod');
    if (!options.identity) throw new Error('leader election: identity is required');
    this.logger = options.logger ?? quiet;
  }

  /** Whether this candidate leads now. */
  get isLeader(): boolean {
    return this.leading !== undefined;
  }

  /** The holder last seen on the Lease ('' when none). */
  get leader(): string {
    return this.observed?.holder ?? '';
  }

  /** Starts campaigning (once). */
  start(): this {
    this.loop ??= this.run();
    return this;
  }

  /** Stops campaigning; a leader stops leading and releases the Lease. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      // Campaign until this candidate holds the lease.
      while (!signal.aborted && !(await this.attempt(this.leaseDurationMs)))
        await sleep(this.retryPeriodMs * (1 + Math.random() * 0.2), signal);
      if (signal.aborted) break;
      this.startLeading();
      // Renew every retry period; give up once no renewal worked within the renew deadline.
      let renewed = Date.now();
      while (!signal.aborted) {
        await sleep(this.retryPeriodMs, signal);
        if (signal.aborted) break;
        const left = this.renewDeadlineMs - (Date.now() - renewed);
        if (left > 0 && (await this.attempt(left))) {
          renewed = Date.now();
          continue;
        }
        if (Date.now() - renewed >= this.renewDeadlineMs) {
          this.logger.warn({ lease: this.leaseName(), identity: this.options.identity }, 'lost the lease');
          break;
        }
      }
      if (signal.aborted) await this.release();
      this.stopLeading();
    }
  }

  /** One acquire-or-renew, given at most `timeoutMs`; resolves whether this candidate holds the lease. */
  private async attempt(timeoutMs: number): Promise<boolean> {
    const signal = AbortSignal.timeout(Math.max(1, timeoutMs));
    try {
      return await this.tryAcquireOrRenew(signal);
    } catch (err) {
      this.logger.warn(
        { lease: this.leaseName(), identity: this.options.identity, error: (err as Error).message },
        'leader election request failed',
      );
      return false;
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = Date.now();
    const me = this.options.identity;
    // The holder renews straight away from the copy it wrote last; a conflict sends it to read again.
    if (this.isLeader && this.lease !== undefined && this.lease.spec.holderIdentity === me) {
      const renewed = await this.write(
        { ...this.lease, spec: { ...this.lease.spec, renewTime: microTime(now) } },
        signal,
      );
      if (renewed) return true;
    }
    const path = objectPath(LeaseKind, this.options.namespace, this.options.name);
    const response = await this.client.request('GET', path, { purpose: 'get', signal });
    if (response.status === 404) return this.create(now, signal);
    if (response.status !== 200) throw KubeApiError.of('GET', path, response);
    const lease = response.body as Lease;
    lease.spec ??= {};
    this.observe(lease.spec, now);
    const holder = lease.spec.holderIdentity ?? '';
    const observedAt = this.observed?.at ?? now;
    if (holder !== '' && holder !== me && now < observedAt + this.leaseDurationMs) return false;
    const spec: LeaseSpec = {
      holderIdentity: me,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: holder === me ? lease.spec.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (lease.spec.leaseTransitions ?? 0) + (holder === me ? 0 : 1),
    };
    return this.write({ ...lease, spec }, signal);
  }

  private async create(now: number, signal: AbortSignal): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      },
    };
    const path = collectionPath(LeaseKind, namespace);
    const response = await this.client.request('POST', path, { purpose: 'write', body: lease, signal });
    if (response.status === 409) return false;
    if (response.status !== 201 && response.status !== 200) throw KubeApiError.of('POST', path, response);
    this.lease = response.body as Lease;
    this.observe(this.lease.spec, now);
    return true;
  }

  /** Writes the Lease with the resourceVersion it carries; false on a conflict. */
  private async write(lease: Lease, signal: AbortSignal): Promise<boolean> {
    const path = objectPath(LeaseKind, this.options.namespace, this.options.name);
    const response = await this.client.request('PUT', path, { purpose: 'write', body: lease, signal });
    if (response.status === 409) return false;
    if (response.status !== 200) throw KubeApiError.of('PUT', path, response);
    this.lease = response.body as Lease;
    this.observe(this.lease.spec, Date.now());
    return true;
  }

  /** Empties the holder so a successor need not wait a lease duration; best effort. */
  private async release(): Promise<void> {
    const lease = this.lease;
    if (lease === undefined || lease.spec.holderIdentity !== this.options.identity) return;
    const now = microTime(Date.now());
    try {
      await this.write(
        {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
          },
        },
        AbortSignal.timeout(this.renewDeadlineMs),
      );
    } catch (err) {
      this.logger.warn(
        { lease: this.leaseName(), error: (err as Error).message },
        'releasing the lease failed',
      );
    }
  }

  private observe(spec: LeaseSpec, now: number): void {
    const serialized = JSON.stringify(spec);
    if (this.observed?.spec === serialized) return;
    const holder = spec.holderIdentity ?? '';
    const changedHolder = this.observed?.holder !== holder;
    this.observed = { spec: serialized, at: now, holder };
    if (changedHolder) this.call('onNewLeader', () => this.options.onNewLeader?.(holder));
  }

  private startLeading(): void {
    this.leading = new AbortController();
    this.logger.info({ lease: this.leaseName(), identity: this.options.identity }, 'started leading');
    const signal = this.leading.signal;
    this.call('onStartedLeading', () => this.options.onStartedLeading?.(signal));
  }

  private stopLeading(): void {
    const leading = this.leading;
    if (leading === undefined) return;
    this.leading = undefined;
    leading.abort();
    this.logger.info({ lease: this.leaseName(), identity: this.options.identity }, 'stopped leading');
    this.call('onStoppedLeading', () => this.options.onStoppedLeading?.());
  }

  /** Runs a callback; one that throws is logged and never stops the election. */
  private call(name: string, callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.logger.error(
        { lease: this.leaseName(), callback: name, error: (err as Error).message },
        'callback threw',
      );
    }
  }

  private leaseName(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }
}
