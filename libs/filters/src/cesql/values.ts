import type { CesqlError, CesqlErrorKind, CesqlValue } from './types';

export type CesqlType = 'String' | 'Integer' | 'Boolean';

/**
 * Per-evaluation state. `matches()` reuses one context and only looks at `failed`; `evaluate()`
 * collects error objects, created only when an error actually occurs.
 */
export interface EvalContext {
  /** Build CesqlError objects (evaluate) or only flag the failure (matches). */
  collect: boolean;
  /** Some error was raised anywhere in this evaluation. */
  failed: boolean;
  /**
   * The sub-expression just evaluated raised an error itself. A parent clears it before evaluating
   * each operand and reads it right after, so it learns which operands failed without allocating.
   */
  raised: boolean;
  errors: CesqlError[] | undefined;
}

/** Records one evaluation error; the message ends with the offset, like parse errors do. */
export function raise(ctx: EvalContext, kind: CesqlErrorKind, position: number, detail: string): void {
  ctx.failed = true;
  ctx.raised = true;
  if (ctx.collect) (ctx.errors ??= []).push({ kind, message: `${detail} at ${position}`, position });
}

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

export function typeOfValue(value: CesqlValue): CesqlType {
  return typeof value === 'string' ? 'String' : typeof value === 'number' ? 'Integer' : 'Boolean';
}

/** The zero value of a type (spec 3.1). */
export function zeroValue(type: CesqlType): CesqlValue {
  return type === 'String' ? '' : type === 'Integer' ? 0 : false;
}

/** String -> Integer (spec 3.7): base 10 with an optional sign, within 32 bits; undefined otherwise. */
export function parseInteger(text: string): number | undefined {
  const length = text.length;
  const first = text.charCodeAt(0);
  const signed = first === 43 || first === 45; // + -
  if (length === 0 || (signed && length === 1)) return undefined;
  let magnitude = 0;
  for (let i = signed ? 1 : 0; i < length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    magnitude = magnitude * 10 + digit;
    if (magnitude > 2147483648) return undefined;
  }
  const value = first === 45 ? -magnitude : magnitude;
  return value <= INT32_MAX ? value | 0 : undefined;
}

/** String -> Boolean (spec 3.7): "true"/"false" in any case; undefined otherwise. */
export function parseBoolean(text: string): boolean | undefined {
  if (text.length === 4 && text.toLowerCase() === 'true') return true;
  if (text.length === 5 && text.toLowerCase() === 'false') return false;
  return undefined;
}

function describe(value: CesqlValue): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Implicit or explicit cast to Integer; a failed cast raises a cast error and yields 0. */
export function toInteger(value: CesqlValue, ctx: EvalContext, position: number): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  const parsed = parseInteger(value);
  if (parsed !== undefined) return parsed;
  raise(ctx, 'cast', position, `cannot cast ${describe(value)} to Integer`);
  return 0;
}

/** Implicit or explicit cast to Boolean; a failed cast raises a cast error and yields false. */
export function toBoolean(value: CesqlValue, ctx: EvalContext, position: number): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  const parsed = parseBoolean(value);
  if (parsed !== undefined) return parsed;
  raise(ctx, 'cast', position, `cannot cast ${describe(value)} to Boolean`);
  return false;
}

/** Cast to String: always defined (base 10 integers, "true"/"false"). */
export function toText(value: CesqlValue): string {
  return typeof value === 'string' ? value : String(value);
}

export function castTo(value: CesqlValue, type: CesqlType, ctx: EvalContext, position: number): CesqlValue {
  switch (type) {
    case 'String':
      return toText(value);
    case 'Integer':
      return toInteger(value, ctx, position);
    case 'Boolean':
      return toBoolean(value, ctx, position);
  }
}

/**
 * An event attribute as a CESQL value (spec 3.2): strings and booleans as they are, numbers that
 * are 32-bit integers as Integer, any other number as its String form. Anything else (absent, or
 * inherited from Object.prototype) is undefined.
 */
export function attributeValue(raw: unknown): CesqlValue | undefined {
  if (typeof raw === 'string' || typeof raw === 'boolean') return raw;
  if (typeof raw === 'number')
    return Number.isInteger(raw) && raw >= INT32_MIN && raw <= INT32_MAX ? raw | 0 : String(raw);
  return undefined;
}
