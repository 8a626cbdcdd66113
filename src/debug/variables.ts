import { DebugProtocol } from '@vscode/debugprotocol';
import { LocalVar } from '../kc/program.js';
import { Type, isFunctionValue, isStringValue, sizeOf, typeName } from '../kc/types.js';
import { CALL_FUNCTION_SINGLE_VECTOR, CALL_FUNCTION_VECTOR, CPU_REGS, IPI_CALL_FUNCTION, IPI_CALL_FUNCTION_SINGLE, R_BLOCKED, R_CURRENT, R_DEV_PENDING, R_IPI_PENDING, R_IRQS_ON, R_NEED_RESCHED, R_PREEMPT, R_SOFTIRQ_PENDING } from '../machine/layout.js';
import { FrameInfo, Machine } from '../machine/machine.js';
import { fieldText } from '../machine/trace.js';

/** What a variablesReference stands for. */
export type VarRef =
  | { kind: 'locals'; cpu: number; frame: FrameInfo }
  | { kind: 'cpu'; cpu: number }
  | { kind: 'machine' }
  | { kind: 'memory'; addr: number; type: Type; path: string }
  | { kind: 'queue'; cpu: number }
  | { kind: 'percpu'; cpu: number }
  | { kind: 'globals' };

/**
 * Allocates variablesReference numbers for one stop; all are dropped when the
 * machine moves. Numbers are never given out twice in a session, so a
 * reference from an earlier stop finds nothing rather than something else.
 */
export class RefTable {
  private refs: VarRef[] = [];
  /** the number before this stop's first */
  private base = 0;
  add(r: VarRef): number {
    this.refs.push(r);
    return this.base + this.refs.length;
  }
  get(n: number): VarRef | undefined {
    return n > this.base ? this.refs[n - this.base - 1] : undefined;
  }
  clear(): void {
    this.base += this.refs.length;
    this.refs = [];
  }
}

const PAGE = 100;

/** Rows [from, to) of `len` for a request's start and count (count 0: a page); out-of-range requests get fewer rows, never other memory. */
function page(len: number, start: number, count: number): [number, number] {
  const from = Math.min(Math.max(0, start), len);
  return [from, Math.min(len, from + (count > 0 ? count : PAGE))];
}

/** Builds Variables-view rows from machine memory. */
export class VariableView {
  constructor(private readonly m: Machine, private readonly refs: RefTable) {}

  /** A scalar or aggregate at addr, as a row. */
  row(name: string, addr: number, type: Type, path: string): DebugProtocol.Variable {
    const m = this.m;
    const base: DebugProtocol.Variable = { name, value: '', variablesReference: 0, type: typeName(type), evaluateName: path };
    if (addr <= 0 || addr >= m.mem.length) return { ...base, value: '<no memory>' };
    switch (type.k) {
      case 'struct':
        if (type.name === 'cpumask') return { ...base, value: `{${cpuList(m, addr)}}`, variablesReference: this.refs.add({ kind: 'memory', addr, type, path }) };
        return { ...base, value: `{${type.fields.slice(0, 3).map((f) => `${f.name}=${this.short(addr + f.offset, f.type)}`).join(', ')}${type.fields.length > 3 ? ', …' : ''}}`, variablesReference: this.refs.add({ kind: 'memory', addr, type, path }) };
      case 'array':
        return { ...base, value: `[${type.len}]`, indexedVariables: type.len, variablesReference: this.refs.add({ kind: 'memory', addr, type, path }) };
      default:
        return this.valueRow(name, m.mem[addr], type, path, addr);
    }
  }

  /** A scalar value as a row (read from addr, when known); a pointer to a struct expands into the struct it points to. */
  valueRow(name: string, v: number, type: Type, path: string, addr?: number): DebugProtocol.Variable {
    const m = this.m;
    const row: DebugProtocol.Variable = { name, value: this.scalar(v, type, addr), variablesReference: 0, type: typeName(type), evaluateName: path };
    if (type.k === 'ptr' && type.to.k === 'struct' && type.to.complete && v > 0 && v < m.mem.length) {
      row.variablesReference = this.refs.add({ kind: 'memory', addr: v, type: type.to, path: `(*${path})` });
      row.memoryReference = String(v);
    }
    return row;
  }

