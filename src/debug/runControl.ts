import { MachineEvent } from '../machine/events.js';
import { Breakpoints } from './breakpoints.js';
import { DebugConsole } from './console.js';
import { Debuggee } from './debuggee.js';
import { cpuFrames } from './frames.js';
import { Pacer } from './pacer.js';
import {
  Stop, breakpointStop, budgetStop, dataBreakpointStop, deadStop, endStop, eventStop, expectationStop, failureStop, faultStop, pauseStop, stepStop, waitsStop,
} from './stops.js';

/** What run control tells the client besides the Debug Console lines. */
export interface RunListener {
  stopped(stop: Stop): void;
  /** a CPU runs: clients clear what they showed for the last stop (an exception widget, say) */
  continued(threadId: number, allThreads: boolean): void;
}

/** A step that has not finished after this many machine steps ends anyway. */
const STEP_LIMIT = 20000;

/** Work in progress: a continue, a step, a journey back. At most one at a time. */
interface Job {
  pace: Pacer;
  /** stopped by a pause request (a stop is reported), not by a restart or disconnect (nothing is) */
  paused: boolean;
}

/**
 * Moving the machine: continue (all unfrozen CPUs, or one), stepping one CPU,
 * and travelling back in the history. Each is a job that shares the event
 * loop (see Pacer) and ends in exactly one stop, unless it is halted.
 */
export class RunControl {
  private d?: Debuggee;
  private pending?: Stop;
  private job?: Job;
  /** the last stop reported, for exceptionInfo and the frames' view of it */
  lastStop?: Stop & { step: number };

  constructor(private readonly breakpoints: Breakpoints, private readonly console: DebugConsole, private readonly listener: RunListener) {}

  /** A new launch or restart: whatever ran before ends quietly, and this debuggee runs from now on. */
  attach(d: Debuggee): void {
    this.halt();
    this.d = d;
    this.pending = undefined;
    this.lastStop = undefined;
    const m = d.m;
    m.onEvent((e) => this.onMachineEvent(d, e));
    m.onWatchedWrite = (addr, old, value) => {
      if (d.timeline.replaying) return;
      const hit = this.breakpoints.dataHit(addr, old, value);
      if (hit) this.pending ??= dataBreakpointStop(m.cpu + 1, hit.ids, hit.what);
    };
  }

  private onMachineEvent(d: Debuggee, e: MachineEvent): void {
    if (d.timeline.replaying || this.pending) return;
    if (this.breakpoints.eventHit(e)) this.pending = eventStop(d, e);
  }

  /** True while a job runs: the machine is moving. */
  get busy(): boolean {
    return this.job !== undefined;
  }

  /** Stops the job in progress at its next turn, with a stop; with nothing running, stops at once. */
  pause(): void {
    if (this.job) {
      this.job.paused = true;
      this.job.pace.stop();
    } else if (this.d) this.stopNow(pauseStop(this.d.m));
  }

  /** Ends the job in progress without a stop (restart, terminate, disconnect). */
  halt(): void {
    this.job?.pace.stop();
    this.job = undefined;
  }

  /** Reports a stop where the machine is now. */
  stopNow(stop: Stop): void {
    if (stop.tell && stop.text) this.console.say(stop.text, stop.reason === 'exception' ? 'stderr' : 'console');
    this.console.flush();
    this.lastStop = { ...stop, step: this.d!.m.steps };
    this.listener.stopped(stop);
  }

  /** Runs `work` as the one job; reports the stop it ends in, unless it was halted. */
  private async runJob(work: (pace: Pacer) => Promise<Stop>): Promise<void> {
    const job: Job = { pace: new Pacer(), paused: false };
    this.job = job;
    this.pending = undefined;
    this.console.startRun();
    let stop: Stop;
    try {
      stop = await work(job.pace);
    } catch (e) {
      // a failure in the engine must not end the session: say it, and stay where the machine is
      stop = failureStop(this.d!.m, e instanceof Error ? e.message : String(e));
    }
    const halted = job.pace.isStopped && !job.paused;
    if (this.job === job) this.job = undefined;
    if (!halted) this.stopNow(stop);
  }

  /** Continue: all unfrozen CPUs (or only `onlyCpu`) run until something stops them. */
  forward(onlyCpu?: number): Promise<void> {
    const d = this.d!;
    this.listener.continued(onlyCpu === undefined ? 1 : onlyCpu + 1, onlyCpu === undefined);
    return this.runJob(async (pace) => {
      const { m, timeline: t } = d;
      const budget = d.prepared.maxSteps;
      for (;;) {
        if (m.steps >= budget) return budgetStop(m, budget);
        if (!t.forward(onlyCpu)) return this.checkStop(m.cpu) ?? this.endOfRun(d);
        const stop = this.checkStop(m.cpu);
        if (stop) return stop;
        if (onlyCpu !== undefined) {
          // one CPU alone that waits for another, or has died, gets nowhere
          if (m.isDead(onlyCpu)) return deadStop(onlyCpu);
          if (m.isBlocked(onlyCpu)) return waitsStop(m, onlyCpu);
        }
        if (pace.due()) {
          this.console.flush();
          if (!(await pace.turn())) return pauseStop(m);
        }
      }
    });
  }

