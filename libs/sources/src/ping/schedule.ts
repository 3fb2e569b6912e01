import { nextPingRuns, parsePingSchedule } from '@eventing/api';

/**
 * The next `count` fire times of a schedule after `from` (default now); throws a RangeError
 * naming the field (`spec.schedule` or `spec.timezone`) when the schedule is refused.
 */
export function nextRuns(schedule: string, timezone: string | undefined, count: number, from?: Date): Date[] {
  const parsed = parsePingSchedule(schedule, timezone);
  if (!parsed.ok) throw new RangeError(parsed.error.toString());
  return nextPingRuns(parsed.cron, count, from);
}
