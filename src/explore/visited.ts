/**
 * The states a search has seen, by their 64-bit hash (hash compaction: two
 * different states with the same hash would be taken for one; the search
 * reports the chance of that). Open addressing with linear probing: the keys
 * (two 32-bit halves) in one array, so a lookup touches little memory, and
 * per entry in another the sleep set the state was explored with (actors
 * 0..63 as two 32-bit masks), the smallest bound (preemptions, or depth)
 * it was reached with, and what was done from it (a summary's number, see
 * sourceSets.ts).
 */
const EMPTY = 0;
/** per entry: sleepLo, sleepHi, bound, summary */
const STRIDE = 4;
/** grow when more than this share of the slots is taken */
const LOAD = 0.7;

export class VisitedStates implements StateTable {
  private keys: Int32Array;
  private data: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacityLog2 = 18) {
    this.keys = new Int32Array(2 << capacityLog2);
    this.data = new Int32Array(STRIDE << capacityLog2);
    this.mask = (1 << capacityLog2) - 1;
  }

  /** The entry for a hash (read it with sleepLo() and the like), or -1 when the state is new. */
  find(lo: number, hi: number): number {
    const i = this.probe(lo, hi | 1);
    return this.keys[2 * i + 1] === EMPTY ? -1 : i;
  }

  sleepLo(entry: number): number {
    return this.data[STRIDE * entry];
  }

  sleepHi(entry: number): number {
    return this.data[STRIDE * entry + 1];
  }

  bound(entry: number): number {
    return this.data[STRIDE * entry + 2];
  }

  summary(entry: number): number {
    return this.data[STRIDE * entry + 3];
  }

  setSummary(entry: number, summary: number): void {
    this.data[STRIDE * entry + 3] = summary;
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
    d[STRIDE * entry] = sleepLo;
    d[STRIDE * entry + 1] = sleepHi;
    d[STRIDE * entry + 2] = bound;
  }

  restart(): StateTable {
    return new VisitedStates();
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

  /** Four times the slots: a big search rehashes a few times, not every doubling. */
  private grow(): void {
    const keys = this.keys;
    const data = this.data;
    const slots = keys.length / 2;
    this.keys = new Int32Array(keys.length * 4);
    this.data = new Int32Array(data.length * 4);
    this.mask = slots * 4 - 1;
    for (let j = 0; j < slots; j++) {
      if (keys[2 * j + 1] === EMPTY) continue;
      const i = this.probe(keys[2 * j], keys[2 * j + 1]);
      this.keys[2 * i] = keys[2 * j];
      this.keys[2 * i + 1] = keys[2 * j + 1];
      this.data.set(data.subarray(STRIDE * j, STRIDE * j + STRIDE), STRIDE * i);
    }
  }
}

/** What a search needs of its table of seen states; local or shared between threads. */
export interface StateTable {
  readonly size: number;
  find(lo: number, hi: number): number;
  sleepLo(entry: number): number;
  sleepHi(entry: number): number;
  bound(entry: number): number;
  add(lo: number, hi: number, sleepLo: number, sleepHi: number, bound: number): void;
  update(entry: number, sleepLo: number, sleepHi: number, bound: number): void;
  /** what was done from the state (a table of one thread's search keeps it; a shared one does not) */
  summary?(entry: number): number;
  setSummary?(entry: number, summary: number): void;
  /** Forgets every state: the search starts again with reductions that assume less (ownership generation `g`). */
  restart(generation: number): StateTable;
}

/** A slot being written by another thread: its key is not readable yet. */
const LOCKED = 2;
/** Ownership generations a shared table counts states for (a parallel search gives up past them). */
export const SHARED_GENERATIONS = 256;

/**
 * A table of seen states shared by the threads of one search, in
 * SharedArrayBuffers. Slots are claimed with compare-and-exchange and the
 * entry is written before its key is published, so a thread that finds a
 * key also finds the sleep set it was explored with. Entries carry the
 * ownership generation they were explored under; one from an older
 * generation counts as unseen (a restart forgets by moving on, not by
 * clearing). It does not grow: when it is 70% full it says so (`full`).
 */
