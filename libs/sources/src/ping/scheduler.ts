import { setTimeout as sleep } from 'node:timers/promises';
import { parsePingSchedule, pingCronJob, type FieldError } from '@eventing/api';
import type { CloudEvent } from '@eventing/cloudevents';
import type { ApplyReport } from '@eventing/contract';
import type { Cron } from 'croner';
import { buildPingEvent } from './event';
import type { PingSpec } from './types';

/** Delivers one event to a sink; failures are values, not exceptions. */
export type PingSend = (
  event: CloudEvent,
  sinkUri: string,
) => Promise<{ ok: boolean; status?: number; reason?: string }>;

export interface PingLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PingSchedulerOptions {
  send: PingSend;
  /** Each tick waits a random 0..jitterMs before sending, spreading load. Default 500. */
  jitterMs?: number;
  /** Retries after the first attempt. Default 5. */
  retries?: number;
  /** First retry delay; doubles per retry. Default 50. */
  retryBaseMs?: number;
  /** Clock for the event `time`. */
  now?: () => Date;
  logger?: PingLogger;
}

/** A schedule passed to upsert that cannot be run; `path` is `spec.schedule` or `spec.timezone`. */
export class InvalidScheduleError extends Error {
  readonly path: string;
  readonly reason: string;

  constructor(
    readonly key: string,
    error: FieldError,
  ) {
    super(`PingSource ${key}: ${error.toString()}`);
    this.name = 'InvalidScheduleError';
    this.path = error.path;
    this.reason = error.message;
  }
}

interface Entry {
  spec: PingSpec;
  fingerprint: string;
  job: Cron;
  /** Aborted when the schedule is replaced or removed: pending jitter and retries stop. */
  abort: AbortController;
}

const jsonLineLogger: PingLogger = {
  info: (obj, msg) => console.info(JSON.stringify({ level: 'info', msg, ...obj })),
  warn: (obj, msg) => console.warn(JSON.stringify({ level: 'warn', msg, ...obj })),
};

/** Runs PingSources: one cron job per key, each tick sending a fresh event with jitter and retries. */
export class PingScheduler {
  private readonly send: PingSend;
  private readonly jitterMs: number;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly now: () => Date;
  private readonly logger: PingLogger;
  private readonly entries = new Map<string, Entry>();

  constructor(options: PingSchedulerOptions) {
    this.send = options.send;
    this.jitterMs = options.jitterMs ?? 500;
    this.retries = options.retries ?? 5;
    this.retryBaseMs = options.retryBaseMs ?? 50;
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger ?? jsonLineLogger;
  }

  /** Schedules (or reschedules) the PingSource under `key`; an unchanged spec keeps the running job. */
  upsert(key: string, spec: PingSpec): void {
    const parsed = parsePingSchedule(spec.schedule, spec.timezone);
    if (!parsed.ok) throw new InvalidScheduleError(key, parsed.error);
    const fingerprint = JSON.stringify([
      spec.namespace,
      spec.name,
      spec.schedule,
      spec.timezone,
      spec.contentType,
      spec.data,
      spec.dataBase64,
      spec.ceOverrides?.extensions,
      spec.sinkUri,
    ]);
    const existing = this.entries.get(key);
    if (existing?.fingerprint === fingerprint) return;
    if (existing) this.cancel(existing);
    const entry: Entry = {
      spec,
      fingerprint,
      abort: new AbortController(),
      job: undefined as unknown as Cron,
    };
    entry.job = pingCronJob(parsed.cron, () => void this.tick(key, entry));
    this.entries.set(key, entry);
  }

  /** Stops the schedule under `key` (pending jitter waits and retries are abandoned). */
  remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.cancel(entry);
    this.entries.delete(key);
  }

  /**
   * Makes the running schedules exactly `schedules` (keyed `<namespace>/<name>`): starts new ones,
   * reschedules changed ones, stops the rest. Reports, by PingSource uid, what runs and what was
   * refused with why; one refused schedule never stops the others.
   */
  sync(schedules: readonly PingSpec[]): ApplyReport {
    const next = new Map(schedules.map((s) => [`${s.namespace}/${s.name}`, s]));
    for (const key of [...this.entries.keys()]) if (!next.has(key)) this.remove(key);
    const served = new Set<string>();
    const failed = new Map<string, string>();
    for (const [key, spec] of next) {
      const uid = spec.uid ?? key;
      try {
        this.upsert(key, spec);
        served.add(uid);
      } catch (err) {
        this.remove(key);
        failed.set(uid, `cannot schedule: ${(err as Error).message}`);
      }
    }
    return { generation: 0, served, failed };
  }

  /** Stops every schedule. */
  stop(): void {
    for (const entry of this.entries.values()) this.cancel(entry);
    this.entries.clear();
  }

  /** Keys currently scheduled. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  private cancel(entry: Entry): void {
    entry.job.stop();
    entry.abort.abort();
  }

  private async tick(key: string, entry: Entry): Promise<void> {
    const { spec, abort } = entry;
    const signal = abort.signal;
    try {
      const jitter = Math.floor(Math.random() * (this.jitterMs + 1));
      if (jitter > 0) await sleep(jitter, undefined, { signal });
      const event = buildPingEvent(spec, this.now());
      for (let attempt = 1; ; attempt++) {
        if (signal.aborted) return;
        const result = await this.attempt(event, spec.sinkUri);
        if (result.ok) {
          if (attempt > 1)
            this.logger.info(
              this.context(key, spec, event, attempt, result),
              'ping event delivered after retries',
            );
          return;
        }
        const context = this.context(key, spec, event, attempt, result);
        if (attempt > this.retries) {
          this.logger.warn(context, 'ping event lost: every delivery attempt failed');
          return;
        }
        this.logger.warn(context, 'ping event delivery failed; will retry');
        await sleep(this.retryBaseMs * 2 ** (attempt - 1), undefined, { signal });
      }
    } catch (error) {
      if (signal.aborted) return; // replaced or removed while waiting: nothing more to do
      this.logger.warn(
        { key, error: error instanceof Error ? error.message : String(error) },
        'ping tick failed',
      );
    }
  }

  private async attempt(
    event: CloudEvent,
    sinkUri: string,
  ): Promise<{ ok: boolean; status?: number; reason?: string }> {
    try {
      return await this.send(event, sinkUri);
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  private context(
    key: string,
    spec: PingSpec,
    event: CloudEvent,
    attempt: number,
    result: { status?: number; reason?: string },
  ): object {
    return {
      key,
      namespace: spec.namespace,
      name: spec.name,
      sink: spec.sinkUri,
      id: event.attributes['id'],
      attempt,
      status: result.status,
      reason: result.reason,
    };
  }
}
