import type { CesqlValue } from './types';
import {
  type CesqlType,
  type EvalContext,
  INT32_MAX,
  INT32_MIN,
  castTo,
  parseBoolean,
  parseInteger,
  raise,
} from './values';

/** A parameter type; `Any` takes the argument uncast (the casting and IS_* functions). */
export type ParameterType = CesqlType | 'Any';

/** A built-in function (spec 3.5). `run` receives arguments already cast to the parameter types. */
export interface FunctionDefinition {
  name: string;
  parameters: ParameterType[];
  /** Type of every argument past `parameters`, for variadic functions. */
  variadic?: ParameterType;
  returns: CesqlType;
  run(args: CesqlValue[], ctx: EvalContext, position: number): CesqlValue;
}

// Characters are Unicode code points (spec 3.1); strings without surrogates take the UTF-16 fast path.
const SURROGATE = /[\uD800-\uDFFF]/;
const codePoints = (s: string): string[] | undefined => (SURROGATE.test(s) ? Array.from(s) : undefined);
const lengthOf = (s: string): number => codePoints(s)?.length ?? s.length;
/** Code points [start, end) of `s`. */
function slice(s: string, start: number, end?: number): string {
  const points = codePoints(s);
  return points === undefined ? s.slice(start, end) : points.slice(start, end).join('');
}

// Unicode White_Space (spec 3.5.1 TRIM), which differs from String.prototype.trim (U+0085, U+FEFF).
const LEADING_SPACE = /^\p{White_Space}+/u;
const TRAILING_SPACE = /\p{White_Space}+$/u;

const str = (args: CesqlValue[], i: number) => args[i] as string;
const int = (args: CesqlValue[], i: number) => args[i] as number;

/** SUBSTRING start index (0-based code points) or undefined when `pos` is out of range (spec 3.5.1). */
function substringStart(length: number, pos: number): number | undefined {
  if (pos > length || pos < -length) return undefined;
  return pos < 0 ? length + pos : pos - 1;
}

