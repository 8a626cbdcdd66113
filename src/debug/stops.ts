import { DebugProtocol } from '@vscode/debugprotocol';
import { SourceRange } from '../kc/diagnostics.js';
import { EVENT_KINDS, MachineEvent } from '../machine/events.js';
import { PRIO_IDLE, T_PID, T_PRIO } from '../machine/layout.js';
import { Machine, shortFile } from '../machine/machine.js';
import { fieldText } from '../machine/trace.js';
import { Debuggee } from './debuggee.js';

/**
 * Why the machine stopped. `description` is the short badge VS Code draws on
 * the CPU's row (`entry`, `WARN`, `CPU_DYING`, `step`, ...), so the CPU's
 * name stays readable; `text` holds the details, shown on hover, in the
 * exception widget and in the Debug Console.
 */
export interface Stop {
  reason: 'entry' | 'step' | 'breakpoint' | 'function breakpoint' | 'data breakpoint' | 'exception' | 'pause' | 'goto';
  threadId: number;
  description: string;
  text?: string;
  hitBreakpointIds?: number[];
  /** the event it stopped on */
  event?: MachineEvent;
  /** a kernel-style report of the event (a WARNING with its Call Trace) */
  report?: ReportLine[];
  /** the text is news the Debug Console should show too (not a plain step or breakpoint) */
  tell?: boolean;
}

/** A line of a kernel-style report, with the source line it names when there is one. */
export interface ReportLine {
  text: string;
  at?: SourceRange;
}

/** Where a followed counterexample breaks its expectation (one the event filters did not already stop on). */
export function expectationStop(f: { expectation: string; detail: string; cpu?: number }, cpu: number): Stop {
  return { reason: 'exception', threadId: (f.cpu ?? cpu) + 1, description: 'counterexample', text: `${f.expectation}: ${f.detail}`, tell: true };
}

/** Events that are harm done, shown in the exception widget; the others are places to look, like breakpoints. */
const HARM = new Set(['warn', 'bug', 'lost-work']);

/** The stop on an event an event breakpoint (exception filter) caught. */
export function eventStop(d: Debuggee, e: MachineEvent): Stop {
  const stop: Stop = { reason: HARM.has(e.kind) ? 'exception' : 'breakpoint', threadId: e.cpu + 1, description: eventBadge(d.m, e), text: describeEvent(d.m, e), event: e };
  // a WARN's report is in the Debug Console already; other harm is said there when stopping on it
  if (e.kind === 'warn') stop.report = warningReport(d, e);
  else stop.tell = HARM.has(e.kind);
  return stop;
}

/** An event in a word or two: the hotplug action, the stop-machine state, `IPI → CPU1` ... */
function eventBadge(m: Machine, e: MachineEvent): string {
  const field = (name: string) => fieldText(m, e.kind, name, e.fields[name] ?? 0);
  switch (e.kind) {
    case 'warn': return 'WARN';
    case 'bug': return 'BUG';
    case 'lost-work': return 'lost work';
    case 'cpuhp': return field('action');
    case 'stop-machine-state': return field('state').replace(/^MULTI_STOP_/, '');
    case 'ipi-send': return `IPI → CPU${e.fields.target}`;
    case 'ipi-receive': return 'IPI';
    case 'csd-queue': return `csd → CPU${e.fields.target}`;
    case 'cpu-offline': return 'offline';
    default: return e.kind;
  }
}

/** An event as one line: `cpuhp:cpu_notify on CPU1: action=CPU_DYING target=1`. */
export function describeEvent(m: Machine, e: MachineEvent): string {
  if (e.kind === 'warn') return `WARNING on CPU${e.cpu} in ${e.fields.function}(): ${e.fields.message || 'WARN_ON'}`;
  const fields = Object.entries(e.fields).map(([k, v]) => `${k}=${fieldText(m, e.kind, k, v)}`).join(' ');
  return `${EVENT_KINDS[e.kind].tracepoint} on CPU${e.cpu}: ${fields}`;
}

/**
 * A WARN as the kernel prints it: where it fired, the message, the task, and
 * the CPU's frames innermost first, interrupt frames between <IRQ> and <EOI>.
 * Made while the WARN runs, so the top frame is on the WARN line.
 */
