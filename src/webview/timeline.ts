/// <reference lib="dom" />
/**
 * The timeline panel's page: keeps the viewport (a step range), asks the
 * extension for what it shows, draws it, and turns clicks and keys into
 * zooming, panning and travelling in time. Everything it draws comes from the
 * debug adapter's `timeline` answer; it computes nothing about the run.
 */
import { ArrowView, MarkerView, expandTimeline } from '../timeline/answer.js';
import type { PanelMessage, TimelineBody, ViewMessage } from './messages.js';
import { DrawState, Geometry, Hit, draw, hitTest } from './draw.js';
import { HeldAnswers, Reach, enoughFor, needOf, questionFor } from './heldAnswers.js';
import { Questions } from './questions.js';
import { Measures } from './measures.js';
import { Theme, readTheme } from './theme.js';

declare function acquireVsCodeApi(): { postMessage(m: ViewMessage): void };

const vscode = acquireVsCodeApi();
const canvas = document.getElementById('timeline') as HTMLCanvasElement;
const scroller = document.getElementById('scroller') as HTMLDivElement;
const lanesBelow = document.getElementById('lanesBelow') as HTMLDivElement;
const tooltip = document.getElementById('tooltip') as HTMLDivElement;
const status = document.getElementById('status') as HTMLSpanElement;
const message = document.getElementById('message') as HTMLDivElement;
const ctx = canvas.getContext('2d')!;

/** The fewest steps the view spans: zoomed in all the way, a step is wide. */
const MIN_SPAN = 8;

const state: DrawState & { from: number; to: number; following: boolean; lanes: number } = {
  currentStep: 0,
  endStep: 0,
  from: 0,
  to: 100,
  /** the view shows the whole run and keeps doing so as it grows */
  following: true,
  lanes: 0,
};
let theme: Theme = readTheme();
let drawScheduled = false;

/** What the page measures of itself (measures.ts). */
const measures = new Measures();
/** The answers held, and whether the one drawn shows the view in full detail. */
const held = new HeldAnswers();
let drawn: { answer: number; fullDetail: boolean } = { answer: 0, fullDetail: false };

function geometry(): Geometry {
  return new Geometry(scroller.clientWidth, scroller.clientHeight, state.lanes, state.from, state.to, scroller.scrollTop);
}

// ---- drawing

function scheduleDraw(): void {
  if (drawScheduled) return;
  drawScheduled = true;
  requestAnimationFrame(() => {
    drawScheduled = false;
    redraw();
  });
}

function redraw(): void {
  const g = geometry();
  sizeCanvas(g);
  const drawStart = performance.now();
  draw(ctx, g, state, theme);
  measures.drawn(drawStart, drawn.answer, drawn.fullDetail);
  // where things are, for whoever drives the page without eyes (tests, tools)
  canvas.dataset.fromStep = String(g.from);
  canvas.dataset.toStep = String(g.to);
  canvas.dataset.plotLeft = String(Geometry.GUTTER);
  canvas.dataset.plotWidth = String(g.plotWidth);
  canvas.dataset.laneTop = String(g.laneTop(0));
  canvas.dataset.laneHeight = String(Geometry.LANE);
  canvas.dataset.answer = String(drawn.answer);
  canvas.dataset.fullDetail = String(drawn.fullDetail);
  canvas.setAttribute('aria-label', describe());
  const focus = state.focusCpu === undefined ? '' : ` · CPU${state.focusCpu} selected`;
  status.textContent = `step ${state.currentStep} of ${state.endStep}${focus} · showing ${Math.floor(g.from)}–${Math.ceil(g.to)}`;
}

/**
 * The canvas covers what shows of the panel, no more (Chromium's canvas costs per pixel); the
 * space below it makes the scrollbar as long as all the lanes, which scroll under the canvas
 * as it stays on top.
 */
function sizeCanvas(g: Geometry): void {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.max(1, g.width);
  const h = Math.max(1, g.height);
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
  }
  lanesBelow.style.height = `${Math.max(0, g.contentHeight - h)}px`;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
}

/** Scrolls the lanes so CPU `cpu`'s shows whole (after choosing it by key or in the Call Stack). */
function revealLane(cpu: number | undefined): void {
  if (cpu === undefined) return;
  const top = cpu * Geometry.LANE;
  const visible = scroller.clientHeight - Geometry.AXIS;
  if (top < scroller.scrollTop) scroller.scrollTop = top;
  else if (top + Geometry.LANE > scroller.scrollTop + visible) scroller.scrollTop = top + Geometry.LANE - visible;
}

