import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeSchedule } from '../src/explore/counterexample.js';
import { hashOf } from '../src/machine/tracking.js';
import { loadScenarioFile, prepareScenario, startRun } from '../src/scenario/build.js';
import { ALL_REDUCTIONS, NO_REDUCTIONS, Reductions, ScheduleSearch } from '../src/explore/search.js';
import { CLI, ROOT } from './helpers.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'explore');

/** `smplab explore ... --json`: the exit code and the result object. */
function explore(file: string, ...args: string[]): { code: number; result: any; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'explore', file, '--json', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { code: r.status ?? -1, result: last ? JSON.parse(last) : undefined, stderr: r.stderr };
}

function scenarioFile(dir: string, name: string, text: string): string {
  const file = join(dir, `${name}.smp`);
  writeFileSync(file, text);
  return file;
}

// ---- kernel-reference.md section G, decided by the explorer over every schedule

/**
 * Three CPUs; CPU 2 takes CPU 1 offline; CPU 0 takes a disk interrupt, at
 * any step, whose completion goes to CPU 1. Patch 3 is written against
 * patch 1 (as upstream), so "patch 3 only" applies 1 and 3.
 */
function tableScenario(patches: string[], latency: string, expectations: string[], kernel = 'linux-3.15'): string {
  return [
    `kernel ${kernel}`, ...patches.map((p) => `patch ipi-offline-v6/${p}`), 'cpus 3', `ipi-latency ${latency}`,
    'struct request req0 = { .cpu = 1 }', 'cpu 2 runs cpu_down(1)',
    'irq disk on cpu 0 at any step: blk_complete_request(&req0)',
    ...expectations.map((e) => `expect ${e}`),
  ].join('\n') + '\n';
}

const OFFLINE_WITH_WORK = 'count ipi-receive where online == 0 && queued > 0 == 0';
const LOST = 'no lost work';
const HARMLESS = 'count ipi-receive where online == 0 && queued == 0 == 0';

/**
 * `playDead`: the row also reaches the play_dead window's fault (see the
 * finding below), so its unreachable columns are decided over every
 * outcome, whatever else a run ends in, instead of by the first broken
 * expectation.
 */
const TABLE: { row: string; kernel?: string; patches: string[]; latency: string; reachable: string[]; unreachable: string[]; playDead?: boolean }[] = [
  { row: '3.15, any latency', patches: [], latency: 'any', reachable: [OFFLINE_WITH_WORK, LOST], unreachable: [] },
  { row: '3.15, immediate', patches: [], latency: '0', reachable: [OFFLINE_WITH_WORK], unreachable: [] },
  { row: '+ patch 2, any latency', patches: ['0002'], latency: 'any', reachable: [OFFLINE_WITH_WORK, LOST], unreachable: [] },
  { row: '+ patch 2, immediate', patches: ['0002'], latency: '0', reachable: [], unreachable: [OFFLINE_WITH_WORK, LOST] },
  { row: '+ patch 3, any latency', patches: ['0001', '0003'], latency: 'any', reachable: [], unreachable: [OFFLINE_WITH_WORK, LOST], playDead: true },
  { row: '+ patches 2 and 3, any latency', patches: ['0001', '0002', '0003'], latency: 'any', reachable: [HARMLESS], unreachable: [OFFLINE_WITH_WORK, LOST], playDead: true },
  // mainline: the dying-CPU flush (CPUHP_AP_SMPCFD_DYING) closes the race with no patch applied
  { row: 'Linux 6.12, any latency', kernel: 'linux-6.12', patches: [], latency: 'any', reachable: [HARMLESS], unreachable: [OFFLINE_WITH_WORK, LOST] },
];

const tableDir = mkdtempSync(join(tmpdir(), 'smplab-table-'));

