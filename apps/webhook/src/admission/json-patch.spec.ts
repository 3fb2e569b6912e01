import fc from 'fast-check';
import { applyJsonPatch } from '../testing/apply-json-patch';
import { createJsonPatch, escapePointerToken, jsonEqual } from './json-patch';

describe('createJsonPatch', () => {
  it('turns any JSON object into any other (applying the patch gives the target)', () => {
    const object = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 }));
    fc.assert(
      fc.property(object, object, (from, to) => {
        const ops = createJsonPatch(from, to);
        expect(jsonEqual(applyJsonPatch(from, ops), to)).toBe(true);
        if (jsonEqual(from, to)) expect(ops).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('touches only what differs, and escapes ~ and / in keys (RFC 6901)', () => {
    const from = { metadata: { name: 'b', annotations: { 'a/b': 'x', keep: 'y' } }, spec: { list: [1, 2] } };
    const to = {
      metadata: { name: 'b', annotations: { 'a/b': 'z', keep: 'y', 'c~d': 'new' } },
      spec: { list: [1, 3] },
    };
    expect(createJsonPatch(from, to)).toEqual([
      { op: 'replace', path: '/metadata/annotations/a~1b', value: 'z' },
      { op: 'add', path: '/metadata/annotations/c~0d', value: 'new' },
      { op: 'replace', path: '/spec/list', value: [1, 3] },
    ]);
    expect(escapePointerToken('~/')).toBe('~0~1');
  });

  it('adds a missing parent object whole', () => {
    expect(
      createJsonPatch({ metadata: { name: 'b' } }, { metadata: { name: 'b', annotations: { k: 'v' } } }),
    ).toEqual([{ op: 'add', path: '/metadata/annotations', value: { k: 'v' } }]);
  });
});
