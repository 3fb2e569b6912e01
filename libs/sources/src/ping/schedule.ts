import { Cron, type CronOptions } from 'croner';

const DESCRIPTORS = new Set([
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
]);
const TZ_PREFIX = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/s;
/** The zone a schedule without a time zone is read in (upstream's adapter runs in UTC). */
export const DEFAULT_TIMEZONE = 'UTC';

/** A schedule checked and split into what croner needs. */
export interface ParsedSchedule {
  pattern: string;
  timezone: string;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function cronOptions(timezone: string): CronOptions {
  // 5 or 6 fields only (croner would otherwise also accept a 7th "year" field); `5/15`-style
  // start/step ranges accepted as the Go cron parser does.
  return { timezone, mode: '5-or-6-parts', sloppyRanges: true, paused: true };
}

/** Checks a schedule and time zone; returns the parts to schedule with, or the reason it is refused. */
export function parseSchedule(
  schedule: string,
  timezone: string | undefined,
): ParsedSchedule | { error: string } {
  let pattern = schedule.trim();
  let zone = timezone === undefined || timezone === '' ? undefined : timezone;
  if (pattern === '') return { error: 'schedule is empty' };
  if (pattern.includes('@every')) return { error: 'unsupported descriptor @every' };
  const prefixed = TZ_PREFIX.exec(pattern);
  if (prefixed) {
    if (zone !== undefined)
      return { error: 'schedule has a CRON_TZ= prefix and timezone is also set; use only timezone' };
    zone = prefixed[1] as string;
    pattern = (prefixed[2] as string).trim();
  }
  zone ??= DEFAULT_TIMEZONE;
  if (!isTimeZone(zone)) return { error: `unknown time zone ${JSON.stringify(zone)}` };
  if (pattern.startsWith('@')) {
    if (!DESCRIPTORS.has(pattern)) return { error: `unsupported descriptor ${pattern}` };
  } else {
    const fields = pattern.split(/\s+/).length;
    if (fields !== 5 && fields !== 6) {
      return {
        error: `expected 5 fields (or 6 with leading seconds), got ${fields} in ${JSON.stringify(pattern)}`,
      };
    }
  }
  try {
    new Cron(pattern, cronOptions(zone)).stop();
  } catch (error) {
    return {
      error: `invalid schedule ${JSON.stringify(pattern)}: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  return { pattern, timezone: zone };
}

/** Why a schedule cannot be run, or undefined when it can (`@every` and non-cron text are refused). */
export function validateSchedule(schedule: string, timezone?: string): string | undefined {
  const parsed = parseSchedule(schedule, timezone);
  return 'error' in parsed ? parsed.error : undefined;
}

/** Starts a croner job for a parsed schedule (the caller stops it). */
export function startCron(parsed: ParsedSchedule, onTick: () => void): Cron {
  return new Cron(parsed.pattern, { ...cronOptions(parsed.timezone), paused: false }, onTick);
}

/** The next `count` fire times of a schedule after `from` (default now); throws on an invalid schedule. */
export function nextRuns(schedule: string, timezone: string | undefined, count: number, from?: Date): Date[] {
  const parsed = parseSchedule(schedule, timezone);
  if ('error' in parsed) throw new RangeError(parsed.error);
  const job = new Cron(parsed.pattern, cronOptions(parsed.timezone));
  try {
    return job.nextRuns(count, from);
  } finally {
    job.stop();
  }
}
