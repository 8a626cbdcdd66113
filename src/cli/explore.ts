import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { MachineEvent } from '../machine/events.js';
import { eventLines } from '../machine/trace.js';
import { PreparedScenario, ScenarioOverrides, loadScenarioFile } from '../scenario/build.js';
import { DecisiveRace, formatAccess } from '../explore/explain.js';
import { ExploreOptions, ExploreResult, Exploration, Strategy } from '../explore/explore.js';
import { decodeSchedule } from '../explore/counterexample.js';
import { replaySchedule } from '../explore/replay.js';
import { allocateSharedSpace, mergeThreads } from '../explore/parallel.js';
import { mergeResults } from '../explore/shards.js';

export interface ExploreArgs {
  file: string;
  overrides: ScenarioOverrides;
  options: ExploreOptions;
  maxTimeSeconds?: number;
  workers: number;
  out?: string;
  json: boolean;
  quiet: boolean;
  /** progress lines on stderr even when it is not a terminal (one per line then) */
  progress: boolean;
  /** judge only the expectation on this line */
  expectation?: number;
}

/** Work done between two looks at the clock and the progress line. */
const SLICE = 5000;

/** A worker thread's job: one shard of one exploration, with the scenario loaded afresh. */
export interface ShardJob {
  smplabExploreShard: true;
  file: string;
  overrides: ScenarioOverrides;
  expectation?: number;
  options: ExploreOptions;
  deadline?: number;
}

/**
 * `smplab explore`: searches every schedule of a scenario. Exit 0 verified
 * (complete), 1 counterexample, 3 no counterexample but a limit cut the
 * search, 2 bad input.
 */
export async function cmdExplore(a: ExploreArgs): Promise<number> {
  const { prepared, diagnostics } = loadScenarioFile(a.file, a.overrides);
  for (const d of diagnostics) process.stderr.write(`${d.range.file}:${d.range.start.line}:${d.range.start.col}: ${d.severity}: ${d.message}\n`);
  if (!prepared) return 2;
  if (a.expectation !== undefined && !onlyExpectation(prepared, a.expectation)) {
    process.stderr.write(`${a.file}:${a.expectation}: error: there is no expect line on line ${a.expectation}\n`);
    return 2;
  }
  const started = Date.now();
  const deadline = a.maxTimeSeconds !== undefined ? started + a.maxTimeSeconds * 1000 : undefined;
  const tty = process.stderr.isTTY === true;
  const progress = progressLine(a.progress || (tty && !a.json && !a.quiet), tty);
  const result = a.workers > 1
    ? await exploreWithWorkers(a, prepared, deadline, progress)
    : exploreHere(prepared, a.options, deadline, progress);
  progress.clear();
  const elapsed = (Date.now() - started) / 1000;
  const rate = Math.round(result.stats.states / Math.max(result.searchSeconds ?? elapsed, 1e-3));
  if (result.counterexample) {
    const out = a.out ?? join(dirname(a.file), `${basename(a.file).replace(/\.smp$/, '')}.counterexample`);
    const { failingCpu, race, foundWith, ...file } = result.counterexample;
    const failingStep = file.failingStep;
    void failingCpu;
    void foundWith;
    writeFileSync(out, JSON.stringify(file, null, 2) + '\n');
    if (a.json) process.stdout.write(JSON.stringify({ ...result, elapsedSeconds: elapsed, statesPerSecond: rate, counterexampleFile: out }) + '\n');
    else printCounterexample(prepared, result, out, race, failingStep, a.quiet);
  } else if (a.json) {
    process.stdout.write(JSON.stringify({ ...result, elapsedSeconds: elapsed, statesPerSecond: rate }) + '\n');
  }
  if (!a.json && result.outcomes) printOutcomes(result);
  if (!a.json) printSummary(result, elapsed);
  return exitCode(result);
}

export function exitCode(r: ExploreResult): number {
  return r.verdict === 'counterexample' ? 1 : r.verdict === 'verified' ? 0 : 3;
}

