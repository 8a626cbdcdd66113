/**
 * Which cells cannot race, as far as every step so far shows: cells only
 * one context touches (a task, or the interrupts at one depth on one CPU),
 * and cells nobody writes that several contexts read. A schedule search
 * treats their accesses as private; when a cell turns out otherwise it
 * becomes shared for good, and the generation counts up to tell every
 * search (on every thread) that its reductions assumed too much.
 *
 * One word per cell, so a cell changes class in one atomic step when the
 * table is shared between threads: 0 nobody yet, READ_ONLY, SHARED, or
 * owner * 2 + (1 if the owner wrote it).
 */
const READ_ONLY = -2;
const SHARED = -1;

/** The class of a cell two tables learnt `a` and `b` for. */
function combine(a: number, b: number): number {
  if (a === 0 || a === b) return b;
  if (b === 0) return a;
  if (a === SHARED || b === SHARED) return SHARED;
  const written = (x: number) => x > 0 && (x & 1) === 1;
  if (a === READ_ONLY || b === READ_ONLY) return written(a) || written(b) ? SHARED : READ_ONLY;
  if (a >> 1 === b >> 1) return a | b;
  return written(a) || written(b) ? SHARED : READ_ONLY;
}

export class CellOwnership {
  /** per cell, its class */
  readonly cells: Int32Array;
  /** [generation]: counts the cells found shared after being taken for private */
  readonly generation: Int32Array;

  constructor(size: number, shared?: { cells: Int32Array; generation: Int32Array }) {
    this.cells = shared?.cells ?? new Int32Array(size);
    this.generation = shared?.generation ?? new Int32Array(1);
  }

  /** Buffers to give another thread's CellOwnership, so both learn together. */
  get buffers(): { cells: Int32Array; generation: Int32Array } {
    return { cells: this.cells, generation: this.generation };
  }

  /**
   * Adds what another table learnt. A cell two tables disagree on becomes
   * read-only or shared; when that takes privacy away from a cell this
   * table had, the generation counts up as for any sharing found.
   */
  merge(other: Int32Array): void {
    const cells = this.cells;
    let lost = false;
    for (let addr = 0; addr < other.length; addr++) {
      const theirs = other[addr];
      if (theirs === 0) continue;
      for (;;) {
        const o = cells[addr];
        const next = combine(o, theirs);
        if (next === o) break;
        if (Atomics.compareExchange(cells, addr, o, next) !== o) continue;
        if (o !== 0 && (next === SHARED || next === READ_ONLY)) lost = true;
        break;
      }
    }
    if (lost) Atomics.add(this.generation, 0, 1);
  }

  /** True when an access by `context` (from 1) to `addr` cannot race with another context's. */
  isPrivate(addr: number, write: boolean, context: number): boolean {
    const cells = this.cells;
    const mine = context * 2;
    for (;;) {
      const o = cells[addr];
      if (o === SHARED) return false;
      if (o === mine + 1 || (o === mine && !write)) return true;
      if (o === READ_ONLY && !write) return true;
      let next: number;
      if (o === 0) next = write ? mine + 1 : mine;
      else if (o === mine) next = mine + 1;
      else if (o > 0 && !write && (o & 1) === 0) next = READ_ONLY;
      else next = SHARED;
      if (Atomics.compareExchange(cells, addr, o, next) !== o) continue;
      if (next !== SHARED) return true;
      Atomics.add(this.generation, 0, 1);
      return false;
    }
  }
}
