import { PING_SCHEDULE_EXAMPLES, PING_SCHEDULE_EXAMPLES_FROM } from '@eventing/api';
import { nextRuns } from './schedule';
import { InvalidScheduleError, PingScheduler } from './scheduler';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('PingSource schedules (shared examples): scheduling', () => {
  const scheduler = new PingScheduler({ send: async () => ({ ok: true }) });
  afterAll(() => scheduler.stop());

  it.each(PING_SCHEDULE_EXAMPLES.map((e) => [e.schedule, e.timezone, e.expect] as const))(
    '%j, timezone %j → %j',
    (schedule, timezone, expected) => {
      const spec = { namespace: 'demo', name: 'p', schedule, timezone, sinkUri: 'http://sink.example/' };
      if ('next' in expected) {
        expect(iso(nextRuns(schedule, timezone, 1, PING_SCHEDULE_EXAMPLES_FROM))).toEqual([expected.next]);
        expect(() => scheduler.upsert('demo/p', spec)).not.toThrow();
        expect(scheduler.keys()).toEqual(['demo/p']);
        scheduler.remove('demo/p');
      } else {
        expect(() => nextRuns(schedule, timezone, 1)).toThrow(RangeError);
        expect(() => nextRuns(schedule, timezone, 1)).toThrow(
          new RegExp(`^${expected.refused}: invalid value: `),
        );
        let thrown: unknown;
        try {
          scheduler.upsert('demo/p', spec);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(InvalidScheduleError);
        expect(thrown).toMatchObject({ key: 'demo/p', path: expected.refused });
        expect(scheduler.keys()).toEqual([]);
      }
    },
  );
});

describe('nextRuns', () => {
  it('applies the time zone, including daylight saving time', () => {
    expect(iso(nextRuns('0 9 * * *', 'America/New_York', 1, new Date('2024-07-01T00:00:00Z')))).toEqual([
      '2024-07-01T13:00:00.000Z',
    ]);
    expect(iso(nextRuns('0 9 * * *', 'Europe/Paris', 2, new Date('2024-03-30T12:00:00Z')))).toEqual([
      '2024-03-31T07:00:00.000Z',
      '2024-04-01T07:00:00.000Z',
    ]);
  });

  it('counts several runs', () => {
    expect(iso(nextRuns('5/15 * * * *', undefined, 3, PING_SCHEDULE_EXAMPLES_FROM))).toEqual([
      '2024-01-15T10:35:00.000Z',
      '2024-01-15T10:50:00.000Z',
      '2024-01-15T11:05:00.000Z',
    ]);
  });

  it('throws the field error of a refused schedule', () => {
    expect(() => nextRuns('@every 5m', undefined, 1)).toThrow(
      'spec.schedule: invalid value: unsupported descriptor @every',
    );
  });
});
