/**
 * The compiler's expressions: values and lvalues, operators, calls to
 * built-ins and intrinsics, and the lowering that turns a call into the
 * model inside an expression into a call step of its own.
 */
import { Expr, InitList, walkExpr } from './ast.js';
import { FunctionBuilder, Label } from './builder.js';
import { Declarations } from './declarations.js';
import { describeExpr, suggest } from './describe.js';
import { DiagnosticError, SourceRange } from './diagnostics.js';
import { ExpressionScope, GlobalVar, LocalVar } from './program.js';
import { BuiltinFunction, CallSite } from './runtime.js';
import { BOOL, Field, FuncType, INT, StructType, Type, VOID, VOID_PTR, functionValue, isScalar, pointee, sizeOf, typeName } from './types.js';
import { Compiled, Value, binaryOp, constant, toBool } from './values.js';

/** Intrinsics: kernel macros the compiler expands itself because they take variable names or change lvalues. */
const INTRINSICS = new Set([
  'per_cpu', '__get_cpu_var', 'this_cpu_ptr', 'per_cpu_ptr', 'raw_cpu_ptr', '__this_cpu_read', 'this_cpu_read',
  '__this_cpu_write', 'this_cpu_write', 'READ_ONCE', 'ACCESS_ONCE', 'WRITE_ONCE', 'likely', 'unlikely',
]);

/** Expressions and calls, inside a function (`fb`) or on their own (`scope`). */
export class Expressions extends Declarations {
  protected fb?: FunctionBuilder;
  protected scope?: ExpressionScope;

  protected get builder(): FunctionBuilder {
    return this.fb!;
  }

  /** Emits a condition step: falls through when true, goes to `ifFalse` otherwise (or `ifTrue` when given). */
  protected branch(test: Value, range: SourceRange, ifFalse: Label, ifTrue?: Label): void {
    const fb = this.builder;
    const targets = { f: -1 };
    fb.emit('cond', range, (self) => (rt) => (test(rt) ? self.next : targets.f));
    ifFalse.then((pc) => (targets.f = pc));
    if (ifTrue) fb.jump(ifTrue);
  }

  protected condition(e: Expr): Value {
    const lowered = this.lower(e);
    return this.scalar(lowered, e.range).fn;
  }

  // ---- calls into the model

  protected isBuiltinName(name: string): boolean {
    return !this.fb?.lookup(name) && !this.functions.has(name) && !this.globals.has(name) && name in this.options.builtins.functions;
  }

  /** A call that runs model code (a frame is pushed), as opposed to a built-in or intrinsic. */
  protected isModelCall(e: Extract<Expr, { kind: 'call' }>): boolean {
    if (e.callee.kind === 'ident') {
      const name = e.callee.name;
      if (this.fb?.lookup(name) || this.scope?.local?.(name)) return true;
      if (this.functions.has(name)) return true;
      if (INTRINSICS.has(name) || name in this.options.builtins.functions) return false;
    }
    return true;
  }

  protected containsModelCall(e: Expr | InitList): boolean {
    let found = false;
    walkExpr(e, (x) => {
      if (x.kind === 'call' && this.isModelCall(x)) found = true;
    });
    return found;
  }

