import type { AttributeValue, CloudEvent } from '@eventing/cloudevents';
import fc from 'fast-check';
import type { BinaryOperator, CesqlNode } from './ast';
import { parseCesql } from './parse';
import { parseTree } from './parser';
import type { CesqlErrorKind, CesqlValue } from './types';

// ---------------------------------------------------------------------------------------------
// A straightforward tree-walking reference of the semantics in README "Errors" (spec 3.2-3.7),
// written independently of the compiled engine.
// ---------------------------------------------------------------------------------------------

type Type = 'String' | 'Integer' | 'Boolean';
const typeOf = (v: CesqlValue): Type =>
  typeof v === 'string' ? 'String' : typeof v === 'number' ? 'Integer' : 'Boolean';
const zeroOf = (t: Type): CesqlValue => (t === 'String' ? '' : t === 'Integer' ? 0 : false);
const wrap = (n: number) => (((n % 2 ** 32) + 2 ** 32 + 2 ** 31) % 2 ** 32) - 2 ** 31;

/** [cast value, cast failed]. */
function cast(v: CesqlValue, t: Type): [CesqlValue, boolean] {
  if (typeOf(v) === t) return [v, false];
  if (t === 'String') return [String(v), false];
  if (t === 'Integer') {
    if (typeof v === 'boolean') return [v ? 1 : 0, false];
    if (/^[+-]?[0-9]+$/.test(v as string)) {
      const n = Number(v) + 0;
      if (n >= -(2 ** 31) && n < 2 ** 31) return [n, false];
    }
    return [0, true];
  }
  if (typeof v === 'number') return [v !== 0, false];
  const lower = (v as string).toLowerCase();
  return lower === 'true' ? [true, false] : lower === 'false' ? [false, false] : [false, true];
}

function likeMatches(text: string, pattern: string): boolean {
  const t = Array.from(text);
  const p: (string | { wildcard: string })[] = [];
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '\\' && (chars[i + 1] === '%' || chars[i + 1] === '_')) p.push(chars[++i] as string);
    else if (c === '%' || c === '_') p.push({ wildcard: c });
    else p.push(c);
  }
  const memo = new Map<string, boolean>();
  const match = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    if (memo.has(key)) return memo.get(key) as boolean;
    let result: boolean;
    if (j === p.length) result = i === t.length;
    else {
      const part = p[j] as string | { wildcard: string };
      if (typeof part === 'object' && part.wildcard === '%')
        result = match(i, j + 1) || (i < t.length && match(i + 1, j));
      else if (typeof part === 'object') result = i < t.length && match(i + 1, j + 1);
      else result = i < t.length && t[i] === part && match(i + 1, j + 1);
    }
    memo.set(key, result);
    return result;
  };
  return match(0, 0);
}

