import type { AttributeValue, CloudEvent } from '@eventing/cloudevents';
import { cesqlSyntaxError, parseCesql } from './parse';
import type { CesqlErrorKind, CesqlExpression, CesqlValue } from './types';

const event = (attributes: Record<string, AttributeValue> = {}): CloudEvent => ({
  attributes: { specversion: '1.0', id: 'id-1', source: '/src', type: 'com.example.a', ...attributes },
  data: undefined,
});

function compile(expression: string): CesqlExpression {
  const parsed = parseCesql(expression);
  if (!parsed.ok) throw new Error(`${expression}: ${parsed.errors[0]?.message}`);
  return parsed.expression;
}

/** [expression, expected value, expected error kinds in order, event attributes]. */
type Row = [string, CesqlValue, CesqlErrorKind[]?, Record<string, AttributeValue>?];

function table(rows: Row[]) {
  it.each(rows.map((row) => [`${row[0]}${row[3] ? ` with ${JSON.stringify(row[3])}` : ''}`, row] as const))(
    '%s',
    (_name, [expression, value, kinds = [], attributes]) => {
      const result = compile(expression).evaluate(event(attributes));
      expect(result.value).toBe(value);
      expect(result.errors.map((e) => e.kind)).toEqual(kinds);
    },
  );
}

describe('parse errors carry the character position (spec 2, 3.3 ParseError)', () => {
  it.each([
    ["source = 'x' )", "unexpected token ')' at 13"],
    ['a = (', 'unexpected end of expression at 5'],
    ['(a = 1', 'unexpected end of expression at 6'],
    ['', 'unexpected end of expression at 0'],
    ['1 2', "unexpected token '2' at 2"],
    ['a = = b', "unexpected token '=' at 4"],
    ['a NOT b', "unexpected token 'NOT' at 2"],
    ['a NOT', "unexpected token 'NOT' at 2"],
    ['+ 5', "unexpected token '+' at 0"],
    ["LENGTH('a',)", "unexpected token ')' at 11"],
    ['F1(x)', "unexpected token '(' at 2"],
    ["'abc' 'def'", 'unexpected string literal at 6'],
    ['2147483648', 'integer literal 2147483648 is out of the 32-bit range at 0'],
    ['a = -2147483649', 'integer literal -2147483649 is out of the 32-bit range at 4'],
    ["'abc", 'unterminated string literal at 0'],
    ["x = 'it\\'", 'unterminated string literal at 4'],
    ['a @ b', 'unexpected character "@" at 2'],
    ['a.b = 1', 'unexpected character "." at 1'],
    ['a ! b', 'unexpected character "!" at 2'],
    ['x LIKE y', 'LIKE expects a string literal pattern at 7'],
    ['x NOT LIKE 5', 'LIKE expects a string literal pattern at 11'],
    ['x IN ()', 'IN expects a non-empty set at 2'],
    ['x IN 1', "unexpected token '1' at 5"],
    ["EXISTS 'a'", 'EXISTS expects an attribute name at 7'],
    ['EXISTS AND', 'EXISTS expects an attribute name at 7'],
    ['EXISTS my_ext', "invalid attribute name 'my_ext' at 7"],
    ['my_ext = 1', "invalid attribute name 'my_ext' at 0"],
    ['TRUE AND', 'unexpected end of expression at 8'],
  ])('%j -> %s', (expression, message) => {
    const parsed = parseCesql(expression);
    expect(parsed).toEqual({
      ok: false,
      errors: [{ kind: 'parse', message, position: Number(/at (\d+)$/.exec(message)?.[1]) }],
    });
    expect(cesqlSyntaxError(expression)).toBe(message);
  });

  it('refuses trees deeper than 500 levels instead of exhausting the stack', () => {
    expect(cesqlSyntaxError(`${'('.repeat(600)}1${')'.repeat(600)}`)).toBe(
      'expression nests deeper than 500 levels at 500',
    );
    expect(cesqlSyntaxError(`${'NOT '.repeat(600)}TRUE`)).toMatch(/nests deeper than 500 levels/);
    expect(cesqlSyntaxError(`${'NOT '.repeat(400)}TRUE`)).toBeUndefined();
  });

  it('a long flat chain is not a deep tree', () => {
    expect(cesqlSyntaxError(Array.from({ length: 400 }, (_, i) => `a${i} = 1`).join(' OR '))).toBeUndefined();
    expect(cesqlSyntaxError(Array.from({ length: 600 }, (_, i) => `a${i} = 1`).join(' OR '))).toMatch(
      /nests deeper/,
    );
  });

  it('cesqlSyntaxError is undefined for valid expressions, including unknown functions (a runtime MissingFunctionError, spec 3.5)', () => {
    expect(cesqlSyntaxError("type = 'x' AND EXISTS subject")).toBeUndefined();
    expect(cesqlSyntaxError('NOPE(1)')).toBeUndefined();
  });

  it('a non-string input is a parse error', () => {
    expect(parseCesql(42 as unknown as string).ok).toBe(false);
  });
});

