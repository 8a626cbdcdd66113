/**
 * Source sets for a search with state matching: from each state the search
 * first tries one actor, and adds another only when a race says the other
 * order can lead somewhere new (dynamic partial-order reduction, Flanagan
 * and Godefroid's rule, races found between executed transitions as source
 * DPOR does).
 *
 * Two transitions race when they are of different actors, one writes a
 * cell the other touches, and nothing between them orders them already
 * (happens-before, kept as a vector clock per transition on the path).
 * For a race between the transition at path position q and a later one of
 * actor a, the state before q must also try a first (or, when a cannot step
 * there, the first later step that does not depend on q's; failing that,
 * every actor). An actor the transition taken leaves unable to step counts
 * as racing with it.
 *
 * A path that ends in a state explored before has not run what follows that
 * state; the races with it are found from the state's summary: every cell
 * any transition explored from it touched, with which actors read and which
 * wrote it. Summaries are kept per state, shared between states that have
 * the same (most late states of a run do). A state still being explored (a
 * cycle) has none yet: then every state on the cycle tries every actor. A
 * state done whose exploration led back to a state still on the stack
 * waits for that one's summary, which covers everything it can reach.
 * The search (search.ts) decides what to add; this file finds the races.
 */

/** Actors a summary can name (one bit each in a mask). */
export const SOURCE_SET_ACTORS = 32;

/** A state's summary number: not known (still being explored; waiting on a state on the stack is a negative number, see search.ts). */
export const UNKNOWN_SUMMARY = 0;
/** A state's summary number: nothing was done from it (the run ended). */
export const EMPTY_SUMMARY = 1;

/**
 * One transition on the path: the actor that chose it and the cells it
 * touched. A timed event's transition holds the steps of the CPU that took
 * it too, but belongs to the event alone: the CPU's own transitions before
 * and after are ordered with it only by what they touch (each reads the
 * pending-interrupt register the event writes), since the event could have
 * come between any two of them.
 */
interface PathEntry {
  actor: number;
  /** address * 2 + 1 if written */
  footprint: Int32Array;
  /** [a]: the last position of actor a that happens before (or is) this one, or -1 */
  clock: Int32Array;
  /** what lastPosition held for the actor before this entry */
  before: number;
}

/** A race: the state before path position `position` should also try `actor`. */
export type RaceReport = (position: number, actor: number) => void;

/**
 * The transitions of the current path with what the race checks need: per
 * cell the accesses along the path, per transition its vector clock.
 */
export class PathRaces {
  private readonly path: PathEntry[] = [];
  /** per dense cell: position * 2 + (1 if written), in path order */
  private readonly accesses: number[][] = [];
  /** per dense cell: the positions that wrote it, in path order */
  private readonly writes: number[][] = [];
  /** [a]: the last position of actor a on the path, or -1 */
  private readonly lastPosition: Int32Array;
  /** conflicting()'s answer, and per path position the call that last put it there */
  private readonly found: number[] = [];
  private foundMark: Int32Array = new Int32Array(256);
  private foundStamp = 0;

  /** `actors`: how many actors there can be (at most SOURCE_SET_ACTORS) */
  constructor(readonly cells: CellNumbers, private readonly actors: number) {
    this.lastPosition = new Int32Array(actors).fill(-1);
  }

  get length(): number {
    return this.path.length;
  }

  /**
   * The races of a transition about to follow the path, reported, and its
   * clock: what happens before it.
   */
  racesOf(actor: number, footprint: Int32Array, report: RaceReport): Int32Array {
    const clock = new Int32Array(this.actors).fill(-1);
    const last = this.lastPosition[actor];
    if (last >= 0) join(clock, this.path[last], last);
    for (const q of this.conflicting(footprint)) {
      const e = this.path[q];
      if (e.actor !== actor && clock[e.actor] < q) report(q, actor);
      join(clock, e, q);
    }
    return clock;
  }