export class SharedVisitedStates implements StateTable {
  private readonly keys: Int32Array;
  /** per slot: sleepLo, sleepHi, bound, generation */
  private readonly data: Int32Array;
  /** [g]: states explored under ownership generation g, by every thread */
  private readonly count: Int32Array;
  private readonly mask: number;

  constructor(readonly buffers: { keys: Int32Array; data: Int32Array; count: Int32Array }, private generation = 0) {
    this.keys = buffers.keys;
    this.data = buffers.data;
    this.count = buffers.count;
    this.mask = this.keys.length / 2 - 1;
  }

  /** Buffers for a table of 2^capacityLog2 slots. */
  static allocate(capacityLog2: number): { keys: Int32Array; data: Int32Array; count: Int32Array } {
    const slots = 1 << capacityLog2;
    return {
      keys: new Int32Array(new SharedArrayBuffer(8 * slots)),
      data: new Int32Array(new SharedArrayBuffer(16 * slots)),
      count: new Int32Array(new SharedArrayBuffer(4 * SHARED_GENERATIONS)),
    };
  }

  /** States explored under the current generation (a restart starts the count again). */
  get size(): number {
    return Atomics.load(this.count, this.generation % SHARED_GENERATIONS);
  }

  get full(): boolean {
    return this.size > 0.7 * (this.mask + 1);
  }

  find(lo: number, hi: number): number {
    const i = this.probe(lo, hi | 1);
    return this.keys[2 * i + 1] === EMPTY || Atomics.load(this.data, 4 * i + 3) !== this.generation ? -1 : i;
  }

  sleepLo(entry: number): number {
    return Atomics.load(this.data, 4 * entry);
  }

  sleepHi(entry: number): number {
    return Atomics.load(this.data, 4 * entry + 1);
  }

  bound(entry: number): number {
    return Atomics.load(this.data, 4 * entry + 2);
  }

  add(lo: number, hi: number, sleepLo: number, sleepHi: number, bound: number): void {
    const key = hi | 1;
    for (;;) {
      const i = this.probe(lo, key);
      const at = 2 * i + 1;
      if (this.keys[at] === key) {
        // an entry of an older generation (or one another thread just added): explored anew from now
        this.update(i, sleepLo, sleepHi, bound);
        if (Atomics.exchange(this.data, 4 * i + 3, this.generation) !== this.generation) Atomics.add(this.count, this.generation % SHARED_GENERATIONS, 1);
        return;
      }
      if (Atomics.compareExchange(this.keys, at, EMPTY, LOCKED) !== EMPTY) continue;
      this.keys[2 * i] = lo;
      this.update(i, sleepLo, sleepHi, bound);
      Atomics.store(this.data, 4 * i + 3, this.generation);
      Atomics.store(this.keys, at, key);
      Atomics.add(this.count, this.generation % SHARED_GENERATIONS, 1);
      return;
    }
  }

  update(entry: number, sleepLo: number, sleepHi: number, bound: number): void {
    Atomics.store(this.data, 4 * entry, sleepLo);
    Atomics.store(this.data, 4 * entry + 1, sleepHi);
    Atomics.store(this.data, 4 * entry + 2, bound);
  }

  restart(generation: number): StateTable {
    this.generation = generation;
    return this;
  }

  /** The slot holding the key, or the empty slot where it would go; waits out a slot another thread is writing. */
  private probe(lo: number, hi: number): number {
    const k = this.keys;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      let h = Atomics.load(k, 2 * i + 1);
      while (h === LOCKED) h = Atomics.load(k, 2 * i + 1);
      if (h === EMPTY || (h === hi && k[2 * i] === lo)) return i;
      i = (i + 1) & this.mask;
    }
  }
}
