/// <reference lib="dom" />
/**
 * Drawing the timeline on a 2D canvas, and finding what is under the pointer.
 * What is drawn is what the debug adapter answered for the viewport (spans
 * already merged below a pixel, arrows and markers thinned), so a frame costs
 * the same at any zoom.
 */
import type { ArrowView, Lane, MarkerView, TimelineView } from '../timeline/answer.js';
import { Span, firstAtOrAfter } from '../timeline/series.js';
import { Theme, hotplugColour, runColour } from './theme.js';

/**
 * Where things are on the canvas, in CSS pixels. The canvas is the size of the visible part of
 * the panel: the step axis on top, under it the lanes scrolled up by `scrollTop` (the panel's
 * scrollbar spans all of them, `contentHeight`); only the lanes in view are drawn.
 */
export class Geometry {
  static readonly GUTTER = 150;
  static readonly AXIS = 24;
  static readonly LANE = 50;

  constructor(readonly width: number, readonly height: number, readonly lanes: number, readonly from: number, readonly to: number, readonly scrollTop = 0) {}

  /** The axis and every lane: how tall the panel's content is. */
  get contentHeight(): number {
    return Geometry.AXIS + this.lanes * Geometry.LANE;
  }

  get plotWidth(): number {
    return Math.max(1, this.width - Geometry.GUTTER);
  }

  x(step: number): number {
    return Geometry.GUTTER + ((step - this.from) * this.plotWidth) / (this.to - this.from);
  }

  stepAt(x: number): number {
    return this.from + ((x - Geometry.GUTTER) * (this.to - this.from)) / this.plotWidth;
  }

  laneTop(cpu: number): number {
    return Geometry.AXIS + cpu * Geometry.LANE - this.scrollTop;
  }

  /** The lane under `y`; none over the axis. */
  laneAt(y: number): number | undefined {
    if (y < Geometry.AXIS) return undefined;
    const c = Math.floor((y - Geometry.AXIS + this.scrollTop) / Geometry.LANE);
    return c >= 0 && c < this.lanes ? c : undefined;
  }

  /** The first lane with a part under the axis. */
  get firstLaneInView(): number {
    return Math.max(0, Math.floor(this.scrollTop / Geometry.LANE));
  }

  /** The last lane with a part above the canvas's bottom. */
  get lastLaneInView(): number {
    return Math.min(this.lanes - 1, Math.floor((this.scrollTop + this.height - Geometry.AXIS - 1) / Geometry.LANE));
  }

  laneInView(cpu: number): boolean {
    return cpu >= this.firstLaneInView && cpu <= this.lastLaneInView;
  }
}

/** Rows within a lane, from its top. */
const ROW = {
  stopMachine: { y: 3, h: 12 },
  run: { y: 17, h: 17 },
  irqsOff: { y: 35, h: 4 },
  hotplug: { y: 41, h: 6 },
} as const;

export interface DrawState {
  data?: TimelineView;
  currentStep: number;
  endStep: number;
  focusCpu?: number;
  selectedCpu?: number;
}

let hatch: { colour: string; pattern: CanvasPattern | null } | undefined;

/** Diagonal lines: how a stretch with interrupts off looks over the run band. */
function irqsOffPattern(ctx: CanvasRenderingContext2D, colour: string): CanvasPattern | null {
  if (hatch?.colour === colour) return hatch.pattern;
  const tile = document.createElement('canvas');
  tile.width = tile.height = 6;
  const t = tile.getContext('2d')!;
  t.strokeStyle = colour;
  t.globalAlpha = 0.55;
  t.lineWidth = 1;
  t.beginPath();
  t.moveTo(0, 6);
  t.lineTo(6, 0);
  t.stroke();
  hatch = { colour, pattern: ctx.createPattern(tile, 'repeat') };
  return hatch.pattern;
}

