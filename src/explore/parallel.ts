import { PreparedScenario } from '../scenario/build.js';
import type { ExploreResult } from './explore.js';
import { ALL_REDUCTIONS, Counterexample, Reductions, ScheduleSearch, SearchGoal, SearchLimits, SearchStats, learnOwnership } from './search.js';
import { SHARED_GENERATIONS, SharedVisitedStates } from './visited.js';

/** Restarts a parallel search can count before it gives up (the counters are per restart). */
const MAX_GENERATIONS = SHARED_GENERATIONS;

/**
 * What the threads of one parallel search share, in SharedArrayBuffers: the
 * table of seen states, what is learnt of which cells cannot race, which
 * frontier state each thread takes next, and who is done.
 */
export interface SharedSpace {
  table: SharedVisitedStates['buffers'];
  ownership: { cells: Int32Array; generation: Int32Array };
  /** [g]: next frontier state to take in generation g; [MAX_GENERATIONS + g]: threads done in generation g; [2 MAX_GENERATIONS]: 1 once a thread found a counterexample */
  control: Int32Array;
}

export function allocateSharedSpace(memoryCells: number, capacityLog2: number): SharedSpace {
  return {
    table: SharedVisitedStates.allocate(capacityLog2),
    ownership: {
      cells: new Int32Array(new SharedArrayBuffer(4 * memoryCells)),
      generation: new Int32Array(new SharedArrayBuffer(4)),
    },
    control: new Int32Array(new SharedArrayBuffer(4 * (2 * MAX_GENERATIONS + 1))),
  };
}

/**
 * One thread's part of a depth-first search several threads make together.
 * Every thread works out the same frontier (the distinct states a few
 * transitions deep), then takes frontier states one at a time from a shared
 * counter and explores under each, all with one shared table of seen states,
 * so no state is explored twice (bar two threads reaching it at once). When a
 * thread finds a cell it took for private shared, every thread starts again
 * under the new generation; a thread that runs out of frontier states waits
 * until every thread has, or a restart gives it work again.
 */
export class ParallelSearch {
  counterexample: Counterexample | undefined;
  finished = false;
  cutBy: string | undefined;
  private frontier: number[][] | undefined;
  private pass: ScheduleSearch;
  private generation = -1;
  private readonly table: SharedVisitedStates;
  private waiting = false;
  private readonly done: SearchStats = { states: 0, transitions: 0, steps: 0, schedules: 0, deepest: 0, depth: 0, cutByBound: 0, restarts: 0 };

  constructor(
    readonly p: PreparedScenario,
    readonly space: SharedSpace,
    readonly thread: number,
    readonly threads: number,
    readonly reductions: Reductions | undefined,
    readonly limits: SearchLimits,
    readonly goal: SearchGoal = 'first',
  ) {
    this.table = new SharedVisitedStates(space.table);
    if (reductions?.localSteps !== false && reductions?.ownedCells !== false) {
      // a first guess from this thread's own random runs, added to every thread's
      learnOwnership(p, 1 + 8 * thread);
      const mine = p.machine.ownership!.cells;
      p.machine.learnOwnership(true, space.ownership);
      p.machine.ownership!.merge(mine);
    }
    // the frontier must come out the same on every thread: work it out without what the threads learn as they go
    this.pass = new ScheduleSearch(p, { reductions: { ...(reductions ?? ALL_REDUCTIONS), ownedCells: false }, limits: { maxStates: limits.maxStates }, frontierDepth: frontierDepth(threads), goal });
    this.learning = reductions?.localSteps !== false && reductions?.ownedCells !== false;
  }

  /** whether the threads learn together which cells cannot race */
  private readonly learning: boolean;

  get stats(): SearchStats {
    const s = this.pass.stats;
    return {
      ...s, states: this.table.size || s.states, transitions: this.done.transitions + s.transitions, steps: this.done.steps + s.steps,
      schedules: this.done.schedules + s.schedules, deepest: Math.max(this.done.deepest, s.deepest), restarts: this.done.restarts + s.restarts,
    };
  }

  private get ownershipGeneration(): number {
    return Atomics.load(this.space.ownership.generation, 0);
  }

