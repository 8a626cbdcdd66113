import { PreparedScenario } from '../scenario/build.js';
import { CounterexampleFile, makeCounterexample } from './counterexample.js';
import { DecisiveRace, explainCounterexample } from './explain.js';
import { RandomRuns } from './random.js';
import { replaySchedule } from './replay.js';
import { ALL_REDUCTIONS, Counterexample, Reductions, ScheduleSearch, SearchStats } from './search.js';
import { ParallelSearch, SharedSpace } from './parallel.js';
import { ShardSearch } from './shards.js';

export type Strategy = 'dfs' | 'bfs' | 'pct' | 'random';

export interface ExploreOptions {
  strategy?: Strategy;
  /** stop after this many distinct states */
  maxStates?: number;
  /** explore only schedules with at most this many preemptions */
  preemptionBound?: number;
  /** this machine's part of a search split N ways (index from 1) */
  shard?: { index: number; count: number };
  /** one thread of a search several threads make together, sharing what they have seen */
  parallel?: { space: SharedSpace; thread: number; threads: number };
  /** random and pct: how many runs, and the first seed */
  runs?: number;
  seed?: number;
  reductions?: Reductions;
  /** look for a counterexample with fewer preemptions, then a shorter one (default true) */
  minimise?: boolean;
  /** list every way a run can end instead of stopping at a counterexample (dfs only) */
  outcomes?: boolean;
}

/** The JSON result of an exploration: what the CLI prints with --json and what --merge combines. */
export interface ExploreResult {
  scenario: string;
  verdict: 'verified' | 'counterexample' | 'bounded';
  /** every schedule within the scenario's own bounds was explored */
  complete: boolean;
  /** what cut the search: max-states, max-time, preemption-bound, runs */
  limitedBy: string[];
  strategy: Strategy;
  shard?: { index: number; count: number };
  reductions: string[];
  stats: SearchStats;
  /** states and transitions spent making the counterexample simpler */
  minimiseStats?: { states: number; transitions: number };
  /** chance that two different states shared a hash and one went unexplored */
  collisionChance: number;
  /** wall-clock seconds the search took, before minimising (set by the caller: the engine has no clock) */
  searchSeconds?: number;
  /** with the outcomes option: every way a run ends (how, whether it warned or lost work, what each expectation looks at) */
  outcomes?: string[];
  counterexample?: CounterexampleFile & {
    failingCpu?: number;
    race?: DecisiveRace;
    /** preemptions and steps of the schedule first found, before minimising */
    foundWith: { preemptions: number; steps: number };
  };
}

interface Searcher {
  readonly stats: SearchStats;
  readonly outcomes?: ReadonlySet<string>;
  counterexample: Counterexample | undefined;
  finished: boolean;
  cutBy?: string;
  advance(work: number): boolean;
}

/**
 * One exploration of a scenario: the search, then (with a counterexample)
 * iterative context bounding for one with the fewest preemptions, a search
 * for the shortest with that many, and the race that decides it. Resumable
 * like the searches it runs: advance() does a bounded amount of work.
 */
export class Exploration {
  private phase: 'search' | 'fewer-preemptions' | 'shorter' | 'done' = 'search';
  private searcher: Searcher;
  private readonly search: Searcher;
  private found: Counterexample | undefined;
  private best: Counterexample | undefined;
  private bound = 0;
  private readonly minimiseStats = { states: 0, transitions: 0 };
  /** states minimising may take in all: twice the search's, at least MINIMISE_STATES, at most --max-states */
  private minimiseBudget = 0;
  private final: ExploreResult['counterexample'];
  /** set by a caller that stops the exploration for its own reason (a time limit) */
  stoppedBy: string | undefined;

  constructor(readonly p: PreparedScenario, readonly opts: ExploreOptions = {}) {
    this.search = this.searcher = makeSearcher(p, opts);
  }

  /** still searching (not yet minimising a counterexample) */
  get searching(): boolean {
    return this.phase === 'search';
  }

  /** What is being done now, for a progress line. */
  get activity(): string {
    return this.phase === 'search' ? 'exploring' : this.phase === 'fewer-preemptions' ? `looking for a counterexample with ${this.bound} preemption${this.bound === 1 ? '' : 's'}` : this.phase === 'shorter' ? 'looking for a shorter counterexample' : 'done';
  }

  get stats(): SearchStats {
    return this.searcher.stats;
  }

  /** Does up to `work` transitions; true when the exploration is over. */
  advance(work: number): boolean {
    if (this.done) return true;
    if (this.searcher.advance(work)) this.nextPhase();
    return this.done;
  }

  get done(): boolean {
    return this.phase === 'done';
  }

  /** Ends the exploration where it is (a time limit, a cancel): the result says what was done. */
  stop(reason: string): void {
    if (this.phase === 'search') this.stoppedBy = reason;
    this.finish();
  }