export function draw(ctx: CanvasRenderingContext2D, g: Geometry, s: DrawState, t: Theme): void {
  ctx.save();
  ctx.fillStyle = t.background;
  ctx.fillRect(0, 0, g.width, g.height);
  ctx.font = `12px ${t.font}`;
  ctx.textBaseline = 'middle';
  const lanes = lanesInView(g, s);
  for (let c = g.firstLaneInView; c <= g.lastLaneInView; c++) drawLaneBackground(ctx, g, c, s, t);
  ctx.save();
  ctx.beginPath();
  ctx.rect(Geometry.GUTTER, Geometry.AXIS, g.plotWidth, g.height - Geometry.AXIS);
  ctx.clip();
  for (const lane of lanes) {
    const top = g.laneTop(lane.cpu);
    drawSpans(ctx, g, top, ROW.stopMachine, lane.spans.stopMachine, () => t.stopMachine, t, 10);
    drawSpans(ctx, g, top, ROW.run, lane.spans.run, (label) => runColour(t, label), t, 12);
    drawIrqsOff(ctx, g, top, lane.spans.irqsOff, t);
    drawSpans(ctx, g, top, ROW.hotplug, lane.spans.hotplug, (label) => hotplugColour(t, label), t, 0);
  }
  drawCursor(ctx, g, s.currentStep, t);
  drawArrows(ctx, g, (s.data?.arrows ?? []).filter((a) => arrowInView(g, a, s.endStep)), s.endStep, t);
  for (const m of s.data?.markers ?? []) if (markerInView(g, m)) drawMarker(ctx, g, m, t);
  ctx.restore();
  // the names under the axis, which is drawn over a lane scrolled half under it
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, Geometry.AXIS, Geometry.GUTTER, g.height - Geometry.AXIS);
  ctx.clip();
  // a lane scrolled into view before its answer came is named by its number alone meanwhile
  for (let c = g.firstLaneInView; c <= g.lastLaneInView; c++) drawLaneName(ctx, g, c, heldLane(s, c)?.name ?? `CPU${c}`, s, t);
  ctx.restore();
  drawAxis(ctx, g, s, t);
  ctx.restore();
}

/** The lanes in view that the answer held has (it has those near the view when it was asked). */
function lanesInView(g: Geometry, s: DrawState): Lane[] {
  const lanes: Lane[] = [];
  for (let c = g.firstLaneInView; c <= g.lastLaneInView; c++) {
    const lane = heldLane(s, c);
    if (lane) lanes.push(lane);
  }
  return lanes;
}

/** CPU c's lane in the answer held, if it has it (its lanes are a run of CPUs in order). */
function heldLane(s: DrawState, c: number): Lane | undefined {
  const lanes = s.data?.lanes;
  if (!lanes || lanes.length === 0) return undefined;
  return lanes[c - lanes[0].cpu];
}

/**
 * An arrow with a part in the plot: between the axis and the bottom, and between the plot's
 * edges (with room for its dot and head). An answer held covers more steps than the view.
 */
function arrowInView(g: Geometry, a: ArrowView, endStep: number): boolean {
  const top = Math.min(arrowY(g, a.fromCpu), arrowY(g, a.toCpu));
  const bottom = Math.max(arrowY(g, a.fromCpu), arrowY(g, a.toCpu));
  const x0 = g.x(a.fromStep);
  const x1 = g.x(a.toStep ?? endStep);
  return bottom >= Geometry.AXIS && top <= g.height && Math.max(x0, x1) >= Geometry.GUTTER - HEAD && Math.min(x0, x1) <= g.width + HEAD;
}

/** A marker on a lane in view, between the plot's edges (with room for its flag). */
function markerInView(g: Geometry, m: MarkerView): boolean {
  const x = g.x(m.step);
  return g.laneInView(m.cpu) && x >= Geometry.GUTTER - HEAD && x <= g.width + HEAD;
}

