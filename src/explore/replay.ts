import { SourceRange } from '../kc/diagnostics.js';
import { Machine, STATEMENT, StopReason } from '../machine/machine.js';
import { PreparedScenario, startRun } from '../scenario/build.js';
import { ExpectationObserver, Violation } from './observer.js';

/** What one step of a replayed schedule did. */
export interface StepRecord {
  actor: number;
  /** shared cells it touched: address * 2 + 1 if written */
  accesses: Int32Array;
  /** the statement it executed, when it executed one */
  at?: SourceRange;
  func?: string;
}

export interface ReplayResult {
  stop: StopReason;
  /** the first expectation broken, by an event or at the end */
  violation: Violation | undefined;
  steps: number;
  /** switches from a CPU that could have gone on to another CPU, along the listed schedule */
  preemptions: number;
}

/**
 * Runs a schedule on a prepared scenario, one listed actor per step, as the
 * search ran it (timed events are actors). With `tolerant`, a listed actor
 * that cannot step is skipped; otherwise the replay stops there. After the
 * list the run goes on round-robin to its end, within the step budget.
 */
export function replaySchedule(
  p: PreparedScenario,
  actors: readonly number[],
  opts: { tolerant?: boolean; record?: StepRecord[]; continueAfter?: boolean } = {},
): ReplayResult {
  const m = startRun(p, { schedule: { kind: 'replay', actors: [] } });
  const observer = new ExpectationObserver(p);
  const off = m.onEvent(observer.listener);
  const tracking = opts.record ? m.track() : null;
  m.learnOwnership(false);
  m.privateFrameCells = [];
  try {
    let stop: StopReason | undefined;
    let preemptions = 0;
    let lastCpu = -1;
    let lastTimer = -1;
    for (const a of actors) {
      stop = settle(m);
      if (stop) break;
      if (!m.actors().includes(a)) {
        if (opts.tolerant) continue;
        stop = { kind: 'frozen', message: `the schedule names ${m.actorName(a)} at step ${m.steps + 1}, which cannot step there` };
        break;
      }
      // a switch from a CPU that could go on is a preemption; taking an interrupt right after it fires is not
      if (a < m.nrCpus) {
        if (lastCpu >= 0 && a !== lastCpu && m.canRun(lastCpu) && !(lastTimer >= 0 && m.timerTarget(lastTimer) === a)) preemptions++;
        lastCpu = a;
      }
      lastTimer = a >= m.nrCpus ? a : -1;
      const next = a < m.nrCpus && m.nextStepKind(a) === STATEMENT ? m.nextInstr(a) : undefined;
      tracking?.clearAccesses();
      m.step(a);
      if (opts.record && tracking) {
        opts.record.push({ actor: a, accesses: tracking.accesses.slice(0, tracking.accessCount), at: next?.fn.code[next.pc]?.range, func: next?.fn.name });
      }
      if (m.stopReason) {
        stop = m.stopReason;
        break;
      }
    }
    if (!stop && opts.continueAfter !== false) stop = m.run(Math.max(1, p.maxSteps - m.steps));
    stop ??= settle(m) ?? { kind: 'done' };
    return { stop, violation: observer.broken ?? observer.judgeEnd(m, stop), steps: m.steps, preemptions };
  } finally {
    off();
  }
}

/** Lets time pass while nothing can step; the run's end when nothing ever will. */
export function settle(m: Machine): StopReason | undefined {
  while (m.actors().length === 0) {
    if (!m.advanceIdleTime()) return m.stopReason ?? m.endReason();
  }
  return undefined;
}
