/**
 * The answers the timeline page holds, and what it asks for. Each answer covers a rectangle of
 * the run (steps, lanes) at a resolution; a view inside one of them, no finer than it, is drawn
 * from it in full detail without asking. Every question goes round the webview, the extension
 * host and back (tens of milliseconds, more in a remote VS Code), so the page asks for more than
 * the view shows: half a view more on either side, at twice the view's detail. The next pan,
 * the next wheel notch in and one out around the middle are then drawn at once, while the
 * question for where the view went travels.
 */
import type { TimelineView } from '../timeline/answer.js';

/** Steps, lanes and steps per pixel: what a question asks for, what an answer covers, what a view needs. */
export interface Reach {
  fromStep: number;
  toStep: number;
  resolution: number;
  fromCpu: number;
  toCpu: number;
}

/** How many answers the page keeps: the way in by the wheel, to come back out the same way. */
const HELD = 16;

/** The adapter answers per step at best (steps per pixel below 1 are answered at 1). */
function finest(resolution: number): number {
  return Math.max(1, resolution);
}

/** `held` has everything `need` shows, at least as finely. */
export function covers(held: Reach, need: Reach): boolean {
  return held.fromStep <= need.fromStep && held.toStep >= need.toStep
    && held.fromCpu <= need.fromCpu && held.toCpu >= need.toCpu
    && held.resolution <= finest(need.resolution);
}

/**
 * What a view needs drawn, within the run: its steps (none past the last recorded one) and
 * lanes. `endStep` is the last step recorded; `lastCpu` the run's last CPU.
 */
export function needOf(view: Reach, endStep: number, lastCpu: number): Reach {
  const fromStep = Math.max(0, Math.min(Math.floor(view.fromStep), endStep));
  const toStep = Math.max(fromStep, Math.min(Math.ceil(view.toStep), endStep));
  const fromCpu = Math.max(0, Math.min(view.fromCpu, lastCpu));
  const toCpu = Math.max(fromCpu, Math.min(view.toCpu, lastCpu));
  return { fromStep, toStep, resolution: finest(view.resolution), fromCpu, toCpu };
}

/**
 * A view with `side` of its width more on either side, `laneMargin` lanes more above and
 * below, `detail` times as finely, within the run.
 */
function around(view: Reach, side: number, detail: number, laneMargin: number, endStep: number, lastCpu: number): Reach {
  const more = (view.toStep - view.fromStep) * side;
  const wider = { fromStep: view.fromStep - more, toStep: view.toStep + more, resolution: view.resolution, fromCpu: view.fromCpu - laneMargin, toCpu: view.toCpu + laneMargin };
  return { ...needOf(wider, endStep, lastCpu), resolution: finest(view.resolution / detail) };
}

/** The question for a view: half its width more on either side, twice as fine, `laneMargin` lanes more above and below. */
export function questionFor(view: Reach, endStep: number, lastCpu: number, laneMargin: number): Reach {
  return around(view, 1 / 2, 2, laneMargin, endStep, lastCpu);
}

/**
 * The part of a view's question that, once held, spares a question after the view moves a
 * little: a quarter of the view on either side at half again its detail. Held answers that
 * cover this much leave the question unasked.
 */
export function enoughFor(view: Reach, endStep: number, lastCpu: number): Reach {
  return around(view, 1 / 4, 1.5, 0, endStep, lastCpu);
}

/** An answer as drawn, with what it covers. */
export interface HeldAnswer {
  /** the number of the question it answered */
  id: number;
  covered: Reach;
  view: TimelineView;
}

/** What an answer covers: its steps and resolution as the adapter answered them, its lanes. */
export function coveredBy(view: TimelineView): Reach {
  const lanes = view.lanes;
  const fromCpu = lanes.length ? lanes[0].cpu : 0;
  const toCpu = lanes.length ? lanes[lanes.length - 1].cpu : -1;
  return { fromStep: view.fromStep, toStep: view.toStep, resolution: view.resolution, fromCpu, toCpu };
}

/** The last few answers, newest first; forgotten all at once when the run changes. */
export class HeldAnswers {
  private answers: HeldAnswer[] = [];

  add(id: number, view: TimelineView): void {
    this.answers.unshift({ id, covered: coveredBy(view), view });
    if (this.answers.length > HELD) this.answers.length = HELD;
  }

  /** The newest answer that covers `need`, if one does. */
  covering(need: Reach): HeldAnswer | undefined {
    return this.answers.find((a) => covers(a.covered, need));
  }

  /**
   * What to draw, stretched, until an answer covering `need` comes: the newest answer with all
   * of its steps and lanes, however coarse, else the newest.
   */
  nearest(need: Reach): HeldAnswer | undefined {
    return this.answers.find((a) => covers({ ...a.covered, resolution: 0 }, need)) ?? this.answers[0];
  }

  forget(): void {
    this.answers = [];
  }
}
