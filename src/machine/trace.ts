import { ftraceTimestamp } from './clock.js';
import { EVENT_KINDS, EventContext, EventKind, FieldValue, MachineEvent, tracepointOf } from './events.js';
import type { Machine } from './machine.js';
import { kernelReport } from './report.js';

/** Fields holding function values, printed as symbol names. */
const SYMBOL_FIELDS = new Set(['func', 'callback', 'fun']);

/** A field value as a person reads it: symbols by name, states and actions by their constant. */
export function fieldText(m: Machine, kind: string, name: string, v: number | string): string {
  if (typeof v === 'string') return v;
  if (SYMBOL_FIELDS.has(name)) return m.symbol(v);
  if (name === 'csd' || name === 'rq') return pointer(v);
  if (kind === 'stop-machine-state' && name === 'state') return constantName(m, v, /^MULTI_STOP_/) ?? String(v);
  if (kind === 'cpuhp' && name === 'action') return constantName(m, v, /^CPU_(?!PRI_|TASKS_FROZEN)[A-Z_]+$/) ?? String(v);
  return String(v);
}

function constantName(m: Machine, v: number, pattern: RegExp): string | undefined {
  let best: string | undefined;
  for (const [name, value] of m.program.constants) {
    if (value === v && pattern.test(name) && (!best || name.length < best.length)) best = name;
  }
  return best;
}

/** An address as %p prints it in the model: hex cells. */
function pointer(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}

/** The kernel's softirq_to_name[], by vector number. */
export const SOFTIRQ_NAMES = ['HI', 'TIMER', 'NET_TX', 'NET_RX', 'BLOCK', 'BLOCK_IOPOLL', 'TASKLET', 'SCHED', 'HRTIMER', 'RCU'];

/** `key=value` for each field, as SMP Lab's own events print. */
function plainFields(m: Machine, e: MachineEvent, names: readonly string[]): string {
  return names.filter((k) => e.fields[k] !== undefined).map((k) => `${k}=${fieldText(m, e.kind, k, e.fields[k])}`).join(' ');
}

/** %0Nu and %Nd of TP_printk. */
const pad0 = (v: FieldValue, n: number) => String(v).padStart(n, '0');
const padNum = (v: FieldValue, n: number) => String(v).padStart(n, ' ');

type Printer = (f: Readonly<Record<string, FieldValue>>, m: Machine, e: MachineEvent) => string;

const sym = (m: Machine, v: FieldValue) => m.symbol(Number(v));
const symOffset = (m: Machine, v: FieldValue) => m.symbolWithOffset(Number(v));
const softirq = (f: Readonly<Record<string, FieldValue>>) => `vec=${f.vec} [action=${SOFTIRQ_NAMES[Number(f.vec)] ?? '?'}]`;
const own: Printer = (_f, m, e) => plainFields(m, e, EVENT_KINDS[e.kind].fields);

/**
 * Each event's payload as its tracepoint's TP_printk prints it (the
 * kernel's format strings, in include/trace/events/), and as key=value for
 * SMP Lab's own events.
 */
const TP_PRINTK: Record<EventKind, Printer> = {
  'ipi-send': (f, m) => `cpu=${f.cpu} callsite=${f.callsite} callback=${symOffset(m, f.callback)}`,
  'ipi-send-mask': (f, m) => `cpumask=${f.cpumask} callsite=${f.callsite} callback=${symOffset(m, f.callback)}`,
  'ipi-receive': (f) => `vector=${f.vector}`,
  'ipi-exit': (f) => `vector=${f.vector}`,
  'csd-queue': (f, m) => `cpu=${f.cpu} callsite=${f.callsite} func=${sym(m, f.func)} csd=${pointer(Number(f.csd))}`,
  'csd-entry': (f, m) => `func=${sym(m, f.func)}, csd=${pointer(Number(f.csd))}`,
  'csd-exit': (f, m) => `func=${sym(m, f.func)}, csd=${pointer(Number(f.csd))}`,
  'irqs-off': (f) => `caller=${f.caller}`,
  'irqs-on': (f) => `caller=${f.caller}`,
  'irq-entry': (f) => `irq=${f.irq} name=${f.name}`,
  'irq-exit': (f) => `irq=${f.irq} ret=${f.ret}`,
  'softirq-raise': softirq,
  'softirq-entry': softirq,
  'softirq-exit': softirq,
  'sched-switch': (f) =>
    `prev_comm=${f.prev_comm} prev_pid=${f.prev_pid} prev_prio=${f.prev_prio} prev_state=${f.prev_state} ==> next_comm=${f.next_comm} next_pid=${f.next_pid} next_prio=${f.next_prio}`,
  'task-exit': (f) => `comm=${f.comm} pid=${f.pid} prio=${f.prio}`,
  // 3.15's form: dev, rwbs, (cmd), sector + sectors [errors]; the model's requests have no disk and no data
  'request-complete': () => '0,0 N () 0 + 0 [0]',
  printk: (f) => String(f.message),
  'ipi-dropped': own,
  'stop-machine-state': own,
  cpuhp: own,
  'cpuhp-enter': (f, m) => `cpu: ${pad0(f.cpu, 4)} target: ${padNum(f.target, 3)} step: ${padNum(f.idx, 3)} (${sym(m, f.fun)})`,
  'cpuhp-exit': (f) => ` cpu: ${pad0(f.cpu, 4)}  state: ${padNum(f.state, 3)} step: ${padNum(f.idx, 3)} ret: ${f.ret}`,
  'cpu-offline': own,
  'cpu-online': own,
  'cpu-dead': own,
  'lost-work': own,
  warn: (f) => `${f.function}: ${f.message || 'WARN_ON'}`,
  bug: (f) => `${f.function}: ${f.message}`,
};