const DEFINITIONS: FunctionDefinition[] = [
  {
    name: 'ABS',
    parameters: ['Integer'],
    returns: 'Integer',
    run(args, ctx, position) {
      const x = int(args, 0);
      if (x === INT32_MIN) {
        raise(ctx, 'math', position, 'ABS(-2147483648) overflows 32 bits');
        return INT32_MAX;
      }
      return Math.abs(x);
    },
  },
  { name: 'LENGTH', parameters: ['String'], returns: 'Integer', run: (args) => lengthOf(str(args, 0)) },
  {
    name: 'CONCAT',
    parameters: [],
    variadic: 'String',
    returns: 'String',
    run: (args) => (args.length === 1 ? str(args, 0) : args.join('')),
  },
  {
    name: 'CONCAT_WS',
    parameters: ['String'],
    variadic: 'String',
    returns: 'String',
    run(args) {
      let out = '';
      for (let i = 1; i < args.length; i++) out += i === 1 ? str(args, i) : str(args, 0) + str(args, i);
      return out;
    },
  },
  { name: 'LOWER', parameters: ['String'], returns: 'String', run: (args) => str(args, 0).toLowerCase() },
  { name: 'UPPER', parameters: ['String'], returns: 'String', run: (args) => str(args, 0).toUpperCase() },
  {
    name: 'TRIM',
    parameters: ['String'],
    returns: 'String',
    run: (args) => str(args, 0).replace(LEADING_SPACE, '').replace(TRAILING_SPACE, ''),
  },
  {
    name: 'LEFT',
    parameters: ['String', 'Integer'],
    returns: 'String',
    run(args, ctx, position) {
      const x = str(args, 0);
      const y = int(args, 1);
      if (y < 0) {
        raise(ctx, 'functionEvaluation', position, `LEFT length ${y} is negative`);
        return x;
      }
      return slice(x, 0, y);
    },
  },
  {
    name: 'RIGHT',
    parameters: ['String', 'Integer'],
    returns: 'String',
    run(args, ctx, position) {
      const x = str(args, 0);
      const y = int(args, 1);
      if (y < 0) {
        raise(ctx, 'functionEvaluation', position, `RIGHT length ${y} is negative`);
        return x;
      }
      const length = lengthOf(x);
      return y >= length ? x : slice(x, length - y);
    },
  },
  {
    name: 'SUBSTRING',
    parameters: ['String', 'Integer'],
    returns: 'String',
    run(args, ctx, position) {
      const x = str(args, 0);
      const pos = int(args, 1);
      if (pos === 0) return '';
      const start = substringStart(lengthOf(x), pos);
      if (start === undefined) {
        raise(ctx, 'functionEvaluation', position, `SUBSTRING position ${pos} is out of range`);
        return '';
      }
      return slice(x, start);
    },
  },
  {
    name: 'SUBSTRING',
    parameters: ['String', 'Integer', 'Integer'],
    returns: 'String',
    run(args, ctx, position) {
      const x = str(args, 0);
      const pos = int(args, 1);
      const len = int(args, 2);
      if (len < 0) {
        raise(ctx, 'functionEvaluation', position, `SUBSTRING length ${len} is negative`);
        return '';
      }
      if (pos === 0) return '';
      const start = substringStart(lengthOf(x), pos);
      if (start === undefined) {
        raise(ctx, 'functionEvaluation', position, `SUBSTRING position ${pos} is out of range`);
        return '';
      }
      return slice(x, start, start + len);
    },
  },
  // Explicit casts (TCK casting_functions.yaml) and the IS_* checks Knative's SDK offers.
  {
    name: 'INT',
    parameters: ['Any'],
    returns: 'Integer',
    run: (args, ctx, position) => castTo(args[0] as CesqlValue, 'Integer', ctx, position),
  },
  {
    name: 'BOOL',
    parameters: ['Any'],
    returns: 'Boolean',
    run: (args, ctx, position) => castTo(args[0] as CesqlValue, 'Boolean', ctx, position),
  },
  {
    name: 'STRING',
    parameters: ['Any'],
    returns: 'String',
    run: (args, ctx, position) => castTo(args[0] as CesqlValue, 'String', ctx, position),
  },
  {
    name: 'IS_INT',
    parameters: ['Any'],
    returns: 'Boolean',
    run: (args) => {
      const x = args[0] as CesqlValue;
      return typeof x !== 'string' || parseInteger(x) !== undefined;
    },
  },
  {
    name: 'IS_BOOL',
    parameters: ['Any'],
    returns: 'Boolean',
    run: (args) => {
      const x = args[0] as CesqlValue;
      return typeof x !== 'string' || parseBoolean(x) !== undefined;
    },
  },
];

const BY_NAME = new Map<string, FunctionDefinition[]>();
for (const definition of DEFINITIONS) {
  const list = BY_NAME.get(definition.name) ?? [];
  list.push(definition);
  BY_NAME.set(definition.name, list);
}

/**
 * The definition a call dispatches to (spec 3.5: a fixed arity first, else the variadic overload
 * when there are enough arguments), or undefined: a MissingFunctionError at evaluation.
 */
export function resolveFunction(name: string, arity: number): FunctionDefinition | undefined {
  const overloads = BY_NAME.get(name.toUpperCase());
  if (overloads === undefined) return undefined;
  return (
    overloads.find((d) => d.variadic === undefined && d.parameters.length === arity) ??
    overloads.find((d) => d.variadic !== undefined && arity >= d.parameters.length)
  );
}

/** Whether any overload of the name exists (for the error message). */
export function isKnownFunction(name: string): boolean {
  return BY_NAME.has(name.toUpperCase());
}

/** Names of the built-in functions. */
export const BUILTIN_FUNCTIONS: readonly string[] = [...BY_NAME.keys()];
