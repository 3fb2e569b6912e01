import type { AttributeValue, CloudEvent } from '@eventing/cloudevents';
import type { CesqlNode } from './ast';
import { type ParameterType, isKnownFunction, resolveFunction } from './functions';
import { compileLike } from './like';
import type { CesqlError, CesqlExpression, CesqlValue } from './types';
import {
  type CesqlType,
  type EvalContext,
  attributeValue,
  castTo,
  raise,
  toBoolean,
  toInteger,
  toText,
  typeOfValue,
  zeroValue,
} from './values';

type Attributes = Record<string, AttributeValue>;

/**
 * One compiled sub-expression: a plain closure over the event's attributes. It sets `ctx.raised`
 * when it raised an error itself; its parent then yields the zero value of its own result type
 * instead of applying its operation (spec 3.2, 3.3 — see README "Errors").
 */
type Evaluator = (attributes: Attributes, ctx: EvalContext) => CesqlValue;

interface Compiled {
  run: Evaluator;
  /** Set when the sub-expression folded to a constant at compile time. */
  constant?: { value: CesqlValue };
}

/** REQUIRED context attributes: EXISTS is always true for them (spec 3.4.4). */
const REQUIRED_ATTRIBUTES = new Set(['specversion', 'id', 'source', 'type']);

const NO_ERRORS: CesqlError[] = Object.freeze([]) as unknown as CesqlError[];

/** Shared by every `matches()` call: evaluation is synchronous and never re-enters itself. */
const MATCH_CONTEXT: EvalContext = { collect: false, failed: false, raised: false, errors: undefined };

const newContext = (collect: boolean): EvalContext => ({
  collect,
  failed: false,
  raised: false,
  errors: undefined,
});

/** Turns a parsed tree into closures once; evaluation then only calls plain functions. */
export function compileTree(source: string, tree: CesqlNode): CesqlExpression {
  const root = compileNode(tree).run;
  return {
    source,
    evaluate(event: CloudEvent) {
      const ctx = newContext(true);
      const value = root(event.attributes, ctx);
      // The errors array is allocated only when an error occurred; otherwise a shared frozen empty one.
      return { value, errors: ctx.errors ?? NO_ERRORS };
    },
    matches(event: CloudEvent) {
      const ctx = MATCH_CONTEXT;
      ctx.failed = false;
      ctx.raised = false;
      const value = root(event.attributes, ctx);
      if (ctx.failed) return false;
      if (typeof value === 'boolean') return value;
      return toBoolean(value, ctx, 0) && !ctx.failed;
    },
  };
}

function compileNode(node: CesqlNode): Compiled {
  const compiled = compileShape(node);
  return compiled.constant === undefined && isConstant(node) ? fold(compiled) : compiled;
}

/** True when the sub-expression cannot depend on the event. */
function isConstant(node: CesqlNode): boolean {
  switch (node.kind) {
    case 'literal':
      return true;
    case 'attribute':
      return false;
    case 'exists':
      return REQUIRED_ATTRIBUTES.has(node.name);
    case 'not':
    case 'negate':
    case 'like':
      return isConstant(node.operand);
    case 'binary':
      return isConstant(node.left) && isConstant(node.right);
    case 'in':
      return isConstant(node.operand) && node.set.every(isConstant);
    case 'call':
      return node.args.every(isConstant);
  }
}

/** Evaluates a constant sub-expression once; one that raises errors stays a closure so each evaluation reports them. */
function fold(compiled: Compiled): Compiled {
  const ctx = newContext(false);
  const value = compiled.run({}, ctx);
  return ctx.failed ? compiled : constant(value);
}

function constant(value: CesqlValue): Compiled {
  return { run: () => value, constant: { value } };
}

