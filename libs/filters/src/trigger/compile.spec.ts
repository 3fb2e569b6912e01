import type { AttributeValue, CloudEvent } from '@eventing/cloudevents';
import fc from 'fast-check';
import { compileTriggerFilter } from './compile';
import { triggerIndexKeys } from './index-keys';
import type { CesqlCompiler, SubscriptionsApiFilter, TriggerAttributesFilter } from './types';

const event = (attributes: Record<string, AttributeValue> = {}): CloudEvent => ({
  attributes: { specversion: '1.0', id: 'id-1', source: '/src', type: 'com.a', ...attributes },
  data: undefined,
});

/**
 * A stand-in CESQL engine for the expressions these tests use: errors (missing attribute) throw,
 * as the real engine reports them; unknown expressions fail to compile.
 */
const CESQL_EXPRESSIONS: Record<string, (event: CloudEvent) => boolean> = {
  "myext = 'x'": (e) => {
    const value = e.attributes['myext'];
    if (value === undefined) throw new Error('missing attribute myext');
    return String(value) === 'x';
  },
  'EXISTS myext': (e) => e.attributes['myext'] !== undefined,
  TRUE: () => true,
  FALSE: () => false,
};
const cesql: CesqlCompiler = (expression) => {
  const predicate = CESQL_EXPRESSIONS[expression];
  if (predicate === undefined) throw new Error(`unexpected token at 0 in ${JSON.stringify(expression)}`);
  return predicate;
};

interface Row {
  name: string;
  filter?: TriggerAttributesFilter;
  filters?: SubscriptionsApiFilter[];
  event: CloudEvent;
  match: boolean;
}

function check(rows: Row[]) {
  it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const compiled = compileTriggerFilter(row.filter, row.filters, { cesql });
    expect(compiled.match(row.event)).toBe(row.match);
    expect(compiled.explain(row.event).matched).toBe(row.match);
  });
}

