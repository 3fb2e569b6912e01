import { nextRuns, validateSchedule } from './schedule';

const from = new Date('2024-01-15T10:20:30Z');
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('validateSchedule', () => {
  it.each([
    ['* * * * *', undefined],
    ['*/1 * * * * *', undefined],
    ['0 9 * * MON-FRI', undefined],
    ['5/15 * * * *', undefined],
    ['@hourly', undefined],
    ['@daily', undefined],
    ['@midnight', undefined],
    ['@weekly', undefined],
    ['@monthly', undefined],
    ['@yearly', undefined],
    ['@annually', undefined],
    ['CRON_TZ=Europe/Paris 0 9 * * *', undefined],
    ['@every 1m', 'unsupported descriptor @every'],
    ['@reboot', 'unsupported descriptor @reboot'],
    ['', 'schedule is empty'],
    ['* * * *', 'expected 5 fields (or 6 with leading seconds), got 4 in "* * * *"'],
    ['0 0 * * * * 2030', 'expected 5 fields (or 6 with leading seconds), got 7 in "0 0 * * * * 2030"'],
    ['2024-10-17T23:43:00', 'expected 5 fields (or 6 with leading seconds), got 1 in "2024-10-17T23:43:00"'],
    ['TZ=Nope/Nowhere 0 9 * * *', 'unknown time zone "Nope/Nowhere"'],
  ])('%j → %j', (schedule, expected) => {
    expect(validateSchedule(schedule)).toBe(expected);
  });

  it('reports field errors from the cron parser', () => {
    expect(validateSchedule('61 * * * *')).toMatch(/^invalid schedule "61 \* \* \* \*": .*minute/);
  });

  it('checks the time zone', () => {
    expect(validateSchedule('0 9 * * *', 'Mars/Olympus')).toBe('unknown time zone "Mars/Olympus"');
    expect(validateSchedule('0 9 * * *', 'Asia/Kolkata')).toBeUndefined();
  });

  it('refuses a CRON_TZ prefix together with timezone', () => {
    expect(validateSchedule('CRON_TZ=UTC 0 9 * * *', 'Europe/Paris')).toMatch(/use only timezone/);
  });
});

describe('nextRuns', () => {
  it('reads a schedule without time zone in UTC', () => {
    expect(iso(nextRuns('0 9 * * *', undefined, 2, from))).toEqual([
      '2024-01-16T09:00:00.000Z',
      '2024-01-17T09:00:00.000Z',
    ]);
  });

  it('applies the time zone, including daylight saving time', () => {
    expect(iso(nextRuns('0 9 * * *', 'America/New_York', 1, from))).toEqual(['2024-01-15T14:00:00.000Z']);
    expect(iso(nextRuns('0 9 * * *', 'America/New_York', 1, new Date('2024-07-01T00:00:00Z')))).toEqual([
      '2024-07-01T13:00:00.000Z',
    ]);
    expect(iso(nextRuns('0 9 * * *', 'Asia/Kolkata', 1, from))).toEqual(['2024-01-16T03:30:00.000Z']);
    expect(iso(nextRuns('CRON_TZ=Asia/Kolkata 0 9 * * *', undefined, 1, from))).toEqual([
      '2024-01-16T03:30:00.000Z',
    ]);
  });

  it.each([
    ['@hourly', ['2024-01-15T11:00:00.000Z', '2024-01-15T12:00:00.000Z']],
    ['@daily', ['2024-01-16T00:00:00.000Z', '2024-01-17T00:00:00.000Z']],
    ['@midnight', ['2024-01-16T00:00:00.000Z', '2024-01-17T00:00:00.000Z']],
    ['@weekly', ['2024-01-21T00:00:00.000Z', '2024-01-28T00:00:00.000Z']],
    ['@monthly', ['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z']],
    ['@yearly', ['2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']],
    ['@annually', ['2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']],
    ['0 0 1 * *', ['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z']],
    ['*/1 * * * * *', ['2024-01-15T10:20:31.000Z', '2024-01-15T10:20:32.000Z']],
    ['5/15 * * * *', ['2024-01-15T10:35:00.000Z', '2024-01-15T10:50:00.000Z']],
  ])('%s', (schedule, expected) => {
    expect(iso(nextRuns(schedule, undefined, 2, from))).toEqual(expected);
  });

  it('throws on an invalid schedule', () => {
    expect(() => nextRuns('@every 5m', undefined, 1)).toThrow('unsupported descriptor @every');
  });
});
