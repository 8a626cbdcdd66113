/**
 * Every nondeterministic decision of the machine goes through a Chooser:
 * which actor steps next (a CPU, or a timed event such as an IPI arriving),
 * and how long a timed event waits. A chooser's state is a few numbers, saved
 * in every snapshot.
 *
 * Actors are numbered: CPUs 0..n-1 first, then the machine's timed events
 * (see Machine.actorName). A chooser that answers every delay with a number
 * only ever sees CPUs; one that answers LEAVE_TO_SCHEDULE sees a timed event
 * as an actor that may step while its window is open.
 */
export interface Chooser {
  /** Which of the actors steps next. `actors` is in actor order. */
  pickActor(actors: ArrayLike<number>, count: number): number;
  /**
   * How many steps a timed event waits: a number in [min, max] (max may be
   * Infinity), or LEAVE_TO_SCHEDULE to let pickActor decide step by step.
   */
  pickDelay(min: number, max: number): number;
  save(): number[];
  load(state: readonly number[]): void;
}

/** pickDelay's answer when the moment is chosen by picking the event as an actor. */
export const LEAVE_TO_SCHEDULE = -1;

/** An unbounded delay drawn by a chooser that picks delays up front lies in [min, min + this]. */
export const UNBOUNDED_DELAY_WINDOW = 1000;

function span(min: number, max: number): number {
  return max === Infinity ? UNBOUNDED_DELAY_WINDOW : max - min;
}

/** Runs the runnable CPUs in turn, in CPU order; every delay is its shortest. */
export class RoundRobin implements Chooser {
  private last = -1;
  pickActor(actors: ArrayLike<number>, count: number): number {
    for (let i = 0; i < count; i++) {
      if (actors[i] > this.last) return (this.last = actors[i]);
    }
    return (this.last = actors[0]);
  }
  pickDelay(min: number): number {
    return min;
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
  pickActor(actors: ArrayLike<number>, count: number): number {
    return actors[Math.floor(this.next() * count)];
  }
  pickDelay(min: number, max: number): number {
    if (max === min) return min;
    return min + Math.floor(this.next() * (span(min, max) + 1));
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
  pickActor(actors: ArrayLike<number>, count: number): number {
    while (this.index < this.list.length) {
      const want = this.list[this.index++];
      for (let i = 0; i < count; i++) if (actors[i] === want) return want;
    }
    return this.after.pickActor(actors, count);
  }
  pickDelay(min: number): number {
    return min;
  }
  save(): number[] {
    return [this.index, ...this.after.save()];
  }
  load(state: readonly number[]): void {
    this.index = state[0];
    this.after.load(state.slice(1));
  }
}

/**
 * Replays a recorded list of actors, one per step, as the explorer writes
 * them: timed events are actors, so every delay is left to the list. A listed
 * actor that cannot step ends the replay's fidelity: `diverged` tells at which
 * entry. After the list, round-robin over whatever can step.
 */
export class ReplayList implements Chooser {
  private index = 0;
  /** index of the first entry that named an actor that could not step, or -1 */
  diverged = -1;
  private readonly after = new RoundRobin();
  constructor(private readonly list: readonly number[]) {}
  pickActor(actors: ArrayLike<number>, count: number): number {
    if (this.index < this.list.length) {
      const want = this.list[this.index++];
      for (let i = 0; i < count; i++) if (actors[i] === want) return want;
      if (this.diverged < 0) this.diverged = this.index - 1;
    }
    return this.after.pickActor(actors, count);
  }
  pickDelay(): number {
    return LEAVE_TO_SCHEDULE;
  }
  save(): number[] {
    return [this.index, this.diverged, ...this.after.save()];
  }
  load(state: readonly number[]): void {
    this.index = state[0];
    this.diverged = state[1];
    this.after.load(state.slice(2));
  }
}

export type SchedulePolicy =
  | { kind: 'round-robin' }
  | { kind: 'random'; seed: number }
  | { kind: 'list'; cpus: number[] }
  | { kind: 'replay'; actors: number[] };

export function makeChooser(p: SchedulePolicy): Chooser {
  switch (p.kind) {
    case 'round-robin': return new RoundRobin();
    case 'random': return new SeededRandom(p.seed);
    case 'list': return new ScheduleList(p.cpus);
    case 'replay': return new ReplayList(p.actors);
  }
}
