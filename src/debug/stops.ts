import { DebugProtocol } from '@vscode/debugprotocol';
import { MachineEvent, tracepointOf } from '../machine/events.js';
import { Machine } from '../machine/machine.js';
import { ReportLine, kernelReport } from '../machine/report.js';
import { fieldText, tracepointText } from '../machine/trace.js';
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
  if (e.kind === 'warn') stop.report = kernelReport(d.m, e);
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
    case 'ipi-send': return `IPI → CPU${e.fields.cpu}`;
    case 'ipi-send-mask': return `IPI → ${e.fields.cpumask}`;
    case 'ipi-receive': return 'IPI';
    case 'csd-queue': return `csd → CPU${e.fields.cpu}`;
    case 'cpu-offline': return 'offline';
    default: return e.kind;
  }
}

/** An event as one line: `smplab:cpu_notify on CPU1: action=CPU_DYING target=1`. */
export function describeEvent(m: Machine, e: MachineEvent): string {
  if (e.kind === 'warn') return `WARNING on CPU${e.cpu} in ${e.fields.function}(): ${e.fields.message || 'WARN_ON'}`;
  return `${tracepointOf(e)} on CPU${e.cpu}: ${tracepointText(m, e)}`;
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
    details: { message: description, typeName: e ? tracepointOf(e) : stop.description },
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
