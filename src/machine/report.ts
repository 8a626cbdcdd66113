import { SourceRange } from '../kc/diagnostics.js';
import { MachineEvent } from './events.js';
import { symbolOffset } from './format.js';
import { FrameInfo, Machine, shortFile } from './machine.js';

/**
 * WARN and BUG reports as the kernel prints them (warn_slowpath_common and
 * die() in 3.15): the cut-here line, where it fired, the message, the task,
 * the CPU's Call Trace and the end-trace line. The CLI and the debugger's
 * Debug Console print the same lines.
 */

/** A line of a kernel report, with the model line it names when there is one (the debugger links it). */
export interface ReportLine {
  text: string;
  at?: SourceRange;
}

/** The kernel file each model file transcribes; a model file not listed is named by its own path. */
const KERNEL_FILES: Readonly<Record<string, string>> = {
  'smp.kc': 'kernel/smp.c',
  'stop_machine.kc': 'kernel/stop_machine.c',
  'cpu.kc': 'kernel/cpu.c',
  'softirq.kc': 'kernel/softirq.c',
  'smpboot.kc': 'kernel/smpboot.c',
  'notifier.kc': 'kernel/notifier.c',
  'idle.kc': 'kernel/sched/idle.c',
  'blk-softirq.kc': 'block/blk-softirq.c',
  'blk-mq.kc': 'block/blk-mq.c',
  'sched.kc': 'kernel/sched/core.c',
};

/** A model line named as the kernel names its source line: `kernel/smp.c:210` (the line is the model's). */
export function kernelSourceLine(at: SourceRange): string {
  const base = at.file.split(/[\\/]/).pop() ?? at.file;
  return `${KERNEL_FILES[base] ?? shortFile(at.file)}:${at.start.line}`;
}

/**
 * The report for a warn or bug event. Made while the event is emitted, so
 * the CPU's frames are the ones that fired it, the top one on its line.
 */
export function kernelReport(m: Machine, e: MachineEvent): ReportLine[] {
  const frames = m.frames(e.cpu);
  const where = e.at ? kernelSourceLine(e.at) : '?';
  const lines: ReportLine[] = [{ text: '------------[ cut here ]------------' }];
  if (e.kind === 'bug') {
    lines.push({ text: `kernel BUG at ${where}!`, at: e.at }, { text: 'invalid opcode: 0000 [#1] SMP' });
  } else {
    const site = frames[0] ? frameSymbol(frames[0]) : String(e.fields.function);
    lines.push({ text: `WARNING: CPU: ${e.cpu} PID: ${e.context.pid} at ${where} ${site}()`, at: e.at });
    if (e.fields.message) lines.push({ text: String(e.fields.message) });
  }
  lines.push({ text: 'Modules linked in:' }, { text: `CPU: ${e.cpu} PID: ${e.context.pid} Comm: ${e.context.comm}` });
  lines.push({ text: 'Call Trace:' }, ...callTrace(frames, e.at));
  // one boot, one trace id: the kernel numbers a boot's reports alike
  lines.push({ text: '---[ end trace 0000000000000001 ]---' });
  return lines;
}

/**
 * The CPU's frames innermost first, as a Call Trace: interrupt frames
 * (hardirq, and softirq run on irq exit) between <IRQ> and <EOI>, each
 * with its model line the way scripts/decode_stacktrace.sh adds it.
 */
function callTrace(frames: readonly FrameInfo[], top?: SourceRange): ReportLine[] {
  const lastIrq = frames.map((f) => f.kind === 'hardirq' || f.kind === 'softirq').lastIndexOf(true);
  const out: ReportLine[] = [];
  if (lastIrq >= 0) out.push({ text: ' <IRQ>' });
  frames.forEach((f, i) => {
    const at = i === 0 && top ? top : f.instr?.range;
    out.push({ text: ` ${frameSymbol(f)}${at ? ` ${kernelSourceLine(at)}` : ''}`, at });
    if (i === lastIrq) out.push({ text: ' <EOI>' });
  });
  return out;
}

function frameSymbol(f: FrameInfo): string {
  return symbolOffset(f.fn.name, f.pc, f.fn.code.length);
}
