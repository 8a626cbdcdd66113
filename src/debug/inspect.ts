/** What a person asks about a stopped machine: scopes, variables, expressions, completions, and changes to memory. */
import { Scope } from '@vscode/debugadapter';
import { DebugProtocol } from '@vscode/debugprotocol';
import { Type } from '../kc/types.js';
import { machineBuiltins } from '../machine/builtins.js';
import { Debuggee } from './debuggee.js';
import { RequestError } from './errors.js';
import { compileTyped, diagnosticText, evaluationFailure } from './expressions.js';
import { frameOf, visibleLocal } from './frames.js';
import { RefTable, VarRef } from './variables.js';


/** The scopes of a frame (requests.ts has checked it exists). */
export function scopes(d: Debuggee, refs: RefTable, frameId: number): DebugProtocol.Scope[] {
  const at = frameOf(d, frameId)!;
  return [
    new Scope('Locals', refs.add({ kind: 'locals', cpu: at.cpu, frame: at.frame }), false),
    new Scope(`CPU${at.cpu}`, refs.add({ kind: 'cpu', cpu: at.cpu }), false),
    new Scope('Machine', refs.add({ kind: 'machine' }), false),
  ];
}

/** The rows under a variables reference; a reference from an earlier stop has none any more. */
export function variables(d: Debuggee, refs: RefTable, args: DebugProtocol.VariablesArguments): DebugProtocol.Variable[] {
  const ref = refs.get(args.variablesReference);
  return ref ? d.view.children(ref, args.start ?? 0, args.count ?? 0) : [];
}

/** A memory cell behind a child row of a variables reference, for setVariable and data breakpoints. */
export interface CellTarget {
  addr: number;
  path: string;
  type: Type;
  /** one bit of the cell: a CPU of a cpumask */
  bit?: number;
}

export function childAddress(d: Debuggee | undefined, ref: VarRef | undefined, name: string): CellTarget | undefined {
  if (!ref || !d) return undefined;
  const m = d.m;
  if (ref.kind === 'memory' && ref.type.k === 'struct' && ref.type.name === 'cpumask') {
    const cpu = Number(/^cpu(\d+)$/.exec(name)?.[1] ?? NaN);
    if (!(cpu >= 0 && cpu < m.nrCpus)) return undefined;
    return { addr: ref.addr + (cpu >> 5), bit: cpu & 31, path: `${ref.path} CPU ${cpu}`, type: { k: 'int', name: 'int' } };
  }
  if (ref.kind === 'cpu' && name === 'call_single_queue') {
    const g = m.program.globals.get('call_single_queue');
    return g ? { addr: g.addr + ref.cpu * (g.type.k === 'struct' ? g.type.size : 1), path: `per_cpu(call_single_queue, ${ref.cpu})`, type: g.type } : undefined;
  }
  if (ref.kind === 'locals') {
    const v = visibleLocal(ref.frame, name);
    return v ? { addr: ref.frame.fp + v.offset, path: v.name, type: v.type } : undefined;
  }
  if (ref.kind === 'memory' && ref.type.k === 'struct') {
    const f = ref.type.byName.get(name);
    return f ? { addr: ref.addr + f.offset, path: `${ref.path}.${f.name}`, type: f.type } : undefined;
  }
  if (ref.kind === 'memory' && ref.type.k === 'array') {
    const i = Number(/^\[(\d+)\]$/.exec(name)?.[1] ?? NaN);
    const size = ref.type.of.k === 'struct' ? ref.type.of.size : 1;
    return i >= 0 && i < ref.type.len ? { addr: ref.addr + i * size, path: `${ref.path}[${i}]`, type: ref.type.of } : undefined;
  }
  if (ref.kind === 'globals' || ref.kind === 'percpu') {
    const g = m.program.globals.get(name);
    if (!g) return undefined;
    const size = g.type.k === 'struct' ? g.type.size : 1;
    return { addr: g.addr + (ref.kind === 'percpu' ? ref.cpu * size : 0), path: name, type: g.type };
  }
  return undefined;
}

/** Sets a scalar child of a variables reference; the write becomes part of the history. Returns the new value as shown. */
export function setVariable(d: Debuggee, refs: RefTable, args: DebugProtocol.SetVariableArguments): string {
  const target = childAddress(d, refs.get(args.variablesReference), args.name);
  if (!target) throw new RequestError(`${args.name} cannot be set here`);
  if (target.type.k === 'struct' || target.type.k === 'array') throw new RequestError(`${args.name} is a ${target.type.k}: set its fields one by one`);
  const r = compileTyped(d.m.program, '<value>', args.value);
  if (!r.ok) throw new RequestError(diagnosticText(r.diagnostics));
  let value: number;
  try {
    value = r.eval(d.m);
  } catch (e) {
    throw new RequestError(evaluationFailure(e));
  }
  d.timeline.write(target.addr, value);
  return d.view.scalar(value, target.type);
}

