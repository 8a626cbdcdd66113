import { privateFrameCells } from '../kc/escape.js';
import { R_DEV_PENDING, R_IPI_PENDING, R_NEED_RESCHED } from '../machine/layout.js';
import { makeChooser } from '../machine/chooser.js';
import { Machine, Mark, Snapshot, StopReason } from '../machine/machine.js';
import { PreparedScenario, startRun } from '../scenario/build.js';
import { ExpectationObserver, Violation } from './observer.js';
import { settle } from './replay.js';
import { CellNumbers, EMPTY_SUMMARY, PartialSummary, PathRaces, SOURCE_SET_ACTORS, Summaries, UNKNOWN_SUMMARY } from './sourceSets.js';
import { StateTable, VisitedStates } from './visited.js';

/** Which reductions a search uses. Turning one off never changes the outcomes it finds, only its cost. */
export interface Reductions {
  /** stop at a state seen before (by its 63-bit hash) */
  stateMatching: boolean;
  /** a CPU's steps that touch only its own private cells are no interleaving points */
  localSteps: boolean;
  /**
   * with localSteps: a cell only one context (task, or interrupt depth) ever
   * touches counts as private too; learnt as the search goes, and the search
   * starts again whenever a cell turns out to be shared after all
   */
  ownedCells: boolean;
  /** sleep sets: after exploring actor a, a sibling b need not run a again until something dependent on a has run */
  sleepSets: boolean;
  /**
   * source sets (dynamic partial-order reduction): from a state, try one
   * actor first and others only where a race asks for them; used in
   * searches with state matching and no bound, on one thread
   */
  sourceSets: boolean;
}

export const ALL_REDUCTIONS: Reductions = { stateMatching: true, localSteps: true, ownedCells: true, sleepSets: true, sourceSets: true };
export const NO_REDUCTIONS: Reductions = { stateMatching: true, localSteps: false, ownedCells: false, sleepSets: false, sourceSets: false };

export interface SearchLimits {
  /** stop after this many distinct states */
  maxStates?: number;
  /** schedules with more preemptions than this are not explored */
  preemptionBound?: number;
  /** schedules longer than this many transitions are not explored (iterative deepening) */
  depthBound?: number;
}

export interface SearchStats {
  /** distinct states stored */
  states: number;
  /** transitions executed (a transition is one actor's run up to its next shared access) */
  transitions: number;
  /** machine steps executed, all transitions together */
  steps: number;
  /** paths followed to their end: the end of the run, a broken expectation, or a state explored before */
  schedules: number;
  /** the longest schedule, in machine steps */
  deepest: number;
  /** current depth of the search, in transitions */
  depth: number;
  /** transitions waiting on the search stack to be tried (updated when advance() returns) */
  frontier?: number;
  /** paths cut by a limit (preemption or depth bound) */
  cutByBound: number;
  /** times the search started again because a cell it took for private turned out shared */
  restarts: number;
  /** with source sets: actors added to a state's set because of a race */
  races?: number;
  /** with source sets: distinct summaries of what was done from a state */
  summaries?: number;
}

/** What a search looks for. */
export type SearchGoal =
  /** the first schedule that breaks an expectation */
  | 'first'
  /** the shortest such schedule within the limits (states reached again by a shorter path are explored again) */
  | 'shortest'
  /** every outcome (how runs end, with what the expectations look at), breaking expectations or not */
  | 'outcomes';

export interface SearchOptions {
  reductions?: Reductions;
  limits?: SearchLimits;
  goal?: SearchGoal;
  /** the schedule from the scenario's start to the search's root: one actor per step */
  prefix?: readonly number[];
  /** states seen by earlier searches of the same scenario (parts of one search), perhaps on other threads */
  visited?: StateTable;
  /** instead of exploring states this many transitions deep, list them in `frontier` */
  frontierDepth?: number;
  /**
   * start from this state of the scenario (a debugger's) instead of its
   * beginning, with what the expectations saw before it; timing the state's
   * own schedule drew is left to the search again
   */
  from?: { snapshot: Snapshot; observer: Int32Array };
  /**
   * when a cell taken for private turns out shared, stop (`abandoned`) instead
   * of starting again: a parallel search restarts all its threads itself
   */
  stopOnSharing?: boolean;
}

/** A broken expectation and the schedule that breaks it: one actor per machine step. */
export interface Counterexample {
  violation: Violation;
  actors: number[];
  preemptions: number;
}

