import { MachineEvent } from '../machine/events.js';
import { Breakpoints } from './breakpoints.js';
import { Debuggee } from './debuggee.js';
import { describeEvent } from './stops.js';

/** Why the machine stopped, as the StoppedEvent tells it. */
export interface Stop {
  reason: string;
  threadId: number;
  description?: string;
  text?: string;
  hitBreakpointIds?: number[];
  event?: MachineEvent;
}

/** What run control tells the client. */
export interface RunListener {
  stopped(stop: Stop): void;
  output(text: string, category: 'console' | 'stdout' | 'stderr'): void;
  /** a CPU runs: clients clear what they showed for the last stop (an exception widget, say) */
  continued(threadId: number): void;
}

const STEP_LIMIT = 20000;
const CHUNK = 20000;

/**
 * Moving the machine: continue (all unfrozen CPUs, or one), stepping one CPU,
 * and travelling back in the history; each ends in one stop.
 */
export class RunControl {
  private d?: Debuggee;
  private pending?: Stop;
  lastStop?: Stop;
  private running = false;
  private pauseRequested = false;

  constructor(private readonly breakpoints: Breakpoints, private readonly listener: RunListener) {}

  /** A new launch or restart: run this debuggee from now on. */
  attach(d: Debuggee): void {
    this.pauseRequested = true;
    this.d = d;
    const m = d.m;
    m.onEvent((e) => this.onMachineEvent(e));
    m.onWatchedWrite = (addr, old, value) => {
      if (d.timeline.replaying) return;
      const hit = this.breakpoints.dataHit(addr, old, value);
      if (hit) this.pending ??= { reason: 'data breakpoint', threadId: m.cpu + 1, hitBreakpointIds: hit.ids, description: hit.what };
    };
  }

  private onMachineEvent(e: MachineEvent): void {
    if (this.d!.timeline.replaying) return;
    const f = this.breakpoints.eventHit(e);
    if (f) this.pending ??= { reason: 'exception', threadId: e.cpu + 1, description: describeEvent(this.d!.m, e), text: f.label, event: e };
  }

  /** Stops a continue at its next chunk boundary; stops at once when nothing runs. */
  pause(): void {
    this.pauseRequested = true;
    if (!this.running) this.stopNow({ reason: 'pause', threadId: 1 });
  }

  /** Ends whatever runs, without a stop (terminate, disconnect). */
  halt(): void {
    this.pauseRequested = true;
  }

  stopNow(stop: Stop): void {
    this.lastStop = stop;
    this.listener.stopped(stop);
  }

  /** Runs the machine (all unfrozen CPUs, or one) until something stops it, yielding to the event loop between chunks. */
  async forward(onlyCpu?: number): Promise<void> {
    const d = this.d!;
    const t = d.timeline;
    const m = d.m;
    this.running = true;
    this.pauseRequested = false;
    this.pending = undefined;
    const budget = d.prepared.maxSteps;
    try {
      for (;;) {
        for (let i = 0; i < CHUNK; i++) {
          if (m.steps >= budget) return this.stopNow({ reason: 'pause', threadId: 1, description: `Step budget of ${budget} steps used up: ${m.describeCpus()}` });
          if (!t.forward(onlyCpu)) return this.stopAtEnd();
          const stop = this.checkStop(m.cpu);
          if (stop) return this.stopNow(stop);
        }
        await new Promise((r) => setImmediate(r));
        if (this.pauseRequested) return this.stopNow({ reason: 'pause', threadId: m.cpu + 1 });
      }
    } finally {
      this.running = false;
    }
  }

  private checkStop(c: number): Stop | undefined {
    const m = this.d!.m;
    if (m.stopReason?.kind === 'fault') {
      const r = m.stopReason;
      return { reason: 'exception', threadId: r.cpu + 1, description: `Fault on CPU${r.cpu}: ${r.message}`, text: r.message };
    }
    if (this.pending) {
      const p = this.pending;
      this.pending = undefined;
      return p;
    }
    const bps = this.breakpoints.anyCode ? this.breakpoints.hitAt(c) : undefined;
    if (bps) return { reason: 'breakpoint', threadId: c + 1, hitBreakpointIds: bps.map((b) => b.id) };
    return undefined;
  }

