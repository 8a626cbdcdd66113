import { SourceRange } from '../kc/diagnostics.js';
import { CompiledFunction, Instr, Program } from '../kc/program.js';
import {
  CallSite, FRAME_FUNC, FRAME_HEADER, FRAME_KIND, FRAME_PC, FRAME_RET_DEST, FRAME_SAVED_FP, Runtime,
} from '../kc/runtime.js';
import { FUNCTION_TAG, TAG_MASK, Type, functionValue, isFunctionValue, isStringValue, sizeOf, stringValue } from '../kc/types.js';
import { Chooser, LEAVE_TO_SCHEDULE, RoundRobin } from './chooser.js';
import { EventContext, EventKind, FieldValue, MachineEvent } from './events.js';
import { symbolOffset } from './format.js';
import {
  CPU_REGS, HARDIRQ_MASK, HARDIRQ_OFFSET, IRQ_CELLS, I_CPU, I_EARLIEST, I_FIRED, K_CALL, K_HARDIRQ, K_SOFTIRQ, K_TASK,
  CALL_FUNCTION_SINGLE_VECTOR, CALL_FUNCTION_VECTOR, IPI_CALL_FUNCTION, IPI_CALL_FUNCTION_SINGLE, MAX_DEVICE_IRQS, PREEMPT_MASK, PRIO_IDLE, PRIO_NORMAL, PRIO_STOP, REGISTER_NAMES, R_BLOCKED, R_CURRENT, R_DEAD, R_DEV_PENDING, R_IPI_EARLIEST,
  R_IPI_IN_FLIGHT, R_IPI_PENDING, R_IRQS_ON, R_NEED_RESCHED, R_PREEMPT, R_SOFTIRQ_PENDING, SOFTIRQ_MASK, TASK_CELLS, TASK_DEAD,
  SLEEPING_IN_MSLEEP, TASK_HEADER, TASK_NORMAL, TASK_PARKED, TASK_RUNNING, TASK_UNINTERRUPTIBLE, T_CPU, T_SLEEP_TIMER, T_WAIT, T_FP, T_NAME, T_ON_RQ, T_PID, T_PREEMPT, T_PRIO, T_STATE,
} from './layout.js';
import { CellOwnership } from './ownership.js';
import { StateTracking, symbolKey } from './tracking.js';

/** A fault in the model: a NULL dereference, a stack overflow, a BUG. Stops the machine. */
export class MachineFault extends Error {
  constructor(message: string, readonly cpu: number, readonly at?: SourceRange) {
    super(message);
  }
}

export interface DeviceIrq {
  name: string;
  cpu: number;
  handler: CompiledFunction;
  args: number[];
  /** when it fires: at a step, at a step in a window (a choice; `to` may be Infinity), or after an event */
  when:
    | { kind: 'at'; step: number }
    | { kind: 'any'; from: number; to: number }
    | { kind: 'after'; event: EventKind; condition?: (e: MachineEvent) => boolean };
}

/** Steps an IPI is in flight: between min and max (Infinity: it may take any time). */
export interface IpiLatency {
  min: number;
  max: number;
}

export type StopReason =
  | { kind: 'done' }
  | { kind: 'deadlock'; message: string }
  | { kind: 'budget'; message: string }
  | { kind: 'fault'; message: string; cpu: number; at?: SourceRange }
  | { kind: 'frozen'; message: string };

export interface Snapshot {
  mem: Int32Array;
  frozen: Uint8Array;
  steps: number;
  clock: number;
  chooser: number[];
  spin: { armed: number; changed: number; fp: number; site: CallSite | null; reads: number[]; watch: number[] }[];
  choices: number;
}

/** Where a schedule search can come back to: the undo log's length and the state memory does not hold. */
export interface Mark {
  undoLength: number;
  hashLo: number;
  hashHi: number;
  steps: number;
  clock: number;
  taskCount: number;
  /** which arrangement of tasks on CPUs the state has (see taskMoves) */
  taskMoves: number;
  spin: SpinState[];
}

type SpinState = Snapshot['spin'][number];

export type EventListener = (e: MachineEvent) => void;

export interface FrameInfo {
  fp: number;
  fn: CompiledFunction;
  /** for the innermost frame, the step it executes next; for callers, their call step */
  pc: number;
  kind: 'call' | 'task' | 'hardirq' | 'softirq';
  instr: Instr | undefined;
}

/** Registers, by index, that only their own CPU writes: its reads of them cannot race. */
const ONLY_OWNER_WRITES = registerSet([R_IRQS_ON, R_PREEMPT, R_CURRENT, R_SOFTIRQ_PENDING, R_DEAD]);
/**
 * Registers, by index, whose writes by their own CPU cannot race. No other
 * CPU touches preempt_count or the softirq bits. The interrupt flag is read
 * by another CPU only to wake this one when it waits (and a waiting CPU does
 * not write it); whether an interrupt lands before or after a step is a
 * dependency on the pending bits, which a search accounts for separately.
 */
const OWN_WRITES_UNSEEN = registerSet([R_PREEMPT, R_SOFTIRQ_PENDING, R_IRQS_ON]);

/** What a CPU's next step does (nextStepKind). */
export const STATEMENT = 0;
export const INTERRUPT = 1;
export const SWITCH = 2;
export type StepKind = typeof STATEMENT | typeof INTERRUPT | typeof SWITCH;

function registerSet(regs: number[]): Uint8Array {
  const set = new Uint8Array(CPU_REGS);
  for (const r of regs) set[r] = 1;
  return set;
}

/**
 * The simulated SMP machine. All of its state that matters lives in one
 * Int32Array (model globals, CPU registers, tasks and their stacks, the heap),
 * so a snapshot is one copy and a restored machine runs on identically.
 */
export class Machine implements Runtime {
  readonly program: Program;
  readonly nrCpus: number;
  mem: Int32Array;
  fp = 0;
  cpu = 0;
  /** steps executed since the scenario started */
  steps = 0;
  /** time: advances one per step, and jumps ahead when every CPU waits for a timed event */
  clock = 0;
  chooser: Chooser;
  ipiLatency: IpiLatency = { min: 0, max: 0 };
  /** the topology: per CPU, the last-level cache it uses (by default each its own, so none share) */
  readonly lastLevelCache: Int32Array;
  /** what boot writes to the disk queue's rq_affinity (the scenario's rq-affinity line) */
  rqAffinity = 1;
  stopReason: StopReason | undefined;
  /** every choice made, when recording (for replay and time travel) */
  readonly choiceLog: number[] = [];
  recordChoices = false;
  quiet = false;

  readonly regBase: number;
  readonly irqBase: number;
  readonly taskBase: number;
  readonly maxTasks: number;
  readonly heapBase: number;
  readonly heapEnd: number;
  readonly heapPtrAddr: number;
  readonly taskCountAddr: number;
  /** 1 while a timed event counts steps (see noteWhetherTimeMatters) */
  readonly timeMattersAddr: number;

  private readonly functions: CompiledFunction[];
  private readonly listeners: EventListener[] = [];
  readonly deviceIrqs: DeviceIrq[] = [];
  /**
   * Timed events, numbered: timer c < nrCpus is the IPI in flight to CPU c,
   * timer nrCpus + i is device interrupt i. `armed` lists those waiting for
   * their moment, in order (derived from memory).
   */
  private armed: number[] = [];

  /** CPUs that may step now, in CPU order */
  private readonly runList: Int32Array;
  private runCount = 0;
  /** runnable CPUs and open timers, as actors: scratch for pickActor() */
  private actorList: Int32Array;
  /** the state hash, undo log and accessed cells, while a schedule search drives the machine */
  tracking: StateTracking | null = null;
  /** per function id: which cells of its frame no other CPU can reach (set by a schedule search) */
  privateFrameCells: (Uint8Array | undefined)[] = [];
  /** the CPU whose private cells the current step may touch without it counting as shared (-1: none) */
  private ownerCpu = -1;
  readonly frozen: Uint8Array;
  private watchCount: Int32Array;
  private readonly spinArmed: Uint8Array;
  private readonly spinChanged: Uint8Array;
  private readonly spinFp: Int32Array;
  private readonly spinSite: (CallSite | null)[];
  private readonly spinReads: number[][];
  private readonly watching: number[][];
  /** counts changes to the spin bookkeeping, so mark() copies it only when it changed */
  private spinVersion = 0;
  private spinCache: SpinState[] = [];
  private spinCacheVersion = -1;
  /** address, value pairs loaded while the stepping CPU is inside an armed spin */
  private reads: number[] | null = null;
  private switchPending = false;
  private currentInstr: Instr | undefined;
  /** tasks of each CPU, in creation order */
  private tasksOfCpu: number[][];
  private readonly addrCallSingleQueue: number;
  private readonly csdLayout: { func: number; info: number; llist: number } | undefined;
  private readonly masks: Record<'online' | 'active' | 'possible', number>;
  /** the model functions the arch layer enters: the call-function IPI handler and the softirq loop */
  /** the function a CPU enters for each call-function vector, by its IPI_* bit */
  private readonly ipiHandlers: { [bit: number]: CompiledFunction | undefined };
  private readonly doSoftirq: CompiledFunction | undefined;

