import { decodeBase64Strict, setDefaultsPingSource, validatePingSource, type PingSource } from './pingsource';
import { withPath } from './testdata';

const base: PingSource = {
  apiVersion: 'sources.knative.dev/v1',
  kind: 'PingSource',
  metadata: { name: 'p', namespace: 'ns' },
  spec: { schedule: '*/2 * * * *', sink: { uri: 'http://sink.example/' } },
};
const paths = (obj: unknown, ctx = {}) => validatePingSource(obj, ctx).map((e) => e.path);

describe('PingSource defaults (4.1)', () => {
  it('schedule defaults to * * * * *; sink ref namespace defaulted', () => {
    const p = withPath(withPath(base, 'spec.schedule', undefined), 'spec.sink', {
      ref: { apiVersion: 'v1', kind: 'Service', name: 's' },
    });
    const out = setDefaultsPingSource(p);
    expect(out.spec.schedule).toBe('* * * * *');
    expect(out.spec.sink.ref?.namespace).toBe('ns');
    expect(p.spec.schedule).toBeUndefined();
  });
});

describe('PingSource validation (1.3, 4.1)', () => {
  it.each<[string, unknown, string[]]>([
    ['valid', base, []],
    ['valid after defaulting', setDefaultsPingSource(withPath(base, 'spec.schedule', undefined)), []],
    ['bad schedule', withPath(base, 'spec.schedule', '* * *'), ['spec.schedule']],
    ['@every rejected', withPath(base, 'spec.schedule', '@every 1m'), ['spec.schedule']],
    ['valid timezone', withPath(base, 'spec.timezone', 'America/New_York'), []],
    ['bad timezone reported on timezone', withPath(base, 'spec.timezone', 'Mars/Olympus'), ['spec.timezone']],
    ['no sink', withPath(base, 'spec.sink', undefined), ['spec.sink']],
    ['empty sink', withPath(base, 'spec.sink', {}), ['spec.sink']],
    ['relative sink uri', withPath(base, 'spec.sink', { uri: '/x' }), ['spec.sink.uri']],
    [
      'data and dataBase64',
      withPath(withPath(base, 'spec.data', 'x'), 'spec.dataBase64', 'eA=='),
      ['spec.data'],
    ],
    ['dataBase64 valid', withPath(base, 'spec.dataBase64', 'aGVsbG8='), []],
    ['dataBase64 invalid', withPath(base, 'spec.dataBase64', 'not base64!'), ['spec.dataBase64']],
    ['dataBase64 missing padding', withPath(base, 'spec.dataBase64', 'aGVsbG8'), ['spec.dataBase64']],
    [
      'json data object',
      withPath(withPath(base, 'spec.contentType', 'application/json'), 'spec.data', '{"a":1}'),
      [],
    ],
    [
      'json data array',
      withPath(withPath(base, 'spec.contentType', 'application/json'), 'spec.data', '[1]'),
      ['spec.data'],
    ],
    [
      'json data malformed',
      withPath(withPath(base, 'spec.contentType', 'application/json'), 'spec.data', '{a'),
      ['spec.data'],
    ],
    [
      'non-json content type with any data',
      withPath(withPath(base, 'spec.contentType', 'text/plain'), 'spec.data', '{a'),
      [],
    ],
    [
      'json dataBase64 not an object',
      withPath(
        withPath(base, 'spec.contentType', 'application/json'),
        'spec.dataBase64',
        Buffer.from('"str"').toString('base64'),
      ),
      ['spec.dataBase64'],
    ],
    [
      'json dataBase64 object',
      withPath(
        withPath(base, 'spec.contentType', 'application/json'),
        'spec.dataBase64',
        Buffer.from('{"x":true}').toString('base64'),
      ),
      [],
    ],
    ['ceOverrides valid', withPath(base, 'spec.ceOverrides', { extensions: { team: 'a' } }), []],
    [
      'ceOverrides upper case',
      withPath(base, 'spec.ceOverrides', { extensions: { Team: 'a' } }),
      ['spec.ceOverrides.extensions[Team]'],
    ],
    [
      'ceOverrides required attribute',
      withPath(base, 'spec.ceOverrides', { extensions: { id: 'a' } }),
      ['spec.ceOverrides.extensions[id]'],
    ],
    ['unknown field', withPath(base, 'spec.payload', 'x'), ['spec.payload']],
    ['bad namespace', withPath(base, 'metadata.namespace', 'Bad'), ['metadata.namespace']],
  ])('%s', (_name, obj, expected) => {
    expect(paths(obj)).toEqual(expected);
  });

  it('data-max-size limits data and dataBase64 when set', () => {
    expect(paths(withPath(base, 'spec.data', 'x'.repeat(10)), { pingDataMaxSize: 5 })).toEqual(['spec.data']);
    expect(paths(withPath(base, 'spec.dataBase64', 'aGVsbG8='), { pingDataMaxSize: 5 })).toEqual([
      'spec.dataBase64',
    ]);
    expect(paths(withPath(base, 'spec.data', 'x'.repeat(10)), { pingDataMaxSize: -1 })).toEqual([]);
  });

  it('decodeBase64Strict ignores line breaks like Go', () => {
    expect(decodeBase64Strict('aGVs\nbG8=')?.toString()).toBe('hello');
  });
});
