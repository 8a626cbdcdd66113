import { PreparedScenario } from '../scenario/build.js';
import type { ExploreResult } from './explore.js';
import { Counterexample, Reductions, ScheduleSearch, SearchLimits, SearchStats } from './search.js';
import { VisitedStates } from './visited.js';

/** Frontier depths tried, in transitions, until the frontier has enough states to share out. */
const FRONTIER_DEPTHS = [2, 4, 8, 16, 32, 64];
/** States per shard the frontier should hold, so the parts are even enough. */
const STATES_PER_SHARD = 8;

/**
 * One part of a search split N ways. Every shard first walks the same
 * shallow part of the search (deterministically, so every machine finds the
 * same frontier: the distinct states a fixed number of transitions deep) and
 * then explores the subtrees of frontier states j with j mod N = index - 1.
 * Together the shards explore every schedule; a state shared by two parts is
 * explored in both.
 */
export class ShardSearch {
  counterexample: Counterexample | undefined;
  finished = false;
  cutBy: string | undefined;
  private pass: ScheduleSearch;
  private depthIndex = 0;
  private mine: number[][] | undefined;
  private next = 0;
  private readonly visited = new VisitedStates();
  private frontierStates = 0;
  private readonly done: SearchStats = { states: 0, transitions: 0, steps: 0, schedules: 0, deepest: 0, depth: 0, cutByBound: 0, restarts: 0 };

  constructor(readonly p: PreparedScenario, readonly shard: { index: number; count: number }, readonly reductions: Reductions | undefined, readonly limits: SearchLimits) {
    this.pass = this.frontierPass();
  }

  get stats(): SearchStats {
    const s = this.pass.stats;
    return {
      ...s, states: this.mine === undefined ? s.states : this.frontierStates + this.visited.size, transitions: this.done.transitions + s.transitions, steps: this.done.steps + s.steps,
      schedules: this.done.schedules + s.schedules, deepest: Math.max(this.done.deepest, s.deepest), restarts: this.done.restarts + s.restarts,
    };
  }

  private frontierPass(): ScheduleSearch {
    return new ScheduleSearch(this.p, { reductions: this.reductions, limits: { maxStates: this.limits.maxStates }, frontierDepth: FRONTIER_DEPTHS[this.depthIndex] });
  }

  advance(work: number): boolean {
    if (this.finished) return true;
    if (!this.pass.advance(work)) return false;
    const pass = this.pass;
    if (pass.counterexample || pass.cutBy) return this.end(pass);
    if (this.mine === undefined) {
      const enough = pass.frontier.length >= STATES_PER_SHARD * this.shard.count || pass.frontier.length === 0 || this.depthIndex === FRONTIER_DEPTHS.length - 1;
      if (!enough) {
        this.keep(pass);
        this.depthIndex++;
        this.pass = this.frontierPass();
        return false;
      }
      this.keep(pass);
      this.frontierStates = pass.stats.states;
      this.mine = pass.frontier.filter((_, j) => j % this.shard.count === this.shard.index - 1);
    } else {
      this.keep(pass);
    }
    if (this.next >= this.mine.length) return this.end(undefined);
    this.pass = new ScheduleSearch(this.p, {
      reductions: this.reductions, limits: { ...this.limits, maxStates: this.limits.maxStates }, prefix: this.mine[this.next++], visited: this.visited,
    });
    return false;
  }

  /** Adds up the work of a finished pass. */
  private keep(pass: ScheduleSearch): void {
    const s = pass.stats;
    for (const k of ['transitions', 'steps', 'schedules', 'restarts'] as const) this.done[k] += s[k];
    this.done.deepest = Math.max(this.done.deepest, s.deepest);
  }

  private end(pass: ScheduleSearch | undefined): boolean {
    if (pass) {
      this.counterexample = pass.counterexample;
      this.cutBy = pass.cutBy;
    }
    this.finished = true;
    return true;
  }
}

/**
 * Combines the results of the N shards of one search into one verdict: a
 * counterexample if any shard found one (the one with the fewest
 * preemptions, then steps), verified only when every shard was complete.
 * Figures are summed; a state two shards share counts twice.
 */
export function mergeResults(results: readonly ExploreResult[]): ExploreResult {
  if (!results.length) throw new Error('nothing to merge');
  const first = results[0];
  const count = first.shard?.count ?? 1;
  for (const r of results) {
    if (r.scenario !== first.scenario) throw new Error(`the results are of different scenarios: ${first.scenario} and ${r.scenario}`);
    if ((r.shard?.count ?? 1) !== count) throw new Error(`the results split the search differently: ${count} and ${r.shard?.count ?? 1} shards`);
  }
  const seen = new Set(results.map((r) => r.shard?.index ?? 1));
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (seen.size !== results.length) throw new Error('a shard is given twice');
  const withCe = results.filter((r) => r.counterexample).sort((a, b) => a.counterexample!.preemptions - b.counterexample!.preemptions || a.counterexample!.steps - b.counterexample!.steps);
  const stats: SearchStats = { states: 0, transitions: 0, steps: 0, schedules: 0, deepest: 0, depth: 0, cutByBound: 0, restarts: 0 };
  for (const r of results) {
    for (const k of ['states', 'transitions', 'steps', 'schedules', 'cutByBound', 'restarts'] as const) stats[k] += r.stats[k];
    stats.deepest = Math.max(stats.deepest, r.stats.deepest);
  }
  const limitedBy = [...new Set(results.flatMap((r) => r.limitedBy))];
  if (missing.length) limitedBy.push(`missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')}`);
  const complete = !withCe.length && limitedBy.length === 0 && results.every((r) => r.complete);
  return {
    ...first,
    verdict: withCe.length ? 'counterexample' : complete ? 'verified' : 'bounded',
    complete,
    limitedBy,
    shard: undefined,
    stats,
    collisionChance: results.reduce((sum, r) => sum + r.collisionChance, 0),
    searchSeconds: Math.max(...results.map((r) => r.searchSeconds ?? 0)),
    counterexample: withCe[0]?.counterexample,
  };
}
