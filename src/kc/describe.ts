/** Short renderings of expressions and places for messages. */
import { Expr } from './ast.js';
import { SourceRange } from './diagnostics.js';

/** A short readable rendering of an expression for messages. */
export function describeExpr(e: Expr): string {
  switch (e.kind) {
    case 'num': return String(e.value);
    case 'str': return JSON.stringify(e.value);
    case 'ident': return `'${e.name}'`;
    case 'member': return `'${plain(e)}'`;
    case 'call': return `${describeExpr(e.callee).replace(/'$/, "()'")}`;
    default: return 'this expression';
  }
}

function plain(e: Expr): string {
  switch (e.kind) {
    case 'ident': return e.name;
    case 'member': return `${plain(e.base)}${e.arrow ? '->' : '.'}${e.name}`;
    case 'unary': return e.op === '*' ? `*${plain(e.arg)}` : e.op === '&' ? `&${plain(e.arg)}` : '…';
    case 'index': return `${plain(e.base)}[…]`;
    case 'call': return `${plain(e.callee)}(…)`;
    default: return '…';
  }
}

export function where(r: SourceRange): string {
  return `${r.file}:${r.start.line}:${r.start.col}`;
}

export function suggest(name: string, options: string[]): string {
  const close = options.find((o) => o.toLowerCase() === name.toLowerCase() || levenshtein(o, name) <= 2);
  return close ? ` (did you mean '${close}'?)` : '';
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}
