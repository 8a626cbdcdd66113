import { Arrow, LAYERS, Layer, Marker, TimelineRecorder } from './recorder.js';
import { Span, spansIn } from './series.js';

/** What the timeline draws for one viewport. */
export interface TimelineView {
  fromStep: number;
  toStep: number;
  /** steps per pixel: spans shorter than this are merged, arrows and markers thinned */
  resolution: number;
  /** the last step recorded */
  endStep: number;
  lanes: Lane[];
  arrows: ArrowView[];
  markers: MarkerView[];
}

export interface Lane {
  cpu: number;
  /** the Call Stack's name for the CPU's thread */
  name: string;
  spans: Record<Layer, Span[]>;
}

/** An arrow; `count` > 1 when several between the same CPUs started within one pixel. */
export type ArrowView = Arrow & { count?: number };
export type MarkerView = Marker & { count?: number };

/** At most this many arrows and markers per answer: past it, they are thinned per pixel anyway. */
const MAX_ITEMS = 20000;

/**
 * The timeline between two steps at a resolution. Costs time per pixel and
 * per item shown, not per step or per event in the range, so a viewport over
 * a million steps answers as fast as one over a thousand.
 */
export function queryTimeline(r: TimelineRecorder, fromStep: number, toStep: number, resolution: number): TimelineView {
  const end = r.end;
  const from = Math.max(0, Math.min(fromStep, end));
  const to = Math.max(from, Math.min(toStep, end));
  const res = Math.max(1, resolution);
  const lanes: Lane[] = [];
  for (let c = 0; c < r.nrCpus; c++) {
    const spans = {} as Record<Layer, Span[]>;
    for (const layer of LAYERS) spans[layer] = spansIn(r.layer(c, layer), r.labels, from, to, res, end);
    lanes.push({ cpu: c, name: `CPU${c}`, spans });
  }
  return { fromStep: from, toStep: to, resolution: res, endStep: end, lanes, arrows: arrowsIn(r, from, to, res), markers: markersIn(r, from, to, res) };
}

/** Arrows with a part in [from, to]: landed ones found by their start, the ones still on their way listed apart. */
function arrowsIn(r: TimelineRecorder, from: number, to: number, res: number): ArrowView[] {
  const thin = new Thinner<ArrowView>(res);
  const arrows = r.arrows;
  for (let i = firstAtOrAfter(arrows.length, (k) => arrows[k].fromStep, from - r.longestArrow); i < arrows.length && arrows[i].fromStep <= to; i++) {
    const a = arrows[i];
    if (a.toStep !== undefined && a.toStep >= from) thin.add(`${a.kind}:${a.fromCpu}:${a.toCpu}`, a.fromStep, a);
  }
  for (const i of r.arrowsOnTheirWay()) {
    if (arrows[i].fromStep <= to) thin.add(`${arrows[i].kind}:${arrows[i].fromCpu}:${arrows[i].toCpu}`, arrows[i].fromStep, arrows[i]);
  }
  return thin.items;
}

function markersIn(r: TimelineRecorder, from: number, to: number, res: number): MarkerView[] {
  const thin = new Thinner<MarkerView>(res);
  const markers = r.markers;
  for (let i = firstAtOrAfter(markers.length, (k) => markers[k].step, from); i < markers.length && markers[i].step <= to; i++) {
    thin.add(`${markers[i].kind}:${markers[i].cpu}`, markers[i].step, markers[i]);
  }
  return thin.items;
}

/** Keeps the first item of a kind per pixel, counting the others. */
class Thinner<T extends { count?: number }> {
  readonly items: T[] = [];
  private seen = new Map<string, T>();
  constructor(private readonly res: number) {}

  add(kind: string, step: number, item: T): void {
    if (this.items.length >= MAX_ITEMS) return;
    if (this.res <= 1) {
      this.items.push({ ...item });
      return;
    }
    const key = `${kind}:${Math.floor(step / this.res)}`;
    const kept = this.seen.get(key);
    if (kept) kept.count = (kept.count ?? 1) + 1;
    else {
      const copy = { ...item };
      this.seen.set(key, copy);
      this.items.push(copy);
    }
  }
}

/** The first index whose step is at least `step`, in a list kept in step order. */
function firstAtOrAfter(n: number, stepAt: (i: number) => number, step: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (stepAt(mid) < step) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