  constructor(program: Program) {
    this.program = program;
    this.nrCpus = program.nrCpus;
    this.functions = program.functions;
    const n = this.nrCpus;
    this.regBase = program.globalsEnd;
    this.irqBase = this.regBase + n * CPU_REGS;
    this.heapPtrAddr = this.irqBase + MAX_DEVICE_IRQS * IRQ_CELLS;
    this.taskCountAddr = this.heapPtrAddr + 1;
    this.timeMattersAddr = this.taskCountAddr + 1;
    this.taskBase = this.timeMattersAddr + 1;
    this.maxTasks = n * 4 + 32;
    this.heapBase = this.taskBase + this.maxTasks * TASK_CELLS;
    this.heapEnd = this.heapBase + 8192 + n * 64;
    this.mem = new Int32Array(this.heapEnd);
    this.watchCount = new Int32Array(this.heapEnd);
    this.mem[this.heapPtrAddr] = this.heapBase;
    for (let i = 0; i < program.initialData.length; i += 2) this.mem[program.initialData[i]] = program.initialData[i + 1];
    this.lastLevelCache = Int32Array.from({ length: n }, (_, c) => c);
    this.runList = new Int32Array(n);
    this.actorList = new Int32Array(n);
    this.frozen = new Uint8Array(n);
    this.spinArmed = new Uint8Array(n);
    this.spinChanged = new Uint8Array(n);
    this.spinFp = new Int32Array(n);
    this.spinSite = new Array(n).fill(null);
    this.spinReads = Array.from({ length: n }, () => []);
    this.watching = Array.from({ length: n }, () => []);
    this.tasksOfCpu = Array.from({ length: n }, () => []);
    this.chooser = new RoundRobin();
    this.addrCallSingleQueue = program.globals.get('call_single_queue')?.addr ?? 0;
    const maskAddr = (name: string) => program.globals.get(`__cpu_${name}_mask`)!.addr;
    this.masks = { online: maskAddr('online'), active: maskAddr('active'), possible: maskAddr('possible') };
    const defined = (name: string) => {
      const f = program.functionsByName.get(name);
      return f?.decl.body ? f : undefined;
    };
    // x86 enters the mask vector through smp_call_function_interrupt(); a model without that arch entry point runs the generic handler, which both vectors end in
    const singleHandler = defined('generic_smp_call_function_single_interrupt');
    this.ipiHandlers = {
      [IPI_CALL_FUNCTION_SINGLE]: singleHandler,
      [IPI_CALL_FUNCTION]: defined('smp_call_function_interrupt') ?? singleHandler,
    };
    this.doSoftirq = defined('__do_softirq');
    this.csdLayout = csdLayout(program);
    for (let c = 0; c < n; c++) {
      this.mem[this.reg(c, R_IPI_EARLIEST)] = -1;
      this.mem[this.reg(c, R_IPI_EARLIEST) + 1] = -1;
      this.mem[this.reg(c, R_IRQS_ON)] = 1;
    }
    for (let i = 0; i < MAX_DEVICE_IRQS; i++) {
      this.mem[this.irqBase + i * IRQ_CELLS + I_EARLIEST] = -1;
      this.mem[this.irqBase + i * IRQ_CELLS + I_EARLIEST + 1] = -1;
    }
  }

  // ---- registers and tasks

  reg(cpu: number, r: number): number {
    return this.regBase + cpu * CPU_REGS + r;
  }

  regValue(cpu: number, r: number): number {
    return this.mem[this.regBase + cpu * CPU_REGS + r];
  }

  currentTask(cpu: number): number {
    return this.mem[this.regBase + cpu * CPU_REGS + R_CURRENT];
  }

  tasks(cpu: number): readonly number[] {
    return this.tasksOfCpu[cpu];
  }

  allTasks(): number[] {
    const out: number[] = [];
    for (let i = 0, n = this.mem[this.taskCountAddr]; i < n; i++) out.push(this.taskBase + i * TASK_CELLS);
    return out;
  }

  taskName(task: number): string {
    const v = this.mem[task + T_NAME];
    return isStringValue(v) ? this.program.strings[v & 0xffffff] : `task@${task}`;
  }

  /** A task's p->prio as the kernel shows it: the stoppers are real-time (0), the others normal (120). */
  kernelPrio(task: number): number {
    return this.mem[task + T_PRIO] === PRIO_STOP ? 0 : 120;
  }

  /** A switched-out task's state as 3.15's sched_switch prints it: `R+` preempted, `R` idle, `S`, `D`, `P` parked, `x` exited. */
  taskStateLetters(task: number): string {
    const state = this.mem[task + T_STATE];
    if (state === TASK_RUNNING) return this.mem[task + T_PRIO] === PRIO_IDLE ? 'R' : 'R+';
    if (state === TASK_DEAD) return 'x';
    if (state === TASK_PARKED) return 'P';
    return state === TASK_UNINTERRUPTIBLE ? 'D' : 'S';
  }

  /** A task's pid as the kernel shows it: the idle tasks (swapper/N) are pid 0. */
  taskPid(task: number): number {
    return this.mem[task + T_PRIO] === PRIO_IDLE ? 0 : this.mem[task + T_PID];
  }

  function(id: number): CompiledFunction {
    return this.functions[id];
  }

  /** Creates a task on a CPU whose bottom frame calls `fn(args)`. */
  createTask(cpu: number, fn: CompiledFunction, args: readonly number[], name: string, prio: number, runnable: boolean): number {
    const count = this.mem[this.taskCountAddr];
    if (count >= this.maxTasks) this.fault(`too many tasks (the machine holds ${this.maxTasks})`);
    const task = this.taskBase + count * TASK_CELLS;
    this.poke(this.taskCountAddr, count + 1);
    this.poke(task + T_STATE, runnable ? TASK_RUNNING : 1);
    this.poke(task + T_ON_RQ, runnable ? 1 : 0);
    this.poke(task + T_CPU, cpu);
    this.poke(task + T_PRIO, prio);
    this.poke(task + T_NAME, this.internString(name));
    this.poke(task + T_PID, count + 1);
    this.poke(task + T_SLEEP_TIMER, -1);
    this.poke(task + T_SLEEP_TIMER + 1, -1);
    const fp = task + TASK_HEADER;
    this.writeFrame(fp, fn, args, 0, K_TASK, 0);
    this.poke(task + T_FP, fp);
    this.tasksOfCpu[cpu].push(task);
    return task;
  }

  /** A new runnable task on a CPU, which leaves idle for it at its next step. */
  spawn(cpu: number, fn: CompiledFunction, name: string): number {
    const t = this.createTask(cpu, fn, [], name, PRIO_NORMAL, true);
    this.poke(this.reg(cpu, R_NEED_RESCHED), 1);
    this.unblock(cpu);
    return t;
  }

  internString(s: string): number {
    let id = this.program.strings.indexOf(s);
    if (id < 0) {
      id = this.program.strings.length;
      this.program.strings.push(s);
    }
    return stringValue(id);
  }

  private writeFrame(fp: number, fn: CompiledFunction, args: readonly number[], savedFp: number, kind: number, retDest: number): void {
    this.poke(fp + FRAME_FUNC, fn.id);
    this.poke(fp + FRAME_PC, 0);
    this.poke(fp + FRAME_SAVED_FP, savedFp);
    this.poke(fp + FRAME_RET_DEST, retDest);
    this.poke(fp + FRAME_KIND, kind);
    for (let i = 0; i < args.length; i++) this.poke(fp + FRAME_HEADER + i, args[i]);
  }

  /**
   * A write the model cannot see happen (frames, task bookkeeping): no
   * watchers, no data breakpoints, but it is part of the state a search hashes.
   */
  private poke(addr: number, value: number): void {
    const m = this.mem;
    if (this.tracking === null) {
      m[addr] = value;
      return;
    }
    const old = m[addr];
    if (old === value) return;
    m[addr] = value;
    this.tracking.written(addr, old, value);
  }

  /** Sets a CPU register that other CPUs read or write too. */
  private setShared(addr: number, value: number): void {
    this.poke(addr, value);
    if (this.tracking !== null) this.tracking.accessed(addr, true);
  }

  private stackLimit(task: number): number {
    return task + TASK_CELLS;
  }

  /** Allocates zeroed heap memory (kzalloc, scenario objects). */
  alloc(cells: number): number {
    const p = this.mem[this.heapPtrAddr];
    if (p + cells > this.heapEnd) this.fault(`out of memory: the heap holds ${this.heapEnd - this.heapBase} cells`);
    this.store(this.heapPtrAddr, p + cells);
    return p;
  }

  // ---- Runtime: what compiled code calls

  load(addr: number): number {
    if (addr <= 0 || addr >= this.heapEnd) this.badAddress(addr, 'read');
    const v = this.mem[addr];
    const r = this.reads;
    if (r !== null) {
      r.push(addr, v);
      this.spinVersion++;
    }
    if (this.tracking !== null && !this.isPrivate(addr, false)) this.tracking.accessed(addr, false);
    return v;
  }

  store(addr: number, value: number): void {
    if (addr <= 0 || addr >= this.heapEnd) this.badAddress(addr, 'write');
    const m = this.mem;
    const old = m[addr];
    if (this.tracking !== null && !this.isPrivate(addr, true)) this.tracking.accessed(addr, true);
    if (old === value) return;
    m[addr] = value;
    if (this.tracking !== null) this.tracking.written(addr, old, value);
    if (this.spinArmed[this.cpu] && !this.spinChanged[this.cpu]) {
      this.spinChanged[this.cpu] = 1;
      this.spinVersion++;
    }
    if (this.watchCount[addr] !== 0) this.wakeWatchers(addr);
    if (this.writeWatch !== null && this.writeWatch.has(addr)) this.onWatchedWrite(addr, old, m[addr]);
  }

  /**
   * A cell only the stepping CPU can reach, so the access cannot race with
   * another actor: a frame cell of its running task that no pointer can reach
   * (see privateFrameCells), its task's frame pointer and saved preempt
   * count, and its own registers that only it writes (reads) or only it
   * reads (writes).
   */
  private isPrivate(addr: number, write: boolean): boolean {
    const c = this.ownerCpu;
    if (c < 0) return false;
    const reg = addr - (this.regBase + c * CPU_REGS);
    if (reg >= 0 && reg < CPU_REGS) return write ? OWN_WRITES_UNSEEN[reg] === 1 : ONLY_OWNER_WRITES[reg] === 1;
    if (addr >= this.regBase && addr < this.taskBase) return false;
    const task = this.mem[this.regBase + c * CPU_REGS + R_CURRENT];
    const off = addr - task;
    if (off >= 0 && off < TASK_CELLS) {
      if (off < TASK_HEADER && (off === T_FP || off === T_PREEMPT)) return true;
      if (off >= TASK_HEADER && this.isPrivateFrameCell(task, addr)) return true;
    }
    return this.ownership !== null && this.ownership.isPrivate(addr, write, this.contextId || (this.contextId = this.currentContext()));
  }

  private isPrivateFrameCell(task: number, addr: number): boolean {
    for (let fp = this.mem[task + T_FP]; fp; fp = this.mem[fp + FRAME_SAVED_FP]) {
      if (addr < fp) continue;
      const fn = this.mem[fp + FRAME_FUNC];
      const cells = this.privateFrameCells[fn];
      return addr - fp < FRAME_HEADER || (cells !== undefined && cells[addr - fp] === 1);
    }
    return false;
  }

  /** Cells that cannot race, learnt as a schedule search goes (see CellOwnership); null when not used. */
  ownership: CellOwnership | null = null;
  /** the context of the step being taken, computed on first use (0: not yet) */
  private contextId = 0;