interface RefFunction {
  params: (Type | 'Any')[];
  variadic?: Type;
  returns: Type;
  run(args: CesqlValue[], raise: (kind: CesqlErrorKind) => void): CesqlValue;
}
const cp = (s: CesqlValue | undefined) => Array.from(s as string);
const REF_FUNCTIONS: Record<string, RefFunction[]> = {
  ABS: [
    {
      params: ['Integer'],
      returns: 'Integer',
      run: ([x], raise) => (x === -(2 ** 31) ? (raise('math'), 2 ** 31 - 1) : Math.abs(x as number)),
    },
  ],
  LENGTH: [{ params: ['String'], returns: 'Integer', run: ([x]) => cp(x as string).length }],
  CONCAT: [{ params: [], variadic: 'String', returns: 'String', run: (args) => args.join('') }],
  CONCAT_WS: [
    {
      params: ['String'],
      variadic: 'String',
      returns: 'String',
      run: ([sep, ...rest]) => rest.join(sep as string),
    },
  ],
  UPPER: [{ params: ['String'], returns: 'String', run: ([x]) => (x as string).toUpperCase() }],
  TRIM: [
    {
      params: ['String'],
      returns: 'String',
      run: ([x]) => (x as string).replace(/^\p{White_Space}+|\p{White_Space}+$/gu, ''),
    },
  ],
  LEFT: [
    {
      params: ['String', 'Integer'],
      returns: 'String',
      run: ([x, n], raise) =>
        (n as number) < 0
          ? (raise('functionEvaluation'), x as string)
          : cp(x)
              .slice(0, n as number)
              .join(''),
    },
  ],
  RIGHT: [
    {
      params: ['String', 'Integer'],
      returns: 'String',
      run: ([x, n], raise) =>
        (n as number) < 0
          ? (raise('functionEvaluation'), x as string)
          : (n as number) === 0
            ? ''
            : cp(x)
                .slice(-(n as number))
                .join(''),
    },
  ],
  SUBSTRING: [
    {
      params: ['String', 'Integer'],
      returns: 'String',
      run: ([x, pos], raise) => substring(cp(x), pos as number, undefined, raise),
    },
    {
      params: ['String', 'Integer', 'Integer'],
      returns: 'String',
      run: ([x, pos, len], raise) => substring(cp(x), pos as number, len as number, raise),
    },
  ],
  INT: [
    {
      params: ['Any'],
      returns: 'Integer',
      run: ([x], raise) => castOrRaise(x as CesqlValue, 'Integer', raise),
    },
  ],
  BOOL: [
    {
      params: ['Any'],
      returns: 'Boolean',
      run: ([x], raise) => castOrRaise(x as CesqlValue, 'Boolean', raise),
    },
  ],
  STRING: [{ params: ['Any'], returns: 'String', run: ([x]) => String(x) }],
  IS_INT: [{ params: ['Any'], returns: 'Boolean', run: ([x]) => !cast(x as CesqlValue, 'Integer')[1] }],
  IS_BOOL: [{ params: ['Any'], returns: 'Boolean', run: ([x]) => !cast(x as CesqlValue, 'Boolean')[1] }],
};
function substring(
  x: string[],
  pos: number,
  len: number | undefined,
  raise: (kind: CesqlErrorKind) => void,
): string {
  if (len !== undefined && len < 0) return (raise('functionEvaluation'), '');
  if (pos === 0) return '';
  if (pos > x.length || pos < -x.length) return (raise('functionEvaluation'), '');
  const start = pos > 0 ? pos - 1 : x.length + pos;
  return x.slice(start, len === undefined ? undefined : start + len).join('');
}
function castOrRaise(v: CesqlValue, t: Type, raise: (kind: CesqlErrorKind) => void): CesqlValue {
  const [value, failed] = cast(v, t);
  if (failed) raise('cast');
  return value;
}

interface Outcome {
  value: CesqlValue;
  /** This node raised an error itself. */
  raised: boolean;
}

