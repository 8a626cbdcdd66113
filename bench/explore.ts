/**
 * Explorer benchmark (part of `npm run bench`; alone: `node --import tsx bench/explore.ts`).
 *
 * 1. the race written without pinning (interrupt at any step, any IPI
 *    latency): time to the first counterexample, end to end as `smplab explore`
 *    runs (compile, search, minimise, explain)
 * 2. the fixed 3-CPU scenario verified complete: time, states, states/s.
 *    Verified as kernel-reference.md section G states the fix, over every
 *    outcome of every schedule: no IPI taken on an offline CPU with callbacks
 *    queued, no callback lost. (A run may end otherwise: since _cpu_down()
 *    parks the smpboot threads, x86's play_dead window can fault; see README.)
 * 3. how both grow with CPUs (3, 4, 8) and with interrupts (1, 2)
 * 4. the reduction factor: states with every reduction against none
 * 5. SPIN on the same race (../shared/spin, Debian package spin), end to end
 *
 * Writes bench/explore-results.json. Always exits 0.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadScenarioFile } from '../src/scenario/build';
import { ALL_REDUCTIONS, NO_REDUCTIONS, Reductions, ScheduleSearch } from '../src/explore/search';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'explore');
const SPIN_DIR = path.resolve(ROOT, '..', 'shared', 'spin');
const RESULTS = path.join(__dirname, 'explore-results.json');
/** a search that has not finished by then is reported as such */
const MAX_SECONDS = Number(process.env.EXPLORE_BENCH_MAX_SECONDS ?? 180);

const dir = mkdtempSync(path.join(tmpdir(), 'smplab-explore-bench-'));

function scenario(name: string, o: { patches: string[]; cpus: number; latency: string; irqs: number; expect: string[] }): string {
  const file = path.join(dir, `${name}.smp`);
  const reqs = Array.from({ length: o.irqs }, (_, i) => i);
  writeFileSync(file, [
    'kernel linux-3.15', ...o.patches.map((p) => `patch ipi-offline-v6/${p}`), `cpus ${o.cpus}`, `ipi-latency ${o.latency}`,
    ...reqs.map((i) => `struct request req${i} = { .cpu = 1 }`), 'cpu 2 runs cpu_down(1)',
    ...reqs.map((i) => `irq disk${i} on cpu 0 at any step: blk_complete_request(&req${i})`),
    ...o.expect.map((e) => `expect ${e}`),
  ].join('\n') + '\n');
  return file;
}

interface Explored {
  seconds: number; verdict: string; states: number; transitions: number; statesPerSecond: number; complete: boolean; preemptions?: number; steps?: number;
  /** with --outcomes: the ways a run can end, and whether the fix holds in each */
  outcomes?: string[]; fixHolds?: boolean;
}

function explore(file: string, ...args: string[]): Explored {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, 'explore', file, '--json', '--max-time', String(MAX_SECONDS), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
  return {
    seconds, verdict: out.verdict, states: out.stats?.states, transitions: out.stats?.transitions, statesPerSecond: out.statesPerSecond,
    complete: out.complete, preemptions: out.counterexample?.preemptions, steps: out.counterexample?.steps,
    outcomes: out.outcomes, fixHolds: out.outcomes && (out.outcomes as string[]).every((o) => / lost=0( |$)/.test(o) && / count0=0( |$)/.test(o)),
  };
}

function statesWith(file: string, reductions: Reductions, maxStates: number): { states: number; complete: boolean } {
  const { prepared } = loadScenarioFile(file);
  const s = new ScheduleSearch(prepared!, { reductions, goal: 'outcomes', limits: { maxStates } }).run();
  return { states: s.stats.states, complete: !s.cutBy };
}

interface Spin { seconds: number; panSeconds: number; states?: number; transitions?: number; errors?: number; error?: string }

/** A SPIN model run as its README says: spin -a, gcc, ./pan. */
function spin(variant: string): Spin {
  const src = path.join(SPIN_DIR, `ipi_offline_${variant}.pml`);
  if (!existsSync(src)) return { seconds: 0, panSeconds: 0, error: `no ${src}` };
  const work = mkdtempSync(path.join(tmpdir(), 'smplab-spin-'));
  copyFileSync(src, path.join(work, 'model.pml'));
  const t0 = process.hrtime.bigint();
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: work, encoding: 'utf8' });
  const a = run('spin', ['-a', 'model.pml']);
  if (a.error || a.status !== 0) return { seconds: 0, panSeconds: 0, error: `spin -a: ${a.error?.message ?? a.stderr}` };
  const cc = run('gcc', ['-O2', '-DSAFETY', '-o', 'pan', 'pan.c']);
  if (cc.status !== 0) return { seconds: 0, panSeconds: 0, error: `gcc: ${cc.stderr}` };
  const t1 = process.hrtime.bigint();
  const pan = run('./pan', []);
  const t2 = process.hrtime.bigint();
  const num = (re: RegExp) => {
    const m = re.exec(pan.stdout);
    return m ? Number(m[1]) : undefined;
  };
  return {
    seconds: Number(t2 - t0) / 1e9, panSeconds: Number(t2 - t1) / 1e9,
    states: num(/(\d+) states, stored/), transitions: num(/(\d+) transitions/), errors: num(/errors: (\d+)/),
  };
}

