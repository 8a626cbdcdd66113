/**
 * The bottom layer of the compiler: the program's names and types, global
 * memory, constants and constant initialisers.
 */
import { Expr, FieldDecl, InitItem, InitList, Initializer, SourceFile, TypeSpec } from './ast.js';
import { FunctionInfo } from './builder.js';
import { Diagnostic, DiagnosticError, SourceRange, errorAt } from './diagnostics.js';
import { where } from './describe.js';
import { MAX_NESTING, NestingError } from './parser.js';
import { GlobalVar } from './program.js';
import { CallSite } from './runtime.js';
import { BOOL, FuncType, INT, StructType, Type, VOID, VOID_PTR, functionValue, isScalar, sizeOf, stringValue, typeName } from './types.js';
import { binaryOp, decay } from './values.js';
import type { CompileOptions } from './compiler.js';

/**
 * Cells the model's variables may take in all: globals, every CPU's copy of
 * the per-CPU variables, static locals and a scenario's objects (16 MiB).
 */
export const MAX_VARIABLE_CELLS = 1 << 22;

/** Names, types, global memory and constants of a program being compiled. */
export class Declarations {
  protected readonly typedefSpecs = new Map<string, TypeSpec>();
  protected readonly typedefs = new Map<string, Type>();
  protected readonly structSpecs = new Map<string, Extract<TypeSpec, { kind: 'struct' }>>();
  protected readonly structs = new Map<string, StructType>();
  protected readonly completing = new Set<string>();
  protected readonly constants = new Map<string, number>();
  protected readonly enums = new Map<string, Map<number, string>>();
  protected readonly defines = new Map<string, { expr: Expr; range: SourceRange }>();
  protected readonly expanding = new Set<string>();
  protected readonly globals = new Map<string, GlobalVar>();
  protected readonly functions = new Map<string, FunctionInfo>();
  protected readonly functionList: FunctionInfo[] = [];
  protected readonly strings: string[] = [];
  protected readonly stringIds = new Map<string, number>();
  protected readonly initialData: number[] = [];
  protected readonly callSites: CallSite[] = [];
  protected nextAddr = 1;
  /** how deep the compiler is inside one expression or type, #defines, typedefs and structs followed */
  protected depth = 0;
  /** #defines, typedefs and structs whose definitions lead through a chain nested too deeply */
  private readonly tooDeep = new Set<string>();
  private nestingReported = false;

  constructor(
    protected readonly files: SourceFile[],
    protected readonly options: CompileOptions,
    protected readonly diagnostics: Diagnostic[],
    protected readonly typedefNames: Set<string>,
  ) {
    this.constants.set('NR_CPUS', options.nrCpus);
    this.constants.set('NR_CPUMASK_WORDS', Math.ceil(options.nrCpus / 32));
    this.constants.set('NULL', 0);
    this.constants.set('true', 1);
    this.constants.set('false', 0);
  }

  protected error(range: SourceRange, message: string): void {
    this.diagnostics.push(errorAt(range, message));
  }

  protected fail(range: SourceRange, message: string): never {
    throw new DiagnosticError(errorAt(range, message));
  }

  /** Goes one level deeper into an expression or a type (the caller decrements `depth`); past MAX_NESTING it is refused. */
  protected deeper(at: SourceRange): void {
    if (this.depth >= MAX_NESTING) throw tooDeepAt(at);
    this.depth++;
  }

  /**
   * Follows a name to its definition (`key` is `#define X`, `typedef X` or
   * `struct X`). A name already found to lead too deep fails at once, without
   * walking its chain again.
   */
  protected follow<T>(key: string, at: SourceRange, f: () => T): T {
    if (this.tooDeep.has(key)) throw tooDeepAt(at);
    try {
      return f();
    } catch (e) {
      if (e instanceof NestingError) this.tooDeep.add(key);
      throw e;
    }
  }

  /** Records a thrown diagnostic. One nesting error is enough: the others are mostly the same chain met again. */
  protected report(e: DiagnosticError): void {
    if (e instanceof NestingError) {
      if (this.nestingReported) return;
      this.nestingReported = true;
    }
    this.diagnostics.push(e.diagnostic);
  }