  /** Nothing can step any more: the expectations' verdicts go to the Debug Console. */
  private endOfRun(d: Debuggee): Stop {
    const m = d.m;
    const end = m.endReason();
    const verdicts = d.tracker.verdicts(m, end);
    const lines = verdicts.map((v) => `${v.ok ? 'PASS' : 'FAIL'}  ${v.text}  (${v.detail})`);
    this.console.say([`-- run ${end.kind === 'done' ? 'completed' : end.kind} after ${m.steps} steps`, ...lines].join('\n'), verdicts.every((v) => v.ok) ? 'console' : 'stderr');
    return endStop(m);
  }

  private checkStop(c: number): Stop | undefined {
    const d = this.d!;
    const m = d.m;
    if (m.stopReason?.kind === 'fault') return faultStop(m.stopReason.cpu, m.stopReason.message);
    if (this.pending) {
      const p = this.pending;
      this.pending = undefined;
      return p;
    }
    if (d.failure && m.steps === d.failure.step && !d.timeline.replaying) return expectationStop(d.failure, c);
    const bps = this.breakpoints.anyCode ? this.breakpoints.hitAt(c) : undefined;
    if (bps) return breakpointStop(c + 1, bps.ids, bps.kind);
    return undefined;
  }

  /** Steps only CPU threadId-1 (over, into or out of a call); every other CPU holds still. */
  step(threadId: number, how: 'over' | 'in' | 'out'): Promise<void> {
    const d = this.d!;
    this.listener.continued(threadId, false);
    return this.runJob(async (pace) => {
      const { m, timeline: t } = d;
      const cpu = threadId - 1;
      const start = cpuFrames(d, cpu);
      const depth0 = start.length;
      const fp0 = start[0]?.fp;
      const line0 = start[0]?.instr?.range.start.line;
      // before its first step a CPU shows the task it starts (see cpuFrames): leaving idle for it is not the step asked for
      let arriving = fp0 !== m.frames(cpu)[0]?.fp;
      for (let i = 0; i < STEP_LIMIT; i++) {
        t.forward(cpu);
        const stop = this.checkStop(cpu);
        if (stop) return stop;
        if (arriving) {
          arriving = m.frames(cpu)[0]?.fp !== fp0;
          continue;
        }
        const now = m.frames(cpu);
        const top = now[0];
        const line = top?.instr?.range.start.line;
        const done = how === 'in'
          ? now.length !== depth0 || top?.fp !== fp0 || line !== line0
          : how === 'over'
            ? now.length < depth0 || (now.length === depth0 && top?.fp === fp0 && line !== line0)
            : now.length < depth0;
        // a CPU that spins on a location only another CPU can change gets nowhere going round again
        if (m.isBlocked(cpu) && !m.isDead(cpu)) return waitsStop(m, cpu);
        if (m.isDead(cpu)) return deadStop(cpu);
        if (done) return stepStop(threadId);
        if (pace.due() && !(await pace.turn())) return pauseStop(m);
      }
      return stepStop(threadId, `CPU${cpu} took ${STEP_LIMIT} steps without finishing the step`);
    });
  }

  /** One step back in time: the machine as it was before its last step. */
  stepBack(threadId: number): Promise<void> {
    const d = this.d!;
    return this.runJob(async (pace) => {
      const t = d.timeline;
      const target = Math.max(0, t.step - 1);
      await t.goTo(target, pace);
      if (t.step !== target) return pauseStop(d.m, `Paused at step ${t.step} while going back to step ${target}`);
      return { ...stepStop(threadId, `Back at step ${target}`), description: 'step back' };
    });
  }

  /** Travels to any step of the run recorded so far, back or forward; the stop is on `threadId`'s CPU. */
  travelTo(step: number, threadId: number): Promise<void> {
    const d = this.d!;
    return this.runJob(async (pace) => {
      const t = d.timeline;
      await t.goTo(step, pace);
      if (t.step !== step) return pauseStop(d.m, `Paused at step ${t.step} while travelling to step ${step}`);
      return { reason: 'goto', threadId, description: `step ${step}`, text: `At step ${step}` };
    });
  }

  /** Travels back to the last step where a line or function breakpoint held, or to the start of the run. */
  reverseContinue(threadId: number): Promise<void> {
    const d = this.d!;
    return this.runJob(async (pace) => {
      const { m, timeline: t } = d;
      const now = t.step;
      const marks = this.breakpoints.anyCode ? [...new Set([...t.snapshotSteps(), 0])].filter((s) => s < now).sort((a, b) => b - a) : [];
      let end = now;
      for (const from of marks) {
        const hits = new Map<number, { thread: number; ids: number[]; kind: 'breakpoint' | 'function breakpoint' }>();
        const found = await t.lastHitBetween(from, end, () => {
          const bps = m.steps < now ? this.breakpoints.hitAt(m.cpu, true) : undefined;
          if (bps) hits.set(m.steps, { thread: m.cpu + 1, ...bps });
          return !!bps;
        }, pace);
        if (!found) return pauseStop(m, `Paused at step ${m.steps} while going backwards`);
        if (found.last !== undefined) {
          await t.goTo(found.last, pace);
          if (t.step !== found.last) return pauseStop(m, `Paused at step ${m.steps} while going backwards`);
          const h = hits.get(found.last)!;
          return breakpointStop(h.thread, h.ids, h.kind, `Breakpoint hit at step ${found.last} (going backwards)`);
        }
        end = from;
      }
      await t.goTo(0, pace);
      if (t.step !== 0) return pauseStop(m, `Paused at step ${m.steps} while going backwards`);
      return { reason: 'entry', threadId, description: 'start of run', text: 'Back at the start of the run' };
    });
  }
}
