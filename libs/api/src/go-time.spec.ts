import fc from 'fast-check';
import { parseGoDuration, parseRfc3339 } from './go-time';

describe('parseGoDuration (Go time.ParseDuration)', () => {
  it.each<[string, number | undefined]>([
    ['0', 0],
    ['-0', 0],
    ['+0', 0],
    ['1s', 1000],
    ['300ms', 300],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
    ['1h1m1s', 3_661_000],
    ['-1.5h', -5_400_000],
    ['.5s', 500],
    ['5.s', 5000],
    ['1us', 0.001],
    ['1µs', 0.001],
    ['1μs', 0.001],
    ['1ns', 0.000001],
    ['1m30s', 90_000],
    ['100h', 360_000_000],
    ['2562047h', 9_223_369_200_000],
    // Refused as Go refuses them.
    ['', undefined],
    ['-', undefined],
    ['1', undefined],
    ['10', undefined],
    ['s', undefined],
    ['.s', undefined],
    ['1d', undefined],
    ['1hx', undefined],
    ['1 h', undefined],
    [' 1h', undefined],
    ['PT1H', undefined],
    ['1h-1m', undefined],
    ['3000000h', undefined],
  ])('%j', (text, expected) => {
    expect(parseGoDuration(text)).toBe(expected);
  });

  it('a sum of whole elements parses to the sum, in any order', () => {
    const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 10_000 }), fc.constantFrom('h', 'm', 's', 'ms')), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.boolean(),
        (elements, negative) => {
          const text = (negative ? '-' : '') + elements.map(([n, u]) => `${n}${u}`).join('');
          const sum = elements.reduce((acc, [n, u]) => acc + n * (unitMs[u] as number), 0);
          expect(parseGoDuration(text)).toBe(negative && sum !== 0 ? -sum : sum);
        },
      ),
    );
  });
});

describe('parseRfc3339 (metav1.Time)', () => {
  it.each<[string, boolean]>([
    ['2026-01-02T15:04:05Z', true],
    ['2026-01-02T15:04:05.123456789Z', true],
    ['2026-01-02T15:04:05+02:00', true],
    ['2026-01-02T15:04:05-07:30', true],
    ['2024-02-29T00:00:00Z', true],
    ['2026-02-29T00:00:00Z', false],
    ['2026-13-01T00:00:00Z', false],
    ['2026-01-32T00:00:00Z', false],
    ['2026-01-02T24:00:00Z', false],
    ['2026-01-02T23:60:00Z', false],
    ['2026-01-02T23:59:60Z', false],
    ['2026-01-02T15:04:05+24:00', false],
    ['2026-01-02T15:04:05', false],
    ['2026-01-02 15:04:05Z', false],
    ['2026-01-02t15:04:05z', false],
    ['2026-01-02', false],
    ['', false],
  ])('%j', (text, ok) => {
    expect(parseRfc3339(text) !== undefined).toBe(ok);
  });

  it('returns epoch milliseconds, offsets applied', () => {
    expect(parseRfc3339('1970-01-01T01:00:00+01:00')).toBe(0);
    expect(parseRfc3339('1970-01-01T00:00:01.5Z')).toBe(1500);
  });
});