  /**
   * Starts learning (on) or stops using (off) which cells cannot race;
   * learning starts from nothing, or goes on with another thread's table.
   */
  learnOwnership(on: boolean, shared?: CellOwnership['buffers']): void {
    this.ownership = on ? new CellOwnership(this.mem.length, shared) : null;
  }

  /**
   * The stepping CPU's context: its task, or, inside interrupts, the CPU and
   * how many interrupt frames deep it is. One interrupt context per depth is
   * live on a CPU at a time, whichever task it came in over.
   */
  private currentContext(): number {
    const c = this.ownerCpu;
    const task = this.currentTask(c);
    let nesting = 0;
    for (let fp = this.mem[task + T_FP]; fp; fp = this.mem[fp + FRAME_SAVED_FP]) {
      const kind = this.mem[fp + FRAME_KIND] & 0xff;
      if (kind === K_HARDIRQ || kind === K_SOFTIRQ) nesting++;
    }
    if (nesting === 0) return (task - this.taskBase) / TASK_CELLS + 1;
    return this.maxTasks + 1 + c * 16 + Math.min(nesting, 15);
  }

  /** Data breakpoints: addresses whose change calls onWatchedWrite (null when there are none). */
  writeWatch: Set<number> | null = null;
  onWatchedWrite: (addr: number, old: number, value: number) => void = () => {};

  private badAddress(addr: number, what: string): never {
    if (addr === 0) this.fault(`NULL pointer ${what === 'read' ? 'dereference' : 'write'}`);
    if ((addr & TAG_MASK) === FUNCTION_TAG) this.fault(`${what} through a function pointer`);
    this.fault(`${what} of address ${addr}, outside the machine's memory`);
  }

  enter(fnValue: number, newFp: number, args: readonly number[], retDest: number, _site: CallSite): void {
    if (!isFunctionValue(fnValue)) this.fault(fnValue === 0 ? 'call through a NULL function pointer' : `call through a bad function pointer (${fnValue})`);
    const fn = this.functions[fnValue & 0xffffff];
    if (!fn) this.fault(`call through a bad function pointer (${fnValue})`);
    if (args.length !== fn.params.length && !(fn.params.length === 0)) {
      this.fault(`${fn.name}() takes ${fn.params.length} arguments but was called with ${args.length}`);
    }
    const task = this.currentTask(this.cpu);
    if (newFp + fn.frameSize > this.stackLimit(task)) this.fault(`stack overflow calling ${fn.name}() (a task has ${TASK_CELLS - TASK_HEADER} cells of stack)`);
    this.writeFrame(newFp, fn, args, this.fp, K_CALL, retDest);
    this.poke(task + T_FP, newFp);
  }

  leave(value: number): void {
    const m = this.mem;
    const fp = this.fp;
    const c = this.cpu;
    const task = this.currentTask(c);
    const kind = m[fp + FRAME_KIND];
    const savedFp = m[fp + FRAME_SAVED_FP];
    const retDest = m[fp + FRAME_RET_DEST];
    this.clearFrame(fp);
    this.poke(task + T_FP, savedFp);
    switch (kind & 0xff) {
      case K_CALL: {
        const caller = this.functions[m[savedFp + FRAME_FUNC]];
        const callPc = m[savedFp + FRAME_PC];
        this.poke(savedFp + FRAME_PC, (caller.code[callPc] as Instr & { next: number }).next);
        if (retDest) this.store(retDest, value);
        return;
      }
      case K_TASK:
        this.store(task + T_STATE, TASK_DEAD);
        this.store(task + T_ON_RQ, 0);
        this.emit('task-exit', { comm: this.taskName(task), pid: this.taskPid(task), prio: this.kernelPrio(task) });
        this.switchPending = true;
        return;
      case K_HARDIRQ:
        return this.exitHardirq(c, kind, savedFp);
      case K_SOFTIRQ:
        this.setIrqsOn(c, ((kind >> 8) & 1) !== 0);
        return;
    }
  }

  /** Zeroes a frame being popped, so memory above the innermost frame is always zero (states merge, locals start at 0). */
  private clearFrame(fp: number): void {
    const size = this.functions[this.mem[fp + FRAME_FUNC]].frameSize;
    if (this.tracking === null) this.mem.fill(0, fp, fp + size);
    else for (let a = fp; a < fp + size; a++) this.poke(a, 0);
  }

  fault(message: string): never {
    throw new MachineFault(message, this.cpu, this.currentInstr?.range);
  }

  // ---- events