function drawLaneBackground(ctx: CanvasRenderingContext2D, g: Geometry, c: number, s: DrawState, t: Theme): void {
  const top = g.laneTop(c);
  if (c === s.focusCpu) {
    ctx.fillStyle = t.focusLane;
    ctx.fillRect(0, top, g.width, Geometry.LANE);
  } else if (c % 2 === 1) {
    ctx.fillStyle = t.laneAlt;
    ctx.fillRect(0, top, g.width, Geometry.LANE);
  }
  ctx.fillStyle = t.border;
  ctx.fillRect(0, top + Geometry.LANE - 1, g.width, 1);
  if (c === s.selectedCpu) {
    ctx.strokeStyle = t.cursor;
    ctx.lineWidth = 1;
    ctx.setLineDash([3, 3]);
    ctx.strokeRect(0.5, top + 0.5, g.width - 1, Geometry.LANE - 2);
    ctx.setLineDash([]);
  }
}

function drawLaneName(ctx: CanvasRenderingContext2D, g: Geometry, c: number, name: string, s: DrawState, t: Theme): void {
  const top = g.laneTop(c);
  const [cpu, ...state] = name.split(' · ');
  ctx.fillStyle = c === s.focusCpu ? t.focusLane : t.background;
  ctx.fillRect(0, top, Geometry.GUTTER - 1, Geometry.LANE - 1);
  ctx.fillStyle = t.foreground;
  ctx.font = `bold 13px ${t.font}`;
  ctx.fillText(cpu, 8, top + 11);
  // the thread's state on two lines: hotplug and irqs, then what it runs
  ctx.font = `11px ${t.font}`;
  ctx.fillStyle = t.dim;
  const width = Geometry.GUTTER - 14;
  ctx.fillText(fit(ctx, state.slice(0, 2).join(' · '), width), 8, top + 26);
  ctx.fillText(fit(ctx, state.slice(2).join(' · '), width), 8, top + 39);
  ctx.fillStyle = t.border;
  ctx.fillRect(Geometry.GUTTER - 1, top, 1, Geometry.LANE);
}

/** `text` cut to `width` pixels with an ellipsis. */
function fit(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + '…').width <= width) lo = mid;
    else hi = mid - 1;
  }
  return lo > 0 ? text.slice(0, lo) + '…' : '';
}

/**
 * Rectangles (or lines) gathered per style and filled (or stroked) once each: a whole-run
 * view has tens of thousands of them in a handful of colours, and one canvas call per style
 * is what keeps a frame short.
 */
class Batches {
  private readonly paths = new Map<string, { path: Path2D; paint: (ctx: CanvasRenderingContext2D, path: Path2D) => void }>();

  path(key: string, paint: (ctx: CanvasRenderingContext2D, path: Path2D) => void): Path2D {
    let b = this.paths.get(key);
    if (!b) {
      b = { path: new Path2D(), paint };
      this.paths.set(key, b);
    }
    return b.path;
  }

  paint(ctx: CanvasRenderingContext2D): void {
    for (const { path, paint } of this.paths.values()) {
      ctx.save();
      paint(ctx, path);
      ctx.restore();
    }
  }
}

const filled = (style: string | CanvasPattern, alpha = 1) => (ctx: CanvasRenderingContext2D, path: Path2D) => {
  ctx.fillStyle = style;
  ctx.globalAlpha = alpha;
  ctx.fill(path);
};

const stroked = (style: string, width: number, dash: number[] = [], alpha = 1) => (ctx: CanvasRenderingContext2D, path: Path2D) => {
  ctx.strokeStyle = style;
  ctx.globalAlpha = alpha;
  ctx.lineWidth = width;
  ctx.setLineDash(dash);
  ctx.stroke(path);
};

/** Where a span is drawn: from x, w pixels wide (at least one). */
interface Placed {
  span: Span;
  x: number;
  w: number;
}

/**
 * The spans to draw and where: those with a part between the plot's edges, and of several
 * within one pixel only the first. An answer held covers more steps than the view, and finer
 * (the page asks for more, to draw the next pan or zoom at once): what lies outside the plot,
 * or inside a pixel drawn already, is not drawn. Spans are in step order, so the first is
 * found by binary search and the walk stops past the right edge.
 */
