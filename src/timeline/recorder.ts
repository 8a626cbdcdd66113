import { MachineEvent } from '../machine/events.js';
import { CALL_FUNCTION_VECTOR, R_IRQS_ON } from '../machine/layout.js';
import { Machine, shortFile } from '../machine/machine.js';
import { SOFTIRQ_NAMES, fieldText } from '../machine/trace.js';
import { ChangeSeries } from './series.js';
import { StringTable } from './strings.js';

/** The layers of one CPU's lane. */
export const LAYERS = ['run', 'irqsOff', 'hotplug', 'stopMachine'] as const;
export type Layer = (typeof LAYERS)[number];

/** From an event on one CPU to where it took effect on another: an IPI to its handler, a csd to its callback. */
export interface Arrow {
  kind: 'ipi' | 'csd';
  fromCpu: number;
  fromStep: number;
  toCpu: number;
  /** the step it landed (or was lost); undefined while still on its way */
  toStep?: number;
  lost: boolean;
  /** the callback (csd) or call site (IPI) */
  label: string;
  /** the event that sent it (its fields are read when an answer shows them) */
  event: MachineEvent;
}

/** Something that went wrong, drawn to stand out. */
export interface Marker {
  kind: 'warn' | 'bug' | 'lost-work' | 'ipi-dropped';
  cpu: number;
  step: number;
  label: string;
  event: MachineEvent;
}

/** One number for an arrow's kind and its two CPUs. */
export function pairKey(a: Pick<Arrow, 'kind' | 'fromCpu' | 'toCpu'>, nrCpus: number): number {
  return ((a.kind === 'csd' ? nrCpus : 0) + a.fromCpu) * nrCpus + a.toCpu;
}

/** What the recorder follows for one CPU between events. */
interface CpuState {
  task: string;
  /** interrupt contexts over the task, innermost last */
  contexts: string[];
  /** in stop-machine until its stopper switches away after MULTI_STOP_EXIT */
  stopExiting: boolean;
  ipisOnTheirWay: number[];
}

/**
 * Turns a run's event stream into what the timeline draws: per CPU, layers
 * of spans (what runs, interrupts off, hotplug state, stop-machine state),
 * plus arrows and markers. Listens to the machine's events only; nothing is
 * looked at per step.
 *
 * The debugger goes back and forth in time and replays steps it has seen:
 * events of steps already recorded are ignored, and `forgetAfter` drops a
 * future that a new decision replaced.
 */
/** A string table whose number 0 is the empty string. */
function tableWithEmpty(): StringTable {
  const t = new StringTable();
  t.of('');
  return t;
}

export class TimelineRecorder {
  readonly nrCpus: number;
  /** span labels by number; 0 is the empty label */
  private readonly labelTable = tableWithEmpty();
  readonly labels: string[] = this.labelTable.strings;
  private layers: Record<Layer, ChangeSeries>[] = [];
  arrows: Arrow[] = [];
  /** the arrows between each pair of CPUs of one kind, in step order (see pairKey): a coarse view takes one per pixel */
  arrowsByPair = new Map<number, number[]>();
  markers: Marker[] = [];
  /** the longest an arrow stayed in flight: how far back a range query looks for arrows ending in it */
  longestArrow = 0;
  private cpus: CpuState[] = [];
  private csdsOnTheirWay = new Map<string, number>();
  private events: MachineEvent[] = [];
  private readonly start: { task: string; online: boolean; dead: boolean; irqsOn: boolean }[];
  /** every step up to this one is recorded */
  private complete: number;
  private lastStep: number;
  readonly listener = (e: MachineEvent) => this.record(e);

  constructor(private readonly m: Machine) {
    this.nrCpus = m.nrCpus;
    this.complete = this.lastStep = m.steps;
    this.start = Array.from({ length: m.nrCpus }, (_, c) => ({
      task: m.taskName(m.currentTask(c)),
      online: m.isOnline(c),
      dead: m.isDead(c),
      irqsOn: m.regValue(c, R_IRQS_ON) !== 0,
    }));
    this.reset();
  }

  /** The last step the recording reaches. */
  get end(): number {
    return Math.max(this.complete, this.lastStep);
  }

