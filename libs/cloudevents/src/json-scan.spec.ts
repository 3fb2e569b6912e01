import fc from 'fast-check';
import { findDataMember, isJsonValue } from './json-scan';

const accepts = (text: string): boolean => {
  const b = Buffer.from(text);
  return isJsonValue(b);
};
const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('isJsonValue agrees with JSON.parse', () => {
  it.each([
    '0',
    '-0',
    '1.5e+10',
    '-12.0E-3',
    'true',
    'false',
    'null',
    '""',
    '"a\\u00e9\\n\\"\\\\\\/"',
    '[]',
    '{}',
    ' [ 1 , {"a" : [ ] } ] ',
    '{"a":{"b":{"c":[[[[1]]]]}}}',
    '"é😀"',
  ])('accepts %s', (text) => {
    expect(accepts(text)).toBe(true);
    expect(parses(text)).toBe(true);
  });

  it.each([
    '',
    ' ',
    '01',
    '1.',
    '.5',
    '+1',
    '1e',
    '-',
    'tru',
    'nul',
    'True',
    '"a',
    '"\\x"',
    '"\\u12g4"',
    '"a\tb"',
    '[1,]',
    '[,1]',
    '{"a"}',
    '{"a":1,}',
    '{a:1}',
    '{"a":1 "b":2}',
    '[1 2]',
    '1 2',
    '[',
    ']',
    '{"a":[}',
    '[1]]',
    'NaN',
    '"\u0001"',
  ])('rejects %j', (text) => {
    expect(accepts(text)).toBe(false);
    expect(parses(text)).toBe(false);
  });

  it('on random JSON texts', () => {
    fc.assert(
      fc.property(fc.json({ depthSize: 'medium' }), (text) => accepts(text)),
      { numRuns: 1000 },
    );
  });

  it('on random mutations of JSON texts', () => {
    const mutated = fc
      .tuple(
        fc.json(),
        fc.nat(),
        fc.constantFrom('', ',', '"', '\\', ']', '}', '[', '{', ':', '0', '-', '.', 'e', ' ', 'x'),
      )
      .map(([text, at, ch]) => {
        const p = text.length === 0 ? 0 : at % text.length;
        return text.slice(0, p) + ch + text.slice(p + (at % 2));
      });
    fc.assert(
      fc.property(mutated, (text) => accepts(text) === parses(text)),
      { numRuns: 3000 },
    );
  });

  it('checks a view without looking past its end', () => {
    expect(isJsonValue(Buffer.from('[1]]').subarray(0, 3))).toBe(true);
    expect(isJsonValue(Buffer.from('123').subarray(0, 2))).toBe(true);
    expect(isJsonValue(Buffer.from('[1]').subarray(0, 2))).toBe(false);
  });
});

describe('findDataMember', () => {
  const find = (text: string) => {
    const span = findDataMember(Buffer.from(text));
    return span === undefined ? undefined : Buffer.from(text).subarray(span[0], span[1]).toString();
  };
  it.each([
    ['{"data":1}', '1'],
    ['{ "id" : "x" , "data" : {"data":[1,"]"]} }', '{"data":[1,"]"]}'],
    ['{"x":"\\"data\\":2","data":"s"}', '"s"'],
    ['{"data":1,"data":[2]}', '[2]'],
    ['{"d\\u0061ta":true}', 'true'],
    ['{"datum":1}', undefined],
    ['[{"data":1}]', undefined],
  ])('%s -> %s', (text, expected) => {
    expect(find(text)).toBe(expected);
  });
});

describe('findDataMember on many members', () => {
  it('takes time linear in the body, not in keys times body', () => {
    // 300,000 short keys, then an escaped spelling of "data": the escape used to be searched for from
    // every key to the end of the body (seconds for 2 MB).
    const text = '{' + '"aa":1,'.repeat(300_000) + '"d\\u0061ta":[1]}';
    const started = performance.now();
    const span = findDataMember(Buffer.from(text));
    expect(performance.now() - started).toBeLessThan(500);
    expect(text.slice(span![0], span![1])).toBe('[1]');
  });
});

describe('findDataMember on malformed data', () => {
  it.each(['{"data":[1,}', '{"data":-}', '{"id":"x","data":{"a" 1}}', '{"data":"\\q"}'])(
    '%s -> end -1',
    (text) => {
      expect(findDataMember(Buffer.from(text))?.[1]).toBe(-1);
    },
  );
});