export function warningReport(d: Debuggee, e: MachineEvent): ReportLine[] {
  const m = d.m;
  const task = m.currentTask(e.cpu);
  const pid = m.mem[task + T_PRIO] === PRIO_IDLE ? 0 : m.mem[task + T_PID];
  const frames = m.frames(e.cpu);
  const offset = (f: (typeof frames)[number]) => `${f.fn.name}+0x${f.pc.toString(16)}/0x${f.fn.code.length.toString(16)}`;
  const where = e.at ? `${shortFile(e.at.file)}:${e.at.start.line}` : '?';
  const lines: ReportLine[] = [
    { text: '------------[ cut here ]------------' },
    { text: `WARNING: CPU: ${e.cpu} PID: ${pid} at ${where} ${frames[0] ? offset(frames[0]) : e.fields.function}()`, at: e.at },
  ];
  if (e.fields.message) lines.push({ text: String(e.fields.message) });
  lines.push({ text: `CPU: ${e.cpu} PID: ${pid} Comm: ${m.taskName(task)} (step ${e.step})` }, { text: 'Call Trace:' });
  const inIrq = frames.findIndex((f) => f.kind === 'hardirq' || f.kind === 'softirq');
  if (inIrq >= 0) lines.push({ text: ' <IRQ>' });
  frames.forEach((f, i) => {
    const range = i === 0 && e.at ? e.at : f.instr?.range;
    lines.push({ text: ` ${offset(f)}${range ? `  ${shortFile(range.file)}:${range.start.line}` : ''}`, at: range });
    if (i === inIrq) lines.push({ text: ' <EOI>' });
  });
  lines.push({ text: '---[ end trace ]---' });
  return lines;
}

/**
 * What the exception widget shows for a stop on harm done: the message, the
 * callbacks that were queued, and the report. All of it is the description,
 * shown as plain text; a stackTrace would be scanned for file links, and a
 * kernel report's `+0x4/0x11` and `migration/1` are not files.
 */
export function exceptionInfo(d: Debuggee, stop: Stop): DebugProtocol.ExceptionInfoResponse['body'] {
  const e = stop.event;
  const lines = [e?.kind === 'warn' ? String(e.fields.message || 'WARN_ON') : stop.text ?? stop.description];
  if (e?.kind === 'warn') {
    const queued = d.queuedAtIpi.get(e.cpu) ?? [];
    lines.push(...queued.map((f) => `IPI callback ${f} was queued for CPU${e.cpu} while it was offline`));
  }
  if (stop.report) lines.push('', ...stop.report.map((l) => l.text));
  const description = lines.join('\n');
  return {
    exceptionId: stop.description,
    description,
    breakMode: 'always',
    details: { message: description, typeName: e ? EVENT_KINDS[e.kind].tracepoint : stop.description },
  };
}

// ---- the other stops

export function entryStop(d: Debuggee): Stop {
  const task = d.prepared.scenario.tasks[0];
  const line = task ? d.prepared.scenario.text.split(/\r?\n/)[task.range.start.line - 1]?.replace(/#.*$/, '').trim() : undefined;
  return {
    reason: 'entry', threadId: (task?.cpu ?? 0) + 1, description: 'entry',
    text: line ? `Stopped before the first step; CPU${task!.cpu} starts with: ${line}` : 'Stopped before the first step',
  };
}

export function breakpointStop(threadId: number, ids: number[], kind: 'breakpoint' | 'function breakpoint', text?: string): Stop {
  return { reason: kind, threadId, description: 'breakpoint', hitBreakpointIds: ids, text };
}

export function dataBreakpointStop(threadId: number, ids: number[], what: string): Stop {
  return { reason: 'data breakpoint', threadId, description: 'breakpoint', hitBreakpointIds: ids, text: what };
}

export function faultStop(cpu: number, message: string): Stop {
  return { reason: 'exception', threadId: cpu + 1, description: 'fault', text: `Fault on CPU${cpu}: ${message}`, tell: true };
}

export function stepStop(threadId: number, text?: string): Stop {
  return { reason: 'step', threadId, description: 'step', text };
}

export function waitsStop(m: Machine, cpu: number): Stop {
  return {
    reason: 'step', threadId: cpu + 1, description: 'waits',
    text: `CPU${cpu} cannot get further on its own: it is ${m.describeCpu(cpu)}. Continue, or step the CPUs it waits for.`, tell: true,
  };
}

export function deadStop(cpu: number): Stop {
  return { reason: 'step', threadId: cpu + 1, description: 'dead', text: `CPU${cpu} is dead: it takes no more steps`, tell: true };
}

export function pauseStop(m: Machine, text = `Paused at step ${m.steps}`): Stop {
  return { reason: 'pause', threadId: m.cpu + 1, description: 'pause', text };
}

export function budgetStop(m: Machine, budget: number): Stop {
  return { reason: 'pause', threadId: m.cpu + 1, description: 'step budget', text: `Step budget of ${budget} steps used up: ${m.describeCpus()}`, tell: true };
}

/** The run is over: everything finished, or nothing can step any more. */
export function endStop(m: Machine): Stop {
  const end = m.endReason();
  const badge = end.kind === 'done' ? 'end of run' : end.kind === 'frozen' ? 'all frozen' : 'deadlock';
  const text = end.kind === 'done' ? `The run has ended after ${m.steps} steps (step back to travel in time)` : `The run cannot go on: ${end.message}`;
  return { reason: 'pause', threadId: m.cpu + 1, description: badge, text };
}

/** The adapter itself failed while running the machine; the session stays usable. */
export function failureStop(m: Machine, what: string): Stop {
  return { reason: 'exception', threadId: m.cpu + 1, description: 'error', text: `SMP Lab could not go on: ${what}`, tell: true };
}
