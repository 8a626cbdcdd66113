/**
 * The `timeline` answer as it travels (debug adapter → extension → webview), and the objects
 * the webview draws, which it expands the answer into in one pass.
 *
 * A whole-run view at 64 CPUs holds tens of thousands of spans: as an object each that is
 * megabytes of JSON and as many objects to copy on every hop. So spans and arrows travel as
 * columns of small numbers, every label once in a string table, and steps as differences:
 * a span's start is counted from the end of the span before it (from the view's first step
 * for the first), its end from its start, an arrow's landing from its sending.
 */
import type { Arrow, Layer, Marker } from './recorder.js';
import type { Span, SpanSink } from './series.js';
import { StringTable } from './strings.js';

// ---- what the webview draws

/** What the timeline draws for one viewport. */
export interface TimelineView {
  fromStep: number;
  toStep: number;
  /** steps per pixel: spans shorter than this are merged, arrows and markers thinned */
  resolution: number;
  /** the last step recorded */
  endStep: number;
  /** how many CPUs the run has: `lanes` holds those of the range asked for */
  nrCpus: number;
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

// ---- the answer

/** A layer's spans: span i starts gap[i] steps after the previous one ends, lasts length[i] steps, reads strings[label[i]], folds merged[i] changes (0: none). */
export interface SpanColumns {
  gap: number[];
  length: number[];
  label: number[];
  merged: number[];
}

/**
 * The arrows: arrow i goes from CPU fromCpu[i] at fromStep[i] to CPU toCpu[i] flight[i] steps
 * later (-1: still on its way); kind and label index the string table; lost is 1 or 0; count is
 * how many alike it stands for; fields, when the answer has them, per arrow its names and
 * values in turn, as numbers of the string table (they repeat: the same call sites, callbacks,
 * CPUs and source lines over and over).
 */
export interface ArrowColumns {
  kind: number[];
  fromCpu: number[];
  fromStep: number[];
  toCpu: number[];
  flight: number[];
  label: number[];
  lost: number[];
  count: number[];
  fields?: number[][];
}

export interface AnswerLane {
  cpu: number;
  name: string;
  spans: Record<Layer, SpanColumns>;
}

export interface TimelineAnswer {
  fromStep: number;
  toStep: number;
  resolution: number;
  endStep: number;
  /** the run's CPUs; `lanes` holds those asked for */
  nrCpus: number;
  strings: string[];
  lanes: AnswerLane[];
  arrows: ArrowColumns;
  /** few (thinned per pixel): as they are */
  markers: MarkerView[];
}

/**
 * The answer's string table. The recorder's span labels are numbered already; those are
 * mapped through an array, not looked up by their text.
 */
export class AnswerStrings extends StringTable {
  private readonly byLabel: Int32Array;

  constructor(private readonly labels: readonly string[]) {
    super();
    this.byLabel = new Int32Array(labels.length).fill(-1);
  }

  /** The number of the recorder's label `value`. */
  ofLabel(value: number): number {
    let i = this.byLabel[value];
    if (i < 0) i = this.byLabel[value] = this.of(this.labels[value]);
    return i;
  }
}

/** A layer's spans in columns, and the sink foldSpans writes them through (steps from `fromStep` on). */
export function spanColumns(fromStep: number, strings: AnswerStrings): { columns: SpanColumns; sink: SpanSink } {
  const columns: SpanColumns = { gap: [], length: [], label: [], merged: [] };
  let end = fromStep;
  const sink: SpanSink = (from, to, value, merged) => {
    columns.gap.push(from - end);
    columns.length.push(to - from);
    columns.label.push(strings.ofLabel(value));
    columns.merged.push(merged);
    end = to;
  };
  return { columns, sink };
}

// ---- back to objects

export function expandTimeline(a: TimelineAnswer): TimelineView {
  const s = a.strings;
  const lanes: Lane[] = a.lanes.map((lane) => {
    const spans = {} as Record<Layer, Span[]>;
    for (const layer of Object.keys(lane.spans) as Layer[]) spans[layer] = expandSpans(lane.spans[layer], a.fromStep, s);
    return { cpu: lane.cpu, name: lane.name, spans };
  });
  const { fromStep, toStep, resolution, endStep, nrCpus, markers } = a;
  return { fromStep, toStep, resolution, endStep, nrCpus, lanes, arrows: expandArrows(a.arrows, s), markers };
}

function expandSpans(c: SpanColumns, fromStep: number, strings: string[]): Span[] {
  const out: Span[] = [];
  let end = fromStep;
  for (let i = 0; i < c.gap.length; i++) {
    const from = end + c.gap[i];
    end = from + c.length[i];
    const span: Span = { from, to: end, label: strings[c.label[i]] };
    if (c.merged[i]) span.merged = c.merged[i];
    out.push(span);
  }
  return out;
}

/** An arrow's fields written as string-table numbers (fieldNumbers), back to an object. */
function expandFields(pairs: number[], strings: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let k = 0; k < pairs.length; k += 2) fields[strings[pairs[k]]] = strings[pairs[k + 1]];
  return fields;
}

/** An event's fields as the answer writes them: name and value in turn, as string-table numbers. */
export function fieldNumbers(fields: Record<string, string>, strings: StringTable): number[] {
  const pairs: number[] = [];
  for (const [name, value] of Object.entries(fields)) pairs.push(strings.of(name), strings.of(value));
  return pairs;
}

function expandArrows(c: ArrowColumns, strings: string[]): ArrowView[] {
  const out: ArrowView[] = [];
  for (let i = 0; i < c.kind.length; i++) {
    const a: ArrowView = { kind: strings[c.kind[i]] as ArrowView['kind'], fromCpu: c.fromCpu[i], fromStep: c.fromStep[i], toCpu: c.toCpu[i], lost: c.lost[i] === 1, label: strings[c.label[i]] };
    if (c.flight[i] >= 0) a.toStep = c.fromStep[i] + c.flight[i];
    if (c.count[i] > 1) a.count = c.count[i];
    if (c.fields) a.fields = expandFields(c.fields[i], strings);
    out.push(a);
  }
  return out;
}
