import { Expr, FunctionDecl, InitList, Initializer, SourceFile, Stmt, TypeSpec, VarDecl } from './ast.js';
import { Diagnostic, DiagnosticError, SourceRange, errorAt } from './diagnostics.js';
import { parseKc, parseKcExpression, scanTypedefNames } from './parser.js';
import {
  CompiledFunction, ExpressionCompiler, ExpressionScope, GlobalVar, Instr, LocalVar, Program,
} from './program.js';
import { Builtins, BuiltinFunction, CallSite, FRAME_HEADER, Runtime } from './runtime.js';
import {
  BOOL, FuncType, INT, StructType, Type, VOID, VOID_PTR, functionValue, isScalar, pointee, sizeOf, stringValue, typeName,
} from './types.js';

export interface KcSource {
  file: string;
  text: string;
}

export interface CompileOptions {
  nrCpus: number;
  builtins: Builtins;
}

type Value = (rt: Runtime) => number;
interface Compiled {
  type: Type;
  fn: Value;
  /** set when the value is known without running anything */
  constant?: number;
}

/** The file name the machine's prelude declarations carry. */
export const PRELUDE_FILE = '<built-in>';
const NOWHERE: SourceRange = { file: PRELUDE_FILE, start: { line: 1, col: 1 }, end: { line: 1, col: 1 } };

/** Intrinsics: kernel macros the compiler expands itself because they take variable names or change lvalues. */
const INTRINSICS = new Set([
  'per_cpu', '__get_cpu_var', 'this_cpu_ptr', 'per_cpu_ptr', 'raw_cpu_ptr', '__this_cpu_read', 'this_cpu_read',
  '__this_cpu_write', 'this_cpu_write', 'READ_ONCE', 'ACCESS_ONCE', 'WRITE_ONCE', 'likely', 'unlikely',
]);

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

interface FunctionInfo {
  id: number;
  name: string;
  decl: FunctionDecl;
  type?: FuncType;
  compiled?: CompiledFunction;
}

interface Loop {
  breakLabel: Label;
  continueLabel?: Label;
}

/** A jump target whose pc may not be known yet. */
class Label {
  pc = -1;
  readonly waiting: ((pc: number) => void)[] = [];
  bind(pc: number): void {
    this.pc = pc;
    for (const w of this.waiting) w(pc);
    this.waiting.length = 0;
  }
  then(set: (pc: number) => void): void {
    if (this.pc >= 0) set(this.pc);
    else this.waiting.push(set);
  }
}

interface MutableInstr extends Instr {
  next: number;
}

/** Per-function code generation state. */
class FunctionBuilder {
  readonly code: MutableInstr[] = [];
  /** setters for successors that fall through to whatever is emitted next */
  fallthrough: ((pc: number) => void)[] = [];
  readonly scopes: Map<string, LocalVar>[] = [];
  readonly locals: LocalVar[] = [];
  readonly loops: Loop[] = [];
  readonly switches: { cases: Map<number, Label>; default?: Label; seen: Set<number> }[] = [];
  frameSize = FRAME_HEADER;
  temps = 0;
  readonly frameRef = { size: 0 };

  constructor(readonly info: FunctionInfo) {}

  emit(kind: Instr['kind'], range: SourceRange, make: (self: MutableInstr) => (rt: Runtime) => number): MutableInstr {
    const ins = { kind, range, next: -1, exec: undefined as unknown as (rt: Runtime) => number } as MutableInstr;
    ins.exec = make(ins);
    const pc = this.code.length;
    this.code.push(ins);
    for (const f of this.fallthrough) f(pc);
    this.fallthrough = [(p) => (ins.next = p)];
    return ins;
  }

  /** Successor setters that should go to `label`, and nothing falls through past here. */
  jump(label: Label): void {
    for (const f of this.fallthrough) label.then(f);
    this.fallthrough = [];
  }

  bind(label: Label): void {
    // whatever is emitted next is the label's target
    const waiting = label;
    this.fallthrough.push((pc) => waiting.bind(pc));
  }

  allocLocal(name: string, type: Type, range: SourceRange, isParam: boolean): LocalVar {
    const v: LocalVar = { name, offset: this.frameSize, type, range, scope: [this.code.length, -1], isParam };
    this.frameSize += sizeOf(type);
    this.locals.push(v);
    if (!name.startsWith('$')) this.scopes[this.scopes.length - 1].set(name, v);
    return v;
  }

  lookup(name: string): LocalVar | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const v = this.scopes[i].get(name);
      if (v) return v;
    }
    return undefined;
  }

  pushScope(): void {
    this.scopes.push(new Map());
  }

  popScope(): void {
    const s = this.scopes.pop()!;
    for (const v of s.values()) v.scope[1] = this.code.length - 1;
  }
}

class Compiler {
  private readonly typedefSpecs = new Map<string, TypeSpec>();
  private readonly typedefs = new Map<string, Type>();
  private readonly structSpecs = new Map<string, Extract<TypeSpec, { kind: 'struct' }>>();
  private readonly structs = new Map<string, StructType>();
  private readonly completing = new Set<string>();
  private readonly constants = new Map<string, number>();
  private readonly enums = new Map<string, Map<number, string>>();
  private readonly defines = new Map<string, { expr: Expr; range: SourceRange }>();
  private readonly expanding = new Set<string>();
  private readonly globals = new Map<string, GlobalVar>();
  private readonly functions = new Map<string, FunctionInfo>();
  private readonly functionList: FunctionInfo[] = [];
  private readonly strings: string[] = [];
  private readonly stringIds = new Map<string, number>();
  private readonly initialData: number[] = [];
  private readonly callSites: CallSite[] = [];
  private nextAddr = 1;
  private fb?: FunctionBuilder;
  private scope?: ExpressionScope;

  constructor(
    private readonly files: SourceFile[],
    private readonly options: CompileOptions,
    private readonly diagnostics: Diagnostic[],
    private readonly typedefNames: Set<string>,
  ) {
    this.constants.set('NR_CPUS', options.nrCpus);
    this.constants.set('NR_CPUMASK_WORDS', Math.ceil(options.nrCpus / 32));
    this.constants.set('NULL', 0);
    this.constants.set('true', 1);
    this.constants.set('false', 0);
  }

  private error(range: SourceRange, message: string): void {
    this.diagnostics.push(errorAt(range, message));
  }

  private fail(range: SourceRange, message: string): never {
    throw new DiagnosticError(errorAt(range, message));
  }