  onEvent(listener: EventListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  emit(kind: EventKind, fields: Record<string, FieldValue>, at?: SourceRange, func?: string): void {
    if (this.quiet) return;
    const e: MachineEvent = {
      step: this.steps, cpu: this.cpu, kind, fields, context: this.eventContext(this.cpu),
      at: at ?? this.currentInstr?.range, func: func ?? this.currentFunctionName(),
    };
    for (const l of this.listeners) l(e);
    for (let i = 0; i < this.deviceIrqs.length; i++) {
      const w = this.deviceIrqs[i].when;
      if (w.kind === 'after' && w.event === kind && !this.mem[this.irqBase + i * IRQ_CELLS + I_FIRED] && !this.isArmed(this.nrCpus + i)) {
        // it fires as the next step begins
        if (!w.condition || w.condition(e)) this.arm(this.nrCpus + i, 1, 1);
      }
    }
  }

  /** CPU c's task and interrupt state, recorded in each event it emits (events are not machine state). */
  private eventContext(c: number): EventContext {
    const task = this.currentTask(c);
    const preempt = this.mem[this.reg(c, R_PREEMPT)];
    return {
      comm: this.taskName(task),
      pid: this.taskPid(task),
      irqsOff: this.mem[this.reg(c, R_IRQS_ON)] === 0,
      needResched: this.mem[this.reg(c, R_NEED_RESCHED)] !== 0,
      hardirq: (preempt & HARDIRQ_MASK) !== 0,
      softirq: (preempt & SOFTIRQ_MASK) !== 0,
      preemptDepth: preempt & PREEMPT_MASK,
    };
  }

  private currentFunctionName(): string | undefined {
    const task = this.currentTask(this.cpu);
    const fp = task ? this.mem[task + T_FP] : 0;
    return fp ? this.functions[this.mem[fp + FRAME_FUNC]]?.name : undefined;
  }

  /**
   * A function value as %pS prints it: `trigger_softirq+0x0/0x5`. The model
   * has no machine code, so an offset counts statements: a function's size is
   * its number of statements, and a place in it is the statement's index.
   */
  symbolWithOffset(v: number): string {
    const fn = isFunctionValue(v) ? this.functions[v & 0xffffff] : undefined;
    return fn ? symbolOffset(fn.name, 0, fn.code.length) : this.symbol(v);
  }

  /** Where the current CPU is, as %pS prints a return address: its innermost function and statement. */
  callsite(): string {
    const top = this.frames(this.cpu)[0];
    return top ? symbolOffset(top.fn.name, top.pc, top.fn.code.length) : '';
  }

  /** The name of a function value, or a hex address, as %ps prints it. */
  symbol(v: number): string {
    if (isFunctionValue(v)) return this.functions[v & 0xffffff]?.name ?? `0x${(v >>> 0).toString(16)}`;
    if (isStringValue(v)) return this.program.strings[v & 0xffffff] ?? '?';
    return `0x${(v >>> 0).toString(16)}`;
  }

  // ---- CPUs: masks, blocking, the run list

  /** Address of cpu_online_mask, cpu_active_mask or cpu_possible_mask. */
  mask(name: 'online' | 'active' | 'possible'): number {
    return this.masks[name];
  }

  testMaskBit(maskAddr: number, cpu: number): boolean {
    return ((this.mem[maskAddr + (cpu >> 5)] >>> (cpu & 31)) & 1) === 1;
  }

  isOnline(cpu: number): boolean {
    return this.testMaskBit(this.mask('online'), cpu);
  }

  isDead(cpu: number): boolean {
    return this.mem[this.reg(cpu, R_DEAD)] !== 0;
  }

  /**
   * A cell the machine itself reads for what an event reports (the queue an
   * IPI finds, the work a dying CPU leaves): a read like the model's own, so
   * a search orders it with the writes it races with.
   */
  private observe(addr: number): number {
    if (this.tracking !== null) this.tracking.accessed(addr, false);
    return this.mem[addr];
  }

  /**
   * Whether a CPU is dead, as an IPI aimed at it finds out: a read of its
   * flag, so a search sees the send and the death race.
   */
  private findsDead(cpu: number): boolean {
    return this.observe(this.reg(cpu, R_DEAD)) !== 0;
  }

  isBlocked(cpu: number): boolean {
    return this.mem[this.reg(cpu, R_BLOCKED)] !== 0;
  }

  /** What a waiting CPU waits for: the addresses whose change wakes it. */
  watchedBy(cpu: number): readonly number[] {
    return this.watching[cpu];
  }

  runnable(): Int32Array {
    return this.runList.subarray(0, this.runCount);
  }

  /** CPU c may step now: alive, not waiting, not frozen. */
  canRun(c: number): boolean {
    return !this.mem[this.reg(c, R_DEAD)] && !this.mem[this.reg(c, R_BLOCKED)] && !this.frozen[c];
  }

  /** Puts CPU c in or out of the run list, keeping CPU order. */
  private updateRunnable(c: number): void {
    const list = this.runList;
    let i = 0;
    while (i < this.runCount && list[i] < c) i++;
    const present = i < this.runCount && list[i] === c;
    const want = this.canRun(c);
    if (want && !present) {
      list.copyWithin(i + 1, i, this.runCount);
      list[i] = c;
      this.runCount++;
    } else if (!want && present) {
      list.copyWithin(i, i + 1, this.runCount);
      this.runCount--;
    }
  }

  private rebuildRunList(): void {
    this.runCount = 0;
    for (let c = 0; c < this.nrCpus; c++) if (this.canRun(c)) this.runList[this.runCount++] = c;
  }

  setFrozen(c: number, frozen: boolean): void {
    this.frozen[c] = frozen ? 1 : 0;
    this.updateRunnable(c);
  }

  /** Blocks the current CPU until one of `addrs` changes (or an interrupt or wakeup comes). */
  blockOn(addrs: readonly number[], halted = false): void {
    const c = this.cpu;
    const list = this.watching[c];
    for (const a of addrs) {
      if (list.includes(a)) continue;
      list.push(a);
      this.watchCount[a]++;
    }
    this.setShared(this.reg(c, R_BLOCKED), halted ? 2 : 1);
    this.spinArmed[c] = 0;
    this.spinVersion++;
    this.updateRunnable(c);
  }

  unblock(c: number): void {
    if (!this.mem[this.reg(c, R_BLOCKED)]) return;
    for (const a of this.watching[c]) this.watchCount[a]--;
    this.watching[c] = [];
    this.setShared(this.reg(c, R_BLOCKED), 0);
    this.spinArmed[c] = 0;
    this.spinVersion++;
    this.updateRunnable(c);
  }

  private wakeWatchers(addr: number): void {
    for (let c = 0; c < this.nrCpus; c++) {
      if (this.watching[c].includes(addr)) this.unblock(c);
    }
  }

  /**
   * cpu_relax(): a loop iteration that wrote nothing since the last cpu_relax()
   * at the same place will do the same again until something it read changes,
   * so the CPU waits for exactly that.
   */
  relax(site: CallSite): void {
    const c = this.cpu;
    if (this.spinArmed[c] && !this.spinChanged[c] && this.spinFp[c] === this.fp && this.spinSite[c] === site && this.readsStillHold(c)) {
      // the scheduler tick would hand the CPU to a task of equal priority
      if (this.mayYield(c)) {
        this.store(this.reg(c, R_NEED_RESCHED), 1);
        return;
      }
      const reads = this.spinReads[c];
      const addrs: number[] = [];
      for (let i = 0; i < reads.length; i += 2) addrs.push(reads[i]);
      this.blockOn(addrs);
      return;
    }
    this.spinVersion++;
    this.spinArmed[c] = 1;
    this.spinChanged[c] = 0;
    this.spinFp[c] = this.fp;
    this.spinSite[c] = site;
    this.spinReads[c] = [];
    this.reads = this.spinReads[c];
  }

  /**
   * A normal task spinning with preemption and interrupts on gives way to
   * another runnable task of its priority, as the scheduler tick would
   * (the model has no tick): it must not starve, say, a ksoftirqd that
   * kthread_park() is waiting for.
   */
  private mayYield(c: number): boolean {
    const m = this.mem;
    const r = this.regBase + c * CPU_REGS;
    const cur = m[r + R_CURRENT];
    if (m[r + R_PREEMPT] !== 0 || !m[r + R_IRQS_ON] || m[cur + T_PRIO] !== PRIO_NORMAL) return false;
    for (const t of this.tasksOfCpu[c]) if (t !== cur && m[t + T_ON_RQ] && m[t + T_PRIO] >= PRIO_NORMAL) return true;
    return false;
  }

  /** CPU c left the loop it was spinning in (an interrupt, a task switch). */
  private disarmSpin(c: number): void {
    if (!this.spinArmed[c]) return;
    this.spinArmed[c] = 0;
    this.spinVersion++;
  }

  /** Nobody changed what this CPU read during its last spin iteration. */
  private readsStillHold(c: number): boolean {
    const reads = this.spinReads[c];
    for (let i = 0; i < reads.length; i += 2) if (this.mem[reads[i]] !== reads[i + 1]) return false;
    return true;
  }

  /** idle: enable interrupts and halt until one comes or there is work. */
  halt(): void {
    const c = this.cpu;
    this.setIrqsOn(c, true);
    if (this.mem[this.reg(c, R_NEED_RESCHED)] || this.interruptPending(c)) return;
    this.blockOn([this.reg(c, R_NEED_RESCHED)], true);
  }

  private interruptPending(c: number): boolean {
    return (this.mem[this.reg(c, R_IPI_PENDING)] | this.mem[this.reg(c, R_DEV_PENDING)]) !== 0;
  }

  /** An interrupt became pending at c: a waiting CPU with interrupts on wakes to take it. */
  private kick(c: number): void {
    const blocked = this.reg(c, R_BLOCKED);
    if (this.tracking !== null) this.tracking.accessed(blocked, false);
    if (!this.mem[blocked]) return;
    if (this.mem[this.reg(c, R_IRQS_ON)]) this.unblock(c);
  }

  // ---- timed events: IPIs in flight and device interrupts waiting for their moment

  /** Address of timer k's pair of counters: steps until it may happen, steps until it must. */
  private timerCells(k: number): number {
    if (k < this.nrCpus) return this.reg(k, R_IPI_EARLIEST);
    if (this.isSleepTimer(k)) return this.sleepTimerTask(k) + T_SLEEP_TIMER;
    return this.irqBase + (k - this.nrCpus) * IRQ_CELLS + I_EARLIEST;
  }

  /** The task whose sleep timer timer k is (the ones after the IPIs and the device interrupts). */
  private sleepTimerTask(k: number): number {
    return this.taskBase + (k - this.nrCpus - MAX_DEVICE_IRQS) * TASK_CELLS;
  }

  /** Timer k is a task's msleep() timer (after the IPIs and the device interrupts). */
  private isSleepTimer(k: number): boolean {
    return k - this.nrCpus >= MAX_DEVICE_IRQS;
  }

  private sleepTimer(task: number): number {
    return this.nrCpus + MAX_DEVICE_IRQS + (task - this.taskBase) / TASK_CELLS;
  }

  /**
   * msleep(): the current task sleeps for `steps` steps of the machine's
   * clock, then its timer wakes it. The delay is fixed, not a choice of the
   * schedule: a sleep of milliseconds is far longer than anything the
   * models race with.
   */
  sleepFor(steps: number): void {
    const task = this.currentTask(this.cpu);
    this.store(task + T_STATE, TASK_UNINTERRUPTIBLE);
    this.store(task + T_WAIT, SLEEPING_IN_MSLEEP);
    this.arm(this.sleepTimer(task), steps, steps);
    this.requestSchedule();
  }

  /** The current task's msleep() timer has gone off (or it never slept). */
  sleepOver(): boolean {
    return !this.isArmed(this.sleepTimer(this.currentTask(this.cpu)));
  }

  /**
   * Keeps the time-matters cell true while a timed event counts steps (a
   * window that opens later, or a deadline). Every step then counts, so a
   * search takes each transition to read that cell: what starts or stops
   * the counting does not commute with anything.
   */
  private noteWhetherTimeMatters(): void {
    let counting = 0;
    for (const k of this.armed) {
      // an msleep() lasts milliseconds: whatever races with its start is long over when it ends
      if (this.isSleepTimer(k)) continue;
      const a = this.timerCells(k);
      if (this.mem[a] > 0 || this.mem[a + 1] > 0) counting = 1;
    }
    if (this.mem[this.timeMattersAddr] !== counting) this.setShared(this.timeMattersAddr, counting);
  }

  private isArmed(k: number): boolean {
    return this.mem[this.timerCells(k)] >= 0;
  }

  /**
   * Timer k happens between `earliest` and `latest` steps from now (latest
   * -1: no deadline). An IPI already in flight to the same CPU takes the
   * earlier of the two windows: the target sees one pending IPI either way.
   */
  private arm(k: number, earliest: number, latest: number): void {
    const a = this.timerCells(k);
    if (this.mem[a] >= 0) {
      earliest = Math.min(earliest, this.mem[a]);
      const was = this.mem[a + 1];
      latest = latest < 0 ? was : was < 0 ? latest : Math.min(latest, was);
    } else {
      let i = this.armed.length;
      while (i > 0 && this.armed[i - 1] > k) i--;
      this.armed.splice(i, 0, k);
    }
    this.setShared(a, earliest);
    this.setShared(a + 1, latest);
    this.noteWhetherTimeMatters();
  }

  private disarm(k: number): void {
    const a = this.timerCells(k);
    if (this.mem[a] < 0) return;
    this.setShared(a, -1);
    this.setShared(a + 1, -1);
    this.armed.splice(this.armed.indexOf(k), 1);
    this.noteWhetherTimeMatters();
  }

  /**
   * Timer k may be picked as an actor now: its window is open and the CPU it
   * goes to has interrupts on. While they are off the CPU cannot take it, and
   * nothing but taking it reads the pending bit, so it happening then or the
   * moment they come back on makes no difference to any run: a search need
   * not try both. (Its deadline still makes it happen, on or off.)
   */
  private isOpen(k: number): boolean {
    const a = this.timerCells(k);
    if (this.mem[a] !== 0 || this.mem[a + 1] === 0) return false;
    const cpu = this.timerTarget(this.nrCpus + k);
    return this.mem[this.reg(cpu, R_IRQS_ON)] !== 0 && !this.isDead(cpu);
  }

  /** The CPU a timed event's actor goes to: the IPI's target, the interrupt's CPU. */
  timerTarget(actor: number): number {
    const k = actor - this.nrCpus;
    if (k < this.nrCpus) return k;
    if (this.isSleepTimer(k)) return this.mem[this.sleepTimerTask(k) + T_CPU];
    return this.irqCpu(k - this.nrCpus);
  }

  /** `d` steps pass: counters count down, and timers whose deadline came happen, in timer order. */
  private tick(d: number): void {
    if (this.armed.length === 0) return;
    let due: number[] | undefined;
    let windowOpened = false;
    for (const k of this.armed) {
      const a = this.timerCells(k);
      const earliest = this.mem[a];
      const latest = this.mem[a + 1];
      if (earliest > 0) {
        this.setShared(a, Math.max(0, earliest - d));
        if (earliest <= d) windowOpened = true;
      }
      if (latest > 0) {
        this.setShared(a + 1, Math.max(0, latest - d));
        if (latest <= d) (due ??= []).push(k);
      }
    }
    // counting stops only when a counter reaches 0 (a deadline's timer is disarmed as it fires)
    if (windowOpened) this.noteWhetherTimeMatters();
    if (due) for (const k of due) this.fire(k);
  }

  /** Timer k happens: the IPI arrives, or the device interrupt is raised. */
  private fire(k: number): void {
    this.disarm(k);
    if (k < this.nrCpus) this.ipisLand(k);
    else if (this.isSleepTimer(k)) this.wakeUp(this.sleepTimerTask(k), TASK_UNINTERRUPTIBLE);
    else this.raiseDeviceIrq(k - this.nrCpus);
  }

  /** How many steps a timed event waits: the chooser's number, or -1 when the schedule picks the moment. */
  private chooseDelay(min: number, max: number): number {
    const d = this.chooser.pickDelay(min, max);
    if (this.recordChoices && d !== LEAVE_TO_SCHEDULE) this.choiceLog.push(d);
    return d;
  }

  /**
   * Arms timer k for a delay in [min, max] (max may be Infinity). A delay the
   * chooser names happens exactly then; one left to the schedule is an actor
   * while its window is open, and happens at the latest at `max`.
   */
  private armWithin(k: number, min: number, max: number): void {
    const d = min === max ? min : this.chooseDelay(min, max);
    if (d === LEAVE_TO_SCHEDULE) this.arm(k, min, max === Infinity ? -1 : Math.max(max, 1));
    else this.arm(k, Math.max(d, 1), Math.max(d, 1));
  }

  /** arch_send_call_function_single_ipi: the call-function-single vector is in flight for the latency, then pending. */
  sendIpi(target: number, site?: CallSite): void {
    const latency = this.chooseIpiLatency();
    this.emit('ipi-send', { cpu: target, callsite: this.callsite(), callback: this.ipiCallback(), latency: this.latencyText(latency), mask: 0 }, site?.range);
    this.deliverIpi(target, IPI_CALL_FUNCTION_SINGLE, latency, site);
  }

  /**
   * arch_send_call_function_ipi_mask: the call-function vector to each CPU of
   * the mask, each with its own latency. Traced once for the mask, as the
   * kernel does, and once per CPU (`mask: 1`), so `ipi-send` still means an
   * IPI sent to a CPU.
   */
  sendIpiMask(targets: readonly number[], cpumask: string, site?: CallSite): void {
    const callsite = this.callsite();
    const callback = this.ipiCallback();
    this.emit('ipi-send-mask', { cpumask, callsite, callback }, site?.range);
    for (const target of targets) {
      const latency = this.chooseIpiLatency();
      this.emit('ipi-send', { cpu: target, callsite, callback, latency: this.latencyText(latency), mask: 1 }, site?.range);
      this.deliverIpi(target, IPI_CALL_FUNCTION, latency, site);
    }
  }

  private chooseIpiLatency(): number {
    const { min, max } = this.ipiLatency;
    return min === max ? min : this.chooseDelay(min, max);
  }

  /** A latency as the ipi-send event shows it: steps, or the window the schedule picks from. */
  private latencyText(latency: number): FieldValue {
    const { min, max } = this.ipiLatency;
    return latency !== LEAVE_TO_SCHEDULE ? latency : `${min}..${max === Infinity ? 'any' : max}`;
  }

  /** The IPI's handler, as ipi_send_cpu's callback field names it: the generic one, which both vectors end in. */
  private ipiCallback(): number {
    const handler = this.ipiHandlers[IPI_CALL_FUNCTION_SINGLE];
    return handler ? functionValue(handler.id) : 0;
  }

  /**
   * The IPI (`vector`, an IPI_* bit) is in flight to target. IPIs in flight
   * to one CPU share its timer: a second one narrows the window, and all
   * arrive together.
   */
  private deliverIpi(target: number, vector: number, latency: number, site?: CallSite): void {
    if (this.findsDead(target)) {
      this.emit('ipi-dropped', { target }, site?.range);
      return;
    }
    const { min, max } = this.ipiLatency;
    if (latency === 0) return this.ipiArrives(target, vector);
    const inFlight = this.reg(target, R_IPI_IN_FLIGHT);
    this.setShared(inFlight, this.mem[inFlight] | vector);
    if (latency === LEAVE_TO_SCHEDULE) this.arm(target, min, max === Infinity ? -1 : max);
    else this.arm(target, latency, latency);
  }

  /** The vectors arrive at target's local APIC: pending until it takes them. */
  private ipiArrives(target: number, vectors: number): void {
    if (this.findsDead(target)) {
      this.emit('ipi-dropped', { target });
      return;
    }
    const pending = this.reg(target, R_IPI_PENDING);
    this.store(pending, this.mem[pending] | vectors);
    this.kick(target);
  }

  /** The IPIs in flight to CPU c arrive. */
  private ipisLand(c: number): void {
    const inFlight = this.reg(c, R_IPI_IN_FLIGHT);
    const vectors = this.mem[inFlight];
    this.setShared(inFlight, 0);
    this.ipiArrives(c, vectors);
  }

  addDeviceIrq(irq: DeviceIrq): void {
    if (this.deviceIrqs.length >= MAX_DEVICE_IRQS) throw new Error(`at most ${MAX_DEVICE_IRQS} device interrupts`);
    this.mem[this.irqCpuCell(this.deviceIrqs.length)] = irq.cpu;
    this.deviceIrqs.push(irq);
  }

  /** The cell holding the CPU device interrupt i (0-based) is routed to. */
  private irqCpuCell(i: number): number {
    return this.irqBase + i * IRQ_CELLS + I_CPU;
  }

  /** The CPU device interrupt i (0-based) is delivered to now: the scenario's, until fixup_irqs moves it. */
  irqCpu(i: number): number {
    return this.mem[this.irqCpuCell(i)];
  }

  /** irq_set_affinity: deliver device interrupt i to cpu from now on. */
  routeIrq(i: number, cpu: number): void {
    this.store(this.irqCpuCell(i), cpu);
  }

  /** Whether device interrupt i is pending at this CPU (its bit in the local APIC's IRR). */
  irqPendingHere(i: number): boolean {
    return (this.load(this.reg(this.cpu, R_DEV_PENDING)) & (1 << i)) !== 0;
  }

  /** The chip's irq_retrigger: a device interrupt pending at this CPU is raised again at the CPU it is now routed to. */
  retriggerIrq(i: number): void {
    const r = this.reg(this.cpu, R_DEV_PENDING);
    this.store(r, this.load(r) & ~(1 << i));
    this.deviceIrqArrives(i);
  }

  private raiseDeviceIrq(i: number): void {
    this.store(this.irqBase + i * IRQ_CELLS + I_FIRED, 1);
    this.deviceIrqArrives(i);
  }

  /** Device interrupt i becomes pending at the CPU it is routed to. */
  private deviceIrqArrives(i: number): void {
    const cpu = this.observe(this.irqCpuCell(i));
    const r = this.reg(cpu, R_DEV_PENDING);
    this.store(r, this.mem[r] | (1 << i));
    this.kick(cpu);
  }

  /** Interrupt entry (the arch layer's irq_enter): push the handler in an interrupt frame over what runs. */
  private takeInterrupt(c: number): void {
    const m = this.mem;
    const task = this.currentTask(c);
    const top = m[task + T_FP];
    const newFp = top + this.functions[m[top + FRAME_FUNC]].frameSize;
    let handler: CompiledFunction;
    let args: readonly number[] = [];
    /** a device interrupt's number (1..MAX_DEVICE_IRQS) or an IPI's vector, kept in the frame's kind for the exit */
    let irqNo: number;
    const devPending = m[this.reg(c, R_DEV_PENDING)];
    const ipiPending = m[this.reg(c, R_IPI_PENDING)];
    if (ipiPending) {
      // the higher vector first, as the local APIC delivers them
      const bit = ipiPending & IPI_CALL_FUNCTION ? IPI_CALL_FUNCTION : IPI_CALL_FUNCTION_SINGLE;
      this.store(this.reg(c, R_IPI_PENDING), ipiPending & ~bit);
      const ipiHandler = this.ipiHandlers[bit];
      if (!ipiHandler) this.fault('the model has no generic_smp_call_function_single_interrupt() to handle a call-function IPI');
      handler = ipiHandler;
      irqNo = bit === IPI_CALL_FUNCTION ? CALL_FUNCTION_VECTOR : CALL_FUNCTION_SINGLE_VECTOR;
    } else {
      const i = 31 - Math.clz32(devPending & -devPending);
      this.store(this.reg(c, R_DEV_PENDING), devPending & ~(1 << i));
      const irq = this.deviceIrqs[i];
      handler = irq.handler;
      args = irq.args;
      irqNo = i + 1;
    }
    if (newFp + handler.frameSize > this.stackLimit(task)) this.fault(`stack overflow entering ${handler.name}()`);
    this.writeFrame(newFp, handler, args, top, K_HARDIRQ | (1 << 8) | (irqNo << 16), 0);
    this.poke(task + T_FP, newFp);
    this.setIrqsOn(c, false);
    this.store(this.reg(c, R_PREEMPT), m[this.reg(c, R_PREEMPT)] + HARDIRQ_OFFSET);
    this.disarmSpin(c);
    const at = handler.code[0]?.range;
    if (irqNo > MAX_DEVICE_IRQS) {
      this.observe(this.mask('online') + (c >> 5));
      this.emit('ipi-receive', { vector: irqNo, online: this.isOnline(c) ? 1 : 0, queued: this.queuedCallbacks(c).length }, at, handler.name);
    } else {
      this.emit('irq-entry', { irq: irqNo, name: this.deviceIrqs[irqNo - 1].name }, at, handler.name);
    }
  }

  /** Interrupt exit (irq_exit): leave hardirq context, run pending softirqs, then restore the interrupt flag. */
  private exitHardirq(c: number, kind: number, interruptedFp: number): void {
    const irqNo = kind >>> 16;
    if (irqNo > MAX_DEVICE_IRQS) this.emit('ipi-exit', { vector: irqNo });
    else this.emit('irq-exit', { irq: irqNo, ret: 'handled' });
    const pc = this.reg(c, R_PREEMPT);
    this.store(pc, this.mem[pc] - HARDIRQ_OFFSET);
    const inInterrupt = (this.mem[pc] & (HARDIRQ_MASK | SOFTIRQ_MASK)) !== 0;
    const doSoftirq = this.doSoftirq;
    if (!inInterrupt && this.mem[this.reg(c, R_SOFTIRQ_PENDING)] && doSoftirq) {
      const task = this.currentTask(c);
      const newFp = interruptedFp + this.functions[this.mem[interruptedFp + FRAME_FUNC]].frameSize;
      if (newFp + doSoftirq.frameSize > this.stackLimit(task)) this.fault('stack overflow entering __do_softirq()');
      this.writeFrame(newFp, doSoftirq, [], interruptedFp, K_SOFTIRQ | (kind & 0x100), 0);
      this.poke(task + T_FP, newFp);
      return;
    }
    this.setIrqsOn(c, ((kind >> 8) & 1) !== 0);
  }

  /** Sets CPU c's interrupt flag; a change is an event (the timeline shades where interrupts are off). */
  setIrqsOn(c: number, on: boolean): void {
    const r = this.reg(c, R_IRQS_ON);
    const was = this.mem[r] !== 0;
    this.store(r, on ? 1 : 0);
    if (was !== on) this.emit(on ? 'irqs-on' : 'irqs-off', { caller: this.currentFunctionName() ?? '' });
  }

  /** The csds on a CPU's call_single_queue, oldest last (llist order). */
  queuedCallbacks(c: number): { csd: number; func: number; info: number }[] {
    const out: { csd: number; func: number; info: number }[] = [];
    const layout = this.csdLayout;
    if (!this.addrCallSingleQueue || !layout) return out;
    let node = this.observe(this.addrCallSingleQueue + c);
    for (let guard = 0; node > 0 && node < this.heapEnd && guard < 10000; guard++) {
      const csd = node - layout.llist;
      out.push({ csd, func: this.mem[csd + layout.func], info: this.mem[csd + layout.info] });
      node = this.observe(node);
    }
    return out;
  }

  /** hlt_play_dead: the CPU halts with interrupts off for good. Whatever is still queued for it is lost. */
  die(): void {
    const c = this.cpu;
    this.store(this.reg(c, R_DEAD), 1);
    this.emit('cpu-dead', { target: c });
    for (const w of this.queuedCallbacks(c)) {
      this.emit('lost-work', { target: c, func: w.func, csd: w.csd });
    }
    if (this.observe(this.reg(c, R_IPI_PENDING)) || this.isArmed(c)) {
      this.emit('ipi-dropped', { target: c });
    }
    // nothing is delivered to a dead CPU any more: one lost IPI is reported once
    this.disarm(c);
    this.setShared(this.reg(c, R_IPI_IN_FLIGHT), 0);
    this.deviceIrqs.forEach((_, i) => {
      if (this.observe(this.irqCpuCell(i)) === c) this.disarm(this.nrCpus + i);
    });
    this.updateRunnable(c);
  }

  // ---- tasks and scheduling

  /**
   * try_to_wake_up: make a task sleeping in one of `states` runnable; a
   * higher-priority task preempts at the next chance. wake_up_process()
   * wakes TASK_NORMAL sleepers only, so a parked kthread stays parked.
   */
  wakeUp(task: number, states = TASK_NORMAL): number {
    const m = this.mem;
    if ((m[task + T_STATE] & states) === 0) return 0;
    this.store(task + T_STATE, TASK_RUNNING);
    // preempted before it could sleep: it never left the run queue
    if (m[task + T_ON_RQ]) return 1;
    this.store(task + T_ON_RQ, 1);
    // select_task_rq(): a task whose CPU went offline wakes up elsewhere
    if (!this.isOnline(m[task + T_CPU])) this.migrateTask(task, this.fallbackCpu());
    this.checkPreempt(task);
    return 1;
  }

  /** A task just queued on its CPU preempts what runs there if it has higher priority (or nothing runnable runs). */
  private checkPreempt(task: number): void {
    const m = this.mem;
    const c = m[task + T_CPU];
    const cur = this.currentTask(c);
    if (m[task + T_PRIO] > m[cur + T_PRIO] || !m[cur + T_ON_RQ]) {
      this.store(this.reg(c, R_NEED_RESCHED), 1);
      if (this.isBlocked(c)) this.unblock(c);
    } else if (m[task + T_PRIO] === m[cur + T_PRIO] && m[this.reg(c, R_BLOCKED)] === 1) {
      // a waiting task of the same priority looks again, and yields if it only spins (see mayYield)
      this.unblock(c);
    }
  }

  /**
   * select_fallback_rq() for a task that may run anywhere: the first CPU
   * that is online and active. Every model task may run on every CPU.
   */
  fallbackCpu(): number {
    const active = this.mask('active');
    for (let c = 0; c < this.nrCpus; c++) if (this.isOnline(c) && this.testMaskBit(active, c) && !this.isDead(c)) return c;
    return this.fault('no online and active CPU left to run a task on');
  }

  /**
   * Moves a task to another CPU's run queue, as __migrate_task() does; a
   * runnable one may preempt there. The per-CPU task lists keep creation
   * order, so they read the same when rebuilt from memory.
   */
  migrateTask(task: number, dest: number): void {
    const src = this.mem[task + T_CPU];
    if (src === dest) return;
    this.store(task + T_CPU, dest);
    this.tasksOfCpu[src] = this.tasksOfCpu[src].filter((t) => t !== task);
    const list = this.tasksOfCpu[dest];
    let i = 0;
    while (i < list.length && list[i] < task) i++;
    list.splice(i, 0, task);
    this.taskMoves = ++this.taskMovesMade;
    if (this.mem[task + T_ON_RQ]) this.checkPreempt(task);
  }

  /** the arrangement of tasks on CPUs: a number no other arrangement had, given at each migration */
  private taskMoves = 0;
  private taskMovesMade = 0;

  /** schedule(): switch away after this step if the current task is not runnable or should yield. */
  requestSchedule(): void {
    this.switchPending = true;
  }

  /**
   * The highest-priority queued task, the first of them in creation order;
   * when that is the current task and another of its priority is queued,
   * the next of them after it (round robin, for a task that yields).
   */
  private pickNextTask(c: number): number {
    const list = this.tasksOfCpu[c];
    let best = 0;
    let bestPrio = -1;
    for (const t of list) {
      if (!this.mem[t + T_ON_RQ]) continue;
      const p = this.mem[t + T_PRIO];
      if (p > bestPrio) {
        best = t;
        bestPrio = p;
      }
    }
    if (best !== this.currentTask(c)) return best;
    const at = list.indexOf(best);
    for (let i = 1; i < list.length; i++) {
      const t = list[(at + i) % list.length];
      if (this.mem[t + T_ON_RQ] && this.mem[t + T_PRIO] === bestPrio) return t;
    }
    return best;
  }

  private switchTask(c: number): void {
    const prev = this.currentTask(c);
    const next = this.pickNextTask(c);
    this.store(this.reg(c, R_NEED_RESCHED), 0);
    if (!next) this.fault(`CPU${c} has no runnable task (not even idle)`);
    if (next === prev) return;
    // traced while prev is still current, as the kernel's sched_switch is
    this.emit('sched-switch', {
      prev_comm: this.taskName(prev), prev_pid: this.taskPid(prev), prev_prio: this.kernelPrio(prev), prev_state: this.taskStateLetters(prev),
      next_comm: this.taskName(next), next_pid: this.taskPid(next), next_prio: this.kernelPrio(next),
    });
    // preempt_count belongs to the task while it is switched out
    this.store(prev + T_PREEMPT, this.mem[this.reg(c, R_PREEMPT)]);
    this.store(this.reg(c, R_PREEMPT), this.mem[next + T_PREEMPT]);
    this.store(this.reg(c, R_CURRENT), next);
    this.disarmSpin(c);
  }

  // ---- stepping

  /** The instruction CPU c executes next, or undefined if it has no frame. */
  nextInstr(c: number): { fn: CompiledFunction; pc: number; fp: number } | undefined {
    const task = this.currentTask(c);
    const fp = task ? this.mem[task + T_FP] : 0;
    if (!fp) return undefined;
    return { fn: this.functions[this.mem[fp + FRAME_FUNC]], pc: this.mem[fp + FRAME_PC], fp };
  }

  /**
   * What CPU c's next step does: take a pending interrupt (when its
   * interrupts are on), switch tasks (a woken task preempts, or the current
   * one has finished), or execute its next statement.
   */
  nextStepKind(c: number): StepKind {
    const m = this.mem;
    const r = this.regBase + c * CPU_REGS;
    if (m[r + R_IRQS_ON] && (m[r + R_IPI_PENDING] | m[r + R_DEV_PENDING])) return INTERRUPT;
    if (m[r + R_NEED_RESCHED] && m[r + R_PREEMPT] === 0 && m[r + R_IRQS_ON]) return SWITCH;
    return m[m[r + R_CURRENT] + T_FP] === 0 ? SWITCH : STATEMENT;
  }

  /**
   * One step of CPU c: take a pending interrupt, or switch to a woken
   * higher-priority task, or execute one statement.
   */
  stepCpu(c: number): void {
    this.steps++;
    this.clock++;
    this.ownerCpu = -1;
    if (this.armed.length !== 0 && !this.timePasses(1)) return;
    this.cpu = c;
    this.ownerCpu = c;
    this.contextId = 0;
    const m = this.mem;
    const r = this.regBase + c * CPU_REGS;
    try {
      const kind = this.nextStepKind(c);
      if (kind !== STATEMENT) {
        this.currentInstr = undefined;
        if (kind === INTERRUPT) this.takeInterrupt(c);
        else this.switchTask(c);
        return;
      }
      const fp = m[m[r + R_CURRENT] + T_FP];
      this.fp = fp;
      const ins = this.functions[m[fp + FRAME_FUNC]].code[m[fp + FRAME_PC]];
      this.currentInstr = ins;
      this.reads = this.spinArmed[c] ? this.spinReads[c] : null;
      const next = ins.exec(this);
      this.reads = null;
      if (next >= 0) this.poke(fp + FRAME_PC, next);
      if (this.switchPending) {
        this.switchPending = false;
        // schedule() in a state other than TASK_RUNNING puts the task to sleep
        const cur = m[r + R_CURRENT];
        if (m[cur + T_STATE] !== TASK_RUNNING) this.store(cur + T_ON_RQ, 0);
        this.switchTask(c);
      }
    } catch (e) {
      this.reads = null;
      this.switchPending = false;
      if (e instanceof MachineFault) {
        this.stopReason = { kind: 'fault', message: e.message, cpu: e.cpu, at: e.at };
        return;
      }
      throw e;
    }
  }

  /** One step of an actor: a CPU, or a timed event whose moment the schedule picked. */
  step(actor: number): void {
    if (actor < this.nrCpus) this.stepCpu(actor);
    else this.stepTimer(actor - this.nrCpus);
  }

  /** Timer k happens now, as a step of its own; time passes for the others. */
  private stepTimer(k: number): void {
    this.steps++;
    this.clock++;
    this.ownerCpu = -1;
    this.faultStops(() => {
      if (this.isArmed(k)) this.fire(k);
      this.tick(1);
    });
  }

  /** `d` steps pass for the timed events (see tick); false when a fault there stopped the machine. */
  private timePasses(d: number): boolean {
    try {
      this.tick(d);
      return true;
    } catch (e) {
      return this.stopOnFault(e);
    }
  }

  /**
   * Runs machine work outside a CPU's statement (a timed event, time passing):
   * a fault there (a `where` condition of an interrupt that faults) stops the
   * machine as a statement's would. False when it did.
   */
  private faultStops(work: () => void): boolean {
    try {
      work();
      return true;
    } catch (e) {
      return this.stopOnFault(e);
    }
  }

  /** A fault outside a statement stops the machine as a statement's would (false); anything else is rethrown. */
  private stopOnFault(e: unknown): false {
    if (!(e instanceof MachineFault)) throw e;
    this.stopReason = { kind: 'fault', message: e.message, cpu: e.cpu, at: e.at };
    return false;
  }

  /**
   * The actors that may step now, in actor order: runnable CPUs, then timers
   * whose window is open (only when the chooser leaves their moment to the
   * schedule). Valid until the next step.
   */
  actors(): Int32Array {
    return this.gathered.slice(0, this.gatherActors());
  }

  /** the list gatherActors() filled: the run list itself when no timer is open */
  private gathered: Int32Array = new Int32Array(0);

  /** Puts the actors that may step in `gathered` (without allocating) and says how many. */
  private gatherActors(): number {
    this.gathered = this.runList;
    if (this.armed.length === 0) return this.runCount;
    let open = 0;
    for (const k of this.armed) if (this.isOpen(k)) open++;
    if (open === 0) return this.runCount;
    if (this.actorList.length < this.runCount + open) this.actorList = new Int32Array(this.nrCpus + this.nrCpus + this.deviceIrqs.length);
    const list = this.actorList;
    list.set(this.runList.subarray(0, this.runCount));
    let n = this.runCount;
    for (const k of this.armed) if (this.isOpen(k)) list[n++] = this.nrCpus + k;
    this.gathered = list;
    return n;
  }

  /** Picks the next actor, advancing time past idle gaps. Undefined when nothing can ever step again. */
  pickActor(): number | undefined {
    for (;;) {
      const n = this.gatherActors();
      if (n > 0) {
        const a = this.chooser.pickActor(this.gathered, n);
        if (this.recordChoices) this.choiceLog.push(a);
        return a;
      }
      if (!this.advanceIdleTime()) return undefined;
    }
  }

  /** Nothing can step: let time pass until a timed event may or must happen. */
  advanceIdleTime(): boolean {
    let d = Infinity;
    for (const k of this.armed) {
      const a = this.timerCells(k);
      const next = this.mem[a] > 0 ? this.mem[a] : this.mem[a + 1] > 0 ? this.mem[a + 1] : Infinity;
      if (next < d) d = next;
    }
    if (d === Infinity) return false;
    this.clock += d;
    this.ownerCpu = -1;
    return this.timePasses(d);
  }

  /** The part of a state's hash that memory does not hold: which CPUs are in the middle of a watched spin. */
  spinHash(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let c = 0; c < this.nrCpus; c++) {
      if (!this.spinArmed[c]) continue;
      const [a, b] = symbolKey(1000 + c, this.spinFp[c]);
      lo ^= a;
      hi ^= b;
    }
    return [lo, hi];
  }

