/**
 * SMP Lab benchmark: `npm run bench`.
 *
 * 1. simulated steps per second for the ipi-offline race at 4, 64 and 256 CPUs,
 *    for the engine as shipped (bundled) and as tsx runs src/ (see engine.ts)
 * 2. snapshot + restore time at 64 CPUs, mid-run
 * 3. a single 10-million-step run of a stress model: speed and peak memory
 *    (in a child process, so the parent's heap does not count)
 * 4. the debug adapter (dap.ts), the schedule explorer (explore.ts) and the timeline
 *    (timeline.ts: recording, viewport queries and trace export for a 1M-step 64-CPU run;
 *    timeline-browser.ts: opening and redrawing the panel's page in headless Chromium;
 *    timeline-vscode.ts: the same in a real VS Code, code-server in headless Chromium)
 *
 * Prints a table with each figure beside its target and writes bench/results.json.
 * Always exits 0: a benchmark reports figures, it does not fail.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PreparedScenario } from '../src/scenario/build';
import { Engine, EngineKind, loadEngine } from './engine';

const ROOT = path.resolve(__dirname, '..');
const EXAMPLES = path.join(ROOT, 'examples');
const MODEL_DIR = path.join(ROOT, 'models', 'linux-3.15');
const RESULTS = path.join(__dirname, 'results.json');

const TARGET_STEPS_4 = 5_000_000;
const TARGET_STEPS_256 = 2_000_000;
const TARGET_SNAPSHOT_MS = 1;
const TARGET_PEAK_MB = 300;
const BIG_RUN_STEPS = 10_000_000;
const CHUNK = 1_000_000;

// ---- helpers

function now(): bigint {
  return process.hrtime.bigint();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

function mb(bytes: number): number {
  return bytes / (1024 * 1024);
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function prepareOrDie(engine: Engine, file: string, text: string): PreparedScenario {
  const { prepared, diagnostics } = engine.prepareScenario(file, text);
  if (!prepared) {
    const msg = diagnostics.map((d) => `${d.range.file}:${d.range.start.line}:${d.range.start.col}: ${d.severity}: ${d.message}`).join('\n');
    throw new Error(`cannot prepare ${file}:\n${msg}`);
  }
  return prepared;
}

/** examples/ipi-offline-race.smp with its `cpus 3` line replaced. */
function raceScenario(engine: Engine, cpus: number): PreparedScenario {
  const base = readFileSync(path.join(EXAMPLES, 'ipi-offline-race.smp'), 'utf8');
  if (!/^cpus\s+3\b/m.test(base)) throw new Error('examples/ipi-offline-race.smp has no `cpus 3` line');
  const text = base.replace(/^cpus\s+3\b/m, `cpus   ${cpus}`);
  // a name in examples/ so `kernel linux-3.15` and the patch resolve as for the real file; never written
  return prepareOrDie(engine, path.join(EXAMPLES, `bench-race-${cpus}.smp`), text);
}

// ---- 1. steps per second

interface SpeedResult {
  engine: EngineKind;
  cpus: number;
  /** median of the batches */
  stepsPerSecond: number;
  batches: number[];
  runsPerBatch: number[];
  /** process CPU time / wall time per batch: well under 1 means other processes took the CPU */
  cpuShare: number[];
  /** over seeds 0..STEPS_PER_RUN_SEEDS-1, so the figure does not depend on timing */
  stepsPerRun: { mean: number; min: number; max: number; seeds: number };
  stopKinds: string[];
}

const STEPS_PER_RUN_SEEDS = 100;
const BATCHES = 5;
const BATCH_SECONDS = 1;
const WARMUP_SECONDS = 1;