  private nextPhase(): void {
    const s = this.searcher;
    if (this.phase === 'search') {
      this.found = this.best = s.counterexample;
      if (!this.found || this.opts.minimise === false) return this.finish();
      // counted the way the report counts them, whichever search found it
      this.found.preemptions = replaySchedule(this.p, this.found.actors).preemptions;
      this.minimiseBudget = Math.min(this.opts.maxStates ?? Infinity, Math.max(MINIMISE_STATES, 2 * s.stats.states));
      this.bound = 0;
      return this.tryBound();
    }
    this.minimiseStats.states += s.stats.states;
    this.minimiseStats.transitions += s.stats.transitions;
    // the budget spent, the best counterexample so far is the one reported
    if (this.minimiseStats.states >= this.minimiseBudget) return this.finish();
    if (this.phase === 'fewer-preemptions') {
      if (s.counterexample) {
        this.best = s.counterexample;
        return this.startShorter();
      }
      this.bound++;
      return this.tryBound();
    }
    if (s.counterexample && s.counterexample.actors.length < this.best!.actors.length) this.best = s.counterexample;
    this.finish();
  }

  /** Iterative context bounding: a counterexample with `bound` preemptions, below the one found. */
  private tryBound(): void {
    if (this.bound >= this.best!.preemptions) return this.startShorter();
    this.phase = 'fewer-preemptions';
    this.searcher = new ScheduleSearch(this.p, { reductions: this.opts.reductions, limits: { preemptionBound: this.bound, maxStates: this.minimiseLimit() } });
  }

  private startShorter(): void {
    this.phase = 'shorter';
    this.searcher = new ScheduleSearch(this.p, {
      reductions: this.opts.reductions, goal: 'shortest',
      limits: { preemptionBound: this.best!.preemptions, maxStates: this.minimiseLimit() },
    });
  }

  /** States the minimising searches may still store between them. */
  private minimiseLimit(): number {
    return Math.max(1, this.minimiseBudget - this.minimiseStats.states);
  }

  private finish(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    const best = this.best;
    if (!best || !this.found) return;
    const replay = replaySchedule(this.p, best.actors);
    const again = replaySchedule(this.p, best.actors);
    if (!replay.violation || again.violation?.step !== replay.violation.step || again.steps !== replay.steps) {
      throw new Error(`the counterexample did not replay the same way twice (${replay.violation?.expectation ?? 'no failure'} at step ${replay.violation?.step}; then ${again.violation?.expectation ?? 'no failure'} at step ${again.violation?.step})`);
    }
    const v = replay.violation;
    const failingStep = v.step ?? 0;
    this.final = {
      ...makeCounterexample(this.p, v, best.actors, replay.preemptions),
      failingCpu: v.cpu,
      race: explainCounterexample(this.p, best.actors, failingStep || best.actors.length),
      foundWith: { preemptions: this.found.preemptions, steps: this.found.actors.length },
    };
  }

  result(): ExploreResult {
    const s = this.search;
    const o = this.opts;
    const limitedBy: string[] = [];
    if (this.stoppedBy) limitedBy.push(this.stoppedBy);
    if (s.cutBy) limitedBy.push(s.cutBy);
    if ((o.strategy === 'random' || o.strategy === 'pct') && !s.counterexample) limitedBy.push('runs');
    const complete = !this.final && limitedBy.length === 0 && s.finished;
    return {
      scenario: this.p.scenario.file,
      verdict: this.final ? 'counterexample' : complete ? 'verified' : 'bounded',
      complete,
      limitedBy,
      strategy: o.strategy ?? 'dfs',
      shard: o.shard,
      reductions: describeReductions(o.reductions ?? ALL_REDUCTIONS, o),
      stats: { ...s.stats },
      minimiseStats: this.found && o.minimise !== false ? this.minimiseStats : undefined,
      collisionChance: (s.stats.states * s.stats.states) / 2 ** 64,
      outcomes: o.outcomes ? [...(s.outcomes ?? [])].sort() : undefined,
      counterexample: this.final,
    };
  }
}

function makeSearcher(p: PreparedScenario, o: ExploreOptions): Searcher {
  const limits = { maxStates: o.maxStates, preemptionBound: o.preemptionBound };
  switch (o.strategy ?? 'dfs') {
    case 'random':
    case 'pct':
      return new RandomRuns(p, o.strategy as 'random' | 'pct', o.runs ?? 1000, o.seed ?? 1);
    case 'bfs':
      return new Deepening(p, o.reductions, limits);
    case 'dfs': {
      const par = o.parallel;
      const goal = o.outcomes ? 'outcomes' : 'first';
      const exhaustive = () => (par ? new ParallelSearch(p, par.space, par.thread, par.threads, o.reductions, limits, goal)
        : o.shard && o.shard.count > 1 ? new ShardSearch(p, o.shard, o.reductions, limits, goal) : new ScheduleSearch(p, { reductions: o.reductions, limits, goal }));
      if (o.outcomes) return exhaustive();
      // each thread of a parallel search probes with seeds of its own
      const runs = probeRuns(p);
      const seed = (o.seed ?? 1) + (par?.thread ?? 0) * runs;
      return o.preemptionBound === undefined ? new Probed(new RandomRuns(p, 'pct', runs, seed), exhaustive) : exhaustive();
    }
  }
}

