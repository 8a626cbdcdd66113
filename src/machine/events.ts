import { SourceRange } from '../kc/diagnostics.js';
import { CALL_FUNCTION_VECTOR } from './layout.js';

/**
 * Every interesting thing the machine does. The short kind is what breakpoints,
 * expectations and the CLI name it by. Where the kernel has a tracepoint for
 * the moment, `tracepoint` and `fields` are that tracepoint's name and fields
 * (trace.ts prints them as its TP_printk does); moments no kernel traces are
 * in the `smplab:` system, so nobody looks for them in a real trace. `extra`
 * fields are SMP Lab's own additions to a real tracepoint: conditions, the
 * CLI log and --json see them; ftrace text leaves them out.
 *
 * The ipi:* and csd:* tracepoints date from 2023 kernels; a 3.15 model
 * emits them anyway, so the debugger and traces can see these moments.
 */
export const EVENT_KINDS = {
  'ipi-send': {
    tracepoint: 'ipi:ipi_send_cpu', fields: ['cpu', 'callsite', 'callback'], extra: ['latency', 'mask'],
    doc: 'a call-function IPI is sent to a CPU (cpu: the target, latency: steps in flight, mask: 1 when it is one CPU of a mask send)',
  },
  'ipi-send-mask': { tracepoint: 'ipi:ipi_send_cpumask', fields: ['cpumask', 'callsite', 'callback'], extra: [], doc: 'a call-function IPI is sent to every CPU of a mask (then an ipi-send with mask == 1 for each)' },
  'ipi-receive': {
    tracepoint: 'irq_vectors:call_function_single_entry', fields: ['vector'], extra: ['online', 'queued'],
    doc: 'a CPU enters a call-function IPI handler (vector 251, or 252 for a mask send: irq_vectors:call_function_entry); queued = entries on its call_single_queue',
  },
  'ipi-exit': { tracepoint: 'irq_vectors:call_function_single_exit', fields: ['vector'], extra: [], doc: 'a CPU leaves a call-function IPI handler (vector 251, or 252: irq_vectors:call_function_exit)' },
  'ipi-dropped': { tracepoint: 'smplab:ipi_dropped', fields: ['target'], extra: [], doc: 'an IPI reached a dead CPU and was lost' },
  'csd-queue': { tracepoint: 'csd:csd_queue_cpu', fields: ['cpu', 'callsite', 'func', 'csd'], extra: [], doc: 'a csd is queued on a CPU\'s call_single_queue (cpu: the target)' },
  'csd-entry': { tracepoint: 'csd:csd_function_entry', fields: ['func', 'csd'], extra: [], doc: 'a queued callback starts' },
  'csd-exit': { tracepoint: 'csd:csd_function_exit', fields: ['func', 'csd'], extra: [], doc: 'a queued callback returns' },
  'stop-machine-state': { tracepoint: 'smplab:multi_stop_state', fields: ['state', 'active'], extra: [], doc: 'a CPU acts on a new multi-stop state' },
  cpuhp: { tracepoint: 'smplab:cpu_notify', fields: ['action', 'target'], extra: [], doc: 'a hotplug notifier chain runs for target' },
  'cpuhp-enter': {
    tracepoint: 'cpuhp:cpuhp_enter', fields: ['cpu', 'target', 'idx', 'fun'], extra: [],
    doc: 'a cpuhp state callback starts (cpu: the CPU being plugged, `ap` in a condition; target: the state it is headed for; idx: the state whose callback runs; fun: the callback)',
  },
  'cpuhp-exit': {
    tracepoint: 'cpuhp:cpuhp_exit', fields: ['cpu', 'state', 'idx', 'ret'], extra: [],
    doc: 'a cpuhp state callback returns (cpu: the CPU being plugged, `ap` in a condition; state: the CPU\'s state now; idx: the state whose callback ran; ret: its return)',
  },
  'cpu-offline': { tracepoint: 'smplab:cpu_offline', fields: ['target'], extra: [], doc: 'target is cleared from cpu_online_mask' },
  'cpu-online': { tracepoint: 'smplab:cpu_online', fields: ['target'], extra: [], doc: 'target is set in cpu_online_mask' },
  'cpu-dead': { tracepoint: 'smplab:cpu_dead', fields: ['target'], extra: [], doc: 'target halted for good in play_dead' },
  warn: { tracepoint: 'smplab:warn', fields: ['message', 'once', 'function'], extra: [], doc: 'a WARN fired' },
  bug: { tracepoint: 'smplab:bug', fields: ['message', 'function'], extra: [], doc: 'a BUG fired; the machine stops' },
  'lost-work': { tracepoint: 'smplab:lost_work', fields: ['target', 'func', 'csd'], extra: [], doc: 'a callback was still queued when its CPU died' },
  printk: { tracepoint: 'printk:console', fields: ['message'], extra: ['level'], doc: 'a printk line' },
  'irqs-off': { tracepoint: 'preemptirq:irq_disable', fields: ['caller'], extra: [], doc: 'a CPU turns its interrupts off (local_irq_disable, interrupt entry)' },
  'irqs-on': { tracepoint: 'preemptirq:irq_enable', fields: ['caller'], extra: [], doc: 'a CPU turns its interrupts back on' },
  'irq-entry': { tracepoint: 'irq:irq_handler_entry', fields: ['irq', 'name'], extra: [], doc: 'a device interrupt handler starts' },
  'irq-exit': { tracepoint: 'irq:irq_handler_exit', fields: ['irq', 'ret'], extra: [], doc: 'a device interrupt handler returns' },
  'softirq-raise': { tracepoint: 'irq:softirq_raise', fields: ['vec'], extra: [], doc: 'a softirq is raised' },
  'softirq-entry': { tracepoint: 'irq:softirq_entry', fields: ['vec'], extra: [], doc: 'a softirq handler starts' },
  'softirq-exit': { tracepoint: 'irq:softirq_exit', fields: ['vec'], extra: [], doc: 'a softirq handler returns' },
  'sched-switch': {
    tracepoint: 'sched:sched_switch', fields: ['prev_comm', 'prev_pid', 'prev_prio', 'prev_state', 'next_comm', 'next_pid', 'next_prio'], extra: [],
    doc: 'a CPU switches tasks',
  },
  'task-exit': { tracepoint: 'sched:sched_process_exit', fields: ['comm', 'pid', 'prio'], extra: [], doc: 'a scenario task returned' },
  'request-complete': { tracepoint: 'block:block_rq_complete', fields: [], extra: ['rq'], doc: 'a block request completed (rq: the struct request)' },
} as const satisfies Record<string, { tracepoint: string; fields: readonly string[]; extra: readonly string[]; doc: string }>;

