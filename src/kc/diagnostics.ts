/** A position in a source file: 1-based line and column, as editors show them. */
export interface SourcePos {
  line: number;
  col: number;
}

export interface SourceRange {
  file: string;
  start: SourcePos;
  end: SourcePos;
}

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  range: SourceRange;
  severity: Severity;
  message: string;
  /**
   * Set when the problem is in a command-line option or launch attribute that
   * overrides the file (`patches`, `schedule`, ...), not in the file itself.
   */
  option?: string;
}

/** `file:line:col: error: message`, the form compilers and editors understand; `option: error: message` for an option. */
export function formatDiagnostic(d: Diagnostic): string {
  if (d.option) return `${d.option}: ${d.severity}: ${d.message}`;
  return `${d.range.file}:${d.range.start.line}:${d.range.start.col}: ${d.severity}: ${d.message}`;
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** Thrown inside a parser or checker to abandon one construct; always caught and turned into a Diagnostic. */
export class DiagnosticError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

export function errorAt(range: SourceRange, message: string): Diagnostic {
  return { range, severity: 'error', message };
}
