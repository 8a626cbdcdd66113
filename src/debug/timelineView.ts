import { Event } from '@vscode/debugadapter';
import { TimelineView, queryTimeline } from '../timeline/query.js';
import { Debuggee } from './debuggee.js';
import { threadName } from './frames.js';

/** The `timeline` request's arguments (checked in requests.ts). */
export interface TimelineArguments {
  fromStep: number;
  toStep: number;
  /** steps per pixel */
  resolution: number;
}

/** The `timeline` answer: the viewport's spans, arrows and markers, the lanes named as the Call Stack names the threads, and where the machine is. */
export function timelineBody(d: Debuggee, a: TimelineArguments): TimelineView & { currentStep: number } {
  d.recorder.settle(d.m.steps);
  const view = queryTimeline(d.recorder, a.fromStep, a.toStep, a.resolution);
  for (const lane of view.lanes) lane.name = threadName(d, lane.cpu);
  return { ...view, currentStep: d.m.steps };
}

/** Told at every stop: the run grew or travelled, so a timeline view asks again. */
export function timelineChanged(d: Debuggee): Event {
  d.recorder.settle(d.m.steps);
  return new Event('smplab.timelineChanged', { currentStep: d.m.steps, endStep: d.recorder.end });
}