/** An event's payload as its tracepoint prints it. */
export function tracepointText(m: Machine, e: MachineEvent): string {
  return TP_PRINTK[e.kind](e.fields, m, e);
}

/** The start of each CLI log line: step and CPU. */
export function eventHead(e: MachineEvent): string {
  return `${String(e.step).padStart(8)} [${String(e.cpu).padStart(3, '0')}]`;
}

/**
 * Whether a trace shows the event. A mask send is one ipi_send_cpumask line,
 * as in the kernel; the ipi-send events for each of its CPUs (`mask=1`) are
 * there for breakpoints, expectations and the timeline, not for the trace.
 * So are interrupts turned off and on: a kernel traces them only when asked
 * (the preemptirq events), and they would outnumber every other line.
 */
export function shownInTrace(e: MachineEvent): boolean {
  return !(e.kind === 'ipi-send' && e.fields.mask === 1) && e.kind !== 'irqs-off' && e.kind !== 'irqs-on';
}

/**
 * One event as lines of the CLI's log (and the Debug Console's): step, CPU,
 * tracepoint and payload, then SMP Lab's extra fields after a `|`. A printk
 * is its text; a WARN or BUG is the kernel's report, one line each. An
 * event the trace does not show has no lines.
 */
export function eventLines(m: Machine, e: MachineEvent): string[] {
  const head = eventHead(e);
  if (!shownInTrace(e)) return [];
  if (e.kind === 'printk') return [`${head} ${e.fields.message}`];
  if (e.kind === 'warn' || e.kind === 'bug') return kernelReport(m, e).map((l) => `${head} ${l.text}`);
  const extra = plainFields(m, e, EVENT_KINDS[e.kind].extra.filter((k) => k !== 'mask'));
  return [`${head} ${tracepointOf(e)}: ${tracepointText(m, e)}${extra ? ` | ${extra}` : ''}`];
}

/** The same event as plain data, with symbols resolved, for --json and the debugger. */
export function eventJson(m: Machine, e: MachineEvent): Record<string, unknown> {
  const fields: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(e.fields)) fields[k] = typeof v === 'number' && (SYMBOL_FIELDS.has(k)) ? fieldText(m, e.kind, k, v) : v;
  return {
    step: e.step, cpu: e.cpu, event: e.kind, tracepoint: tracepointOf(e), fields, context: e.context,
    at: e.at ? { file: e.at.file, line: e.at.start.line, col: e.at.start.col } : undefined, function: e.func,
  };
}

// ---- ftrace text

/**
 * The flag columns of ftrace's latency format, as 3.15 prints them:
 * irqs-off (`d`), need-resched (`N`), hardirq/softirq (`H` both, `h`, `s`)
 * and preempt-depth (hex digit), each `.` when clear.
 */
export function ftraceFlags(c: EventContext): string {
  const irq = c.hardirq && c.softirq ? 'H' : c.hardirq ? 'h' : c.softirq ? 's' : '.';
  return `${c.irqsOff ? 'd' : '.'}${c.needResched ? 'N' : '.'}${irq}${c.preemptDepth ? Math.min(c.preemptDepth, 15).toString(16) : '.'}`;
}

/**
 * An event's name as a trace file prints it: a kernel tracepoint without
 * its system (`ipi_send_cpu`), as the kernel does; SMP Lab's own with its
 * `smplab:` system, so nobody takes them for the kernel's.
 */
function ftraceEventName(e: MachineEvent): string {
  const tp = tracepointOf(e);
  return tp.startsWith('smplab:') ? tp : tp.slice(tp.indexOf(':') + 1);
}

/** One event as a line of /sys/kernel/tracing/trace: `<idle>-0     [001] d.h1     0.000593: call_function_single_entry: vector=251`. */
export function ftraceLine(m: Machine, e: MachineEvent): string {
  const comm = e.context.pid === 0 ? '<idle>' : e.context.comm.slice(0, 15);
  const task = `${comm.padStart(16)}-${String(e.context.pid).padEnd(5)}`;
  return `${task} [${String(e.cpu).padStart(3, '0')}] ${ftraceFlags(e.context)} ${ftraceTimestamp(e.step).padStart(12)}: ${ftraceEventName(e)}: ${tracepointText(m, e)}`;
}

/** The header of 3.15's trace file for the nop tracer, with the latency-format legend. */
function ftraceHeader(entries: number, cpus: number): string[] {
  return [
    '# tracer: nop',
    '#',
    `# entries-in-buffer/entries-written: ${entries}/${entries}   #P:${cpus}`,
    '#',
    '#                              _-----=> irqs-off',
    '#                             / _----=> need-resched',
    '#                            | / _---=> hardirq/softirq',
    '#                            || / _--=> preempt-depth',
    '#                            ||| /     delay',
    '#           TASK-PID   CPU#  ||||    TIMESTAMP  FUNCTION',
    '#              | |       |   ||||       |         |',
  ];
}

/**
 * A run's events as ftrace text, the way `cat /sys/kernel/tracing/trace`
 * and `trace-cmd report -l` show them, on the simulated clock (clock.ts:
 * one step is one microsecond). For `smplab run --ftrace-out` and the
 * debugger's trace export.
 */
export function ftraceText(m: Machine, events: readonly MachineEvent[]): string {
  const lines = ftraceHeader(events.filter(shownInTrace).length, m.nrCpus);
  for (const e of events) if (shownInTrace(e)) lines.push(ftraceLine(m, e));
  return `${lines.join('\n')}\n`;
}
