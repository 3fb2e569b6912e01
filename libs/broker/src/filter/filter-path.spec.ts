import fc from 'fast-check';
import { parseTriggerPath } from './filter-handler';

/** The path rule written as plainly as possible: split on '/', exactly three non-empty segments (T1). */
function reference(url: string): ReturnType<typeof parseTriggerPath> {
  const path = url.split('?')[0]!.replace(/\/$/, '');
  const parts = path.split('/');
  if (
    parts.length !== 5 ||
    parts[0] !== '' ||
    parts[1] !== 'triggers' ||
    parts.slice(2).some((p) => p === '')
  )
    return { ok: false, reason: `malformed path '${path}': expected /triggers/<namespace>/<trigger>/<uid>` };
  return { ok: true, namespace: parts[2]!, name: parts[3]!, uid: parts[4]! };
}

describe('parseTriggerPath (T1: /triggers/<namespace>/<trigger>/<uid>)', () => {
  it.each([
    ['/triggers/default/t1/abc', { ok: true, namespace: 'default', name: 't1', uid: 'abc' }],
    ['/triggers/default/t1/abc/', { ok: true, namespace: 'default', name: 't1', uid: 'abc' }],
    ['/triggers/default/t1/abc?x=/y/z', { ok: true, namespace: 'default', name: 't1', uid: 'abc' }],
    ['/triggers/default/t1/abc//', { ok: false }],
    ['/triggers/default/t1', { ok: false }],
    ['/triggers/default/t1/', { ok: false }],
    ['/triggers//t1/abc', { ok: false }],
    ['/triggers/default//abc', { ok: false }],
    ['/triggers/default/t1/abc/more', { ok: false }],
    ['/trigger/default/t1/abc', { ok: false }],
    ['/triggers/ns?/t1/abc', { ok: false }],
    ['/triggers', { ok: false }],
    ['/', { ok: false }],
    ['', { ok: false }],
  ])('%s', (url, expected) => {
    expect(parseTriggerPath(url)).toMatchObject(expected);
  });

  it('names the path it refused, without the query', () => {
    expect(parseTriggerPath('/triggers/a/b?x=1')).toEqual({
      ok: false,
      reason: "malformed path '/triggers/a/b': expected /triggers/<namespace>/<trigger>/<uid>",
    });
  });

  it('agrees with the split-based rule on any URL made of its pieces', () => {
    const piece = fc.constantFrom('/', '?', 'triggers', 'a', 'b-1', '', '//', '/triggers/');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 9 }), (pieces) => {
        const url = pieces.join('');
        expect(parseTriggerPath(url)).toEqual(reference(url));
      }),
      { numRuns: 5000 },
    );
  });
});