/** Runs the exploration on this thread, in slices, watching the clock. */
function exploreHere(p: PreparedScenario, options: ExploreOptions, deadline: number | undefined, progress: Progress): ExploreResult {
  return runExploration(new Exploration(p, options), deadline, (e) => progress.show(e.activity, e.stats.states, e.stats.transitions, e.stats.depth, e.stats.frontier));
}

/** Advances an exploration slice by slice until it ends or the deadline passes; times the search. */
function runExploration(e: Exploration, deadline: number | undefined, onSlice: (e: Exploration) => void): ExploreResult {
  const started = Date.now();
  let searchSeconds: number | undefined;
  while (!e.advance(SLICE)) {
    if (searchSeconds === undefined && !e.searching) searchSeconds = (Date.now() - started) / 1000;
    onSlice(e);
    if (deadline !== undefined && Date.now() > deadline) {
      e.stop('max-time');
      break;
    }
  }
  return { ...e.result(), searchSeconds: searchSeconds ?? (Date.now() - started) / 1000 };
}

/**
 * Splits the search over worker threads. A depth-first search without a
 * preemption bound is made by the threads together, sharing one table of
 * seen states (see ParallelSearch); otherwise worker w of W takes shard w of
 * W (with --shard I/N, shard (I-1)W + w of NW) and the shards are merged.
 */
async function exploreWithWorkers(a: ExploreArgs, p: PreparedScenario, deadline: number | undefined, progress: Progress): Promise<ExploreResult> {
  const workers = a.workers;
  const together = (a.options.strategy ?? 'dfs') === 'dfs' && a.options.preemptionBound === undefined && !a.options.shard;
  const space = together ? allocateSharedSpace(p.machine.mem.length, tableSize(a.options.maxStates)) : undefined;
  const outer = a.options.shard ?? { index: 1, count: 1 };
  const states = new Array<number>(workers).fill(0);
  const transitions = new Array<number>(workers).fill(0);
  const results = await Promise.all(Array.from({ length: workers }, (_, w) => new Promise<ExploreResult>((resolve, reject) => {
    const options: ExploreOptions = space
      ? { ...a.options, parallel: { space, thread: w, threads: workers } }
      : { ...a.options, shard: { index: (outer.index - 1) * workers + w + 1, count: outer.count * workers } };
    const job: ShardJob = { smplabExploreShard: true, file: a.file, overrides: a.overrides, deadline, expectation: a.expectation, options };
    const worker = new Worker(__filename, { workerData: job });
    worker.on('message', (m: { progress?: [number, number]; result?: ExploreResult }) => {
      if (m.progress) {
        [states[w], transitions[w]] = m.progress;
        // threads that share one table report its size; shards count their own
        progress.show(`exploring on ${workers} threads`, space ? Math.max(...states) : states.reduce((x, y) => x + y), transitions.reduce((x, y) => x + y), 0);
      }
      if (m.result) resolve(m.result);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code !== 0) reject(new Error(`explorer thread ${w + 1} exited with code ${code}`));
    });
  })));
  if (space) return mergeThreads(results);
  const merged = mergeResults(results);
  return { ...merged, shard: a.options.shard };
}

/** Slots for a shared table of states (it cannot grow): room for --max-states at 70% full, else 2^23 (5.8 million states). */
function tableSize(maxStates: number | undefined): number {
  const want = Math.ceil((maxStates ?? 5_800_000) / 0.7);
  return Math.min(26, Math.max(20, Math.ceil(Math.log2(want))));
}

/** The body of an explorer worker thread. */
export function runShardJob(job: ShardJob, post: (m: unknown) => void): void {
  const { prepared, diagnostics } = loadScenarioFile(job.file, job.overrides);
  if (!prepared) throw new Error(diagnostics.map((d) => d.message).join('; '));
  if (job.expectation !== undefined) onlyExpectation(prepared, job.expectation);
  let last = 0;
  const result = runExploration(new Exploration(prepared, job.options), job.deadline, (e) => {
    const now = Date.now();
    if (now - last < 250) return;
    post({ progress: [e.stats.states, e.stats.transitions] });
    last = now;
  });
  post({ result });
}