function reference(
  root: CesqlNode,
  attributes: Record<string, AttributeValue>,
): { value: CesqlValue; kinds: CesqlErrorKind[] } {
  const kinds: CesqlErrorKind[] = [];
  const read = (name: string): CesqlValue | undefined => {
    if (!Object.prototype.hasOwnProperty.call(attributes, name)) return undefined;
    const v = attributes[name] as AttributeValue;
    return typeof v === 'number' && !(Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31)
      ? String(v)
      : typeof v === 'number'
        ? v + 0
        : v;
  };
  // Casts done by a node itself: a failure is the node's own error.
  const own = (v: CesqlValue, t: Type, flags: { raised: boolean }): CesqlValue => {
    const [value, failed] = cast(v, t);
    if (failed) {
      kinds.push('cast');
      flags.raised = true;
    }
    return value;
  };
  const ev = (node: CesqlNode): Outcome => {
    const flags = { raised: false };
    switch (node.kind) {
      case 'literal':
        return { value: node.value, raised: false };
      case 'attribute': {
        const v = read(node.name);
        if (v === undefined) {
          kinds.push('missingAttribute');
          return { value: false, raised: true };
        }
        return { value: v, raised: false };
      }
      case 'exists':
        return {
          value: ['specversion', 'id', 'source', 'type'].includes(node.name) || read(node.name) !== undefined,
          raised: false,
        };
      case 'not': {
        const o = ev(node.operand);
        if (o.raised) return { value: false, raised: false };
        return { value: !own(o.value, 'Boolean', flags), raised: flags.raised };
      }
      case 'negate': {
        const o = ev(node.operand);
        if (o.raised) return { value: 0, raised: false };
        return { value: wrap(-(own(o.value, 'Integer', flags) as number)), raised: flags.raised };
      }
      case 'like': {
        const o = ev(node.operand);
        if (o.raised) return { value: false, raised: false };
        return { value: likeMatches(String(o.value), node.pattern) !== node.negated, raised: false };
      }
      case 'in': {
        const o = ev(node.operand);
        const elements = node.set.map(ev);
        if (o.raised || elements.some((e) => e.raised)) return { value: false, raised: false };
        let found = false;
        for (const element of elements)
          if (own(element.value, typeOf(o.value), flags) === o.value) found = true;
        return { value: found !== node.negated, raised: flags.raised };
      }
      case 'call': {
        const overloads = REF_FUNCTIONS[node.name] ?? [];
        const fn =
          overloads.find((f) => !f.variadic && f.params.length === node.args.length) ??
          overloads.find((f) => f.variadic && node.args.length >= f.params.length);
        if (!fn) {
          kinds.push('missingFunction');
          return { value: false, raised: true };
        }
        const args = node.args.map(ev);
        if (args.some((a) => a.raised)) return { value: zeroOf(fn.returns), raised: false };
        const values = args.map((a, i) => {
          const t = fn.params[i] ?? (fn.variadic as Type);
          return t === 'Any' ? a.value : own(a.value, t, flags);
        });
        const value = fn.run(values, (kind) => {
          kinds.push(kind);
          flags.raised = true;
        });
        return { value, raised: flags.raised };
      }
      case 'binary':
        return binary(node.operator, node.left, node.right, flags);
    }
  };
  const binary = (op: BinaryOperator, l: CesqlNode, r: CesqlNode, flags: { raised: boolean }): Outcome => {
    if (op === 'AND' || op === 'OR') {
      const a = ev(l);
      if (a.raised) return { value: false, raised: false };
      const left = own(a.value, 'Boolean', flags);
      if (op === 'AND' && left === false) return { value: false, raised: flags.raised };
      if (op === 'OR' && left === true) return { value: true, raised: flags.raised };
      const b = ev(r);
      if (b.raised) return { value: false, raised: flags.raised };
      return { value: own(b.value, 'Boolean', flags), raised: flags.raised };
    }
    const a = ev(l);
    const b = ev(r);
    const arithmetic = ['+', '-', '*', '/', '%'].includes(op);
    if (a.raised || b.raised) return { value: arithmetic ? 0 : false, raised: false };
    let value: CesqlValue;
    if (op === 'XOR') value = own(a.value, 'Boolean', flags) !== own(b.value, 'Boolean', flags);
    else if (op === '=' || op === '!=' || op === '<>')
      value = (own(a.value, typeOf(b.value), flags) === b.value) === (op === '=');
    else {
      const x = own(a.value, 'Integer', flags) as number;
      const y = own(b.value, 'Integer', flags) as number;
      if (op === '<') value = x < y;
      else if (op === '<=') value = x <= y;
      else if (op === '>') value = x > y;
      else if (op === '>=') value = x >= y;
      else if (op === '+') value = wrap(x + y);
      else if (op === '-') value = wrap(x - y);
      else if (op === '*') value = wrap(Number((BigInt(x) * BigInt(y)) % 2n ** 32n));
      else if (y === 0) {
        kinds.push('math');
        flags.raised = true;
        value = 0;
      } else value = wrap(op === '/' ? Math.trunc(x / y) : x % y) + 0;
    }
    return { value, raised: flags.raised };
  };
  return { value: ev(root).value, kinds };
}

// ---------------------------------------------------------------------------------------------
// Random trees, printed as text.
// ---------------------------------------------------------------------------------------------

const NAMES = ['a', 'b', 'n', 'flag', 'missing'];
const STRINGS = [
  '',
  'a',
  'abc',
  'ABC',
  '5',
  '-3',
  '007',
  'true',
  'FALSE',
  "it's",
  'say "hi"',
  'a%b',
  ' pad ',
  'é😀',
  '2147483648',
];
const PATTERNS = ['a%', '%c', '%b%', '_', 'a\\_b', '%\\%%', 'abc', '', '%', '_b_', 'é_', '%a%b%'];
const CALLS: [string, number][] = [
  ['ABS', 1],
  ['LENGTH', 1],
  ['CONCAT', 0],
  ['CONCAT', 2],
  ['CONCAT_WS', 1],
  ['CONCAT_WS', 3],
  ['UPPER', 1],
  ['TRIM', 1],
  ['LEFT', 2],
  ['RIGHT', 2],
  ['SUBSTRING', 2],
  ['SUBSTRING', 3],
  ['INT', 1],
  ['BOOL', 1],
  ['STRING', 1],
  ['IS_INT', 1],
  ['IS_BOOL', 1],
  ['NOPE', 1],
  ['LENGTH', 2],
];
const OPERATORS: BinaryOperator[] = [
  'AND',
  'OR',
  'XOR',
  '=',
  '!=',
  '<>',
  '<',
  '<=',
  '>',
  '>=',
  '+',
  '-',
  '*',
  '/',
  '%',
];