  /** Emits a call step. The result goes to `dest` (an address) or is dropped. */
  protected emitCall(e: Extract<Expr, { kind: 'call' }>, dest: Value | undefined, range: SourceRange): void {
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
    args.forEach((a, i) => {
      if (a.kind === 'str' && fnType.params[i]?.k === 'int') this.fail(a.range, `argument ${i + 1} of ${describeExpr(e.callee).replace(/'$/, "()'")} is a number (${typeName(fnType.params[i])}), not a string`);
    });
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
  protected lower(e: Expr): Expr {
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

  protected voidCall(e: Extract<Expr, { kind: 'call' }>): Expr {
    this.emitCall(e, undefined, e.range);
    return { kind: 'num', value: 0, range: e.range };
  }

  protected callReturnType(e: Extract<Expr, { kind: 'call' }>): Type {
    if (e.callee.kind === 'ident' && !this.fb?.lookup(e.callee.name)) {
      const f = this.functions.get(e.callee.name);
      if (f) return this.functionType(f).ret;
    }
    const c = this.rvalue(e.callee);
    const t = c.type.k === 'ptr' && c.type.to.k === 'func' ? c.type.to : c.type.k === 'func' ? c.type : undefined;
    if (!t) this.fail(e.callee.range, `${describeExpr(e.callee)} is not a function`);
    return t.ret;
  }

  protected temp(type: Type, range: SourceRange): LocalVar {
    const fb = this.builder;
    const v = fb.allocLocal(`$t${fb.temps++}`, type, range, false);
    fb.scopes[0].set(v.name, v);
    return v;
  }

  protected site(range: SourceRange, format?: string, once = false): CallSite {
    const site: CallSite = {
      range, functionName: this.fb?.info.name ?? '', onceAddr: 0, format,
    };
    if (once) site.onceAddr = this.allocGlobal(`$once${this.callSites.length}`, BOOL, false, range, true).addr;
    this.callSites.push(site);
    return site;
  }

  // ---- expressions

  /** The value of a scalar expression (arrays decay to their address, functions to function values). */
  protected scalar(e: Expr, at: SourceRange): Compiled {
    const v = this.rvalue(e);
    if (v.type.k === 'struct') this.fail(at, `${describeExpr(e)} is a struct; KC needs a scalar here`);
    return v;
  }

  protected convert(v: Compiled, to: Type): Value {
    if (to.k === 'int' && to.name === 'bool') return toBool(v.fn);
    return v.fn;
  }

  protected rvalue(e: Expr): Compiled {
    this.deeper(e.range);
    try {
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
          const field = memberAt(type, e.member);
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
    } finally {
      this.depth--;
    }
  }

  /** The static type of an expression without generating anything that runs (for sizeof). */
  protected typeOf(e: Expr): Type {
    const saved = this.diagnostics.length;
    try {
      if (e.kind === 'ident' || e.kind === 'member' || e.kind === 'index' || (e.kind === 'unary' && e.op === '*')) return this.addressOf(e).type;
      return this.rvalue(e).type;
    } finally {
      this.diagnostics.length = saved;
    }
  }

  protected load(a: { type: Type; fn: Value }): Compiled {
    const addr = a.fn;
    if (a.type.k === 'array') return { type: { k: 'ptr', to: a.type.of }, fn: addr };
    if (a.type.k === 'struct') return { type: a.type, fn: addr };
    return { type: a.type, fn: (rt) => rt.load(addr(rt)) };
  }

  protected identifier(e: Extract<Expr, { kind: 'ident' }>): Compiled {
    const name = e.name;
    // in a condition over an event, its fields come before anything the model calls by the same name
    const why = this.scope?.refused?.get(name);
    if (why) this.fail(e.range, why);
    const values = this.scope?.values;
    if (values?.has(name)) return { type: INT, fn: () => values.get(name) ?? 0 };
    if (this.fb?.lookup(name) || this.scope?.local?.(name) || this.globals.has(name) || this.scope?.objects?.has(name)) {
      const g = this.globals.get(name);
      if (g?.perCpu && !this.fb?.lookup(name) && !this.scope?.local?.(name)) {
        this.fail(e.range, `'${name}' is a per-CPU variable: use per_cpu(${name}, cpu), __get_cpu_var(${name}) or this_cpu_ptr(&${name})`);
      }
      return this.load(this.addressOf(e));
    }
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
  protected addressOf(e: Expr): { type: Type; fn: Value } {
    this.deeper(e.range);
    try {
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
    } finally {
      this.depth--;
    }
  }

  protected arrayLength(e: Expr): number | undefined {
    try {
      const t = this.typeOf(e);
      return t.k === 'array' ? t.len : undefined;
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      return undefined;
    }
  }

  /** per_cpu(var, cpu), __get_cpu_var(var), READ_ONCE(x) and ACCESS_ONCE(x) as lvalues. */
  protected intrinsicAddress(name: string, e: Extract<Expr, { kind: 'call' }>): { type: Type; fn: Value } {
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

  protected cpuIndex(e: Expr): Value {
    const cpu = this.scalar(e, e.range).fn;
    const nr = this.options.nrCpus;
    return (rt) => {
      const c = cpu(rt);
      if (c < 0 || c >= nr) rt.fault(`CPU ${c} does not exist (the machine has ${nr})`);
      return c;
    };
  }

  protected perCpuVariable(e: Expr): GlobalVar {
    if (e.kind === 'ident') {
      const g = this.globals.get(e.name);
      if (g?.perCpu) return g;
      if (g) this.fail(e.range, `'${e.name}' is not a per-CPU variable (declare it with DEFINE_PER_CPU)`);
    }
    this.fail(e.range, `expected the name of a per-CPU variable`);
  }

  protected unary(e: Extract<Expr, { kind: 'unary' }>): Compiled {
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

  protected binary(e: Extract<Expr, { kind: 'binary' }>): Compiled {
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

  protected assignment(e: Extract<Expr, { kind: 'assign' }>): Compiled {
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

  protected call(e: Extract<Expr, { kind: 'call' }>): Compiled {
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

  protected builtinCall(name: string, b: BuiltinFunction, args: Expr[], range: SourceRange): Value {
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

  protected intrinsic(name: string, e: Extract<Expr, { kind: 'call' }>): Compiled {
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
}

/**
 * The member a designator names, with its offset from the struct's start:
 * `llist`, or `node.llist` through embedded structs (as offsetof() takes it).
 */
export function memberAt(type: StructType, path: string): Field | undefined {
  let offset = 0;
  let field: Field | undefined;
  let within: Type = type;
  for (const name of path.split('.')) {
    if (within.k !== 'struct') return undefined;
    field = within.byName.get(name);
    if (!field) return undefined;
    offset += field.offset;
    within = field.type;
  }
  return field && { ...field, offset };
}
