import fc from 'fast-check';
import { nextPingRuns, parsePingSchedule } from './ping-schedule';
import { PING_SCHEDULE_EXAMPLES, PING_SCHEDULE_EXAMPLES_FROM } from './ping-schedule.examples';
import { validatePingSource, type PingSource } from './pingsource';

const source = (schedule: string, timezone?: string): PingSource => ({
  apiVersion: 'sources.knative.dev/v1',
  kind: 'PingSource',
  metadata: { name: 'p', namespace: 'ns' },
  spec: {
    schedule,
    ...(timezone !== undefined ? { timezone } : {}),
    sink: { uri: 'http://sink.example/' },
  },
});

describe('PingSource schedules (shared examples): validation', () => {
  it.each(PING_SCHEDULE_EXAMPLES.map((e) => [e.schedule, e.timezone, e.expect] as const))(
    '%j, timezone %j → %j',
    (schedule, timezone, expected) => {
      const errors = validatePingSource(source(schedule, timezone));
      expect(errors.map((e) => e.path)).toEqual('next' in expected ? [] : [expected.refused]);
      const parsed = parsePingSchedule(schedule, timezone);
      if ('next' in expected) {
        expect(parsed.ok && nextPingRuns(parsed.cron, 1, PING_SCHEDULE_EXAMPLES_FROM)[0]?.toISOString()).toBe(
          expected.next,
        );
      } else {
        expect(parsed).toMatchObject({ ok: false, error: { path: expected.refused } });
      }
    },
  );
});

describe('parsePingSchedule messages', () => {
  const message = (schedule: string, timezone?: string) => {
    const parsed = parsePingSchedule(schedule, timezone);
    return parsed.ok ? undefined : parsed.error.toString();
  };

  it.each<[string, string | undefined, string]>([
    ['@every 1m', undefined, 'spec.schedule: invalid value: unsupported descriptor @every'],
    ['@reboot', undefined, 'spec.schedule: invalid value: unrecognized descriptor: "@reboot"'],
    ['* * * *', undefined, 'spec.schedule: invalid value: expected 5 to 6 fields, found 4: "* * * *"'],
    ['0 0 * * 7', undefined, 'spec.schedule: invalid value: end of range (7) above maximum (6): "7"'],
    [
      '*/0 * * * *',
      undefined,
      'spec.schedule: invalid value: step of range should be a positive number: "*/0"',
    ],
    [
      '5-1 * * * *',
      undefined,
      'spec.schedule: invalid value: beginning of range (5) beyond end of range (1): "5-1"',
    ],
    ['0 0 L * *', undefined, 'spec.schedule: invalid value: failed to parse number from "L"'],
    [
      '0 9 * * *',
      'Mars/Olympus',
      'spec.timezone: invalid value: provided bad location Mars/Olympus: unknown time zone Mars/Olympus',
    ],
    [
      'CRON_TZ=Europe/Paris * * * * *',
      'Asia/Tokyo',
      'spec.schedule: invalid value: "CRON_TZ=Europe/Paris * * * * *" names a time zone with a CRON_TZ= prefix while spec.timezone is set: use spec.timezone only',
    ],
  ])('%j, timezone %j', (schedule, timezone, expected) => {
    expect(message(schedule, timezone)).toBe(expected);
  });

  it('quotes a huge schedule short', () => {
    expect(message(`${'1,'.repeat(100_000)}x * * * *`)?.length).toBeLessThan(200);
  });

  it('reads descriptors and names into plain croner fields, in UTC by default', () => {
    expect(parsePingSchedule('@weekly')).toEqual({
      ok: true,
      cron: { pattern: '0 0 0 * * 0', timezone: 'UTC' },
    });
    expect(parsePingSchedule('TZ=Asia/Tokyo */20 1-3 ? JAN-MAR mon,FRI')).toEqual({
      ok: true,
      cron: { pattern: '0 0,20,40 1,2,3 * 1,2,3 1,5', timezone: 'Asia/Tokyo' },
    });
  });
});

describe('parsePingSchedule properties', () => {
  // Fields built from the grammar: `*`, `?`, values, ranges, `N/step`, lists; names where allowed.
  const field = (min: number, max: number, names: string[] = []) => {
    const value = fc.oneof(
      fc.integer({ min, max }).map(String),
      ...(names.length > 0 ? [fc.constantFrom(...names)] : []),
    );
    const part = fc.oneof(
      fc.constantFrom('*', '?'),
      value,
      fc
        .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
        .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc
        .tuple(
          fc.oneof(fc.constant('*'), fc.integer({ min, max }).map(String)),
          fc.integer({ min: 1, max: 70 }),
        )
        .map(([start, step]) => `${start}/${step}`),
    );
    return fc.array(part, { minLength: 1, maxLength: 3 }).map((parts) => parts.join(','));
  };
  const schedule = fc
    .tuple(
      fc.option(field(0, 59), { nil: undefined }),
      field(0, 59),
      field(0, 23),
      field(1, 31),
      field(1, 12, ['JAN', 'feb', 'Dec']),
      field(0, 6, ['SUN', 'mon', 'Sat']),
    )
    .map((fields) => fields.filter((f) => f !== undefined).join(' '));

  it('accepts every schedule the grammar allows, and each next run is one the fields allow', () => {
    fc.assert(
      fc.property(schedule, (text) => {
        const parsed = parsePingSchedule(text);
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const fields = parsed.cron.pattern.split(' ');
        for (const run of nextPingRuns(parsed.cron, 3, PING_SCHEDULE_EXAMPLES_FROM)) {
          const actual = [
            run.getUTCSeconds(),
            run.getUTCMinutes(),
            run.getUTCHours(),
            0,
            run.getUTCMonth() + 1,
          ];
          actual.forEach((v, i) => {
            if (i !== 3 && fields[i] !== '*') expect(fields[i]?.split(',').map(Number)).toContain(v);
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 60 }),
        fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        (s, tz) => {
          const parsed = parsePingSchedule(s, tz);
          if (parsed.ok) nextPingRuns(parsed.cron, 1, PING_SCHEDULE_EXAMPLES_FROM);
        },
      ),
      { numRuns: 500 },
    );
  });
});
