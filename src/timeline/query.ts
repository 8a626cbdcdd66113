import { Arrow, LAYERS, Layer, Marker, TimelineRecorder } from './recorder.js';
import { Span, nextPixelStart, spansIn } from './series.js';

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

/**
 * An arrow; `count` > 1 when several between the same CPUs started within a few pixels.
 * `fields` is left out when the answer holds many arrows.
 */
export type ArrowView = Omit<Arrow, 'event'> & { fields?: Record<string, string>; count?: number };
export type MarkerView = Omit<Marker, 'event'> & { fields: Record<string, string>; count?: number };

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

/** Arrows closer together than this many pixels (between the same CPUs) are drawn as one. */
const ARROW_PIXELS = 16;

/** Past this many arrows in an answer, they come without their fields (hover names them; zoom in for the rest). */
const ARROWS_WITH_FIELDS = 500;

/**
 * Arrows with a part in [from, to]. Per pair of CPUs, one arrow per few pixels with a count of
 * the others, found by binary search: the work is per pixel and pair, not per arrow. Arrows
 * that started before `from` are looked at one by one (no further back than the longest one).
 */
function arrowsIn(r: TimelineRecorder, from: number, to: number, res: number): ArrowView[] {
  const arrows = r.arrows;
  const shown: { arrow: Arrow; count: number }[] = [];
  const width = res <= 1 ? 1 : res * ARROW_PIXELS;
  const stepOf = (list: number[]) => (k: number) => arrows[list[k]].fromStep;
  for (const list of r.arrowsByPair.values()) {
    const at = stepOf(list);
    let i = firstAtOrAfter(list.length, at, from - r.longestArrow);
    for (; i < list.length && at(i) < from; i++) {
      const a = arrows[list[i]];
      if (a.toStep !== undefined && a.toStep >= from) shown.push({ arrow: a, count: 1 });
    }
    while (i < list.length && at(i) <= to && shown.length < MAX_ITEMS) {
      const j = width === 1 ? i + 1 : firstAtOrAfter(list.length, at, nextPixelStart(from, at(i), width));
      const a = arrows[list[i]];
      // one on its way is listed below
      if (a.toStep !== undefined) shown.push({ arrow: a, count: j - i });
      i = j;
    }
  }
  for (const i of r.arrowsOnTheirWay()) if (arrows[i].fromStep <= to) shown.push({ arrow: arrows[i], count: 1 });
  const withFields = res <= 1 || shown.length <= ARROWS_WITH_FIELDS;
  return shown.map(({ arrow: { event, ...a }, count }) => ({ ...a, ...(count > 1 ? { count } : {}), ...(withFields ? { fields: r.fieldsOf(event) } : {}) }));
}

function markersIn(r: TimelineRecorder, from: number, to: number, res: number): MarkerView[] {
  const out: MarkerView[] = [];
  const seen = new Map<string, MarkerView>();
  const markers = r.markers;
  for (let i = firstAtOrAfter(markers.length, (k) => markers[k].step, from); i < markers.length && markers[i].step <= to && out.length < MAX_ITEMS; i++) {
    const { event, ...m } = markers[i];
    const key = `${m.kind}:${m.cpu}:${Math.floor(m.step / res)}`;
    const kept = res > 1 ? seen.get(key) : undefined;
    if (kept) kept.count = (kept.count ?? 1) + 1;
    else {
      const view = { ...m, fields: r.fieldsOf(event) };
      seen.set(key, view);
      out.push(view);
    }
  }
  return out;
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