  /**
   * Re-arms the timed events whose moment a chooser drew (an IPI with a
   * ranged latency, an interrupt at any step in a window) as windows the
   * schedule picks from, from now on: a search from a debugger's state then
   * tries every moment the scenario allows, not only the one drawn. An IPI
   * in flight may arrive from now until its deadline.
   */
  leaveTimingToSchedule(): void {
    const ranged = this.ipiLatency.max > this.ipiLatency.min;
    for (const k of [...this.armed]) {
      const a = this.timerCells(k);
      if (k < this.nrCpus) {
        if (!ranged) continue;
        const latest = this.ipiLatency.max === Infinity ? -1 : this.mem[a + 1];
        this.disarm(k);
        this.arm(k, 0, latest);
        continue;
      }
      // a task's msleep() keeps its fixed delay
      if (this.isSleepTimer(k)) continue;
      const w = this.deviceIrqs[k - this.nrCpus].when;
      if (w.kind !== 'any') continue;
      this.disarm(k);
      this.arm(k, Math.max(0, w.from - this.clock), w.to === Infinity ? -1 : Math.max(1, w.to - this.clock));
    }
  }

  /** When the IPI in flight to CPU c arrives, in words, or undefined when none is in flight. */
  ipiInFlight(c: number): string | undefined {
    const earliest = this.mem[this.reg(c, R_IPI_EARLIEST)];
    const latest = this.mem[this.reg(c, R_IPI_EARLIEST) + 1];
    if (earliest < 0) return undefined;
    if (earliest === latest) return `arrives in ${earliest} step${earliest === 1 ? '' : 's'}`;
    const from = earliest === 0 ? 'may arrive now' : `may arrive in ${earliest} steps`;
    return latest < 0 ? `${from}, or at any later step` : `${from}, at the latest in ${latest}`;
  }

