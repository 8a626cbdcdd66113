import { Source, StackFrame } from '@vscode/debugadapter';
import { DebugProtocol } from '@vscode/debugprotocol';
import { LocalVar } from '../kc/program.js';
import { R_BLOCKED, R_IRQS_ON, T_FP } from '../machine/layout.js';
import { FrameInfo } from '../machine/machine.js';
import { Debuggee } from './debuggee.js';
import { Sources } from './sources.js';
import { Stop } from './stops.js';

/** Frame ids: CPU c's i-th frame (innermost 0) is c * FRAMES_PER_CPU + i + 1. */
const FRAMES_PER_CPU = 10000;

/** A CPU's thread name: its number and state, `CPU1 · offline · irqs off · MULTI_STOP_RUN`. */
export function threadName(d: Debuggee, c: number): string {
  const m = d.m;
  const parts = [`CPU${c}`, m.isDead(c) ? 'dead' : m.isOnline(c) ? 'online' : 'offline', `irqs ${m.regValue(c, R_IRQS_ON) ? 'on' : 'off'}`];
  const stop = m.frames(c).find((f) => f.fn.name === 'multi_cpu_stop');
  const cur = stop?.fn.locals.find((l) => l.name === 'curstate');
  if (stop && cur) parts.push(d.view.scalar(m.mem[stop.fp + cur.offset], cur.type));
  else parts.push(m.taskName(m.currentTask(c)));
  if (m.frozen[c]) parts.push('frozen');
  else if (m.isBlocked(c) && !m.isDead(c)) parts.push(m.regValue(c, R_BLOCKED) === 2 ? 'idle' : 'waiting');
  return parts.join(' · ');
}

/**
 * The frames the debugger shows for CPU c, innermost first: its context
 * stack. Before the first step, a CPU with a scenario task shows that task
 * at its scenario line, where the CPU starts, rather than the idle loop it
 * leaves at its first step.
 */
export function cpuFrames(d: Debuggee, c: number): FrameInfo[] {
  const m = d.m;
  if (m.steps === 0) {
    const first = d.prepared.scenario.tasks.find((t) => t.cpu === c);
    const fn = first && d.prepared.lineFunctions.get(first.range.start.line);
    const task = fn && m.tasks(c).find((t) => m.taskName(t) === `scenario/${first.range.start.line}`);
    if (fn && task) return [{ fp: m.mem[task + T_FP], fn, pc: 0, kind: 'task', instr: fn.code[0] }];
  }
  return m.frames(c);
}

export function frameId(cpu: number, index: number): number {
  return cpu * FRAMES_PER_CPU + index + 1;
}

/** The CPU and frame a frame id names, if that frame exists now. */
export function frameOf(d: Debuggee | undefined, id: number): { cpu: number; frame: FrameInfo } | undefined {
  if (!d || !Number.isInteger(id) || id < 1) return undefined;
  const cpu = Math.floor((id - 1) / FRAMES_PER_CPU);
  if (cpu >= d.m.nrCpus) return undefined;
  const frame = cpuFrames(d, cpu)[(id - 1) % FRAMES_PER_CPU];
  return frame ? { cpu, frame } : undefined;
}

/**
 * `levels` frames (all when 0) of CPU cpu from `start`, innermost first, each
 * on its source line. At a stop on an event, the top frame of the CPU that
 * raised it is on the line that raised it (the WARN itself, say), not on the
 * statement after.
 */
export function stackFrames(d: Debuggee, sources: Sources, cpu: number, start: number, levels: number, stop?: Stop & { step: number }): { frames: DebugProtocol.StackFrame[]; total: number } {
  const frames = cpuFrames(d, cpu);
  const first = Math.min(start, frames.length);
  const shown = frames.slice(first, levels ? first + Math.min(levels, frames.length) : undefined);
  const e = stop?.event;
  const eventLine = e?.at && e.cpu === cpu && stop!.step === d.m.steps && frames[0]?.fn.name === e.func && frames[0].fn.file === e.at.file ? e.at : undefined;
  return {
    frames: shown.map((f, i) => {
      const range = first + i === 0 && eventLine ? eventLine : f.instr?.range;
      const sf = new StackFrame(frameId(cpu, first + i), frameName(d, f), range ? (sources.sourceFor(range.file) as Source) : undefined, range?.start.line ?? 0, range?.start.col ?? 0) as DebugProtocol.StackFrame;
      if (range) {
        sf.endLine = range.end.line;
        sf.endColumn = range.end.col;
      }
      return sf;
    }),
    total: frames.length,
  };
}

/** A frame's name: the function, marked when it is an interrupt; a scenario line's own text for a scenario task. */
export function frameName(d: Debuggee, f: FrameInfo): string {
  const name = f.fn.name;
  if (name.startsWith('__scenario_')) {
    const line = Number(name.split('_').pop());
    const text = d.prepared.scenario.text.split(/\r?\n/)[line - 1]?.replace(/#.*$/, '').trim();
    return text || name;
  }
  return f.kind === 'hardirq' ? `${name} [hardirq]` : f.kind === 'softirq' ? `${name} [softirq]` : name;
}

/** The local `name` as code at the frame's pc sees it: the innermost declaration in scope. */
export function visibleLocal(frame: Pick<FrameInfo, 'fn' | 'pc'>, name: string): LocalVar | undefined {
  const candidates = frame.fn.locals.filter((l) => l.name === name && (l.isParam || (frame.pc >= l.scope[0] && frame.pc <= l.scope[1])));
  return candidates[candidates.length - 1];
}