  /** A one-line rendering of the value at addr. */
  short(addr: number, type: Type): string {
    const m = this.m;
    if (type.k === 'struct') return type.name === 'cpumask' ? `{${cpuList(m, addr)}}` : '{…}';
    if (type.k === 'array') return `[${type.len}]`;
    return this.scalar(m.mem[addr], type, addr);
  }

  /**
   * A scalar as a kernel developer reads it: enum values and hotplug states by
   * name, a cpumask pointer as the CPUs in the mask, a task by its name.
   * `addr`, when given, is where the value was read.
   */
  scalar(v: number, type: Type, addr?: number): string {
    const m = this.m;
    if (type.k === 'int') {
      if (type.name === 'bool') return v ? 'true' : 'false';
      if (type.name.startsWith('enum ')) return m.program.enums.get(type.name)?.get(v) ?? String(v);
      if (addr !== undefined && this.holdsHotplugState(addr)) return fieldText(m, 'cpuhp', 'action', v);
      return String(v);
    }
    if (type.k === 'ptr') {
      if (v === 0) return 'NULL';
      if (isFunctionValue(v)) return m.symbol(v);
      if (isStringValue(v)) return JSON.stringify(m.symbol(v));
      if (type.to.k === 'struct' && type.to.name === 'cpumask' && v > 0 && v < m.mem.length) return `{${cpuList(m, v)}}`;
      if (type.to.k === 'struct' && type.to.name === 'task_struct') return `${m.taskName(v)}`;
      const to = type.to.k === 'struct' || type.to.k === 'opaque' ? ` → struct ${type.to.name}` : '';
      return `0x${(v >>> 0).toString(16)}${to}`;
    }
    if (type.k === 'func') return m.symbol(v);
    return String(v);
  }

  /**
   * x86 keeps each CPU's hotplug state in per_cpu(cpu_state, cpu), an int
   * holding the same CPU_* values a hotplug notifier's action takes
   * (CPU_ONLINE, CPU_DEAD), so it reads by those names, as cpuhp events do.
   */
  private holdsHotplugState(addr: number): boolean {
    const g = this.m.program.globals.get('cpu_state');
    return !!g && g.perCpu && addr >= g.addr && addr < g.addr + this.m.nrCpus * sizeOf(g.type);
  }

  children(ref: VarRef, start = 0, count = 0): DebugProtocol.Variable[] {
    switch (ref.kind) {
      case 'memory':
        return this.memoryChildren(ref, start, count);
      case 'locals':
        return this.locals(ref.frame);
      case 'cpu':
        return this.cpu(ref.cpu);
      case 'queue':
        return this.queue(ref.cpu, start, count);
      case 'percpu':
        return this.perCpu(ref.cpu);
      case 'machine':
        return this.machine();
      case 'globals':
        return this.globals();
    }
  }

  private memoryChildren(ref: Extract<VarRef, { kind: 'memory' }>, start: number, count: number): DebugProtocol.Variable[] {
    const t = ref.type;
    if (t.k === 'struct') {
      if (t.name === 'cpumask') {
        const out: DebugProtocol.Variable[] = [];
        for (let c = 0; c < this.m.nrCpus; c++) out.push({ name: `cpu${c}`, value: this.m.testMaskBit(ref.addr, c) ? '1' : '0', variablesReference: 0 });
        return out;
      }
      return t.fields.map((f) => this.row(f.name, ref.addr + f.offset, f.type, `${ref.path}.${f.name}`));
    }
    if (t.k === 'array') {
      const size = sizeOf(t.of);
      const [from, to] = page(t.len, start, count);
      const out: DebugProtocol.Variable[] = [];
      for (let i = from; i < to; i++) out.push(this.row(`[${i}]`, ref.addr + i * size, t.of, `${ref.path}[${i}]`));
      return out;
    }
    return [this.row('*', ref.addr, t, ref.path)];
  }