const arbInteger = fc.oneof(
  fc.integer({ min: -6, max: 6 }),
  fc.constantFrom(2147483647, -2147483648, 65536, 100),
);
const arbLiteral: fc.Arbitrary<CesqlNode> = fc
  .oneof(arbInteger, fc.constantFrom(...STRINGS), fc.boolean())
  .map((value) => ({ kind: 'literal', value, pos: 0 }));
const arbLeaf: fc.Arbitrary<CesqlNode> = fc.oneof(
  arbLiteral,
  fc.constantFrom(...NAMES).map((name): CesqlNode => ({ kind: 'attribute', name, pos: 0 })),
  fc.constantFrom(...NAMES, 'id').map((name): CesqlNode => ({ kind: 'exists', name, pos: 0 })),
);
const { node: arbNode } = fc.letrec<{ node: CesqlNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbLeaf,
    tie('node').map((operand): CesqlNode => ({ kind: 'not', operand, pos: 0 })),
    tie('node').map((operand): CesqlNode => ({ kind: 'negate', operand, pos: 0 })),
    fc
      .tuple(fc.constantFrom(...OPERATORS), tie('node'), tie('node'))
      .map(([operator, left, right]): CesqlNode => ({ kind: 'binary', operator, left, right, pos: 0 })),
    fc
      .tuple(tie('node'), fc.constantFrom(...PATTERNS), fc.boolean())
      .map(([operand, pattern, negated]): CesqlNode => ({ kind: 'like', operand, pattern, negated, pos: 0 })),
    fc
      .tuple(tie('node'), fc.array(tie('node'), { minLength: 1, maxLength: 3 }), fc.boolean())
      .map(([operand, set, negated]): CesqlNode => ({ kind: 'in', operand, set, negated, pos: 0 })),
    fc
      .tuple(fc.constantFrom(...CALLS), fc.array(tie('node'), { minLength: 3, maxLength: 3 }))
      .map(([[name, arity], args]): CesqlNode => ({
        kind: 'call',
        name,
        args: args.slice(0, arity),
        pos: 0,
      })),
  ),
}));

const arbValue: fc.Arbitrary<AttributeValue> = fc.oneof(
  fc.constantFrom(...STRINGS),
  arbInteger,
  fc.boolean(),
  fc.constant(1.5),
);
const arbEvent: fc.Arbitrary<CloudEvent> = fc
  .record({ a: arbValue, b: arbValue, n: arbValue, flag: arbValue }, { requiredKeys: [] })
  .map((extra) => ({
    attributes: { specversion: '1.0', id: 'i', source: '/s', type: 't', ...extra },
    data: undefined,
  }));

type Style = 'upper' | 'lower';
const quote = (s: string) => (s.includes("'") ? `"${s.replace(/"/g, '""')}"` : `'${s}'`);
const literalText = (v: CesqlValue) =>
  typeof v === 'string' ? quote(v) : typeof v === 'boolean' ? (v ? 'TRUE' : 'FALSE') : String(v);

/** Prints with parentheses around every compound sub-expression. */
function printFull(node: CesqlNode): string {
  switch (node.kind) {
    case 'literal':
      return literalText(node.value);
    case 'attribute':
      return node.name;
    case 'exists':
      return `EXISTS ${node.name}`;
    case 'not':
      return `(NOT ${printFull(node.operand)})`;
    case 'negate':
      return `(- ${printFull(node.operand)})`;
    case 'binary':
      return `(${printFull(node.left)} ${node.operator} ${printFull(node.right)})`;
    case 'like':
      return `(${printFull(node.operand)}${node.negated ? ' NOT' : ''} LIKE ${quote(node.pattern)})`;
    case 'in':
      return `(${printFull(node.operand)}${node.negated ? ' NOT' : ''} IN (${node.set.map(printFull).join(', ')}))`;
    case 'call':
      return `${node.name}(${node.args.map(printFull).join(', ')})`;
  }
}