function measureSpeed(kind: EngineKind, cpus: number): SpeedResult {
  const engine = loadEngine(kind);
  const p = raceScenario(engine, cpus);
  const stopKinds = new Set<string>();
  const perRun: number[] = [];
  for (let seed = 0; seed < STEPS_PER_RUN_SEEDS; seed++) {
    const m = engine.startRun(p, { schedule: { kind: 'random', seed } });
    stopKinds.add(m.run(p.maxSteps).kind);
    perRun.push(m.steps);
  }
  let seed = STEPS_PER_RUN_SEEDS;
  // one batch: fresh runs until `seconds` of timed run() calls (startRun's restore is not timed)
  const batch = (seconds: number): { steps: number; ns: bigint; runs: number; cpuShare: number } => {
    const budget = BigInt(Math.round(seconds * 1e9));
    const cpu0 = process.cpuUsage();
    const wall0 = now();
    let ns = 0n;
    let steps = 0;
    let runs = 0;
    while (ns < budget) {
      const m = engine.startRun(p, { schedule: { kind: 'random', seed: seed++ } });
      const t0 = now();
      const stop = m.run(p.maxSteps);
      ns += now() - t0;
      steps += m.steps;
      runs++;
      stopKinds.add(stop.kind);
    }
    const cpu = process.cpuUsage(cpu0);
    return { steps, ns, runs, cpuShare: (cpu.user + cpu.system) / (Number(now() - wall0) / 1000) };
  };
  batch(WARMUP_SECONDS); // let the JIT settle
  const batches: number[] = [];
  const runsPerBatch: number[] = [];
  const cpuShare: number[] = [];
  for (let i = 0; i < BATCHES; i++) {
    const b = batch(BATCH_SECONDS);
    batches.push(b.steps / (Number(b.ns) / 1e9));
    runsPerBatch.push(b.runs);
    cpuShare.push(Number(b.cpuShare.toFixed(2)));
  }
  return {
    engine: kind,
    cpus,
    stepsPerSecond: median(batches),
    batches,
    runsPerBatch,
    cpuShare,
    stepsPerRun: { mean: perRun.reduce((a, b) => a + b, 0) / perRun.length, min: Math.min(...perRun), max: Math.max(...perRun), seeds: perRun.length },
    stopKinds: [...stopKinds],
  };
}

// ---- 2. snapshot + restore

interface SnapshotResult {
  reuseMedianUs: number;
  reuseP95Us: number;
  engine: EngineKind;
  cpus: number;
  atStep: number;
  memCells: number;
  /** cells in use: globals, registers and task slots up to the last task created, plus the heap allocated */
  usedCells: number;
  iterations: number;
  medianUs: number;
  p95Us: number;
  snapshotMedianUs: number;
  snapshotP95Us: number;
  restoreMedianUs: number;
  restoreP95Us: number;
  /** the floor: copying mem into a buffer allocated once */
  copyIntoReusedBufferMedianUs: number;
  /** a run continued after all the round trips ends like an untouched run */
  replayMatches: boolean;
}

function measureSnapshot(kind: EngineKind, cpus: number, stepsPerRun: number): SnapshotResult {
  const engine = loadEngine(kind);
  const p = raceScenario(engine, cpus);
  const schedule = { kind: 'random' as const, seed: 1 };
  const m = engine.startRun(p, { schedule });
  m.run(Math.max(1, Math.floor(stepsPerRun / 2)));
  const atStep = m.steps;
  const taskCells = (m.heapBase - m.taskBase) / m.maxTasks;
  const usedCells = m.taskBase + m.mem[m.taskCountAddr] * taskCells + (m.mem[m.heapPtrAddr] - m.heapBase);
  for (let i = 0; i < 100; i++) m.restore(m.snapshot()); // warm-up
  const total: number[] = [];
  const snapOnly: number[] = [];
  const restoreOnly: number[] = [];
  const iterations = 1000;
  for (let i = 0; i < iterations; i++) {
    const t0 = now();
    const snap = m.snapshot();
    const t1 = now();
    m.restore(snap);
    const t2 = now();
    total.push(Number(t2 - t0) / 1000);
    snapOnly.push(Number(t1 - t0) / 1000);
    restoreOnly.push(Number(t2 - t1) / 1000);
  }
  // as the debugger's history does: snapshot into a buffer that an older snapshot used
  const withReuse: number[] = [];
  let prev = m.snapshot();
  for (let i = 0; i < iterations; i++) {
    const t0 = now();
    const snap = m.snapshot(prev);
    m.restore(snap);
    withReuse.push(Number(now() - t0) / 1000);
    prev = snap;
  }
  const reused = new Int32Array(m.mem.length);
  const copy: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = now();
    reused.set(m.mem);
    copy.push(Number(now() - t0) / 1000);
  }
  m.run(p.maxSteps);
  const after = { steps: m.steps, kind: m.stopReason?.kind };
  const fresh = engine.startRun(p, { schedule });
  fresh.run(p.maxSteps);
  return {
    engine: kind, cpus, atStep, memCells: m.mem.length, usedCells, iterations,
    medianUs: median(total), p95Us: percentile(total, 95),
    snapshotMedianUs: median(snapOnly), snapshotP95Us: percentile(snapOnly, 95),
    restoreMedianUs: median(restoreOnly), restoreP95Us: percentile(restoreOnly, 95),
    copyIntoReusedBufferMedianUs: median(copy),
    reuseMedianUs: median(withReuse), reuseP95Us: percentile(withReuse, 95),
    replayMatches: after.steps === fresh.steps && after.kind === fresh.stopReason?.kind,
  };
}

