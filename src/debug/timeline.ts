import { Machine, Snapshot } from '../machine/machine.js';

/** Something the user did to the run, replayed at the same step when travelling in time. */
export type Intervention =
  | { step: number; kind: 'step'; cpu: number }
  | { step: number; kind: 'freeze' | 'thaw'; cpu: number }
  | { step: number; kind: 'write'; addr: number; value: number };

/**
 * The history of one run. The machine is deterministic, so the history is a
 * few snapshots plus what the user did; any past step is reached by restoring
 * the nearest snapshot before it and running forward again.
 */
export class Timeline {
  private snaps: Snapshot[] = [];
  private spare: Snapshot[] = [];
  private log: Intervention[] = [];
  /** true while re-running the past: views and listeners should not report what they see */
  replaying = false;

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
      for (const i of this.at(s)) {
        if (i.kind === 'freeze' || i.kind === 'thaw') m.setFrozen(i.cpu, i.kind === 'freeze');
        else if (i.kind === 'write') m.store(i.addr, i.value);
        else if (i.kind === 'step') c = i.cpu;
      }
    } else {
      this.forget(s, true);
      this.log.push({ step: s, kind: 'step', cpu: c });
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
    this.log.push({ step: this.m.steps, kind: frozen ? 'freeze' : 'thaw', cpu });
    this.m.setFrozen(cpu, frozen);
  }

  /** Change memory now (setVariable), as part of the history. */
  write(addr: number, value: number): void {
    this.forget(this.m.steps, false);
    this.log.push({ step: this.m.steps, kind: 'write', addr, value });
    this.m.store(addr, value);
  }

  /** Goes to step `target` (before or after the current one) by replaying from a snapshot. */
  goTo(target: number, onStep?: () => void): void {
    const m = this.m;
    let i = this.snaps.length - 1;
    while (i > 0 && this.snaps[i].steps > target) i--;
    if (!(target >= m.steps && this.snaps[i].steps <= m.steps)) m.restore(this.snaps[i]);
    this.replaying = true;
    try {
      while (m.steps < target) {
        if (!this.forward()) break;
        onStep?.();
        if (m.stopReason) break;
      }
    } finally {
      this.replaying = false;
    }
    // what the user did at exactly this step, before stepping on
    for (const x of this.at(m.steps)) {
      if (x.kind === 'freeze' || x.kind === 'thaw') m.setFrozen(x.cpu, x.kind === 'freeze');
    }
  }

  /**
   * The last step in [from, to) after which `hit` held, found by replaying
   * that stretch; the machine ends up at `to` again.
   */
  lastHitBetween(from: number, to: number, hit: () => boolean): number | undefined {
    this.goTo(from);
    let last: number | undefined;
    this.replaying = true;
    try {
      while (this.m.steps < to) {
        if (!this.forward()) break;
        if (hit()) last = this.m.steps;
      }
    } finally {
      this.replaying = false;
    }
    return last;
  }

  /** Snapshot steps, newest last: where reverse searches start their stretches. */
  snapshotSteps(): number[] {
    return this.snaps.map((s) => s.steps);
  }

  private at(step: number): Intervention[] {
    const out: Intervention[] = [];
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.log[mid].step < step) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.log.length && this.log[i].step === step; i++) out.push(this.log[i]);
    return out;
  }

  /** A new decision at `step` replaces the recorded future (and, for a step, what was recorded at it). */
  private forget(step: number, includingStepAt: boolean): void {
    this.log = this.log.filter((i) => i.step < step || (i.step === step && !(includingStepAt && i.kind === 'step')));
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