/** One transition: an actor and the shared cells it touched (address * 2 + 1 if written). */
interface Transition {
  actor: number;
  footprint: Int32Array;
}

/** What source sets keep for a state on the stack. */
interface SourceSetNode {
  /** every actor that may step here, in the order the search prefers */
  enabled: number[];
  /** the state's hash, to store its summary when it is done */
  lo: number;
  hi: number;
  /** what was done from here so far (see Summaries) */
  summary: PartialSummary;
  /**
   * the shallowest stack depth of a state reached again while it was still
   * being explored (a cycle), under this one: until that state is done, what
   * follows it is missing from this summary (Infinity: none; -1: a state
   * whose summary was never complete)
   */
  missing: number;
  /**
   * set once the state tries every actor: the depth of the shallowest state
   * that began to at the same time (every state from there up to this one does)
   */
  everyActorFrom?: number;
}

/** A state on the search stack. */
interface Node {
  /** how to come back to this state; null when only one actor is to be explored from it (nothing to come back for) */
  mark: Mark | null;
  observer: Int32Array | null;
  /** actors to explore from here, in order (source sets add to it), and how many of them were tried */
  todo: number[];
  tried: number;
  source?: SourceSetNode;
  /** actors asleep here: exploring them is covered by an earlier sibling (and the same as two masks) */
  sleep: Transition[];
  sleepLo: number;
  sleepHi: number;
  /** transitions explored from here so far */
  done: Transition[];
  /** the actor that led here and how many steps it took (and the CPU that took it, after an interrupt) */
  actor: number;
  steps: number;
  then?: { actor: number; steps: number };
  /** the CPU that ran last (for counting preemptions), or -1 */
  lastCpu: number;
  preemptions: number;
  depthSteps: number;
}

/**
 * Systematic search over every schedule of a prepared scenario, depth first:
 * which CPU steps, when an IPI in flight arrives, when an `any step`
 * interrupt fires. Resumable: advance() runs a bounded amount of work and
 * says whether the search is over, so callers can report progress, honour a
 * time limit and stay responsive.
 *
 * Soundness of the reductions (each can be turned off; the test suite checks
 * the reduced search reaches the same outcomes as the unreduced one):
 * - a step touching only cells no other CPU can reach commutes with every
 *   other actor's step, and with an interrupt taken on the same CPU (the
 *   handler cannot reach them either), so it runs on without a choice point;
 * - a transition of CPU c is taken to read c's pending-interrupt and
 *   need-resched registers, so an IPI arrival or a wakeup aimed at c is
 *   dependent with it;
 * - sleep sets with a stored sleep set per state and Godefroid's revisit rule;
 * - source sets (sourceSets.ts): a state tries one actor, and another when
 *   a later transition of that actor races with the one taken from it, or
 *   when the one taken leaves that actor unable to step; a state reached
 *   again passes on the races of everything explored from it (its summary).
 */
export class ScheduleSearch {
  readonly stats: SearchStats = { states: 0, transitions: 0, steps: 0, schedules: 0, deepest: 0, depth: 0, cutByBound: 0, restarts: 0, races: 0, summaries: 0 };
  readonly outcomes = new Set<string>();
  counterexample: Counterexample | undefined;
  /** true once every schedule within the limits was explored (or a counterexample stops it) */
  finished = false;
  /** which limit cut the search, if one did */
  cutBy: 'max-states' | 'preemption-bound' | 'depth-bound' | undefined;
  /** stopped because its reductions assumed too much (with stopOnSharing): what it found means nothing */
  abandoned = false;

  readonly m: Machine;
  readonly observer: ExpectationObserver;
  private visited: StateTable = new VisitedStates();
  /** the ownership generation the search's reductions rely on; a change restarts it */
  private ownershipGeneration = 0;
  /**
   * Set when a cell taken for private turned out shared: the number of
   * transitions at which the search starts again (see sharingFound).
   */
  private restartAt: number | undefined;
  /** transitions done before the search last started */
  private transitionsAtStart = 0;
  private readonly root: { mark: Mark; observer: Int32Array; sleep: Transition[] };
  private readonly stack: Node[] = [];
  /** the node whose state the machine is in, or undefined */
  private at: Node | undefined;
  /**
   * What every transition of a CPU is taken to read besides its own
   * accesses: its pending-interrupt and need-resched registers (an interrupt
   * or a wakeup may land before any step) and whether time matters (each
   * step counts down timed events when one counts)
   */
  private readonly interruptLines: Int32Array[];
  /** the same for a timed event's transition that no CPU follows */
  private readonly timeOnly: Int32Array;

