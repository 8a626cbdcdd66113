/**
 * The compiler's statements: a function body becomes a list of steps, one
 * per statement or condition, joined by jumps.
 */
import { Expr, Initializer, Stmt, VarDecl } from './ast.js';
import { FunctionBuilder, FunctionInfo, Label } from './builder.js';
import { SourceRange } from './diagnostics.js';
import { describeExpr } from './describe.js';
import { Expressions, memberAt } from './expressions.js';
import { CompiledFunction, LocalVar } from './program.js';
import { Runtime } from './runtime.js';
import { BOOL, Type, isScalar, sizeOf, typeName } from './types.js';
import { toBool } from './values.js';

/** Function bodies. */
export class Statements extends Expressions {
  // ---- functions

  protected compileFunction(f: FunctionInfo): void {
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

  protected statement(s: Stmt): void {
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

  protected loopBody(body: Stmt, exit: Label, cont: Label): void {
    const fb = this.builder;
    fb.loops.push({ breakLabel: exit, continueLabel: cont });
    try {
      this.statement(body);
    } finally {
      fb.loops.pop();
    }
  }

  protected switchStatement(s: Extract<Stmt, { kind: 'switch' }>): void {
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

  protected localDeclaration(d: VarDecl): void {
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
  protected initializerWrites(type: Type, init: Initializer, at: SourceRange): (rt: Runtime, addr: number) => void {
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
    if (type.k === 'struct' || type.k === 'array') {
      for (const { offset, type: partType, item } of this.initListParts(type, init)) {
        const value = item.value.kind === 'init_list' ? item.value : this.lower(item.value);
        parts.push({ offset, write: this.initializerWrites(partType, value, item.range) });
      }
    } else this.fail(at, `a ${typeName(type)} cannot take a { } initialiser`);
    return (rt, addr) => {
      for (let i = 0; i < size; i++) rt.store(addr + i, 0);
      for (const p of parts) p.write(rt, addr + p.offset);
    };
  }

  protected expressionStatement(e: Expr, range: SourceRange): void {
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
      if (this.callReturnType(e.value).k === 'void') this.fail(e.value.range, `${describeExpr(e.value.callee).replace(/'$/, "()'")} returns void: there is no value to assign`);
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

  protected forEachCpu(s: Extract<Stmt, { kind: 'for_each_cpu' }>): void {
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

  protected listForEach(s: Extract<Stmt, { kind: 'list_for_each' }>): void {
    const fb = this.builder;
    const pos = this.addressOf(s.pos);
    const st = pos.type.k === 'ptr' ? pos.type.to : undefined;
    if (st?.k !== 'struct') this.fail(s.pos.range, `${s.macro} needs a pointer to a struct as its cursor`);
    const member = memberAt(st, s.member);
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
}
