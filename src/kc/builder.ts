/**
 * Code generation state for one function: the instructions emitted so far,
 * jump labels, scopes of locals, and the loops and switches being compiled.
 */
import { FunctionDecl } from './ast.js';
import { SourceRange } from './diagnostics.js';
import { CompiledFunction, Instr, LocalVar } from './program.js';
import { FRAME_HEADER, Runtime } from './runtime.js';
import { FuncType, Type, sizeOf } from './types.js';

export interface FunctionInfo {
  id: number;
  name: string;
  decl: FunctionDecl;
  type?: FuncType;
  compiled?: CompiledFunction;
}

export interface Loop {
  breakLabel: Label;
  continueLabel?: Label;
}

/** A jump target whose pc may not be known yet. */
export class Label {
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
export class FunctionBuilder {
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