  readonly reductions: Reductions;
  readonly limits: SearchLimits;
  readonly goal: SearchGoal;
  readonly prefix: readonly number[];
  /** with frontierDepth: the schedules (one actor per step) to the states found at that depth, in the order found */
  readonly frontier: number[][] = [];
  private readonly frontierDepth: number | undefined;
  private readonly stopOnSharing: boolean;
  /**
   * Per depth of a state on the stack, the states (hash halves, in pairs)
   * done whose summaries wait on it (see done()).
   */
  private readonly waiting: number[][] = [];
  /** source sets are on: the path's races and the summaries of states done */
  private readonly sourceSets: boolean;
  private races!: PathRaces;
  private summaries!: Summaries;
  private readonly cells = new CellNumbers();
  /** with source sets: the stack depth of each state on the stack, by stateKey */
  private readonly onStack = new Map<number, number>();

  constructor(readonly p: PreparedScenario, opts: SearchOptions = {}) {
    const reductions = (this.reductions = opts.reductions ?? ALL_REDUCTIONS);
    this.limits = opts.limits ?? {};
    this.goal = opts.goal ?? 'first';
    const prefix = (this.prefix = opts.prefix ?? []);
    this.frontierDepth = opts.frontierDepth;
    this.stopOnSharing = opts.stopOnSharing ?? false;
    if (opts.visited) this.visited = opts.visited;
    const m = (this.m = p.machine);
    m.privateFrameCells = this.p.program.functions.map((f) => (reductions.localSteps ? privateFrameCells(f) : undefined));
    if (!(reductions.localSteps && reductions.ownedCells)) m.learnOwnership(false);
    else if (m.ownership === null) learnOwnership(p);
    startRun(p, { schedule: { kind: 'replay', actors: [] } });
    this.observer = new ExpectationObserver(p);
    if (opts.from) {
      m.restore(opts.from.snapshot);
      m.chooser = makeChooser({ kind: 'replay', actors: [] });
      m.leaveTimingToSchedule();
      this.observer.restore(opts.from.observer);
    }
    m.onEvent(this.observer.listener);
    for (const a of prefix) {
      settle(this.m);
      m.step(a);
    }
    settle(this.m);
    m.track();
    this.interruptLines = Array.from({ length: m.nrCpus }, (_, c) =>
      Int32Array.from([...[R_IPI_PENDING, R_DEV_PENDING, R_NEED_RESCHED].map((r) => m.reg(c, r)), m.timeMattersAddr], (a) => a * 2));
    this.timeOnly = Int32Array.of(m.timeMattersAddr * 2);
    this.root = { mark: m.mark(), observer: this.observer.state.slice(), sleep: [] };
    this.ownershipGeneration = m.ownership?.generation[0] ?? 0;
    this.sourceSets = reductions.sourceSets && reductions.stateMatching && !this.bounded() && this.frontierDepth === undefined &&
      !opts.visited && 2 * m.nrCpus + m.deviceIrqs.length <= SOURCE_SET_ACTORS;
    this.start();
  }

  private start(): void {
    this.races = new PathRaces(this.cells, 2 * this.m.nrCpus + this.m.deviceIrqs.length);
    this.summaries = new Summaries(this.cells);
    const root = this.newNode({ actor: -1, steps: 0 }, -1, 0, this.prefix.length, [...this.root.sleep]);
    if (root) this.push(root);
    else this.finished = true;
  }

  /**
   * A cell taken for private is shared: what the search explored since it
   * started may have missed interleavings, so it must start again. It looks
   * on for a quarter as long again first: cells found shared come in
   * bunches (the first path through a rarely taken branch), and each restart
   * throws away all the work before it. Whatever it finds meanwhile is real:
   * a counterexample stands; outcomes are found again after the restart.
   */
  private sharingFound(): void {
    this.ownershipGeneration = this.m.ownership?.generation[0] ?? 0;
    this.restartAt ??= this.stats.transitions + ((this.stats.transitions - this.transitionsAtStart) >> 2);
  }

