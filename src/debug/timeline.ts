import { Machine, Snapshot } from '../machine/machine.js';
import { Pace } from './pacer.js';

/** Something the user did to the machine at a step, done again at that step when travelling in time. */
export type Intervention =
  | { step: number; kind: 'freeze' | 'thaw'; cpu: number }
  | { step: number; kind: 'write'; addr: number; value: number }
  /** from here the schedule picks when timed events happen (see Machine.leaveTimingToSchedule) */
  | { step: number; kind: 'timing' };

/**
 * Steps `from` .. `from + count - 1` were each taken by actor `cpu` (a CPU,
 * or a timed event), chosen by the user or a followed schedule rather than
 * the machine's own.
 */
interface ForcedSteps {
  from: number;
  count: number;
  cpu: number;
}

/**
 * The history of one run. The machine is deterministic, so the history is a
 * few snapshots plus what the user did; any past step is reached by restoring
 * the nearest snapshot before it and running forward again.
 *
 * Both lists are kept in step order, so recording costs the same at step ten
 * and at step ten million: one-CPU steps in a row extend one ForcedSteps entry.
 */
export class Timeline {
  private snaps: Snapshot[] = [];
  private spare: Snapshot[] = [];
  private interventions: Intervention[] = [];
  private forced: ForcedSteps[] = [];
  /** true while re-running the past: views and listeners should not report what they see */
  replaying = false;
  /** told when a new decision at a step drops what was recorded after it */
  onForget: (step: number) => void = () => {};

  constructor(readonly m: Machine, private readonly every = 1000, private readonly maxSnapshots = 64) {
    this.snaps.push(m.snapshot());
  }

  get step(): number {
    return this.m.steps;
  }

  /**
   * One step forward: CPU `cpu` when given (the user's choice, recorded),
   * otherwise whatever was recorded at this step, otherwise the schedule's
   * pick. Returns false when no CPU can step.
   */
  forward(cpu?: number): boolean {
    const m = this.m;
    const s = m.steps;
    let c = cpu;
    if (c === undefined) {
      this.redoInterventions(s, true);
      c = this.forcedCpuAt(s);
    } else {
      this.forget(s, true);
      this.recordForced(s, c);
    }
    if (c === undefined) c = m.pickActor();
    if (c === undefined) return false;
    m.step(c);
    if (m.steps % this.every === 0) this.keepSnapshot();
    return true;
  }

  /** Freeze or thaw a CPU now, as part of the history. */
  setFrozen(cpu: number, frozen: boolean): void {
    this.forget(this.m.steps, false);
    this.interventions.push({ step: this.m.steps, kind: frozen ? 'freeze' : 'thaw', cpu });
    this.m.setFrozen(cpu, frozen);
  }

  /**
   * Follows a schedule from now on (a counterexample found from here): the
   * schedule picks when timed events happen, and the listed actors take
   * the next steps, as if the user had stepped them. A new decision before
   * the end of the list drops the rest.
   */
  follow(actors: readonly number[]): void {
    const s = this.m.steps;
    this.forget(s, true);
    this.interventions.push({ step: s, kind: 'timing' });
    this.m.leaveTimingToSchedule();
    actors.forEach((a, i) => this.recordForced(s + i, a));
  }

  /**
   * Goes to step `target` replaying from the start of the run, so every
   * event up to it is emitted again (for a listener that must see them all).
   */
  async replayFromStart(target: number, pace: Pace): Promise<void> {
    this.m.restore(this.snaps[0]);
    await this.runTo(target, pace);
  }

  /** Change memory now (setVariable), as part of the history. */
  write(addr: number, value: number): void {
    this.forget(this.m.steps, false);
    this.interventions.push({ step: this.m.steps, kind: 'write', addr, value });
    this.m.store(addr, value);
  }

  /**
   * Goes to step `target` (before or after the current one) by replaying from
   * a snapshot. `pace` may end the replay early: the machine is then at the
   * step it had reached, which is as good a place in the history as any.
   */
  async goTo(target: number, pace: Pace): Promise<void> {
    const m = this.m;
    let i = this.snaps.length - 1;
    while (i > 0 && this.snaps[i].steps > target) i--;
    if (!(target >= m.steps && this.snaps[i].steps <= m.steps)) m.restore(this.snaps[i]);
    await this.runTo(target, pace);
  }

