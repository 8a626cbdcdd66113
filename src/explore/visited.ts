/**
 * The states a search has seen, by their 64-bit hash (hash compaction: two
 * different states with the same hash would be taken for one; the search
 * reports the chance of that). Open addressing over one Int32Array: per entry
 * the two hash halves, the sleep set the state was explored with (actors
 * 0..63 as two 32-bit masks), and the smallest bound (preemptions, or depth)
 * it was reached with.
 */
const STRIDE = 5;
const EMPTY = 0;

export interface VisitedEntry {
  /** index of the entry, for update() */
  slot: number;
  sleepLo: number;
  sleepHi: number;
  bound: number;
}

export class VisitedStates {
  private table: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacityLog2 = 16) {
    this.table = new Int32Array((1 << capacityLog2) * STRIDE);
    this.mask = (1 << capacityLog2) - 1;
  }

  /** The entry for a hash, or undefined when the state is new. */
  find(lo: number, hi: number): VisitedEntry | undefined {
    const i = this.probe(lo, hi | 1);
    const t = this.table;
    if (t[i + 1] === EMPTY) return undefined;
    return { slot: i, sleepLo: t[i + 2], sleepHi: t[i + 3], bound: t[i + 4] };
  }

  /** Records a new state. */
  add(lo: number, hi: number, sleepLo: number, sleepHi: number, bound: number): void {
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    const i = this.probe(lo, hi | 1);
    const t = this.table;
    t[i] = lo;
    t[i + 1] = hi | 1;
    t[i + 2] = sleepLo;
    t[i + 3] = sleepHi;
    t[i + 4] = bound;
    this.size++;
  }

  update(e: VisitedEntry, sleepLo: number, sleepHi: number, bound: number): void {
    const t = this.table;
    t[e.slot + 2] = sleepLo;
    t[e.slot + 3] = sleepHi;
    t[e.slot + 4] = bound;
  }

  /** Bytes the table takes. */
  get bytes(): number {
    return this.table.byteLength;
  }

  /**
   * The slot holding (lo, hi), or the empty slot where it would go. The low
   * bit of `hi` is forced to 1 so that an empty slot (hi 0) is never a key;
   * that leaves 63 bits of hash.
   */
  private probe(lo: number, hi: number): number {
    const t = this.table;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const at = i * STRIDE;
      if (t[at + 1] === EMPTY || (t[at] === lo && t[at + 1] === hi)) return at;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Int32Array(old.length * 2);
    this.mask = this.mask * 2 + 1;
    for (let at = 0; at < old.length; at += STRIDE) {
      if (old[at + 1] === EMPTY) continue;
      const i = this.probe(old[at], old[at + 1]);
      this.table.set(old.subarray(at, at + STRIDE), i);
    }
  }
}