  /** Forgets everything explored and starts again, with the reductions the cells now known shared allow. */
  private restart(): void {
    const m = this.m;
    this.ownershipGeneration = m.ownership?.generation[0] ?? 0;
    this.restartAt = undefined;
    this.transitionsAtStart = this.stats.transitions;
    this.stats.restarts++;
    this.stack.length = 0;
    this.onStack.clear();
    this.waiting.length = 0;
    this.visited = this.visited.restart(this.ownershipGeneration);
    this.outcomes.clear();
    this.counterexample = undefined;
    m.rewind(this.root.mark);
    this.observer.restore(this.root.observer);
    this.at = undefined;
    this.start();
  }

  /** Does up to `work` transitions. Returns true when the search is over. */
  advance(work: number): boolean {
    const stop = this.stats.transitions + work;
    while (!this.finished && this.stats.transitions < stop) this.next();
    let frontier = 0;
    for (const n of this.stack) frontier += n.todo.length - n.tried;
    this.stats.frontier = frontier;
    return this.finished;
  }

  /** Runs the search to its end. */
  run(): this {
    while (!this.advance(100000));
    return this;
  }

  /** The schedule from the scenario's start to the current top of the stack: one actor per step. */
  private path(extra?: Taken): number[] {
    const out = [...this.prefix];
    const nodes = extra ? [...this.stack.slice(1), extra] : this.stack.slice(1);
    for (const n of nodes) {
      for (let i = 0; i < n.steps; i++) out.push(n.actor);
      for (let i = 0; i < (n.then?.steps ?? 0); i++) out.push(n.then!.actor);
    }
    return out;
  }

  private next(): void {
    const node = this.stack[this.stack.length - 1];
    if (!node) {
      if (this.restartAt !== undefined) return this.restart();
      this.finished = true;
      return;
    }
    if (node.tried === node.todo.length) {
      this.stack.pop();
      this.stats.depth = this.stack.length;
      if (node.source) this.done(node.source);
      return;
    }
    const actor = node.todo[node.tried++];
    if (inMask(actor, node.sleepLo, node.sleepHi)) return;
    this.goTo(node);
    const preemptions = node.preemptions + (this.isPreemption(node, actor) ? 1 : 0);
    if (this.limits.preemptionBound !== undefined && preemptions > this.limits.preemptionBound) {
      this.stats.cutByBound++;
      this.cutBy ??= 'preemption-bound';
      return;
    }
    const { steps, then, footprint, ended } = this.runTransition(actor, node.depthSteps);
    this.at = undefined;
    this.stats.transitions++;
    if (this.ownershipGeneration !== (this.m.ownership?.generation[0] ?? 0)) {
      if (this.stopOnSharing) {
        this.abandoned = this.finished = true;
        return;
      }
      this.sharingFound();
    }
    if (this.restartAt !== undefined && this.stats.transitions >= this.restartAt) return this.restart();
    // the actors that may step now: what the transition disabled, and the next state's choices
    const actorsAfter = this.m.actors();
    if (node.source) this.followRaces(node.source, actor, footprint, actorsAfter);
    const t: Transition = { actor, footprint };
    const childSleep: Transition[] = [];
    if (this.sleepSetsOn()) {
      for (const s of node.sleep) if (independent(s.footprint, footprint)) childSleep.push(s);
      for (const s of node.done) if (independent(s.footprint, footprint)) childSleep.push(s);
    }
    if (actor < 64) node.done.push(t);
    const depthSteps = node.depthSteps + steps + (then?.steps ?? 0);
    if (depthSteps > this.stats.deepest) this.stats.deepest = depthSteps;
    const lastCpu = then ? then.actor : actor < this.m.nrCpus ? actor : node.lastCpu;
    const taken: Taken = { actor, steps, then };

    const broken = this.observer.broken;
    if (broken && this.goal !== 'outcomes') return this.found(broken, taken, preemptions);
    if (ended) {
      if (node.source) this.races.pop();
      return this.endOfRun(ended, taken, preemptions);
    }
    if (this.goal === 'shortest' && this.counterexample && depthSteps >= this.counterexample.actors.length) {
      this.stats.schedules++;
      return;
    }
    if (this.limits.depthBound !== undefined && this.stack.length >= this.limits.depthBound) {
      this.stats.cutByBound++;
      this.stats.schedules++;
      this.cutBy ??= 'depth-bound';
      return;
    }
    if (this.frontierDepth !== undefined && this.stack.length >= this.frontierDepth) {
      if (this.isNewState()) this.frontier.push(this.path(taken));
      return;
    }
    const child = this.newNode(taken, lastCpu, preemptions, depthSteps, childSleep, actorsAfter);
    if (child) this.push(child);
    else {
      this.stats.schedules++;
      if (node.source) this.races.pop();
    }
  }

