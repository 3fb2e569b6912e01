import { isMediaType, isRfc3339, isUriReference, validateEvent } from './attributes';
import { type AttributeValue } from './event';

const base = { specversion: '1.0', id: 'abc-1', source: '/sources/a', type: 'com.example.created' };
const base03 = { ...base, specversion: '0.3' };

const check = (attributes: Record<string, unknown>) =>
  validateEvent({ attributes: attributes as Record<string, AttributeValue>, data: undefined });

describe('validateEvent (B4, E4)', () => {
  const valid: Array<[string, Record<string, unknown>]> = [
    ['minimal 1.0 event', base],
    ['minimal 0.3 event', base03],
    ['absolute source URI', { ...base, source: 'https://github.com/cloudevents/spec/pull/123' }],
    ['URN source', { ...base, source: 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66' }],
    ['mailto source', { ...base, source: 'mailto:cncf-wg-serverless@lists.cncf.io' }],
    ['relative source without slash', { ...base, source: '1-555-123-4567' }],
    ['source with query, fragment and escapes', { ...base, source: '/a/b?x=1&y=%20#frag' }],
    ['source with IPv6 authority', { ...base, source: 'http://[::1]:8080/p' }],
    ['subject', { ...base, subject: 'mynewfile.jpg' }],
    ['time in UTC', { ...base, time: '2018-04-05T17:31:00Z' }],
    ['time with fraction and offset', { ...base, time: '2018-04-05T17:31:00.123456789+05:30' }],
    ['time lower-case t and z', { ...base, time: '2018-04-05t17:31:00z' }],
    ['time on a leap day', { ...base, time: '2024-02-29T00:00:00-00:00' }],
    ['time with leap second', { ...base, time: '2016-12-31T23:59:60Z' }],
    ['datacontenttype with parameters', { ...base, datacontenttype: 'application/json; charset=utf-8' }],
    ['datacontenttype with quoted parameter', { ...base, datacontenttype: 'text/plain;format="a b"' }],
    ['datacontenttype vendor type', { ...base, datacontenttype: 'application/vnd.apache.thrift.binary' }],
    ['dataschema absolute URI', { ...base, dataschema: 'https://example.com/schema.json#/defs/a' }],
    ['0.3 schemaurl relative', { ...base03, schemaurl: '/schemas/a' }],
    ['0.3 datacontentencoding', { ...base03, datacontentencoding: 'base64' }],
    ['0.3 dataschema is an extension there', { ...base03, dataschema: 'not a uri' }],
    ['1.0 schemaurl is an extension there', { ...base, schemaurl: 'not a uri' }],
    ['string extension', { ...base, comexampleextension1: 'value' }],
    ['integer extension', { ...base, comexampleothervalue: 5 }],
    ['negative int32 extension', { ...base, n: -2147483648 }],
    ['boolean extension', { ...base, flag: false }],
    ['digit-only extension name', { ...base, '123': 'x' }],
    [
      'extension name longer than 20 characters (SHOULD only)',
      { ...base, averyveryverylongextensionname: 'x' },
    ],
    ['non-ASCII string', { ...base, subject: 'Euro € 😀' }],
  ];
  it.each(valid)('accepts %s', (_, attributes) => {
    expect(check(attributes)).toBeUndefined();
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['missing specversion', { id: 'a', source: '/s', type: 't' }, 'specversion'],
    ['specversion 0.2 (B6)', { ...base, specversion: '0.2' }, 'specversion'],
    ['specversion 1.1', { ...base, specversion: '1.1' }, 'specversion'],
    ['specversion as number', { ...base, specversion: 1 }, 'specversion'],
    ['missing id', { specversion: '1.0', source: '/s', type: 't' }, 'id'],
    ['empty id', { ...base, id: '' }, 'id'],
    ['numeric id', { ...base, id: 5 }, 'id'],
    ['missing source', { specversion: '1.0', id: 'a', type: 't' }, 'source'],
    ['empty source', { ...base, source: '' }, 'source'],
    ['source with a space', { ...base, source: '/a b' }, 'source'],
    ['source with bad scheme', { ...base, source: '1http://x' }, 'source'],
    ['source starting with a colon', { ...base, source: ':x' }, 'source'],
    ['source with broken escape', { ...base, source: '/a%2' }, 'source'],
    ['source with two fragments', { ...base, source: '/a#b#c' }, 'source'],
    ['source with non-ASCII', { ...base, source: '/température' }, 'source'],
    ['missing type', { specversion: '1.0', id: 'a', source: '/s' }, 'type'],
    ['empty type', { ...base, type: '' }, 'type'],
    ['type with a newline', { ...base, type: 'a\nb' }, 'type'],
    ['type with a C1 control', { ...base, type: 'a\u0085b' }, 'type'],
    ['id with an unpaired surrogate', { ...base, id: 'a\ud800' }, 'id'],
    ['subject with a noncharacter', { ...base, subject: 'a\ufffe' }, 'subject'],
    ['empty subject', { ...base, subject: '' }, 'subject'],
    ['time without offset', { ...base, time: '2018-04-05T17:31:00' }, 'time'],
    ['time date only', { ...base, time: '2018-04-05' }, 'time'],
    ['time with space separator', { ...base, time: '2018-04-05 17:31:00Z' }, 'time'],
    ['time month 13', { ...base, time: '2018-13-05T17:31:00Z' }, 'time'],
    ['time 31 April', { ...base, time: '2018-04-31T17:31:00Z' }, 'time'],
    ['time 29 Feb in a common year', { ...base, time: '2023-02-29T17:31:00Z' }, 'time'],
    ['time 29 Feb 1900', { ...base, time: '1900-02-29T17:31:00Z' }, 'time'],
    ['time hour 24', { ...base, time: '2018-04-05T24:00:00Z' }, 'time'],
    ['time empty fraction', { ...base, time: '2018-04-05T17:31:00.Z' }, 'time'],
    ['time offset without colon', { ...base, time: '2018-04-05T17:31:00+0530' }, 'time'],
    ['time trailing garbage', { ...base, time: '2018-04-05T17:31:00Zx' }, 'time'],
    ['time as number', { ...base, time: 1712345678 }, 'time'],
    ['datacontenttype without subtype', { ...base, datacontenttype: 'application' }, 'datacontenttype'],
    [
      'datacontenttype with space in type',
      { ...base, datacontenttype: 'appli cation/json' },
      'datacontenttype',
    ],
    [
      'datacontenttype with bad parameter',
      { ...base, datacontenttype: 'text/plain; charset' },
      'datacontenttype',
    ],
    ['empty datacontenttype', { ...base, datacontenttype: '' }, 'datacontenttype'],
    ['relative dataschema', { ...base, dataschema: '/schemas/a' }, 'dataschema'],
    ['empty dataschema', { ...base, dataschema: '' }, 'dataschema'],
    ['0.3 schemaurl with space', { ...base03, schemaurl: '/a b' }, 'schemaurl'],
    ['0.3 empty datacontentencoding', { ...base03, datacontentencoding: '' }, 'datacontentencoding'],
    ['upper-case extension name (E4)', { ...base, MyExt: 'x' }, 'MyExt'],
    ['extension name with a dash', { ...base, 'my-ext': 'x' }, 'my-ext'],
    ['extension name with an underscore', { ...base, my_ext: 'x' }, 'my_ext'],
    ['extension named data', { ...base, data: 'x' }, 'data'],
    ['float extension', { ...base, ratio: 1.5 }, 'ratio'],
    ['extension beyond int32', { ...base, big: 2147483648 }, 'big'],
    ['NaN extension', { ...base, nan: Number.NaN }, 'nan'],
    ['object extension', { ...base, obj: { a: 1 } }, 'obj'],
    ['null extension', { ...base, nil: null }, 'nil'],
    ['extension with control character', { ...base, ext: 'a\u0000' }, 'ext'],
  ];
  it.each(invalid)('rejects %s, naming the attribute', (_, attributes, attribute) => {
    const err = check(attributes);
    expect(err).toEqual({ attribute, reason: expect.stringContaining(`"${attribute}"`) });
  });
});

describe('format checkers', () => {
  it.each([
    ['', true],
    ['#only-fragment', true],
    ['?q', true],
    ['//host/path', true],
    ['a:b', true],
    ['//ho st/', false],
    ['/p[1]', false],
    ['/a<b', false],
  ])('isUriReference(%j) = %s', (s, ok) => {
    expect(isUriReference(s, false)).toBe(ok);
  });

  it('isUriReference requires a scheme when absolute', () => {
    expect(isUriReference('https://x/y', true)).toBe(true);
    expect(isUriReference('//x/y', true)).toBe(false);
  });

  it.each(['0000-01-01T00:00:00Z', '9999-12-31T23:59:59.1-23:59', '2020-06-30T12:00:00.000000000000Z'])(
    'isRfc3339 accepts %s',
    (s) => expect(isRfc3339(s)).toBe(true),
  );
  it.each([
    '2020-06-30T12:00:00+24:00',
    '2020-06-30T12:60:00Z',
    '2020-06-30T12:00:61Z',
    '20-06-30T12:00:00Z',
    'x',
  ])('isRfc3339 rejects %s', (s) => expect(isRfc3339(s)).toBe(false));

  it.each([
    ['*/*', true],
    ['text/plain;', true],
    ['text/plain ; charset=utf-8 ; a=b', true],
    ['text/plain; a="unterminated', false],
    ['text/plain; a="quoted \\" value"', true],
    ['text/plain; a="\u20ac"', false],
    ['text/plain; a="\u00e9"', false],
    ['/json', false],
    ['text/', false],
  ])('isMediaType(%j) = %s', (s, ok) => {
    expect(isMediaType(s)).toBe(ok);
  });
});
