import type { CesqlValue } from './types';

export type BinaryOperator =
  'AND' | 'OR' | 'XOR' | '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%';

/** The parsed expression tree; `pos` is the offset of the node's operator, name or literal. Parentheses leave no node. */
export type CesqlNode =
  | { kind: 'literal'; value: CesqlValue; pos: number }
  | { kind: 'attribute'; name: string; pos: number }
  | { kind: 'exists'; name: string; pos: number }
  | { kind: 'not'; operand: CesqlNode; pos: number }
  | { kind: 'negate'; operand: CesqlNode; pos: number }
  | { kind: 'binary'; operator: BinaryOperator; left: CesqlNode; right: CesqlNode; pos: number }
  | { kind: 'like'; operand: CesqlNode; pattern: string; negated: boolean; pos: number }
  | { kind: 'in'; operand: CesqlNode; set: CesqlNode[]; negated: boolean; pos: number }
  | { kind: 'call'; name: string; args: CesqlNode[]; pos: number };

/**
 * Binding power of the infix and postfix operators (spec 3.6, higher binds tighter). NOT and unary
 * minus bind tighter than all of them; EXISTS takes an identifier, so it has no left operand.
 */
export const BINDING_POWER: Record<BinaryOperator | 'LIKE' | 'IN', number> = {
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
  IN: 5,
  LIKE: 6,
};