for (const row of TABLE) {
  for (const e of row.reachable) {
    test(`outcome table, ${row.row}: reachable: ${e}`, (t) => {
      const file = scenarioFile(tableDir, `reach-${TABLE.indexOf(row)}-${row.reachable.indexOf(e)}`, tableScenario(row.patches, row.latency, [e], row.kernel));
      const { code, result, stderr } = explore(file);
      assert.equal(code, 1, stderr);
      assert.equal(result.verdict, 'counterexample');
      assert.equal(result.counterexample.expectation, `expect ${e}`);
      t.diagnostic(`counterexample after ${result.stats.states} states: ${result.counterexample.preemptions} preemptions, ${result.counterexample.steps} steps`);
    });
  }
  if (row.unreachable.length && row.playDead) {
    test(`outcome table, ${row.row}: unreachable, in every outcome of every schedule: ${row.unreachable.join('; ')}`, (t) => {
      const file = scenarioFile(tableDir, `unreach-${TABLE.indexOf(row)}`, tableScenario(row.patches, row.latency, row.unreachable));
      const { code, result, stderr } = explore(file, '--outcomes');
      assert.equal(code, 0, stderr);
      assert.equal(result.complete, true);
      // outcome lines: `<end> warned=N lost=N count0=N`; count0 counts IPIs taken offline with work queued
      assert.ok(result.outcomes.length > 0);
      for (const o of result.outcomes as string[]) {
        assert.match(o, / lost=0( |$)/, `callback lost in: ${o}`);
        assert.match(o, / count0=0( |$)/, `IPI on the offline CPU with callbacks queued in: ${o}`);
      }
      t.diagnostic(`every outcome checked: ${result.outcomes.join(' | ')}; ${result.stats.states} states, ${result.searchSeconds} s`);
    });
  } else if (row.unreachable.length) {
    test(`outcome table, ${row.row}: unreachable, over every schedule: ${row.unreachable.join('; ')}`, (t) => {
      const file = scenarioFile(tableDir, `unreach-${TABLE.indexOf(row)}`, tableScenario(row.patches, row.latency, row.unreachable, row.kernel));
      const { code, result, stderr } = explore(file);
      assert.equal(code, 0, stderr + JSON.stringify(result?.counterexample));
      assert.equal(result.verdict, 'verified');
      assert.equal(result.complete, true);
      t.diagnostic(`verified complete: ${result.stats.states} states, ${result.stats.transitions} transitions`);
    });
  }
}

// ---- beside the table: the play_dead window

/**
 * Not one of the table's outcomes, and real 3.15 behaviour: with the dying
 * CPU's ksoftirqd parked, patch 3's CPU_DYING flush leaves BLOCK_SOFTIRQ
 * pending on CPU 1. x86's play_dead_common() writes CPU_DEAD before it
 * turns interrupts off, so a late, harmless IPI landing in between runs
 * that softirq on the dead CPU while the control CPU's CPU_DEAD notifier
 * (blk_cpu_notify) splices the same list: a NULL write.
 */
for (const row of TABLE.filter((r) => r.playDead)) {
  test(`the play_dead window, ${row.row}: a fault whose run takes the IPI after CPU 1 acknowledged its death`, (t) => {
    const file = scenarioFile(tableDir, `play-dead-${TABLE.indexOf(row)}`, tableScenario(row.patches, row.latency, []));
    const { code, result, stderr } = explore(file);
    assert.equal(code, 1, stderr);
    const found = result.counterexample;
    assert.equal(found.expectation, 'the run ends by itself');
    assert.match(found.detail, /NULL pointer write/);

    // the failing run again, watching CPU 1's cpu_state
    const { prepared } = loadScenarioFile(file);
    assert.ok(prepared);
    const schedule = decodeSchedule(startRun(prepared), found.schedule);
    assert.ok('actors' in schedule, JSON.stringify(schedule));
    const m = startRun(prepared, { schedule: { kind: 'replay', actors: schedule.actors } });
    const cpuState = prepared.program.globals.get('cpu_state')!;
    const deadAt = cpuState.addr + 1;
    let acknowledged = -1;
    m.writeWatch = new Set([deadAt]);
    m.onWatchedWrite = (_addr, _old, value) => {
      if (value === prepared.program.constants.get('CPU_DEAD')) acknowledged = m.steps;
    };
    const ipis: number[] = [];
    m.onEvent((e) => {
      if (e.kind === 'ipi-receive' && e.cpu === 1) ipis.push(e.step);
    });
    const stop = m.run(prepared.maxSteps);
    assert.equal(stop.kind, 'fault');
    assert.ok(acknowledged > 0, 'CPU 1 wrote CPU_DEAD');
    assert.ok(ipis.some((step) => step >= acknowledged), `an IPI taken on CPU 1 after it wrote CPU_DEAD at step ${acknowledged} (IPIs at ${ipis.join(', ')})`);
    t.diagnostic(`fault after ${result.stats.states} states: ${found.detail}; CPU_DEAD at step ${acknowledged}, IPI taken at ${ipis.join(', ')}`);
  });
}

