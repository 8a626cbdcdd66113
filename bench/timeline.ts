/**
 * Timeline figures for a 1,000,000-step run at 64 CPUs (32 pairs of CPUs sending each other
 * synchronous IPIs): what recording the timeline costs the run, how long a viewport query
 * takes (the whole run, and zoomed windows, at 1,000 pixels), how big an answer is, and the
 * time and size of the Chrome trace export. `npm run bench` runs it; alone:
 *
 *   node --import tsx bench/timeline.ts
 *
 * Writes bench/timeline-results.json. The engine is the bundled one (as shipped); the timeline
 * code runs from src/ via tsx.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeChromeTrace } from '../src/timeline/traceFile';
import { chromeTrace } from '../src/timeline/chromeTrace';
import { queryTimeline } from '../src/timeline/query';
import { TimelineRecorder } from '../src/timeline/recorder';
import type { Machine } from '../src/machine/machine';
import { loadEngine } from './engine';
import { CPUS, STEPS, writeBenchScenario } from './timelineScenario';

const PIXELS = 1000;
const RESULTS = path.join(__dirname, 'timeline-results.json');

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** A deterministic sequence in [0, 1) for the windows' positions (no Math.random: figures repeat). */
function positions(n: number): number[] {
  let x = 12345;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  });
}

function main(): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'smplab-bench-timeline-'));
  try {
    const { file, text } = writeBenchScenario(dir);
    const engine = loadEngine('bundled');
    const { prepared, diagnostics } = engine.prepareScenario(file, text);
    if (!prepared) throw new Error(diagnostics.map((d) => d.message).join('\n'));

    // the same run without and with the recorder listening: what recording costs
    let t0 = process.hrtime.bigint();
    const plain = engine.startRun(prepared);
    plain.run(STEPS);
    const plainMs = ms(t0);
    const m = engine.startRun(prepared) as unknown as Machine;
    const recorder = new TimelineRecorder(m);
    m.onEvent(recorder.listener);
    t0 = process.hrtime.bigint();
    m.run(STEPS);
    recorder.settle(m.steps);
    const recordedMs = ms(t0);
    const events = recorder.recordedEvents().length;
    const changes = Array.from({ length: CPUS }, (_, c) => recorder.layer(c, 'run').length + recorder.layer(c, 'irqsOff').length).reduce((a, b) => a + b, 0);

    const queries = (span: number, n: number) => {
      const times: number[] = [];
      const sizes: number[] = [];
      for (const p of positions(n)) {
        const from = Math.floor(p * (m.steps - span));
        const q0 = process.hrtime.bigint();
        const answer = queryTimeline(recorder, from, from + span, span / PIXELS);
        times.push(ms(q0));
        sizes.push(JSON.stringify(answer).length);
      }
      return { span, queries: n, medianMs: median(times), p95Ms: percentile(times, 95), maxMs: Math.max(...times), medianAnswerKB: median(sizes) / 1024 };
    };
    queries(m.steps, 20); // warm-up
    const viewports = [queries(m.steps, 50), queries(100_000, 200), queries(10_000, 200), queries(1_000, 200)];

    const out = path.join(dir, 'run.json');
    t0 = process.hrtime.bigint();
    const trace = chromeTrace(recorder, 'bench');
    const buildMs = ms(t0);
    t0 = process.hrtime.bigint();
    writeChromeTrace(out, trace);
    const writeMs = ms(t0);
    const exportResult = { traceEvents: trace.traceEvents.length, buildMs, writeMs, sizeMB: statSync(out).size / (1024 * 1024) };

    const results = {
      run: { cpus: CPUS, steps: m.steps, events, spanChanges: changes, plainMs, recordedMs, recordingOverhead: recordedMs / plainMs - 1, heapUsedMB: process.memoryUsage().heapUsed / (1024 * 1024) },
      viewports,
      export: exportResult,
      date: new Date().toISOString(),
    };
    writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n');
    console.log(`  run of ${m.steps.toLocaleString('en-US')} steps at ${CPUS} CPUs: ${plainMs.toFixed(0)} ms alone, ${recordedMs.toFixed(0)} ms recording the timeline (+${(results.run.recordingOverhead * 100).toFixed(0)}%): ${events.toLocaleString('en-US')} events, ${changes.toLocaleString('en-US')} span changes`);
    for (const v of viewports) {
      console.log(`  viewport query, ${v.span.toLocaleString('en-US')} steps at ${PIXELS} px: median ${v.medianMs.toFixed(2)} ms, p95 ${v.p95Ms.toFixed(2)} ms, max ${v.maxMs.toFixed(2)} ms (target < 50 ms); answer ${v.medianAnswerKB.toFixed(0)} KB of JSON`);
    }
    console.log(`  Chrome trace export: ${exportResult.traceEvents.toLocaleString('en-US')} trace events, built in ${buildMs.toFixed(0)} ms, written in ${writeMs.toFixed(0)} ms, ${exportResult.sizeMB.toFixed(1)} MB`);
    console.log(`  wrote ${path.relative(process.cwd(), RESULTS) || RESULTS}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  console.error(`timeline benchmark error: ${(e as Error).stack ?? e}`);
}
process.exitCode = 0;
