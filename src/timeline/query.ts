import { AnswerLane, AnswerStrings, ArrowColumns, MarkerView, SpanColumns, TimelineAnswer, TimelineView, expandTimeline, fieldNumbers, spanColumns } from './answer.js';
import { Arrow, LAYERS, Layer, TimelineRecorder } from './recorder.js';
import { firstAtOrAfter, foldSpans, nextPixelStart } from './series.js';

/** The lanes a view asks for, first to last (both included; by default the first and the last CPU). */
export interface CpuRange {
  fromCpu?: number;
  toCpu?: number;
}

/** At most this many arrows and markers per answer: past it, they are thinned per pixel anyway. */
const MAX_ITEMS = 20000;

/**
 * The timeline between two steps at a resolution, for the CPUs of `cpus` (all by default):
 * their lanes, the arrows with a part between them (one end in the range, or crossing it) and
 * their markers, as the answer travels (answer.ts). Costs time per pixel and per item shown,
 * not per step or per event in the range, so a viewport over a million steps answers as fast
 * as one over a thousand.
 */
export function queryTimeline(r: TimelineRecorder, fromStep: number, toStep: number, resolution: number, cpus?: CpuRange): TimelineAnswer {
  const end = r.end;
  const from = Math.max(0, Math.min(fromStep, end));
  const to = Math.max(from, Math.min(toStep, end));
  const res = Math.max(1, resolution);
  const range = cpuRange(r.nrCpus, cpus);
  const strings = new AnswerStrings(r.labels);
  const lanes: AnswerLane[] = [];
  for (let c = range.fromCpu; c <= range.toCpu; c++) {
    const spans = {} as Record<Layer, SpanColumns>;
    for (const layer of LAYERS) {
      const { columns, sink } = spanColumns(from, strings);
      foldSpans(r.layer(c, layer), from, to, res, end, sink);
      spans[layer] = columns;
    }
    lanes.push({ cpu: c, name: `CPU${c}`, spans });
  }
  const arrows = arrowsIn(r, from, to, res, range, strings);
  const markers = markersIn(r, from, to, res, range);
  return { fromStep: from, toStep: to, resolution: res, endStep: end, nrCpus: r.nrCpus, strings: strings.strings, lanes, arrows, markers };
}

/** The same as objects: for the trace export and for reading in tests. */
export function timelineView(r: TimelineRecorder, fromStep: number, toStep: number, resolution: number, cpus?: CpuRange): TimelineView {
  return expandTimeline(queryTimeline(r, fromStep, toStep, resolution, cpus));
}

/** The range asked for, within the run's CPUs (and never empty). */
function cpuRange(nrCpus: number, cpus: CpuRange | undefined): Required<CpuRange> {
  const last = nrCpus - 1;
  const fromCpu = Math.max(0, Math.min(cpus?.fromCpu ?? 0, last));
  return { fromCpu, toCpu: Math.max(fromCpu, Math.min(cpus?.toCpu ?? last, last)) };
}

/** An arrow between these CPUs has a part in the range: one end in it, or passing over it. */
function crosses(range: Required<CpuRange>, a: Pick<Arrow, 'fromCpu' | 'toCpu'>): boolean {
  return Math.min(a.fromCpu, a.toCpu) <= range.toCpu && Math.max(a.fromCpu, a.toCpu) >= range.fromCpu;
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
function arrowsIn(r: TimelineRecorder, from: number, to: number, res: number, range: Required<CpuRange>, strings: AnswerStrings): ArrowColumns {
  const arrows = r.arrows;
  const shown: number[] = [];
  const counts: number[] = [];
  const width = res <= 1 ? 1 : res * ARROW_PIXELS;
  const stepOf = (list: number[]) => (k: number) => arrows[list[k]].fromStep;
  for (const list of r.arrowsByPair.values()) {
    if (!crosses(range, arrows[list[0]])) continue;
    const at = stepOf(list);
    let i = firstAtOrAfter(list.length, at, from - r.longestArrow);
    for (; i < list.length && at(i) < from; i++) {
      const a = arrows[list[i]];
      if (a.toStep !== undefined && a.toStep >= from) {
        shown.push(list[i]);
        counts.push(1);
      }
    }
    while (i < list.length && at(i) <= to && shown.length < MAX_ITEMS) {
      const j = width === 1 ? i + 1 : firstAtOrAfter(list.length, at, nextPixelStart(from, at(i), width));
      // one on its way is listed below
      if (arrows[list[i]].toStep !== undefined) {
        shown.push(list[i]);
        counts.push(j - i);
      }
      i = j;
    }
  }
  for (const i of r.arrowsOnTheirWay()) {
    if (arrows[i].fromStep <= to && crosses(range, arrows[i])) {
      shown.push(i);
      counts.push(1);
    }
  }
  return arrowColumns(r, shown, counts, res <= 1 || shown.length <= ARROWS_WITH_FIELDS, strings);
}

/** The arrows numbered `shown` (each standing for `counts` alike) as the answer's columns. */
function arrowColumns(r: TimelineRecorder, shown: number[], counts: number[], withFields: boolean, strings: AnswerStrings): ArrowColumns {
  const c: ArrowColumns = { kind: [], fromCpu: [], fromStep: [], toCpu: [], flight: [], label: [], lost: [], count: counts };
  for (const i of shown) {
    const a: Arrow = r.arrows[i];
    c.kind.push(strings.of(a.kind));
    c.fromCpu.push(a.fromCpu);
    c.fromStep.push(a.fromStep);
    c.toCpu.push(a.toCpu);
    c.flight.push(a.toStep === undefined ? -1 : a.toStep - a.fromStep);
    c.label.push(strings.of(a.label));
    c.lost.push(a.lost ? 1 : 0);
  }
  if (withFields) c.fields = shown.map((i) => fieldNumbers(r.fieldsOf(r.arrows[i].event), strings));
  return c;
}

function markersIn(r: TimelineRecorder, from: number, to: number, res: number, range: Required<CpuRange>): MarkerView[] {
  const out: MarkerView[] = [];
  const seen = new Map<string, MarkerView>();
  const markers = r.markers;
  for (let i = firstAtOrAfter(markers.length, (k) => markers[k].step, from); i < markers.length && markers[i].step <= to && out.length < MAX_ITEMS; i++) {
    const { event, ...m } = markers[i];
    if (m.cpu < range.fromCpu || m.cpu > range.toCpu) continue;
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