export type EventKind = keyof typeof EVENT_KINDS;

/** x86 traces its two call-function vectors with a tracepoint each: the mask vector's are these. */
const CALL_FUNCTION_VECTOR_TRACEPOINTS: { readonly [K in EventKind]?: string } = {
  'ipi-receive': 'irq_vectors:call_function_entry',
  'ipi-exit': 'irq_vectors:call_function_exit',
};

/** The tracepoint an event is: its kind's, but for an IPI on the call-function vector (252). */
export function tracepointOf(e: Pick<MachineEvent, 'kind' | 'fields'>): string {
  const mask = e.fields.vector === CALL_FUNCTION_VECTOR ? CALL_FUNCTION_VECTOR_TRACEPOINTS[e.kind] : undefined;
  return mask ?? EVENT_KINDS[e.kind].tracepoint;
}

export type FieldValue = number | string;

/**
 * What the event's CPU was doing when it happened, as a trace line shows it:
 * the current task, and the flags of ftrace's latency format.
 */
export interface EventContext {
  /** the current task's name (`swapper/1`, `migration/1`, ...) */
  comm: string;
  /** its pid; the idle tasks are pid 0, as in the kernel */
  pid: number;
  irqsOff: boolean;
  needResched: boolean;
  /** in a hardirq handler (the IPI or a device interrupt) */
  hardirq: boolean;
  /** in softirq processing (`__do_softirq`) */
  softirq: boolean;
  /** preempt_count's preemption depth (its low byte) */
  preemptDepth: number;
}

export interface MachineEvent {
  /** steps taken before this event */
  step: number;
  cpu: number;
  kind: EventKind;
  fields: Record<string, FieldValue>;
  context: EventContext;
  /** where in the model it happened, when a line caused it */
  at?: SourceRange;
  /** the model function that was running */
  func?: string;
}

export function isEventKind(s: string): s is EventKind {
  return Object.prototype.hasOwnProperty.call(EVENT_KINDS, s);
}

/**
 * Field names that conditions (scenario `where`, event breakpoints,
 * expectations) accept besides the event's own: the names fields had before
 * they took their tracepoint's name. The tracepoints' `cpu` (the target of an
 * IPI or csd) is `target` in a condition, because `cpu` in a condition is
 * always the CPU the event happened on; cpuhp's `cpu` (the CPU being
 * plugged) is `ap`, since cpuhp_enter has a `target` of its own.
 */
export const FIELD_ALIASES: { readonly [K in EventKind]?: Readonly<Record<string, string>> } = {
  'ipi-send': { target: 'cpu' },
  'csd-queue': { target: 'cpu' },
  'cpuhp-enter': { ap: 'cpu' },
  'cpuhp-exit': { ap: 'cpu' },
  'sched-switch': { prev: 'prev_comm', next: 'next_comm' },
  'task-exit': { task: 'comm' },
};

/** The names a condition over `kind` may use: `cpu`, its fields (but the tracepoint's own `cpu`), its extra fields, their aliases. */
export function conditionNames(kind: EventKind): string[] {
  const meta = EVENT_KINDS[kind];
  const own = [...meta.fields, ...meta.extra].filter((f) => f !== 'cpu');
  return ['cpu', ...own, ...Object.keys(FIELD_ALIASES[kind] ?? {})];
}

/** The value a condition sees for `name` in event e (undefined when the event has no such field). */
export function conditionValue(e: MachineEvent, name: string): FieldValue | undefined {
  if (name === 'cpu') return e.cpu;
  return e.fields[FIELD_ALIASES[e.kind]?.[name] ?? name];
}
