/** One PingSource schedule and what upstream makes of it. */
export interface PingScheduleExample {
  schedule: string;
  timezone?: string;
  /** The first fire time after `PING_SCHEDULE_EXAMPLES_FROM` when accepted; else the field refusing it. */
  expect: { next: string } | { refused: 'spec.schedule' | 'spec.timezone' };
}

/** The instant `next` is counted from: Monday 2024-01-15, 10:20:30 UTC. */
export const PING_SCHEDULE_EXAMPLES_FROM = new Date('2024-01-15T10:20:30Z');

const next = (iso: string) => ({ next: iso });
const onSchedule = { refused: 'spec.schedule' } as const;
const onTimezone = { refused: 'spec.timezone' } as const;

/**
 * Schedules accepted and refused as upstream's PingSource webhook (Go cron parser with optional
 * seconds and descriptors, `@every` refused) does. The tests of validation and of the scheduler
 * both run this table, so that whatever validates can be scheduled and the reverse.
 */
export const PING_SCHEDULE_EXAMPLES: readonly PingScheduleExample[] = [
  // Five fields, or six with leading seconds.
  { schedule: '* * * * *', expect: next('2024-01-15T10:21:00.000Z') },
  { schedule: '*/1 * * * * *', expect: next('2024-01-15T10:20:31.000Z') },
  { schedule: '0 * * * * *', expect: next('2024-01-15T10:21:00.000Z') },
  { schedule: ' 0 9 * * * ', expect: next('2024-01-16T09:00:00.000Z') },
  { schedule: '0 0 0 29 2 *', expect: next('2024-02-29T00:00:00.000Z') },
  // Names, ranges, lists, steps and `N/step` (from N to the field's maximum).
  { schedule: '0 9 * * MON-FRI', expect: next('2024-01-16T09:00:00.000Z') },
  { schedule: '*/5 1-3 * JAN-MAR MON-FRI', expect: next('2024-01-16T01:00:00.000Z') },
  { schedule: '0 0 * * sun', expect: next('2024-01-21T00:00:00.000Z') },
  { schedule: '0 0 1 jul,Jan *', expect: next('2024-07-01T00:00:00.000Z') },
  { schedule: '5/15 * * * *', expect: next('2024-01-15T10:35:00.000Z') },
  { schedule: '1-10/3 * * * *', expect: next('2024-01-15T11:01:00.000Z') },
  // `?` is "any"; day of month and day of week both restricted means either one.
  { schedule: '0 0 1,15 * ?', expect: next('2024-02-01T00:00:00.000Z') },
  { schedule: '0 0 1 * 1', expect: next('2024-01-22T00:00:00.000Z') },
  // Descriptors.
  { schedule: '@hourly', expect: next('2024-01-15T11:00:00.000Z') },
  { schedule: '@daily', expect: next('2024-01-16T00:00:00.000Z') },
  { schedule: '@midnight', expect: next('2024-01-16T00:00:00.000Z') },
  { schedule: '@weekly', expect: next('2024-01-21T00:00:00.000Z') },
  { schedule: '@monthly', expect: next('2024-02-01T00:00:00.000Z') },
  { schedule: '@yearly', expect: next('2025-01-01T00:00:00.000Z') },
  { schedule: '@annually', expect: next('2025-01-01T00:00:00.000Z') },
  // Time zones: UTC by default, `timezone`, or a CRON_TZ=/TZ= prefix.
  { schedule: '0 9 * * *', timezone: '', expect: next('2024-01-16T09:00:00.000Z') },
  { schedule: '0 9 * * *', timezone: 'America/New_York', expect: next('2024-01-15T14:00:00.000Z') },
  { schedule: '@daily', timezone: 'Asia/Tokyo', expect: next('2024-01-15T15:00:00.000Z') },
  { schedule: 'CRON_TZ=Europe/Paris 0 9 * * *', expect: next('2024-01-16T08:00:00.000Z') },
  { schedule: 'TZ=Asia/Kolkata 0 9 * * *', expect: next('2024-01-16T03:30:00.000Z') },

  // Refused descriptors and field counts.
  { schedule: '@every 1m', expect: onSchedule },
  { schedule: '@every 2h', timezone: 'Europe/Paris', expect: onSchedule },
  { schedule: '@reboot', expect: onSchedule },
  { schedule: '@often', expect: onSchedule },
  { schedule: '', expect: onSchedule },
  { schedule: '* * * *', expect: onSchedule },
  { schedule: '1 2 3 4 5 6 7', expect: onSchedule },
  { schedule: '0 0 * * * * 2030', expect: onSchedule },
  { schedule: '2024-10-17T23:43:00', expect: onSchedule },
  // Values out of range (day of week is 0-6: no 7 for Sunday) or not numbers or names.
  { schedule: '61 * * * *', expect: onSchedule },
  { schedule: '* 24 * * *', expect: onSchedule },
  { schedule: '0 0 0 * *', expect: onSchedule },
  { schedule: '0 0 * 13 *', expect: onSchedule },
  { schedule: '0 0 * * 7', expect: onSchedule },
  { schedule: 'x * * * *', expect: onSchedule },
  { schedule: 'JAN * * * *', expect: onSchedule },
  { schedule: '-1 * * * *', expect: onSchedule },
  { schedule: ',,, * * * *', expect: onSchedule },
  // Bad ranges and steps.
  { schedule: '*/0 * * * *', expect: onSchedule },
  { schedule: '5-1 * * * *', expect: onSchedule },
  { schedule: '1-2-3 * * * *', expect: onSchedule },
  { schedule: '*/2/3 * * * *', expect: onSchedule },
  // Extensions of other cron dialects upstream's parser lacks.
  { schedule: '0 0 L * *', expect: onSchedule },
  { schedule: '0 0 15W * *', expect: onSchedule },
  { schedule: '0 0 * * 5#2', expect: onSchedule },
  { schedule: '0 0 H * *', expect: onSchedule },
  // Time zones.
  { schedule: '0 9 * * *', timezone: 'Mars/Olympus', expect: onTimezone },
  { schedule: '* * * * *', timezone: '+01:00', expect: onTimezone },
  { schedule: 'CRON_TZ=Europe/Paris * * * * *', timezone: 'Knative/Land', expect: onTimezone },
  { schedule: 'CRON_TZ=Nowhere/City * * * * *', expect: onSchedule },
  // A zone in the schedule and in `timezone`: upstream refuses the schedule.
  { schedule: 'CRON_TZ=Europe/Paris * * * * *', timezone: 'Asia/Tokyo', expect: onSchedule },
  { schedule: 'TZ=UTC 0 9 * * *', timezone: 'Europe/Paris', expect: onSchedule },
];
