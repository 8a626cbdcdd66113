/**
 * Every nondeterministic decision of the machine goes through a Chooser: which
 * CPU steps next, how long an IPI is in flight, when a device interrupt fires.
 * A chooser's state is a few numbers, saved in every snapshot.
 */
export interface Chooser {
  /** Which of the runnable CPUs steps next. `runnable` is in CPU order. */
  pickCpu(runnable: ArrayLike<number>, count: number): number;
  /** A number in [0, n). */
  pick(n: number): number;
  save(): number[];
  load(state: readonly number[]): void;
}

/** Runs the runnable CPUs in turn, in CPU order. */
export class RoundRobin implements Chooser {
  private last = -1;
  pickCpu(runnable: ArrayLike<number>, count: number): number {
    for (let i = 0; i < count; i++) {
      if (runnable[i] > this.last) return (this.last = runnable[i]);
    }
    return (this.last = runnable[0]);
  }
  pick(_n: number): number {
    return 0;
  }
  save(): number[] {
    return [this.last];
  }
  load(state: readonly number[]): void {
    this.last = state[0];
  }
}

/** A seeded PRNG (mulberry32): the same seed gives the same run. */
export class SeededRandom implements Chooser {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  pickCpu(runnable: ArrayLike<number>, count: number): number {
    return runnable[Math.floor(this.next() * count)];
  }
  pick(n: number): number {
    return Math.floor(this.next() * n);
  }
  save(): number[] {
    return [this.state];
  }
  load(state: readonly number[]): void {
    this.state = state[0];
  }
}

/**
 * Follows an explicit list of CPUs (`schedule 0,1,1,2`); a listed CPU that
 * cannot step is skipped. After the list, round-robin.
 */
export class ScheduleList implements Chooser {
  private index = 0;
  private readonly after = new RoundRobin();
  constructor(private readonly list: readonly number[]) {}
  pickCpu(runnable: ArrayLike<number>, count: number): number {
    while (this.index < this.list.length) {
      const want = this.list[this.index++];
      for (let i = 0; i < count; i++) if (runnable[i] === want) return want;
    }
    return this.after.pickCpu(runnable, count);
  }
  pick(_n: number): number {
    return 0;
  }
  save(): number[] {
    return [this.index, ...this.after.save()];
  }
  load(state: readonly number[]): void {
    this.index = state[0];
    this.after.load(state.slice(1));
  }
}

export type SchedulePolicy =
  | { kind: 'round-robin' }
  | { kind: 'random'; seed: number }
  | { kind: 'list'; cpus: number[] };

export function makeChooser(p: SchedulePolicy): Chooser {
  switch (p.kind) {
    case 'round-robin': return new RoundRobin();
    case 'random': return new SeededRandom(p.seed);
    case 'list': return new ScheduleList(p.cpus);
  }
}