  /**
   * Source sets, for a transition just run from the top of the stack: the
   * states before the transitions it races with must try its actor too. It
   * joins the path (until its state is done) and what was done from `from`.
   */
  private followRaces(from: SourceSetNode, actor: number, footprint: Int32Array, actorsAfter: Int32Array): void {
    this.disabledBy(from, actor, actorsAfter);
    const clock = this.races.racesOf(actor, footprint, this.onRace);
    this.races.push(actor, footprint, clock);
    from.summary.taken.push({ actor, footprint });
  }

  /**
   * An actor that could step before the transition and cannot after it
   * (an interrupt whose CPU turned interrupts off, an IPI that stays in
   * flight) never ran to show a race: the state before tries it too.
   */
  private disabledBy(from: SourceSetNode, actor: number, after: Int32Array): void {
    const q = this.stack.length - 1;
    for (const a of from.enabled) if (a !== actor && !after.includes(a)) this.onRace(q, a);
  }

  /** A race with the transition at path position q: the state before it tries `actor` too. */
  private readonly onRace = (q: number, actor: number): void => {
    const node = this.stack[q];
    if (node.source!.everyActorFrom !== undefined) return;
    if (node.todo.includes(actor) || inMask(actor, node.sleepLo, node.sleepHi)) return;
    const enabled = node.source!.enabled;
    if (enabled.includes(actor)) return this.addToSourceSet(node, actor);
    // a timed event the transition itself set going (an IPI it sent) was never ready before it
    const after = this.stack[q + 1]?.source?.enabled;
    if (actor >= this.m.nrCpus && after?.includes(actor)) return;
    // else what can go first towards the other order: the first step that does not depend on q's
    const first = this.races.firstIndependentAfter(q);
    if (first >= 0 && enabled.includes(first)) return this.addToSourceSet(node, first);
    this.tryEveryActorFrom(q, q);
  };

  /**
   * Source sets know nothing better for the states on the stack from depth
   * `from` to `to`: each tries every actor that is awake there. A stretch
   * that does already is passed over.
   */
  private tryEveryActorFrom(from: number, to = this.stack.length - 1): void {
    for (let i = to; i >= from; ) {
      const source = this.stack[i].source!;
      if (source.everyActorFrom !== undefined) {
        i = source.everyActorFrom - 1;
        continue;
      }
      for (const a of source.enabled) this.addToSourceSet(this.stack[i], a);
      source.everyActorFrom = from;
      i--;
    }
  }

  /** The state tries `actor` too, unless it does already or the actor sleeps there. */
  private addToSourceSet(node: Node, actor: number): void {
    if (node.todo.includes(actor) || inMask(actor, node.sleepLo, node.sleepHi)) return;
    node.todo.push(actor);
    this.stats.races = (this.stats.races ?? 0) + 1;
  }

  /**
   * A state explored before was reached again: what was done from it follows
   * this path too, so its races with the path count. A state whose summary
   * is not known yet (still on the stack, or waiting on one that is) leads
   * back to that state on the stack: a cycle.
   */
  private reachedAgain(entry: number, lo: number, hi: number): void {
    const top = this.stack[this.stack.length - 1];
    const summary = this.visited.summary!(entry);
    if (summary === UNKNOWN_SUMMARY || summary < 0) {
      // the races with the path up to that state are found while exploring it; the rest are not known
      const depth = summary < 0 ? waitedOn(summary) : this.onStack.get(stateKey(lo, hi)) ?? -1;
      this.tryEveryActorFrom(Math.max(depth, 0));
      top.source!.missing = Math.min(top.source!.missing, depth);
      return;
    }
    this.races.racesWithSummary(this.summaries.get(summary), this.summaries.cellsOf(summary), this.onRace);
    top.source!.summary.reached.push(summary);
  }

