import { tracepointOf } from '../machine/events.js';
import { stepToMicroseconds } from '../machine/clock.js';
import { shownInTrace } from '../machine/trace.js';
import { timelineView } from './query.js';
import { LAYERS, Layer, TimelineRecorder } from './recorder.js';

/**
 * A run in the Chrome trace-event JSON format (the "JSON Object Format" that
 * Perfetto and chrome://tracing open): one process, one track per CPU with
 * what runs on it, a track beside it for each other layer (interrupts off,
 * hotplug state, stop-machine state), an instant per event and flow arrows
 * for IPIs and csds. `ts` and `dur` are microseconds on the simulated clock
 * (src/machine/clock.ts: one step is one microsecond).
 */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'i' | 's' | 'f' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  id?: number;
  s?: 't';
  bp?: 'e';
  args?: Record<string, string | number>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms' | 'ns';
  otherData: Record<string, string | number>;
}

const PID = 1;

/** What each layer's track is called after the CPU's name; the run layer is the CPU's own track. */
const LAYER_TRACKS: Record<Layer, string> = { run: '', irqsOff: 'irqs off', hotplug: 'hotplug', stopMachine: 'stop-machine' };

/** Tracks in CPU order, each CPU's layers together: CPU c's layer k is thread c * layers + k. */
function trackOf(cpu: number, layer: Layer): number {
  return cpu * LAYERS.length + LAYERS.indexOf(layer);
}

/**
 * An instant's category: its event kind, except that the IPI and csd events
 * share their family's (`ipi`, `csd`), the category of the flows that start
 * and end at them. Chrome DevTools binds a flow to the event with the same
 * time, thread and category; Perfetto to the slice around it on the thread.
 */
function categoryOf(kind: string): string {
  const family = kind.split('-')[0];
  return family === 'ipi' || family === 'csd' ? family : kind;
}

export function chromeTrace(r: TimelineRecorder, title: string): ChromeTrace {
  const events: TraceEvent[] = [{ name: 'process_name', ph: 'M', pid: PID, tid: 0, args: { name: title } }];
  const view = timelineView(r, 0, r.end, 1);
  for (const lane of view.lanes) {
    for (const layer of LAYERS) {
      const tid = trackOf(lane.cpu, layer);
      const name = LAYER_TRACKS[layer] ? `${lane.name} ${LAYER_TRACKS[layer]}` : lane.name;
      events.push({ name: 'thread_name', ph: 'M', pid: PID, tid, args: { name } });
      events.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid, args: { sort_index: tid } });
      for (const s of lane.spans[layer]) {
        events.push({ name: s.label, cat: layer, ph: 'X', pid: PID, tid, ts: stepToMicroseconds(s.from), dur: stepToMicroseconds(s.to - s.from) });
      }
    }
  }
  for (const e of r.recordedEvents()) {
    // interrupts turned off and on are the irqs-off track's spans, not instants
    if (!shownInTrace(e)) continue;
    events.push({ name: tracepointOf(e), cat: categoryOf(e.kind), ph: 'i', s: 't', pid: PID, tid: trackOf(e.cpu, 'run'), ts: stepToMicroseconds(e.step), args: r.fieldsOf(e) });
  }
  let id = 0;
  for (const a of view.arrows) {
    if (a.toStep === undefined) continue; // still on its way when the run ended: its send is an instant above
    id++;
    const name = a.kind === 'ipi' ? `IPI ${a.label}` : `csd ${a.label}`;
    events.push({ name, cat: a.kind, ph: 's', id, pid: PID, tid: trackOf(a.fromCpu, 'run'), ts: stepToMicroseconds(a.fromStep), args: a.fields ?? {} });
    events.push({ name, cat: a.kind, ph: 'f', bp: 'e', id, pid: PID, tid: trackOf(a.toCpu, 'run'), ts: stepToMicroseconds(a.toStep), args: { lost: a.lost ? 1 : 0 } });
  }
  return { traceEvents: events, displayTimeUnit: 'ns', otherData: { clock: 'simulated: one step is one microsecond', steps: r.end } };
}