describe('literals and identifiers (spec 2.2)', () => {
  table([
    ["'it''s'", "it's"],
    ["'it\\'s'", "it's"],
    ['"say ""hi"""', 'say "hi"'],
    ['"say \\"hi\\""', 'say "hi"'],
    ['"it\'s"', "it's"],
    ["'a\\b'", 'a\\b'],
    ["'a\\\\'", 'a\\\\'],
    ["'tab\there'", 'tab\there'],
    ["'é😀'", 'é😀'],
    ['+7', 7],
    ['-0', 0],
    ['007', 7],
    ['-2147483648', -2147483648],
    ['2147483647', 2147483647],
    ['123abc', 'v', [], { '123abc': 'v' }],
    ['MyExt', 'v', [], { myext: 'v' }],
    [' \t\r\n TRUE \n', true],
  ]);
});

describe('case-insensitivity (spec 2, TCK case_sensitivity.yaml)', () => {
  table([
    ["TYPE = 'com.example.a' and exists ID", true],
    ["Type = 'COM.EXAMPLE.A'", false],
    ["length('ab') + Length('c') + LENGTH('d')", 4],
    ["concat_ws('-', 'a', 'b') = Concat_Ws('-', 'a', 'b')", true],
    ["'abc' like 'A%'", false],
    ["'abc' Not Like 'A%'", true],
    ['1 In (1) XoR fAlSe', true],
    ['not FALSE', true],
  ]);
});

describe('operator precedence and associativity (spec 3.6)', () => {
  table([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['100 / 10 / 5', 2],
    ['2 * 3 % 4', 2],
    ['-2 * 3', -6],
    ['- 2 + 3', 1],
    ['-(2 + 3)', -5],
    ['--5', 5],
    ['5-3', 2],
    ['5 - -3', 8],
    ['1 + 1 = 2', true],
    ['1 < 2 = TRUE', true],
    // AND, OR and XOR share one level and group left to right: (TRUE OR TRUE) AND FALSE.
    ['TRUE OR TRUE AND FALSE', false],
    ['FALSE AND FALSE OR TRUE', true],
    ['TRUE XOR TRUE AND FALSE', false],
    ['TRUE OR (TRUE AND FALSE)', true],
    ['1 = 1 AND 2 = 2', true],
    // NOT binds tighter than `=`: (NOT 'true') = 'TRUE' compares "false" with "TRUE".
    ["NOT 'true' = 'TRUE'", false],
    ["NOT ('true' = 'TRUE')", true],
    // LIKE binds tighter than comparison; IN tighter than arithmetic.
    ["'abc' LIKE 'a%' = TRUE", true],
    ['1 + 1 IN (1)', 2],
    ["2 * 3 LIKE '6'", 0],
    ['NOT EXISTS myext', true],
    ["LENGTH('ab') * 2", 4],
  ]);
});