  /**
   * The races between the path and what follows a state explored before,
   * from the state's summary. Only process order is known of those
   * transitions: a race is reported unless the summary's actor ran after the
   * access on this path.
   */
  racesWithSummary(summary: Int32Array, cells: Int32Array, report: RaceReport): void {
    for (const cell of cells) {
      const reads = summary[2 * cell];
      const writes = summary[2 * cell + 1];
      if (!(reads | writes)) continue;
      // a write on the path races with every later access, a read with later writes
      if (!writes) {
        const q = this.lastWrite(cell);
        if (q >= 0) this.raceWithActors(q, reads, report);
        continue;
      }
      const list = this.accesses[cell];
      if (!list) continue;
      for (let i = list.length - 1; i >= 0; i--) {
        const q = list[i] >> 1;
        const written = (list[i] & 1) === 1;
        this.raceWithActors(q, written ? reads | writes : writes, report);
        if (written) break;
      }
    }
  }

  /**
   * The actor of the first transition after position q that does not
   * happen after it, or -1: it can go first, where q went, to start an
   * order in which q's race turns the other way (an initial of what does
   * not depend on q, as source sets take it).
   */
  firstIndependentAfter(q: number): number {
    const a = this.path[q].actor;
    for (let j = q + 1; j < this.path.length; j++) {
      const e = this.path[j];
      if (e.actor !== a && e.clock[a] < q) return e.actor;
    }
    return -1;
  }

  /** Appends a transition (its clock from racesOf). */
  push(actor: number, footprint: Int32Array, clock: Int32Array): void {
    const q = this.path.length;
    clock[actor] = q;
    this.path.push({ actor, footprint, clock, before: this.lastPosition[actor] });
    this.lastPosition[actor] = q;
    for (let i = 0; i < footprint.length; i++) {
      const cell = this.cells.of(footprint[i] >> 1);
      (this.accesses[cell] ??= []).push(q * 2 + (footprint[i] & 1));
      if (footprint[i] & 1) (this.writes[cell] ??= []).push(q);
    }
  }

  /** Removes the last transition. */
  pop(): void {
    const e = this.path.pop()!;
    for (let i = e.footprint.length - 1; i >= 0; i--) {
      const cell = this.cells.of(e.footprint[i] >> 1);
      this.accesses[cell].pop();
      if (e.footprint[i] & 1) this.writes[cell].pop();
    }
    this.lastPosition[e.actor] = e.before;
  }

  clear(): void {
    while (this.path.length) this.pop();
  }

  /** Puts position q in conflicting()'s answer unless it is there already. */
  private addFound(q: number): void {
    if (this.foundMark[q] === this.foundStamp) return;
    this.foundMark[q] = this.foundStamp;
    this.found.push(q);
  }

  /** The last position on the path that wrote the cell, or -1. */
  private lastWrite(cell: number): number {
    const w = this.writes[cell];
    return w && w.length ? w[w.length - 1] : -1;
  }

  /** For each actor in the mask that is not ordered after position q already, a race. */
  private raceWithActors(q: number, actors: number, report: RaceReport): void {
    const e = this.path[q];
    for (let a = 0; actors; a++, actors >>>= 1) {
      if (!(actors & 1) || a === e.actor) continue;
      const last = this.lastPosition[a];
      if (last >= 0 && this.path[last].clock[e.actor] >= q) continue;
      report(q, a);
    }
  }

  /**
   * Positions on the path whose transition conflicts with the footprint,
   * latest first, each once. The list is reused by the next call.
   */
  private conflicting(footprint: Int32Array): number[] {
    const found = this.found;
    found.length = 0;
    if (this.foundMark.length < this.path.length) this.foundMark = grown(this.foundMark, 2 * this.path.length);
    ++this.foundStamp;
    for (let i = 0; i < footprint.length; i++) {
      const cell = this.cells.of(footprint[i] >> 1);
      // a read conflicts with the last write; a write with every access since it, and it
      if (!(footprint[i] & 1)) {
        const q = this.lastWrite(cell);
        if (q >= 0) this.addFound(q);
        continue;
      }
      const list = this.accesses[cell];
      if (!list) continue;
      for (let j = list.length - 1; j >= 0; j--) {
        this.addFound(list[j] >> 1);
        if (list[j] & 1) break;
      }
    }
    return found.sort(latestFirst);
  }
}