/** Patch 3 alone, the disk interrupt on CPU 0 as CPU 1 turns its interrupts off for stop-machine, an IPI latency bound. */
function boundedPlayDead(latency: string): string {
  return [
    'kernel linux-3.15', 'patch ipi-offline-v6/0001', 'patch ipi-offline-v6/0003', 'cpus 3', `ipi-latency ${latency}`,
    'struct request req0 = { .cpu = 1 }', 'cpu 2 runs cpu_down(1)',
    'irq disk on cpu 0 after stop-machine-state where state == MULTI_STOP_DISABLE_IRQ && cpu == 1: blk_complete_request(&req0)',
  ].join('\n') + '\n';
}

test('the play_dead window with a bounded latency: reachable with ipi-latency 0..300', (t) => {
  const { code, result, stderr } = explore(scenarioFile(tableDir, 'play-dead-300', boundedPlayDead('0..300')));
  assert.equal(code, 1, stderr);
  assert.match(result.counterexample.detail, /NULL pointer write/);
  t.diagnostic(`fault after ${result.stats.states} states`);
});

/**
 * Why a latency of at most 144 steps cannot reach the window: the IPI is
 * sent from CPU 0's interrupt, before CPU 0 acknowledges MULTI_STOP_DISABLE_IRQ
 * and so before anyone enters MULTI_STOP_RUN; from RUN, CPU 1 runs at least
 * 145 steps of its own before it writes CPU_DEAD. A complete search of
 * `ipi-latency 0..144` does not finish in minutes (the in-flight counter
 * multiplies the states), so the premise is checked over random schedules,
 * and no run reaches the window.
 */
test('the play_dead window with a bounded latency: out of reach at ipi-latency 0..144 (the IPI is sent before RUN; CPU 1 needs 145 steps from RUN to CPU_DEAD), 300 seeds', (t) => {
  const { prepared, diagnostics } = prepareScenario(join(tableDir, 'play-dead-144.smp'), boundedPlayDead('0..144').replace(/irq disk on cpu 0 after .*: /, 'irq disk on cpu 0 at any step: '));
  assert.ok(prepared, JSON.stringify(diagnostics));
  const deadAt = prepared.program.globals.get('cpu_state')!.addr + 1;
  const CPU_DEAD = prepared.program.constants.get('CPU_DEAD');
  let fewest = Infinity;
  let sent = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const m = startRun(prepared, { schedule: { kind: 'random', seed } });
    let cpu1Steps = 0;
    let run = -1;
    let acknowledged = -1;
    /** CPU 1's step count at RUN when an IPI to it was sent after RUN began, else -1 */
    let lastSend = -1;
    let lateIpi = false;
    m.writeWatch = new Set([deadAt]);
    m.onWatchedWrite = (_a, _o, value) => {
      if (value === CPU_DEAD && acknowledged < 0) acknowledged = cpu1Steps;
    };
    m.onEvent((e) => {
      if (e.kind === 'stop-machine-state' && e.cpu === 1 && e.fields.state === prepared.program.constants.get('MULTI_STOP_RUN') && run < 0) run = cpu1Steps;
      if (e.kind === 'ipi-send' && e.fields.cpu === 1) lastSend = run;
      if (e.kind === 'ipi-receive' && e.cpu === 1 && acknowledged >= 0) lateIpi = true;
    });
    for (;;) {
      const a = m.pickActor();
      if (a === undefined) break;
      m.step(a);
      if (a === 1) cpu1Steps++;
      if (m.stopReason || m.steps > 200000) break;
    }
    assert.equal(m.stopReason, undefined, `seed ${seed}: ${JSON.stringify(m.stopReason)}`);
    assert.ok(run >= 0 && acknowledged > run, `seed ${seed}: CPU 1 went through RUN and wrote CPU_DEAD`);
    assert.equal(lastSend, -1, `seed ${seed}: an IPI to CPU 1 was sent after CPU 1 entered MULTI_STOP_RUN`);
    assert.ok(acknowledged - run >= 145, `seed ${seed}: CPU 1 took ${acknowledged - run} steps from RUN to CPU_DEAD`);
    assert.equal(lateIpi, false, `seed ${seed}: an IPI was taken on CPU 1 after it wrote CPU_DEAD`);
    fewest = Math.min(fewest, acknowledged - run);
    sent++;
  }
  t.diagnostic(`${sent} runs; fewest CPU 1 steps from RUN to CPU_DEAD: ${fewest}`);
});