describe('implicit and explicit casts (spec 3.7)', () => {
  table([
    ["INT('+5')", 5],
    ["INT('007')", 7],
    ["INT('-2147483648')", -2147483648],
    ["INT(' 5')", 0, ['cast']],
    ["INT('1.5')", 0, ['cast']],
    ["INT('2147483648')", 0, ['cast']],
    ["INT('')", 0, ['cast']],
    ["INT('-')", 0, ['cast']],
    ["INT('+')", 0, ['cast']],
    ["INT('-0')", 0],
    ["INT('2147483647')", 2147483647],
    ["INT('-2147483649')", 0, ['cast']],
    ["INT('99999999999999999999')", 0, ['cast']],
    ["INT('٣')", 0, ['cast']],
    ["INT('1e3')", 0, ['cast']],
    ["BOOL('TrUe')", true],
    ["BOOL('yes')", false, ['cast']],
    ['BOOL(-1)', true],
    ['STRING(-12)', '-12'],
    ['STRING(FALSE)', 'false'],
    ["'5' + 3", 8],
    // The operator's own failed cast yields 0 and the evaluation goes on (removed TCK case "'5avc4' + 10").
    ["'5avc4' + 10", 10, ['cast']],
    // `=` casts the left operand to the right operand's type.
    ["5 = '5'", true],
    ["'5' = 5", true],
    ["'05' = 5", true],
    ["5 = '05'", false],
    ['TRUE = 1', true],
    ['2 = TRUE', true],
    ['0 = FALSE', true],
    ["'abc' = 1", false, ['cast']],
    ["'abc' != 1", true, ['cast']],
    ["'abc' <> 0", false, ['cast']],
    // Relational operators are Integer-only: strings compare as numbers.
    ["'10' > '9'", true],
    ["'abc' < 5", true, ['cast']],
    ['TRUE > FALSE', true],
    ["NOT 'yes'", true, ['cast']],
    ["'maybe' AND TRUE", false, ['cast']],
    ["'maybe' OR TRUE", true, ['cast']],
    ['-FALSE', 0],
    ['5 + TRUE', 6],
  ]);
});

describe('event attribute types (spec 3.2)', () => {
  table([
    ['seq = 5', true, [], { seq: '5' }],
    ['seq = 5', true, [], { seq: 5 }],
    ["seq = '5'", true, [], { seq: 5 }],
    ['seq + 1', 11, [], { seq: 10 }],
    ['seq + 1', 11, [], { seq: '10' }],
    ['flag', true, [], { flag: true }],
    ["flag = 'true'", true, [], { flag: true }],
    ['flag AND seq > 1', true, [], { flag: 'TRUE', seq: '2' }],
    // Numbers that are not 32-bit integers are Strings.
    ["ratio = '1.5'", true, [], { ratio: 1.5 }],
    ['big', '10000000000', [], { big: 1e10 }],
    ['big + 1', 1, ['cast'], { big: 1e10 }],
    ["time LIKE '2024-%'", true, [], { time: '2024-01-02T03:04:05Z' }],
    // Object.prototype members are not attributes.
    ['constructor', false, ['missingAttribute']],
    ['EXISTS constructor', false],
    ['EXISTS specversion AND EXISTS id AND EXISTS source AND EXISTS type', true],
    ['EXISTS subject', true, [], { subject: '' }],
  ]);
});

describe('arithmetic and 32-bit integers (spec 3.1, 3.4.2)', () => {
  table([
    ['2147483647 + 1', -2147483648],
    ['-2147483648 - 1', 2147483647],
    ['65536 * 65536', 0],
    ['-2147483648 / -1', -2147483648],
    ['-2147483648 % -1', 0],
    ['-(-2147483648)', -2147483648],
    ['7 / -2', -3],
    ['-7 / 2', -3],
    ['-7 % 3', -1],
    ['7 % -3', 1],
    ['1 / 0', 0, ['math']],
    ['1 % 0', 0, ['math']],
    ['seq / 0', 0, ['math'], { seq: 3 }],
    ['ABS(-2147483648)', 2147483647, ['math']],
    ['ABS(-7) + ABS(7)', 14],
    ["ABS('-3')", 3],
  ]);
});

