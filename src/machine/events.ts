import { SourceRange } from '../kc/diagnostics.js';

/**
 * Every interesting thing the machine does. The short kind is what breakpoints,
 * expectations and the CLI name it by; the tracepoint is the real kernel's name
 * where one exists.
 */
export const EVENT_KINDS = {
  'ipi-send': { tracepoint: 'ipi:ipi_send_cpu', fields: ['target', 'latency', 'callsite'], doc: 'a call-function IPI is sent to target (latency: steps in flight)' },
  'ipi-receive': { tracepoint: 'ipi:ipi_entry', fields: ['online', 'queued'], doc: 'a CPU enters the call-function IPI handler; queued = entries on its call_single_queue' },
  'ipi-dropped': { tracepoint: 'ipi:ipi_dropped', fields: ['target'], doc: 'an IPI reached a dead CPU and was lost' },
  'csd-queue': { tracepoint: 'csd:csd_queue_cpu', fields: ['target', 'func', 'csd'], doc: 'a csd is queued on target\'s call_single_queue' },
  'csd-entry': { tracepoint: 'csd:csd_function_entry', fields: ['func', 'csd'], doc: 'a queued callback starts' },
  'csd-exit': { tracepoint: 'csd:csd_function_exit', fields: ['func', 'csd'], doc: 'a queued callback returns' },
  'stop-machine-state': { tracepoint: 'stop_machine:multi_stop_state', fields: ['state', 'active'], doc: 'a CPU acts on a new multi-stop state' },
  cpuhp: { tracepoint: 'cpuhp:cpu_notify', fields: ['action', 'target'], doc: 'a hotplug notifier chain runs for target' },
  'cpu-offline': { tracepoint: 'cpu:cpu_offline', fields: ['target'], doc: 'target is cleared from cpu_online_mask' },
  'cpu-online': { tracepoint: 'cpu:cpu_online', fields: ['target'], doc: 'target is set in cpu_online_mask' },
  'cpu-dead': { tracepoint: 'cpu:cpu_dead', fields: ['target'], doc: 'target halted for good in play_dead' },
  warn: { tracepoint: 'warn', fields: ['message', 'once'], doc: 'a WARN fired' },
  bug: { tracepoint: 'bug', fields: ['message'], doc: 'a BUG fired; the machine stops' },
  'lost-work': { tracepoint: 'lost_work', fields: ['target', 'func', 'csd'], doc: 'a callback was still queued when its CPU died' },
  printk: { tracepoint: 'printk', fields: ['message', 'level'], doc: 'a printk line' },
  'irq-entry': { tracepoint: 'irq:irq_handler_entry', fields: ['irq', 'name'], doc: 'a device interrupt handler starts' },
  'irq-exit': { tracepoint: 'irq:irq_handler_exit', fields: ['irq', 'name'], doc: 'a device interrupt handler returns' },
  'softirq-raise': { tracepoint: 'irq:softirq_raise', fields: ['vec'], doc: 'a softirq is raised' },
  'softirq-entry': { tracepoint: 'irq:softirq_entry', fields: ['vec'], doc: 'a softirq handler starts' },
  'softirq-exit': { tracepoint: 'irq:softirq_exit', fields: ['vec'], doc: 'a softirq handler returns' },
  'sched-switch': { tracepoint: 'sched:sched_switch', fields: ['prev', 'next'], doc: 'a CPU switches tasks' },
  'task-exit': { tracepoint: 'sched:sched_process_exit', fields: ['task'], doc: 'a scenario task returned' },
  'request-complete': { tracepoint: 'block:block_rq_complete', fields: ['rq'], doc: 'a block request completed' },
} as const;

export type EventKind = keyof typeof EVENT_KINDS;

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
