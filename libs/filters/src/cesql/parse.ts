import { compileTree } from './compile';
import { CesqlSyntaxError } from './lexer';
import { parseTree } from './parser';
import type { CesqlParseResult } from './types';

/** Parses and compiles a CESQL v1 expression once; the result evaluates events without re-parsing. */
export function parseCesql(expression: string): CesqlParseResult {
  if (typeof expression !== 'string') {
    return {
      ok: false,
      errors: [{ kind: 'parse', message: 'expression is not a string at 0', position: 0 }],
    };
  }
  try {
    return { ok: true, expression: compileTree(expression, parseTree(expression)) };
  } catch (error) {
    if (error instanceof CesqlSyntaxError) {
      return { ok: false, errors: [{ kind: 'parse', message: error.message, position: error.position }] };
    }
    throw error;
  }
}

/** For `registerCesqlValidator` in @eventing/api: undefined when the expression parses, else the first error's message with its position. */
export function cesqlSyntaxError(expression: string): string | undefined {
  const result = parseCesql(expression);
  return result.ok ? undefined : result.errors[0]?.message;
}
