import { Diagnostic, SourceRange, errorAt } from './diagnostics.js';

export type TokenKind = 'ident' | 'number' | 'string' | 'char' | 'punct' | 'directive' | 'eof';

export interface Token {
  kind: TokenKind;
  text: string;
  /** numeric value for number and char tokens; the unescaped text for strings */
  value?: number | string;
  range: SourceRange;
}

const PUNCTUATORS = [
  '<<=', '>>=', '...',
  '->', '++', '--', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||',
  '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=',
  '{', '}', '(', ')', '[', ']', ';', ',', '.', '?', ':',
  '+', '-', '*', '/', '%', '&', '|', '^', '!', '~', '<', '>', '=',
];

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };

/**
 * Splits KC source into tokens. Preprocessor lines come out whole as `directive`
 * tokens; the parser decides what they mean. Never throws: bad characters become
 * diagnostics and are skipped.
 */
export interface Comment {
  text: string;
  range: SourceRange;
}

export function lex(file: string, text: string, diags: Diagnostic[], comments?: Comment[]): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;

  const pos = (at: number) => ({ line, col: at - lineStart + 1 });
  const rangeFrom = (start: number, startLine: number, startCol: number): SourceRange => ({
    file,
    start: { line: startLine, col: startCol },
    end: pos(i),
  });
  const newline = () => {
    line++;
    lineStart = i + 1;
    atLineStart = true;
  };

  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      newline();
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    const startLine = line;
    const startCol = i - lineStart + 1;
    const start = i;
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      comments?.push({ text: text.slice(start + 2, i).trim(), range: rangeFrom(start, startLine, startCol) });
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      i += 2;
      while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) {
        if (text[i] === '\n') newline();
        i++;
      }
      if (i >= text.length) {
        diags.push(errorAt(rangeFrom(start, startLine, startCol), 'unterminated comment'));
        break;
      }
      i += 2;
      comments?.push({ text: text.slice(start + 2, i - 2), range: rangeFrom(start, startLine, startCol) });
      continue;
    }
    if (c === '#' && atLineStart) {
      // A preprocessor line, with backslash continuations.
      let body = '';
      while (i < text.length && text[i] !== '\n') {
        if (text[i] === '/' && text[i + 1] === '*') {
          // a block comment may run past the end of the directive's line
          const close = text.indexOf('*/', i + 2);
          const end = close < 0 ? text.length : close + 2;
          for (let k = i; k < end; k++) {
            if (text[k] === '\n') {
              line++;
              lineStart = k + 1;
            }
          }
          i = end;
          body += ' ';
          continue;
        }
        if (text[i] === '\\' && text[i + 1] === '\n') {
          i += 2;
          line++;
          lineStart = i;
          body += ' ';
          continue;
        }
        body += text[i];
        i++;
      }
      tokens.push({ kind: 'directive', text: stripComments(body), range: rangeFrom(start, startLine, startCol) });
      continue;
    }
    atLineStart = false;
    if (isIdentStart(c)) {
      while (i < text.length && isIdentPart(text[i])) i++;
      tokens.push({ kind: 'ident', text: text.slice(start, i), range: rangeFrom(start, startLine, startCol) });
      continue;
    }
    if (isDigit(c)) {
      while (i < text.length && (isIdentPart(text[i]) || text[i] === '.')) i++;
      const raw = text.slice(start, i);
      const value = parseIntegerLiteral(raw);
      const range = rangeFrom(start, startLine, startCol);
      if (value === undefined) diags.push(errorAt(range, `bad number '${raw}'`));
      else if (value === null) diags.push(errorAt(range, `${raw} does not fit in a 32-bit cell (at most 4294967295, or 0xffffffff)`));
      tokens.push({ kind: 'number', text: raw, value: value ?? 0, range });
      continue;
    }
    if (c === '"' || c === "'") {
      const quote = c;
      i++;
      let value = '';
      let closed = false;
      while (i < text.length && text[i] !== '\n') {
        const ch = text[i];
        if (ch === quote) {
          closed = true;
          i++;
          break;
        }
        if (ch === '\\' && i + 1 < text.length) {
          const esc = text[i + 1];
          value += ESCAPES[esc] ?? esc;
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      const range = rangeFrom(start, startLine, startCol);
      if (!closed) diags.push(errorAt(range, quote === '"' ? 'unterminated string' : 'unterminated character constant'));
      if (quote === '"') tokens.push({ kind: 'string', text: text.slice(start, i), value, range });
      else {
        if (closed && value.length !== 1) diags.push(errorAt(range, 'a character constant holds one character'));
        tokens.push({ kind: 'char', text: text.slice(start, i), value: value.length ? value.charCodeAt(0) : 0, range });
      }
      continue;
    }
    const punct = PUNCTUATORS.find((p) => text.startsWith(p, i));
    if (punct) {
      i += punct.length;
      tokens.push({ kind: 'punct', text: punct, range: rangeFrom(start, startLine, startCol) });
      continue;
    }
    i++;
    diags.push(errorAt(rangeFrom(start, startLine, startCol), `unexpected character '${printable(c)}'`));
  }
  tokens.push({ kind: 'eof', text: '', range: { file, start: pos(i), end: pos(i) } });
  return tokens;
}

function stripComments(s: string): string {
  return s.replace(/\/\*.*?\*\//g, ' ').replace(/\/\/.*$/, '').trim();
}

function printable(c: string): string {
  const code = c.charCodeAt(0);
  return code < 32 || code > 126 ? `\\u${code.toString(16).padStart(4, '0')}` : c;
}

export function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/**
 * C integer literal: decimal, 0x hex, 0 octal, with any U/L suffix. Values
 * from 2^31 to 2^32 - 1 wrap to negative, as an unsigned int stored in an int
 * cell does. Undefined when it is not a number; null when it needs more than 32 bits.
 */
function parseIntegerLiteral(raw: string): number | null | undefined {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$/.exec(raw);
  if (!m) return undefined;
  const digits = m[1];
  let v: number;
  if (/^0[xX]/.test(digits)) v = parseInt(digits.slice(2), 16);
  else if (digits.length > 1 && digits[0] === '0') v = parseInt(digits, 8);
  else v = parseInt(digits, 10);
  if (v > 0xffffffff) return null;
  return v | 0;
}