  private stopAtEnd(): void {
    const { m, tracker } = this.d!;
    const end = m.endReason();
    const verdicts = tracker.verdicts(m, end);
    const lines = verdicts.map((v) => `${v.ok ? 'PASS' : 'FAIL'}  ${v.text}  (${v.detail})`).join('\n');
    this.listener.output(`-- run ${end.kind === 'done' ? 'completed' : end.kind} after ${m.steps} steps\n${lines}\n`, verdicts.every((v) => v.ok) ? 'console' : 'stderr');
    const description = end.kind === 'done' ? 'The run has ended (step back to travel in time)' : `The run cannot go on: ${end.message}`;
    this.stopNow({ reason: 'pause', threadId: (m.cpu ?? 0) + 1, description });
  }

  /** Steps only CPU threadId-1; every other CPU holds still. */
  step(threadId: number, how: 'over' | 'in' | 'out'): void {
    const { m, timeline: t } = this.d!;
    const cpu = threadId - 1;
    this.listener.continued(threadId);
    this.pending = undefined;
    const start = m.frames(cpu);
    const depth0 = start.length;
    const fp0 = start[0]?.fp;
    const line0 = start[0]?.instr?.range.start.line;
    for (let i = 0; i < STEP_LIMIT; i++) {
      t.forward(cpu);
      const stop = this.checkStop(cpu);
      if (stop && stop.reason !== 'breakpoint') return this.stopNow(stop);
      const now = m.frames(cpu);
      const top = now[0];
      const line = top?.instr?.range.start.line;
      const done = how === 'in'
        ? now.length !== depth0 || top?.fp !== fp0 || line !== line0
        : how === 'over'
          ? now.length < depth0 || (now.length === depth0 && top?.fp === fp0 && line !== line0)
          : now.length < depth0;
      if (stop && (done || stop.reason === 'breakpoint')) return this.stopNow(stop);
      if (m.isBlocked(cpu) && !m.isDead(cpu)) {
        // it spins on a location only another CPU can change: going round the loop again gets nowhere
        const waits = m.describeCpu(cpu);
        this.listener.output(`CPU${cpu} cannot get further on its own: it is ${waits}. Continue, or step the CPUs it waits for.\n`, 'console');
        return this.stopNow({ reason: 'step', threadId, description: `CPU${cpu} waits` });
      }
      if (done || m.isDead(cpu)) return this.stopNow({ reason: 'step', threadId });
    }
    this.listener.output(`CPU${cpu} took ${STEP_LIMIT} steps without finishing the step; stopped.\n`, 'console');
    this.stopNow({ reason: 'step', threadId });
  }

  stepBack(threadId: number): void {
    const t = this.d!.timeline;
    const target = Math.max(0, t.step - 1);
    t.goTo(target);
    this.stopNow({ reason: 'step', threadId, description: `Back at step ${target}` });
  }

  /** Travels back to the last step where a line or function breakpoint held, or to the start. */
  reverseContinue(threadId: number): void {
    const { m, timeline: t } = this.d!;
    const now = t.step;
    const marks = [...new Set([...t.snapshotSteps(), 0])].filter((s) => s < now).sort((a, b) => b - a);
    let end = now;
    for (const from of marks) {
      const hits = new Map<number, { thread: number; ids: number[] }>();
      const hit = t.lastHitBetween(from, end, () => {
        const c = m.cpu;
        const bps = this.breakpoints.hitAt(c, true);
        if (bps && m.steps < now) hits.set(m.steps, { thread: c + 1, ids: bps.map((b) => b.id) });
        return !!bps && m.steps < now;
      });
      // the stop at `now` itself does not count: that is where we are
      if (hit !== undefined) {
        t.goTo(hit);
        const h = hits.get(hit)!;
        return this.stopNow({ reason: 'breakpoint', threadId: h.thread, hitBreakpointIds: h.ids, description: `Breakpoint hit at step ${hit} (going backwards)` });
      }
      end = from;
    }
    t.goTo(0);
    this.stopNow({ reason: 'entry', threadId, description: 'Reached the start of the run' });
  }
}