// ---- the reductions do not change what a search finds

/**
 * Every end outcome (how the run ended, whether it warned or lost work, the
 * values the expectations look at) over every schedule, with some reductions.
 */
function outcomes(file: string, reductions: Reductions): { outcomes: string[]; states: number } {
  const { prepared, diagnostics } = loadScenarioFile(file);
  assert.ok(prepared, JSON.stringify(diagnostics));
  const s = new ScheduleSearch(prepared, { reductions, goal: 'outcomes' }).run();
  assert.equal(s.cutBy, undefined);
  assert.ok(s.finished);
  return { outcomes: [...s.outcomes].sort(), states: s.stats.states };
}

for (const name of ['ipi-wait', 'two-completions', 'offline-by-hand', 'offline-and-call', 'two-callers']) {
  test(`the reduced search reaches exactly the outcomes of the unreduced one: ${name}.smp`, (t) => {
    const file = join(FIXTURES, `${name}.smp`);
    const full = outcomes(file, NO_REDUCTIONS);
    const reduced = outcomes(file, ALL_REDUCTIONS);
    assert.deepEqual(reduced.outcomes, full.outcomes);
    assert.ok(reduced.states < full.states, `the reductions cut states (${reduced.states} < ${full.states})`);
    t.diagnostic(`${full.outcomes.length} outcomes; ${full.states} states unreduced, ${reduced.states} reduced (${(full.states / reduced.states).toFixed(1)}x)`);
  });
}

test('threads searching together reach the outcomes one thread reaches', (t) => {
  for (const name of ['offline-by-hand', 'offline-and-call', 'two-callers', 'two-completions']) {
    const file = join(FIXTURES, `${name}.smp`);
    const one = explore(file, '--outcomes');
    const two = explore(file, '--outcomes', '--workers', '2');
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    assert.ok(one.result.outcomes.length >= 2, `${name}: several outcomes`);
    assert.deepEqual(two.result.outcomes, one.result.outcomes, name);
    assert.equal(two.result.complete, true);
    t.diagnostic(`${name}: ${one.result.outcomes.length} outcomes; one thread ${one.result.stats.states} states, two ${two.result.stats.states}`);
  }
});

test('each reduction alone keeps the outcomes too: offline-by-hand.smp and offline-and-call.smp', () => {
  for (const name of ['offline-by-hand', 'offline-and-call']) {
    const file = join(FIXTURES, `${name}.smp`);
    const full = outcomes(file, NO_REDUCTIONS).outcomes;
    assert.ok(full.length >= 3, `several outcomes to tell apart (${full.join(' | ')})`);
    for (const r of [
      { ...NO_REDUCTIONS, localSteps: true },
      { ...NO_REDUCTIONS, localSteps: true, ownedCells: true },
      { ...NO_REDUCTIONS, sleepSets: true },
      { ...NO_REDUCTIONS, sourceSets: true },
      { ...NO_REDUCTIONS, localSteps: true, sourceSets: true },
    ]) assert.deepEqual(outcomes(file, r).outcomes, full, JSON.stringify(r));
  }
});