describe('LIKE (spec 3.4.3)', () => {
  table([
    ["'a%' LIKE 'a\\%'", true],
    ["'ab' LIKE 'a\\%'", false],
    ["'a_' LIKE 'a\\_'", true],
    ["'ab' LIKE 'a\\_'", false],
    ["'a\\b' LIKE 'a\\b'", true],
    ["'a\\%' LIKE 'a\\\\%'", true],
    ["'' LIKE '%'", true],
    ["'' LIKE ''", true],
    ["'' LIKE '_'", false],
    ["'😀' LIKE '_'", true],
    ["'a😀b' LIKE 'a_b'", true],
    ["'a.c' LIKE 'a.c'", true],
    ["'abc' LIKE 'a.c'", false],
    ["'x(y)+' LIKE '%(_)+'", true],
    ["'line1\nline2' LIKE 'line1%'", true],
    ["'line1\nline2' LIKE 'line1_line2'", true],
    ["'abc' LIKE 'ABC'", false],
    ["'abcabc' LIKE '%bc'", true],
    ["'abcabd' LIKE '%b_'", true],
    ["'abc' LIKE '%b%'", true],
    ["'abc' LIKE '%%'", true],
    ["'abc' NOT LIKE 'a%'", false],
    ["123 LIKE '1%'", true],
    ["type LIKE 'com.%.a'", true],
  ]);
});

describe('IN (spec 3.4.5: elements cast to the left operand type)', () => {
  table([
    ["1 IN ('a', 1)", true, ['cast']],
    ["0 IN ('x')", true, ['cast']],
    ["5 IN ('x')", false, ['cast']],
    ["'a' IN (1, 'a')", true],
    ["'1' IN (1, 2)", true],
    ['TRUE IN (1)', true],
    ['1 NOT IN (2, 3)', true],
    ['1 NOT IN (1)', false],
    ['seq IN (1, 2)', true, [], { seq: '2' }],
    ['seq IN (1, 2)', true, [], { seq: 2 }],
    ["seq IN (1, 'x')", false, ['cast'], { seq: 3 }],
    ["type IN (source, 'com.example.a')", true],
    ['type IN (source, id)', false],
    ["seq IN (other, '1')", true, ['cast'], { seq: 1, other: 'z' }],
    ['missing IN (1)', false, ['missingAttribute']],
    ['missing NOT IN (1)', false, ['missingAttribute']],
    ['1 IN (missing, 1)', false, ['missingAttribute']],
    ['1 IN (1 / 0, 1)', false, ['math']],
  ]);
});