  /**
   * Every actor the state's set asked for was explored. What was done from
   * it joins its parent's summary. When nothing below led back to a state
   * above it, that is its summary for good, and also that of the states
   * whose summary waited on it. Otherwise it and they wait on the shallowest
   * state it led back to: everything reachable from them is reachable from
   * that one, whose summary they take when it is done.
   */
  private done(source: SourceSetNode): void {
    const depth = this.stack.length;
    if (this.onStack.get(stateKey(source.lo, source.hi)) === depth) this.onStack.delete(stateKey(source.lo, source.hi));
    const explored = this.summaries.finish(source.summary);
    this.stats.summaries = this.summaries.count;
    const waiting = (this.waiting[depth] ??= []);
    waiting.push(source.lo, source.hi);
    const waitsOn = source.missing < depth && source.missing >= 0 ? source.missing : undefined;
    this.setSummaries(waiting, source.missing >= depth ? explored : waitsOn !== undefined ? waitingOn(waitsOn) : UNKNOWN_SUMMARY);
    if (waitsOn !== undefined) for (const half of waiting) (this.waiting[waitsOn] ??= []).push(half);
    waiting.length = 0;
    const parent = this.stack[depth - 1]?.source;
    if (parent) {
      parent.summary.reached.push(explored);
      if (source.missing < depth) parent.missing = Math.min(parent.missing, source.missing);
    }
    if (depth > 0) this.races.pop();
  }

  /** Gives the states (hash halves, in pairs) a summary's number. */
  private setSummaries(states: readonly number[], summary: number): void {
    for (let i = 0; i < states.length; i += 2) {
      const entry = this.visited.find(states[i], states[i + 1]);
      if (entry >= 0) this.visited.setSummary!(entry, summary);
    }
  }

  /**
   * A node for the state the machine is in, or undefined when the state was
   * explored before with nothing left to add (or a limit stops here).
   */
  private newNode(taken: Taken, lastCpu: number, preemptions: number, depthSteps: number, sleep: Transition[], actors = this.m.actors()): Node | undefined {
    const m = this.m;
    const enabled = this.orderedActors(lastCpu, actors);
    let todo = enabled;
    let previous = EMPTY_SUMMARY;
    const [lo, hi] = this.reductions.stateMatching ? this.stateHash() : [0, 0];
    const bound = this.bound(preemptions, depthSteps);
    if (this.reductions.stateMatching) {
      const [sleepLo, sleepHi] = sleepMask(sleep);
      const v = this.visited;
      const seen = v.find(lo, hi);
      if (seen < 0) {
        if (this.limits.maxStates !== undefined && this.visited.size >= this.limits.maxStates) {
          this.cutBy ??= 'max-states';
          this.finished = true;
          return undefined;
        }
        this.visited.add(lo, hi, sleepLo, sleepHi, bound);
        this.stats.states = this.visited.size;
      } else if (this.bounded()) {
        // reached again with less of the bound used: explore it again, fully
        if (v.bound(seen) <= bound) return undefined;
        v.update(seen, sleepLo, sleepHi, bound);
      } else {
        if (this.sourceSets) this.reachedAgain(seen, lo, hi);
        // explored before with sleep set Z_old: only what slept then and is awake now is new
        const wakeLo = v.sleepLo(seen) & ~sleepLo;
        const wakeHi = v.sleepHi(seen) & ~sleepHi;
        if (!wakeLo && !wakeHi) return undefined;
        todo = todo.filter((a) => inMask(a, wakeLo, wakeHi));
        if (!todo.length) return undefined;
        if (this.sourceSets) previous = v.summary!(seen);
        v.update(seen, v.sleepLo(seen) & sleepLo, v.sleepHi(seen) & sleepHi, 0);
        // being explored again: no summary until it is done again
        if (this.sourceSets) v.setSummary!(seen, UNKNOWN_SUMMARY);
      }
    }
    const [sleepLo, sleepHi] = sleepMask(sleep);
    let awake = 0;
    for (const a of enabled) if (!inMask(a, sleepLo, sleepHi)) awake++;
    const keep = awake > 1;
    let source: SourceSetNode | undefined;
    if (this.sourceSets) {
      // a new state tries its first awake actor; races add the others it needs
      if (todo === enabled) todo = firstAwake(enabled, sleepLo, sleepHi);
      const summary = new PartialSummary();
      if (previous > UNKNOWN_SUMMARY) summary.reached.push(previous);
      source = { enabled, lo, hi, summary, missing: this.missingFromStart(previous, lo, hi) };
    }
    return {
      mark: keep ? m.mark() : null, observer: keep ? this.observer.state.slice() : null,
      todo, tried: 0, source, sleep, sleepLo, sleepHi, done: [], actor: taken.actor, steps: taken.steps, then: taken.then, lastCpu, preemptions, depthSteps,
    };
  }