  /** The events recorded, in the order they happened. */
  recordedEvents(): readonly MachineEvent[] {
    return this.events;
  }

  /** Arrows that have not landed yet, oldest first. */
  arrowsOnTheirWay(): number[] {
    const open = [...this.csdsOnTheirWay.values()];
    for (const cpu of this.cpus) open.push(...cpu.ipisOnTheirWay);
    return open.sort((a, b) => a - b);
  }

  layer(cpu: number, layer: Layer): ChangeSeries {
    return this.layers[cpu][layer];
  }

  /** The machine has taken every step up to `step`: events of those steps seen again later are replays. */
  settle(step: number): void {
    if (step > this.complete) this.complete = step;
    if (step > this.lastStep) this.lastStep = step;
  }

  /** A new decision at `step` replaced what came after it: drop it, to be recorded again as it now happens. */
  forgetAfter(step: number): void {
    if (step >= this.end) return;
    const kept = this.events.filter((e) => e.step <= step);
    this.reset();
    for (const e of kept) this.apply(e);
    this.events = kept;
    this.complete = this.lastStep = step;
  }

  private record(e: MachineEvent): void {
    if (e.step <= this.complete) return;
    if (e.step > this.lastStep) {
      this.complete = e.step - 1;
      this.lastStep = e.step;
    }
    this.events.push(e);
    this.apply(e);
  }

  private reset(): void {
    this.layers = [];
    this.cpus = [];
    this.arrows = [];
    this.arrowsByPair = new Map();
    this.markers = [];
    this.longestArrow = 0;
    this.csdsOnTheirWay.clear();
    for (let c = 0; c < this.nrCpus; c++) {
      const s = this.start[c];
      const layers = { run: new ChangeSeries(), irqsOff: new ChangeSeries(), hotplug: new ChangeSeries(), stopMachine: new ChangeSeries() };
      layers.run.set(0, s.dead ? 0 : this.label(s.task));
      layers.irqsOff.set(0, s.irqsOn ? 0 : this.label('irqs off'));
      layers.hotplug.set(0, this.label(s.dead ? 'dead' : s.online ? 'online' : 'offline'));
      this.layers.push(layers);
      this.cpus.push({ task: s.task, contexts: [], stopExiting: false, ipisOnTheirWay: [] });
    }
  }

  private label(text: string): number {
    return this.labelTable.of(text);
  }