describe('built-in functions (spec 3.5)', () => {
  table([
    ["LENGTH('😀é')", 2],
    ['LENGTH(12345)', 5],
    ["CONCAT('a', 1, TRUE)", 'a1true'],
    ["CONCAT_WS('-', 'a', 'b', 'c')", 'a-b-c'],
    ["CONCAT_WS(1, 'a', 'b')", 'a1b'],
    ["LOWER('ÀB')", 'àb'],
    ["UPPER('straße')", 'STRASSE'],
    ["TRIM('\u0085 x \u3000')", 'x'],
    ["TRIM('\uFEFFx')", '\uFEFFx'],
    ["LEFT('😀ab', 1)", '😀'],
    ["LEFT('abc', 0)", ''],
    ["LEFT('abc', '2')", 'ab'],
    ["LEFT('abc', 'x')", '', ['cast']],
    ["RIGHT('ab😀', 1)", '😀'],
    ["RIGHT('abc', 0)", ''],
    ["RIGHT('abc', -1)", 'abc', ['functionEvaluation']],
    ["SUBSTRING('a😀b', 2, 1)", '😀'],
    ["SUBSTRING('abc', 3)", 'c'],
    ["SUBSTRING('abc', -3)", 'abc'],
    ["SUBSTRING('abc', 4)", '', ['functionEvaluation']],
    ["SUBSTRING('', 0)", ''],
    ["SUBSTRING('', 1)", '', ['functionEvaluation']],
    ["SUBSTRING('abc', 2, 0)", ''],
    ["SUBSTRING('abc', 2, 100)", 'bc'],
    ["SUBSTRING('abc', 1, -1)", '', ['functionEvaluation']],
    ["SUBSTRING('abc', -2, 1)", 'b'],
    ['INT(TRUE) + INT(FALSE)', 1],
    ["IS_INT('-12')", true],
    ["IS_INT('1x')", false],
    ['IS_INT(TRUE)', true],
    ["IS_BOOL('False')", true],
    ["IS_BOOL('no')", false],
    ['IS_BOOL(0)', true],
    ['IS_INT(missing)', false, ['missingAttribute']],
  ]);
});

describe('unknown functions and wrong arity: MissingFunctionError at evaluation, value false (spec 3.5)', () => {
  table([
    ['NOPE(1)', false, ['missingFunction']],
    ['nope()', false, ['missingFunction']],
    ['LENGTH()', false, ['missingFunction']],
    ["LENGTH('a', 'b')", false, ['missingFunction']],
    ["SUBSTRING('a')", false, ['missingFunction']],
    ["SUBSTRING('a', 1, 1, 1)", false, ['missingFunction']],
    ['ABS()', false, ['missingFunction']],
    // The call's arguments are not evaluated: dispatch failed before.
    ['NOPE(missing)', false, ['missingFunction']],
    ['LENGTH(NOPE())', 0, ['missingFunction']],
    ['NOT NOPE()', false, ['missingFunction']],
  ]);

  it('names the function and the arity in the message, with its position', () => {
    expect(compile("TRUE AND lower('a', 'b') = 'a'").evaluate(event()).errors).toEqual([
      { kind: 'missingFunction', message: 'function LOWER does not take 2 arguments at 9', position: 9 },
    ]);
    expect(compile('x_y(1)').evaluate(event()).errors).toEqual([
      { kind: 'missingFunction', message: 'unknown function X_Y at 0', position: 0 },
    ]);
  });
});

describe('missing attributes: the referencing sub-expression yields its zero value (spec 3.2)', () => {
  table([
    ['missing', false, ['missingAttribute']],
    ["missing = 'x'", false, ['missingAttribute']],
    ["missing != 'x'", false, ['missingAttribute']],
    ['missing * 5', 0, ['missingAttribute']],
    ['1 / missing', 0, ['missingAttribute']],
    ['missing % 0', 0, ['missingAttribute']],
    ['-missing', 0, ['missingAttribute']],
    ["missing LIKE '%'", false, ['missingAttribute']],
    ["missing NOT LIKE 'x'", false, ['missingAttribute']],
    ["CONCAT('a', missing)", '', ['missingAttribute']],
    ['LENGTH(missing)', 0, ['missingAttribute']],
    ['EXISTS missing', false],
    ['TRUE OR missing', true],
    ['FALSE AND missing', false],
    ['TRUE AND missing', false, ['missingAttribute']],
    ['missing AND FALSE', false, ['missingAttribute']],
    ['missing OR TRUE', false, ['missingAttribute']],
    ['missing XOR TRUE', false, ['missingAttribute']],
    ['a = 1 OR b = 2', false, ['missingAttribute', 'missingAttribute']],
  ]);

  it('reports the attribute name and position', () => {
    expect(compile("type = 'x' OR myext = 'y'").evaluate(event()).errors).toEqual([
      { kind: 'missingAttribute', message: 'missing attribute "myext" at 14', position: 14 },
    ]);
  });
});