  /** Runs `f`, turning a thrown diagnostic into a recorded one. */
  private guard<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      if (e instanceof DiagnosticError) {
        this.diagnostics.push(e.diagnostic);
        return undefined;
      }
      throw e;
    }
  }

  compile(): Program {
    this.collect();
    // #defines that are plain numbers are constants too (for naming values in views)
    for (const [name, d] of this.defines) {
      if (this.constants.has(name)) continue;
      const saved = this.diagnostics.length;
      try {
        this.constants.set(name, this.constValue(d.expr));
      } catch {
        this.diagnostics.length = saved;
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

  /** Records struct and enum definitions found anywhere inside a type. */
  private noteTypeDefinitions(spec: TypeSpec): void {
    switch (spec.kind) {
      case 'struct':
        if (spec.fields) {
          const prev = this.structSpecs.get(spec.name);
          if (prev && prev !== spec) this.error(spec.range, `struct ${spec.name} is defined twice (also at ${where(prev.range)})`);
          this.structSpecs.set(spec.name, spec);
          for (const f of spec.fields) this.noteTypeDefinitions(f.type);
        }
        break;
      case 'enum':
        if (spec.members) {
          const byValue = new Map<number, string>();
          if (spec.name) this.enums.set(`enum ${spec.name}`, byValue);
          let next = 0;
          for (const m of spec.members) {
            if (m.value) {
              const v = this.guard(() => this.constValue(m.value!));
              if (v !== undefined) next = v;
            }
            if (this.constants.has(m.name) || this.defines.has(m.name)) this.error(m.range, `'${m.name}' is defined twice`);
            this.constants.set(m.name, next);
            if (!byValue.has(next)) byValue.set(next, m.name);
            next++;
          }
        }
        break;
      case 'pointer':
        this.noteTypeDefinitions(spec.to);
        break;
      case 'array':
        this.noteTypeDefinitions(spec.of);
        break;
      case 'func':
        this.noteTypeDefinitions(spec.ret);
        for (const p of spec.params) this.noteTypeDefinitions(p.type);
        break;
    }
  }

  private completeStruct(name: string, at: SourceRange): StructType {
    let st = this.structs.get(name);
    if (!st) {
      st = { k: 'struct', name, fields: [], byName: new Map(), size: 0, complete: false };
      this.structs.set(name, st);
    }
    if (st.complete) return st;
    const spec = this.structSpecs.get(name);
    if (!spec?.fields) return st;
    if (this.completing.has(name)) this.fail(at, `struct ${name} contains itself`);
    this.completing.add(name);
    try {
      let offset = 0;
      for (const f of spec.fields) {
        const type = this.resolveType(f.type, f.range, true);
        if (st.byName.has(f.name)) this.error(f.range, `struct ${name} has two fields named '${f.name}'`);
        const field = { name: f.name, type, offset };
        st.fields.push(field);
        st.byName.set(f.name, field);
        offset += sizeOf(type);
      }
      st.size = offset;
      st.complete = true;
    } finally {
      this.completing.delete(name);
    }
    return st;
  }

  /** Resolves a written type. `byValue` demands a complete type (a field, a variable, an array element). */
  private resolveType(spec: TypeSpec, at: SourceRange, byValue: boolean): Type {
    switch (spec.kind) {
      case 'named': {
        if (spec.name === 'void') return VOID;
        if (spec.name === 'bool') return BOOL;
        if (spec.name === 'int' || spec.name === 'char') return { k: 'int', name: spec.name };
        const cached = this.typedefs.get(spec.name);
        if (cached) return cached;
        const td = this.typedefSpecs.get(spec.name);
        if (!td) this.fail(spec.range, `unknown type '${spec.name}'`);
        const t = this.resolveType(td, spec.range, byValue);
        const named = t.k === 'int' ? { k: 'int' as const, name: spec.name } : t;
        if (t.k !== 'struct' || t.complete) this.typedefs.set(spec.name, named);
        return named;
      }
      case 'struct': {
        if (!byValue) {
          const existing = this.structs.get(spec.name);
          if (existing) return existing;
          if (!this.structSpecs.has(spec.name)) return this.completeStruct(spec.name, at);
        }
        const st = this.completeStruct(spec.name, spec.range);
        if (byValue && !st.complete) this.fail(spec.range, `struct ${spec.name} is not defined here (only pointers to it can be used)`);
        return st;
      }
      case 'enum':
        return { k: 'int', name: spec.name ? `enum ${spec.name}` : 'enum' };
      case 'pointer':
        return { k: 'ptr', to: this.resolveType(spec.to, at, false) };
      case 'array': {
        if (!spec.size) this.fail(at, 'an array needs a size');
        const len = this.constValue(spec.size);
        if (len <= 0) this.fail(at, `array size must be positive, not ${len}`);
        return { k: 'array', of: this.resolveType(spec.of, at, true), len };
      }
      case 'func':
        return {
          k: 'func',
          ret: this.resolveType(spec.ret, at, false),
          params: spec.params.map((p) => decay(this.resolveType(p.type, p.range, false))),
        };
    }
  }

  private functionType(f: FunctionInfo): FuncType {
    if (!f.type) f.type = this.resolveType(f.decl.type, f.decl.nameRange, false) as FuncType;
    return f.type;
  }

  private layoutGlobals(): void {
    for (const file of this.files) {
      for (const item of file.items) {
        if (item.kind !== 'global') continue;
        this.guard(() => {
          const type = this.resolveType(item.type, item.nameRange, true);
          if (type.k === 'void') this.fail(item.nameRange, `'${item.name}' cannot have type void`);
          const prev = this.globals.get(item.name);
          if (prev) {
            if (item.init || prev.perCpu !== item.perCpu) this.fail(item.nameRange, `'${item.name}' is defined twice (also at ${prev.range ? where(prev.range) : 'built-in'})`);
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

  private allocGlobal(name: string, type: Type, perCpu: boolean, range: SourceRange | undefined, hidden: boolean): GlobalVar {
    const g: GlobalVar = { name, addr: this.nextAddr, type, perCpu, range, hidden };
    this.nextAddr += sizeOf(type) * (perCpu ? this.options.nrCpus : 1);
    this.globals.set(name, g);
    return g;
  }

  /** Writes a constant initialiser into initialData. */
  private constInit(addr: number, type: Type, init: Initializer, at: SourceRange): void {
    if (init.kind === 'init_list') {
      if (type.k === 'struct') {
        let index = 0;
        for (const item of init.items) {
          const field = item.field ? type.byName.get(item.field) : type.fields[index];
          if (!field) this.fail(item.range, item.field ? `struct ${type.name} has no field '${item.field}'` : `too many initialisers for struct ${type.name}`);
          index = type.fields.indexOf(field) + 1;
          this.constInit(addr + field.offset, field.type, item.value, item.range);
        }
        return;
      }
      if (type.k === 'array') {
        let index = 0;
        for (const item of init.items) {
          if (item.field) this.fail(item.range, 'an array initialiser takes [index] =, not .field =');
          if (item.index) index = this.constValue(item.index);
          if (index < 0 || index >= type.len) this.fail(item.range, `index ${index} is outside the array of ${type.len}`);
          this.constInit(addr + index * sizeOf(type.of), type.of, item.value, item.range);
          index++;
        }
        return;
      }
      if (init.items.length === 1 && !init.items[0].field) return this.constInit(addr, type, init.items[0].value, at);
      this.fail(at, `a ${typeName(type)} cannot take a { } initialiser`);
    }
    if (!isScalar(type)) this.fail(at, `a ${typeName(type)} needs a { } initialiser`);
    const v = this.constValue(init, true);
    this.initialData.push(addr, type === BOOL || (type.k === 'int' && type.name === 'bool') ? (v ? 1 : 0) : v);
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

  // ---- constants

  /** Evaluates a constant expression; with `allowAddresses`, also &global, functions and strings. */
  private constValue(e: Expr, allowAddresses = false): number {
    switch (e.kind) {
      case 'num':
        return e.value;
      case 'str':
        if (allowAddresses) return this.stringValue(e.value);
        break;
      case 'ident': {
        const c = this.constants.get(e.name);
        if (c !== undefined) return c;
        const d = this.defines.get(e.name);
        if (d) return this.expandDefine(e.name, e.range, () => this.constValue(d.expr, allowAddresses));
        if (allowAddresses) {
          const f = this.functions.get(e.name);
          if (f) return functionValue(f.id);
          const g = this.globals.get(e.name);
          if (g && (g.type.k === 'array')) return g.addr;
        }
        this.fail(e.range, `'${e.name}' is not a constant`);
      }
      // falls through (unreachable)
      case 'unary': {
        if (e.op === '&' && allowAddresses) return this.constAddress(e.arg);
        const v = this.constValue(e.arg, allowAddresses);
        switch (e.op) {
          case '-': return -v | 0;
          case '+': return v;
          case '~': return ~v;
          case '!': return v ? 0 : 1;
        }
        break;
      }
      case 'binary': {
        const a = this.constValue(e.left, allowAddresses);
        const b = this.constValue(e.right, allowAddresses);
        const r = binaryOp(e.op, a, b);
        if (r === undefined) this.fail(e.range, 'division by zero in a constant');
        return r;
      }
      case 'cond':
        return this.constValue(e.test) ? this.constValue(e.then, allowAddresses) : this.constValue(e.else, allowAddresses);
      case 'cast':
        return this.constValue(e.arg, allowAddresses);
      case 'sizeof':
        if (e.type) return sizeOf(this.resolveType(e.type, e.range, true));
        if (e.arg?.kind === 'ident') {
          const g = this.globals.get(e.arg.name);
          if (g) return sizeOf(g.type);
        }
        break;
    }
    this.fail(e.range, 'expected a constant expression');
  }

  private constAddress(e: Expr): number {
    if (e.kind === 'ident') {
      const g = this.globals.get(e.name);
      if (g) return g.addr;
      const f = this.functions.get(e.name);
      if (f) return functionValue(f.id);
      this.fail(e.range, `'${e.name}' is not a global variable`);
    }
    if (e.kind === 'member' && !e.arrow) {
      const base = this.constAddress(e.base);
      const t = this.staticTypeOfGlobalPath(e.base);
      const f = t.k === 'struct' ? t.byName.get(e.name) : undefined;
      if (!f) this.fail(e.nameRange, `no field '${e.name}' here`);
      return base + f.offset;
    }
    if (e.kind === 'index') {
      const t = this.staticTypeOfGlobalPath(e.base);
      if (t.k !== 'array') this.fail(e.range, 'only arrays can be indexed in a constant');
      return this.constAddress(e.base) + this.constValue(e.index) * sizeOf(t.of);
    }
    this.fail(e.range, 'expected the address of a global variable');
  }

  private staticTypeOfGlobalPath(e: Expr): Type {
    if (e.kind === 'ident') {
      const g = this.globals.get(e.name);
      if (!g) this.fail(e.range, `'${e.name}' is not a global variable`);
      return g.type;
    }
    if (e.kind === 'member' && !e.arrow) {
      const t = this.staticTypeOfGlobalPath(e.base);
      const f = t.k === 'struct' ? t.byName.get(e.name) : undefined;
      if (!f) this.fail(e.nameRange, `no field '${e.name}' here`);
      return f.type;
    }
    if (e.kind === 'index') {
      const t = this.staticTypeOfGlobalPath(e.base);
      if (t.k !== 'array') this.fail(e.range, 'only arrays can be indexed here');
      return t.of;
    }
    this.fail(e.range, 'expected a global variable');
  }

  private expandDefine<T>(name: string, at: SourceRange, f: () => T): T {
    if (this.expanding.has(name)) this.fail(at, `#define '${name}' refers to itself`);
    this.expanding.add(name);
    try {
      return f();
    } finally {
      this.expanding.delete(name);
    }
  }

  private stringValue(s: string): number {
    let id = this.stringIds.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.stringIds.set(s, id);
    }
    return stringValue(id);
  }

  // ---- functions

  private compileFunction(f: FunctionInfo): void {
    const type = this.functionType(f);
    const decl = f.decl;
    const fb = new FunctionBuilder(f);
    this.fb = fb;
    fb.pushScope();
    const params: LocalVar[] = [];
    decl.type.params.forEach((p, i) => {
      if (!p.name) {
        if (!(decl.type.params.length === 1 && type.params[i].k === 'void')) this.error(p.range, 'a parameter of a function definition needs a name');
        return;
      }
      const t = type.params[i];
      if (!isScalar(t)) this.error(p.range, `parameter '${p.name}' must be a scalar or a pointer (structs are passed by pointer in KC)`);
      params.push(fb.allocLocal(p.name, t, p.range, true));
    });
    const compiled: CompiledFunction = {
      id: f.id, name: f.name, type, decl, frameSize: 0, params, locals: fb.locals, code: fb.code, file: decl.range.file,
    };
    f.compiled = compiled;
    for (const s of decl.body!.body) this.guard(() => this.statement(s));
    // Falling off the end returns; the step shows on the closing brace.
    fb.emit('return', decl.body!.closeRange, () => (rt) => {
      rt.leave(0);
      return -1;
    });
    fb.popScope();
    for (const p of params) p.scope = [0, fb.code.length - 1];
    compiled.frameSize = fb.frameSize;
    fb.frameRef.size = fb.frameSize;
    this.fb = undefined;
  }

  private get builder(): FunctionBuilder {
    return this.fb!;
  }

  private statement(s: Stmt): void {
    const fb = this.builder;
    switch (s.kind) {
      case 'block':
        fb.pushScope();
        for (const inner of s.body) this.guard(() => this.statement(inner));
        fb.popScope();
        return;
      case 'empty':
        return;
      case 'expr':
        return this.expressionStatement(s.expr, s.range);
      case 'decl':
        for (const d of s.decls) this.guard(() => this.localDeclaration(d));
        return;
      case 'if': {
        const test = this.condition(s.test);
        const elseLabel = new Label();
        const end = new Label();
        this.branch(test, s.range, elseLabel);
        this.statement(s.then);
        if (s.else) {
          fb.jump(end);
          fb.bind(elseLabel);
          this.statement(s.else);
        } else fb.bind(elseLabel);
        fb.bind(end);
        return;
      }
      case 'while': {
        const head = new Label();
        const exit = new Label();
        fb.bind(head);
        this.branch(this.condition(s.test), s.range, exit);
        this.loopBody(s.body, exit, head);
        fb.jump(head);
        fb.bind(exit);
        return;
      }
      case 'do': {
        const top = new Label();
        const cont = new Label();
        const exit = new Label();
        fb.bind(top);
        this.loopBody(s.body, exit, cont);
        fb.bind(cont);
        const test = this.condition(s.test);
        this.branch(test, s.testRange, exit, top);
        fb.bind(exit);
        return;
      }
      case 'for': {
        fb.pushScope();
        if (s.init) this.statement(s.init);
        const head = new Label();
        const cont = new Label();
        const exit = new Label();
        fb.bind(head);
        if (s.test) this.branch(this.condition(s.test), s.range, exit);
        this.loopBody(s.body, exit, cont);
        fb.bind(cont);
        if (s.update) this.expressionStatement(s.update, s.range);
        fb.jump(head);
        fb.bind(exit);
        fb.popScope();
        return;
      }
      case 'switch':
        return this.switchStatement(s);
      case 'case':
      case 'default': {
        const sw = fb.switches[fb.switches.length - 1];
        if (!sw) this.fail(s.range, `'${s.kind}' outside a switch`);
        const label = new Label();
        if (s.kind === 'default') {
          if (sw.default) this.fail(s.range, 'a switch has only one default');
          sw.default = label;
        } else {
          const v = this.constValue(s.value);
          if (sw.seen.has(v)) this.fail(s.range, `case ${v} appears twice`);
          sw.seen.add(v);
          sw.cases.set(v, label);
        }
        fb.bind(label);
        return;
      }
      case 'break': {
        const target = fb.loops[fb.loops.length - 1];
        if (!target) this.fail(s.range, "'break' outside a loop or switch");
        fb.jump(target.breakLabel);
        return;
      }
      case 'continue': {
        const target = [...fb.loops].reverse().find((l) => l.continueLabel);
        if (!target) this.fail(s.range, "'continue' outside a loop");
        fb.jump(target.continueLabel!);
        return;
      }
      case 'return': {
        const ret = this.fb!.info.type!.ret;
        if (!s.value) {
          if (ret.k !== 'void') this.error(s.range, `${this.fb!.info.name}() must return a value`);
          fb.emit('return', s.range, () => (rt) => {
            rt.leave(0);
            return -1;
          });
          return;
        }
        if (ret.k === 'void') this.fail(s.value.range, `${this.fb!.info.name}() returns void`);
        const v = this.scalar(this.lower(s.value), s.value.range);
        const fn = ret === BOOL || (ret.k === 'int' && ret.name === 'bool') ? toBool(v.fn) : v.fn;
        fb.emit('return', s.range, () => (rt) => {
          rt.leave(fn(rt));
          return -1;
        });
        return;
      }
      case 'for_each_cpu':
        return this.forEachCpu(s);
      case 'list_for_each':
        return this.listForEach(s);
    }
  }

  private loopBody(body: Stmt, exit: Label, cont: Label): void {
    const fb = this.builder;
    fb.loops.push({ breakLabel: exit, continueLabel: cont });
    try {
      this.statement(body);
    } finally {
      fb.loops.pop();
    }
  }

  /** Emits a condition step: falls through when true, goes to `ifFalse` otherwise (or `ifTrue` when given). */
  private branch(test: Value, range: SourceRange, ifFalse: Label, ifTrue?: Label): void {
    const fb = this.builder;
    const targets = { f: -1 };
    fb.emit('cond', range, (self) => (rt) => (test(rt) ? self.next : targets.f));
    ifFalse.then((pc) => (targets.f = pc));
    if (ifTrue) fb.jump(ifTrue);
  }

  private condition(e: Expr): Value {
    const lowered = this.lower(e);
    return this.scalar(lowered, e.range).fn;
  }

  private switchStatement(s: Extract<Stmt, { kind: 'switch' }>): void {
    const fb = this.builder;
    const value = this.scalar(this.lower(s.test), s.test.range).fn;
    const exit = new Label();
    const sw = { cases: new Map<number, Label>(), default: undefined as Label | undefined, seen: new Set<number>() };
    const table = new Map<number, number>();
    const fallback = { pc: -1 };
    fb.emit('cond', s.range, () => (rt) => {
      const pc = table.get(value(rt));
      return pc === undefined ? fallback.pc : pc;
    });
    fb.fallthrough = [];
    fb.switches.push(sw);
    fb.loops.push({ breakLabel: exit });
    try {
      this.statement(s.body);
    } finally {
      fb.loops.pop();
      fb.switches.pop();
    }
    fb.bind(exit);
    for (const [v, label] of sw.cases) label.then((pc) => table.set(v, pc));
    (sw.default ?? exit).then((pc) => (fallback.pc = pc));
  }

  private localDeclaration(d: VarDecl): void {
    const fb = this.builder;
    const type = this.resolveType(d.type, d.nameRange, true);
    if (type.k === 'void') this.fail(d.nameRange, `'${d.name}' cannot have type void`);
    if (fb.scopes[fb.scopes.length - 1].has(d.name)) this.fail(d.nameRange, `'${d.name}' is declared twice in this block`);
    if (d.isStatic) {
      const g = this.allocGlobal(`${fb.info.name}.${d.name}`, type, false, d.nameRange, true);
      if (d.init) this.constInit(g.addr, type, d.init, d.init.range);
      // visible under its own name inside the function
      fb.scopes[fb.scopes.length - 1].set(d.name, { name: d.name, offset: -g.addr, type, range: d.nameRange, scope: [0, 0], isParam: false });
      return;
    }
    if (!d.init) {
      fb.allocLocal(d.name, type, d.nameRange, false);
      return;
    }
    const init = d.init.kind === 'init_list' ? undefined : this.lower(d.init);
    const v = fb.allocLocal(d.name, type, d.nameRange, false);
    const writes = this.initializerWrites(type, d.init.kind === 'init_list' ? d.init : init!, d.range);
    const off = v.offset;
    fb.emit('stmt', d.range, (self) => (rt) => {
      writes(rt, rt.fp + off);
      return self.next;
    });
  }

  /** Code that stores an initialiser into memory at a run-time address; missing fields become zero. */
  private initializerWrites(type: Type, init: Initializer, at: SourceRange): (rt: Runtime, addr: number) => void {
    if (init.kind !== 'init_list') {
      if (type.k === 'struct') {
        const src = this.addressOf(init);
        if (src.type !== type) this.fail(at, `cannot initialise ${typeName(type)} from ${typeName(src.type)}`);
        const n = type.size;
        return (rt, addr) => {
          const from = src.fn(rt);
          for (let i = 0; i < n; i++) rt.store(addr + i, rt.load(from + i));
        };
      }
      const v = this.convert(this.scalar(init, init.range), type);
      return (rt, addr) => rt.store(addr, v(rt));
    }
    const size = sizeOf(type);
    const parts: { offset: number; write: (rt: Runtime, addr: number) => void }[] = [];
    if (type.k === 'struct') {
      let index = 0;
      for (const item of init.items) {
        const field = item.field ? type.byName.get(item.field) : type.fields[index];
        if (!field) this.fail(item.range, item.field ? `struct ${type.name} has no field '${item.field}'` : `too many initialisers for struct ${type.name}`);
        index = type.fields.indexOf(field) + 1;
        const value = item.value.kind === 'init_list' ? item.value : this.lower(item.value);
        parts.push({ offset: field.offset, write: this.initializerWrites(field.type, value, item.range) });
      }
    } else if (type.k === 'array') {
      let index = 0;
      for (const item of init.items) {
        if (item.index) index = this.constValue(item.index);
        if (index < 0 || index >= type.len) this.fail(item.range, `index ${index} is outside the array of ${type.len}`);
        const value = item.value.kind === 'init_list' ? item.value : this.lower(item.value);
        parts.push({ offset: index * sizeOf(type.of), write: this.initializerWrites(type.of, value, item.range) });
        index++;
      }
    } else this.fail(at, `a ${typeName(type)} cannot take a { } initialiser`);
    return (rt, addr) => {
      for (let i = 0; i < size; i++) rt.store(addr + i, 0);
      for (const p of parts) p.write(rt, addr + p.offset);
    };
  }

  private expressionStatement(e: Expr, range: SourceRange): void {
    const fb = this.builder;
    // A call to a built-in that may wait is a step of its own that repeats until it can go on.
    if (e.kind === 'call' && e.callee.kind === 'ident' && this.isBuiltinName(e.callee.name)) {
      const b = this.options.builtins.functions[e.callee.name];
      if (b.blocking) {
        const args = e.args.map((a) => this.lower(a));
        const call = this.builtinCall(e.callee.name, b, args, e.range);
        fb.emit('blocking', range, (self) => {
          const pc = fb.code.length;
          return (rt) => (call(rt) ? self.next : pc);
        });
        return;
      }
    }
    // `f(x);` and `x = f(y);` are one call step each.
    if (e.kind === 'call' && this.isModelCall(e)) {
      this.emitCall(e, undefined, range);
      return;
    }
    if (e.kind === 'assign' && e.op === '=' && e.value.kind === 'call' && this.isModelCall(e.value) && !this.containsModelCall(e.target)) {
      const target = this.addressOf(e.target);
      if (!isScalar(target.type)) this.fail(e.range, `cannot assign a call result to ${typeName(target.type)}`);
      this.emitCall(e.value, target.fn, range);
      return;
    }
    const lowered = this.lower(e);
    if (lowered.kind === 'ident' && lowered.name.startsWith('$')) return;
    const v = this.rvalue(lowered);
    const fn = v.fn;
    fb.emit('stmt', range, (self) => (rt) => {
      fn(rt);
      return self.next;
    });
  }

  private forEachCpu(s: Extract<Stmt, { kind: 'for_each_cpu' }>): void {
    const fb = this.builder;
    const cpu = this.addressOf(s.cpu);
    if (cpu.type.k !== 'int') this.fail(s.cpu.range, `${s.macro} needs an integer CPU variable`);
    const maskExpr: Expr = s.mask ?? { kind: 'ident', name: s.macro === 'for_each_online_cpu' ? 'cpu_online_mask' : 'cpu_possible_mask', range: s.range };
    const mask = this.scalar(this.lower(maskExpr), maskExpr.range).fn;
    const next = this.options.builtins.functions.cpumask_next;
    if (!next) this.fail(s.range, `${s.macro} needs the cpumask_next built-in`);
    const site = this.site(s.range);
    const nr = this.options.nrCpus;
    const addr = cpu.fn;
    fb.emit('stmt', s.range, (self) => (rt) => {
      rt.store(addr(rt), next.impl(rt, site, -1, mask(rt)));
      return self.next;
    });
    const head = new Label();
    const cont = new Label();
    const exit = new Label();
    fb.bind(head);
    this.branch((rt) => (rt.load(addr(rt)) < nr ? 1 : 0), s.range, exit);
    this.loopBody(s.body, exit, cont);
    fb.bind(cont);
    fb.emit('stmt', s.range, (self) => (rt) => {
      const a = addr(rt);
      rt.store(a, next.impl(rt, site, rt.load(a), mask(rt)));
      return self.next;
    });
    fb.jump(head);
    fb.bind(exit);
  }

  private listForEach(s: Extract<Stmt, { kind: 'list_for_each' }>): void {
    const fb = this.builder;
    const pos = this.addressOf(s.pos);
    const st = pos.type.k === 'ptr' ? pos.type.to : undefined;
    if (st?.k !== 'struct') this.fail(s.pos.range, `${s.macro} needs a pointer to a struct as its cursor`);
    const member = st.byName.get(s.member);
    if (!member) this.fail(s.range, `struct ${st.name} has no member '${s.member}'`);
    const linkType = member.type;
    if (linkType.k !== 'struct' || !linkType.byName.has('next')) this.fail(s.range, `member '${s.member}' must be a list node with a 'next' field`);
    const nextOff = linkType.byName.get('next')!.offset;
    const off = member.offset;
    const head = this.scalar(this.lower(s.head), s.head.range).fn;
    const posAddr = pos.fn;
    const isList = s.macro === 'list_for_each_entry';
    const nAddr = s.next ? this.addressOf(s.next).fn : undefined;
    // pos = entry(first); for a list_head the first node is head->next, for an llist it is the node itself
    fb.emit('stmt', s.range, (self) => (rt) => {
      const first = isList ? rt.load(head(rt) + nextOff) : head(rt);
      rt.store(posAddr(rt), first - off);
      return self.next;
    });
    const top = new Label();
    const cont = new Label();
    const exit = new Label();
    fb.bind(top);
    this.branch((rt) => {
      const node = rt.load(posAddr(rt)) + off;
      const more = isList ? node !== head(rt) : node !== 0;
      if (more && nAddr) rt.store(nAddr(rt), rt.load(node + nextOff) - off);
      return more ? 1 : 0;
    }, s.range, exit);
    this.loopBody(s.body, exit, cont);
    fb.bind(cont);
    fb.emit('stmt', s.range, (self) => (rt) => {
      const p = posAddr(rt);
      rt.store(p, nAddr ? rt.load(nAddr(rt)) : rt.load(rt.load(p) + off + nextOff) - off);
      return self.next;
    });
    fb.jump(top);
    fb.bind(exit);
  }

  // ---- calls into the model

  private isBuiltinName(name: string): boolean {
    return !this.fb?.lookup(name) && !this.functions.has(name) && !this.globals.has(name) && name in this.options.builtins.functions;
  }

  /** A call that runs model code (a frame is pushed), as opposed to a built-in or intrinsic. */
  private isModelCall(e: Extract<Expr, { kind: 'call' }>): boolean {
    if (e.callee.kind === 'ident') {
      const name = e.callee.name;
      if (this.fb?.lookup(name) || this.scope?.local?.(name)) return true;
      if (this.functions.has(name)) return true;
      if (INTRINSICS.has(name) || name in this.options.builtins.functions) return false;
    }
    return true;
  }

  private containsModelCall(e: Expr | InitList): boolean {
    let found = false;
    walkExpr(e, (x) => {
      if (x.kind === 'call' && this.isModelCall(x)) found = true;
    });
    return found;
  }

  /** Emits a call step. The result goes to `dest` (an address) or is dropped. */
  private emitCall(e: Extract<Expr, { kind: 'call' }>, dest: Value | undefined, range: SourceRange): void {
    const fb = this.builder;
    if (this.scope) this.fail(e.range, 'a model function cannot be called here: only built-ins and values');
    const args = e.args.map((a) => this.lower(a));
    let fnType: FuncType;
    let callee: Value;
    const direct = e.callee.kind === 'ident' && !fb.lookup(e.callee.name) ? this.functions.get(e.callee.name) : undefined;
    if (direct) {
      fnType = this.functionType(direct);
      const fv = functionValue(direct.id);
      callee = () => fv;
    } else {
      const c = this.scalar(this.lower(e.callee), e.callee.range);
      const t = c.type.k === 'ptr' && c.type.to.k === 'func' ? c.type.to : c.type.k === 'func' ? c.type : undefined;
      if (!t) this.fail(e.callee.range, `${describeExpr(e.callee)} is not a function`);
      fnType = t;
      callee = c.fn;
    }
    if (args.length !== fnType.params.length && !(fnType.params.length === 1 && fnType.params[0].k === 'void' && args.length === 0)) {
      this.fail(e.range, `${describeExpr(e.callee)} takes ${fnType.params.length} argument${fnType.params.length === 1 ? '' : 's'}, not ${args.length}`);
    }
    const argFns = args.map((a, i) => this.convert(this.scalar(a, a.range), fnType.params[i] ?? INT));
    const scratch = new Array<number>(argFns.length).fill(0);
    const frame = fb.frameRef;
    const site = this.site(e.range);
    fb.emit('call', range, () => (rt) => {
      const fv = callee(rt);
      for (let i = 0; i < argFns.length; i++) scratch[i] = argFns[i](rt);
      const target = dest ? dest(rt) : 0;
      rt.enter(fv, rt.fp + frame.size, scratch, target, site);
      return -1;
    });
  }

  /**
   * Rewrites an expression so that it contains no model calls: each call becomes
   * a call step that leaves its result in a hidden local, in evaluation order.
   * `&&`, `||` and `?:` with calls on their lazy side become branches.
   */
  private lower(e: Expr): Expr {
    if (!this.fb || !this.containsModelCall(e)) return e;
    const fb = this.builder;
    switch (e.kind) {
      case 'call': {
        if (!this.isModelCall(e)) return { ...e, args: e.args.map((a) => this.lower(a)) };
        const ret = this.callReturnType(e);
        if (ret.k === 'void') return this.voidCall(e);
        const tmp = this.temp(isScalar(ret) ? ret : INT, e.range);
        const off = tmp.offset;
        this.emitCall(e, (rt) => rt.fp + off, e.range);
        return { kind: 'ident', name: tmp.name, range: e.range };
      }
      case 'binary':
        if ((e.op === '&&' || e.op === '||') && this.containsModelCall(e.right)) {
          const tmp = this.temp(INT, e.range);
          const off = tmp.offset;
          const left = this.scalar(this.lower(e.left), e.left.range).fn;
          const isAnd = e.op === '&&';
          fb.emit('stmt', e.left.range, (self) => (rt) => {
            rt.store(rt.fp + off, left(rt) ? 1 : 0);
            return self.next;
          });
          const skip = new Label();
          // for &&, evaluate the right side only when the left was true; for ||, only when false
          this.branch((rt) => (rt.load(rt.fp + off) ? (isAnd ? 1 : 0) : (isAnd ? 0 : 1)), e.left.range, skip);
          const right = this.scalar(this.lower(e.right), e.right.range).fn;
          fb.emit('stmt', e.right.range, (self) => (rt) => {
            rt.store(rt.fp + off, right(rt) ? 1 : 0);
            return self.next;
          });
          fb.bind(skip);
          return { kind: 'ident', name: tmp.name, range: e.range };
        }
        return { ...e, left: this.lower(e.left), right: this.lower(e.right) };
      case 'cond': {
        if (!this.containsModelCall(e.then) && !this.containsModelCall(e.else)) return { ...e, test: this.lower(e.test) };
        const tmp = this.temp(INT, e.range);
        const off = tmp.offset;
        const elseLabel = new Label();
        const end = new Label();
        this.branch(this.condition(e.test), e.test.range, elseLabel);
        const a = this.scalar(this.lower(e.then), e.then.range).fn;
        fb.emit('stmt', e.then.range, (self) => (rt) => {
          rt.store(rt.fp + off, a(rt));
          return self.next;
        });
        fb.jump(end);
        fb.bind(elseLabel);
        const b = this.scalar(this.lower(e.else), e.else.range).fn;
        fb.emit('stmt', e.else.range, (self) => (rt) => {
          rt.store(rt.fp + off, b(rt));
          return self.next;
        });
        fb.bind(end);
        return { kind: 'ident', name: tmp.name, range: e.range };
      }
      case 'unary':
        return { ...e, arg: this.lower(e.arg) };
      case 'assign':
        return { ...e, target: this.lower(e.target), value: this.lower(e.value) };
      case 'index':
        return { ...e, base: this.lower(e.base), index: this.lower(e.index) };
      case 'member':
        return { ...e, base: this.lower(e.base) };
      case 'cast':
        return { ...e, arg: this.lower(e.arg) };
      case 'container_of':
        return { ...e, ptr: this.lower(e.ptr) };
      default:
        return e;
    }
  }

  private voidCall(e: Extract<Expr, { kind: 'call' }>): Expr {
    this.emitCall(e, undefined, e.range);
    return { kind: 'num', value: 0, range: e.range };
  }

  private callReturnType(e: Extract<Expr, { kind: 'call' }>): Type {
    if (e.callee.kind === 'ident' && !this.fb?.lookup(e.callee.name)) {
      const f = this.functions.get(e.callee.name);
      if (f) return this.functionType(f).ret;
    }
    const c = this.rvalue(e.callee);
    const t = c.type.k === 'ptr' && c.type.to.k === 'func' ? c.type.to : c.type.k === 'func' ? c.type : undefined;
    if (!t) this.fail(e.callee.range, `${describeExpr(e.callee)} is not a function`);
    return t.ret;
  }

  private temp(type: Type, range: SourceRange): LocalVar {
    const fb = this.builder;
    const v = fb.allocLocal(`$t${fb.temps++}`, type, range, false);
    fb.scopes[0].set(v.name, v);
    return v;
  }

  private site(range: SourceRange, format?: string, once = false): CallSite {
    const site: CallSite = {
      range, functionName: this.fb?.info.name ?? '', onceAddr: 0, format,
    };
    if (once) site.onceAddr = this.allocGlobal(`$once${this.callSites.length}`, BOOL, false, range, true).addr;
    this.callSites.push(site);
    return site;
  }

  // ---- expressions

  /** The value of a scalar expression (arrays decay to their address, functions to function values). */
  private scalar(e: Expr, at: SourceRange): Compiled {
    const v = this.rvalue(e);
    if (v.type.k === 'struct') this.fail(at, `${describeExpr(e)} is a struct; KC needs a scalar here`);
    return v;
  }

  private convert(v: Compiled, to: Type): Value {
    if (to.k === 'int' && to.name === 'bool') return toBool(v.fn);
    return v.fn;
  }

  private rvalue(e: Expr): Compiled {
    switch (e.kind) {
      case 'num':
        return constant(INT, e.value);
      case 'str':
        return constant({ k: 'ptr', to: { k: 'int', name: 'char' } }, this.stringValue(e.value));
      case 'ident':
        return this.identifier(e);
      case 'unary':
        return this.unary(e);
      case 'binary':
        return this.binary(e);
      case 'assign':
        return this.assignment(e);
      case 'cond': {
        const test = this.scalar(e.test, e.test.range).fn;
        const a = this.scalar(e.then, e.then.range);
        const b = this.scalar(e.else, e.else.range);
        return { type: a.type, fn: (rt) => (test(rt) ? a.fn(rt) : b.fn(rt)) };
      }
      case 'call':
        return this.call(e);
      case 'index':
      case 'member':
        return this.load(this.addressOf(e));
      case 'cast': {
        const type = this.resolveType(e.type, e.range, false);
        const v = this.rvalue(e.arg);
        if (type.k === 'void') return { type, fn: v.fn };
        if (!isScalar(type)) this.fail(e.range, `cannot cast to ${typeName(type)}`);
        if (v.type.k === 'struct') this.fail(e.range, `cannot cast a struct to ${typeName(type)}`);
        if (type.k === 'int' && type.name === 'bool') return { type, fn: toBool(v.fn) };
        return { type, fn: v.fn, constant: v.constant };
      }
      case 'sizeof': {
        const t = e.type ? this.resolveType(e.type, e.range, true) : this.typeOf(e.arg!);
        return constant(INT, sizeOf(t));
      }
      case 'container_of': {
        const type = this.resolveType(e.type, e.range, true);
        if (type.k !== 'struct') this.fail(e.range, `${e.macro} needs a struct type`);
        const field = type.byName.get(e.member);
        if (!field) this.fail(e.range, `struct ${type.name} has no member '${e.member}'`);
        const ptr = this.scalar(e.ptr, e.ptr.range).fn;
        const off = field.offset;
        const resultType: Type = { k: 'ptr', to: type };
        if (e.macro === 'list_first_entry') {
          return { type: resultType, fn: (rt) => rt.load(ptr(rt)) - off };
        }
        return { type: resultType, fn: (rt) => ptr(rt) - off };
      }
    }
  }

  /** The static type of an expression without generating anything that runs (for sizeof). */
  private typeOf(e: Expr): Type {
    const saved = this.diagnostics.length;
    try {
      if (e.kind === 'ident' || e.kind === 'member' || e.kind === 'index' || (e.kind === 'unary' && e.op === '*')) return this.addressOf(e).type;
      return this.rvalue(e).type;
    } finally {
      this.diagnostics.length = saved;
    }
  }

  private load(a: { type: Type; fn: Value }): Compiled {
    const addr = a.fn;
    if (a.type.k === 'array') return { type: { k: 'ptr', to: a.type.of }, fn: addr };
    if (a.type.k === 'struct') return { type: a.type, fn: addr };
    return { type: a.type, fn: (rt) => rt.load(addr(rt)) };
  }

  private identifier(e: Extract<Expr, { kind: 'ident' }>): Compiled {
    const name = e.name;
    if (this.fb?.lookup(name) || this.scope?.local?.(name) || this.globals.has(name) || this.scope?.objects?.has(name)) {
      const g = this.globals.get(name);
      if (g?.perCpu && !this.fb?.lookup(name) && !this.scope?.local?.(name)) {
        this.fail(e.range, `'${name}' is a per-CPU variable: use per_cpu(${name}, cpu), __get_cpu_var(${name}) or this_cpu_ptr(&${name})`);
      }
      return this.load(this.addressOf(e));
    }
    const values = this.scope?.values;
    if (values?.has(name)) return { type: INT, fn: () => values.get(name) ?? 0 };
    const c = this.constants.get(name);
    if (c !== undefined) return constant(name === 'true' || name === 'false' ? BOOL : name === 'NULL' ? VOID_PTR : INT, c);
    const d = this.defines.get(name);
    if (d) return this.expandDefine(name, e.range, () => this.rvalue(d.expr));
    const f = this.functions.get(name);
    if (f) return constant({ k: 'ptr', to: this.functionType(f) }, functionValue(f.id));
    const bg = this.options.builtins.globals[name];
    if (bg?.read) {
      const read = bg.read;
      return { type: this.builtinType(bg.type, e.range), fn: read };
    }
    if (name in this.options.builtins.functions || INTRINSICS.has(name)) this.fail(e.range, `built-in '${name}' can only be called, not used as a value`);
    this.fail(e.range, `'${name}' is not declared`);
  }

  /** An lvalue: its type and code computing its address. */
  private addressOf(e: Expr): { type: Type; fn: Value } {
    switch (e.kind) {
      case 'ident': {
        const local = this.fb?.lookup(e.name) ?? this.scope?.local?.(e.name);
        if (local) {
          if (local.offset < 0) {
            const addr = -local.offset;
            return { type: local.type, fn: () => addr };
          }
          const off = local.offset;
          return { type: local.type, fn: (rt) => rt.fp + off };
        }
        const obj = this.scope?.objects?.get(e.name);
        if (obj) {
          const addr = obj.addr;
          return { type: obj.type, fn: () => addr };
        }
        const g = this.globals.get(e.name);
        if (g) {
          const addr = g.addr;
          return { type: g.type, fn: () => addr };
        }
        const d = this.defines.get(e.name);
        if (d) return this.expandDefine(e.name, e.range, () => this.addressOf(d.expr));
        if (this.constants.has(e.name) || this.functions.has(e.name) || this.scope?.values?.has(e.name)) this.fail(e.range, `'${e.name}' is not a variable`);
        this.fail(e.range, `'${e.name}' is not declared`);
      }
      // falls through (unreachable)
      case 'unary':
        if (e.op === '*') {
          const p = this.scalar(e.arg, e.arg.range);
          const to = pointee(p.type);
          if (!to) this.fail(e.range, `cannot dereference ${describeExpr(e.arg)}, a ${typeName(p.type)}`);
          if (to.k === 'void') this.fail(e.range, `cannot dereference a void pointer: cast it first`);
          if (to.k === 'func') return { type: to, fn: p.fn };
          return { type: to, fn: p.fn };
        }
        break;
      case 'index': {
        const base = this.rvalue(e.base);
        const elem = pointee(base.type);
        if (!elem) this.fail(e.base.range, `${describeExpr(e.base)} is not an array or pointer`);
        const size = sizeOf(elem);
        const idx = this.scalar(e.index, e.index.range).fn;
        const b = base.fn;
        const len = this.arrayLength(e.base);
        if (len !== undefined) {
          return {
            type: elem,
            fn: (rt) => {
              const i = idx(rt);
              if (i < 0 || i >= len) rt.fault(`index ${i} is outside ${describeExpr(e.base)}[${len}]`);
              return b(rt) + i * size;
            },
          };
        }
        return { type: elem, fn: (rt) => b(rt) + idx(rt) * size };
      }
      case 'member': {
        let base: { type: Type; fn: Value };
        if (e.arrow) {
          const p = this.scalar(e.base, e.base.range);
          if (p.type.k !== 'ptr') this.fail(e.base.range, `'->' needs a pointer, and ${describeExpr(e.base)} is a ${typeName(p.type)}`);
          base = { type: p.type.to, fn: p.fn };
        } else {
          base = this.addressOf(e.base);
        }
        const st = base.type;
        if (st.k !== 'struct') this.fail(e.range, `${describeExpr(e.base)} is not a struct${st.k === 'ptr' ? ` (use '->')` : ''}`);
        if (!st.complete) this.fail(e.range, `struct ${st.name} is opaque: its fields cannot be read`);
        const field = st.byName.get(e.name);
        if (!field) this.fail(e.nameRange, `struct ${st.name} has no field '${e.name}'${suggest(e.name, st.fields.map((f) => f.name))}`);
        const off = field.offset;
        const b = base.fn;
        return { type: field.type, fn: off ? (rt) => b(rt) + off : b };
      }
      case 'call': {
        if (e.callee.kind === 'ident') return this.intrinsicAddress(e.callee.name, e);
        break;
      }
    }
    this.fail(e.range, `${describeExpr(e)} is not something that can be assigned or have its address taken`);
  }

  private arrayLength(e: Expr): number | undefined {
    try {
      const t = this.typeOf(e);
      return t.k === 'array' ? t.len : undefined;
    } catch {
      return undefined;
    }
  }

  /** per_cpu(var, cpu), __get_cpu_var(var), READ_ONCE(x) and ACCESS_ONCE(x) as lvalues. */
  private intrinsicAddress(name: string, e: Extract<Expr, { kind: 'call' }>): { type: Type; fn: Value } {
    const args = e.args;
    const want = (n: number) => {
      if (args.length !== n) this.fail(e.range, `${name}() takes ${n} argument${n === 1 ? '' : 's'}`);
    };
    switch (name) {
      case 'per_cpu':
      case '__get_cpu_var':
      case '__this_cpu_read':
      case 'this_cpu_read': {
        want(name === 'per_cpu' ? 2 : 1);
        const g = this.perCpuVariable(args[0]);
        const size = sizeOf(g.type);
        const base = g.addr;
        if (name === 'per_cpu') {
          const cpu = this.cpuIndex(args[1]);
          return { type: g.type, fn: (rt) => base + cpu(rt) * size };
        }
        return { type: g.type, fn: (rt) => base + rt.cpu * size };
      }
      case 'READ_ONCE':
      case 'ACCESS_ONCE':
        want(1);
        return this.addressOf(args[0]);
    }
    this.fail(e.range, `${describeExpr(e)} is not something that can be assigned or have its address taken`);
  }

  private cpuIndex(e: Expr): Value {
    const cpu = this.scalar(e, e.range).fn;
    const nr = this.options.nrCpus;
    return (rt) => {
      const c = cpu(rt);
      if (c < 0 || c >= nr) rt.fault(`CPU ${c} does not exist (the machine has ${nr})`);
      return c;
    };
  }

  private perCpuVariable(e: Expr): GlobalVar {
    if (e.kind === 'ident') {
      const g = this.globals.get(e.name);
      if (g?.perCpu) return g;
      if (g) this.fail(e.range, `'${e.name}' is not a per-CPU variable (declare it with DEFINE_PER_CPU)`);
    }
    this.fail(e.range, `expected the name of a per-CPU variable`);
  }

  private unary(e: Extract<Expr, { kind: 'unary' }>): Compiled {
    switch (e.op) {
      case '&': {
        if (e.arg.kind === 'ident' && !this.fb?.lookup(e.arg.name) && this.functions.has(e.arg.name)) return this.identifier(e.arg);
        if (e.arg.kind === 'ident') {
          // &per_cpu_var is the per-CPU base pointer, for this_cpu_ptr() and per_cpu_ptr()
          const g = this.globals.get(e.arg.name);
          if (g?.perCpu && !this.fb?.lookup(e.arg.name)) return constant({ k: 'ptr', to: g.type }, g.addr);
        }
        const a = this.addressOf(e.arg);
        return { type: { k: 'ptr', to: a.type }, fn: a.fn };
      }
      case '*':
        return this.load(this.addressOf(e));
      case 'pre++':
      case 'pre--':
      case 'post++':
      case 'post--': {
        const a = this.addressOf(e.arg);
        if (a.type.k !== 'int') this.fail(e.range, `${e.op.slice(-2)} works on integers only (KC has no pointer arithmetic)`);
        const addr = a.fn;
        const d = e.op.endsWith('++') ? 1 : -1;
        const post = e.op.startsWith('post');
        return {
          type: a.type,
          fn: (rt) => {
            const p = addr(rt);
            const old = rt.load(p);
            const v = (old + d) | 0;
            rt.store(p, v);
            return post ? old : v;
          },
        };
      }
    }
    const v = this.scalar(e.arg, e.arg.range);
    const f = v.fn;
    if (v.constant !== undefined) {
      const c = v.constant;
      return constant(INT, e.op === '!' ? (c ? 0 : 1) : e.op === '~' ? ~c : e.op === '-' ? -c | 0 : c);
    }
    switch (e.op) {
      case '!': return { type: BOOL, fn: (rt) => (f(rt) ? 0 : 1) };
      case '~': return { type: INT, fn: (rt) => ~f(rt) };
      case '-': return { type: INT, fn: (rt) => -f(rt) | 0 };
      default: return { type: v.type, fn: f };
    }
  }

  private binary(e: Extract<Expr, { kind: 'binary' }>): Compiled {
    const a = this.scalar(e.left, e.left.range);
    const b = this.scalar(e.right, e.right.range);
    const l = a.fn;
    const r = b.fn;
    if ((e.op === '+' || e.op === '-') && (a.type.k === 'ptr' || b.type.k === 'ptr') && !(a.type.k === 'ptr' && b.type.k === 'ptr' && e.op === '-')) {
      this.fail(e.range, 'KC has no pointer arithmetic: index an array, or use &p->field');
    }
    if (a.constant !== undefined && b.constant !== undefined) {
      const v = binaryOp(e.op, a.constant, b.constant);
      if (v === undefined) this.fail(e.range, 'division by zero');
      return constant(INT, v);
    }
    switch (e.op) {
      case '&&': return { type: BOOL, fn: (rt) => (l(rt) && r(rt) ? 1 : 0) };
      case '||': return { type: BOOL, fn: (rt) => (l(rt) || r(rt) ? 1 : 0) };
      case '==': return { type: BOOL, fn: (rt) => (l(rt) === r(rt) ? 1 : 0) };
      case '!=': return { type: BOOL, fn: (rt) => (l(rt) !== r(rt) ? 1 : 0) };
      case '<': return { type: BOOL, fn: (rt) => (l(rt) < r(rt) ? 1 : 0) };
      case '>': return { type: BOOL, fn: (rt) => (l(rt) > r(rt) ? 1 : 0) };
      case '<=': return { type: BOOL, fn: (rt) => (l(rt) <= r(rt) ? 1 : 0) };
      case '>=': return { type: BOOL, fn: (rt) => (l(rt) >= r(rt) ? 1 : 0) };
      case '+': return { type: INT, fn: (rt) => (l(rt) + r(rt)) | 0 };
      case '-': return { type: INT, fn: (rt) => (l(rt) - r(rt)) | 0 };
      case '*': return { type: INT, fn: (rt) => Math.imul(l(rt), r(rt)) };
      case '&': return { type: INT, fn: (rt) => l(rt) & r(rt) };
      case '|': return { type: INT, fn: (rt) => l(rt) | r(rt) };
      case '^': return { type: INT, fn: (rt) => l(rt) ^ r(rt) };
      case '<<': return { type: INT, fn: (rt) => l(rt) << r(rt) };
      case '>>': return { type: INT, fn: (rt) => l(rt) >> r(rt) };
      case '/':
      case '%': {
        const op = e.op;
        return {
          type: INT,
          fn: (rt) => {
            const d = r(rt);
            if (d === 0) rt.fault('division by zero');
            return binaryOp(op, l(rt), d)!;
          },
        };
      }
    }
  }

  private assignment(e: Extract<Expr, { kind: 'assign' }>): Compiled {
    const target = this.addressOf(e.target);
    const addr = target.fn;
    if (target.type.k === 'struct') {
      if (e.op !== '=') this.fail(e.range, `'${e.op}' does not work on structs`);
      const src = this.addressOf(e.value);
      if (src.type !== target.type) this.fail(e.range, `cannot assign ${typeName(src.type)} to ${typeName(target.type)}`);
      const n = target.type.size;
      const from = src.fn;
      return {
        type: target.type,
        fn: (rt) => {
          const d = addr(rt);
          const s = from(rt);
          for (let i = 0; i < n; i++) rt.store(d + i, rt.load(s + i));
          return d;
        },
      };
    }
    if (target.type.k === 'array' || target.type.k === 'func') this.fail(e.target.range, `cannot assign to ${describeExpr(e.target)}`);
    const value = this.scalar(e.value, e.value.range);
    if (e.op === '=') {
      const v = this.convert(value, target.type);
      return {
        type: target.type,
        fn: (rt) => {
          const x = v(rt);
          rt.store(addr(rt), x);
          return x;
        },
      };
    }
    const op = e.op.slice(0, -1) as Parameters<typeof binaryOp>[0];
    if (target.type.k === 'ptr') this.fail(e.range, 'KC has no pointer arithmetic');
    const v = value.fn;
    const isBool = target.type.k === 'int' && target.type.name === 'bool';
    return {
      type: target.type,
      fn: (rt) => {
        const p = addr(rt);
        const rhs = v(rt);
        let x = binaryOp(op, rt.load(p), rhs);
        if (x === undefined) return rt.fault('division by zero');
        if (isBool) x = x ? 1 : 0;
        rt.store(p, x);
        return x;
      },
    };
  }

  private call(e: Extract<Expr, { kind: 'call' }>): Compiled {
    if (e.callee.kind !== 'ident' || this.isModelCall(e)) {
      this.fail(e.range, 'internal: a model call was not lowered');
    }
    const name = e.callee.name;
    if (INTRINSICS.has(name)) return this.intrinsic(name, e);
    const b = this.options.builtins.functions[name];
    // statement-level calls to built-ins that wait were handled in expressionStatement
    if (b.blocking) this.fail(e.range, `${name}() may wait, so it must be called as a statement of its own`);
    const fn = this.builtinCall(name, b, e.args, e.range);
    return { type: this.builtinType(b.returns, e.range), fn };
  }

  private builtinCall(name: string, b: BuiltinFunction, args: Expr[], range: SourceRange): Value {
    if (b.format) {
      const fmtIndex = b.format === 'warn' && !['WARN_ON', 'WARN_ON_ONCE', 'BUG_ON'].includes(name) ? 1 : 0;
      const once = name.endsWith('_ONCE');
      if (b.format === 'warn' && fmtIndex === 0) {
        if (args.length !== 1) this.fail(range, `${name}() takes one condition`);
        const cond = this.scalar(args[0], args[0].range).fn;
        const site = this.site(range, undefined, once);
        const impl = b.impl;
        return (rt) => impl(rt, site, [cond(rt)]);
      }
      const fmt = args[fmtIndex];
      if (!fmt || fmt.kind !== 'str') this.fail(fmt?.range ?? range, `${name}() needs a format string${fmtIndex ? ' after the condition' : ''}`);
      const values = args.filter((_, i) => i !== fmtIndex).map((a) => this.scalar(a, a.range).fn);
      const site = this.site(range, fmt.value, once);
      const impl = b.impl;
      const scratch = new Array<number>(values.length);
      return (rt) => {
        for (let i = 0; i < values.length; i++) scratch[i] = values[i](rt);
        return impl(rt, site, scratch);
      };
    }
    if (args.length !== b.params.length) {
      this.fail(range, `${name}() takes ${b.params.length} argument${b.params.length === 1 ? '' : 's'}, not ${args.length}`);
    }
    const fns = args.map((a, i) => (b.params[i] === 'address' ? this.addressOf(a).fn : this.scalar(a, a.range).fn));
    const site = this.site(range);
    const impl = b.impl;
    switch (fns.length) {
      case 0: return (rt) => impl(rt, site);
      case 1: {
        const [a0] = fns;
        return (rt) => impl(rt, site, a0(rt));
      }
      case 2: {
        const [a0, a1] = fns;
        return (rt) => impl(rt, site, a0(rt), a1(rt));
      }
      case 3: {
        const [a0, a1, a2] = fns;
        return (rt) => impl(rt, site, a0(rt), a1(rt), a2(rt));
      }
      default:
        return (rt) => impl(rt, site, ...fns.map((f) => f(rt)));
    }
  }

  private intrinsic(name: string, e: Extract<Expr, { kind: 'call' }>): Compiled {
    const args = e.args;
    const want = (n: number) => {
      if (args.length !== n) this.fail(e.range, `${name}() takes ${n} argument${n === 1 ? '' : 's'}, not ${args.length}`);
    };
    switch (name) {
      case 'likely':
      case 'unlikely':
        want(1);
        return this.scalar(args[0], args[0].range);
      case 'READ_ONCE':
      case 'ACCESS_ONCE':
        want(1);
        return this.rvalue(args[0]);
      case 'WRITE_ONCE':
      case '__this_cpu_write':
      case 'this_cpu_write': {
        want(2);
        const target = name === 'WRITE_ONCE' ? this.addressOf(args[0]) : this.intrinsicAddress('__get_cpu_var', { ...e, args: [args[0]] });
        const v = this.convert(this.scalar(args[1], args[1].range), target.type);
        const addr = target.fn;
        return {
          type: VOID,
          fn: (rt) => {
            rt.store(addr(rt), v(rt));
            return 0;
          },
        };
      }
      case 'per_cpu':
      case '__get_cpu_var':
      case '__this_cpu_read':
      case 'this_cpu_read':
        return this.load(this.intrinsicAddress(name, e));
      case 'this_cpu_ptr':
      case 'raw_cpu_ptr':
      case 'per_cpu_ptr': {
        want(name === 'per_cpu_ptr' ? 2 : 1);
        const p = this.scalar(args[0], args[0].range);
        if (p.type.k !== 'ptr') this.fail(args[0].range, `${name}() needs a per-CPU pointer such as &var`);
        const size = sizeOf(p.type.to);
        const base = p.fn;
        if (name === 'per_cpu_ptr') {
          const cpu = this.cpuIndex(args[1]);
          return { type: p.type, fn: (rt) => base(rt) + cpu(rt) * size };
        }
        return { type: p.type, fn: (rt) => base(rt) + rt.cpu * size };
      }
    }
    this.fail(e.range, `unknown intrinsic ${name}`);
  }

  private builtinType(t: string, at: SourceRange): Type {
    if (t === 'void') return VOID;
    if (t === 'int') return INT;
    if (t === 'bool') return BOOL;
    const m = /^(.*?)\s*\*$/.exec(t);
    if (!m) this.fail(at, `internal: bad built-in type '${t}'`);
    const inner = m[1];
    if (inner === 'void') return VOID_PTR;
    if (inner.startsWith('struct ')) return { k: 'ptr', to: this.completeStruct(inner.slice(7), at) };
    return { k: 'ptr', to: this.resolveType({ kind: 'named', name: inner, range: at }, at, false) };
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
        } catch {
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

function constant(type: Type, value: number): Compiled {
  return { type, fn: () => value, constant: value };
}

function toBool(f: Value): Value {
  return (rt) => (f(rt) ? 1 : 0);
}

function decay(t: Type): Type {
  if (t.k === 'array') return { k: 'ptr', to: t.of };
  if (t.k === 'func') return { k: 'ptr', to: t };
  return t;
}

function binaryOp(op: string, a: number, b: number): number | undefined {
  switch (op) {
    case '+': return (a + b) | 0;
    case '-': return (a - b) | 0;
    case '*': return Math.imul(a, b);
    case '/': return b === 0 ? undefined : (a / b) | 0;
    case '%': return b === 0 ? undefined : a % b | 0;
    case '<<': return a << b;
    case '>>': return a >> b;
    case '&': return a & b;
    case '|': return a | b;
    case '^': return a ^ b;
    case '&&': return a && b ? 1 : 0;
    case '||': return a || b ? 1 : 0;
    case '==': return a === b ? 1 : 0;
    case '!=': return a !== b ? 1 : 0;
    case '<': return a < b ? 1 : 0;
    case '>': return a > b ? 1 : 0;
    case '<=': return a <= b ? 1 : 0;
    case '>=': return a >= b ? 1 : 0;
  }
  return undefined;
}

function walkExpr(e: Expr | InitList, visit: (e: Expr) => void): void {
  if (e.kind === 'init_list') {
    for (const item of e.items) walkExpr(item.value, visit);
    return;
  }
  visit(e);
  switch (e.kind) {
    case 'unary': return walkExpr(e.arg, visit);
    case 'binary': walkExpr(e.left, visit); return walkExpr(e.right, visit);
    case 'assign': walkExpr(e.target, visit); return walkExpr(e.value, visit);
    case 'cond': walkExpr(e.test, visit); walkExpr(e.then, visit); return walkExpr(e.else, visit);
    case 'call': walkExpr(e.callee, visit); for (const a of e.args) walkExpr(a, visit); return;
    case 'index': walkExpr(e.base, visit); return walkExpr(e.index, visit);
    case 'member': return walkExpr(e.base, visit);
    case 'cast': return walkExpr(e.arg, visit);
    case 'sizeof': return;
    case 'container_of': return walkExpr(e.ptr, visit);
  }
}

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

function where(r: SourceRange): string {
  return `${r.file}:${r.start.line}:${r.start.col}`;
}

function suggest(name: string, options: string[]): string {
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