  /**
   * In a bounded search (by preemptions, depth, or the length of the
   * shortest counterexample so far) a state reached again with less of the
   * bound used is explored again: this is how much was used.
   */
  private bound(preemptions: number, depthSteps: number): number {
    if (this.goal === 'shortest') return preemptions * 0x100000 + Math.min(depthSteps, 0xfffff);
    if (this.limits.preemptionBound !== undefined) return preemptions;
    if (this.limits.depthBound !== undefined) return this.stack.length;
    return 0;
  }

  private bounded(): boolean {
    return this.goal === 'shortest' || this.limits.preemptionBound !== undefined || this.limits.depthBound !== undefined;
  }

  /** Whether the machine's state was not seen before (and remembers it). */
  private isNewState(): boolean {
    const [lo, hi] = this.stateHash();
    if (this.visited.find(lo, hi) >= 0) return false;
    this.visited.add(lo, hi, 0, 0, 0);
    return true;
  }

  /**
   * Sleep sets are used only in unbounded searches (pruning by a bound on top
   * of them can miss schedules within the bound) and only for actors 0..63,
   * the ones a stored sleep set can name.
   */
  private sleepSetsOn(): boolean {
    return this.reductions.sleepSets && !this.bounded() && this.frontierDepth === undefined;
  }

  /**
   * A state explored again starts its summary from what was done from it
   * before; when that is not known yet, it cannot be complete before the
   * state it waits on (or, on the stack already, the outer visit) is done.
   */
  private missingFromStart(previous: number, lo: number, hi: number): number {
    if (previous < 0) return waitedOn(previous);
    if (previous !== UNKNOWN_SUMMARY) return Infinity;
    return this.onStack.get(stateKey(lo, hi)) ?? -1;
  }

  private push(n: Node): void {
    const key = n.source && stateKey(n.source.lo, n.source.hi);
    if (key !== undefined && !this.onStack.has(key)) this.onStack.set(key, this.stack.length);
    this.stack.push(n);
    this.at = n;
    this.stats.depth = this.stack.length;
  }

  /** Puts the machine (and the observer) in the node's state. */
  private goTo(n: Node): void {
    if (this.at === n) return;
    if (!n.mark || !n.observer) throw new Error('internal: a search came back to a state it kept no mark for');
    this.m.rewind(n.mark);
    this.observer.restore(n.observer);
    this.at = n;
  }

  /** The state's 63-bit hash: memory, the observer, spin bookkeeping. */
  private stateHash(): [number, number] {
    const t = this.m.tracking!;
    const [olo, ohi] = this.observer.hash();
    const [slo, shi] = this.m.spinHash();
    return [t.hashLo ^ olo ^ slo, t.hashHi ^ ohi ^ shi];
  }

  /**
   * The actors that may step, in the order the search tries them: the CPU
   * that ran last first (no preemption), then the other CPUs, then timed events.
   */
  private orderedActors(lastCpu: number, enabled: Int32Array): number[] {
    const out: number[] = [];
    if (lastCpu >= 0 && enabled.includes(lastCpu)) out.push(lastCpu);
    for (let i = 0; i < enabled.length; i++) if (enabled[i] !== lastCpu) out.push(enabled[i]);
    return out;
  }

  private isPreemption(n: Node, actor: number): boolean {
    return actor < this.m.nrCpus && n.lastCpu >= 0 && actor !== n.lastCpu && this.m.canRun(n.lastCpu);
  }

  /**
   * Runs one transition: the actor's steps up to and including its first
   * step that touches a shared cell (or its only step, for a timed event),
   * then lets time pass if nothing else can step. Says how the run ended if it did.
   *
   * A timed event whose CPU can step is followed at once by that CPU's
   * transition (taking the interrupt). Only that CPU ever reads the pending
   * bit the event sets, so the event happening earlier, with other CPUs'
   * steps between, is the same run reordered: the search need not try it.
   * Standing alone, a timed event is explored only to wake a CPU that waits.
   */
  private runTransition(actor: number, depthSteps: number): Taken & { footprint: Int32Array; ended?: StopReason } {
    const m = this.m;
    const t = m.tracking!;
    t.clearAccesses();
    const steps = this.runSteps(actor, depthSteps);
    let then: Taken['then'];
    if (actor >= m.nrCpus && !m.stopReason && !this.observer.broken) {
      const cpu = m.timerTarget(actor);
      if (m.canRun(cpu)) then = { actor: cpu, steps: this.runSteps(cpu, depthSteps + steps) };
    }
    const total = steps + (then?.steps ?? 0);
    this.stats.steps += total;
    const budget = this.p.maxSteps;
    let ended: StopReason | undefined = m.stopReason;
    if (!ended && depthSteps + total >= budget) ended = { kind: 'budget', message: `step budget of ${budget} steps used up; ${m.describeCpus()}` };
    if (!ended) ended = settle(this.m);
    const cpu = then ? then.actor : actor;
    const lines = cpu < m.nrCpus ? this.interruptLines[cpu] : this.timeOnly;
    const footprint = new Int32Array(t.accessCount + lines.length);
    footprint.set(t.accesses.subarray(0, t.accessCount));
    footprint.set(lines, t.accessCount);
    return { actor, steps, then, footprint, ended };
  }