function latestFirst(a: number, b: number): number {
  return b - a;
}

/** What happens before entry e (at position q) happens before the clock's transition too. */
function join(clock: Int32Array, e: PathEntry, q: number): void {
  const c = e.clock;
  for (let a = 0; a < clock.length; a++) if (c[a] > clock[a]) clock[a] = c[a];
  if (clock[e.actor] < q) clock[e.actor] = q;
}

/** Shared cells numbered densely in the order first seen, so summaries can be arrays. */
export class CellNumbers {
  /** [address]: the cell's number + 1, or 0 when not seen yet */
  private numbers: Int32Array = new Int32Array(1024);
  size = 0;

  of(address: number): number {
    if (address >= this.numbers.length) this.numbers = grown(this.numbers, Math.max(2 * this.numbers.length, address + 1));
    const n = this.numbers[address];
    if (n > 0) return n - 1;
    this.numbers[address] = ++this.size;
    return this.size - 1;
  }
}

/** What was done from a state so far: the transitions taken, and the summaries of the states they reached. */
export class PartialSummary {
  readonly reached: number[] = [];
  readonly taken: { actor: number; footprint: Int32Array }[] = [];
}

/**
 * Summaries of what was done from states: per cell a mask of the actors
 * that read it and one of those that wrote it. Each distinct summary is
 * stored once and named by a number (2 and up; see UNKNOWN_SUMMARY, EMPTY_SUMMARY).
 */
export class Summaries {
  private readonly stored: Int32Array[] = [new Int32Array(0), new Int32Array(0)];
  /** two hashes per summary */
  private readonly hashes: number[] = [0, 0, 0, 0];
  private readonly byHash = new Map<number, number>([[0, EMPTY_SUMMARY]]);
  /** where finish() builds a union of summaries */
  private scratch = new Int32Array(0);
  /** [n]: cellsOf(n), once asked */
  private readonly touched: (Int32Array | undefined)[] = [];

  constructor(readonly cells: CellNumbers) {}

  get count(): number {
    return this.stored.length - 2;
  }

  get(n: number): Int32Array {
    return this.stored[n];
  }

  /** The cells summary n says anything about, in order (worked out when first asked). */
  cellsOf(n: number): Int32Array {
    let cells = this.touched[n];
    if (cells) return cells;
    const s = this.stored[n];
    const list: number[] = [];
    for (let cell = 0; 2 * cell < s.length; cell++) if (s[2 * cell] | s[2 * cell + 1]) list.push(cell);
    this.touched[n] = cells = Int32Array.from(list);
    return cells;
  }

