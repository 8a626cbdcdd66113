import { SourceFile, walkExpr } from './ast.js';
import { FunctionInfo } from './builder.js';
import { Diagnostic, DiagnosticError, SourceRange, errorAt } from './diagnostics.js';
import { where } from './describe.js';
import { NestingError, parseKc, parseKcExpression, scanTypedefNames } from './parser.js';
import { CompiledFunction, ExpressionCompiler, Instr, Program } from './program.js';
import { Builtins, FRAME_HEADER } from './runtime.js';
import { Statements } from './statements.js';
import { VOID, sizeOf, typeName } from './types.js';
import { Value } from './values.js';

export interface KcSource {
  file: string;
  text: string;
}

export interface CompileOptions {
  nrCpus: number;
  builtins: Builtins;
}

/** The file name the machine's prelude declarations carry. */
export const PRELUDE_FILE = '<built-in>';
const NOWHERE: SourceRange = { file: PRELUDE_FILE, start: { line: 1, col: 1 }, end: { line: 1, col: 1 } };

/**
 * Compiles the .kc files of one model (plus the machine's prelude) into a Program.
 * Never throws for bad input: every problem is returned as a diagnostic.
 */
export function compileProgram(sources: readonly KcSource[], options: CompileOptions): { program?: Program; diagnostics: Diagnostic[] } {
  const all = [{ file: PRELUDE_FILE, text: options.builtins.prelude }, ...sources];
  const typedefNames = scanTypedefNames(all.map((s) => s.text));
  const diagnostics: Diagnostic[] = [];
  const files: SourceFile[] = [];
  for (const s of all) {
    const r = parseKc(s.file, s.text, typedefNames);
    diagnostics.push(...r.diagnostics);
    files.push(r.file);
  }
  const c = new Compiler(files, options, diagnostics, typedefNames);
  const program = c.compile();
  return { program: diagnostics.some((d) => d.severity === 'error') ? undefined : program, diagnostics };
}

/**
 * The whole program: collects the names of every file, lays out globals,
 * compiles every function and orders the initcalls. The layers below it
 * compile statements (statements.ts), expressions (expressions.ts) and
 * declarations (declarations.ts).
 */
class Compiler extends Statements {
  compile(): Program {
    this.collect();
    // #defines that are plain numbers are constants too (for naming values in views)
    for (const [name, d] of this.defines) {
      if (this.constants.has(name)) continue;
      const saved = this.diagnostics.length;
      try {
        this.constants.set(name, this.constValue(d.expr));
      } catch (e) {
        if (!(e instanceof DiagnosticError)) throw e;
        this.diagnostics.length = saved;
        // a chain too deep is an error whether or not the #define is used
        if (e instanceof NestingError) this.report(e);
      }
    }
    for (const name of this.structSpecs.keys()) this.guard(() => this.completeStruct(name, NOWHERE));
    this.layoutGlobals();
    for (const f of this.functionList) this.guard(() => this.functionType(f));
    for (const f of this.functionList) if (f.decl.body) this.guard(() => this.compileFunction(f));
    const initcalls = this.collectInitcalls();
    const functions = this.functionList.map((f) => f.compiled ?? this.undefinedFunction(f));
    return {
      files: this.files,
      functions,
      functionsByName: new Map(functions.map((f) => [f.name, f])),
      globals: this.globals,
      constants: this.constants,
      enums: this.enums,
      structs: this.structs,
      typedefNames: this.typedefNames,
      strings: this.strings,
      initcalls,
      globalsEnd: this.nextAddr,
      initialData: this.initialData,
      nrCpus: this.options.nrCpus,
      callSites: this.callSites,
      compileExpression: this.expressionCompiler(),
    };
  }

  /** A declared but never defined function: calling it stops the machine with a clear message. */
  private undefinedFunction(f: FunctionInfo): CompiledFunction {
    const code: Instr[] = [{
      kind: 'stmt', range: f.decl.range,
      exec: (rt) => rt.fault(`${f.name}() is declared but the model never defines it`),
    }];
    return {
      id: f.id, name: f.name, type: f.type ?? { k: 'func', ret: VOID, params: [] }, decl: f.decl,
      frameSize: FRAME_HEADER, params: [], locals: [], code, file: f.decl.range.file,
    };
  }

  // ---- declarations

  private collect(): void {
    // #defines first, so enum values may use them whatever the file order
    for (const file of this.files) {
      for (const item of file.items) {
        if (item.kind !== 'define') continue;
        if (this.defines.has(item.name)) this.error(item.nameRange, `'${item.name}' is #defined twice`);
        this.defines.set(item.name, { expr: item.value, range: item.range });
      }
    }
    for (const file of this.files) {
      for (const item of file.items) {
        switch (item.kind) {
          case 'typedef':
            this.noteTypeDefinitions(item.type);
            if (this.typedefSpecs.has(item.name)) this.error(item.range, `typedef '${item.name}' is defined twice`);
            this.typedefSpecs.set(item.name, item.type);
            break;
          case 'type':
            this.noteTypeDefinitions(item.type);
            break;
          case 'global':
            this.noteTypeDefinitions(item.type);
            break;
          case 'function': {
            this.noteTypeDefinitions(item.type);
            const existing = this.functions.get(item.name);
            if (existing) {
              if (item.body && existing.decl.body) this.error(item.nameRange, `function '${item.name}' is defined twice (also at ${where(existing.decl.nameRange)})`);
              else if (item.body) existing.decl = item;
            } else {
              const info: FunctionInfo = { id: this.functionList.length, name: item.name, decl: item };
              this.functions.set(item.name, info);
              this.functionList.push(info);
            }
            break;
          }
        }
      }
    }
  }