/** The canvas's text alternative: the lanes, arrows and markers in view. */
function describe(): string {
  const d = state.data;
  if (!d) return 'Timeline: no data yet';
  const shown = d.lanes.length < state.lanes ? ` (${d.lanes.length} of ${state.lanes} near the view; scroll for the others)` : '';
  const lanes = d.lanes.map((l) => l.name).join('; ') + shown;
  const arrows = listed(d.arrows.map(arrowText));
  const markers = listed(d.markers.map((m) => `${m.label} on CPU${m.cpu} at step ${m.step}`));
  return `Timeline at step ${state.currentStep}. Lanes: ${lanes}. Arrows: ${arrows || 'none'}. Markers: ${markers || 'none'}.`;
}

/** Items said one by one up to a few dozen, then how many more (zooming in says them). */
function listed(items: string[]): string {
  const SAID = 40;
  const more = items.length > SAID ? `; and ${items.length - SAID} more: zoom in to hear them` : '';
  return items.slice(0, SAID).join('; ') + more;
}

function arrowText(a: ArrowView): string {
  const what = a.kind === 'ipi' ? `IPI from ${a.label}` : `csd ${a.label}`;
  const to = a.toStep === undefined ? `still on its way to CPU${a.toCpu}` : `${a.lost ? 'lost at' : 'into'} CPU${a.toCpu} at step ${a.toStep}`;
  return `${what} from CPU${a.fromCpu} at step ${a.fromStep} ${to}`;
}

// ---- asking the adapter

/** Lanes asked for above and below those in view, so a small scroll draws from the answer held. */
const LANE_MARGIN = 4;

/** The view as it is now: its steps, its lanes in view, its steps per pixel. */
function viewReach(): Reach {
  const g = geometry();
  return { fromStep: g.from, toStep: g.to, resolution: (g.to - g.from) / g.plotWidth, fromCpu: g.firstLaneInView, toCpu: g.lastLaneInView };
}

/**
 * The view moved, grew or shrank, or the answers held changed: it is drawn from the answer that
 * shows it in full detail if one is held, else from the best there is until the question for it
 * is answered.
 */
function viewMoved(): void {
  chooseAnswer();
  scheduleDraw();
  questions.want();
}

/** The answer to draw: one covering the view in full, else one covering its steps and lanes, else the newest. */
function chooseAnswer(): void {
  const need = needOf(viewReach(), state.endStep, state.lanes - 1);
  const full = held.covering(need);
  const best = full ?? held.nearest(need);
  if (best) state.data = best.view;
  drawn = { answer: best?.id ?? 0, fullDetail: full !== undefined };
}

/** The questions for the views, as they move (questions.ts). */
const questions = new Questions({
  enough: () => (state.lanes > 0 ? enoughFor(viewReach(), state.endStep, state.lanes - 1) : undefined),
  question: () => questionFor(viewReach(), state.endStep, state.lanes - 1, LANE_MARGIN),
  held,
  send: (id, q) => {
    measures.asked(id);
    vscode.postMessage({ type: 'query', id, ...q });
  },
  // said on the canvas for whoever waits for the page to settle
  onTheirWay: (count) => (canvas.dataset.asking = String(count > 0)),
});

function receiveView(id: number, body: TimelineBody): void {
  measures.answered(id);
  if (questions.answered(id)) {
    held.add(id, expandTimeline(body));
    state.lanes = body.nrCpus;
    state.currentStep = body.currentStep;
    state.endStep = body.endStep;
  }
  hideMessage();
  viewMoved();
}

/** The run grew, travelled or lost its future: nothing held may be drawn as it is. */
function forgetAnswers(): void {
  held.forget();
  questions.forget();
}

// ---- the viewport

/** The whole run, a little wider than its end so the cursor and a marker at the end show. */
function fitAll(): void {
  state.following = true;
  const span = Math.max(MIN_SPAN * 4, state.endStep * 1.06);
  setView(0, span);
}

function setView(from: number, to: number): void {
  let span = Math.max(MIN_SPAN, to - from);
  const limit = Math.max(MIN_SPAN * 4, state.endStep * 1.5);
  if (span > limit) span = limit;
  let f = from;
  f = Math.max(-span * 0.25, Math.min(f, Math.max(state.endStep, span) - span * 0.75));
  state.from = f;
  state.to = f + span;
  measures.viewChanged();
  viewMoved();
}

