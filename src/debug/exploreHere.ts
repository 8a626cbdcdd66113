import { ExpectationObserver } from '../explore/observer.js';
import { ScheduleSearch } from '../explore/search.js';
import { loadScenarioFile } from '../scenario/build.js';
import { Debuggee } from './debuggee.js';
import { LaunchPlan } from './launch.js';
import { Pace, Pacer } from './pacer.js';

/** What Explore from Here answers. */
export interface ExploreFromHereResult {
  verdict: 'verified' | 'counterexample' | 'bounded';
  states: number;
  transitions: number;
  limitedBy: string[];
  counterexample?: { expectation: string; line?: number; detail: string; steps: number; failingStep?: number };
  /** the session follows the counterexample (false when it moved on while the search ran) */
  following?: boolean;
}

/** Transitions between two turns of the event loop (and progress reports). */
const SLICE = 2000;
/** Unless the request says otherwise, a search from here stops after this many states. */
const DEFAULT_MAX_STATES = 2_000_000;

/** A pace that never gives the event loop a turn: for a short replay that must not be interleaved with requests. */
const AT_ONCE: Pace = { due: () => false, turn: async () => true };

/**
 * Explore from Here: every continuation of the state the session is stopped
 * in, searched on a second copy of the scenario so the debugger's machine
 * stays where it is. What the expectations saw before this step counts (a
 * WARN already fired breaks `expect no warning` in every continuation). With
 * a counterexample, the session follows it from here.
 */
export class ExploreFromHere {
  private pace?: Pacer;

  /** Stops a search in progress; it answers with what it covered. */
  cancel(): void {
    this.pace?.stop();
  }

  async run(d: Debuggee, plan: LaunchPlan, maxStates: number | undefined, progress: (states: number, transitions: number) => void, idle: () => boolean): Promise<ExploreFromHereResult> {
    const here = d.m.steps;
    const observer = new ExpectationObserver(d.prepared);
    const off = d.m.onEvent(observer.listener);
    try {
      await d.timeline.replayFromStart(here, AT_ONCE);
    } finally {
      off();
    }
    const { prepared, diagnostics } = loadScenarioFile(plan.scenario, plan.overrides);
    if (!prepared) throw new Error(`the scenario no longer loads: ${diagnostics.map((x) => x.message).join('; ')}`);
    const search = new ScheduleSearch(prepared, {
      from: { snapshot: d.m.snapshot(), observer: observer.state }, limits: { maxStates: maxStates ?? DEFAULT_MAX_STATES },
    });
    const pace = (this.pace = new Pacer());
    let last = 0;
    while (!search.advance(SLICE)) {
      const now = performance.now();
      if (now - last > 250) {
        progress(search.stats.states, search.stats.transitions);
        last = now;
      }
      if (!(await pace.turn())) break;
    }
    this.pace = undefined;
    const limitedBy = pace.isStopped && !search.finished ? ['cancel'] : search.cutBy ? [search.cutBy] : [];
    const ce = search.counterexample;
    const result: ExploreFromHereResult = {
      verdict: ce ? 'counterexample' : limitedBy.length ? 'bounded' : 'verified',
      states: search.stats.states, transitions: search.stats.transitions, limitedBy,
    };
    if (!ce) return result;
    const v = ce.violation;
    result.counterexample = { expectation: v.expectation, line: v.line, detail: v.detail, steps: ce.actors.length, failingStep: v.step };
    result.following = idle() && d.m.steps === here;
    if (!result.following) return result;
    d.timeline.follow(ce.actors);
    // an expectation judged at the end of the run is judged by the end-of-run stop
    if (v.step !== undefined) d.failure = { step: v.step, expectation: v.expectation, detail: v.detail, cpu: v.cpu };
    return result;
  }
}