  advance(work: number): boolean {
    if (this.finished) return true;
    const control = this.space.control;
    if (Atomics.load(control, 2 * MAX_GENERATIONS)) return this.end(undefined, undefined);
    if (this.frontier === undefined) {
      if (!this.pass.advance(work)) return false;
      if (this.pass.counterexample || this.pass.cutBy) return this.end(this.pass.counterexample, this.pass.cutBy);
      this.keep(this.pass);
      this.frontier = this.pass.frontier;
      return this.take();
    }
    if (this.generation !== this.ownershipGeneration) return this.take();
    if (this.waiting) return this.wait();
    if (this.table.full) return this.end(undefined, 'max-states');
    if (!this.pass.advance(work)) return false;
    if (this.pass.abandoned) return this.take();
    if (this.pass.counterexample) {
      Atomics.store(control, 2 * MAX_GENERATIONS, 1);
      return this.end(this.pass.counterexample, undefined);
    }
    if (this.pass.cutBy) return this.end(undefined, this.pass.cutBy);
    this.keep(this.pass);
    return this.take();
  }

  /** Takes the next frontier state of the current generation, or starts waiting when there is none. */
  private take(): boolean {
    const g = this.ownershipGeneration;
    if (g >= MAX_GENERATIONS) return this.end(undefined, `more than ${MAX_GENERATIONS} restarts`);
    if (g !== this.generation) {
      // what this thread did under the old generation counts as work done, then starts again
      if (this.generation >= 0) {
        this.keep(this.pass);
        this.done.restarts++;
        this.outcomes.clear();
      }
      this.generation = g;
      this.table.restart(g);
      this.waiting = false;
    }
    const i = Atomics.add(this.space.control, g, 1);
    if (i >= this.frontier!.length) {
      if (!this.waiting) Atomics.add(this.space.control, MAX_GENERATIONS + g, 1);
      this.waiting = true;
      return this.wait();
    }
    if (this.learning) this.p.machine.learnOwnership(true, this.space.ownership);
    this.pass = new ScheduleSearch(this.p, { reductions: this.reductions, limits: this.limits, prefix: this.frontier![i], visited: this.table, goal: this.goal, stopOnSharing: true });
    return false;
  }

  /** Every thread done in this generation ends the search; a restart meanwhile gives work again. */
  private wait(): boolean {
    const g = this.generation;
    if (Atomics.load(this.space.control, MAX_GENERATIONS + g) >= this.threads) return this.end(undefined, undefined);
    Atomics.wait(this.space.ownership.generation, 0, g, 20);
    return false;
  }

  /** passes whose work is added up already */
  private readonly kept = new WeakSet<ScheduleSearch>();

  /** every way a run ended, in this thread's part (with the outcomes goal); a restart starts it again */
  readonly outcomes = new Set<string>();

  private keep(pass: ScheduleSearch): void {
    if (this.kept.has(pass)) return;
    this.kept.add(pass);
    for (const o of pass.outcomes) this.outcomes.add(o);
    const s = pass.stats;
    for (const k of ['transitions', 'steps', 'schedules', 'restarts'] as const) this.done[k] += s[k];
    this.done.deepest = Math.max(this.done.deepest, s.deepest);
  }

  private end(ce: Counterexample | undefined, cutBy: string | undefined): boolean {
    this.counterexample = ce;
    this.cutBy = cutBy;
    this.finished = true;
    return true;
  }
}

/** A frontier with a few states per thread, so the threads' shares come out even. */
function frontierDepth(threads: number): number {
  return threads <= 2 ? 16 : threads <= 8 ? 32 : 64;
}

/**
 * One result from the threads of a parallel search: a counterexample if a
 * thread found one (the simplest), verified when every thread finished. The
 * threads share one table of states, so its size is the search's.
 */
export function mergeThreads(results: readonly ExploreResult[]): ExploreResult {
  const withCe = results.filter((r) => r.counterexample).sort((a, b) => a.counterexample!.preemptions - b.counterexample!.preemptions || a.counterexample!.steps - b.counterexample!.steps);
  const first = withCe[0] ?? results[0];
  const stats: SearchStats = { ...first.stats, transitions: 0, steps: 0, schedules: 0, restarts: 0 };
  for (const r of results) {
    for (const k of ['transitions', 'steps', 'schedules', 'restarts'] as const) stats[k] += r.stats[k];
    stats.states = Math.max(stats.states, r.stats.states);
    stats.deepest = Math.max(stats.deepest, r.stats.deepest);
  }
  const limitedBy = withCe.length ? [] : [...new Set(results.flatMap((r) => r.limitedBy))];
  const outcomes = results.some((r) => r.outcomes) ? [...new Set(results.flatMap((r) => r.outcomes ?? []))].sort() : undefined;
  const complete = !withCe.length && limitedBy.length === 0 && results.every((r) => r.complete);
  return {
    ...first, stats, limitedBy, complete, outcomes,
    verdict: withCe.length ? 'counterexample' : complete ? 'verified' : 'bounded',
    collisionChance: (stats.states * stats.states) / 2 ** 64,
    searchSeconds: Math.max(...results.map((r) => r.searchSeconds ?? 0)),
  };
}