/** `smplab explore --merge A.json B.json ...`: one verdict from the shards' --json results. */
export function cmdMerge(files: string[], json: boolean): number {
  const results = files.map((f) => {
    const text = readFileSync(f, 'utf8').trim().split('\n').pop() ?? '';
    return JSON.parse(text) as ExploreResult;
  });
  const merged = mergeResults(results);
  if (json) process.stdout.write(JSON.stringify(merged) + '\n');
  else {
    if (merged.counterexample) {
      const c = merged.counterexample;
      process.stdout.write(`COUNTEREXAMPLE  ${c.expectation}${c.line ? ` (line ${c.line})` : ''}\n  ${c.detail}\n  ${c.preemptions} preemption${c.preemptions === 1 ? '' : 's'}, ${c.steps} steps\n`);
    }
    printSummary(merged, undefined);
  }
  return exitCode(merged);
}

function printCounterexample(p: PreparedScenario, r: ExploreResult, out: string, race: DecisiveRace | undefined, failingStep: number, quiet: boolean): void {
  const c = r.counterexample!;
  const w = (s: string) => process.stdout.write(s + '\n');
  w(`COUNTEREXAMPLE  ${c.expectation}${c.line ? ` (line ${c.line})` : ''}`);
  w(`  ${c.detail}${failingStep ? ` (step ${failingStep}${r.counterexample?.failingCpu !== undefined ? `, CPU${r.counterexample.failingCpu}` : ''})` : ' (at the end of the run)'}`);
  if (race) {
    w(`  decided by: ${formatAccess(race.first)}`);
    w(`         and ${formatAccess(race.second)}`);
    w(`  ${race.reversed}`);
  }
  const found = c.foundWith;
  w(`  ${c.preemptions} preemption${c.preemptions === 1 ? '' : 's'}, ${c.steps} steps${found.steps !== c.steps || found.preemptions !== c.preemptions ? ` (minimised from ${found.preemptions} preemption${found.preemptions === 1 ? '' : 's'}, ${found.steps} steps)` : ''}`);
  w(`  saved to ${out}`);
  w(`  replay: smplab run ${p.scenario.file} --replay ${out}`);
  if (quiet) return;
  w('');
  w('the failing run (>> marks the race and the failure):');
  for (const line of failingRunLog(p, c.schedule, race, failingStep)) w(line);
  w('');
}

/** The failing run's event log, with the race's two accesses and the failing event marked. */
function failingRunLog(p: PreparedScenario, schedule: string, race: DecisiveRace | undefined, failingStep: number): string[] {
  const m = p.machine;
  const decoded = decodeSchedule(m, schedule);
  if ('error' in decoded) return [`  (cannot show the run: ${decoded.error})`];
  const lines: { step: number; text: string }[] = [];
  const marked = new Set([race?.first.step, race?.second.step, failingStep].filter((s): s is number => !!s));
  const off = m.onEvent((e: MachineEvent) => lines.push(...eventLines(m, e).map((text) => ({ step: e.step, text }))));
  try {
    replaySchedule(p, decoded.actors);
  } finally {
    off();
  }
  for (const a of race ? [race.first, race.second] : []) {
    const cpu = /^CPU(\d+)$/.exec(a.actor);
    const head = `${String(a.step).padStart(8)} [${cpu ? cpu[1].padStart(3, '0') : '---'}]`;
    lines.push({ step: a.step - 0.5, text: `${head} ${formatAccess(a).replace(/^step \d+ /, '')}` });
  }
  lines.sort((x, y) => x.step - y.step);
  // a marked step's first line carries the mark, not every line of a multi-line report
  return lines.map((l) => {
    const step = Math.ceil(l.step);
    const mark = marked.delete(step);
    return `${mark ? '>>' : '  '}${l.text}`;
  });
}