/** Zooms around a step: by default the cursor when it is in view, else the middle of the view. */
function zoom(factor: number, aroundStep = cursorInView() ? state.currentStep : (state.from + state.to) / 2): void {
  state.following = false;
  const from = aroundStep - (aroundStep - state.from) * factor;
  const to = aroundStep + (state.to - aroundStep) * factor;
  setView(from, to);
}

function pan(fraction: number): void {
  state.following = false;
  const d = (state.to - state.from) * fraction;
  setView(state.from + d, state.to + d);
}

function cursorInView(): boolean {
  return state.currentStep >= state.from && state.currentStep <= state.to;
}

/** After a travel the cursor may be outside the view: bring it back to the middle. */
function keepCursorInView(): void {
  if (cursorInView()) return;
  const span = state.to - state.from;
  setView(state.currentStep - span / 2, state.currentStep + span / 2);
}

// ---- going somewhere

function travel(step: number, cpu: number): void {
  const target = Math.max(0, Math.min(state.endStep, Math.round(step)));
  vscode.postMessage({ type: 'travel', step: target, cpu });
}

function allMarkers(): MarkerView[] {
  return state.data?.markers ?? [];
}

/** The next (or previous) marker from the current step, in the view or not: asks for the whole run's. */
function travelToMarker(direction: 1 | -1): void {
  const candidates = allMarkers()
    .filter((m) => (direction > 0 ? m.step > state.currentStep : m.step < state.currentStep))
    .sort((a, b) => direction * (a.step - b.step));
  const m = candidates[0];
  if (m) travel(m.step, m.cpu);
  else showStatus(direction > 0 ? 'no marker after this step in view' : 'no marker before this step in view');
}

function showStatus(text: string): void {
  status.textContent = text;
}

function showMessage(text: string): void {
  message.textContent = text;
  message.hidden = false;
}

function hideMessage(): void {
  message.hidden = true;
}

// ---- hover

function tooltipText(hit: Hit): string {
  const fields = (f: Record<string, string>) => Object.entries(f).map(([k, v]) => `  ${k}: ${v}`).join('\n');
  switch (hit.kind) {
    case 'marker': {
      const m = hit.marker;
      return `${m.label}\nCPU${m.cpu} · step ${m.step}${m.count && m.count > 1 ? ` · ${m.count} here` : ''}\n${fields(m.fields)}\nclick: go to step ${m.step}`;
    }
    case 'arrow':
      return `${arrowText(hit.arrow)}${hit.arrow.count && hit.arrow.count > 1 ? ` (${hit.arrow.count} alike here)` : ''}\n${hit.arrow.fields ? fields(hit.arrow.fields) : 'zoom in to see its fields'}`;
    case 'span': {
      const sp = hit.span;
      const what = { run: 'runs', irqsOff: 'interrupts', hotplug: 'hotplug state', stopMachine: 'stop-machine state' }[hit.layer] ?? hit.layer;
      const merged = sp.merged ? `\n${sp.merged} changes within a pixel: zoom in to see them` : '';
      return `CPU${hit.cpu} ${what}: ${sp.label}\nsteps ${sp.from}–${sp.to} (${sp.to - sp.from} steps)${merged}`;
    }
    case 'lane':
      return `CPU${hit.cpu}`;
  }
}

function showTooltip(e: MouseEvent): void {
  const rect = canvas.getBoundingClientRect();
  const g = geometry();
  const x = e.clientX - rect.left;
  const hit = hitTest(g, state, x, e.clientY - rect.top);
  if (!hit || hit.kind === 'lane') {
    tooltip.hidden = true;
    return;
  }
  tooltip.textContent = `${tooltipText(hit)}\n(step ${Math.round(g.stepAt(x))})`;
  tooltip.hidden = false;
  const left = Math.min(e.clientX + 14, window.innerWidth - tooltip.offsetWidth - 4);
  const top = e.clientY + 16 + tooltip.offsetHeight > window.innerHeight ? e.clientY - tooltip.offsetHeight - 8 : e.clientY + 16;
  tooltip.style.left = `${Math.max(0, left)}px`;
  tooltip.style.top = `${Math.max(0, top)}px`;
}

// ---- input

let drag: { x: number; from: number; to: number; moved: boolean } | undefined;

canvas.addEventListener('mousedown', (e) => {
  if (e.button !== 0) return;
  drag = { x: e.clientX, from: state.from, to: state.to, moved: false };
});

