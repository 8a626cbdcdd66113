/**
 * The `timeline` answer as it travels: columns of numbers instead of an object per span
 * and per arrow, and every label once in a string table. At 64 CPUs a whole-run view holds
 * some 50,000 spans and 10,000 arrows; as objects that is about 4 MB of JSON and as many
 * objects to parse and copy on each of its hops (adapter, extension host, webview), as
 * columns a third of it and a few hundred arrays. The webview expands it back to the
 * objects it draws (expandTimeline), one pass.
 */
import type { Layer } from './recorder.js';
import type { ArrowView, Lane, MarkerView, TimelineView } from './query.js';
import type { Span } from './series.js';
import { StringTable } from './strings.js';

/** A layer's spans: span i is from[i]..to[i], labelled strings[label[i]], merged[i] spans folded into it (0: one span). */
export interface SpanColumns {
  from: number[];
  to: number[];
  label: number[];
  merged: number[];
}

/**
 * The arrows: arrow i goes from CPU fromCpu[i] at fromStep[i] to toCpu[i] at toStep[i]
 * (-1: still on its way); kind and label index the string table; lost is 1 or 0; count is
 * how many alike it stands for; fields, when the answer has them, one object per arrow.
 */
export interface ArrowColumns {
  kind: number[];
  fromCpu: number[];
  fromStep: number[];
  toCpu: number[];
  toStep: number[];
  label: number[];
  lost: number[];
  count: number[];
  fields?: Record<string, string>[];
}

export interface CompactLane {
  cpu: number;
  name: string;
  spans: Record<Layer, SpanColumns>;
}

export interface CompactTimeline {
  fromStep: number;
  toStep: number;
  resolution: number;
  endStep: number;
  strings: string[];
  lanes: CompactLane[];
  arrows: ArrowColumns;
  /** few (thinned per pixel): as they are */
  markers: MarkerView[];
}

export function compactTimeline(view: TimelineView): CompactTimeline {
  const table = new StringTable();
  const lanes = view.lanes.map((lane) => {
    const spans = {} as Record<Layer, SpanColumns>;
    for (const layer of layers(lane.spans)) spans[layer] = spanColumns(lane.spans[layer], table);
    return { cpu: lane.cpu, name: lane.name, spans };
  });
  const arrows = arrowColumns(view.arrows, table);
  const { fromStep, toStep, resolution, endStep, markers } = view;
  return { fromStep, toStep, resolution, endStep, strings: table.strings, lanes, arrows, markers };
}

/** A lane's layers, read from the lane (this module also runs in the webview, without the recorder). */
function layers(spans: Record<Layer, unknown>): Layer[] {
  return Object.keys(spans) as Layer[];
}

function spanColumns(spans: Span[], table: StringTable): SpanColumns {
  const c: SpanColumns = { from: [], to: [], label: [], merged: [] };
  for (const s of spans) {
    c.from.push(s.from);
    c.to.push(s.to);
    c.label.push(table.of(s.label));
    c.merged.push(s.merged ?? 0);
  }
  return c;
}

function arrowColumns(arrows: ArrowView[], table: StringTable): ArrowColumns {
  const c: ArrowColumns = { kind: [], fromCpu: [], fromStep: [], toCpu: [], toStep: [], label: [], lost: [], count: [] };
  for (const a of arrows) {
    c.kind.push(table.of(a.kind));
    c.fromCpu.push(a.fromCpu);
    c.fromStep.push(a.fromStep);
    c.toCpu.push(a.toCpu);
    c.toStep.push(a.toStep ?? -1);
    c.label.push(table.of(a.label));
    c.lost.push(a.lost ? 1 : 0);
    c.count.push(a.count ?? 1);
  }
  if (arrows.some((a) => a.fields)) c.fields = arrows.map((a) => a.fields ?? {});
  return c;
}

/** Back to the objects queryTimeline made. */
export function expandTimeline(c: CompactTimeline): TimelineView {
  const s = c.strings;
  const lanes: Lane[] = c.lanes.map((lane) => {
    const spans = {} as Record<Layer, Span[]>;
    for (const layer of layers(lane.spans)) spans[layer] = expandSpans(lane.spans[layer], s);
    return { cpu: lane.cpu, name: lane.name, spans };
  });
  const { fromStep, toStep, resolution, endStep, markers } = c;
  return { fromStep, toStep, resolution, endStep, lanes, arrows: expandArrows(c.arrows, s), markers };
}

function expandSpans(c: SpanColumns, strings: string[]): Span[] {
  const out: Span[] = [];
  for (let i = 0; i < c.from.length; i++) {
    const span: Span = { from: c.from[i], to: c.to[i], label: strings[c.label[i]] };
    if (c.merged[i]) span.merged = c.merged[i];
    out.push(span);
  }
  return out;
}

function expandArrows(c: ArrowColumns, strings: string[]): ArrowView[] {
  const out: ArrowView[] = [];
  for (let i = 0; i < c.kind.length; i++) {
    const a: ArrowView = { kind: strings[c.kind[i]] as ArrowView['kind'], fromCpu: c.fromCpu[i], fromStep: c.fromStep[i], toCpu: c.toCpu[i], lost: c.lost[i] === 1, label: strings[c.label[i]] };
    if (c.toStep[i] >= 0) a.toStep = c.toStep[i];
    if (c.count[i] > 1) a.count = c.count[i];
    if (c.fields) a.fields = c.fields[i];
    out.push(a);
  }
  return out;
}
