import { Cron, type CronOptions } from 'croner';
import { FieldError } from './errors';

/** The zone a schedule naming none is read in: upstream's adapter runs in UTC. */
export const DEFAULT_PING_TIMEZONE = 'UTC';

/** A PingSource schedule checked as upstream reads it, in the form croner runs. */
export interface PingCron {
  /** Six fields (seconds first), each `*` or a list of numbers; descriptors already expanded. */
  pattern: string;
  /** IANA zone the pattern is read in. */
  timezone: string;
}

/** The schedule to run, or the field error (`spec.schedule` or `spec.timezone`) that refuses it. */
export type PingScheduleResult = { ok: true; cron: PingCron } | { ok: false; error: FieldError };

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

// Seconds, minutes, hours, day of month, month, day of week: the Go cron parser's bounds and
// names (day of week 0-6, so no 7 for Sunday; names only for months and days).
const FIELDS: readonly Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: Object.fromEntries(MONTHS.map((m, i) => [m, i + 1])) },
  { min: 0, max: 6, names: Object.fromEntries(DAYS.map((d, i) => [d, i])) },
];

const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

const TZ_PREFIX = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/s;

/** Quotes user text in a message, cut short so that a huge value makes a short message. */
function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** Checks an IANA time zone name (as `Intl` knows them; offsets such as `+01:00` are refused). */
export function isValidTimeZone(zone: string): boolean {
  if (!/^[A-Za-z]/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The values one comma-separated part of a field stands for, and whether it was a bare `*`/`?`. */
function parsePart(part: string, bounds: Bounds): { values: number[]; star: boolean } | string {
  const slashes = part.split('/');
  if (slashes.length > 2) return `too many slashes: ${quote(part)}`;
  const [range = '', stepText] = slashes;
  const ends = range.split('-');
  let start: number;
  let end: number;
  let star = false;
  if (range === '*' || range === '?') {
    [start, end, star] = [bounds.min, bounds.max, true];
  } else {
    if (ends.length > 2) return `too many hyphens: ${quote(part)}`;
    const low = parseValue(ends[0] ?? '', bounds);
    if (typeof low === 'string') return low;
    const high = ends.length === 2 ? parseValue(ends[1] ?? '', bounds) : low;
    if (typeof high === 'string') return high;
    [start, end] = [low, high];
  }
  let step = 1;
  if (stepText !== undefined) {
    const parsed = parseValue(stepText, {});
    if (typeof parsed === 'string') return parsed;
    step = parsed;
    // `5/15` means from 5 to the field's maximum, every 15 (as the Go parser reads it).
    if (ends.length === 1) end = bounds.max;
    if (step > 1) star = false;
  }
  if (start < bounds.min)
    return `beginning of range (${start}) below minimum (${bounds.min}): ${quote(part)}`;
  if (end > bounds.max) return `end of range (${end}) above maximum (${bounds.max}): ${quote(part)}`;
  if (start > end) return `beginning of range (${start}) beyond end of range (${end}): ${quote(part)}`;
  if (step === 0) return `step of range should be a positive number: ${quote(part)}`;
  const values: number[] = [];
  for (let v = start; v <= end; v += step) values.push(v);
  return { values, star };
}

function parseValue(text: string, bounds: Pick<Bounds, 'names'>): number | string {
  const named = bounds.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\+?\d+$/.test(text)) return `failed to parse number from ${quote(text)}`;
  return Number(text);
}

/** One field as croner reads it: `*` when the Go parser marks it "any", else the exact values. */
function parseField(field: string, bounds: Bounds): string {
  // Empty items (`1,,2`) are skipped as the Go parser skips them; a field of commas only is
  // refused here, where the Go parser would accept a schedule that never fires.
  const parts = field.split(',').filter((p) => p !== '');
  if (parts.length === 0) throw new Error(`no value in field ${quote(field)}`);
  const values = new Set<number>();
  let star = false;
  for (const part of parts) {
    const parsed = parsePart(part, bounds);
    if (typeof parsed === 'string') throw new Error(parsed);
    parsed.values.forEach((v) => values.add(v));
    star ||= parsed.star;
  }
  // "Any" matters for day of month and day of week: croner, like the Go parser, requires both
  // only when one of them is `*`, and either one otherwise.
  return star ? '*' : [...values].sort((a, b) => a - b).join(',');
}

/** The croner options a parsed schedule runs with. */
function pingCronOptions(cron: PingCron): CronOptions {
  return { timezone: cron.timezone, mode: '6-part', domAndDow: false };
}

/** A croner job for a parsed schedule: paused unless `onTick` is given (the caller stops it). */
export function pingCronJob(cron: PingCron, onTick?: () => void): Cron {
  const options = { ...pingCronOptions(cron), paused: onTick === undefined };
  return onTick === undefined ? new Cron(cron.pattern, options) : new Cron(cron.pattern, options, onTick);
}

/**
 * Parses a PingSource `schedule` and `timezone` as upstream's webhook and adapter do: the Go
 * cron parser with an optional leading seconds field and descriptors (`@hourly`, `@daily`…),
 * `@every` refused, names (`JAN`, `MON`), ranges, steps and `N/step`; a `CRON_TZ=`/`TZ=`
 * prefix or `timezone` names the zone (default UTC). This is the one parser both validation
 * and the scheduler use, so whatever validates can be scheduled.
 */
export function parsePingSchedule(schedule: string, timezone?: string): PingScheduleResult {
  const refuse = (field: 'schedule' | 'timezone', reason: string): PingScheduleResult => ({
    ok: false,
    error: new FieldError(`spec.${field}`, `invalid value: ${reason}`),
  });
  let text = schedule.trim();
  if (text.includes('@every')) return refuse('schedule', 'unsupported descriptor @every');
  const zone = timezone === undefined || timezone === '' ? undefined : timezone;
  if (zone !== undefined && !isValidTimeZone(zone))
    return refuse('timezone', `provided bad location ${zone}: unknown time zone ${zone}`);
  let cronZone = zone ?? DEFAULT_PING_TIMEZONE;
  const prefixed = TZ_PREFIX.exec(text);
  if (prefixed !== null) {
    const [, prefixZone = '', rest = ''] = prefixed;
    // Upstream prepends `CRON_TZ=<timezone> ` to the schedule, so a schedule with its own prefix
    // then fails to parse: it refuses the combination as an invalid spec.schedule.
    if (zone !== undefined) {
      return refuse(
        'schedule',
        `${quote(text)} names a time zone with a ${text.slice(0, text.indexOf('='))}= prefix while spec.timezone is set: use spec.timezone only`,
      );
    }
    // Upstream reports a bad zone in the prefix on spec.timezone; it is reported here on the
    // field that holds it.
    if (!isValidTimeZone(prefixZone))
      return refuse('schedule', `provided bad location ${prefixZone}: unknown time zone ${prefixZone}`);
    cronZone = prefixZone;
    text = rest.trim();
  }
  if (text === '') return refuse('schedule', 'empty schedule');
  let pattern: string;
  if (text.startsWith('@')) {
    const expanded = DESCRIPTORS[text];
    if (expanded === undefined) return refuse('schedule', `unrecognized descriptor: ${quote(text)}`);
    pattern = expanded;
  } else {
    const fields = text.split(/\s+/);
    if (fields.length !== 5 && fields.length !== 6)
      return refuse('schedule', `expected 5 to 6 fields, found ${fields.length}: ${quote(text)}`);
    if (fields.length === 5) fields.unshift('0');
    try {
      pattern = fields.map((field, i) => parseField(field, FIELDS[i] as Bounds)).join(' ');
    } catch (e) {
      return refuse('schedule', (e as Error).message);
    }
  }
  const cron: PingCron = { pattern, timezone: cronZone };
  try {
    pingCronJob(cron).stop();
  } catch (e) {
    // Not expected (the pattern is plain numbers), but what croner cannot run is not valid.
    return refuse('schedule', `${quote(text)}: ${(e as Error).message}`);
  }
  return { ok: true, cron };
}

/** The next `count` fire times of a parsed schedule after `from` (default now). */
export function nextPingRuns(cron: PingCron, count: number, from?: Date): Date[] {
  const job = pingCronJob(cron);
  try {
    return job.nextRuns(count, from);
  } finally {
    job.stop();
  }
}