function* placed(g: Geometry, spans: Span[]): Generator<Placed> {
  let drawnTo = -Infinity;
  for (let i = firstAtOrAfter(spans.length, (k) => spans[k].to, g.from); i < spans.length && spans[i].from <= g.to; i++) {
    const right = Math.min(g.width, g.x(spans[i].to));
    if (right <= drawnTo) continue;
    const x = Math.max(Geometry.GUTTER, g.x(spans[i].from), drawnTo);
    const w = Math.max(1, right - x);
    drawnTo = x + w;
    yield { span: spans[i], x, w };
  }
}

function drawSpans(ctx: CanvasRenderingContext2D, g: Geometry, top: number, row: { y: number; h: number }, spans: Span[], colour: (label: string) => string, t: Theme, fontSize: number): void {
  const batches = new Batches();
  const labels: { x: number; w: number; label: string }[] = [];
  for (const { span: sp, x: x0, w } of placed(g, spans)) {
    const fill = colour(sp.label);
    const alpha = sp.merged ? 0.5 : 0.85;
    batches.path(`${fill} ${alpha}`, filled(fill, alpha)).rect(x0, top + row.y, w, row.h);
    if (t.highContrast) batches.path('outline', stroked(t.foreground, 1)).rect(x0 + 0.5, top + row.y + 0.5, w - 1, row.h - 1);
    if (fontSize && !sp.merged && w > 24) labels.push({ x: x0, w, label: sp.label });
  }
  batches.paint(ctx);
  ctx.font = `${fontSize}px ${t.font}`;
  for (const { x, w, label } of labels) {
    const text = fit(ctx, label, w - 6);
    if (!text) continue;
    ctx.fillStyle = label.startsWith('swapper/') ? t.foreground : t.background;
    ctx.fillText(text, x + 3, top + row.y + row.h / 2 + 0.5);
  }
}

function drawIrqsOff(ctx: CanvasRenderingContext2D, g: Geometry, top: number, spans: Span[], t: Theme): void {
  const pattern = irqsOffPattern(ctx, t.irqsOff);
  const batches = new Batches();
  for (const { span: sp, x: x0, w } of placed(g, spans)) {
    if (pattern) batches.path('hatch', filled(pattern)).rect(x0, top + ROW.run.y, w, ROW.run.h);
    const alpha = sp.merged ? 0.4 : 0.8;
    batches.path(`bar ${alpha}`, filled(t.irqsOff, alpha)).rect(x0, top + ROW.irqsOff.y, w, ROW.irqsOff.h);
  }
  batches.paint(ctx);
}

function drawCursor(ctx: CanvasRenderingContext2D, g: Geometry, step: number, t: Theme): void {
  const x = Math.round(g.x(step)) + 0.5;
  ctx.strokeStyle = t.cursor;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(x, Geometry.AXIS);
  ctx.lineTo(x, g.height);
  ctx.stroke();
}

/** The run band's middle in CPU c's lane: where arrows start and end. */
function arrowY(g: Geometry, c: number): number {
  return g.laneTop(c) + ROW.run.y + ROW.run.h / 2;
}

/** How far past its step an arrow's dot, head or cross, or a marker's flag, reaches. */
const HEAD = 12;

/** How strongly a bundle of arrows (several folded into one by the query) is drawn. */
const BUNDLE_ALPHA = 0.35;

/**
 * Arrows batched by style: a line (dashed for csds and arrows still on their way), a dot where
 * it left, a head or a cross where it ended; a bundle of arrows a faint line alone.
 */
