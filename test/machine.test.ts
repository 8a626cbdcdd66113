import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MachineEvent } from '../src/machine/events.js';
import { eventLines } from '../src/machine/trace.js';
import { loadScenarioFile, prepareScenario, startRun } from '../src/scenario/build.js';
import { ROOT } from './helpers.js';

const RACE = join(ROOT, 'examples', 'ipi-offline-race.smp');

function record(m: ReturnType<typeof startRun>, steps: number): string[] {
  const log: string[] = [];
  const off = m.onEvent((e: MachineEvent) => log.push(...eventLines(m, e)));
  m.run(steps);
  off();
  return log;
}

test('the same seed replays the same run, step for step', () => {
  const { prepared } = loadScenarioFile(RACE);
  const a = record(startRun(prepared!, { schedule: { kind: 'random', seed: 42 }, ipiLatency: { min: 0, max: 50 } }), 100000);
  const b = record(startRun(prepared!, { schedule: { kind: 'random', seed: 42 }, ipiLatency: { min: 0, max: 50 } }), 100000);
  const c = record(startRun(prepared!, { schedule: { kind: 'random', seed: 43 }, ipiLatency: { min: 0, max: 50 } }), 100000);
  assert.ok(a.length > 20);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('a snapshot taken mid-run restores to a run identical from there on', () => {
  const { prepared } = loadScenarioFile(RACE);
  for (const at of [1, 250, 400, 590]) {
    const m = startRun(prepared!, { schedule: { kind: 'random', seed: 9 }, ipiLatency: { min: 0, max: 30 } });
    m.run(at);
    const snap = m.snapshot();
    const first = record(m, 100000);
    const stepsFirst = m.steps;
    m.restore(snap);
    const second = record(m, 100000);
    assert.equal(m.steps, stepsFirst, `same length after restoring at ${at}`);
    assert.deepEqual(second, first, `same events after restoring at ${at}`);
  }
});

test('recorded choices replay the run under any later policy', () => {
  const { prepared } = loadScenarioFile(RACE);
  const m = startRun(prepared!, { schedule: { kind: 'random', seed: 5 }, recordChoices: true });
  const original = record(m, 100000);
  const choices = m.choiceLog.slice();
  assert.ok(choices.length > 100);
  // replay: the first choices are cpu picks; a list schedule of the picks reproduces the run
  const again = startRun(prepared!, { schedule: { kind: 'list', cpus: choices } });
  assert.deepEqual(record(again, 100000), original);
});

/** A copy of the Linux 3.15 model in a scratch folder, for a test to add a file of its own to. */
function modelWith(): string {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-model-'));
  const model = join(ROOT, 'models', 'linux-3.15');
  for (const f of readdirSync(model)) copyFileSync(join(model, f), join(dir, f));
  return dir;
}

test('a spin loop that never ends stops at the step budget naming the CPU and line', () => {
  const dir = modelWith();
  writeFileSync(join(dir, 'runaway.kc'), [
    '/* not a kernel function: counts forever */',
    'void count_forever(void)',
    '{',
    '\tint i = 0;',
    '\twhile (1)',
    '\t\ti++;',
    '}',
    '',
  ].join('\n'));
  const { prepared, diagnostics } = prepareScenario(join(ROOT, 'examples', 'runaway.smp'), `kernel ${dir}\ncpus 2\ncpu 1 runs count_forever()\nmax-steps 5000\n`);
  assert.deepEqual(diagnostics, []);
  const m = startRun(prepared!);
  const stop = m.run(prepared!.maxSteps);
  assert.equal(stop.kind, 'budget');
  assert.match((stop as { message: string }).message, /step budget of 5000 steps used up; CPU1 in count_forever\(\) at .*runaway\.kc:[56]/);
});

test('CPUs that wait on each other end the run as a deadlock, saying what each waits for', () => {
  const dir = modelWith();
  writeFileSync(join(dir, 'wait.kc'), '/* not a kernel function: waits for a flag nobody sets */\nint flag;\nvoid wait_for_flag(void)\n{\n\twhile (!READ_ONCE(flag))\n\t\tcpu_relax();\n}\n');
  const { prepared } = prepareScenario(join(ROOT, 'examples', 'wait.smp'), `kernel ${dir}\ncpus 2\ncpu 1 runs wait_for_flag()\n`);
  const m = startRun(prepared!);
  const stop = m.run(100000);
  assert.equal(stop.kind, 'deadlock');
  assert.match((stop as { message: string }).message, /CPU1 in wait_for_flag\(\) .* waiting for flag to change/);
  assert.ok(m.steps < 100, `the waiting CPU stops costing steps (took ${m.steps})`);
});

test('a NULL dereference in the model is a fault at its line, not an exception', () => {
  const dir = modelWith();
  writeFileSync(join(dir, 'oops.kc'), '/* not a kernel function: dereferences NULL */\nstruct thing { int x; };\nvoid oops(void)\n{\n\tstruct thing *p = NULL;\n\tp->x = 1;\n}\n');
  const { prepared } = prepareScenario(join(ROOT, 'examples', 'oops.smp'), `kernel ${dir}\ncpus 2\ncpu 1 runs oops()\n`);
  const stop = startRun(prepared!).run(10000);
  assert.equal(stop.kind, 'fault');
  assert.equal((stop as { message: string }).message, 'NULL pointer write');
  assert.equal((stop as { at?: { start: { line: number } } }).at?.start.line, 6);
});

test('BUG_ON(1) and BUG() stop the machine with the kernel message at their line; BUG_ON(0) does not', () => {
  const dir = modelWith();
  writeFileSync(join(dir, 'bug.kc'), '/* not a kernel function */\nvoid bug_on(void)\n{\n\tBUG_ON(0);\n\tBUG_ON(1);\n}\n/* not a kernel function */\nvoid bug(void)\n{\n\tBUG();\n}\n');
  for (const [fn, line] of [['bug_on', 5], ['bug', 10]] as const) {
    const { prepared } = prepareScenario(join(ROOT, 'examples', 'bug.smp'), `kernel ${dir}\ncpus 2\ncpu 1 runs ${fn}()\n`);
    const stop = startRun(prepared!).run(10000);
    assert.equal(stop.kind, 'fault');
    assert.equal((stop as { message: string }).message, `kernel BUG at bug.kc:${line}! (in ${fn}())`);
  }
});

test('a BUG prints as the kernel\'s die() does: the BUG line, the task and a Call Trace from the CPU\'s frames', () => {
  const dir = modelWith();
  writeFileSync(join(dir, 'bug.kc'), '/* not a kernel function */\nvoid inner(void)\n{\n\tBUG();\n}\n/* not a kernel function */\nvoid outer(void)\n{\n\tint x = 1;\n\tinner();\n}\n');
  const { prepared } = prepareScenario(join(ROOT, 'examples', 'bug.smp'), `kernel ${dir}\ncpus 2\ncpu 1 runs outer()\n`);
  const m = startRun(prepared!);
  const log = record(m, 10000);
  const report = log.filter((l) => /^ +\d+ \[001\] /.test(l)).map((l) => l.replace(/^ +\d+ \[001\] /, ''));
  const at = report.indexOf('------------[ cut here ]------------');
  assert.ok(at >= 0, JSON.stringify(log));
  // a model file that transcribes no kernel file is named by its own path
  assert.deepEqual(report.slice(at + 1, at + 5), [`kernel BUG at ${dir.split('/').pop()}/bug.kc:4!`, 'invalid opcode: 0000 [#1] SMP', 'Modules linked in:', report[at + 4]]);
  assert.match(report[at + 4], /^CPU: 1 PID: [1-9]\d* Comm: scenario\/\d+$/);
  // innermost first, each with its line; the bottom frame is the scenario's task, on its scenario line
  assert.deepEqual(report.slice(at + 5), [
    'Call Trace:', ` inner+0x0/0x2 ${dir.split('/').pop()}/bug.kc:4`, ` outer+0x1/0x3 ${dir.split('/').pop()}/bug.kc:10`,
    ' __scenario_task_3+0x0/0x2 examples/bug.smp:3', '---[ end trace 0000000000000001 ]---',
  ]);
});

test('the race scenario walks the hotplug path in the kernel order', () => {
  const { prepared } = loadScenarioFile(RACE);
  const m = startRun(prepared!);
  const kinds: string[] = [];
  m.onEvent((e) => {
    if (e.kind === 'cpuhp') kinds.push(`cpuhp:${e.fields.action}`);
    if (e.kind === 'cpu-offline' || e.kind === 'cpu-dead') kinds.push(e.kind);
  });
  m.run(100000);
  const c = prepared!.program.constants;
  assert.deepEqual(kinds, [
    `cpuhp:${c.get('CPU_DOWN_PREPARE')}`, 'cpu-offline', `cpuhp:${c.get('CPU_DYING')}`, 'cpu-dead', `cpuhp:${c.get('CPU_DEAD')}`, `cpuhp:${c.get('CPU_POST_DEAD')}`,
  ]);
  assert.ok(readFileSync(RACE, 'utf8').includes('kernel linux-3.15'));
});

test('each event records its CPU\'s task and interrupt state when it happened', () => {
  const { prepared } = loadScenarioFile(RACE);
  const m = startRun(prepared!);
  const events: MachineEvent[] = [];
  m.onEvent((e) => events.push(e));
  m.run(100000);
  const ipi = events.find((e) => e.kind === 'ipi-receive' && e.cpu === 1)!;
  // the IPI interrupts CPU 1's stopper as it leaves stop-machine
  assert.deepEqual({ ...ipi.context, pid: ipi.context.pid > 0 }, { comm: 'migration/1', pid: true, irqsOff: true, needResched: false, hardirq: true, softirq: false, preemptDepth: 1 });
  const softirq = events.find((e) => e.kind === 'request-complete')!;
  assert.equal(softirq.context.softirq, true);
  assert.equal(softirq.context.hardirq, false);
  const idle = events.find((e) => e.kind === 'sched-switch' && e.context.comm.startsWith('swapper/'))!;
  assert.equal(idle.context.pid, 0, 'the idle tasks are pid 0');
  const offline = events.find((e) => e.kind === 'cpu-offline')!;
  assert.equal(offline.context.irqsOff, true, 'take_cpu_down runs with interrupts off');
});