  /** A name for an actor, as counterexamples and logs write it: `2` (CPU 2), `ipi>1`, `irq:disk`. */
  actorName(actor: number): string {
    const n = this.nrCpus;
    if (actor < n) return String(actor);
    if (actor < 2 * n) return `ipi>${actor - n}`;
    return `irq:${this.deviceIrqs[actor - 2 * n]?.name ?? actor - 2 * n}`;
  }

  /** The actor a name stands for, or undefined. */
  actorByName(name: string): number | undefined {
    const n = this.nrCpus;
    if (/^\d+$/.test(name)) return Number(name) < n ? Number(name) : undefined;
    const ipi = /^ipi>(\d+)$/.exec(name);
    if (ipi) return Number(ipi[1]) < n ? n + Number(ipi[1]) : undefined;
    const irq = /^irq:(.+)$/.exec(name);
    if (irq) {
      const i = this.deviceIrqs.findIndex((q) => q.name === irq[1]);
      return i >= 0 ? 2 * n + i : undefined;
    }
    return undefined;
  }

  /** Runs until the machine stops by itself or `maxSteps` more steps are taken. */
  run(maxSteps: number): StopReason {
    this.stopReason = undefined;
    const limit = this.steps + maxSteps;
    while (this.steps < limit) {
      const a = this.pickActor();
      if (a === undefined) return (this.stopReason ??= this.endReason());
      this.step(a);
      if (this.stopReason) return this.stopReason;
    }
    return (this.stopReason = { kind: 'budget', message: `step budget of ${maxSteps} steps used up; ${this.describeCpus()}` });
  }