  /**
   * The number of a state's summary once everything from it was explored.
   * Most often it reached one summarised state: then only the cells its own
   * transitions touched can differ from that state's summary.
   */
  finish(p: PartialSummary): number {
    let only = EMPTY_SUMMARY;
    let several = false;
    for (const n of p.reached) {
      if (n === EMPTY_SUMMARY || n === only) continue;
      if (only !== EMPTY_SUMMARY) several = true;
      only = n;
    }
    if (several) {
      // the union in a scratch array, kept only if it is a new summary
      if (this.scratch.length < 2 * this.cells.size) this.scratch = new Int32Array(4 * this.cells.size);
      const s = this.scratch;
      let used = 0;
      for (const n of p.reached) used = Math.max(used, this.stored[n].length);
      s.fill(0, 0, used);
      for (const n of p.reached) {
        const r = this.stored[n];
        for (let i = 0; i < r.length; i++) s[i] |= r[i];
      }
      used = this.addTaken(s, used, p);
      const h1 = hashOf(s, used, 0);
      const h2 = hashOf(s, used, 1);
      return this.byHash.get(key(h1, h2)) ?? this.store(s.slice(0, used), h1, h2);
    }
    // the hash of the summary with the transitions' bits added, without building it
    const base = this.stored[only];
    let h1 = this.hashes[2 * only];
    let h2 = this.hashes[2 * only + 1];
    const changed = new Map<number, number>();
    for (const t of p.taken) {
      for (let i = 0; i < t.footprint.length; i++) {
        const at = 2 * this.cells.of(t.footprint[i] >> 1) + (t.footprint[i] & 1);
        const old = changed.get(at) ?? (at < base.length ? base[at] : 0);
        const now = old | (1 << t.actor);
        if (now === old) continue;
        changed.set(at, now);
        h1 = h1 ^ mix(at, old, 0) ^ mix(at, now, 0);
        h2 = h2 ^ mix(at, old, 1) ^ mix(at, now, 1);
      }
    }
    if (changed.size === 0) return only;
    const known = this.byHash.get(key(h1, h2));
    if (known !== undefined) return known;
    let s: Int32Array = base.slice();
    for (const [at, v] of changed) {
      if (at >= s.length) s = grown(s, 2 * this.cells.size);
      s[at] = v;
    }
    return this.store(s, h1, h2);
  }

  /** Adds the transitions' bits to the scratch summary `s`, of which `used` cells are in use; says how many are now. */
  private addTaken(s: Int32Array, used: number, p: PartialSummary): number {
    for (const t of p.taken) {
      for (let i = 0; i < t.footprint.length; i++) {
        const at = 2 * this.cells.of(t.footprint[i] >> 1);
        if (at + 2 > used) {
          s.fill(0, used, at + 2);
          used = at + 2;
        }
        s[at + (t.footprint[i] & 1)] |= 1 << t.actor;
      }
    }
    return used;
  }

  /**
   * The number of a summary with hashes h1 and h2, storing it if it is new.
   * Summaries are told apart by a 52-bit hash of their nonzero cells: two
   * with one hash would be taken for one, as states are (with a million
   * summaries the chance is about 1 in 10,000).
   */
  private store(s: Int32Array, h1: number, h2: number): number {
    const k = key(h1, h2);
    const known = this.byHash.get(k);
    if (known !== undefined) return known;
    const n = this.stored.length;
    this.stored.push(s);
    this.hashes.push(h1, h2);
    this.byHash.set(k, n);
    return n;
  }
}

/**
 * One of two independent 32-bit hashes (`which` 0 or 1) of one summary
 * cell; a summary's hash is the XOR over its cells, 0 for an empty cell,
 * so a few changed cells update it and trailing zeros do not count.
 */
function mix(at: number, v: number, which: number): number {
  if (v === 0) return 0;
  const a = Math.imul(at + (which ? 0x7f4a7c15 : 0x9e3779b9), which ? 0xcc9e2d51 : 0x85ebca6b) ^ Math.imul(v, which ? 0x1b873593 : 0xc2b2ae35);
  const b = Math.imul(a ^ (a >>> 15), which ? 0x27d4eb2f : 0x2c1b3c6d);
  return (b ^ (b >>> 13)) | 0;
}

function hashOf(s: Int32Array, length: number, which: number): number {
  let h = 0;
  for (let i = 0; i < length; i++) if (s[i]) h ^= mix(i, s[i], which);
  return h;
}

/** The two hashes as one 52-bit number. */
function key(h1: number, h2: number): number {
  return (h1 >>> 0) * 0x100000 + (h2 >>> 12);
}

function grown(a: Int32Array, length: number): Int32Array {
  const b = new Int32Array(Math.max(length, a.length));
  b.set(a);
  return b;
}