  /** Replays forward from where the machine is to step `target` (or until `pace` ends it). */
  private async runTo(target: number, pace: Pace): Promise<void> {
    const m = this.m;
    this.replaying = true;
    try {
      while (m.steps < target) {
        if (!this.forward()) break;
        if (m.stopReason) break;
        if (pace.due() && !(await pace.turn())) break;
      }
    } finally {
      this.replaying = false;
    }
    // what the user froze or thawed at exactly this step, before stepping on
    this.redoInterventions(m.steps, false);
  }

  /**
   * The last step in [from, to) after which `hit` held, found by replaying
   * that stretch; the machine ends up at `to` again. Undefined when `pace`
   * ended the search first.
   */
  async lastHitBetween(from: number, to: number, hit: () => boolean, pace: Pace): Promise<{ last?: number } | undefined> {
    await this.goTo(from, pace);
    if (this.m.steps !== from) return undefined;
    let last: number | undefined;
    this.replaying = true;
    try {
      while (this.m.steps < to) {
        if (!this.forward()) break;
        if (hit()) last = this.m.steps;
        if (pace.due() && !(await pace.turn())) return undefined;
      }
    } finally {
      this.replaying = false;
    }
    return { last };
  }

  /** Snapshot steps, newest last: where reverse searches start their stretches. */
  snapshotSteps(): number[] {
    return this.snaps.map((s) => s.steps);
  }

  /** Redoes the freezes, thaws and (when `writes`) memory writes recorded at `step`. */
  private redoInterventions(step: number, writes: boolean): void {
    for (let i = firstFrom(this.interventions, step, (x) => x.step); i < this.interventions.length && this.interventions[i].step === step; i++) {
      const x = this.interventions[i];
      if (x.kind === 'write') {
        if (writes) this.m.store(x.addr, x.value);
      } else if (x.kind === 'timing') {
        if (writes) this.m.leaveTimingToSchedule();
      } else this.m.setFrozen(x.cpu, x.kind === 'freeze');
    }
  }

  private forcedCpuAt(step: number): number | undefined {
    const run = this.forced[firstFrom(this.forced, step + 1, (r) => r.from) - 1];
    return run && step < run.from + run.count ? run.cpu : undefined;
  }

  private recordForced(step: number, cpu: number): void {
    const last = this.forced[this.forced.length - 1];
    if (last && last.cpu === cpu && last.from + last.count === step) last.count++;
    else this.forced.push({ from: step, count: 1, cpu });
  }

  /** A new decision at `step` replaces the recorded future (and, for a step, the step recorded at it). */
  private forget(step: number, includingStepAt: boolean): void {
    this.onForget(step);
    this.interventions.length = firstFrom(this.interventions, step + 1, (x) => x.step);
    const keepBefore = includingStepAt ? step : step + 1;
    this.forced.length = firstFrom(this.forced, keepBefore, (r) => r.from);
    const last = this.forced[this.forced.length - 1];
    if (last && last.from + last.count > keepBefore) last.count = keepBefore - last.from;
    while (this.snaps.length > 1 && this.snaps[this.snaps.length - 1].steps > step) this.spare.push(this.snaps.pop()!);
  }

  private keepSnapshot(): void {
    const last = this.snaps[this.snaps.length - 1];
    if (last.steps >= this.m.steps) return;
    this.snaps.push(this.m.snapshot(this.spare.pop()));
    if (this.snaps.length <= this.maxSnapshots) return;
    // thin out the past: drop the snapshot whose neighbours are closest, keeping the first and the newest few
    let best = 1;
    let bestGap = Infinity;
    for (let i = 1; i < this.snaps.length - 4; i++) {
      const gap = this.snaps[i + 1].steps - this.snaps[i - 1].steps;
      if (gap < bestGap) {
        bestGap = gap;
        best = i;
      }
    }
    this.spare.push(...this.snaps.splice(best, 1));
  }
}

/** The index of the first entry at `step` or later, in a list kept in step order. */
function firstFrom<T>(list: readonly T[], step: number, stepOf: (x: T) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (stepOf(list[mid]) < step) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
