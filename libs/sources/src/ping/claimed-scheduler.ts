import { createHash } from 'node:crypto';
import { parsePingSchedule, pingCronJob } from '@eventing/api';
import type { CloudEvent } from '@eventing/cloudevents';
import type { ApplyReport } from '@eventing/contract';
import type { Cron } from 'croner';
import { buildPingEvent } from './event';
import type { PingLogger } from './scheduler';
import type { PingSpec } from './types';

/**
 * Where the sends already made are remembered, shared by every replica: a cursor (ms since the
 * epoch) such that every send planned at or before it was made. Moving it is a compare-and-set on
 * the version read, so of two writers that read the same version only one moves it.
 */
export interface TickLedger {
  /** The cursor (undefined before the first claim ever) and the version to move it from. */
  read(signal?: AbortSignal): Promise<{ cursor: number | undefined; version: string }>;
  /** Moves the cursor if the ledger is still at `version`; `{ ok: false }` when another writer moved it. */
  advance(
    cursor: number,
    version: string,
    signal?: AbortSignal,
  ): Promise<{ ok: true; version: string } | { ok: false }>;
}

/** Sends one tick's event for a PingSource; retries are its own business. */
export type ClaimedPingSend = (spec: PingSpec, event: CloudEvent, signal: AbortSignal) => Promise<unknown>;

export interface ClaimedPingSchedulerOptions {
  ledger: TickLedger;
  send: ClaimedPingSend;
  /** A tick is sent 0..jitterMs after its time, the same offset on every replica. Default 500 (upstream's). */
  jitterMs?: number;
  /** Jitter offsets are multiples of this, so one claim covers many sources. Default 100. */
  slotMs?: number;
  /** Sends missed while no replica led (a restart, a failover) are made late, back to this far. Default 60 s. */
  catchUpMs?: number;
  /** A claim that fails for another reason than a conflict is tried again after this. Default 250. */
  claimRetryMs?: number;
  now?: () => number;
  logger?: PingLogger;
}

interface Entry {
  key: string;
  spec: PingSpec;
  fingerprint: string;
  cron: Cron;
  /** The next tick not yet sent, and when it is due (tick + jitter); NaN when not planned. */
  tick: number;
  at: number;
}

const quiet: PingLogger = { info() {}, warn() {} };
/** The longest single wait, so a clock change is noticed. */
const MAX_WAIT_MS = 30_000;

/**
 * Runs every PingSource of the adapter so that of any number of replicas each tick is sent once.
 *
 * Each tick of each source is due at its time plus a jitter derived from the source and the tick
 * (so every replica plans the same instants). Before sending what is due, the runner moves the
 * shared ledger's cursor to now; only a runner whose compare-and-set succeeded sends, so no tick is
 * sent twice even by two runners that both think they lead. A runner that starts (or takes over)
 * reads the cursor and first sends what was due after it and before now (at most `catchUpMs` back):
 * a restart or failover loses no tick. What is left is the time between a successful claim and the
 * request leaving (about a millisecond): a process killed exactly then loses that instant's sends.
 */
export class ClaimedPingScheduler {
  private readonly ledger: TickLedger;
  private readonly send: ClaimedPingSend;
  private readonly jitterMs: number;
  private readonly slotMs: number;
  private readonly catchUpMs: number;
  private readonly claimRetryMs: number;
  private readonly now: () => number;
  private readonly logger: PingLogger;
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The cursor as this runner knows it while it runs; undefined when not running. */
  private cursor: number | undefined;
  private wake: (() => void) | undefined;
  private sendAbort = new AbortController();
  /** Aborted by stop(): every run() ends. */
  private stopping = new AbortController();

  constructor(options: ClaimedPingSchedulerOptions) {
    this.ledger = options.ledger;
    this.send = options.send;
    this.jitterMs = options.jitterMs ?? 500;
    this.slotMs = Math.max(1, options.slotMs ?? 100);
    this.catchUpMs = options.catchUpMs ?? 60_000;
    this.claimRetryMs = options.claimRetryMs ?? 250;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? quiet;
  }

