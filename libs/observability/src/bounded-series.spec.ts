import fc from 'fast-check';
import { BoundedSeries, BoundedValueSets, FOLDED_LABEL_VALUE, seriesKey } from './bounded-series';

/** A BoundedSeries whose series are plain label records, with a fold count. */
function series(maxSeries: number, labelNames = ['name', 'code'], foldable = ['name']) {
  const created: Record<string, string>[] = [];
  let folds = 0;
  const bounded = new BoundedSeries<Record<string, string>>({
    labelNames,
    foldable,
    maxSeries,
    create: (labels) => {
      created.push(labels);
      return labels;
    },
    onFold: () => folds++,
  });
  return { bounded, created, folds: () => folds };
}

describe('seriesKey', () => {
  it('never gives two different label lists the same key', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), fc.array(fc.string()), (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        expect(seriesKey(a)).not.toBe(seriesKey(b));
      }),
    );
    expect(seriesKey(['a:b', 'c'])).not.toBe(seriesKey(['a', 'b:c']));
  });
});

describe('BoundedSeries', () => {
  it('gives each combination its own series until nine tenths of the cap, then folds names into buckets that keep the bounded labels', () => {
    const { bounded, created, folds } = series(30);
    for (let i = 0; i < 27; i++)
      expect(bounded.get([`n${i}`, '202'])).toEqual({ name: `n${i}`, code: '202' });
    expect(folds()).toBe(0);
    expect(bounded.get(['n0', '202'])).toEqual({ name: 'n0', code: '202' });
    expect(bounded.get(['late', '202'])).toEqual({ name: FOLDED_LABEL_VALUE, code: '202' });
    expect(bounded.get(['later', '500'])).toEqual({ name: FOLDED_LABEL_VALUE, code: '500' });
    expect(folds()).toBe(2);
    // The last slot is the all-`other` series.
    expect(bounded.get(['last', '503'])).toEqual({ name: FOLDED_LABEL_VALUE, code: FOLDED_LABEL_VALUE });
    expect(bounded.get(['again', '500'])).toEqual({ name: FOLDED_LABEL_VALUE, code: '500' });
    expect(folds()).toBe(4);
    expect(bounded.size).toBe(30);
    expect(created).toHaveLength(30);
  });

  it('does not count values that already are their bucket as folded', () => {
    const { bounded, folds } = series(20);
    for (let i = 0; i < 18; i++) bounded.get([`n${i}`, '202']);
    expect(bounded.get([FOLDED_LABEL_VALUE, '404'])).toEqual({ name: FOLDED_LABEL_VALUE, code: '404' });
    expect(folds()).toBe(0);
  });

  it('counts a sample the caller folded once, whether or not the series folds it again', () => {
    const { bounded, folds } = series(2);
    bounded.get(['a', '1'], true);
    bounded.get(['a', '1'], true);
    bounded.get(['b', '1'], true);
    expect(folds()).toBe(3);
  });

  it('never holds more than maxSeries series, and every sample lands in one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.constantFrom('200', '404', '500', 'other')), {
          maxLength: 300,
        }),
        (max, samples) => {
          const { bounded, created } = series(max);
          for (const sample of samples) expect(created).toContain(bounded.get(sample));
          expect(bounded.size).toBeLessThanOrEqual(max);
          expect(new Set(created.map((l) => seriesKey([l['name']!, l['code']!]))).size).toBe(created.length);
        },
      ),
    );
  });

  it('refuses a cap below 1', () => {
    expect(() => series(0)).toThrow(RangeError);
  });
});

describe('BoundedValueSets', () => {
  it('keeps at most maxPerGroup values in at most maxGroups groups', () => {
    const sets = new BoundedValueSets(2, 3);
    expect(['a', 'b', 'c', 'd', 'a'].map((v) => sets.admit('ns', 'g1', v))).toEqual([
      true,
      true,
      true,
      false,
      true,
    ]);
    expect(sets.admit('other-ns', 'g1', 'a')).toBe(true);
    expect(sets.admit('ns', 'g3', 'a')).toBe(false);
    expect(() => new BoundedValueSets(1, 0)).toThrow('maxPerGroup 0');
  });
});
