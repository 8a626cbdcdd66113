import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import fc from 'fast-check';
import { loadScenarioFile, startRun } from '../src/scenario/build.js';
import { TimelineRecorder } from '../src/timeline/recorder.js';
import { queryTimeline, timelineView } from '../src/timeline/query.js';
import { expandTimeline } from '../src/timeline/answer.js';
import { LAYERS } from '../src/timeline/recorder.js';
import { ChangeSeries, spansIn } from '../src/timeline/series.js';
import { TraceEvent } from '../src/timeline/chromeTrace.js';
import { ROOT, recordRace, smplab } from './helpers.js';

const RACE = join(ROOT, 'examples/ipi-offline-race.smp');


const spanAt = (spans: { from: number; to: number; label: string }[], step: number) => spans.find((s) => s.from <= step && step < s.to);

test('the race: three lanes; the IPI from CPU 0 lands in CPU 1 after it went offline, where the WARN fires', () => {
  const { m, r } = recordRace();
  const v = timelineView(r, 0, m.steps, 1);
  assert.deepEqual(v.lanes.map((l) => l.name), ['CPU0', 'CPU1', 'CPU2']);
  const ipi = v.arrows.filter((a) => a.kind === 'ipi');
  assert.equal(ipi.length, 1);
  const [a] = ipi;
  assert.equal(a.fromCpu, 0);
  assert.equal(a.toCpu, 1);
  assert.equal(a.lost, false);
  assert.ok(a.toStep !== undefined && a.toStep > a.fromStep);
  const cpu1 = v.lanes[1].spans;
  // sent while CPU 1 was online with interrupts off in stop-machine, taken once it was offline
  assert.equal(spanAt(cpu1.hotplug, a.fromStep)?.label, 'online');
  assert.equal(spanAt(cpu1.irqsOff, a.fromStep)?.label, 'irqs off');
  assert.equal(spanAt(cpu1.stopMachine, a.fromStep)?.label, 'MULTI_STOP_DISABLE_IRQ');
  assert.equal(spanAt(cpu1.hotplug, a.toStep)?.label, 'offline');
  assert.equal(spanAt(cpu1.run, a.toStep)?.label, '[hardirq] call_function_single');
  // CPU 0 sent it from its disk interrupt
  assert.equal(spanAt(v.lanes[0].spans.run, a.fromStep)?.label, '[hardirq] disk');
  const warn = v.markers.filter((k) => k.kind === 'warn');
  assert.equal(warn.length, 1);
  assert.equal(warn[0].cpu, 1);
  assert.ok(warn[0].step >= a.toStep, 'the WARN fires in the handler the IPI started');
  assert.equal(spanAt(cpu1.run, warn[0].step)?.label, '[hardirq] call_function_single');
  // the csd queued with it ran on CPU 1 too
  const csd = v.arrows.filter((x) => x.kind === 'csd');
  assert.equal(csd.length, 1);
  assert.equal(csd[0].label, 'trigger_softirq');
  assert.ok(csd[0].toStep! > a.toStep!);
  // CPU 1 ends dead; the softirq the callback raised ran on it before
  assert.equal(cpu1.hotplug[cpu1.hotplug.length - 1].label, 'dead');
  assert.ok(cpu1.run.some((s) => s.label === '[softirq] BLOCK'));
});

test('a coarse resolution merges spans shorter than a pixel and never returns more spans than pixels', () => {
  const { m, r } = recordRace();
  const fine = timelineView(r, 0, m.steps, 1);
  const coarse = timelineView(r, 0, m.steps, 100);
  const pixels = Math.ceil(m.steps / 100);
  for (const lane of coarse.lanes) {
    for (const spans of Object.values(lane.spans)) {
      assert.ok(spans.length <= pixels, `${spans.length} spans for ${pixels} pixels`);
      for (let i = 1; i < spans.length; i++) assert.ok(spans[i - 1].to <= spans[i].from, 'spans do not overlap');
    }
  }
  assert.ok(coarse.lanes[0].spans.irqsOff.some((s) => (s.merged ?? 0) > 1));
  assert.ok(fine.lanes[0].spans.irqsOff.every((s) => s.merged === undefined));
});

test('a viewport returns only what it shows: the arrow in a window around it, none in a window before it', () => {
  const { m, r } = recordRace();
  const all = timelineView(r, 0, m.steps, 1);
  const ipi = all.arrows.find((a) => a.kind === 'ipi')!;
  const around = timelineView(r, ipi.toStep! - 5, ipi.toStep! + 5, 1);
  assert.ok(around.arrows.some((a) => a.kind === 'ipi'), 'an arrow ending in the window is in it');
  const before = timelineView(r, 0, 100, 1);
  assert.equal(before.arrows.length, 0);
  assert.equal(before.markers.length, 0);
  for (const lane of before.lanes) for (const spans of Object.values(lane.spans)) for (const s of spans) assert.ok(s.from >= 0 && s.to <= 100);
});

