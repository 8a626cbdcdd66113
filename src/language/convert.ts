/** Between the engine's 1-based source positions and LSP's 0-based ones. */
import { Diagnostic as LspDiagnostic, DiagnosticSeverity, Position, Range } from 'vscode-languageserver';
import { Diagnostic, SourcePos, SourceRange } from '../kc/diagnostics.js';

export function toPosition(p: SourcePos): Position {
  return { line: Math.max(0, p.line - 1), character: Math.max(0, p.col - 1) };
}

export function toRange(r: SourceRange): Range {
  const start = toPosition(r.start);
  const end = toPosition(r.end);
  // an empty or inverted range still marks its start
  if (end.line < start.line || (end.line === start.line && end.character < start.character)) return { start, end: start };
  return { start, end };
}

export function fromPosition(p: Position): SourcePos {
  return { line: p.line + 1, col: p.character + 1 };
}

export function toLspDiagnostic(d: Diagnostic): LspDiagnostic {
  return {
    range: toRange(d.range),
    severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    source: 'smplab',
    message: d.message,
  };
}

/** The text of one line (without its line break). */
export function lineOf(text: string, line: number): string {
  let start = 0;
  for (let i = 0; i < line; i++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return '';
    start = nl + 1;
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? text.length : end).replace(/\r$/, '');
}

/** The word around a column: characters matching `re` on both sides. */
export function wordAt(line: string, character: number, re = /[A-Za-z0-9_]/): { text: string; start: number; end: number } | undefined {
  let start = character;
  let end = character;
  while (start > 0 && re.test(line[start - 1])) start--;
  while (end < line.length && re.test(line[end])) end++;
  if (start === end) return undefined;
  return { text: line.slice(start, end), start, end };
}
