import { Machine } from '../machine/machine.js';
import { PreparedScenario, startRun } from '../scenario/build.js';
import { ExpectationTracker } from '../scenario/expectations.js';
import { TimelineRecorder } from '../timeline/recorder.js';
import { Timeline } from './timeline.js';
import { RefTable, VariableView } from './variables.js';

/** One launched scenario: its machine, the machine's history and the views on it. A restart makes a new one. */
export class Debuggee {
  readonly m: Machine;
  readonly timeline: Timeline;
  readonly view: VariableView;
  readonly tracker: ExpectationTracker;
  /** what the timeline view draws, recorded from the events as the run goes */
  readonly recorder: TimelineRecorder;
  /** the callbacks queued when each CPU last entered the IPI handler, for WARN details */
  readonly queuedAtIpi = new Map<number, string[]>();
  /** told when a new decision in the past dropped the recorded future (a timeline shown must ask again) */
  onFutureDropped?: () => void;
  /** where a followed counterexample breaks its expectation: the run stops after that step */
  failure?: { step: number; expectation: string; detail: string; cpu?: number };

  constructor(readonly prepared: PreparedScenario, refs: RefTable) {
    const m = startRun(prepared);
    this.m = m;
    this.timeline = new Timeline(m);
    this.view = new VariableView(m, refs);
    this.tracker = new ExpectationTracker(prepared);
    m.onEvent(this.tracker.listener);
    this.recorder = new TimelineRecorder(m);
    m.onEvent(this.recorder.listener);
    this.timeline.onForget = (step) => {
      const dropped = step < this.recorder.end;
      this.recorder.forgetAfter(step);
      if (dropped) this.onFutureDropped?.();
    };
    m.onEvent((e) => {
      if (e.kind === 'ipi-receive') this.queuedAtIpi.set(e.cpu, m.queuedCallbacks(e.cpu).reverse().map((q) => m.symbol(q.func)));
    });
  }
}
