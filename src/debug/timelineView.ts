import { Event } from '@vscode/debugadapter';
import { statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ftraceText } from '../machine/trace.js';
import { chromeTrace } from '../timeline/chromeTrace.js';
import type { TimelineAnswer } from '../timeline/answer.js';
import { queryTimeline } from '../timeline/query.js';
import { writeChromeTrace } from '../timeline/traceFile.js';
import { Debuggee } from './debuggee.js';
import { RequestError } from './errors.js';
import { threadName } from './frames.js';

/** The `timeline` request's arguments (checked in requests.ts). */
export interface TimelineArguments {
  fromStep: number;
  toStep: number;
  /** steps per pixel */
  resolution: number;
  /** the lanes in view, first and last (all by default) */
  fromCpu?: number;
  toCpu?: number;
}

/**
 * The `timeline` answer: the viewport's spans, arrows and markers in columns (answer.ts),
 * the lanes named as the Call Stack names the threads, and where the machine is.
 */
export function timelineBody(d: Debuggee, a: TimelineArguments): TimelineAnswer & { currentStep: number } {
  d.recorder.settle(d.m.steps);
  const answer = queryTimeline(d.recorder, a.fromStep, a.toStep, a.resolution, a);
  for (const lane of answer.lanes) lane.name = threadName(d, lane.cpu);
  return { ...answer, currentStep: d.m.steps };
}

/** Told at every stop: the run grew or travelled, so a timeline view asks again. */
export function timelineChanged(d: Debuggee): Event {
  d.recorder.settle(d.m.steps);
  return new Event('smplab.timelineChanged', { currentStep: d.m.steps, endStep: d.recorder.end, nrCpus: d.m.nrCpus });
}

/** The `exportTrace` request's arguments (checked in requests.ts). */
export interface ExportTraceArguments {
  /** chrome: trace-event JSON (Perfetto); ftrace: the kernel's trace file text */
  format: 'chrome' | 'ftrace';
  path: string;
}

/**
 * Writes the run as recorded so far (every step the debugger has taken,
 * including any it has since travelled back from) to a file, in the same
 * form as `smplab run --trace-out` / `--ftrace-out`.
 */
export function exportTrace(d: Debuggee, a: ExportTraceArguments): { path: string; bytes: number; endStep: number } {
  d.recorder.settle(d.m.steps);
  try {
    if (a.format === 'chrome') writeChromeTrace(a.path, chromeTrace(d.recorder, path.basename(d.prepared.scenario.file)));
    else writeFileSync(a.path, ftraceText(d.m, d.recorder.recordedEvents()));
  } catch (e) {
    throw new RequestError(`cannot write ${a.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { path: a.path, bytes: statSync(a.path).size, endStep: d.recorder.end };
}
