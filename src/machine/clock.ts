/**
 * The simulated clock that traces are written on. The machine has no time of
 * its own, only steps; exported traces (ftrace text, Chrome trace-event JSON)
 * and the timeline count one step as one microsecond, so step 600 is
 * `0.000600` in ftrace text and `ts: 600` in trace-event JSON.
 */
export const MICROSECONDS_PER_STEP = 1;

/** A step as microseconds of simulated time. */
export function stepToMicroseconds(step: number): number {
  return step * MICROSECONDS_PER_STEP;
}

/** A step as ftrace prints a timestamp: seconds with six decimals (`0.000600`). */
export function ftraceTimestamp(step: number): string {
  const us = stepToMicroseconds(step);
  return `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
}