  locals(frame: FrameInfo): DebugProtocol.Variable[] {
    const pc = frame.pc;
    const visible = new Map<string, LocalVar>();
    for (const v of frame.fn.locals) {
      if (v.name.startsWith('$')) continue;
      if (!v.isParam && (pc < v.scope[0] || pc > v.scope[1])) continue;
      visible.set(v.name, v);
    }
    return [...visible.values()].map((v) => this.row(v.name, frame.fp + v.offset, v.type, v.name));
  }

  cpu(c: number): DebugProtocol.Variable[] {
    const m = this.m;
    const reg = (r: number) => m.mem[m.regBase + c * CPU_REGS + r];
    const regAddr = (r: number) => m.regBase + c * CPU_REGS + r;
    const q = m.queuedCallbacks(c);
    const rows: DebugProtocol.Variable[] = [
      { name: 'online', value: m.isOnline(c) ? 'true' : 'false', variablesReference: 0, evaluateName: `cpu_online(${c})` },
      { name: 'active', value: m.testMaskBit(m.mask('active'), c) ? 'true' : 'false', variablesReference: 0, evaluateName: `cpu_active(${c})` },
      { name: 'dead', value: m.isDead(c) ? 'true' : 'false', variablesReference: 0 },
      { name: 'irqs', value: reg(R_IRQS_ON) ? 'on' : 'off', variablesReference: 0, memoryReference: String(regAddr(R_IRQS_ON)) },
      { name: 'preempt_count', value: `0x${reg(R_PREEMPT).toString(16)}`, variablesReference: 0 },
      { name: 'current', value: m.taskName(reg(R_CURRENT)), variablesReference: 0 },
      { name: 'need_resched', value: reg(R_NEED_RESCHED) ? 'true' : 'false', variablesReference: 0 },
      { name: 'call_single_queue', value: q.length ? `${q.length} queued: ${q.map((e) => m.symbol(e.func)).join(', ')}` : 'empty', variablesReference: q.length ? this.refs.add({ kind: 'queue', cpu: c }) : 0, indexedVariables: q.length || undefined, evaluateName: `per_cpu(call_single_queue, ${c})` },
      { name: 'IPI pending', value: ipiVectorNames(reg(R_IPI_PENDING)), variablesReference: 0 },
      { name: 'IPI in flight', value: m.ipiInFlight(c) ?? 'none', variablesReference: 0 },
      { name: 'device irq pending', value: reg(R_DEV_PENDING) ? this.m.deviceIrqs.filter((_, i) => reg(R_DEV_PENDING) & (1 << i)).map((q2) => q2.name).join(', ') : 'none', variablesReference: 0 },
      { name: 'softirq pending', value: `0x${reg(R_SOFTIRQ_PENDING).toString(16)}`, variablesReference: 0 },
      { name: 'waiting', value: reg(R_BLOCKED) === 2 ? 'halted in idle' : reg(R_BLOCKED) ? `for ${m.describeAddresses(m.watchedBy(c))} to change` : 'no', variablesReference: 0 },
      { name: 'tasks', value: m.tasks(c).map((t) => m.taskName(t)).join(', '), variablesReference: 0 },
      { name: 'per-CPU variables', value: '', variablesReference: this.refs.add({ kind: 'percpu', cpu: c }) },
    ];
    return rows;
  }

  /** The queued csds in the order they will run, `count` of them from `start` (all when count is 0). */
  queue(c: number, start = 0, count = 0): DebugProtocol.Variable[] {
    const m = this.m;
    const csd = m.program.structs.get('call_single_data');
    const all = m.queuedCallbacks(c).reverse();
    const [from, to] = page(all.length, start, count);
    return all.slice(from, to).map((e, k) => {
      const i = from + k;
      const row = csd ? this.row(`[${i}]`, e.csd, csd, `(*(struct call_single_data *)${e.csd})`) : { name: `[${i}]`, value: '', variablesReference: 0 };
      return { ...row, value: `func=${m.symbol(e.func)} info=0x${(e.info >>> 0).toString(16)}` };
    });
  }