function compileShape(node: CesqlNode): Compiled {
  switch (node.kind) {
    case 'literal':
      return constant(node.value);
    case 'attribute':
      return { run: attributeReader(node.name, node.pos) };
    case 'exists': {
      const name = node.name;
      if (REQUIRED_ATTRIBUTES.has(name)) return constant(true);
      return { run: (attributes) => attributeValue(attributes[name]) !== undefined };
    }
    case 'not': {
      const operand = compileNode(node.operand).run;
      const pos = node.pos;
      return {
        run(attributes, ctx) {
          ctx.raised = false;
          const value = operand(attributes, ctx);
          if (ctx.raised) return (ctx.raised = false);
          return !(typeof value === 'boolean' ? value : toBoolean(value, ctx, pos));
        },
      };
    }
    case 'negate': {
      const operand = compileNode(node.operand).run;
      const pos = node.pos;
      return {
        run(attributes, ctx) {
          ctx.raised = false;
          const value = operand(attributes, ctx);
          if (ctx.raised) return zeroAfterFailure(ctx, 0);
          // Integers wrap in 32 bits: -(-2147483648) is -2147483648.
          return -(typeof value === 'number' ? value : toInteger(value, ctx, pos)) | 0;
        },
      };
    }
    case 'binary':
      return compileBinary(node);
    case 'like': {
      const operand = compileNode(node.operand).run;
      const match = compileLike(node.pattern);
      const negated = node.negated;
      return {
        run(attributes, ctx) {
          ctx.raised = false;
          const value = operand(attributes, ctx);
          if (ctx.raised) return (ctx.raised = false);
          return match(typeof value === 'string' ? value : toText(value)) !== negated;
        },
      };
    }
    case 'in':
      return compileIn(node);
    case 'call':
      return compileCall(node);
  }
}

/** The zero value a node yields when one of its operands raised; the node itself raised nothing. */
function zeroAfterFailure<T extends CesqlValue>(ctx: EvalContext, zero: T): T {
  ctx.raised = false;
  return zero;
}

/** An attribute reference; a missing attribute raises MissingAttributeError (its value, false, is only seen at the root). */
function attributeReader(name: string, pos: number): Evaluator {
  return (attributes, ctx) => {
    const raw = attributes[name];
    if (typeof raw === 'string') return raw;
    const value = attributeValue(raw);
    if (value !== undefined) return value;
    raise(ctx, 'missingAttribute', pos, `missing attribute "${name}"`);
    return false;
  };
}

/** Casts `left` to the type of `right` and compares (spec 3.7: `=` is ambiguous, so the right type decides). */
function equalAsRight(left: CesqlValue, right: CesqlValue, ctx: EvalContext, pos: number): boolean {
  if (typeof left === typeof right) return left === right;
  if (typeof right === 'string') return toText(left) === right;
  if (typeof right === 'number') return toInteger(left, ctx, pos) === right;
  return toBoolean(left, ctx, pos) === right;
}

/** A binary operator evaluating both operands; `apply` runs only when neither raised. */
function both<T extends CesqlValue>(
  l: Evaluator,
  r: Evaluator,
  zero: T,
  apply: (a: CesqlValue, b: CesqlValue, ctx: EvalContext) => T,
): Evaluator {
  return (attributes, ctx) => {
    ctx.raised = false;
    const a = l(attributes, ctx);
    const leftRaised = ctx.raised;
    ctx.raised = false;
    const b = r(attributes, ctx);
    if (leftRaised || ctx.raised) return zeroAfterFailure(ctx, zero);
    return apply(a, b, ctx);
  };
}