// ---- 3. a 10-million-step run (child process)

interface BigRunResult {
  steps: number;
  stop: string;
  wallSeconds: number;
  stepsPerSecond: number;
  rssSamplesMB: number[];
  peakRssSampledMB: number;
  vmHwmMB: number | null;
  heapUsedMB: number;
  setupSeconds: number;
}

const STRESS_KC = `/* not a kernel function: a load generator for the benchmark */
void bench_ping(int target)
{
	while (1)
		smp_call_function_single(target, do_nothing, NULL, 1);
}
`;

function stressScenario(modelDir: string): string {
  return [
    '# benchmark load: two pairs of CPUs ping each other with synchronous IPIs, forever',
    `kernel ${modelDir}`,
    'cpus 4',
    'cpu 0 runs bench_ping(1)',
    'cpu 2 runs bench_ping(3)',
    `max-steps ${BIG_RUN_STEPS}`,
    'schedule random seed 1',
    '',
  ].join('\n');
}

function vmHwmMB(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

function childBigRun(): void {
  const t0 = now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smplab-bench-'));
  try {
    for (const f of readdirSync(MODEL_DIR).filter((f) => f.endsWith('.kc'))) copyFileSync(path.join(MODEL_DIR, f), path.join(dir, f));
    writeFileSync(path.join(dir, 'bench.kc'), STRESS_KC);
    const engine = loadEngine('bundled');
    const p = prepareOrDie(engine, path.join(dir, 'bench-10m.smp'), stressScenario(dir));
    const m = engine.startRun(p);
    const setupSeconds = Number(now() - t0) / 1e9;
    const samples: number[] = [mb(process.memoryUsage().rss)];
    let stop = '';
    const start = now();
    while (m.steps < BIG_RUN_STEPS) {
      const r = m.run(Math.min(CHUNK, BIG_RUN_STEPS - m.steps));
      samples.push(mb(process.memoryUsage().rss));
      stop = r.kind;
      if (r.kind !== 'budget') break;
    }
    const wallSeconds = Number(now() - start) / 1e9;
    const result: BigRunResult = {
      steps: m.steps,
      stop,
      wallSeconds,
      stepsPerSecond: m.steps / wallSeconds,
      rssSamplesMB: samples,
      peakRssSampledMB: Math.max(...samples),
      vmHwmMB: vmHwmMB(),
      heapUsedMB: mb(process.memoryUsage().heapUsed),
      setupSeconds,
    };
    process.stdout.write(`BENCH-RESULT ${JSON.stringify(result)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function measureBigRun(): BigRunResult | { error: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--child-10m'], { encoding: 'utf8', cwd: ROOT, maxBuffer: 16 << 20 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('BENCH-RESULT '));
  if (!line) return { error: `child failed (status ${r.status}, signal ${r.signal}): ${(r.stderr || r.stdout || String(r.error ?? '')).trim().slice(-2000)}` };
  return JSON.parse(line.slice('BENCH-RESULT '.length)) as BigRunResult;
}

// ---- main

function verdict(ok: boolean): string {
  return ok ? 'ok' : 'MISSED';
}

function main(): void {
  const cpu = os.cpus()[0];
  const machine = {
    node: process.version,
    cpuModel: cpu?.model ?? 'unknown',
    cores: os.cpus().length,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    date: new Date().toISOString(),
  };
  console.log(`SMP Lab benchmark: node ${machine.node}, ${machine.cpuModel}, ${machine.cores} cores, ${machine.platform}, load average ${machine.loadAverage.join(' ')}`);
  console.log('');

  const sizes = [4, 64, 256];
  const speeds: SpeedResult[] = [];
  for (const kind of ['bundled', 'src'] as const) {
    for (const n of sizes) {
      console.log(`  steps/s at ${n} CPUs (${kind})...`);
      speeds.push(measureSpeed(kind, n));
    }
  }
  const speed = (kind: EngineKind, n: number) => speeds.find((s) => s.engine === kind && s.cpus === n)!;
  console.log('  snapshot + restore at 64 CPUs (bundled)...');
  const snap = measureSnapshot('bundled', 64, Math.round(speed('bundled', 64).stepsPerRun.mean));
  console.log(`  ${fmtInt(BIG_RUN_STEPS)} steps in a child process (bundled)...`);
  const big = measureBigRun();
  console.log('');

  const rows: [string, string, string, string][] = [];
  const label = { bundled: 'bundled, as shipped', src: 'src via tsx, dev only' };
  for (const n of sizes) {
    const target = n === 4 ? TARGET_STEPS_4 : n === 256 ? TARGET_STEPS_256 : undefined;
    for (const kind of ['bundled', 'src'] as const) {
      const s = speed(kind, n);
      rows.push([
        `race ${n} CPUs: steps/s (${label[kind]})`,
        fmtInt(s.stepsPerSecond),
        target ? `>= ${fmtInt(target)}` : '-',
        target ? verdict(s.stepsPerSecond >= target) : '',
      ]);
    }
    const r = speed('bundled', n).stepsPerRun;
    rows.push([`race ${n} CPUs: steps per run`, `${fmtInt(r.mean)} (${r.min}..${r.max})`, '-', '']);
  }
  const limitUs = TARGET_SNAPSHOT_MS * 1000;
  rows.push(['snapshot+restore 64 CPUs, reusing a buffer (debugger history): median', `${snap.reuseMedianUs.toFixed(1)} us`, `< ${limitUs} us`, verdict(snap.reuseMedianUs < limitUs)]);
  rows.push(['snapshot+restore 64 CPUs, reusing a buffer (debugger history): p95', `${snap.reuseP95Us.toFixed(1)} us`, `< ${limitUs} us`, verdict(snap.reuseP95Us < limitUs)]);
  rows.push(['snapshot+restore 64 CPUs, fresh buffer each time: median', `${snap.medianUs.toFixed(1)} us`, `< ${limitUs} us`, verdict(snap.medianUs < limitUs)]);
  rows.push(['snapshot+restore 64 CPUs, fresh buffer each time: p95', `${snap.p95Us.toFixed(1)} us`, `< ${limitUs} us`, verdict(snap.p95Us < limitUs)]);
  let peakOk = false;
  if ('error' in big) {
    rows.push(['10M-step run', 'ERROR', `< ${TARGET_PEAK_MB} MB`, 'MISSED']);
  } else {
    const peak = big.vmHwmMB ?? big.peakRssSampledMB;
    peakOk = peak < TARGET_PEAK_MB;
    rows.push(['10M-step run: steps done', `${fmtInt(big.steps)} (${big.stop})`, fmtInt(BIG_RUN_STEPS), verdict(big.steps >= BIG_RUN_STEPS)]);
    rows.push(['10M-step run: wall time', `${big.wallSeconds.toFixed(2)} s`, '-', '']);
    rows.push(['10M-step run: steps/s', fmtInt(big.stepsPerSecond), '-', '']);
    rows.push(['10M-step run: peak RSS (VmHWM)', big.vmHwmMB === null ? 'n/a' : `${big.vmHwmMB.toFixed(1)} MB`, `< ${TARGET_PEAK_MB} MB`, verdict(peakOk)]);
    rows.push(['10M-step run: max rss sampled per 1M', `${big.peakRssSampledMB.toFixed(1)} MB`, `< ${TARGET_PEAK_MB} MB`, verdict(big.peakRssSampledMB < TARGET_PEAK_MB)]);
  }
  const head: [string, string, string, string] = ['measure', 'value', 'target', ''];
  const widths = [0, 1, 2, 3].map((i) => Math.max(head[i].length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 1 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  console.log('');
  console.log('bundled = src/ bundled by esbuild as build.mjs bundles dist/ (what the CLI and debugger run);');
  console.log('src via tsx = each module compiled separately, imported constants read through getters (tests, dev).');
  for (const s of speeds) {
    console.log(`race ${s.cpus} CPUs ${s.engine}: batches ${s.batches.map(fmtInt).join(', ')} steps/s; runs per batch ${s.runsPerBatch.join(', ')}; cpu share ${s.cpuShare.join(', ')}; runs ended: ${s.stopKinds.join(', ')}`);
  }
  console.log(`snapshot at step ${snap.atStep} of a ${fmtInt(snap.memCells)}-cell machine (${fmtInt(snap.usedCells)} cells in use): snapshot() median ${snap.snapshotMedianUs.toFixed(1)} us (p95 ${snap.snapshotP95Us.toFixed(1)}), restore() median ${snap.restoreMedianUs.toFixed(1)} us (p95 ${snap.restoreP95Us.toFixed(1)}); copying mem into a reused buffer: median ${snap.copyIntoReusedBufferMedianUs.toFixed(1)} us; run after ${snap.iterations} round trips ends like an untouched run: ${snap.replayMatches ? 'yes' : 'NO'}`);
  const busy = speeds.filter((s) => median(s.cpuShare) < 0.9);
  if (busy.length) console.log(`note: this process got under 90% of a CPU during ${busy.map((s) => `${s.cpus}-CPU ${s.engine}`).join(', ')} (other load on ${machine.cores} cores): those steps/s figures are low.`);
  if ('error' in big) console.log(`10M-step run: ${big.error}`);
  else console.log(`10M-step run: setup ${big.setupSeconds.toFixed(2)} s; rss after each 1M steps (MB): ${big.rssSamplesMB.map((x) => x.toFixed(0)).join(' ')}; heap used at end ${big.heapUsedMB.toFixed(1)} MB`);

  const results = {
    machine,
    targets: { stepsPerSecond4: TARGET_STEPS_4, stepsPerSecond256: TARGET_STEPS_256, snapshotRestoreMs: TARGET_SNAPSHOT_MS, peakMemoryMB: TARGET_PEAK_MB },
    race: speeds,
    snapshotRestore: snap,
    bigRun: big,
    verdicts: {
      stepsPerSecond4: speed('bundled', 4).stepsPerSecond >= TARGET_STEPS_4,
      stepsPerSecond256: speed('bundled', 256).stepsPerSecond >= TARGET_STEPS_256,
      stepsPerSecond4Src: speed('src', 4).stepsPerSecond >= TARGET_STEPS_4,
      stepsPerSecond256Src: speed('src', 256).stepsPerSecond >= TARGET_STEPS_256,
      snapshotRestoreMedian: snap.medianUs < limitUs,
      snapshotRestoreP95: snap.p95Us < limitUs,
      peakMemory: peakOk,
    },
  };
  writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), RESULTS) || RESULTS}`);
  console.log('\nDebug adapter (dist/debugAdapter.js over stdio):');
  spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'dap.ts')], { cwd: ROOT, stdio: 'inherit' });
  console.log('\nExplorer (smplab explore, bundled):');
  spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'explore.ts')], { cwd: ROOT, stdio: 'inherit' });
  console.log('\nTimeline (1,000,000 steps at 64 CPUs):');
  spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'timeline.ts')], { cwd: ROOT, stdio: 'inherit' });
  console.log('\nTimeline in a browser (open and redraw, 1,000,000 steps at 64 CPUs; needs the e2e cache):');
  spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'timeline-browser.ts')], { cwd: ROOT, stdio: 'inherit' });
  console.log('\nTimeline in VS Code (code-server: open and redraw, 1,000,000 steps at 64 CPUs; needs the e2e cache):');
  spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'timeline-vscode.ts')], { cwd: ROOT, stdio: 'inherit' });
}

try {
  if (process.argv.includes('--child-10m')) childBigRun();
  else main();
} catch (e) {
  console.error(`benchmark error: ${(e as Error).stack ?? e}`);
}
process.exitCode = 0;