describe('v1 complete evaluation: errors deeper inside still produce a value (spec 3.3, 4.1)', () => {
  table([
    ["NOT (missing = 'x')", true, ['missingAttribute']],
    ["(missing = 'x') OR TRUE", true, ['missingAttribute']],
    ["(myext = 'x') OR type = 'com.example.a'", true, ['missingAttribute']],
    ["UPPER(missing) = ''", true, ['missingAttribute']],
    ['TRUE AND (1 != 1 / 0)', false, ['math']],
    ['NOT (1 != 1 / 0)', true, ['math']],
    ["LENGTH(CONCAT('ab', STRING(1 / 0))) + 1", 3, ['math']],
    // ABS returns 2147483647 with its error; the `+` above it then yields its zero value.
    ['ABS(-2147483648) + 1', 0, ['math']],
    ['ABS(-2147483648)', 2147483647, ['math']],
    ["(1 / 0 = 0) XOR (INT('x') = 0)", false, ['math', 'cast']],
    [
      "(1 / 0) + INT('x') + (a = 1) + NOPE() + LEFT('a', -1)",
      0,
      ['math', 'cast', 'missingAttribute', 'missingFunction', 'functionEvaluation'],
    ],
  ]);

  it('one expression raises each of the six error kinds (parse apart)', () => {
    const { errors } = compile("(1 / 0) + INT('x') + (a = 1) + NOPE() + LEFT('a', -1)").evaluate(event());
    expect(errors.map((e) => [e.kind, e.position])).toEqual([
      ['math', 3],
      ['cast', 10],
      ['missingAttribute', 22],
      ['missingFunction', 31],
      ['functionEvaluation', 40],
    ]);
    expect(parseCesql('(').ok).toBe(false);
  });

  it('constant sub-expressions with errors report them on every evaluation', () => {
    const expression = compile('1 / 0');
    expect(expression.evaluate(event()).errors).toHaveLength(1);
    expect(expression.evaluate(event()).errors).toHaveLength(1);
  });

  it('no errors: the errors list is empty', () => {
    expect(compile("type = 'com.example.a'").evaluate(event())).toEqual({ value: true, errors: [] });
  });
});

describe('matches(): boolean true, cast per spec 3.7, and no error (spec 1.2; CONFORMANCE 3.2, 3.3)', () => {
  it.each([
    ['TRUE', {}, true],
    ['FALSE', {}, false],
    ["'true'", {}, true],
    ["'yes'", {}, false],
    ['1', {}, true],
    ['0', {}, false],
    ['flag', { flag: 'TRUE' }, true],
    ["type = 'com.example.a'", {}, true],
    ["myext = 'x'", {}, false],
    ['EXISTS myext', {}, false],
    ["NOT (myext = 'x')", {}, false],
    ["(myext = 'x') OR TRUE", {}, false],
    ["TRUE OR myext = 'x'", {}, true],
    ['ABS(-2147483648) > 0', {}, false],
    ["'a' IN (1, 'a')", {}, true],
    ["1 IN ('a', 1)", {}, false],
    ["seq > 3 AND source LIKE '/s%'", { seq: '4' }, true],
  ] as const)('%s on %j -> %s', (expression, attributes, expected) => {
    expect(compile(expression).matches(event(attributes))).toBe(expected);
  });

  it('a failed evaluation does not leak into the next one', () => {
    const expression = compile("myext = 'x'");
    expect(expression.matches(event())).toBe(false);
    expect(expression.matches(event({ myext: 'x' }))).toBe(true);
    expect(compile('1 / 0 = 0').matches(event())).toBe(false);
    expect(compile('TRUE').matches(event())).toBe(true);
  });

  it('keeps the source text', () => {
    expect(compile(' TRUE ').source).toBe(' TRUE ');
  });
});