/** States minimising a counterexample may take at the least (it may take twice what the search took). */
const MINIMISE_STATES = 200_000;

/**
 * PCT runs tried before a depth-first search: a race a few ordering
 * constraints deep shows in a second. PCT's odds per run fall with the
 * number of CPUs (the race in 8 CPUs took 8 to 139 runs over four seeds),
 * so the probe grows with them: 150 runs at 3 CPUs, 400 at 8.
 */
export function probeRuns(p: PreparedScenario): number {
  return 50 * p.machine.nrCpus;
}

/**
 * A few PCT runs, then the exhaustive search. Depth-first order decides late
 * choices first and so reaches a race in the middle of a run late; a
 * randomised probe finds such races early, and a search that finds nothing
 * loses only the probe's few runs.
 */
class Probed implements Searcher {
  private search: Searcher | undefined;
  counterexample: Counterexample | undefined;
  finished = false;
  cutBy: string | undefined;

  constructor(private readonly probe: RandomRuns, private readonly exhaustive: () => Searcher) {}

  get stats(): SearchStats {
    const s = this.search?.stats ?? this.probe.stats;
    if (!this.search) return s;
    const p = this.probe.stats;
    return { ...s, transitions: s.transitions + p.transitions, steps: s.steps + p.steps, schedules: s.schedules + p.schedules };
  }

  advance(work: number): boolean {
    if (this.finished) return true;
    if (!this.search) {
      if (!this.probe.advance(work)) return false;
      if (this.probe.counterexample) return this.end(this.probe);
      this.search = this.exhaustive();
      return false;
    }
    return this.search.advance(work) ? this.end(this.search) : false;
  }

  private end(s: Searcher): boolean {
    this.counterexample = s.counterexample;
    this.cutBy = s.cutBy;
    this.finished = true;
    return true;
  }
}

/**
 * Breadth-first order by iterative deepening: depth-first searches bounded
 * to 8, 16, 32, ... transitions, until one is not cut by its bound. The first
 * counterexample found is among the shortest in transitions (within a factor
 * of two), and memory stays that of a depth-first search.
 */
class Deepening implements Searcher {
  private depth = 8;
  private search: ScheduleSearch;
  private readonly done: SearchStats = { states: 0, transitions: 0, steps: 0, schedules: 0, deepest: 0, depth: 0, cutByBound: 0, restarts: 0 };
  counterexample: Counterexample | undefined;
  finished = false;
  cutBy: string | undefined;

  constructor(readonly p: PreparedScenario, readonly reductions: Reductions | undefined, readonly limits: { maxStates?: number; preemptionBound?: number }) {
    this.search = this.round();
  }

  get stats(): SearchStats {
    const s = this.search.stats;
    return { ...s, transitions: this.done.transitions + s.transitions, steps: this.done.steps + s.steps, schedules: this.done.schedules + s.schedules, deepest: Math.max(this.done.deepest, s.deepest) };
  }

  private round(): ScheduleSearch {
    return new ScheduleSearch(this.p, { reductions: this.reductions, limits: { ...this.limits, depthBound: this.depth } });
  }

  advance(work: number): boolean {
    if (this.finished) return true;
    if (!this.search.advance(work)) return false;
    const s = this.search;
    if (s.counterexample || s.cutBy !== 'depth-bound') {
      this.counterexample = s.counterexample;
      this.cutBy = s.cutBy;
      this.finished = true;
      return true;
    }
    for (const k of ['transitions', 'steps', 'schedules'] as const) this.done[k] += s.stats[k];
    this.done.deepest = Math.max(this.done.deepest, s.stats.deepest);
    this.depth *= 2;
    this.search = this.round();
    return false;
  }
}

function describeReductions(r: Reductions, o: ExploreOptions): string[] {
  const strategy: Strategy = o.strategy ?? 'dfs';
  if (strategy === 'random' || strategy === 'pct') return ['waits as awaits (a spinning CPU waits until what it reads changes)'];
  const out: string[] = [];
  if (r.stateMatching) out.push('state matching (63-bit Zobrist hashes)');
  if (r.localSteps) out.push(r.ownedCells ? 'local steps (private frame cells, owned and read-only cells)' : 'local steps (private frame cells)');
  if (r.sleepSets) out.push('sleep sets');
  // the search that decides the verdict: one thread, no bound (see ScheduleSearch)
  const oneUnboundedSearch = strategy === 'dfs' && !o.parallel && !(o.shard && o.shard.count > 1) && o.preemptionBound === undefined;
  if (r.sourceSets && r.stateMatching && oneUnboundedSearch) out.push('source sets (dynamic partial-order reduction)');
  out.push('waits as awaits (a spinning CPU waits until what it reads changes)');
  return out;
}
