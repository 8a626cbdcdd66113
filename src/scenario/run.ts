import { SchedulePolicy } from '../machine/chooser.js';
import { EventListener, StopReason } from '../machine/machine.js';
import { PreparedScenario, startRun } from './build.js';
import { ExpectationTracker, Verdict } from './expectations.js';

export interface RunResult {
  stop: StopReason;
  steps: number;
  verdicts: Verdict[];
  ok: boolean;
}

/** Runs a prepared scenario once from its start and judges its expectations. */
export function runScenario(
  p: PreparedScenario,
  opts: { schedule?: SchedulePolicy; ipiLatency?: { min: number; max: number }; onEvent?: EventListener } = {},
): RunResult {
  const m = startRun(p, opts);
  const tracker = new ExpectationTracker(p);
  const off = [m.onEvent(tracker.listener)];
  if (opts.onEvent) off.push(m.onEvent(opts.onEvent));
  try {
    const stop = m.run(p.maxSteps);
    const verdicts = tracker.verdicts(m, stop);
    return { stop, steps: m.steps, verdicts, ok: verdicts.every((v) => v.ok) };
  } finally {
    for (const f of off) f();
  }
}