  private layoutGlobals(): void {
    for (const file of this.files) {
      for (const item of file.items) {
        if (item.kind !== 'global') continue;
        this.guard(() => {
          const type = this.resolveType(item.type, item.nameRange, true);
          if (type.k === 'void') this.fail(item.nameRange, `'${item.name}' cannot have type void`);
          const other = this.otherMeaning(item.name);
          if (other) this.fail(item.nameRange, `'${item.name}' is already ${other}: a variable needs a name of its own`);
          const prev = this.globals.get(item.name);
          if (prev) {
            if (item.init || prev.perCpu !== item.perCpu) this.fail(item.nameRange, `'${item.name}' is defined twice (also at ${prev.range ? where(prev.range) : 'built-in'})`);
            if (typeName(prev.type) !== typeName(type)) this.fail(item.nameRange, `'${item.name}' is declared twice with different types: ${typeName(prev.type)} (at ${where(prev.range!)}) and ${typeName(type)}`);
            return;
          }
          const g = this.allocGlobal(item.name, type, item.perCpu, item.nameRange, false);
          if (item.init) {
            for (let cpu = 0; cpu < (item.perCpu ? this.options.nrCpus : 1); cpu++) {
              this.constInit(g.addr + cpu * sizeOf(type), type, item.init, item.init.range);
            }
          }
        });
      }
    }
  }

  /** What else a name means in this program, if anything: a variable of that name would hide it. */
  private otherMeaning(name: string): string | undefined {
    const f = this.functions.get(name);
    if (f) return `a function (${where(f.decl.nameRange)})`;
    const d = this.defines.get(name);
    if (d) return `a #define (${where(d.range)})`;
    if (this.constants.has(name)) return 'a constant';
    if (this.typedefSpecs.has(name)) return 'a type name';
    if (name in this.options.builtins.functions || name in this.options.builtins.globals) return 'a built-in';
    return undefined;
  }

  private collectInitcalls(): CompiledFunction[] {
    const order = [
      'early_initcall', 'pure_initcall', 'core_initcall', 'postcore_initcall', 'arch_initcall', 'subsys_initcall',
      'fs_initcall', 'rootfs_initcall', 'device_initcall', 'module_init', 'late_initcall',
    ];
    const calls: { level: number; fn: CompiledFunction }[] = [];
    for (const file of this.files) {
      for (const item of file.items) {
        if (item.kind !== 'initcall') continue;
        const f = this.functions.get(item.fn);
        if (!f?.decl.body) {
          this.error(item.fnRange, `initcall '${item.fn}' is not a function defined in the model`);
          continue;
        }
        if (f.type && f.type.params.length) this.error(item.fnRange, `initcall '${item.fn}' must take no arguments`);
        if (f.compiled) calls.push({ level: order.indexOf(item.level), fn: f.compiled });
      }
    }
    return calls.sort((a, b) => a.level - b.level).map((c) => c.fn);
  }

  // ---- expressions outside functions

  private expressionCompiler(): ExpressionCompiler {
    return (file, text, scope, at) => {
      const parsed = parseKcExpression(file, text, this.typedefNames, at);
      if (!parsed.expr) return { ok: false, diagnostics: parsed.diagnostics };
      const saved = this.diagnostics.length;
      this.scope = scope;
      try {
        const e = parsed.expr;
        if (this.containsModelCall(e)) {
          let where: SourceRange = e.range;
          walkExpr(e, (x) => {
            if (x.kind === 'call' && this.isModelCall(x)) where = x.range;
          });
          return { ok: false, diagnostics: [errorAt(where, 'model functions cannot be called here: only values and built-ins')] };
        }
        const v = this.rvalue(e);
        let address: Value | undefined;
        try {
          if (e.kind === 'ident' || e.kind === 'member' || e.kind === 'index' || e.kind === 'unary' || e.kind === 'call') address = this.addressOf(e).fn;
        } catch (err) {
          if (!(err instanceof DiagnosticError)) throw err;
          address = undefined;
        }
        this.diagnostics.length = saved;
        return { ok: true, eval: v.fn, type: v.type, address };
      } catch (err) {
        this.diagnostics.length = saved;
        if (err instanceof DiagnosticError) return { ok: false, diagnostics: [err.diagnostic] };
        throw err;
      } finally {
        this.scope = undefined;
      }
    };
  }
}
