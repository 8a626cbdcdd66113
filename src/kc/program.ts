import { FunctionDecl, SourceFile } from './ast.js';
import { Diagnostic, SourceRange } from './diagnostics.js';
import { CallSite } from './runtime.js';
import { FuncType, StructType, Type } from './types.js';
import type { Runtime } from './runtime.js';

/** One executable step: a statement, a condition, a call or a return, on one source line. */
export interface Instr {
  /** `exec(rt)` returns the next pc, or -1 when it pushed or popped a frame itself. */
  exec: (rt: Runtime) => number;
  range: SourceRange;
  /** 'blocking' steps may leave pc unchanged and wait */
  kind: 'stmt' | 'cond' | 'call' | 'return' | 'blocking';
}

export interface LocalVar {
  name: string;
  offset: number;
  type: Type;
  range: SourceRange;
  /** first and last pc where the variable is in scope */
  scope: [number, number];
  isParam: boolean;
}

export interface CompiledFunction {
  id: number;
  name: string;
  type: FuncType;
  decl: FunctionDecl;
  /** cells the frame needs, header included */
  frameSize: number;
  params: LocalVar[];
  locals: LocalVar[];
  code: Instr[];
  file: string;
}

export interface GlobalVar {
  name: string;
  addr: number;
  type: Type;
  perCpu: boolean;
  range?: SourceRange;
  /** hidden cells (WARN_ON_ONCE flags, function statics) are not listed in views */
  hidden: boolean;
}

export interface Program {
  files: SourceFile[];
  functions: CompiledFunction[];
  functionsByName: Map<string, CompiledFunction>;
  globals: Map<string, GlobalVar>;
  constants: Map<string, number>;
  /** each named enum's members by value, to show enum-typed values by name */
  enums: Map<string, Map<number, string>>;
  structs: Map<string, StructType>;
  typedefNames: Set<string>;
  strings: string[];
  /** initcalls in boot order */
  initcalls: CompiledFunction[];
  /** cells [1, globalsEnd) hold the globals; the machine lays out the rest */
  globalsEnd: number;
  /** initial values of globals: address, value pairs */
  initialData: number[];
  nrCpus: number;
  /** per-site data for built-in calls, for debugger views */
  callSites: CallSite[];
  /** compile an expression in a given scope: breakpoint conditions, watches, scenario arguments */
  compileExpression: ExpressionCompiler;
}

export interface ExpressionScope {
  /** a local in the frame being looked at */
  local?: (name: string) => LocalVar | undefined;
  /** names bound to values read when the expression runs (event fields: change the map between runs) */
  values?: Map<string, number>;
  /** names that are an error here, with the reason (an event's text fields, other events' fields) */
  refused?: Map<string, string>;
  /** names bound to objects in memory (scenario objects) */
  objects?: Map<string, { addr: number; type: Type }>;
}

export type ExpressionCompiler = (file: string, text: string, scope: ExpressionScope, at?: { line: number; col: number }) =>
  | { ok: true; eval: (rt: Runtime) => number; type: Type; address?: (rt: Runtime) => number }
  | { ok: false; diagnostics: Diagnostic[] };
