/**
 * What a schedule search needs to know about every step: a hash of the whole
 * machine state kept up to date write by write, an undo log to come back to
 * an earlier state, and the shared cells the step read and wrote.
 *
 * The hash is Zobrist-style: the XOR over all cells of a 64-bit key of
 * (address, value), with a zero cell contributing nothing, so a write changes
 * the hash by key(address, old) ^ key(address, new) and costs the same
 * whatever the size of memory.
 */
export class StateTracking {
  /** the state hash, as two 32-bit halves */
  hashLo = 0;
  hashHi = 0;
  /** undo log: address, old value pairs, oldest first */
  undo: Int32Array = new Int32Array(1 << 16);
  undoLength = 0;
  /** shared cells accessed since the last clearAccesses(): address * 2 + (1 if written) */
  accesses: Int32Array = new Int32Array(256);
  accessCount = 0;

  /** A write of `value` over `old` at `addr`. */
  written(addr: number, old: number, value: number): void {
    this.hashLo ^= keyLo(addr, old) ^ keyLo(addr, value);
    this.hashHi ^= keyHi(addr, old) ^ keyHi(addr, value);
    if (this.undoLength + 2 > this.undo.length) this.undo = grow(this.undo);
    this.undo[this.undoLength++] = addr;
    this.undo[this.undoLength++] = old;
  }

  /** A read or write of a cell another actor may also access. */
  accessed(addr: number, write: boolean): void {
    if (this.accessCount === this.accesses.length) this.accesses = grow(this.accesses);
    this.accesses[this.accessCount++] = addr * 2 + (write ? 1 : 0);
  }

  clearAccesses(): void {
    this.accessCount = 0;
  }

  /** Puts memory back as it was when the undo log was `length` long. */
  undoTo(mem: Int32Array, length: number): void {
    const u = this.undo;
    for (let i = this.undoLength - 2; i >= length; i -= 2) mem[u[i]] = u[i + 1];
    this.undoLength = length;
  }

  /** Recomputes the hash of `mem` from scratch (after a restore, and to check the running one). */
  rehash(mem: Int32Array): void {
    const [lo, hi] = hashOf(mem);
    this.hashLo = lo;
    this.hashHi = hi;
  }
}

/** The Zobrist hash of a whole memory, computed cell by cell. */
export function hashOf(mem: Int32Array): [number, number] {
  let lo = 0;
  let hi = 0;
  for (let a = 0; a < mem.length; a++) {
    const v = mem[a];
    if (v === 0) continue;
    lo ^= keyLo(a, v);
    hi ^= keyHi(a, v);
  }
  return [lo, hi];
}

/**
 * The hash key of slot `i` of state kept outside memory (a search's
 * observer, a CPU's spin bookkeeping) holding `value`: XOR it into a state's hash.
 */
export function symbolKey(i: number, value: number): [number, number] {
  return [keyLo(-1 - i, value), keyHi(-1 - i, value)];
}

/** murmur3's 32-bit finaliser: every input bit reaches every output bit. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function keyLo(addr: number, value: number): number {
  if (value === 0) return 0;
  return mix(Math.imul(addr, 0x9e3779b1) ^ mix(value ^ 0x27d4eb2f));
}

function keyHi(addr: number, value: number): number {
  if (value === 0) return 0;
  return mix(Math.imul(addr ^ 0x5bd1e995, 0x7feb352d) + mix(Math.imul(value, 0x846ca68b) ^ 0x165667b1));
}

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
