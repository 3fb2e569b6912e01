import { validateObjectMeta } from './meta';

describe('validateObjectMeta', () => {
  it.each([
    [{ name: 'a', namespace: 'default' }, []],
    [{ name: 'my-broker.v1', namespace: 'ns-1' }, []],
    [{ generateName: 'trig-', namespace: 'ns' }, []],
    [{ namespace: 'ns' }, ['metadata.name']],
    [{ name: 'Upper', namespace: 'ns' }, ['metadata.name']],
    [{ name: '-a', namespace: 'ns' }, ['metadata.name']],
    [{ name: 'a'.repeat(254), namespace: 'ns' }, ['metadata.name']],
    [{ name: 'a', namespace: 'has.dot' }, ['metadata.namespace']],
    [{ name: 'a', namespace: 'n'.repeat(64) }, ['metadata.namespace']],
  ])('%j -> %j', (meta, paths) => {
    expect(validateObjectMeta(meta).map((e) => e.path)).toEqual(paths);
  });
});