function drawArrows(ctx: CanvasRenderingContext2D, g: Geometry, arrows: ArrowView[], endStep: number, t: Theme): void {
  const batches = new Batches();
  for (const a of arrows) {
    const x0 = g.x(a.fromStep);
    const y0 = arrowY(g, a.fromCpu);
    const x1 = g.x(a.toStep ?? endStep);
    const y1 = arrowY(g, a.toCpu);
    const colour = a.lost ? t.error : a.kind === 'ipi' ? t.ipi : t.csd;
    if (a.count && a.count > 1) {
      // a bundle of arrows too close to tell apart: a faint line, so dense traffic reads as a tint
      const bundle = batches.path(`bundle ${colour}`, stroked(colour, 1, [], BUNDLE_ALPHA));
      bundle.moveTo(x0, y0);
      bundle.lineTo(x1, y1);
      continue;
    }
    const width = a.kind === 'ipi' ? 2.5 : 1.5;
    const dashed = a.kind === 'csd' || a.toStep === undefined;
    const line = batches.path(`line ${colour} ${width} ${dashed}`, stroked(colour, width, dashed ? [5, 3] : []));
    line.moveTo(x0, y0);
    line.lineTo(x1, y1);
    const dots = batches.path(`dot ${colour}`, filled(colour));
    dots.moveTo(x0 + 3, y0);
    dots.arc(x0, y0, 3, 0, Math.PI * 2);
    if (a.lost) {
      const cross = batches.path(`cross ${colour} ${width}`, stroked(colour, width));
      cross.moveTo(x1 - 5, y1 - 5);
      cross.lineTo(x1 + 5, y1 + 5);
      cross.moveTo(x1 - 5, y1 + 5);
      cross.lineTo(x1 + 5, y1 - 5);
      continue;
    }
    const angle = Math.atan2(y1 - y0, x1 - x0);
    const head = a.kind === 'ipi' ? 11 : 8;
    const heads = batches.path(`head ${colour}`, filled(colour));
    heads.moveTo(x1, y1);
    heads.lineTo(x1 - head * Math.cos(angle - 0.4), y1 - head * Math.sin(angle - 0.4));
    heads.lineTo(x1 - head * Math.cos(angle + 0.4), y1 - head * Math.sin(angle + 0.4));
    heads.closePath();
  }
  batches.paint(ctx);
}

const MARKER_TEXT: Record<MarkerView['kind'], string> = { warn: 'WARN', bug: 'BUG', 'lost-work': 'LOST', 'ipi-dropped': 'IPI LOST' };

function drawMarker(ctx: CanvasRenderingContext2D, g: Geometry, m: MarkerView, t: Theme): void {
  const x = Math.round(g.x(m.step)) + 0.5;
  const top = g.laneTop(m.cpu);
  const colour = m.kind === 'warn' ? t.warn : t.error;
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(x, top + 2);
  ctx.lineTo(x, top + Geometry.LANE - 2);
  ctx.stroke();
  ctx.fillStyle = colour;
  ctx.beginPath();
  ctx.moveTo(x - 7, top + 2);
  ctx.lineTo(x + 7, top + 2);
  ctx.lineTo(x, top + 13);
  ctx.closePath();
  ctx.fill();
  ctx.font = `bold 11px ${t.font}`;
  const text = MARKER_TEXT[m.kind] + (m.count && m.count > 1 ? ` ×${m.count}` : '');
  const w = ctx.measureText(text).width;
  // the label goes left of the marker when there is no room on its right
  const left = x + 14 + w > g.width ? x - 14 - w : x + 8;
  ctx.fillStyle = t.background;
  ctx.fillRect(left, top + 2, w + 6, 14);
  ctx.fillStyle = colour;
  ctx.fillText(text, left + 3, top + 9.5);
}