function main(): void {
  const base = { cpus: 3, latency: 'any', irqs: 1 };
  const raceExpect = ['no warning', 'no lost work', 'all requests completed', 'cpu 1 dead'];
  // section G's two columns: an IPI taken offline with callbacks queued (count0), a lost callback
  const fixExpect = ['count ipi-receive where online == 0 && queued > 0 == 0', 'no lost work'];
  const race = scenario('race', { ...base, patches: ['0001'], expect: raceExpect });
  const fixed = scenario('fixed', { ...base, patches: ['0001', '0002', '0003'], expect: fixExpect });
  const verify = (file: string) => explore(file, '--outcomes');

  const results: Record<string, unknown> = {};
  const rows: string[][] = [];
  const verdict = (e: Explored) => (e.outcomes ? (!e.complete ? 'cut' : e.fixHolds ? 'verified' : 'FIX BROKEN') : e.verdict ?? '?');
  const row = (what: string, e: Explored) => rows.push([what, `${e.seconds.toFixed(1)} s`, verdict(e), e.states?.toLocaleString('en-US') ?? '?', e.statesPerSecond?.toLocaleString('en-US') ?? '?']);

  const first = explore(race);
  results.raceFirstCounterexample = first;
  row('race, 3 CPUs, 1 irq: first counterexample (end to end)', first);
  const pct = explore(race, '--strategy', 'pct');
  results.raceFirstCounterexamplePct = pct;
  row('race, same, --strategy pct', pct);

  const verified = verify(fixed);
  results.fixedVerified = verified;
  row('fixed, 3 CPUs, 1 irq: verified', verified);

  const growth: Record<string, Explored> = {};
  for (const cpus of [4, 8]) {
    growth[`fixed, ${cpus} CPUs`] = verify(scenario(`fixed${cpus}`, { ...base, cpus, patches: ['0001', '0002', '0003'], expect: fixExpect }));
    growth[`race, ${cpus} CPUs`] = explore(scenario(`race${cpus}`, { ...base, cpus, patches: ['0001'], expect: raceExpect }));
  }
  growth['fixed, 3 CPUs, 2 irqs'] = verify(scenario('fixed-2irq', { ...base, irqs: 2, patches: ['0001', '0002', '0003'], expect: fixExpect }));
  growth['race, 3 CPUs, 2 irqs'] = explore(scenario('race-2irq', { ...base, irqs: 2, patches: ['0001'], expect: raceExpect }));
  results.growth = growth;
  for (const [k, e] of Object.entries(growth)) row(k, e);

  const factors: Record<string, { reduced: number; unreduced: number; unreducedComplete: boolean; factor: number }> = {};
  for (const name of ['ipi-wait', 'two-completions', 'offline-by-hand', 'offline-and-call', 'two-callers']) {
    const file = path.join(FIXTURES, `${name}.smp`);
    const reduced = statesWith(file, ALL_REDUCTIONS, 5_000_000);
    const unreduced = statesWith(file, NO_REDUCTIONS, 5_000_000);
    factors[name] = { reduced: reduced.states, unreduced: unreduced.states, unreducedComplete: unreduced.complete, factor: unreduced.states / reduced.states };
  }
  results.reductionFactor = factors;

  const spinRuns = { buggy: spin('buggy'), fixed: spin('fixed') };
  results.spin = spinRuns;

  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...[['scenario', 'time', 'verdict', 'states', 'states/s'], ...rows].map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(['scenario', 'time', 'verdict', 'states', 'states/s']));
  for (const r of rows) console.log(line(r));
  console.log('');
  for (const [k, f] of Object.entries(factors)) console.log(`reduction factor ${k}: ${f.unreduced.toLocaleString('en-US')}${f.unreducedComplete ? '' : '+'} states unreduced / ${f.reduced.toLocaleString('en-US')} reduced = ${f.factor.toFixed(1)}x`);
  for (const [k, s] of Object.entries(spinRuns)) {
    console.log(s.error ? `SPIN ${k}: ${s.error}` : `SPIN ${k}: ${s.seconds.toFixed(2)} s end to end (pan ${s.panSeconds.toFixed(2)} s), ${s.states} states, ${s.transitions} transitions, errors: ${s.errors}`);
  }
  if (!spinRuns.fixed.error) {
    console.log(`race found ${(first.seconds < spinRuns.buggy.seconds ? 'faster' : 'slower')} than SPIN end to end (${first.seconds.toFixed(2)} s vs ${spinRuns.buggy.seconds.toFixed(2)} s); ${verified.complete && verified.fixHolds ? `fixed verified in ${(verified.seconds / spinRuns.fixed.seconds).toFixed(1)}x SPIN's time` : `fixed NOT verified within ${MAX_SECONDS} s`} (target: verified in < 10x SPIN's time)`);
  }
  writeFileSync(RESULTS, JSON.stringify(results, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), RESULTS)}`);
}

try {
  main();
} catch (e) {
  console.error(`explorer benchmark error: ${(e as Error).stack ?? e}`);
}
process.exitCode = 0;
