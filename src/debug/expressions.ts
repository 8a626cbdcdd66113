import { Diagnostic } from '../kc/diagnostics.js';
import { ExpressionScope, Program } from '../kc/program.js';
import { MachineFault } from '../machine/machine.js';

type Compiled = ReturnType<Program['compileExpression']>;

/** Longest expression a person may type into a condition, a log point or the Debug Console. */
export const MAX_EXPRESSION_LENGTH = 10000;

/**
 * Compiles a KC expression a person typed (a condition, a log point's
 * {expr}, a watch, a value for setVariable). Text too long or nested too
 * deeply for the compiler is a diagnostic like any other, never a crash.
 */
export function compileTyped(program: Program, file: string, text: string, scope: ExpressionScope = {}): Compiled {
  if (text.length > MAX_EXPRESSION_LENGTH) return failed(file, `the expression is ${text.length} characters long; at most ${MAX_EXPRESSION_LENGTH} are read`);
  try {
    return program.compileExpression(file, text, scope);
  } catch (e) {
    if (e instanceof RangeError) return failed(file, 'the expression nests too deeply to be read');
    throw e;
  }
}

/** The diagnostics' messages, for an error response or a breakpoint's message. */
export function diagnosticText(diagnostics: readonly Diagnostic[]): string {
  return diagnostics.map((d) => d.message).join('; ');
}

function failed(file: string, message: string): Compiled {
  return { ok: false, diagnostics: [{ range: { file, start: { line: 1, col: 1 }, end: { line: 1, col: 1 } }, severity: 'error', message }] };
}

/** Why evaluating a compiled expression failed, in words: a machine fault says so itself. */
export function evaluationFailure(e: unknown): string {
  if (e instanceof MachineFault) return e.message;
  if (e instanceof RangeError) return 'the expression nests too deeply to be evaluated';
  throw e;
}