  /**
   * Makes the schedules exactly these (keyed `<namespace>/<name>`); unchanged ones keep their plan.
   * Reports, by uid, what is scheduled and what was refused and why.
   */
  sync(schedules: readonly PingSpec[]): ApplyReport {
    const next = new Map(schedules.map((s) => [`${s.namespace}/${s.name}`, s]));
    for (const [key, entry] of this.entries) {
      if (!next.has(key)) {
        entry.cron.stop();
        this.entries.delete(key);
      }
    }
    const served = new Set<string>();
    const failed = new Map<string, string>();
    for (const [key, spec] of next) {
      const uid = spec.uid ?? key;
      const parsed = parsePingSchedule(spec.schedule, spec.timezone);
      if (!parsed.ok) {
        this.entries.get(key)?.cron.stop();
        this.entries.delete(key);
        failed.set(uid, `cannot schedule: PingSource ${key}: ${parsed.error.toString()}`);
        continue;
      }
      const fingerprint = JSON.stringify(spec);
      const existing = this.entries.get(key);
      if (existing?.fingerprint === fingerprint) {
        served.add(uid);
        continue;
      }
      existing?.cron.stop();
      const entry: Entry = { key, spec, fingerprint, cron: pingCronJob(parsed.cron), tick: NaN, at: NaN };
      // A source added or changed while running starts after what is already claimed.
      if (this.cursor !== undefined) this.plan(entry, Math.max(this.cursor, this.now()));
      this.entries.set(key, entry);
      served.add(uid);
    }
    this.wake?.();
    return { generation: 0, served, failed };
  }

  /** Keys scheduled. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * The next tick of each source and when it is due (tick + jitter), planned after `after` (default
   * now) as a runner would plan it; for status output and tests.
   */
  planned(after = this.now()): { key: string; tick: Date; due: Date }[] {
    const out: { key: string; tick: Date; due: Date }[] = [];
    for (const entry of this.entries.values()) {
      const probe = { ...entry };
      this.plan(probe, after);
      if (Number.isFinite(probe.tick))
        out.push({ key: entry.key, tick: new Date(probe.tick), due: new Date(probe.at) });
    }
    return out;
  }

  /**
   * Sends every due tick until `signal` aborts (this replica stopped leading, or shuts down). Never
   * rejects: ledger errors are logged and the claim tried again.
   */
  async run(leading: AbortSignal): Promise<void> {
    const signal = AbortSignal.any([leading, this.stopping.signal]);
    let version = '';
    let synced = false;
    try {
      while (!signal.aborted) {
        if (!synced) {
          const read = await this.readLedger(signal);
          if (read === undefined) continue;
          version = read.version;
          this.start(read.cursor);
          synced = true;
        }
        const now = this.now();
        if (this.earliest() <= now) {
          const claim = await this.claim(now, version, signal);
          if (claim === 'conflict') {
            // Another replica moved the cursor: what it claimed is its to send. Read it again.
            this.logger.warn(
              { cursor: now },
              'another ping-source replica claimed ticks; following its ledger',
            );
            synced = false;
            continue;
          }
          if (claim === undefined) continue;
          version = claim;
          this.cursor = now;
          this.fireDue(now);
        }
        await this.waitUntil(this.earliest(), signal);
      }
    } finally {
      this.cursor = undefined;
      this.wake = undefined;
    }
  }

