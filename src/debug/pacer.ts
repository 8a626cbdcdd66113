/**
 * How long work (a continue, a replay of the past) shares the event loop:
 * it asks `due()` between steps, which is cheap, and when that says so it
 * awaits `turn()`, which lets pending requests and signals run and answers
 * whether the work should go on.
 */
export interface Pace {
  due(): boolean;
  turn(): Promise<boolean>;
}

/** Work gives the event loop a turn after this many milliseconds, so pause, disconnect and SIGTERM are heard at once. */
const SLICE_MS = 10;
/** Steps between two looks at the clock. */
const STEPS_PER_LOOK = 128;

/** A Pace that turns every SLICE_MS milliseconds and goes on until `stop()` is called. */
export class Pacer implements Pace {
  private steps = 0;
  private since = performance.now();
  private stopped = false;

  due(): boolean {
    if (++this.steps % STEPS_PER_LOOK !== 0) return false;
    return performance.now() - this.since >= SLICE_MS;
  }

  async turn(): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    this.since = performance.now();
    return !this.stopped;
  }

  stop(): void {
    this.stopped = true;
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}