function printOutcomes(r: ExploreResult): void {
  const list = r.outcomes ?? [];
  process.stdout.write(`OUTCOMES  ${list.length} way${list.length === 1 ? '' : 's'} a run can end${r.complete ? '' : ' (so far: the search was cut)'}:\n`);
  for (const o of list) process.stdout.write(`  ${o}\n`);
}

function printSummary(r: ExploreResult, elapsed: number | undefined): void {
  const w = (s: string) => process.stdout.write(s + '\n');
  const s = r.stats;
  const n = (x: number) => x.toLocaleString('en-US');
  if (r.verdict === 'verified' && !r.outcomes) w(`VERIFIED  every schedule satisfies every expectation: ${n(s.states)} states, complete`);
  if (r.verdict === 'bounded') {
    w(`NO COUNTEREXAMPLE  within the limits, not verified: ${r.limitedBy.map(limitText).join('; ')}`);
    w(`  covered ${n(s.states)} states, ${n(s.transitions)} transitions, ${n(s.schedules)} schedules`);
  }
  w(`summary: ${r.verdict}${r.shard ? ` (shard ${r.shard.index}/${r.shard.count})` : ''}; strategy ${r.strategy}`);
  w(`  ${n(s.schedules)} schedules, ${n(s.states)} distinct states, ${n(s.transitions)} transitions (${n(s.steps)} steps), deepest schedule ${n(s.deepest)} steps${s.restarts ? `, ${s.restarts} restart${s.restarts === 1 ? '' : 's'}` : ''}`);
  if (r.minimiseStats) w(`  minimising: ${n(r.minimiseStats.states)} states, ${n(r.minimiseStats.transitions)} transitions`);
  if (elapsed !== undefined) {
    const search = r.searchSeconds ?? elapsed;
    w(`  ${elapsed.toFixed(1)} s in all; the search ${search.toFixed(1)} s, ${n(Math.round(s.states / Math.max(search, 1e-3)))} states/s`);
  }
  w(`  reductions: ${r.reductions.join('; ')}`);
  if (r.reductions.some((x) => x.startsWith('state matching'))) w(`  chance that a hash collision hid a state: ${r.collisionChance.toExponential(1)}`);
}

function limitText(l: string): string {
  switch (l) {
    case 'max-states': return '--max-states stopped it';
    case 'max-time': return '--max-time stopped it';
    case 'preemption-bound': return 'only schedules within --preemption-bound were explored';
    case 'runs': return 'random runs never cover every schedule';
    default: return l;
  }
}

interface Progress {
  show(activity: string, states: number, transitions: number, depth: number, frontier?: number): void;
  clear(): void;
}

/**
 * A progress line on stderr, a few times a second: on a terminal it updates
 * in place, elsewhere (--progress) it is one line each time.
 */
function progressLine(on: boolean, inPlace: boolean): Progress {
  const started = Date.now();
  let last = 0;
  let shown = false;
  return {
    show(activity, states, transitions, depth, frontier) {
      if (!on) return;
      const now = Date.now();
      if (now - last < (inPlace ? 200 : 1000)) return;
      last = now;
      const rate = Math.round(states / Math.max((now - started) / 1000, 1e-3));
      const text = `${activity}: ${states.toLocaleString('en-US')} states, ${transitions.toLocaleString('en-US')} transitions, ${rate.toLocaleString('en-US')} states/s${depth ? `, depth ${depth}` : ''}${frontier ? `, ${frontier.toLocaleString('en-US')} to try` : ''}`;
      process.stderr.write(inPlace ? `\r\x1b[K${text}` : `${text}\n`);
      shown = inPlace;
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

/** Keeps only the expectation on `line`; false when there is none. */
function onlyExpectation(p: PreparedScenario, line: number): boolean {
  p.scenario.expectations = p.scenario.expectations.filter((e) => e.range.start.line === line);
  return p.scenario.expectations.length === 1;
}

export function parseStrategy(s: string): Strategy | undefined {
  return s === 'dfs' || s === 'bfs' || s === 'pct' || s === 'random' ? s : undefined;
}