  private apply(e: MachineEvent): void {
    const c = e.cpu;
    const cpu = this.cpus[c];
    const f = e.fields;
    switch (e.kind) {
      case 'sched-switch':
        cpu.task = String(f.next_comm);
        this.showRunning(c, e.step);
        if (cpu.stopExiting) {
          cpu.stopExiting = false;
          this.layers[c].stopMachine.set(e.step, 0);
        }
        return;
      case 'irq-entry':
        return this.enterContext(c, e.step, `[hardirq] ${f.name}`);
      case 'ipi-receive': {
        // x86's two vectors: a mask send arrives on call_function, a single call on call_function_single
        const mask = f.vector === CALL_FUNCTION_VECTOR ? 1 : 0;
        this.enterContext(c, e.step, mask ? '[hardirq] call_function' : '[hardirq] call_function_single');
        const onThisVector = (a: number) => this.arrows[a].event.fields.mask === mask;
        for (const a of cpu.ipisOnTheirWay.filter(onThisVector)) this.land(a, e.step, false);
        cpu.ipisOnTheirWay = cpu.ipisOnTheirWay.filter((a) => !onThisVector(a));
        return;
      }
      case 'softirq-entry':
        return this.enterContext(c, e.step, `[softirq] ${SOFTIRQ_NAMES[Number(f.vec)] ?? f.vec}`);
      case 'irq-exit':
      case 'ipi-exit':
      case 'softirq-exit':
        cpu.contexts.pop();
        return this.showRunning(c, e.step);
      case 'irqs-off':
        return this.layers[c].irqsOff.set(e.step, this.label('irqs off'));
      case 'irqs-on':
        return this.layers[c].irqsOff.set(e.step, 0);
      case 'cpu-online':
      case 'cpu-offline':
        return this.layers[Number(f.target)].hotplug.set(e.step, this.label(e.kind === 'cpu-online' ? 'online' : 'offline'));
      case 'cpu-dead': {
        const t = Number(f.target);
        this.layers[t].hotplug.set(e.step, this.label('dead'));
        this.layers[t].run.set(e.step, 0);
        this.layers[t].stopMachine.set(e.step, 0);
        return;
      }
      case 'stop-machine-state': {
        const state = fieldText(this.m, e.kind, 'state', f.state);
        this.layers[c].stopMachine.set(e.step, this.label(state));
        cpu.stopExiting = state === 'MULTI_STOP_EXIT';
        return;
      }
      case 'ipi-send': {
        const target = Number(f.cpu);
        this.cpus[target].ipisOnTheirWay.push(this.addArrow({ kind: 'ipi', fromCpu: c, fromStep: e.step, toCpu: target, lost: false, label: String(f.callsite || 'IPI'), event: e }));
        return;
      }
      case 'ipi-dropped': {
        const target = this.cpus[Number(f.target)];
        for (const a of target.ipisOnTheirWay) this.land(a, e.step, true);
        target.ipisOnTheirWay = [];
        return this.mark(e, 'ipi-dropped', `IPI to CPU${f.target} lost`);
      }
      case 'csd-queue': {
        const func = fieldText(this.m, e.kind, 'func', f.func);
        const target = Number(f.cpu);
        this.csdsOnTheirWay.set(`${target}:${f.csd}`, this.addArrow({ kind: 'csd', fromCpu: c, fromStep: e.step, toCpu: target, lost: false, label: func, event: e }));
        return;
      }
      case 'csd-entry':
        return this.landCsd(`${c}:${f.csd}`, e.step, false);
      case 'lost-work':
        this.landCsd(`${f.target}:${f.csd}`, e.step, true);
        return this.mark(e, 'lost-work', `lost ${fieldText(this.m, e.kind, 'func', f.func)}`);
      case 'warn':
        return this.mark(e, 'warn', `WARN: ${f.message || f.function}`);
      case 'bug':
        return this.mark(e, 'bug', String(f.message));
    }
  }

  /** What the CPU runs now: its innermost interrupt context, else its task. */
  private showRunning(c: number, step: number): void {
    const cpu = this.cpus[c];
    this.layers[c].run.set(step, this.label(cpu.contexts[cpu.contexts.length - 1] ?? cpu.task));
  }

  private enterContext(c: number, step: number, name: string): void {
    this.cpus[c].contexts.push(name);
    this.showRunning(c, step);
  }

  private addArrow(a: Arrow): number {
    const i = this.arrows.length;
    this.arrows.push(a);
    const key = pairKey(a, this.nrCpus);
    const list = this.arrowsByPair.get(key);
    if (list) list.push(i);
    else this.arrowsByPair.set(key, [i]);
    return i;
  }

  private land(arrow: number, step: number, lost: boolean): void {
    const a = this.arrows[arrow];
    a.toStep = step;
    a.lost = lost;
    this.longestArrow = Math.max(this.longestArrow, step - a.fromStep);
  }

  private landCsd(key: string, step: number, lost: boolean): void {
    const arrow = this.csdsOnTheirWay.get(key);
    if (arrow === undefined) return;
    this.csdsOnTheirWay.delete(key);
    this.land(arrow, step, lost);
  }

  private mark(e: MachineEvent, kind: Marker['kind'], label: string): void {
    this.markers.push({ kind, cpu: kind === 'lost-work' || kind === 'ipi-dropped' ? Number(e.fields.target) : e.cpu, step: e.step, label, event: e });
  }

  /** The event's fields as a person reads them, with where it happened. */
  fieldsOf(e: MachineEvent): Record<string, string> {
    const out: Record<string, string> = { event: e.kind };
    for (const [k, v] of Object.entries(e.fields)) out[k] = fieldText(this.m, e.kind, k, v);
    if (e.func) out.function = e.func;
    if (e.at) out.at = `${shortFile(e.at.file)}:${e.at.start.line}`;
    return out;
  }
}