describe('compileTriggerFilter', () => {
  describe('CONFORMANCE 3.4 truth table', () => {
    check([
      {
        name: '3.4 row 1: attributes {type: ""} matches any event',
        filter: { attributes: { type: '' } },
        event: event(),
        match: true,
      },
      {
        name: '3.4 row 2: attributes {subject: ""} with no subject does not match',
        filter: { attributes: { subject: '' } },
        event: event(),
        match: false,
      },
      {
        name: '3.4 row 3: attributes {myext: ""} with myext absent does not match',
        filter: { attributes: { myext: '' } },
        event: event(),
        match: false,
      },
      {
        name: '3.4 row 4: attributes {myext: ""} with myext = "" does not match',
        filter: { attributes: { myext: '' } },
        event: event({ myext: '' }),
        match: false,
      },
      {
        name: '3.4 row 5: non-empty filters win over filter.attributes',
        filter: { attributes: { type: 'b' } },
        filters: [{ exact: { type: 'a' } }],
        event: event({ type: 'a' }),
        match: true,
      },
      {
        name: '3.4 row 6: empty filters => legacy filter used',
        filter: { attributes: { type: 'b' } },
        filters: [],
        event: event({ type: 'a' }),
        match: false,
      },
      {
        name: "3.4 row 7: cesql myext = 'x' with myext absent does not match",
        filters: [{ cesql: "myext = 'x'" }],
        event: event(),
        match: false,
      },
      {
        name: '3.4 row 8: cesql EXISTS myext with myext absent does not match',
        filters: [{ cesql: 'EXISTS myext' }],
        event: event(),
        match: false,
      },
      {
        name: '3.4 row 9: not(erroring cesql) matches',
        filters: [{ not: { cesql: "myext = 'x'" } }],
        event: event(),
        match: true,
      },
      {
        name: '3.4 row 10: any [exact type a, prefix source /x] with type b, source /xyz matches',
        filters: [{ any: [{ exact: { type: 'a' } }, { prefix: { source: '/x' } }] }],
        event: event({ type: 'b', source: '/xyz' }),
        match: true,
      },
      {
        name: '3.4 row 11: suffix type .v1 matches com.a.v1',
        filters: [{ suffix: { type: '.v1' } }],
        event: event({ type: 'com.a.v1' }),
        match: true,
      },
      {
        name: '3.4 row 12: exact seq "5" matches a numeric extension 5',
        filters: [{ exact: { seq: '5' } }],
        event: event({ seq: 5 }),
        match: true,
      },
    ]);
  });

  describe('legacy filter.attributes (CONFORMANCE 3.1)', () => {
    check([
      { name: 'no filter at all passes', event: event(), match: true },
      { name: 'filter without attributes passes', filter: {}, event: event(), match: true },
      { name: 'empty attributes map passes', filter: { attributes: {} }, event: event(), match: true },
      { name: 'exact type match', filter: { attributes: { type: 'com.a' } }, event: event(), match: true },
      {
        name: 'type comparison is case-sensitive',
        filter: { attributes: { type: 'COM.A' } },
        event: event(),
        match: false,
      },
      {
        name: 'keys are ANDed (one mismatch fails)',
        filter: { attributes: { type: 'com.a', source: '/other' } },
        event: event(),
        match: false,
      },
      {
        name: 'keys are ANDed (all match)',
        filter: { attributes: { type: 'com.a', source: '/src' } },
        event: event(),
        match: true,
      },
      {
        name: 'unset optional context attribute compares as ""',
        filter: { attributes: { subject: 'x' } },
        event: event(),
        match: false,
      },
      {
        name: 'subject "" passes when subject is set',
        filter: { attributes: { subject: '' } },
        event: event({ subject: 's' }),
        match: true,
      },
      {
        name: 'extension exact value',
        filter: { attributes: { myext: 'v' } },
        event: event({ myext: 'v' }),
        match: true,
      },
      {
        name: 'missing extension fails',
        filter: { attributes: { myext: 'v' } },
        event: event(),
        match: false,
      },
      {
        name: 'extension "" passes when present and non-empty',
        filter: { attributes: { myext: '' } },
        event: event({ myext: 'v' }),
        match: true,
      },
      {
        name: 'numeric extension is stringified',
        filter: { attributes: { seq: '5' } },
        event: event({ seq: 5 }),
        match: true,
      },
      {
        name: 'boolean extension is stringified',
        filter: { attributes: { flag: 'true' } },
        event: event({ flag: true }),
        match: true,
      },
      {
        name: 'boolean false is stringified',
        filter: { attributes: { flag: 'false' } },
        event: event({ flag: false }),
        match: true,
      },
      {
        name: 'datamediatype is derived from datacontenttype',
        filter: { attributes: { datamediatype: 'application/json' } },
        event: event({ datacontenttype: 'Application/JSON; charset=utf-8' }),
        match: true,
      },
      {
        name: 'datamediatype "" fails without datacontenttype',
        filter: { attributes: { datamediatype: '' } },
        event: event(),
        match: false,
      },
      {
        name: 'schemaurl reads dataschema',
        filter: { attributes: { schemaurl: 'http://s' } },
        event: event({ dataschema: 'http://s' }),
        match: true,
      },
      {
        name: 'dataschema reads schemaurl (0.3 events)',
        filter: { attributes: { dataschema: 'http://s' } },
        event: event({ schemaurl: 'http://s', specversion: '0.3' }),
        match: true,
      },
      {
        name: 'time compares the attribute text',
        filter: { attributes: { time: '2024-01-02T03:04:05Z' } },
        event: event({ time: '2024-01-02T03:04:05Z' }),
        match: true,
      },
      {
        name: 'an Object.prototype name is not an attribute',
        filter: { attributes: { constructor: '' } },
        event: event(),
        match: false,
      },
      {
        name: 'an Object.prototype name is not an attribute (fast path)',
        filter: { attributes: { constructor: 'x' } },
        event: event(),
        match: false,
      },
    ]);
  });

  describe('filters[] dialects (CONFORMANCE 3.2)', () => {
    check([
      { name: 'exact matches', filters: [{ exact: { type: 'com.a' } }], event: event(), match: true },
      { name: 'exact mismatch', filters: [{ exact: { type: 'com.b' } }], event: event(), match: false },
      {
        name: 'exact on a missing extension fails',
        filters: [{ exact: { myext: 'x' } }],
        event: event(),
        match: false,
      },
      {
        name: 'exact with several keys ANDs them',
        filters: [{ exact: { type: 'com.a', source: '/nope' } }],
        event: event(),
        match: false,
      },
      {
        name: 'exact stringifies booleans',
        filters: [{ exact: { flag: 'true' } }],
        event: event({ flag: true }),
        match: true,
      },
      { name: 'prefix matches', filters: [{ prefix: { type: 'com.' } }], event: event(), match: true },
      {
        name: 'prefix is case-sensitive',
        filters: [{ prefix: { type: 'COM.' } }],
        event: event(),
        match: false,
      },
      {
        name: 'prefix on a missing attribute fails',
        filters: [{ prefix: { subject: 'a' } }],
        event: event(),
        match: false,
      },
      {
        name: 'prefix stringifies numbers',
        filters: [{ prefix: { seq: '12' } }],
        event: event({ seq: 123 }),
        match: true,
      },
      {
        name: 'suffix mismatch',
        filters: [{ suffix: { type: '.v2' } }],
        event: event({ type: 'com.a.v1' }),
        match: false,
      },
      {
        name: 'suffix on a missing extension fails',
        filters: [{ suffix: { myext: 'x' } }],
        event: event(),
        match: false,
      },
      {
        name: 'list is an implicit all (one fails)',
        filters: [{ exact: { type: 'com.a' } }, { exact: { source: '/no' } }],
        event: event(),
        match: false,
      },
      {
        name: 'list is an implicit all (all pass)',
        filters: [{ exact: { type: 'com.a' } }, { prefix: { source: '/s' } }],
        event: event(),
        match: true,
      },
      {
        name: 'all fails when one element fails',
        filters: [{ all: [{ exact: { type: 'com.a' } }, { suffix: { source: 'x' } }] }],
        event: event(),
        match: false,
      },
      {
        name: 'any fails when every element fails',
        filters: [{ any: [{ exact: { type: 'b' } }, { exact: { type: 'c' } }] }],
        event: event(),
        match: false,
      },
      {
        name: 'not inverts a pass',
        filters: [{ not: { exact: { type: 'com.a' } } }],
        event: event(),
        match: false,
      },
      {
        name: 'not inverts a fail',
        filters: [{ not: { exact: { type: 'com.b' } } }],
        event: event(),
        match: true,
      },
      {
        name: 'double negation',
        filters: [{ not: { not: { exact: { type: 'com.b' } } } }],
        event: event(),
        match: false,
      },
      {
        name: 'nesting: all [any [...], not {...}]',
        filters: [
          {
            all: [
              { any: [{ exact: { type: 'x' } }, { prefix: { type: 'com' } }] },
              { not: { exact: { source: '/bad' } } },
            ],
          },
        ],
        event: event(),
        match: true,
      },
      { name: '{} element is skipped; nothing left => pass', filters: [{}], event: event(), match: true },
      {
        name: '{} element is skipped; the rest still applies',
        filters: [{}, { exact: { type: 'com.b' } }],
        event: event(),
        match: false,
      },
      {
        name: 'not of "no filter" stays "no filter" (pass)',
        filters: [{ not: {} }],
        event: event(),
        match: true,
      },
      {
        name: 'not of an all of skipped elements passes',
        filters: [{ not: { all: [{}, {}] } }],
        event: event(),
        match: true,
      },
      {
        name: 'any of [fail, skipped] fails',
        filters: [{ any: [{ exact: { type: 'b' } }, {}] }],
        event: event(),
        match: false,
      },
      {
        name: 'any of [no filter, fail] fails',
        filters: [{ any: [{ not: {} }, { exact: { type: 'b' } }] }],
        event: event(),
        match: false,
      },
      {
        name: 'all of [no filter, pass] negated fails',
        filters: [{ not: { all: [{ not: {} }, { exact: { type: 'com.a' } }] } }],
        event: event(),
        match: false,
      },
      {
        name: 'exact with an empty value is skipped',
        filters: [{ exact: { type: '' } }],
        event: event(),
        match: true,
      },
      {
        name: 'prefix with an empty key is skipped',
        filters: [{ prefix: { '': 'x' } }],
        event: event(),
        match: true,
      },
      {
        name: 'empty exact map falls through to the next dialect',
        filters: [{ exact: {}, prefix: { type: 'nope' } }],
        event: event(),
        match: false,
      },
      {
        name: 'several dialects: exact is evaluated first',
        filters: [{ exact: { type: 'com.a' }, prefix: { type: 'nope' } }],
        event: event(),
        match: true,
      },
      {
        name: 'several dialects: all before any',
        filters: [{ any: [{ exact: { type: 'nope' } }], all: [{ exact: { type: 'com.a' } }] }],
        event: event(),
        match: true,
      },
      {
        name: 'a null element is skipped',
        filters: [null as unknown as SubscriptionsApiFilter, { exact: { type: 'com.a' } }],
        event: event(),
        match: true,
      },
      {
        name: 'a non-string legacy value is compared as text',
        filter: { attributes: { seq: 5 as unknown as string } },
        event: event({ seq: '5' }),
        match: true,
      },
      {
        name: 'empty all array falls through (skipped)',
        filters: [{ all: [] }],
        event: event(),
        match: true,
      },
      { name: 'cesql true', filters: [{ cesql: 'TRUE' }], event: event(), match: true },
      { name: 'cesql false', filters: [{ cesql: 'FALSE' }], event: event(), match: false },
      {
        name: 'cesql that does not compile fails the element',
        filters: [{ cesql: 'a = (' }],
        event: event(),
        match: false,
      },
      {
        name: 'not(cesql that does not compile) matches',
        filters: [{ not: { cesql: 'a = (' } }],
        event: event(),
        match: true,
      },
      {
        name: "cesql myext = 'x' matches",
        filters: [{ cesql: "myext = 'x'" }],
        event: event({ myext: 'x' }),
        match: true,
      },
      {
        name: 'cesql runtime error inside any fails that branch',
        filters: [{ any: [{ cesql: "myext = 'x'" }, { exact: { type: 'com.a' } }] }],
        event: event(),
        match: true,
      },
    ]);
  });

  it('without options.cesql the built-in CESQL engine evaluates cesql elements', () => {
    const compiled = compileTriggerFilter(undefined, [{ cesql: "type = 'com.a' AND NOT EXISTS myext" }]);
    expect(compiled.match(event())).toBe(true);
    expect(compiled.match(event({ myext: 'x' }))).toBe(false);
    expect(compiled.explain(event()).reasons).toEqual(['filters[0].cesql: expression is true']);
  });

  describe('cesql elements with the built-in engine (CONFORMANCE 3.2, 3.4 rows 7-9, 8 item 7)', () => {
    it.each([
      ["3.4 row 7: myext = 'x' with myext absent", [{ cesql: "myext = 'x'" }], event(), false],
      ['3.4 row 8: EXISTS myext with myext absent', [{ cesql: 'EXISTS myext' }], event(), false],
      [
        "3.4 row 9: not(myext = 'x') with myext absent (inner error fails, not passes)",
        [{ not: { cesql: "myext = 'x'" } }],
        event(),
        true,
      ],
      ["myext = 'x' with myext x", [{ cesql: "myext = 'x'" }], event({ myext: 'x' }), true],
      [
        'an error anywhere fails the element, even when the value is true',
        [{ cesql: "(myext = 'x') OR TRUE" }],
        event(),
        false,
      ],
      [
        'NOT (erroring expression) inside CESQL still fails (error => no match)',
        [{ cesql: "NOT (myext = 'x')" }],
        event(),
        false,
      ],
      ['a non-boolean result is cast: "true" passes', [{ cesql: 'flag' }], event({ flag: 'true' }), true],
      ['a non-boolean result that does not cast fails', [{ cesql: 'type' }], event(), false],
      ['division by zero fails', [{ cesql: 'seq / 0 = 0' }], event({ seq: 1 }), false],
      ['unknown function fails', [{ cesql: 'NOPE(type)' }], event(), false],
      [
        'keywords and functions are case-insensitive, strings are not',
        [{ cesql: "lower(type) = 'com.a' and type like 'com.%'" }],
        event(),
        true,
      ],
      ['string comparison is case-sensitive', [{ cesql: "type = 'COM.A'" }], event(), false],
      [
        'numeric extension compares with an integer literal',
        [{ cesql: 'seq >= 5' }],
        event({ seq: '5' }),
        true,
      ],
      ['does not parse: the element fails', [{ cesql: 'type = (' }], event(), false],
      ['does not parse under not: the not passes', [{ not: { cesql: 'type = (' } }], event(), true],
      [
        'combined with other dialects',
        [{ exact: { type: 'com.a' } }, { cesql: "source LIKE '/s%'" }],
        event(),
        true,
      ],
      [
        'inside any, an erroring branch is a failed branch',
        [{ any: [{ cesql: "myext = 'x'" }, { exact: { type: 'com.a' } }] }],
        event(),
        true,
      ],
    ] as const)('%s', (_name, filters, e, expected) => {
      const compiled = compileTriggerFilter(undefined, filters as unknown as SubscriptionsApiFilter[]);
      expect(compiled.match(e)).toBe(expected);
      expect(compiled.explain(e).matched).toBe(expected);
    });

    it.each([
      ["myext = 'x'", event(), ['filters[0].cesql: missingAttribute error: missing attribute "myext" at 0']],
      ['seq / 0 = 0', event({ seq: 1 }), ['filters[0].cesql: math error: division by zero at 4']],
      [
        'type = (',
        event(),
        ['filters[0].cesql: parse error: unexpected end of expression at 8, so it cannot match'],
      ],
      ['type', event(), ['filters[0].cesql: expression is not true ("com.a")']],
      ["type = 'com.a'", event(), ['filters[0].cesql: expression is true']],
    ] as const)('explain names the CESQL error kind and message: %s', (expression, e, reasons) => {
      expect(compileTriggerFilter(undefined, [{ cesql: expression }]).explain(e).reasons).toEqual(reasons);
    });
  });

  it('a non-boolean or throwing CESQL result fails', () => {
    const weird: CesqlCompiler = () => () => 'yes' as unknown as boolean;
    expect(compileTriggerFilter(undefined, [{ cesql: 'x' }], { cesql: weird }).match(event())).toBe(false);
  });

  it('compiles CESQL once, not per event', () => {
    let compiles = 0;
    const counting: CesqlCompiler = (expression) => {
      compiles++;
      return cesql(expression);
    };
    const compiled = compileTriggerFilter(undefined, [{ cesql: 'TRUE' }, { not: { cesql: 'FALSE' } }], {
      cesql: counting,
    });
    for (let i = 0; i < 10; i++) compiled.match(event());
    expect(compiles).toBe(2);
  });

  describe('explain', () => {
    it.each([
      [
        'legacy mismatch',
        { attributes: { type: 'com.b' } },
        undefined,
        event(),
        false,
        ['filter.attributes.type: "com.a" != "com.b"'],
      ],
      [
        'legacy "" on an unset attribute',
        { attributes: { subject: '' } },
        undefined,
        event(),
        false,
        ['filter.attributes.subject: "" requires a non-empty value, but the attribute is unset or empty'],
      ],
      [
        'legacy missing extension',
        { attributes: { myext: 'x' } },
        undefined,
        event(),
        false,
        ['filter.attributes.myext: attribute is absent'],
      ],
      [
        'legacy ignored when filters is set',
        { attributes: { type: 'b' } },
        [{ exact: { type: 'com.a' } }],
        event(),
        true,
        [
          'filter.attributes: ignored because filters is set',
          'filters[0].exact.type: "com.a" matches "com.a"',
        ],
      ],
      [
        'prefix and suffix mismatches',
        undefined,
        [{ any: [{ prefix: { source: '/x' } }, { suffix: { type: '.v1' } }] }],
        event(),
        false,
        [
          'filters[0].any[0].prefix.source: "/src" does not start with "/x"',
          'filters[0].any[1].suffix.type: "com.a" does not end with ".v1"',
          'filters[0].any: no alternative matched',
        ],
      ],
      [
        'skipped elements and not',
        undefined,
        [{}, { not: { exact: { type: 'com.b' } } }],
        event(),
        true,
        [
          'filters[0]: skipped, no dialect set',
          'filters[1].not.exact.type: "com.a" != "com.b"',
          'filters[1].not: inner filter failed, so this matches',
        ],
      ],
      [
        'cesql evaluation error',
        undefined,
        [{ cesql: "myext = 'x'" }],
        event(),
        false,
        ['filters[0].cesql: evaluation error: missing attribute myext'],
      ],
      [
        'invalid cesql fails the element',
        undefined,
        [{ cesql: 'a = (' }],
        event(),
        false,
        ['filters[0].cesql: invalid expression: unexpected token at 0 in "a = (", so it cannot match'],
      ],
      ['no filter', undefined, undefined, event(), true, ['no applicable filter: every event matches']],
      [
        'empty exact value',
        undefined,
        [{ exact: { type: '' } }],
        event(),
        true,
        [
          'filters[0]: skipped, exact has an empty attribute name or value ("type")',
          'no applicable filter: every event matches',
        ],
      ],
    ] as const)('%s', (_name, filter, filters, e, matched, reasons) => {
      const result = compileTriggerFilter(filter, filters as SubscriptionsApiFilter[] | undefined, {
        cesql,
      }).explain(e);
      expect(result).toEqual({ matched, reasons });
    });
  });
});