function compileBinary(node: Extract<CesqlNode, { kind: 'binary' }>): Compiled {
  const right = compileNode(node.right);
  const l = compileNode(node.left).run;
  const r = right.run;
  const pos = node.pos;
  const bool = (value: CesqlValue, ctx: EvalContext) =>
    typeof value === 'boolean' ? value : toBoolean(value, ctx, pos);
  const int = (value: CesqlValue, ctx: EvalContext) =>
    typeof value === 'number' ? value : toInteger(value, ctx, pos);
  switch (node.operator) {
    case 'AND':
    case 'OR': {
      // Short-circuit (spec 3.4.2): AND stops on false, OR on true. A left operand that raised
      // decides the result (false) as well, so the right one is not evaluated then either.
      const stopOn = node.operator === 'OR';
      return {
        run(attributes, ctx) {
          ctx.raised = false;
          const a = l(attributes, ctx);
          if (ctx.raised) return (ctx.raised = false);
          // The operator's own cast errors keep the cast's zero value and the evaluation goes on.
          const left = bool(a, ctx);
          if (left === stopOn) return stopOn;
          const castFailed = ctx.raised;
          ctx.raised = false;
          const b = r(attributes, ctx);
          if (ctx.raised) {
            ctx.raised = castFailed;
            return false;
          }
          const result = bool(b, ctx);
          if (castFailed) ctx.raised = true;
          return result;
        },
      };
    }
    case 'XOR':
      return { run: both(l, r, false, (a, b, ctx) => bool(a, ctx) !== bool(b, ctx)) };
    case '=':
    case '!=':
    case '<>': {
      const negated = node.operator !== '=';
      const fixed = right.constant?.value;
      if (typeof fixed === 'string') {
        // The common `attr = 'text'`: no call for the literal, no cast when the attribute is a string.
        return {
          run(attributes, ctx) {
            ctx.raised = false;
            const a = l(attributes, ctx);
            if (ctx.raised) return (ctx.raised = false);
            return ((typeof a === 'string' ? a : toText(a)) === fixed) !== negated;
          },
        };
      }
      return { run: both(l, r, false, (a, b, ctx) => equalAsRight(a, b, ctx, pos) !== negated) };
    }
    case '<':
      return { run: both(l, r, false, (a, b, ctx) => int(a, ctx) < int(b, ctx)) };
    case '<=':
      return { run: both(l, r, false, (a, b, ctx) => int(a, ctx) <= int(b, ctx)) };
    case '>':
      return { run: both(l, r, false, (a, b, ctx) => int(a, ctx) > int(b, ctx)) };
    case '>=':
      return { run: both(l, r, false, (a, b, ctx) => int(a, ctx) >= int(b, ctx)) };
    // Integer arithmetic in 32 bits: results wrap on overflow, as two's-complement int32 does (spec 3.1).
    case '+':
      return { run: both(l, r, 0, (a, b, ctx) => (int(a, ctx) + int(b, ctx)) | 0) };
    case '-':
      return { run: both(l, r, 0, (a, b, ctx) => (int(a, ctx) - int(b, ctx)) | 0) };
    case '*':
      return { run: both(l, r, 0, (a, b, ctx) => Math.imul(int(a, ctx), int(b, ctx))) };
    case '/':
    case '%': {
      const modulo = node.operator === '%';
      return {
        run: both(l, r, 0, (a, b, ctx) => {
          const x = int(a, ctx);
          const y = int(b, ctx);
          if (y === 0) {
            raise(ctx, 'math', pos, modulo ? 'modulo by zero' : 'division by zero');
            return 0;
          }
          // `| 0` truncates towards 0 (division) and keeps the dividend's sign (modulo), in 32 bits.
          return (modulo ? x % y : x / y) | 0;
        }),
      };
    }
  }
}

/** A constant set, cast ahead of time to one operand type. */
interface PreparedSet {
  values: Set<CesqlValue>;
  /** Elements whose cast fails: re-cast at each evaluation so the cast error is reported. */
  failures: CesqlValue[];
}

function prepareSet(elements: CesqlValue[], type: CesqlType): PreparedSet {
  const values = new Set<CesqlValue>();
  const failures: CesqlValue[] = [];
  for (const element of elements) {
    const ctx = newContext(false);
    values.add(castTo(element, type, ctx, 0));
    if (ctx.failed) failures.push(element);
  }
  return { values, failures };
}

