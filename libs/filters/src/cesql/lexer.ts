/** Token kinds: `int` (unsigned digits), `string` (unescaped value), `word` (letters, digits, `_`), `op` (symbols). */
export type TokenKind = 'int' | 'string' | 'word' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Source text for int/word/op; the unescaped value for strings; '' at eof. */
  text: string;
  /** Offset of the first character. */
  pos: number;
  /** Offset just past the last character. */
  end: number;
}

/** A lexing or parsing failure at a character offset. */
export class CesqlSyntaxError extends Error {
  constructor(
    readonly detail: string,
    readonly position: number,
  ) {
    super(`${detail} at ${position}`);
  }
}

const TWO_CHAR_OPS = new Set(['!=', '<>', '<=', '>=']);
const ONE_CHAR_OPS = new Set(['(', ')', ',', '=', '<', '>', '+', '-', '*', '/', '%']);

const isWordChar = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95; // 0-9 A-Z a-z _
const isDigit = (c: number) => c >= 48 && c <= 57;
// The spec lexer skips exactly these (CESQLLexer.g4 SPACE).
const isSpace = (c: number) => c === 32 || c === 9 || c === 13 || c === 10;

/**
 * Splits an expression into tokens. String literals (spec 2.2) are delimited by `'` or `"`; inside,
 * a backslash before the delimiter (or a doubled delimiter) stands for the delimiter, and every other
 * backslash is kept as is, so LIKE patterns keep their `\%` and `\_` escapes.
 */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === 39 || c === 34) {
      const quote = source[i] as string;
      let value = '';
      i++;
      for (;;) {
        if (i >= source.length) throw new CesqlSyntaxError('unterminated string literal', start);
        const ch = source[i] as string;
        if (ch === '\\' && i + 1 < source.length) {
          const next = source[i + 1] as string;
          value += next === quote ? quote : ch + next;
          i += 2;
        } else if (ch === quote) {
          if (source[i + 1] === quote) {
            value += quote;
            i += 2;
          } else {
            i++;
            break;
          }
        } else {
          value += ch;
          i++;
        }
      }
      tokens.push({ kind: 'string', text: value, pos: start, end: i });
      continue;
    }
    if (isWordChar(c)) {
      let allDigits = true;
      while (i < source.length && isWordChar(source.charCodeAt(i))) {
        if (!isDigit(source.charCodeAt(i))) allDigits = false;
        i++;
      }
      tokens.push({ kind: allDigits ? 'int' : 'word', text: source.slice(start, i), pos: start, end: i });
      continue;
    }
    const two = source.slice(i, i + 2);
    if (TWO_CHAR_OPS.has(two)) {
      tokens.push({ kind: 'op', text: two, pos: start, end: i + 2 });
      i += 2;
      continue;
    }
    const one = source[i] as string;
    if (ONE_CHAR_OPS.has(one)) {
      tokens.push({ kind: 'op', text: one, pos: start, end: i + 1 });
      i++;
      continue;
    }
    throw new CesqlSyntaxError(
      `unexpected character ${JSON.stringify(String.fromCodePoint(source.codePointAt(i) as number))}`,
      start,
    );
  }
  tokens.push({ kind: 'eof', text: '', pos: source.length, end: source.length });
  return tokens;
}