test('the answer (columns of differences, a string table) expands after JSON to the spans the series fold into and the arrows the recorder holds', () => {
  const { m, r } = recordRace();
  const json = <T>(x: T): T => JSON.parse(JSON.stringify(x));
  fc.assert(
    fc.property(
      fc.nat(m.steps),
      fc.nat(m.steps),
      fc.oneof(fc.integer({ min: 1, max: 400 }), fc.double({ min: 1, max: 400, noNaN: true })),
      fc.nat(2),
      fc.nat(2),
      (a, b, resolution, c0, c1) => {
        const [from, to] = [Math.min(a, b), Math.max(a, b)];
        const cpus = { fromCpu: Math.min(c0, c1), toCpu: Math.max(c0, c1) };
        const answer = json(queryTimeline(r, from, to, resolution, cpus));
        assert.equal(new Set(answer.strings).size, answer.strings.length, 'each string once');
        const v = expandTimeline(answer);
        assert.deepEqual(v.lanes.map((l) => l.cpu), Array.from({ length: cpus.toCpu - cpus.fromCpu + 1 }, (_, i) => cpus.fromCpu + i));
        for (const lane of v.lanes) {
          for (const layer of LAYERS) assert.deepEqual(lane.spans[layer], json(spansIn(r.layer(lane.cpu, layer), r.labels, v.fromStep, v.toStep, v.resolution, v.endStep)));
        }
        // every arrow with a part in the window and between the lanes is told once, alone or in a bundle
        const expected = r.arrows.filter((x) => x.fromStep <= v.toStep && (x.toStep ?? Infinity) >= v.fromStep && Math.min(x.fromCpu, x.toCpu) <= cpus.toCpu && Math.max(x.fromCpu, x.toCpu) >= cpus.fromCpu);
        assert.equal(v.arrows.reduce((n, x) => n + (x.count ?? 1), 0), expected.length);
        for (const x of v.arrows) {
          const same = r.arrows.find((y) => y.kind === x.kind && y.fromStep === x.fromStep && y.fromCpu === x.fromCpu && y.toCpu === x.toCpu);
          assert.ok(same, `arrow ${JSON.stringify(x)} is the recorder's`);
          assert.equal(x.toStep, same.toStep);
          assert.equal(x.label, same.label);
          if (x.fields) assert.deepEqual(x.fields, r.fieldsOf(same.event));
        }
        if (resolution === 1) assert.ok(v.arrows.every((x) => x.count === undefined), 'at one step per pixel no arrow is bundled');
      },
    ),
    { numRuns: 300 },
  );
  const whole = timelineView(r, 0, m.steps, 1);
  assert.ok(whole.arrows.some((a) => a.fields) && whole.arrows.some((a) => a.toStep !== undefined), 'the round trip covered fields and landed arrows');
  assert.ok(whole.lanes.some((l) => l.spans.run.length > 1), 'and spans after spans');
});

test('replayed steps are not recorded twice, and a new decision drops the future it replaced', () => {
  const { prepared } = loadScenarioFile(RACE);
  const m = startRun(prepared!);
  const r = new TimelineRecorder(m);
  m.onEvent(r.listener);
  const start = m.snapshot();
  m.run(prepared!.maxSteps);
  r.settle(m.steps);
  const once = r.recordedEvents().length;
  const arrows = r.arrows.length;
  // travel back and run the same steps again: nothing new
  m.restore(start);
  m.run(prepared!.maxSteps);
  assert.equal(r.recordedEvents().length, once);
  assert.equal(r.arrows.length, arrows);
  // a decision at step 400 replaces what came after
  r.forgetAfter(400);
  assert.equal(r.end, 400);
  assert.ok(r.recordedEvents().every((e) => e.step <= 400));
  assert.ok(r.arrows.every((a) => a.fromStep <= 400));
  const v = timelineView(r, 0, 1000, 1);
  assert.equal(v.toStep, 400);
});

test('spansIn: at any resolution, whole or fractional, the spans cover exactly the steps where the series holds something', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 60 }),
      // the panel asks with fractional resolutions (the view's width over its pixels)
      fc.oneof(fc.integer({ min: 1, max: 40 }), fc.double({ min: 1, max: 40, noNaN: true })),
      fc.integer({ min: 0, max: 200 }),
      fc.integer({ min: 1, max: 400 }),
      (changes, resolution, from, width) => {
        const s = new ChangeSeries();
        let step = 0;
        for (const [gap, value] of changes) {
          s.set(step, value);
          step += gap;
        }
        const end = step;
        const to = from + width;
        const labels = ['', 'a', 'b', 'c'];
        const spans = spansIn(s, labels, from, to, resolution, end);
        for (let i = 0; i < spans.length; i++) {
          const sp = spans[i];
          assert.ok(sp.from >= from && sp.to <= Math.min(to, end) && sp.from < sp.to, JSON.stringify(sp));
          if (i > 0) assert.ok(spans[i - 1].to <= sp.from);
          if (!sp.merged) {
            // an unmerged span is exactly the value there
            for (let k = sp.from; k < sp.to; k++) assert.equal(labels[s.valueAt(k)], sp.label);
          }
        }
        // every step holding a value is covered; at resolution 1 nothing is merged
        for (let k = from; k < Math.min(to, end); k++) {
          if (s.valueAt(k) !== 0) assert.ok(spans.some((sp) => sp.from <= k && k < sp.to), `step ${k} uncovered`);
        }
        if (resolution === 1) assert.ok(spans.every((sp) => !sp.merged));
      },
    ),
    { numRuns: 2000 },
  );
});

