/**
 * What one lane layer shows over time: a value that changes at some steps
 * (the task running, whether interrupts are off, the hotplug state). Kept as
 * change points in step order, so the value at any step is one binary search
 * away and a run of a million steps costs memory per change, not per step.
 */
export class ChangeSeries {
  private starts = new Int32Array(16);
  private values = new Int32Array(16);
  private n = 0;

  get length(): number {
    return this.n;
  }

  startOf(i: number): number {
    return this.starts[i];
  }

  valueOf(i: number): number {
    return this.values[i];
  }

  /** From `step` on the value is `value` (several changes at one step: the last one counts). */
  set(step: number, value: number): void {
    const n = this.n;
    if (n > 0 && this.starts[n - 1] === step) {
      this.n--;
      this.set(step, value);
      return;
    }
    if (n > 0 && this.values[n - 1] === value) return;
    if (n === this.starts.length) this.grow();
    this.starts[n] = step;
    this.values[n] = value;
    this.n++;
  }

  /** The value at `step`, or `none` before the first change. */
  valueAt(step: number, none = 0): number {
    const i = this.indexAt(step);
    return i < 0 ? none : this.values[i];
  }

  /** The index of the change in force at `step`: the last one at or before it, -1 if none. */
  indexAt(step: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] <= step) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  private grow(): void {
    const starts = new Int32Array(this.starts.length * 2);
    starts.set(this.starts);
    this.starts = starts;
    const values = new Int32Array(this.values.length * 2);
    values.set(this.values);
    this.values = values;
  }
}

/** A stretch of a lane layer as the timeline shows it; `merged` counts the changes folded into one too short to see. */
export interface Span {
  from: number;
  to: number;
  label: string;
  merged?: number;
}

/**
 * Where foldSpans puts what it finds, in step order: a stretch from `from` to `to` showing
 * `value` (the series' value, a label number); `merged` > 0 when it folds that many changes.
 */
export type SpanSink = (from: number, to: number, value: number, merged: number) => void;

/**
 * The spans of `series` within [from, to) at `resolution` steps per pixel, the series ending
 * at `end`, told to `sink` in step order. Value 0 means nothing to draw. Changes closer
 * together than a pixel are folded, one pixel at a time, into a stretch labelled with the
 * value in force where it starts, and busy pixels side by side into one stretch; so the work
 * is per pixel, not per change, however many changes the range holds.
 */
export function foldSpans(series: ChangeSeries, from: number, to: number, resolution: number, end: number, sink: SpanSink): void {
  const stop = Math.min(to, end);
  let pos = from;
  let i = series.indexAt(pos);
  if (i < 0) {
    if (series.length === 0) return;
    i = 0;
    pos = Math.max(pos, series.startOf(0));
  }
  // the folded stretch being grown, told when something else comes or the range ends
  let folded: { from: number; to: number; value: number; merged: number } | undefined;
  const tellFolded = () => {
    if (folded) sink(folded.from, folded.to, folded.value, folded.merged);
    folded = undefined;
  };
  while (pos < stop && i < series.length) {
    const segEnd = i + 1 < series.length ? series.startOf(i + 1) : end;
    if (segEnd - series.startOf(i) >= resolution) {
      const v = series.valueOf(i);
      tellFolded();
      if (v !== 0) sink(pos, Math.min(segEnd, stop), v, 0);
      pos = segEnd;
      i++;
      continue;
    }
    // changes closer together than a pixel: fold up to the next pixel boundary
    const pixelEnd = Math.min(stop, nextPixelStart(from, pos, resolution));
    const last = series.indexAt(pixelEnd - 1);
    const value = firstNonZero(series, i, last);
    const merged = last - i + 1;
    if (value !== 0 && folded?.to === pos) {
      folded.to = pixelEnd;
      folded.merged += merged;
    } else if (value !== 0) {
      tellFolded();
      folded = { from: pos, to: pixelEnd, value, merged };
    }
    pos = pixelEnd;
    i = last;
    if (i + 1 < series.length && series.startOf(i + 1) <= pos) i++;
  }
  tellFolded();
}

/** foldSpans as a list of spans labelled from `labels`. */
export function spansIn(series: ChangeSeries, labels: readonly string[], from: number, to: number, resolution: number, end: number): Span[] {
  const out: Span[] = [];
  foldSpans(series, from, to, resolution, end, (f, t, v, merged) => out.push(merged ? { from: f, to: t, label: labels[v], merged } : { from: f, to: t, label: labels[v] }));
  return out;
}

/**
 * The first whole step of the pixel after the one holding `pos`, pixels being `resolution`
 * steps wide from `from`. Always past `pos`: a fractional width can round a boundary back
 * onto `pos` itself, which would fold the same pixel for ever.
 */
export function nextPixelStart(from: number, pos: number, resolution: number): number {
  const boundary = Math.ceil(from + (Math.floor((pos - from) / resolution) + 1) * resolution);
  return Math.max(pos + 1, boundary);
}

/** Neighbouring changes never hold the same value, so one of the first two is something. */
function firstNonZero(series: ChangeSeries, from: number, to: number): number {
  return series.valueOf(from) || (from < to ? series.valueOf(from + 1) : 0);
}

/** The first index whose step is at least `step`, in a list kept in step order. */
export function firstAtOrAfter(n: number, stepAt: (i: number) => number, step: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (stepAt(mid) < step) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
