import { BINDING_POWER, type BinaryOperator, type CesqlNode } from './ast';
import { CesqlSyntaxError, type Token, tokenize } from './lexer';

const KEYWORDS = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE', 'EXISTS', 'IN', 'TRUE', 'FALSE']);
const SYMBOL_OPERATORS = new Set(['=', '!=', '<>', '<', '<=', '>', '>=', '+', '-', '*', '/', '%']);
const IDENTIFIER = /^[A-Za-z0-9]+$/;
const FUNCTION_NAME = /^[A-Za-z][A-Za-z_]*$/;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** Deeper trees are refused, so parsing, compiling and evaluating never exhaust the stack. */
const MAX_DEPTH = 500;

/** Parses a CESQL expression into a tree; throws CesqlSyntaxError with the offending offset. */
export function parseTree(source: string): CesqlNode {
  return new Parser(tokenize(source)).parseRoot();
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parseRoot(): CesqlNode {
    const node = this.parseExpression(0);
    const next = this.peek();
    if (next.kind !== 'eof') throw this.unexpected(next);
    return node;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    this.index++;
    return token;
  }

  private keyword(token: Token): string | undefined {
    if (token.kind !== 'word') return undefined;
    const upper = token.text.toUpperCase();
    return KEYWORDS.has(upper) ? upper : undefined;
  }

  private unexpected(token: Token): CesqlSyntaxError {
    if (token.kind === 'eof') return new CesqlSyntaxError('unexpected end of expression', token.pos);
    if (token.kind === 'string') return new CesqlSyntaxError('unexpected string literal', token.pos);
    return new CesqlSyntaxError(`unexpected token '${token.text}'`, token.pos);
  }

  private expectOp(text: string): Token {
    const token = this.next();
    if (token.kind !== 'op' || token.text !== text) throw this.unexpected(token);
    return token;
  }

  /** Precedence climbing over the infix/postfix operators with binding power >= minPower. */
  private parseExpression(minPower: number): CesqlNode {
    const depth = this.depth;
    try {
      return this.parseOperators(minPower);
    } finally {
      this.depth = depth;
    }
  }

  /** Each operator applied deepens the tree by one level, counted against MAX_DEPTH. */
  private deeper(pos: number): void {
    if (++this.depth > MAX_DEPTH)
      throw new CesqlSyntaxError(`expression nests deeper than ${MAX_DEPTH} levels`, pos);
  }

  private parseOperators(minPower: number): CesqlNode {
    let left = this.parseUnary();
    for (;;) {
      const token = this.peek();
      const word = this.keyword(token);
      let negated = false;
      let postfix = word;
      if (word === 'NOT') {
        postfix = this.keyword(this.peek(1));
        negated = true;
        if (postfix !== 'LIKE' && postfix !== 'IN') break;
      }
      if (postfix === 'LIKE' || postfix === 'IN') {
        if (BINDING_POWER[postfix] < minPower) break;
        if (negated) this.next();
        const operatorToken = this.next();
        this.deeper(operatorToken.pos);
        left =
          postfix === 'LIKE'
            ? this.parseLike(left, negated, operatorToken)
            : this.parseIn(left, negated, operatorToken);
        continue;
      }
      let operator: BinaryOperator | undefined;
      if (word === 'AND' || word === 'OR' || word === 'XOR') operator = word;
      else if (token.kind === 'op' && SYMBOL_OPERATORS.has(token.text))
        operator = token.text as BinaryOperator;
      if (operator === undefined) break;
      const power = BINDING_POWER[operator];
      if (power < minPower) break;
      this.next();
      this.deeper(token.pos);
      // Equal precedence evaluates left to right (spec 3.6), so the right side binds strictly tighter.
      const right = this.parseExpression(power + 1);
      left = { kind: 'binary', operator, left, right, pos: token.pos };
    }
    return left;
  }

  private parseLike(operand: CesqlNode, negated: boolean, operatorToken: Token): CesqlNode {
    const pattern = this.next();
    // Spec 3.4.3: the pattern must be a string literal, else a parse error.
    if (pattern.kind !== 'string')
      throw new CesqlSyntaxError('LIKE expects a string literal pattern', pattern.pos);
    return { kind: 'like', operand, pattern: pattern.text, negated, pos: operatorToken.pos };
  }

  private parseIn(operand: CesqlNode, negated: boolean, operatorToken: Token): CesqlNode {
    this.expectOp('(');
    const set = this.parseList();
    if (set.length === 0) throw new CesqlSyntaxError('IN expects a non-empty set', operatorToken.pos);
    return { kind: 'in', operand, set, negated, pos: operatorToken.pos };
  }

  /** `expr (',' expr)* ')'` or just `)`, after the opening parenthesis. */
  private parseList(): CesqlNode[] {
    const items: CesqlNode[] = [];
    const first = this.peek();
    if (first.kind === 'op' && first.text === ')') {
      this.next();
      return items;
    }
    for (;;) {
      items.push(this.parseExpression(0));
      const token = this.next();
      if (token.kind === 'op' && token.text === ')') return items;
      if (token.kind !== 'op' || token.text !== ',') throw this.unexpected(token);
    }
  }

  private parseUnary(): CesqlNode {
    const depth = this.depth;
    try {
      this.deeper(this.peek().pos);
      return this.parsePrimary();
    } finally {
      this.depth = depth;
    }
  }

  private parsePrimary(): CesqlNode {
    const token = this.next();
    switch (token.kind) {
      case 'int':
        return this.integer(token.text, token.pos);
      case 'string':
        return { kind: 'literal', value: token.text, pos: token.pos };
      case 'op': {
        const following = this.peek();
        // A sign written directly before digits is part of the integer literal (spec 2.2), which
        // is how -2147483648 stays in range.
        if (
          (token.text === '-' || token.text === '+') &&
          following.kind === 'int' &&
          following.pos === token.end
        ) {
          this.next();
          return this.integer(token.text + following.text, token.pos);
        }
        if (token.text === '-') return { kind: 'negate', operand: this.parseUnary(), pos: token.pos };
        if (token.text === '(') {
          const inner = this.parseExpression(0);
          this.expectOp(')');
          return inner;
        }
        throw this.unexpected(token);
      }
      case 'word':
        return this.parseWord(token);
      case 'eof':
        throw this.unexpected(token);
    }
  }

  private parseWord(token: Token): CesqlNode {
    const keyword = this.keyword(token);
    switch (keyword) {
      case 'TRUE':
      case 'FALSE':
        return { kind: 'literal', value: keyword === 'TRUE', pos: token.pos };
      case 'NOT':
        return { kind: 'not', operand: this.parseUnary(), pos: token.pos };
      case 'EXISTS': {
        const name = this.next();
        if (name.kind !== 'word' || this.keyword(name) !== undefined) {
          throw new CesqlSyntaxError('EXISTS expects an attribute name', name.pos);
        }
        if (!IDENTIFIER.test(name.text))
          throw new CesqlSyntaxError(`invalid attribute name '${name.text}'`, name.pos);
        return { kind: 'exists', name: name.text.toLowerCase(), pos: token.pos };
      }
      case undefined:
        break;
      default:
        throw this.unexpected(token);
    }
    const following = this.peek();
    if (following.kind === 'op' && following.text === '(' && FUNCTION_NAME.test(token.text)) {
      this.next();
      return { kind: 'call', name: token.text.toUpperCase(), args: this.parseList(), pos: token.pos };
    }
    if (!IDENTIFIER.test(token.text))
      throw new CesqlSyntaxError(`invalid attribute name '${token.text}'`, token.pos);
    // Attribute names are lower-case (CloudEvents naming convention); identifiers match case-insensitively.
    return { kind: 'attribute', name: token.text.toLowerCase(), pos: token.pos };
  }

  /** Integer literals must be valid 32-bit signed integers (spec 2.2): anything else is a parse error. */
  private integer(text: string, pos: number): CesqlNode {
    const value = Number(text);
    if (value < INT32_MIN || value > INT32_MAX) {
      throw new CesqlSyntaxError(`integer literal ${text} is out of the 32-bit range`, pos);
    }
    return { kind: 'literal', value: value | 0, pos };
  }
}
