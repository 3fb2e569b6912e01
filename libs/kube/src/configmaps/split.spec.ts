import fc from 'fast-check';
import {
  type ConfigMapData,
  IncompleteDocumentError,
  partName,
  reassembleConfigMaps,
  splitIntoConfigMaps,
} from './split';

/** Bytes of a ConfigMap's data as the API server counts them against its limit (keys and values). */
function sizeOf(data: ConfigMapData): number {
  let n = 0;
  for (const [k, v] of Object.entries(data)) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

describe('splitIntoConfigMaps / reassembleConfigMaps', () => {
  it('keeps a small document in one ConfigMap named as asked', () => {
    const parts = splitIntoConfigMaps('contract', '{"a":1}');
    expect(parts).toEqual([
      {
        name: 'contract',
        data: { data: '{"a":1}', part: '0/1', digest: expect.stringMatching(/^[0-9a-f]{64}$/) },
      },
    ]);
    expect(reassembleConfigMaps(parts.map((p) => p.data))).toBe('{"a":1}');
  });

  it('splits a large document under the size limit and names the parts name, name-1, name-2...', () => {
    const document = JSON.stringify({
      triggers: Array.from({ length: 150_000 }, (_, i) => ({ name: `t-${i}` })),
    });
    const parts = splitIntoConfigMaps('contract', document);
    expect(parts.length).toBe(3);
    expect(parts.map((p) => p.name)).toEqual(parts.map((_, i) => partName('contract', i)));
    expect(parts[1]!.name).toBe('contract-1');
    for (const p of parts) expect(sizeOf(p.data)).toBeLessThanOrEqual(1024 * 1024);
    expect(reassembleConfigMaps([...parts].reverse().map((p) => p.data))).toBe(document);
  });

  it('round-trips any text, multi-byte characters included, with every part within maxBytes', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.integer({ min: 100, max: 200 }),
        (text, maxBytes) => {
          const parts = splitIntoConfigMaps('doc', text, maxBytes, { key: 'json' });
          for (const p of parts) {
            expect(sizeOf(p.data)).toBeLessThanOrEqual(maxBytes);
            // Each part is valid text on its own: no character is cut in two.
            expect(Buffer.from(p.data['json']!, 'utf8').toString('utf8')).toBe(p.data['json']);
          }
          const reversed = [...parts].reverse().map((p) => p.data);
          expect(reassembleConfigMaps(reversed, { key: 'json' })).toBe(text);
        },
      ),
    );
  });

  it('refuses a set with a part missing, or mixing two versions, and ignores stale extra parts', () => {
    const v1 = splitIntoConfigMaps('doc', 'a'.repeat(400), 200);
    const v2 = splitIntoConfigMaps('doc', 'b'.repeat(300), 200);
    expect(v1.length).toBe(4);
    expect(v2.length).toBe(3);
    const data = (parts: typeof v1) => parts.map((p) => p.data);
    expect(() => reassembleConfigMaps(data([v1[0]!, v1[1]!, v1[3]!]))).toThrow(IncompleteDocumentError);
    expect(() => reassembleConfigMaps(data([v1[0]!, v1[1]!, v1[3]!]))).toThrow(/part 2 of 4/);
    // The first part of the new version with the rest of the old one: not a document, read again later.
    expect(() => reassembleConfigMaps(data([v2[0]!, v1[1]!, v1[2]!, v1[3]!]))).toThrow(
      IncompleteDocumentError,
    );
    // The new version complete, next to a stale fourth part of the old one.
    expect(reassembleConfigMaps(data([...v2, v1[3]!]))).toBe('b'.repeat(300));
    expect(() => reassembleConfigMaps([])).toThrow(/no first part/);
  });
});