/** A KC expression evaluated in a frame (or on CPU 0 at global scope), as a Variables-view row. */
export function evaluate(d: Debuggee, args: DebugProtocol.EvaluateArguments): DebugProtocol.EvaluateResponse['body'] {
  const m = d.m;
  const at = args.frameId !== undefined ? frameOf(d, args.frameId) : undefined;
  const local = at ? (name: string) => visibleLocal(at.frame, name) : undefined;
  const r = compileTyped(m.program, '<expression>', args.expression, { local });
  if (!r.ok) throw new RequestError(r.diagnostics.map((x) => `column ${x.range.start.col}: ${x.message}`).join('; '));
  let row: DebugProtocol.Variable;
  try {
    const cpu = at?.cpu ?? 0;
    const fp = at?.frame.fp ?? 0;
    const addr = r.address ? m.inFrame(cpu, fp, () => r.address!(m)) : undefined;
    row = addr !== undefined && addr > 0 && addr < m.mem.length
      ? d.view.row(args.expression, addr, r.type, args.expression)
      : d.view.valueRow(args.expression, m.inFrame(cpu, fp, () => r.eval(m)), r.type, args.expression);
  } catch (e) {
    throw new RequestError(evaluationFailure(e));
  }
  return { result: row.value, variablesReference: row.variablesReference, type: row.type, indexedVariables: row.indexedVariables };
}

/** The machine's built-ins (smp_processor_id, cpu_online, ...), which a model uses without declaring them. */
const BUILTIN_NAMES = (() => {
  const b = machineBuiltins();
  return [...Object.keys(b.functions), ...Object.keys(b.globals)].filter((n) => !n.startsWith('__'));
})();

/** Names the Debug Console offers for the word before the cursor: locals, built-ins, globals, constants, functions. */
export function completions(d: Debuggee, args: DebugProtocol.CompletionsArguments): DebugProtocol.CompletionItem[] {
  const before = args.text.slice(0, args.column - 1);
  const word = /[A-Za-z_]\w*$/.exec(before)?.[0] ?? '';
  const items = new Map<string, DebugProtocol.CompletionItemType>();
  const at = args.frameId !== undefined ? frameOf(d, args.frameId) : undefined;
  if (at) for (const l of at.frame.fn.locals) if (!l.name.startsWith('$')) items.set(l.name, 'variable');
  for (const n of BUILTIN_NAMES) items.set(n, 'function');
  const program = d.m.program;
  for (const g of program.globals.values()) if (!g.hidden && !g.name.startsWith('__')) items.set(g.name, 'variable');
  for (const c of program.constants.keys()) items.set(c, 'value');
  for (const f of program.functions) if (!f.name.startsWith('__')) items.set(f.name, 'function');
  return [...items].filter(([n]) => n.startsWith(word)).sort(([a], [b]) => a.localeCompare(b)).slice(0, 200)
    .map(([label, type]) => ({ label, type, start: args.column - 1 - word.length, length: word.length }));
}

/** What a data breakpoint on a child row (or on an lvalue expression) would watch. */
export function dataBreakpointInfo(d: Debuggee, refs: RefTable, args: DebugProtocol.DataBreakpointInfoArguments): DebugProtocol.DataBreakpointInfoResponse['body'] {
  let target: { addr: number; path: string; bit?: number } | undefined;
  if (args.variablesReference !== undefined) target = childAddress(d, refs.get(args.variablesReference), args.name);
  else {
    const r = compileTyped(d.m.program, '<data>', args.name);
    try {
      if (r.ok && r.address) target = { addr: r.address(d.m), path: args.name };
    } catch (e) {
      return { dataId: null, description: `${args.name} cannot be watched: ${evaluationFailure(e)}` };
    }
  }
  if (!target || target.addr <= 0 || target.addr >= d.m.mem.length) return { dataId: null, description: `${args.name} has no single memory cell to watch` };
  const bit = target.bit;
  return {
    dataId: bit === undefined ? String(target.addr) : `${target.addr}:${bit}`,
    description: bit === undefined ? `${target.path} (${d.m.nameOf(target.addr)})` : target.path,
    accessTypes: ['write'], canPersist: false,
  };
}