/**
 * `x IN (y1, …)` (spec 3.4.5): every element is evaluated, then cast to the type of `x` and compared
 * as `=` does. An operand or element that raised makes the result false.
 */
function compileIn(node: Extract<CesqlNode, { kind: 'in' }>): Compiled {
  const operand = compileNode(node.operand).run;
  const set = node.set.map(compileNode);
  const negated = node.negated;
  const pos = node.pos;
  const constants = set.map((element) => element.constant?.value);
  if (constants.every((value) => value !== undefined)) {
    const strings = prepareSet(constants, 'String').values;
    const integers = prepareSet(constants, 'Integer');
    const booleans = prepareSet(constants, 'Boolean');
    return {
      run(attributes, ctx) {
        ctx.raised = false;
        const value = operand(attributes, ctx);
        if (ctx.raised) return (ctx.raised = false);
        if (typeof value === 'string') return strings.has(value) !== negated;
        const type = typeof value === 'number' ? 'Integer' : 'Boolean';
        const prepared = type === 'Integer' ? integers : booleans;
        for (const failure of prepared.failures) castTo(failure, type, ctx, pos);
        return prepared.values.has(value) !== negated;
      },
    };
  }
  const runs = set.map((element) => element.run);
  // One buffer per IN site: evaluation never re-enters the same site.
  const values = new Array<CesqlValue>(runs.length);
  return {
    run(attributes, ctx) {
      ctx.raised = false;
      const value = operand(attributes, ctx);
      let failed = ctx.raised;
      for (let i = 0; i < runs.length; i++) {
        ctx.raised = false;
        values[i] = (runs[i] as Evaluator)(attributes, ctx);
        if (ctx.raised) failed = true;
      }
      if (failed) return zeroAfterFailure(ctx, false);
      const type = typeOfValue(value);
      let found = false;
      for (let i = 0; i < runs.length; i++)
        if (castTo(values[i] as CesqlValue, type, ctx, pos) === value) found = true;
      return found !== negated;
    },
  };
}

/**
 * A function call. Dispatch is resolved at compile time; an unknown name or arity is reported as a
 * MissingFunctionError on each evaluation, with the value false (spec 3.5).
 */
function compileCall(node: Extract<CesqlNode, { kind: 'call' }>): Compiled {
  const runs = node.args.map((arg) => compileNode(arg).run);
  const pos = node.pos;
  const definition = resolveFunction(node.name, runs.length);
  if (definition === undefined) {
    const detail = isKnownFunction(node.name)
      ? `function ${node.name} does not take ${runs.length} argument${runs.length === 1 ? '' : 's'}`
      : `unknown function ${node.name}`;
    return {
      run(_attributes, ctx) {
        raise(ctx, 'missingFunction', pos, detail);
        return false;
      },
    };
  }
  const types: ParameterType[] = runs.map(
    (_, i) => definition.parameters[i] ?? (definition.variadic as ParameterType),
  );
  const zero = zeroValue(definition.returns);
  // One argument buffer per call site: nested calls have their own, and evaluation never re-enters a site.
  const args = new Array<CesqlValue>(runs.length);
  return {
    run(attributes, ctx) {
      let failed = false;
      for (let i = 0; i < runs.length; i++) {
        ctx.raised = false;
        args[i] = (runs[i] as Evaluator)(attributes, ctx);
        if (ctx.raised) failed = true;
      }
      if (failed) return zeroAfterFailure(ctx, zero);
      ctx.raised = false;
      for (let i = 0; i < runs.length; i++) {
        const type = types[i] as ParameterType;
        const value = args[i] as CesqlValue;
        if (type !== 'Any' && typeOfValue(value) !== type) args[i] = castTo(value, type, ctx, pos);
      }
      return definition.run(args, ctx, pos);
    },
  };
}