const POWER: Record<string, number> = {
  AND: 1,
  OR: 1,
  XOR: 1,
  '=': 2,
  '!=': 2,
  '<>': 2,
  '<': 2,
  '<=': 2,
  '>': 2,
  '>=': 2,
  '+': 3,
  '-': 3,
  '*': 4,
  '/': 4,
  '%': 4,
};
const powerOf = (node: CesqlNode) =>
  node.kind === 'binary'
    ? (POWER[node.operator] as number)
    : node.kind === 'in'
      ? 5
      : node.kind === 'like'
        ? 6
        : 99;

/** Prints with only the parentheses the precedence table (spec 3.6) needs, in one keyword case. */
function printMinimal(node: CesqlNode, style: Style): string {
  const kw = (word: string) => (style === 'upper' ? word : word.toLowerCase());
  const name = (n: string) => (style === 'upper' ? n : n.toUpperCase());
  const sub = (child: CesqlNode, min: number) => {
    const text = printMinimal(child, style);
    return powerOf(child) < min ? `(${text})` : text;
  };
  switch (node.kind) {
    case 'literal':
      return typeof node.value === 'boolean' ? kw(literalText(node.value)) : literalText(node.value);
    case 'attribute':
      return name(node.name);
    case 'exists':
      return `${kw('EXISTS')} ${name(node.name)}`;
    case 'not':
      return `${kw('NOT')} ${sub(node.operand, 99)}`;
    case 'negate':
      return `- ${sub(node.operand, 99)}`;
    case 'binary': {
      const p = POWER[node.operator] as number;
      return `${sub(node.left, p)} ${/^[A-Z]/.test(node.operator) ? kw(node.operator) : node.operator} ${sub(node.right, p + 1)}`;
    }
    case 'like':
      return `${sub(node.operand, 6)}${node.negated ? ` ${kw('NOT')}` : ''} ${kw('LIKE')} ${quote(node.pattern)}`;
    case 'in':
      return `${sub(node.operand, 5)}${node.negated ? ` ${kw('NOT')}` : ''} ${kw('IN')} (${node.set.map((e) => printMinimal(e, style)).join(', ')})`;
    case 'call':
      return `${kw(node.name)}(${node.args.map((a) => printMinimal(a, style)).join(', ')})`;
  }
}

const withoutPositions = (node: CesqlNode): unknown =>
  JSON.parse(JSON.stringify(node, (key, value) => (key === 'pos' ? undefined : value)));

describe('CESQL property: compiled engine vs reference evaluator (spec 3)', () => {
  it('random trees evaluate to the same value and error kinds over random events', () => {
    fc.assert(
      fc.property(arbNode, fc.array(arbEvent, { minLength: 1, maxLength: 4 }), (tree, events) => {
        const text = printFull(tree);
        const parsed = parseCesql(text);
        if (!parsed.ok) throw new Error(`${text}: ${parsed.errors[0]?.message}`);
        for (const e of events) {
          const expected = reference(tree, e.attributes);
          const actual = parsed.expression.evaluate(e);
          expect({ text, value: actual.value, kinds: actual.errors.map((x) => x.kind) }).toEqual({
            text,
            ...expected,
          });
          const truthy =
            expected.value === true ||
            (typeof expected.value === 'number' && expected.value !== 0) ||
            (typeof expected.value === 'string' && expected.value.toLowerCase() === 'true');
          expect(parsed.expression.matches(e)).toBe(expected.kinds.length === 0 && truthy);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('minimal parentheses in either keyword case parse to the same tree (precedence and associativity, spec 3.6)', () => {
    fc.assert(
      fc.property(arbNode, (tree) => {
        const expected = withoutPositions(tree);
        expect(withoutPositions(parseTree(printFull(tree)))).toEqual(expected);
        for (const style of ['upper', 'lower'] as const) {
          const text = printMinimal(tree, style);
          expect({ text, tree: withoutPositions(parseTree(text)) }).toEqual({ text, tree: expected });
        }
      }),
      { numRuns: 3000 },
    );
  });
});
