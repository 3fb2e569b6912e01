import fc from 'fast-check';
import { parseIsoDuration } from './duration';

describe('parseIsoDuration (1.2 DeliverySpec durations)', () => {
  it.each([
    ['PT0.2S', 200],
    ['PT1S', 1000],
    ['PT1.5S', 1500],
    ['PT0,5S', 500],
    ['PT10M', 600_000],
    ['PT1H', 3_600_000],
    ['P1D', 86_400_000],
    ['P1DT1H', 90_000_000],
    ['P2W', 14 * 86_400_000],
    ['PT0S', 0],
    ['-PT1S', -1000],
    ['P1Y', 365 * 86_400_000],
    ['P1M', 30 * 86_400_000],
    ['PT1M30.25S', 90_250],
  ])('%s = %d ms', (text, ms) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  it.each([
    '',
    'P',
    'PT',
    'P1DT',
    '1S',
    'PT1',
    'PTS',
    'P1H',
    'PT1D',
    'T1S',
    'PT1.S',
    'pt1s',
    'PT-1S',
    '1000',
    'P1S',
  ])('rejects %j', (text) => {
    expect(parseIsoDuration(text)).toBeUndefined();
  });

  it('round-trips whole seconds, minutes and hours (property)', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(59), fc.nat(59), (h, m, s) => {
        expect(parseIsoDuration(`PT${h}H${m}M${s}S`)).toBe(((h * 60 + m) * 60 + s) * 1000);
      }),
    );
  });
});