window.addEventListener('mousemove', (e) => {
  if (drag) {
    const dx = e.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    if (drag.moved) {
      canvas.classList.add('panning');
      state.following = false;
      const steps = (dx * (drag.to - drag.from)) / geometry().plotWidth;
      setView(drag.from - steps, drag.to - steps);
      tooltip.hidden = true;
      return;
    }
  }
  if (e.target === canvas) showTooltip(e);
  else tooltip.hidden = true;
});

window.addEventListener('mouseup', (e) => {
  const d = drag;
  drag = undefined;
  canvas.classList.remove('panning');
  if (!d || d.moved || e.target !== canvas) return;
  const rect = canvas.getBoundingClientRect();
  const g = geometry();
  const hit = hitTest(g, state, e.clientX - rect.left, e.clientY - rect.top);
  if (!hit) return;
  if (hit.kind === 'marker') return travel(hit.marker.step, hit.marker.cpu);
  const cpu = hit.kind === 'arrow' ? hit.arrow.toCpu : hit.cpu;
  state.selectedCpu = cpu;
  travel(g.stepAt(e.clientX - rect.left), cpu);
});

canvas.addEventListener('mouseleave', () => {
  tooltip.hidden = true;
});

canvas.addEventListener('wheel', (e) => {
  e.preventDefault();
  const rect = canvas.getBoundingClientRect();
  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
    pan((e.deltaX || e.deltaY) / geometry().plotWidth);
    return;
  }
  zoom(Math.pow(1.0015, e.deltaY), geometry().stepAt(e.clientX - rect.left));
}, { passive: false });

function selectLane(cpu: number): void {
  state.selectedCpu = cpu;
  revealLane(cpu);
  scheduleDraw();
}

canvas.addEventListener('keydown', (e) => {
  const lanes = Math.max(1, state.lanes);
  switch (e.key) {
    case 'ArrowLeft': pan(-0.1); break;
    case 'ArrowRight': pan(0.1); break;
    case '+':
    case '=': zoom(0.5); break;
    case '-':
    case '_': zoom(2); break;
    case '0':
    case 'Home': fitAll(); break;
    case 'ArrowUp': selectLane(((state.selectedCpu ?? state.focusCpu ?? 0) + lanes - 1) % lanes); break;
    case 'ArrowDown': selectLane(((state.selectedCpu ?? state.focusCpu ?? -1) + 1) % lanes); break;
    case 'Enter': travel((state.from + state.to) / 2, state.selectedCpu ?? state.focusCpu ?? 0); break;
    case 'n':
    case 'N': travelToMarker(1); break;
    case 'p':
    case 'P': travelToMarker(-1); break;
    default: return;
  }
  e.preventDefault();
});

document.getElementById('fit')!.addEventListener('click', fitAll);
document.getElementById('zoomIn')!.addEventListener('click', () => zoom(0.5));
document.getElementById('zoomOut')!.addEventListener('click', () => zoom(2));
document.getElementById('prevMarker')!.addEventListener('click', () => travelToMarker(-1));
document.getElementById('nextMarker')!.addEventListener('click', () => travelToMarker(1));

// a wider or narrower plot needs another resolution, other lanes show: the answers held may cover them
new ResizeObserver(viewMoved).observe(scroller);
// the canvas stays on top of the scroller: scrolling draws other lanes from the answers held
scroller.addEventListener('scroll', viewMoved);
// VS Code changes the body's classes and variables with the theme
new MutationObserver(() => {
  theme = readTheme();
  scheduleDraw();
}).observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });

window.addEventListener('message', (e: MessageEvent<PanelMessage>) => {
  const m = e.data;
  switch (m.type) {
    case 'view':
      return receiveView(m.id, m.body);
    case 'changed':
      forgetAnswers();
      measures.firstMessageCame();
      state.currentStep = m.currentStep;
      state.endStep = m.endStep;
      state.lanes = m.nrCpus;
      if (state.following) fitAll();
      else keepCursorInView();
      return viewMoved();
    case 'focus':
      state.focusCpu = m.cpu;
      revealLane(m.cpu);
      return scheduleDraw();
    case 'travelled':
      return canvas.focus();
    case 'error':
      if (m.query !== undefined) questions.answered(m.query);
      return showStatus(m.message);
    case 'ended':
      questions.giveUp();
      return showMessage('The debug session has ended. Start one (F5) to see its timeline.');
  }
});

vscode.postMessage({ type: 'ready' });