  /** Why nothing can step: all work done, CPUs frozen, or CPUs waiting on each other. */
  endReason(): StopReason {
    const frozen = Array.from(this.frozen).some((f, c) => f && !this.isDead(c) && !this.isBlocked(c));
    if (frozen) return { kind: 'frozen', message: 'only frozen CPUs can step' };
    const stuck = this.stuckTasks();
    if (stuck.length) return { kind: 'deadlock', message: `no CPU can make progress: ${stuck.join('; ')}` };
    return { kind: 'done' };
  }

  /**
   * Tasks other than idle and kernel threads that never finished, with what
   * their CPU waits for, and tasks asleep on a completion or mutex nobody
   * will release.
   */
  private stuckTasks(): string[] {
    const out: string[] = [];
    for (const task of this.allTasks()) {
      const on = this.mem[task + T_WAIT];
      if (on > 0 && this.mem[task + T_STATE] === TASK_UNINTERRUPTIBLE) out.push(`${this.taskName(task)} asleep on ${this.nameOf(on)} for ever`);
    }
    for (let c = 0; c < this.nrCpus; c++) {
      if (this.isDead(c)) continue;
      const task = this.currentTask(c);
      if (this.mem[task + T_PRIO] === PRIO_IDLE) continue;
      if (!this.mem[task + T_ON_RQ]) continue;
      out.push(`CPU${c} ${this.describeCpu(c)}`);
    }
    return out;
  }

  describeCpu(c: number): string {
    const at = this.nextInstr(c);
    const where = at ? `${at.fn.name}() at ${shortFile(at.fn.file)}:${at.fn.code[at.pc]?.range.start.line}` : 'no code';
    const waits = this.watching[c].length ? ` waiting for ${this.describeAddresses(this.watching[c])} to change` : this.isBlocked(c) ? ' spinning with nothing that can change' : '';
    return `in ${where}${waits}`;
  }

  describeCpus(): string {
    const parts: string[] = [];
    for (let c = 0; c < this.nrCpus; c++) {
      if (this.isDead(c) || this.mem[this.currentTask(c) + T_PRIO] === PRIO_IDLE) continue;
      parts.push(`CPU${c} ${this.describeCpu(c)}`);
    }
    return parts.length ? parts.join('; ') : 'all CPUs idle';
  }

  /** Names for memory cells: `msdata->state`-like when the cell is a global, a local or a register. */
  describeAddresses(addrs: readonly number[]): string {
    return addrs.slice(0, 3).map((a) => this.nameOf(a)).join(', ') + (addrs.length > 3 ? ` and ${addrs.length - 3} more` : '');
  }

  nameOf(addr: number): string {
    for (const g of this.program.globals.values()) {
      const size = sizeOf(g.type);
      const total = g.perCpu ? size * this.nrCpus : size;
      if (addr >= g.addr && addr < g.addr + total) {
        const cpu = g.perCpu ? Math.floor((addr - g.addr) / size) : -1;
        const inner = g.perCpu ? (addr - g.addr) % size : addr - g.addr;
        return `${g.perCpu ? `per_cpu(${g.name}, ${cpu})` : g.name}${pathWithin(g.type, inner)}`;
      }
    }
    for (let c = 0; c < this.nrCpus; c++) {
      const r = addr - (this.regBase + c * CPU_REGS);
      if (r >= 0 && r < CPU_REGS) return `CPU${c} ${REGISTER_NAMES[r] ?? 'register'}`;
    }
    const owner = this.locateStackCell(addr);
    if (owner) return owner;
    return `memory at ${addr}`;
  }

  private locateStackCell(addr: number): string | undefined {
    if (addr < this.taskBase || addr >= this.heapBase) return undefined;
    const task = this.taskBase + Math.floor((addr - this.taskBase) / TASK_CELLS) * TASK_CELLS;
    for (let fp = this.mem[task + T_FP]; fp; fp = this.mem[fp + FRAME_SAVED_FP]) {
      const fn = this.functions[this.mem[fp + FRAME_FUNC]];
      if (addr >= fp && addr < fp + fn.frameSize) {
        const off = addr - fp;
        const v = fn.locals.find((l) => off >= l.offset && off < l.offset + sizeOf(l.type));
        return v ? `${v.name}${pathWithin(v.type, off - v.offset)} in ${fn.name}()` : `${fn.name}() frame`;
      }
    }
    return undefined;
  }

  // ---- views for debuggers