  /**
   * Stops every schedule and every run(); in-flight sends may finish for up to `graceMs`, then their
   * retries are abandoned.
   */
  async stop(graceMs = 0): Promise<void> {
    for (const entry of this.entries.values()) entry.cron.stop();
    this.entries.clear();
    this.stopping.abort();
    this.stopping = new AbortController();
    if (this.inFlight.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    this.sendAbort.abort();
    this.sendAbort = new AbortController();
  }

  /** The jitter of one tick of one source: a multiple of slotMs in [0, jitterMs], the same everywhere. */
  jitterOf(spec: PingSpec, tick: number): number {
    if (this.jitterMs <= 0) return 0;
    const slots = Math.floor(this.jitterMs / this.slotMs) + 1;
    const digest = createHash('sha1')
      .update(`${spec.uid ?? `${spec.namespace}/${spec.name}`}@${tick}`)
      .digest();
    return (digest.readUInt32BE(0) % slots) * this.slotMs;
  }

  private start(cursor: number | undefined): void {
    const now = this.now();
    let from = cursor ?? now;
    if (now - from > this.catchUpMs) {
      this.logger.warn(
        { lastClaimed: new Date(from).toISOString(), catchUpMs: this.catchUpMs },
        'ping ticks older than the catch-up window are not sent',
      );
      from = now - this.catchUpMs;
    }
    this.cursor = from;
    for (const entry of this.entries.values()) this.plan(entry, from);
  }

  /** Plans `entry`'s first send due after `after`. */
  private plan(entry: Entry, after: number): void {
    // A tick up to jitterMs before `after` may still be due after it.
    let next = entry.cron.nextRun(new Date(after - this.jitterMs - 1));
    while (next !== null) {
      const tick = next.getTime();
      const at = tick + this.jitterOf(entry.spec, tick);
      if (at > after) {
        entry.tick = tick;
        entry.at = at;
        return;
      }
      next = entry.cron.nextRun(next);
    }
    entry.tick = NaN;
    entry.at = NaN;
  }

  private earliest(): number {
    let min = Infinity;
    for (const entry of this.entries.values()) if (entry.at < min) min = entry.at;
    return min;
  }

  /** Sends every planned send due at or before `now`, oldest first per source, and plans the next. */
  private fireDue(now: number): void {
    for (const entry of this.entries.values()) {
      while (entry.at <= now) {
        this.fire(entry, entry.at, now);
        this.plan(entry, entry.at);
      }
    }
  }

  private fire(entry: Entry, at: number, now: number): void {
    // `time` is when the tick was due to be sent: now, unless it is sent late after a takeover.
    const event = buildPingEvent(entry.spec, new Date(at));
    if (now - at > this.slotMs + 1000)
      this.logger.info(
        { key: entry.key, due: new Date(at).toISOString(), id: event.attributes['id'] },
        'sending a ping tick missed while no replica led',
      );
    const sending = this.send(entry.spec, event, this.sendAbort.signal).catch((err: unknown) =>
      this.logger.warn(
        { key: entry.key, error: err instanceof Error ? err.message : String(err) },
        'ping send failed',
      ),
    );
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
  }

  private async readLedger(
    signal: AbortSignal,
  ): Promise<{ cursor: number | undefined; version: string } | undefined> {
    try {
      return await this.ledger.read(signal);
    } catch (err) {
      if (!signal.aborted) {
        this.logger.warn(
          { error: (err as Error).message },
          'reading the ping tick ledger failed; trying again',
        );
        await this.pause(this.claimRetryMs, signal);
      }
      return undefined;
    }
  }

  /** The new version, 'conflict', or undefined when the ledger could not be written (tried again later). */
  private async claim(
    cursor: number,
    version: string,
    signal: AbortSignal,
  ): Promise<string | 'conflict' | undefined> {
    try {
      const result = await this.ledger.advance(cursor, version, signal);
      return result.ok ? result.version : 'conflict';
    } catch (err) {
      if (!signal.aborted) {
        this.logger.warn(
          { error: (err as Error).message },
          'claiming ping ticks failed; nothing is sent until a claim succeeds',
        );
        await this.pause(this.claimRetryMs, signal);
      }
      return undefined;
    }
  }

  private pause(ms: number, signal: AbortSignal): Promise<void> {
    return this.waitUntil(this.now() + ms, signal);
  }

  /** Waits until `at` (our clock), a schedule change, or the signal. */
  private waitUntil(at: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    const ms = Math.min(Math.max(0, at - this.now()), MAX_WAIT_MS);
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }
}

/** A ledger in this process only: for one replica, and for tests. */
export class MemoryTickLedger implements TickLedger {
  private cursor: number | undefined;
  private version = 0;

  read(): Promise<{ cursor: number | undefined; version: string }> {
    return Promise.resolve({ cursor: this.cursor, version: String(this.version) });
  }

  advance(cursor: number, version: string): Promise<{ ok: true; version: string } | { ok: false }> {
    if (version !== String(this.version)) return Promise.resolve({ ok: false });
    this.cursor = cursor;
    this.version++;
    return Promise.resolve({ ok: true, version: String(this.version) });
  }
}
