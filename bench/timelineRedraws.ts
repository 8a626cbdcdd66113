/**
 * Measuring the timeline panel's page from outside, for the browser bench (the page alone in
 * Chromium) and the VS Code bench (the page in its webview, in code-server): the page's own
 * user-timing measures (src/webview/timeline.ts) read after a zoom or a pan done with the real
 * mouse wheel and keys.
 */
import type { Locator, Page } from '../test/e2e/harness';

/** Where the page's script runs: the page itself, or the frame of a webview. */
export interface Scope {
  evaluate(expression: string): Promise<any>;
}

export interface Redraw {
  redrawMs: number;
  drawMs: number;
  /** from the page's question to its answer arriving in the page */
  answerMs: number;
  /** the number of the question whose answer the redraw drew */
  answer: number;
  /** whether the page held that answer when the view moved (else it waited for it) */
  held: boolean;
}

const TIMEOUT = 120_000;
/** Wheel notches from the whole run in to about 1,000 steps. */
const ZOOMS = 12;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Waits in the page, frame by frame, until `condition` (an expression) holds. Not
 * waitForFunction: that evaluates a string inside the page, which the panel's CSP forbids.
 */
export async function waitIn(scope: Scope, condition: string): Promise<void> {
  await scope.evaluate(`new Promise((resolve, reject) => {
    const deadline = performance.now() + ${TIMEOUT};
    const check = () => (${condition}) ? resolve() : performance.now() > deadline ? reject(new Error('timed out waiting for ' + ${JSON.stringify(condition)})) : requestAnimationFrame(check);
    check();
  })`);
}

/** The page's latest measure called `name`, once there is one. */
export async function measure(scope: Scope, name: string): Promise<{ startTime: number; duration: number; detail?: { query?: number; answer?: number; held?: boolean } }> {
  await waitIn(scope, `performance.getEntriesByName(${JSON.stringify(name)}, 'measure').length > 0`);
  const list = await scope.evaluate(`performance.getEntriesByName(${JSON.stringify(name)}, 'measure').map((e) => ({ startTime: e.startTime, duration: e.duration, detail: e.detail }))`);
  return list[list.length - 1];
}

/** The page has no question on its way: what it asked for the view it shows has come. */
function settled(scope: Scope): Promise<void> {
  return waitIn(scope, `document.getElementById('timeline').dataset.asking !== 'true'`);
}

/**
 * Does `act` (a zoom or a pan) and returns the page's measure of the redraw it caused, and the
 * last frame's draw time. With `settle`, first waits for the page's question for the view it
 * shows to be answered: a person who looks at each step of a zoom before the next.
 */
async function redrawOnce(scope: Scope, act: () => Promise<void>, settle: boolean): Promise<Redraw> {
  if (settle) await settled(scope);
  await scope.evaluate(`performance.clearMeasures('timeline: view redrawn')`);
  await act();
  const m = await measure(scope, 'timeline: view redrawn');
  const draw = await measure(scope, 'timeline: draw');
  const answer = await measure(scope, 'timeline: answer');
  return { redrawMs: m.duration, drawMs: draw.duration, answerMs: answer.duration, answer: m.detail?.answer ?? 0, held: m.detail?.held === true };
}

/**
 * The redraws the benches report: from the whole run in to about 1,000 steps by the wheel
 * (a delta of 360 zooms by 1.7) over the middle of the plot, six pans by the arrow keys, back
 * out by the wheel, four times the whole run again by the keyboard (the biggest answer), and
 * four fast flicks of the wheel, three notches each, deeper than the page holds answers for.
 * With `settle`, each move waits for the page's question before it to be answered; without,
 * each comes as soon as the one before shows.
 */
export async function redrawSeries(page: Page, scope: Scope, canvas: Locator, settle: boolean): Promise<Record<Series, Redraw[]>> {
  const redraw = (act: () => Promise<void>) => redrawOnce(scope, act, settle);
  await canvas.focus();
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + (150 + box.width) / 2, box.y + Math.min(300, box.height / 2));
  const zoomIn: Redraw[] = [];
  for (let i = 0; i < ZOOMS; i++) zoomIn.push(await redraw(() => page.mouse.wheel(0, -360)));
  console.log(`  zoom in: ${shown(zoomIn)}`);
  const pans: Redraw[] = [];
  for (let i = 0; i < 6; i++) pans.push(await redraw(() => page.keyboard.press(i % 2 ? 'ArrowLeft' : 'ArrowRight')));
  console.log(`  pan: ${shown(pans)}`);
  const zoomOut: Redraw[] = [];
  for (let i = 0; i < ZOOMS; i++) zoomOut.push(await redraw(() => page.mouse.wheel(0, 360)));
  console.log(`  zoom out: ${shown(zoomOut)}`);
  const fits: Redraw[] = [];
  for (let i = 0; i < 4; i++) {
    await redraw(() => page.keyboard.press('+'));
    fits.push(await redraw(() => page.keyboard.press('0')));
  }
  console.log(`  fit: ${shown(fits)}`);
  // deeper in, three notches at a time, over another point than the notches before (whose
  // answers the page holds): past what it holds, so each asks
  await page.mouse.move(box.x + 150 + (box.width - 150) / 4, box.y + Math.min(300, box.height / 2));
  const flicks: Redraw[] = [];
  for (let i = 0; i < 4; i++) flicks.push(await redraw(() => page.mouse.wheel(0, -3 * 360)));
  console.log(`  flick in: ${shown(flicks)}`);
  return { zoomIn, pans, zoomOut, fits, flicks };
}

/** The redraws' times, those drawn from an answer held marked with "h". */
function shown(runs: Redraw[]): string {
  return `${runs.map((r) => `${r.redrawMs.toFixed(0)}${r.held ? 'h' : ''}`).join(', ')} ms`;
}

/** A kind of redraw's figures, as both benches report them. */
export function redrawFigures(label: string, runs: Redraw[]) {
  const asked = runs.filter((r) => !r.held);
  return {
    label,
    count: runs.length,
    medianMs: median(runs.map((r) => r.redrawMs)),
    maxMs: Math.max(...runs.map((r) => r.redrawMs)),
    medianDrawMs: median(runs.map((r) => r.drawMs)),
    medianAnswerMs: median(runs.map((r) => r.answerMs)),
    /** how many were drawn from an answer the page held when the view moved */
    fromHeld: runs.filter((r) => r.held).length,
    /** the median of those that waited for their question's answer, if any did */
    askedMedianMs: asked.length ? median(asked.map((r) => r.redrawMs)) : undefined,
  };
}

const SERIES_LABELS = {
  zoomIn: 'wheel zoom in, whole run to ~1,000 steps',
  pans: 'pan (arrow keys)',
  zoomOut: 'wheel zoom out back to the whole run',
  fits: 'fit the whole run (key 0)',
  flicks: 'a fast wheel flick in (3 notches at once), four times deeper',
} as const;

type Series = keyof typeof SERIES_LABELS;

/** Every kind of redraw's figures (by `figures`, redrawFigures unless a bench adds its own), in the order the series does them. */
export function allRedrawFigures<F>(series: Record<Series, Redraw[]>, figures: (label: string, runs: Redraw[]) => F): F[] {
  return (Object.keys(SERIES_LABELS) as Series[]).map((kind) => figures(SERIES_LABELS[kind], series[kind]));
}