describe('triggerIndexKeys', () => {
  it.each([
    ['no filter', undefined, undefined, {}],
    [
      'legacy type, source and an extension',
      { attributes: { type: 't', source: 's', myext: 'x' } },
      undefined,
      { type: 't', source: 's', extensions: { myext: 'x' } },
    ],
    ['legacy "" pins nothing', { attributes: { type: '' } }, undefined, {}],
    [
      'filters win over legacy',
      { attributes: { type: 'legacy' } },
      [{ prefix: { type: 'x' } }],
      { typePrefix: 'x' },
    ],
    ['empty filters fall back to legacy', { attributes: { type: 'legacy' } }, [], { type: 'legacy' }],
    [
      'top-level exact',
      undefined,
      [{ exact: { type: 't' } }, { exact: { source: 's' } }],
      { type: 't', source: 's' },
    ],
    ['exact nested in all', undefined, [{ all: [{ all: [{ exact: { source: 's' } }] }] }], { source: 's' }],
    [
      'exact under any or not pins nothing',
      undefined,
      [{ any: [{ exact: { type: 't' } }] }, { not: { exact: { source: 's' } } }],
      {},
    ],
    [
      'suffix pins nothing; a type prefix and a CESQL type equality are kept',
      undefined,
      [{ prefix: { type: 't' } }, { suffix: { source: 's' } }, { cesql: "type = 't'" }],
      { type: 't', typePrefix: 't' },
    ],
    [
      'CESQL: conjuncts of the top-level AND',
      undefined,
      [{ cesql: "source = '/s' AND type LIKE 'com.x.%' AND seq > 3 AND tenant = 'a'" }],
      { source: '/s', typePrefix: 'com.x.', extensions: { tenant: 'a' } },
    ],
    [
      'extension equalities from exact and legacy attributes; context attributes other than type/source are not indexed',
      { attributes: { tenant: 'a', subject: 's' } },
      undefined,
      { extensions: { tenant: 'a' } },
    ],
    ['CESQL: an OR pins nothing', undefined, [{ cesql: "type = 'a' OR type = 'b'" }], {}],
    [
      'CESQL: LIKE without wildcards is an equality',
      undefined,
      [{ cesql: "type LIKE 'exact.type'" }],
      { type: 'exact.type' },
    ],
    [
      'CESQL: NOT LIKE and escapes pin nothing beyond the literal part',
      undefined,
      [{ cesql: "type NOT LIKE 'a%' AND source LIKE 'x\\%y%'" }],
      {},
    ],
    [
      'the longest type prefix on the AND spine is kept',
      undefined,
      [{ prefix: { type: 'com.' } }, { all: [{ prefix: { type: 'com.example.' } }] }],
      { typePrefix: 'com.example.' },
    ],
    [
      'a prefix under any pins nothing',
      undefined,
      [{ any: [{ prefix: { type: 'a' } }, { prefix: { type: 'b' } }] }],
      {},
    ],
    [
      'an element whose exact is shadowed by precedence still counts',
      undefined,
      [{ exact: { type: 't' }, any: [{}] }],
      { type: 't' },
    ],
    ['an exact with an empty value is skipped', undefined, [{ exact: { type: 't', source: '' } }], {}],
  ] as const)('%s', (_name, filter, filters, expected) => {
    expect(triggerIndexKeys(filter, filters as SubscriptionsApiFilter[] | undefined)).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// Property test: the compiled predicate agrees with a plain interpreter of CONFORMANCE 3.1/3.2.
// ---------------------------------------------------------------------------------------------

type Tri = 'pass' | 'fail' | 'none';
const CONTEXT = [
  'specversion',
  'type',
  'source',
  'subject',
  'id',
  'time',
  'dataschema',
  'schemaurl',
  'datacontenttype',
  'datamediatype',
  'datacontentencoding',
];

function referenceValue(e: CloudEvent, name: string): string | undefined {
  const text = (v: unknown) =>
    typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  if (name === 'datamediatype') {
    const ct = text(e.attributes['datacontenttype']);
    return ct === undefined ? '' : ct.split(';')[0]!.trim().toLowerCase();
  }
  if (name === 'dataschema' || name === 'schemaurl') {
    return text(e.attributes['dataschema']) ?? text(e.attributes['schemaurl']) ?? '';
  }
  const own = Object.prototype.hasOwnProperty.call(e.attributes, name) ? text(e.attributes[name]) : undefined;
  if (CONTEXT.includes(name)) return own ?? '';
  return own;
}

function referenceElement(f: SubscriptionsApiFilter, e: CloudEvent): Tri | 'skip' {
  for (const kind of ['exact', 'prefix', 'suffix'] as const) {
    const map = f[kind];
    if (map && Object.keys(map).length > 0) {
      if (Object.entries(map).some(([k, v]) => k === '' || v === '')) return 'skip';
      for (const [k, v] of Object.entries(map)) {
        const actual = referenceValue(e, k);
        if (actual === undefined) return 'fail';
        const ok =
          kind === 'exact' ? actual === v : kind === 'prefix' ? actual.startsWith(v) : actual.endsWith(v);
        if (!ok) return 'fail';
      }
      return 'pass';
    }
  }
  if (f.all && f.all.length > 0) return referenceAll(f.all, e);
  if (f.any && f.any.length > 0) {
    const results = f.any.map((x) => referenceElement(x, e)).filter((r) => r !== 'skip');
    if (results.includes('pass')) return 'pass';
    return results.includes('fail') ? 'fail' : 'none';
  }
  if (f.not) {
    const inner = referenceElement(f.not, e);
    return inner === 'pass' ? 'fail' : inner === 'fail' ? 'pass' : 'none';
  }
  if (f.cesql) {
    const predicate = CESQL_EXPRESSIONS[f.cesql];
    // An expression that does not compile fails its element (the built-in engine and overrides alike).
    if (!predicate) return 'fail';
    try {
      return predicate(e) === true ? 'pass' : 'fail';
    } catch {
      return 'fail';
    }
  }
  return 'skip';
}

function referenceAll(filters: SubscriptionsApiFilter[], e: CloudEvent): Tri {
  const results = filters.map((x) => referenceElement(x, e)).filter((r) => r !== 'skip');
  if (results.includes('fail')) return 'fail';
  return results.includes('pass') ? 'pass' : 'none';
}

function reference(
  filter: TriggerAttributesFilter | undefined,
  filters: SubscriptionsApiFilter[] | undefined,
  e: CloudEvent,
): boolean {
  if (filters && filters.length > 0) return referenceAll(filters, e) !== 'fail';
  const attrs = filter?.attributes ?? {};
  for (const [k, v] of Object.entries(attrs)) {
    const actual = referenceValue(e, k);
    if (actual === undefined) return false;
    if (v === '' ? actual === '' : actual !== v) return false;
  }
  return true;
}

/** Filter entries with values that have a fair chance of matching the generated events. */
const arbEntry = fc.oneof(
  fc.tuple(fc.constant('type'), fc.constantFrom('', 'a', 'ab', 'com.a', 'com.', '.v1', 'b')),
  fc.tuple(fc.constant('source'), fc.constantFrom('', '/x', '/xyz', 'ab', 'b')),
  fc.tuple(fc.constant('subject'), fc.constantFrom('', 'a')),
  fc.tuple(fc.constant('myext'), fc.constantFrom('', 'x', 'a')),
  fc.tuple(fc.constant('seq'), fc.constantFrom('5', '12', '1')),
  fc.tuple(fc.constant('flag'), fc.constantFrom('true', 'false')),
  fc.tuple(fc.constant('datamediatype'), fc.constantFrom('', 'application/json')),
  fc.tuple(fc.constant('dataschema'), fc.constantFrom('', 'a')),
  fc.tuple(fc.constant(''), fc.constant('x')),
);
const arbMap = fc
  .array(arbEntry, { maxLength: 2 })
  .map((entries) => Object.fromEntries(entries) as Record<string, string>);

const arbEvent: fc.Arbitrary<CloudEvent> = fc
  .record(
    {
      type: fc.constantFrom('a', 'ab', 'com.a', 'com.a.v1', 'b'),
      source: fc.constantFrom('/x', '/xyz', '/src', 'ab'),
      subject: fc.constantFrom('', 'a', 'ab'),
      myext: fc.constantFrom('', 'a', 'x', '/xyz'),
      seq: fc.oneof(fc.constantFrom(5, 12, 123, -1), fc.constantFrom('5', '12')),
      flag: fc.boolean(),
      datacontenttype: fc.constantFrom('application/json', 'Application/JSON; charset=utf-8', 'text/plain'),
      schemaurl: fc.constantFrom('a', 'b'),
      dataschema: fc.constantFrom('a', 'ab'),
    },
    { requiredKeys: ['type', 'source'] },
  )
  .map((attrs) => ({
    attributes: { specversion: '1.0', id: '1', ...attrs } as Record<string, AttributeValue>,
    data: undefined,
  }));

const { element: arbElement } = fc.letrec<{ element: SubscriptionsApiFilter }>((tie) => ({
  element: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ exact: arbMap }),
    fc.record({ prefix: arbMap }),
    fc.record({ suffix: arbMap }),
    fc.record({ cesql: fc.constantFrom(...Object.keys(CESQL_EXPRESSIONS), 'bad (', '') }),
    fc.constant({}),
    fc.constant({ not: {} }),
    fc.record({ all: fc.array(tie('element'), { maxLength: 3 }) }),
    fc.record({ any: fc.array(tie('element'), { maxLength: 3 }) }),
    fc.record({ not: tie('element') }),
    // Objects with several dialects exercise the precedence order.
    fc.record(
      { exact: arbMap, prefix: arbMap, all: fc.array(tie('element'), { maxLength: 2 }), not: tie('element') },
      { requiredKeys: [] },
    ),
  ),
}));

describe('compileTriggerFilter property', () => {
  it('agrees with a reference interpreter on random filters and events', () => {
    fc.assert(
      fc.property(
        fc.option(fc.record({ attributes: arbMap }, { requiredKeys: [] }), { nil: undefined }),
        fc.option(fc.array(arbElement, { maxLength: 4 }), { nil: undefined }),
        fc.array(arbEvent, { minLength: 1, maxLength: 5 }),
        (filter, filters, events) => {
          const compiled = compileTriggerFilter(filter, filters, { cesql });
          for (const e of events) {
            const expected = reference(filter, filters, e);
            expect(compiled.match(e)).toBe(expected);
            expect(compiled.explain(e).matched).toBe(expected);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('index keys are sound: every matching event carries them', () => {
    fc.assert(
      fc.property(
        fc.option(fc.record({ attributes: arbMap }, { requiredKeys: [] }), { nil: undefined }),
        fc.option(fc.array(arbElement, { maxLength: 4 }), { nil: undefined }),
        fc.array(arbEvent, { minLength: 1, maxLength: 5 }),
        (filter, filters, events) => {
          const keys = triggerIndexKeys(filter, filters);
          const compiled = compileTriggerFilter(filter, filters, { cesql });
          for (const e of events) {
            if (!compiled.match(e)) continue;
            if (keys.type !== undefined) expect(String(e.attributes['type'])).toBe(keys.type);
            if (keys.source !== undefined) expect(String(e.attributes['source'])).toBe(keys.source);
            if (keys.typePrefix !== undefined)
              expect(String(e.attributes['type']).startsWith(keys.typePrefix)).toBe(true);
            for (const [name, value] of Object.entries(keys.extensions ?? {}))
              expect(String(e.attributes[name])).toBe(value);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});
