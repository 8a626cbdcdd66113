/**
 * The states a search has seen, by their 64-bit hash (hash compaction: two
 * different states with the same hash would be taken for one; the search
 * reports the chance of that). Open addressing with linear probing: the keys
 * (two 32-bit halves) in one array, so a lookup touches little memory, and
 * per entry in another the sleep set the state was explored with (actors
 * 0..63 as two 32-bit masks) and the smallest bound (preemptions, or depth)
 * it was reached with.
 */
const EMPTY = 0;
/** grow when more than this share of the slots is taken */
const LOAD = 0.7;

export class VisitedStates {
  private keys: Int32Array;
  private data: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacityLog2 = 18) {
    this.keys = new Int32Array(2 << capacityLog2);
    this.data = new Int32Array(3 << capacityLog2);
    this.mask = (1 << capacityLog2) - 1;
  }

  /** The entry for a hash (read it with sleepLo() and the like), or -1 when the state is new. */
  find(lo: number, hi: number): number {
    const i = this.probe(lo, hi | 1);
    return this.keys[2 * i + 1] === EMPTY ? -1 : i;
  }

  sleepLo(entry: number): number {
    return this.data[3 * entry];
  }

  sleepHi(entry: number): number {
    return this.data[3 * entry + 1];
  }

  bound(entry: number): number {
    return this.data[3 * entry + 2];
  }

  /** Records a new state. */
  add(lo: number, hi: number, sleepLo: number, sleepHi: number, bound: number): void {
    if (this.size + 1 > LOAD * (this.mask + 1)) this.grow();
    const i = this.probe(lo, hi | 1);
    this.keys[2 * i] = lo;
    this.keys[2 * i + 1] = hi | 1;
    this.update(i, sleepLo, sleepHi, bound);
    this.size++;
  }

  update(entry: number, sleepLo: number, sleepHi: number, bound: number): void {
    const d = this.data;
    d[3 * entry] = sleepLo;
    d[3 * entry + 1] = sleepHi;
    d[3 * entry + 2] = bound;
  }

  /** Bytes the table takes. */
  get bytes(): number {
    return this.keys.byteLength + this.data.byteLength;
  }

  /**
   * The slot holding (lo, hi), or the empty slot where it would go. The low
   * bit of `hi` is forced to 1 so that an empty slot (hi 0) is never a key;
   * that leaves 63 bits of hash.
   */
  private probe(lo: number, hi: number): number {
    const k = this.keys;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const h = k[2 * i + 1];
      if (h === EMPTY || (h === hi && k[2 * i] === lo)) return i;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const keys = this.keys;
    const data = this.data;
    const slots = keys.length / 2;
    this.keys = new Int32Array(keys.length * 2);
    this.data = new Int32Array(data.length * 2);
    this.mask = slots * 2 - 1;
    for (let j = 0; j < slots; j++) {
      if (keys[2 * j + 1] === EMPTY) continue;
      const i = this.probe(keys[2 * j], keys[2 * j + 1]);
      this.keys[2 * i] = keys[2 * j];
      this.keys[2 * i + 1] = keys[2 * j + 1];
      this.data.set(data.subarray(3 * j, 3 * j + 3), 3 * i);
    }
  }
}