// ---- the machinery under the search

test('the running state hash equals the hash of memory computed from scratch, through steps and rewinds', () => {
  const { prepared } = loadScenarioFile(join(ROOT, 'examples', 'ipi-offline-race.smp'));
  const m = startRun(prepared!, { schedule: { kind: 'random', seed: 3 } });
  const t = m.track();
  const marks = [];
  for (let i = 0; i < 600; i++) {
    const a = m.pickActor();
    if (a === undefined) break;
    if (i % 97 === 0) marks.push({ mark: m.mark(), mem: m.mem.slice() });
    m.step(a);
    if (i % 50 === 0) assert.deepEqual([t.hashLo, t.hashHi], hashOf(m.mem), `after step ${i}`);
  }
  for (const { mark, mem } of marks.reverse()) {
    m.rewind(mark);
    assert.deepEqual(m.mem, mem);
    assert.deepEqual([t.hashLo, t.hashHi], hashOf(m.mem));
  }
});

test('a rewound machine runs on exactly as it did the first time', () => {
  const { prepared } = loadScenarioFile(join(ROOT, 'examples', 'ipi-offline-race.smp'));
  const m = startRun(prepared!, { schedule: { kind: 'random', seed: 11 } });
  m.track();
  m.run(300);
  const mark = m.mark();
  const chooser = m.chooser.save();
  const first: string[] = [];
  const off = m.onEvent((e) => first.push(`${e.step} ${e.cpu} ${e.kind} ${JSON.stringify(e.fields)}`));
  m.run(100000);
  const end = m.mem.slice();
  m.rewind(mark);
  m.chooser.load(chooser);
  const second: string[] = [];
  off();
  m.onEvent((e) => second.push(`${e.step} ${e.cpu} ${e.kind} ${JSON.stringify(e.fields)}`));
  m.run(100000);
  assert.ok(first.length > 20);
  assert.deepEqual(second, first);
  assert.deepEqual(m.mem, end);
});

// ---- counterexamples as files, replayed

test('the failing run marks each step of the race and the failure once, on their first line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-ce-'));
  const file = scenarioFile(dir, 'warn', tableScenario(['0001'], 'any', ['no warning']));
  const r = spawnSync(process.execPath, [CLI, 'explore', file], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 1, r.stderr);
  const marked = r.stdout.split('\n').filter((l) => l.startsWith('>>'));
  assert.equal(marked.length, 3, marked.join('\n'));
  assert.match(marked[2], /\[001\] -+\[ cut here \]-+$/);
});