test('smplab run --trace-out: Chrome trace-event JSON that the schema accepts, with named lanes, durations and whole flows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-trace-'));
  try {
    const out = join(dir, 'run.json');
    const r = smplab('run', 'examples/ipi-offline-race.smp', '--quiet', '--trace-out', out);
    assert.equal(r.code, 1, r.stderr);
    const trace: { traceEvents: TraceEvent[] } = JSON.parse(readFileSync(out, 'utf8'));
    const ajv = new Ajv({ allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'test/fixtures/trace-event.schema.json'), 'utf8')));
    assert.ok(validate(trace), ajv.errorsText(validate.errors));
    const events = trace.traceEvents;
    // every track that holds something is named, and the CPUs' own tracks are named like their threads
    const names = new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, String(e.args!.name)]));
    for (const e of events) if (e.ph !== 'M') assert.ok(names.has(e.tid), `track ${e.tid} has no name`);
    for (const cpu of ['CPU0', 'CPU1', 'CPU2']) assert.ok([...names.values()].includes(cpu));
    // every X has a duration
    const xs = events.filter((e) => e.ph === 'X');
    assert.ok(xs.length > 10);
    for (const x of xs) assert.ok(typeof x.dur === 'number' && x.dur > 0, JSON.stringify(x));
    // every flow starts and ends, the end not before the start
    const starts = new Map(events.filter((e) => e.ph === 's').map((e) => [e.id, e]));
    const ends = new Map(events.filter((e) => e.ph === 'f').map((e) => [e.id, e]));
    assert.ok(starts.size >= 2);
    assert.deepEqual([...starts.keys()].sort(), [...ends.keys()].sort());
    for (const [id, s] of starts) assert.ok(ends.get(id)!.ts! >= s.ts!);
    // the IPI flow goes from CPU 0's track to CPU 1's, one step being one microsecond
    const ipi = [...starts.values()].find((e) => e.cat === 'ipi')!;
    assert.equal(names.get(ipi.tid), 'CPU0');
    assert.equal(names.get(ends.get(ipi.id)!.tid), 'CPU1');
    const warn = events.find((e) => e.ph === 'i' && e.cat === 'warn')!;
    assert.equal(names.get(warn.tid), 'CPU1');
    const log = smplab('run', 'examples/ipi-offline-race.smp', '--json').stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(warn.ts, log.find((l) => l.event === 'warn').step);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('smplab run --trace-out: Chrome DevTools\' trace engine opens the race, names its tracks and ties each flow to the events at its ends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-trace-'));
  try {
    const out = join(dir, 'run.json');
    assert.equal(smplab('run', 'examples/ipi-offline-race.smp', '--quiet', '--trace-out', out).code, 1);
    const { traceEvents } = JSON.parse(readFileSync(out, 'utf8'));
    const engine = await import('@paulirish/trace_engine');
    const processor = engine.Processor.TraceProcessor.createWithAllHandlers();
    await processor.parse(traceEvents, {});
    const parsed = processor.data!;
    const tracks = [...parsed.Meta.threadsInProcess.values()].flatMap((threads) => [...threads.values()].map((t) => t.args.name));
    for (const name of ['CPU0', 'CPU1', 'CPU2', 'CPU1 irqs off', 'CPU1 stop-machine']) assert.ok(tracks.includes(name), `${name} in ${tracks.join(', ')}`);
    // a flow is the events it ties together, in time order
    const flows = parsed.Flows.flows.map((f) => f.map((e) => e.name));
    assert.deepEqual(flows.sort(), [['csd:csd_queue_cpu', 'csd:csd_function_entry'], ['ipi:ipi_send_cpu', 'irq_vectors:call_function_single_entry']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--trace-out without a file is a usage error; a file that cannot be written is exit 2 with the reason', () => {
  const r = smplab('run', 'examples/ipi-offline-race.smp', '--trace-out');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--trace-out needs a value/);
  const w = smplab('run', 'examples/ipi-offline-race.smp', '--quiet', '--trace-out', join(tmpdir(), 'no-such-dir', 'run.json'));
  assert.equal(w.code, 2);
  assert.match(w.stderr, /cannot write .*run\.json: ENOENT/);
});