function drawAxis(ctx: CanvasRenderingContext2D, g: Geometry, s: DrawState, t: Theme): void {
  ctx.fillStyle = t.background;
  ctx.fillRect(0, 0, g.width, Geometry.AXIS);
  ctx.fillStyle = t.border;
  ctx.fillRect(0, Geometry.AXIS - 1, g.width, 1);
  ctx.font = `11px ${t.font}`;
  ctx.fillStyle = t.dim;
  ctx.fillText('step', 8, Geometry.AXIS / 2);
  const cursor = cursorLabel(ctx, g, s.currentStep, t);
  const every = tickEvery((g.to - g.from) / (g.plotWidth / 90));
  ctx.font = `11px ${t.font}`;
  for (let step = Math.ceil(g.from / every) * every; step <= g.to; step += every) {
    const x = Math.round(g.x(step)) + 0.5;
    ctx.fillStyle = t.border;
    ctx.fillRect(x, Geometry.AXIS - 6, 1, 6);
    const text = String(step);
    const right = x + 3 + ctx.measureText(text).width;
    // a tick's number under the cursor's label is left out, not written through it
    if (cursor && right + 4 >= cursor.left && x <= cursor.left + cursor.width + 4) continue;
    ctx.fillStyle = t.dim;
    ctx.fillText(text, x + 3, Geometry.AXIS / 2);
  }
  if (!cursor) return;
  ctx.font = `bold 11px ${t.font}`;
  ctx.fillStyle = t.cursor;
  ctx.fillRect(cursor.left, 2, cursor.width, Geometry.AXIS - 6);
  ctx.fillStyle = t.background;
  ctx.fillText(cursor.text, cursor.left + 4, Geometry.AXIS / 2 - 1);
}

/** Where the cursor's step is written on the axis, if the cursor is in view. */
function cursorLabel(ctx: CanvasRenderingContext2D, g: Geometry, step: number, t: Theme): { text: string; left: number; width: number } | undefined {
  const cx = g.x(step);
  if (cx < Geometry.GUTTER || cx > g.width) return undefined;
  const text = `step ${step}`;
  ctx.font = `bold 11px ${t.font}`;
  const width = ctx.measureText(text).width + 8;
  const left = Math.min(g.width - width, Math.max(Geometry.GUTTER, cx - width / 2));
  return { text, left, width };
}

/** A round tick interval (1, 2 or 5 times a power of ten) near `raw` steps. */
function tickEvery(raw: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(1, raw))));
  for (const k of [1, 2, 5, 10]) if (k * p >= raw) return k * p;
  return 10 * p;
}

/** What is under the pointer: a marker, an arrow, a span of some layer, or a lane. */
export type Hit =
  | { kind: 'marker'; marker: MarkerView }
  | { kind: 'arrow'; arrow: ArrowView }
  | { kind: 'span'; cpu: number; layer: string; span: Span }
  | { kind: 'lane'; cpu: number };

export function hitTest(g: Geometry, s: DrawState, x: number, y: number): Hit | undefined {
  const cpu = g.laneAt(y);
  if (cpu === undefined || x < Geometry.GUTTER) return undefined;
  const top = g.laneTop(cpu);
  for (const m of s.data?.markers ?? []) {
    if (m.cpu === cpu && Math.abs(g.x(m.step) - x) <= 6) return { kind: 'marker', marker: m };
  }
  for (const a of s.data?.arrows ?? []) {
    if (distanceToSegment(x, y, g.x(a.fromStep), arrowY(g, a.fromCpu), g.x(a.toStep ?? s.endStep), arrowY(g, a.toCpu)) <= 4) return { kind: 'arrow', arrow: a };
  }
  const lane = heldLane(s, cpu);
  if (lane) {
    const step = g.stepAt(x);
    for (const [layer, row] of Object.entries(ROW) as [keyof typeof ROW, { y: number; h: number }][]) {
      if (y < top + row.y - 1 || y > top + row.y + row.h + 1) continue;
      const span = lane.spans[layer].find((sp) => sp.from <= step && step < sp.to);
      if (span) return { kind: 'span', cpu, layer, span };
    }
  }
  return { kind: 'lane', cpu };
}

function distanceToSegment(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const u = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len2));
  return Math.hypot(px - (x0 + u * dx), py - (y0 + u * dy));
}