  perCpu(c: number): DebugProtocol.Variable[] {
    const out: DebugProtocol.Variable[] = [];
    for (const g of this.m.program.globals.values()) {
      if (!g.perCpu || g.hidden) continue;
      out.push(this.row(g.name, g.addr + c * sizeOf(g.type), g.type, `per_cpu(${g.name}, ${c})`));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  machine(): DebugProtocol.Variable[] {
    const m = this.m;
    const cpumask = m.program.structs.get('cpumask')!;
    const rows: DebugProtocol.Variable[] = [
      this.row('cpu_online_mask', m.mask('online'), cpumask, '(*cpu_online_mask)'),
      this.row('cpu_active_mask', m.mask('active'), cpumask, '(*cpu_active_mask)'),
    ];
    const ms = this.stopMachineData();
    if (ms) rows.push(this.row('stop-machine data (msdata)', ms.addr, ms.type, ms.path));
    rows.push(
      { name: 'schedule', value: describeChooser(m), variablesReference: 0 },
      { name: 'step', value: String(m.steps), variablesReference: 0 },
      { name: 'clock', value: String(m.clock), variablesReference: 0 },
      { name: 'runnable CPUs', value: Array.from(m.runnable()).join(', ') || 'none', variablesReference: 0 },
      { name: 'frozen CPUs', value: Array.from(m.frozen).map((f, c) => (f ? c : -1)).filter((c) => c >= 0).join(', ') || 'none', variablesReference: 0 },
      { name: 'globals', value: '', variablesReference: this.refs.add({ kind: 'globals' }) },
    );
    return rows;
  }

  /** The multi_stop_data of a stop-machine in progress, found through a CPU running multi_cpu_stop. */
  stopMachineData(): { addr: number; type: Type; path: string } | undefined {
    for (let c = 0; c < this.m.nrCpus; c++) {
      for (const f of this.m.frames(c)) {
        if (f.fn.name !== 'multi_cpu_stop') continue;
        const v = f.fn.locals.find((l) => l.name === 'msdata');
        if (!v || v.type.k !== 'ptr' || v.type.to.k !== 'struct') continue;
        const addr = this.m.mem[f.fp + v.offset];
        if (addr > 0) return { addr, type: v.type.to, path: '(*msdata)' };
      }
    }
    return undefined;
  }

  globals(): DebugProtocol.Variable[] {
    const out: DebugProtocol.Variable[] = [];
    for (const g of this.m.program.globals.values()) {
      if (g.perCpu || g.hidden || g.name.startsWith('__cpu')) continue;
      out.push(this.row(g.name, g.addr, g.type, g.name));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** "0-2,5" for a cpumask. */
export function cpuList(m: Machine, mask: number): string {
  const parts: string[] = [];
  let c = 0;
  while (c < m.nrCpus) {
    if (!m.testMaskBit(mask, c)) {
      c++;
      continue;
    }
    const start = c;
    while (c + 1 < m.nrCpus && m.testMaskBit(mask, c + 1)) c++;
    parts.push(start === c ? String(start) : `${start}-${c}`);
    c++;
  }
  return parts.join(',');
}

/** The pending call-function vectors, as x86 names them: `CALL_FUNCTION_VECTOR (252)`, or `no`. */
function ipiVectorNames(pending: number): string {
  const names: string[] = [];
  if (pending & IPI_CALL_FUNCTION) names.push(`CALL_FUNCTION_VECTOR (${CALL_FUNCTION_VECTOR})`);
  if (pending & IPI_CALL_FUNCTION_SINGLE) names.push(`CALL_FUNCTION_SINGLE_VECTOR (${CALL_FUNCTION_SINGLE_VECTOR})`);
  return names.length ? names.join(', ') : 'no';
}

function describeChooser(m: Machine): string {
  const name = m.chooser.constructor.name;
  return name === 'SeededRandom' ? `random (state ${m.chooser.save()[0]})` : name === 'RoundRobin' ? 'round-robin' : name === 'ScheduleList' ? 'explicit list' : name;
}