  /** An actor's steps up to and including its first that touches a shared cell (a timed event: its one step). */
  private runSteps(actor: number, depthSteps: number): number {
    const m = this.m;
    const t = m.tracking!;
    const before = t.accessCount;
    const budget = this.p.maxSteps;
    let steps = 0;
    for (;;) {
      m.step(actor);
      steps++;
      if (m.stopReason || this.observer.broken || t.accessCount > before) break;
      if (actor >= m.nrCpus || !this.reductions.localSteps || !m.canRun(actor)) break;
      if (depthSteps + steps >= budget) break;
    }
    return steps;
  }

  private endOfRun(stop: StopReason, last: { actor: number; steps: number }, preemptions: number): void {
    this.stats.schedules++;
    if (this.goal === 'outcomes') {
      this.outcomes.add(this.observer.outcome(this.m, stop));
      return;
    }
    const v = this.observer.judgeEnd(this.m, stop);
    if (v) this.found(v, last, preemptions);
  }

  private found(v: Violation, last: { actor: number; steps: number }, preemptions: number): void {
    this.stats.schedules++;
    const actors = this.path(last);
    if (this.goal === 'shortest') {
      if (!this.counterexample || actors.length < this.counterexample.actors.length) this.counterexample = { violation: v, actors, preemptions };
      return;
    }
    this.counterexample = { violation: v, actors, preemptions };
    this.finished = true;
  }
}

/**
 * A first guess at which cells only one context touches, from a few seeded
 * random runs; searches of the scenario correct it as they go and keep it.
 */
export function learnOwnership(p: PreparedScenario, firstSeed = 1): void {
  const m = p.machine;
  m.learnOwnership(true);
  for (let seed = firstSeed; seed < firstSeed + 8; seed++) {
    startRun(p, { schedule: { kind: 'random', seed } });
    m.track();
    m.run(p.maxSteps);
  }
}

/** What a transition took: an actor's steps, and after a timed event, its CPU's. */
interface Taken {
  actor: number;
  steps: number;
  then?: { actor: number; steps: number };
}

/** No cell is written by one transition and read or written by the other. */
export function independent(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    for (let j = 0; j < b.length; j++) {
      const y = b[j];
      if ((x >> 1) === (y >> 1) && ((x | y) & 1)) return false;
    }
  }
  return true;
}

/** The first actor not asleep, as a list of one (or none). */
function firstAwake(actors: readonly number[], sleepLo: number, sleepHi: number): number[] {
  for (const a of actors) if (!inMask(a, sleepLo, sleepHi)) return [a];
  return [];
}

/**
 * A summary field's value for a state done whose summary waits on the state
 * at stack depth `depth` (negative, unlike summary numbers).
 */
function waitingOn(depth: number): number {
  return -2 - depth;
}

function waitedOn(summaryField: number): number {
  return -2 - summaryField;
}

/** A state's hash as one number, 53 of its bits (for a map of the states on the stack). */
function stateKey(lo: number, hi: number): number {
  return (lo >>> 0) * 0x200000 + (hi >>> 11);
}

function sleepMask(sleep: readonly Transition[]): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const t of sleep) {
    if (t.actor < 32) lo |= 1 << t.actor;
    else if (t.actor < 64) hi |= 1 << (t.actor - 32);
  }
  return [lo, hi];
}

function inMask(actor: number, lo: number, hi: number): boolean {
  return actor < 32 ? ((lo >>> actor) & 1) === 1 : actor < 64 ? ((hi >>> (actor - 32)) & 1) === 1 : false;
}