test('a counterexample replays to the same failure with run --replay, and refuses a changed scenario', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-ce-'));
  const file = scenarioFile(dir, 'lost', tableScenario([], 'any', [LOST]));
  const { code, result } = explore(file);
  assert.equal(code, 1);
  const ce = JSON.parse(readFileSync(join(dir, 'lost.counterexample'), 'utf8'));
  assert.equal(ce.smplab, 'counterexample');
  assert.equal(ce.expectation, 'expect no lost work');
  assert.match(ce.schedule, /irq:disk/);
  assert.ok(result.counterexample.race, 'the deciding race is named');
  const run = spawnSync(process.execPath, [CLI, 'run', file, '--replay', join(dir, 'lost.counterexample')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stdout, /^FAIL  expect no lost work  \(trigger_softirq was still queued on CPU1 when it died \(step (\d+)\)\)/m);
  const step = Number(/when it died \(step (\d+)\)/.exec(run.stdout)![1]);
  assert.equal(step, result.counterexample.failingStep);
  // the same replay exports as the kernel's trace text
  const traced = spawnSync(process.execPath, [CLI, 'run', file, '--replay', join(dir, 'lost.counterexample'), '--ftrace-out', join(dir, 'lost.txt')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(traced.status, 1, traced.stderr);
  assert.match(readFileSync(join(dir, 'lost.txt'), 'utf8'), /smplab:lost_work: .*func=trigger_softirq/);
  // the same scenario with one more expectation is a different scenario
  writeFileSync(file, readFileSync(file, 'utf8') + 'expect cpu 1 dead\n');
  const stale = spawnSync(process.execPath, [CLI, 'run', file, '--replay', join(dir, 'lost.counterexample')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(stale.status, 2);
  assert.match(stale.stderr, /have changed since/);
});

// ---- limits, shards, threads

test('a search cut by --max-states says so and exits 3', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-limit-'));
  const file = scenarioFile(dir, 'cut', tableScenario(['0002'], '0', [OFFLINE_WITH_WORK]));
  const { code, result, stderr } = explore(file, '--max-states', '2000');
  assert.equal(code, 3);
  assert.equal(result.verdict, 'bounded');
  assert.deepEqual(result.limitedBy, ['max-states']);
  assert.equal(stderr, '', 'no progress noise when piped');
  const text = spawnSync(process.execPath, [CLI, 'explore', file, '--max-states', '2000', '--quiet'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(text.status, 3);
  assert.match(text.stdout, /NO COUNTEREXAMPLE {2}within the limits, not verified: --max-states stopped it/);
});

/**
 * The "patch 2, immediate" row with the interrupt held back until the first
 * CPU enters stop-machine (a fifth of the states of the full row, so the
 * four searches below stay short).
 */
test('an unreachable row stays unreachable on two threads, and split into three shards and merged', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-shards-'));
  const text = tableScenario(['0002'], '0', [OFFLINE_WITH_WORK, LOST])
    .replace('at any step:', 'after stop-machine-state where state == MULTI_STOP_PREPARE && cpu == 2:');
  const file = scenarioFile(dir, 'patch2-immediate', text);
  const threads = explore(file, '--workers', '2');
  assert.equal(threads.code, 0, threads.stderr);
  assert.equal(threads.result.verdict, 'verified');
  const parts = [1, 2, 3].map((i) => {
    const r = spawnSync(process.execPath, [CLI, 'explore', file, '--json', '--shard', `${i}/3`], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = join(dir, `shard${i}.json`);
    writeFileSync(out, r.stdout);
    const result = JSON.parse(r.stdout.trim());
    assert.deepEqual(result.shard, { index: i, count: 3 });
    return { out, result };
  });
  const merged = spawnSync(process.execPath, [CLI, 'explore', '--merge', ...parts.map((p) => p.out), '--json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(merged.status, 0, merged.stderr);
  const m = JSON.parse(merged.stdout.trim());
  assert.equal(m.verdict, 'verified');
  assert.equal(m.complete, true);
  assert.equal(m.stats.states, parts.reduce((n, p) => n + p.result.stats.states, 0));
  const missing = spawnSync(process.execPath, [CLI, 'explore', '--merge', parts[0].out, parts[2].out], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(missing.status, 3, 'two of three shards prove nothing');
  assert.match(missing.stdout, /missing shard 2\/3/);
  t.diagnostic(`two threads: ${threads.result.stats.states} states; shards: ${parts.map((p) => p.result.stats.states).join(' + ')} states`);
});

test('a scenario with an error is exit 2 with its located diagnostic', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-bad-'));
  const file = scenarioFile(dir, 'bad', 'kernel linux-3.15\ncpus 3\ncpu 2 runs no_such_function(1)\n');
  const r = spawnSync(process.execPath, [CLI, 'explore', file], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.smp:3:\d+: error: /);
});

test('prepared scenarios explore in-process too: a broken expectation is found with its schedule', () => {
  const { prepared } = prepareScenario(join(FIXTURES, 'x.smp'), tableScenario([], 'any', [LOST]).replace('cpus 3', 'cpus 2').replace('cpu 2 runs', 'cpu 0 runs'));
  const s = new ScheduleSearch(prepared!).run();
  assert.ok(s.counterexample);
  assert.equal(s.counterexample.violation.expectation, 'expect no lost work');
  assert.ok(s.counterexample.actors.length > 100);
});