  /** CPU c's context stack, innermost frame first: interrupt frames over task frames. */
  frames(c: number): FrameInfo[] {
    const out: FrameInfo[] = [];
    const task = this.currentTask(c);
    if (!task) return out;
    for (let fp = this.mem[task + T_FP], guard = 0; fp && guard < 1000; fp = this.mem[fp + FRAME_SAVED_FP], guard++) {
      const fn = this.functions[this.mem[fp + FRAME_FUNC]];
      const pc = this.mem[fp + FRAME_PC];
      const k = this.mem[fp + FRAME_KIND] & 0xff;
      const kind = k === K_HARDIRQ ? 'hardirq' : k === K_SOFTIRQ ? 'softirq' : k === K_TASK ? 'task' : 'call';
      out.push({ fp, fn, pc, kind, instr: fn.code[pc] });
    }
    return out;
  }

  /** Runs `f` as if CPU c were executing frame fp (for watches and conditions); faults become errors. */
  inFrame<T>(c: number, fp: number, f: () => T): T {
    const saved = [this.cpu, this.fp] as const;
    const reads = this.reads;
    this.cpu = c;
    this.fp = fp;
    this.reads = null;
    try {
      return f();
    } finally {
      [this.cpu, this.fp] = saved;
      this.reads = reads;
    }
  }

  // ---- boot, snapshot, restore

  /**
   * Boots: every CPU possible, online and active, each with its idle task,
   * then the model's start_kernel() and initcalls run on CPU 0 until the
   * machine settles.
   */
  boot(maxSteps = 200000): StopReason {
    const idle = idleEntry(this.program);
    if (!idle) throw new MachineFault('the model has no cpu_idle_loop() or cpu_startup_entry() for the idle tasks', 0);
    for (const name of ['possible', 'online', 'active'] as const) {
      const mask = this.mask(name);
      for (let c = 0; c < this.nrCpus; c++) this.mem[mask + (c >> 5)] |= 1 << (c & 31);
    }
    const cpumaskOf = this.program.globals.get('__cpumask_of');
    if (cpumaskOf) {
      const words = Math.ceil(this.nrCpus / 32);
      for (let c = 0; c < this.nrCpus; c++) this.mem[cpumaskOf.addr + c * words + (c >> 5)] = 1 << (c & 31);
    }
    for (let c = 0; c < this.nrCpus; c++) {
      // the idle task runs with preemption disabled, as cpu_startup_entry() does
      // cpu_startup_entry(state) gets 0 for its cpuhp state: the model has no CPU-up path that reads it
      const t = this.createTask(c, idle, idle.params.map(() => 0), `swapper/${c}`, PRIO_IDLE, true);
      this.mem[this.reg(c, R_CURRENT)] = t;
      this.mem[this.reg(c, R_PREEMPT)] = 1;
    }
    // start_kernel() (init/main.c), if the model has one, runs before the initcalls, as on the boot CPU
    const start = this.program.functionsByName.get('start_kernel');
    if (start?.decl.body) this.createTask(0, start, [], 'init:start_kernel', PRIO_NORMAL, true);
    for (const init of this.program.initcalls) this.createTask(0, init, [], `init:${init.name}`, PRIO_NORMAL, true);
    this.mem[this.reg(0, R_NEED_RESCHED)] = 1;
    this.rebuildRunList();
    this.quiet = true;
    const stop = this.run(maxSteps);
    this.quiet = false;
    this.steps = 0;
    this.clock = 0;
    this.choiceLog.length = 0;
    return stop;
  }

  /** Arms the scenario's device interrupts; call once after adding them, before running. */
  startDeviceIrqs(): void {
    for (let i = 0; i < this.deviceIrqs.length; i++) {
      const w = this.deviceIrqs[i].when;
      if (w.kind === 'at') this.arm(this.nrCpus + i, Math.max(w.step, 1), Math.max(w.step, 1));
      else if (w.kind === 'any') this.armWithin(this.nrCpus + i, w.from, w.to);
    }
  }

  /** A copy of the machine's state. Pass an old snapshot of this machine to reuse its memory. */
  snapshot(reuse?: Snapshot): Snapshot {
    let mem: Int32Array;
    if (reuse && reuse.mem.length === this.mem.length) {
      reuse.mem.set(this.mem);
      mem = reuse.mem;
    } else mem = this.mem.slice();
    return {
      mem,
      frozen: this.frozen.slice(),
      steps: this.steps,
      clock: this.clock,
      chooser: this.chooser.save(),
      spin: this.spinState(),
      choices: this.choiceLog.length,
    };
  }

  private spinState(): SpinState[] {
    return Array.from({ length: this.nrCpus }, (_, c) => ({
      armed: this.spinArmed[c], changed: this.spinChanged[c], fp: this.spinFp[c], site: this.spinSite[c],
      reads: this.spinReads[c].slice(), watch: this.watching[c].slice(),
    }));
  }

  private setSpinState(spin: readonly SpinState[]): void {
    for (let c = 0; c < this.nrCpus; c++) for (const a of this.watching[c]) this.watchCount[a]--;
    for (let c = 0; c < this.nrCpus; c++) {
      const sp = spin[c];
      this.spinArmed[c] = sp.armed;
      this.spinChanged[c] = sp.changed;
      this.spinFp[c] = sp.fp;
      this.spinSite[c] = sp.site;
      this.spinReads[c] = sp.reads.slice();
      this.watching[c] = sp.watch.slice();
      for (const a of sp.watch) this.watchCount[a]++;
    }
  }

  /**
   * Starts keeping the state hash and an undo log, so a search can mark a
   * state and come back to it. Cheap to call again: it rehashes memory.
   */
  track(): StateTracking {
    this.tracking ??= new StateTracking();
    this.tracking.rehash(this.mem);
    this.tracking.undoLength = 0;
    return this.tracking;
  }

  /** The current state, to come back to with rewind(). Needs track(). */
  mark(): Mark {
    const t = this.tracking!;
    if (this.spinCacheVersion !== this.spinVersion) {
      this.spinCache = this.spinState();
      this.spinCacheVersion = this.spinVersion;
    }
    return {
      undoLength: t.undoLength, hashLo: t.hashLo, hashHi: t.hashHi, steps: this.steps, clock: this.clock,
      taskCount: this.mem[this.taskCountAddr], taskMoves: this.taskMoves, spin: this.spinCache,
    };
  }

  /** Back to a marked state: memory from the undo log, the rest from the mark. */
  rewind(mark: Mark): void {
    const t = this.tracking!;
    t.undoTo(this.mem, mark.undoLength);
    t.hashLo = mark.hashLo;
    t.hashHi = mark.hashHi;
    this.steps = mark.steps;
    this.clock = mark.clock;
    this.stopReason = undefined;
    this.switchPending = false;
    this.setSpinState(mark.spin);
    this.spinCache = mark.spin;
    this.spinCacheVersion = ++this.spinVersion;
    if (this.taskMoves !== mark.taskMoves || this.tasksOfCpu.reduce((n, l) => n + l.length, 0) !== mark.taskCount) {
      this.rebuildTaskLists();
      this.taskMoves = mark.taskMoves;
    }
    this.rebuildRunList();
    this.rebuildArmed();
  }

  restore(s: Snapshot): void {
    if (s.mem.length !== this.mem.length) throw new Error('snapshot of a different machine');
    this.mem.set(s.mem);
    this.frozen.set(s.frozen);
    this.steps = s.steps;
    this.clock = s.clock;
    this.chooser.load(s.chooser);
    this.watchCount.fill(0);
    for (let c = 0; c < this.nrCpus; c++) this.watching[c] = [];
    this.setSpinState(s.spin);
    if (this.tracking !== null) this.track();
    this.choiceLog.length = Math.min(this.choiceLog.length, s.choices);
    this.stopReason = undefined;
    this.rebuildDerived();
    this.taskMoves = ++this.taskMovesMade;
  }

  /** Recomputes what is derived from memory: task lists, the run list, the next timed events. */
  private rebuildDerived(): void {
    this.rebuildTaskLists();
    this.rebuildRunList();
    this.rebuildArmed();
  }

  private rebuildTaskLists(): void {
    this.tasksOfCpu = Array.from({ length: this.nrCpus }, () => []);
    for (const t of this.allTasks()) this.tasksOfCpu[this.mem[t + T_CPU]].push(t);
  }

  private rebuildArmed(): void {
    this.armed = [];
    for (let k = 0; k < this.nrCpus + this.deviceIrqs.length; k++) if (this.isArmed(k)) this.armed.push(k);
    const sleepTimers = this.nrCpus + MAX_DEVICE_IRQS;
    for (let k = sleepTimers; k < sleepTimers + this.mem[this.taskCountAddr]; k++) if (this.isArmed(k)) this.armed.push(k);
  }
}

/** `.field.sub` or `[i]` for the cell at `offset` inside a value of type `t`. */
function pathWithin(t: Type, offset: number): string {
  if (t.k === 'struct') {
    const f = t.fields.find((x) => offset >= x.offset && offset < x.offset + sizeOf(x.type));
    return f ? `.${f.name}${pathWithin(f.type, offset - f.offset)}` : '';
  }
  if (t.k === 'array') {
    const size = sizeOf(t.of);
    const i = Math.floor(offset / size);
    return `[${i}]${pathWithin(t.of, offset - i * size)}`;
  }
  return '';
}

export function shortFile(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts.slice(-2).join('/');
}

/**
 * Where the machine finds a csd's callback and queue link: 3.15's struct
 * call_single_data has them at the top level; since 5.x the link lives in
 * the embedded struct __call_single_node (csd->node.llist) of struct
 * __call_single_data.
 */
function csdLayout(program: Program): { func: number; info: number; llist: number } | undefined {
  const csd = program.structs.get('call_single_data') ?? program.structs.get('__call_single_data');
  if (!csd?.complete || !csd.byName.has('func')) return undefined;
  const func = csd.byName.get('func')!.offset;
  const info = csd.byName.get('info')?.offset ?? 0;
  const llist = csd.byName.get('llist');
  if (llist) return { func, info, llist: llist.offset };
  const node = csd.byName.get('node');
  const nodeLlist = node?.type.k === 'struct' ? node.type.byName.get('llist') : undefined;
  return node && nodeLlist ? { func, info, llist: node.offset + nodeLlist.offset } : undefined;
}

/** The idle task's entry: 3.15's cpu_idle_loop(), or cpu_startup_entry() of later kernels, whose loop is do_idle(). */
function idleEntry(program: Program): CompiledFunction | undefined {
  for (const name of ['cpu_idle_loop', 'cpu_startup_entry']) {
    const f = program.functionsByName.get(name);
    if (f?.decl.body) return f;
  }
  return undefined;
}
