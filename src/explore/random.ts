import { Chooser, LEAVE_TO_SCHEDULE, SeededRandom } from '../machine/chooser.js';
import { PreparedScenario, startRun } from '../scenario/build.js';
import { ExpectationObserver } from './observer.js';
import { Counterexample, SearchStats } from './search.js';
import { VisitedStates } from './visited.js';

/** Picks an actor uniformly at random at every step; timed events are actors. */
class RandomActors implements Chooser {
  private readonly random: SeededRandom;
  constructor(seed: number) {
    this.random = new SeededRandom(seed);
  }
  pickActor(actors: ArrayLike<number>, count: number): number {
    return actors[Math.floor(this.random.next() * count)];
  }
  pickDelay(): number {
    return LEAVE_TO_SCHEDULE;
  }
  save(): number[] {
    return this.random.save();
  }
  load(state: readonly number[]): void {
    this.random.load(state);
  }
}

/**
 * PCT (probabilistic concurrency testing): every actor gets a random
 * priority and the highest-priority actor that can step does; at `depth - 1`
 * random steps the running actor drops to the lowest priorities. A bug that
 * needs d ordering constraints shows with probability at least 1/(n k^(d-1))
 * per run, for n actors and runs of k steps.
 */
class Pct implements Chooser {
  private readonly random: SeededRandom;
  private readonly priority: number[];
  private readonly changeAt: number[];
  private step = 0;
  private lowest = 0;
  constructor(seed: number, actors: number, depth: number, expectedSteps: number) {
    this.random = new SeededRandom(seed);
    this.priority = Array.from({ length: actors }, (_, i) => depth + i);
    for (let i = actors - 1; i > 0; i--) {
      const j = Math.floor(this.random.next() * (i + 1));
      [this.priority[i], this.priority[j]] = [this.priority[j], this.priority[i]];
    }
    this.changeAt = Array.from({ length: depth - 1 }, () => Math.floor(this.random.next() * expectedSteps));
  }
  pickActor(actors: ArrayLike<number>, count: number): number {
    let best = actors[0];
    for (let i = 1; i < count; i++) if (this.priority[actors[i]] > this.priority[best]) best = actors[i];
    if (this.changeAt.includes(this.step)) this.priority[best] = this.lowest++ - this.changeAt.length;
    this.step++;
    return best;
  }
  pickDelay(): number {
    return LEAVE_TO_SCHEDULE;
  }
  save(): number[] {
    return [...this.random.save(), this.step, this.lowest, ...this.priority];
  }
  load(state: readonly number[]): void {
    this.random.load(state.slice(0, 1));
    this.step = state[1];
    this.lowest = state[2];
    for (let i = 0; i < this.priority.length; i++) this.priority[i] = state[3 + i];
  }
}

/**
 * Random runs of a scenario, one after the other, seeded `seed`, `seed + 1`,
 * ...: a uniform random pick of actor at every step, or PCT. Never complete;
 * counts distinct states by hash.
 */
export class RandomRuns {
  readonly stats: SearchStats = { states: 0, transitions: 0, steps: 0, schedules: 0, deepest: 0, depth: 0, cutByBound: 0, restarts: 0 };
  counterexample: Counterexample | undefined;
  finished = false;
  private run = 0;
  private readonly visited = new VisitedStates();
  private readonly observer: ExpectationObserver;
  private expectedSteps = 1000;

  constructor(readonly p: PreparedScenario, readonly strategy: 'random' | 'pct', readonly runs: number, readonly seed = 1, readonly pctDepth = 3) {
    this.observer = new ExpectationObserver(p);
  }

  /** Does up to `work` steps; true when the runs are over (or one broke an expectation). */
  advance(work: number): boolean {
    const stop = this.stats.steps + work;
    while (!this.finished && this.stats.steps < stop) this.oneRun();
    return this.finished;
  }

  private oneRun(): void {
    if (this.run >= this.runs) {
      this.finished = true;
      return;
    }
    const p = this.p;
    const seed = this.seed + this.run++;
    const m = startRun(p, { schedule: { kind: 'replay', actors: [] }, recordChoices: true });
    m.chooser = this.strategy === 'pct' ? new Pct(seed, 2 * m.nrCpus + m.deviceIrqs.length, this.pctDepth, this.expectedSteps) : new RandomActors(seed);
    m.learnOwnership(false);
    const t = m.track();
    this.observer.restore(new Int32Array(this.observer.state.length));
    const off = m.onEvent(this.observer.listener);
    try {
      let stop = m.stopReason;
      while (!stop && m.steps < p.maxSteps) {
        const a = m.pickActor();
        if (a === undefined) {
          stop = m.endReason();
          break;
        }
        m.step(a);
        if (this.visited.find(t.hashLo, t.hashHi) < 0) this.visited.add(t.hashLo, t.hashHi, 0, 0, 0);
        if (m.stopReason || this.observer.broken) break;
      }
      stop = m.stopReason ?? stop ?? { kind: 'budget', message: `step budget of ${p.maxSteps} steps used up; ${m.describeCpus()}` };
      this.stats.steps += m.steps;
      this.stats.transitions += m.steps;
      this.stats.schedules++;
      this.stats.states = this.visited.size;
      this.stats.deepest = Math.max(this.stats.deepest, m.steps);
      this.expectedSteps = Math.max(this.expectedSteps, m.steps);
      const v = this.observer.broken ?? this.observer.judgeEnd(m, stop);
      if (v) {
        this.counterexample = { violation: v, actors: m.choiceLog.slice(), preemptions: -1 };
        this.finished = true;
      }
    } finally {
      off();
    }
  }
}
