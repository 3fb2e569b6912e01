import fc from 'fast-check';
import { PartitionOffsets } from './partition-offsets';

describe('PartitionOffsets', () => {
  it('commits up to the first unfinished offset, then the position once all are finished', () => {
    const p = new PartitionOffsets(10n, 10n);
    for (const o of [10n, 11n, 12n, 13n]) p.take(o);
    expect(p.commitPoint()).toBe(10n);
    p.finish(11n);
    p.finish(13n);
    expect(p.commitPoint()).toBe(10n);
    expect(p.needsCommit()).toBe(false);
    p.finish(10n);
    expect(p.commitPoint()).toBe(12n);
    expect(p.needsCommit()).toBe(true);
    p.finish(12n);
    expect(p.commitPoint()).toBe(14n);
    expect(p.unfinished).toBe(0);
  });

  it('counts skipped offsets (control records, gaps, malformed records) as finished', () => {
    const p = new PartitionOffsets(0n, -1n);
    p.take(0n);
    p.skipTo(3n); // 1 and 2 were never handed out
    p.take(3n);
    p.finish(0n);
    expect(p.commitPoint()).toBe(3n);
    p.finish(3n);
    p.skipTo(10n);
    expect(p.commitPoint()).toBe(10n);
  });

  it('refuses offsets behind the position and resets only when nothing is unfinished', () => {
    const p = new PartitionOffsets(5n, 5n);
    expect(() => p.take(4n)).toThrow(RangeError);
    p.take(5n);
    expect(() => p.reset(0n)).toThrow(/unfinished/);
    p.finish(5n);
    p.reset(2n);
    expect(p.position).toBe(2n);
  });

  it('never commits past an unfinished offset, whatever order deliveries finish in (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.nat(), { maxLength: 80 }), (count, picks) => {
        const p = new PartitionOffsets(100n, 99n);
        const open: bigint[] = [];
        for (let i = 0; i < count; i++) {
          p.take(100n + BigInt(i));
          open.push(100n + BigInt(i));
        }
        for (const pick of picks) {
          if (open.length === 0) break;
          const [offset] = open.splice(pick % open.length, 1);
          expect(p.finish(offset!)).toBe(true);
          const lowest = open.reduce((a, b) => (b < a ? b : a), 100n + BigInt(count));
          expect(p.commitPoint()).toBe(lowest);
        }
      }),
    );
  });
});