  /** Runs `f`, turning a thrown diagnostic into a recorded one. */
  protected guard<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      if (e instanceof DiagnosticError) {
        this.report(e);
        return undefined;
      }
      throw e;
    }
  }

  // ---- types

  /** Records struct and enum definitions found anywhere inside a type. */
  protected noteTypeDefinitions(spec: TypeSpec): void {
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

  protected completeStruct(name: string, at: SourceRange): StructType {
    let st = this.structs.get(name);
    if (!st) {
      st = { k: 'struct', name, fields: [], byName: new Map(), size: 0, complete: false };
      this.structs.set(name, st);
    }
    if (st.complete) return st;
    const spec = this.structSpecs.get(name);
    if (!spec?.fields) return st;
    if (this.completing.has(name)) this.fail(at, `struct ${name} contains itself`);
    return this.follow(`struct ${name}`, at, () => this.layoutStruct(st, spec.fields!));
  }

  /** Places the fields of a struct one after another. */
  private layoutStruct(st: StructType, fields: FieldDecl[]): StructType {
    const name = st.name;
    this.completing.add(name);
    // a struct whose layout failed before starts again from nothing
    st.fields.length = 0;
    st.byName.clear();
    try {
      let offset = 0;
      for (const f of fields) {
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
  protected resolveType(spec: TypeSpec, at: SourceRange, byValue: boolean): Type {
    this.deeper(at);
    try {
      switch (spec.kind) {
        case 'named': {
          if (spec.name === 'void') return VOID;
          if (spec.name === 'bool') return BOOL;
          if (spec.name === 'int' || spec.name === 'char') return { k: 'int', name: spec.name };
          const cached = this.typedefs.get(spec.name);
          if (cached) return cached;
          const td = this.typedefSpecs.get(spec.name);
          if (!td) this.fail(spec.range, `unknown type '${spec.name}'`);
          const t = this.follow(`typedef ${spec.name}`, spec.range, () => this.resolveType(td, spec.range, byValue));
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
          const of = this.resolveType(spec.of, at, true);
          if (len * sizeOf(of) > MAX_VARIABLE_CELLS) this.fail(at, `an array of ${len} × ${sizeOf(of)} cells is larger than the model's variables may take (${MAX_VARIABLE_CELLS} cells)`);
          return { k: 'array', of, len };
        }
        case 'func':
          return {
            k: 'func',
            ret: this.resolveType(spec.ret, at, false),
            params: spec.params.map((p) => decay(this.resolveType(p.type, p.range, false))),
          };
      }
    } finally {
      this.depth--;
    }
  }

  protected functionType(f: FunctionInfo): FuncType {
    if (!f.type) f.type = this.resolveType(f.decl.type, f.decl.nameRange, false) as FuncType;
    return f.type;
  }

  // ---- global memory

  protected allocGlobal(name: string, type: Type, perCpu: boolean, range: SourceRange, hidden: boolean): GlobalVar {
    const cells = sizeOf(type) * (perCpu ? this.options.nrCpus : 1);
    if (this.nextAddr + cells > MAX_VARIABLE_CELLS) {
      const what = perCpu ? `${sizeOf(type)} cells on each of ${this.options.nrCpus} CPUs` : `${cells} cells`;
      this.fail(range, `'${name}' (${what}) does not fit: the model's variables may take at most ${MAX_VARIABLE_CELLS} cells, and ${this.nextAddr - 1} are taken`);
    }
    const g: GlobalVar = { name, addr: this.nextAddr, type, perCpu, range, hidden };
    this.nextAddr += cells;
    this.globals.set(name, g);
    return g;
  }

  /**
   * The places a { } initialiser of a struct or array writes: each item with
   * the offset and type of the field or element it names (designated or next
   * in order), checked against the type.
   */
  protected *initListParts(type: Type & { k: 'struct' | 'array' }, init: InitList): Generator<{ offset: number; type: Type; item: InitItem }> {
    let index = 0;
    for (const item of init.items) {
      if (type.k === 'struct') {
        const field = item.field ? type.byName.get(item.field) : type.fields[index];
        if (!field) this.fail(item.range, item.field ? `struct ${type.name} has no field '${item.field}'` : `too many initialisers for struct ${type.name}`);
        index = type.fields.indexOf(field) + 1;
        yield { offset: field.offset, type: field.type, item };
        continue;
      }
      if (item.field) this.fail(item.range, 'an array initialiser takes [index] =, not .field =');
      if (item.index) index = this.constValue(item.index);
      if (index < 0 || index >= type.len) this.fail(item.range, `index ${index} is outside the array of ${type.len}`);
      yield { offset: index * sizeOf(type.of), type: type.of, item };
      index++;
    }
  }

  /** Writes a constant initialiser into initialData. */
  protected constInit(addr: number, type: Type, init: Initializer, at: SourceRange): void {
    if (init.kind === 'init_list') {
      if (type.k === 'struct' || type.k === 'array') {
        for (const part of this.initListParts(type, init)) this.constInit(addr + part.offset, part.type, part.item.value, part.item.range);
        return;
      }
      if (init.items.length === 1 && !init.items[0].field) return this.constInit(addr, type, init.items[0].value, at);
      this.fail(at, `a ${typeName(type)} cannot take a { } initialiser`);
    }
    if (!isScalar(type)) this.fail(at, `a ${typeName(type)} needs a { } initialiser`);
    const v = this.constValue(init, true);
    this.initialData.push(addr, type === BOOL || (type.k === 'int' && type.name === 'bool') ? (v ? 1 : 0) : v);
  }

  // ---- constants

  /** Evaluates a constant expression; with `allowAddresses`, also &global, functions and strings. */
  protected constValue(e: Expr, allowAddresses = false): number {
    this.deeper(e.range);
    try {
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
    } finally {
      this.depth--;
    }
  }

  protected constAddress(e: Expr): number {
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

  protected staticTypeOfGlobalPath(e: Expr): Type {
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

  protected expandDefine<T>(name: string, at: SourceRange, f: () => T): T {
    if (this.expanding.has(name)) this.fail(at, `#define '${name}' refers to itself`);
    this.expanding.add(name);
    try {
      return this.follow(`#define ${name}`, at, f);
    } finally {
      this.expanding.delete(name);
    }
  }

  protected stringValue(s: string): number {
    let id = this.stringIds.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.stringIds.set(s, id);
    }
    return stringValue(id);
  }

  protected builtinType(t: string, at: SourceRange): Type {
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
}

function tooDeepAt(at: SourceRange): NestingError {
  return new NestingError(errorAt(at, `nesting deeper than ${MAX_NESTING} levels once #defines, typedefs and structs are followed`));
}
