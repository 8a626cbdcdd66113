import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatDiagnostic } from '../src/kc/diagnostics.js';
import { ScenarioOverrides, loadScenarioFile, prepareScenario, startRun } from '../src/scenario/build.js';
import { runScenario } from '../src/scenario/run.js';
import { parseScenario } from '../src/scenario/scenario.js';
import { ROOT } from './helpers.js';

test('the scenario syntax parses into its parts', () => {
  const { scenario, diagnostics } = parseScenario('s.smp', [
    'kernel linux-3.15', 'patch ipi-offline-v6/0001', 'cpus 3', 'ipi-latency 0..40',
    'struct request req0 = { .cpu = 1 }', 'cpu 2 runs cpu_down(1)',
    'irq disk on cpu 0 at any step in 10..20: blk_complete_request(&req0)',
    'irq disk on cpu 0 after stop-machine-state where state == 2 && cpu == 1: blk_complete_request(&req0)',
    'schedule random seed 7', 'max-steps 5000',
    'expect no warning', 'expect no lost work', 'expect all requests completed', 'expect cpu 1 dead',
    'expect count ipi-send where target == 1 >= 1',
  ].join('\n'));
  assert.deepEqual(diagnostics, []);
  assert.equal(scenario.cpus?.n, 3);
  assert.deepEqual(scenario.ipiLatency, { min: 0, max: 40 });
  assert.deepEqual(scenario.schedule, { kind: 'random', seed: 7 });
  assert.equal(scenario.irqs[0].when.kind, 'any');
  assert.deepEqual(scenario.irqs[1].when.kind === 'after' && scenario.irqs[1].when.where?.text, 'state == 2 && cpu == 1');
  assert.equal(scenario.expectations.length, 5);
  const count = scenario.expectations[4];
  assert.ok(count.kind === 'count' && count.op === '>=' && count.n === 1 && count.where?.text === 'target == 1');
});

test('scenario errors carry line and column', () => {
  const { diagnostics } = parseScenario('s.smp', 'kernel linux-3.15\ncpus 3\ncpu 5 runs cpu_down(1)\nexpect cpu 1 asleep\nfrobnicate\n');
  const text = diagnostics.map(formatDiagnostic);
  assert.ok(text.includes('s.smp:3:5: error: CPU 5 does not exist: the scenario has 3 CPUs (0 to 2)'), text.join('\n'));
  assert.ok(text.some((t) => t.startsWith('s.smp:4:14: error: expected \'expect cpu N dead\'')), text.join('\n'));
  assert.ok(text.some((t) => t.startsWith("s.smp:5:1: error: unknown statement 'frobnicate'")), text.join('\n'));
});

test('a call in a scenario that does not compile points into the scenario line', () => {
  const { diagnostics } = prepareScenario('examples/bad.smp', 'kernel linux-3.15\ncpus 2\ncpu 1 runs cpu_dwn(1)\n');
  assert.deepEqual(diagnostics.map(formatDiagnostic), ["examples/bad.smp:3:12: error: 'cpu_dwn' is not declared"]);
});

test('a patch that does not apply names the hunk and the patch it is written against', () => {
  // patch 3 is written against smp.kc with patch 1 applied; alone it cannot apply
  const { diagnostics } = prepareScenario('examples/p3.smp', 'kernel linux-3.15\npatch ipi-offline-v6/0003\ncpus 2\n');
  assert.equal(diagnostics.length, 1);
  assert.match(formatDiagnostic(diagnostics[0]), /^examples\/p3\.smp:2:7: error: patch ipi-offline-v6\/0003: hunk \d+ of \d+ \(@@ -\d+,\d+ \+\d+,\d+ @@\) does not apply to smp\.kc: it is written against ipi-offline-v6\/0001: apply ipi-offline-v6\/0001 first$/);
});

test('unknown kernels and patches are errors on their lines', () => {
  const { diagnostics } = prepareScenario('examples/x.smp', 'kernel linux-9.99\npatch nope/0001\ncpus 2\n');
  const text = diagnostics.map(formatDiagnostic);
  assert.ok(text.some((t) => /x\.smp:2:7: error: no patch named 'nope\/0001'/.test(t)), text.join('\n'));
});

test('the scenario parser survives random and mutated text', () => {
  const good = 'kernel linux-3.15\ncpus 3\ncpu 2 runs cpu_down(1)\nirq disk on cpu 0 at any step: f(1)\nexpect count ipi-send where target == 1 >= 1\n';
  fc.assert(fc.property(fc.string({ maxLength: 200 }), fc.nat(good.length), fc.nat(10), (ins, at, del) => {
    const text = good.slice(0, at) + ins + good.slice(at + del);
    const r = parseScenario('f.smp', text);
    for (const d of r.diagnostics) assert.ok(d.range.start.line >= 1 && d.range.start.col >= 1, formatDiagnostic(d));
  }), { numRuns: 500 });
});

test('whole scenarios with mutated calls give diagnostics, never exceptions', () => {
  fc.assert(fc.property(fc.constantFrom('cpu_down(1)', 'cpu_down(', 'cpu_down(1, 2)', 'x->y', '&&', 'blk_complete_request(&nosuch)', 'cpu_down("a")', 'sizeof(struct nosuch)'), (call) => {
    const r = prepareScenario('examples/m.smp', `kernel linux-3.15\ncpus 2\ncpu 1 runs ${call}\n`);
    assert.ok(r.prepared || r.diagnostics.length > 0);
  }), { numRuns: 20 });
});

// --- numbers and machine limits: errors at the line, with the range allowed

/** The formatted diagnostics of a scenario checked as `smplab check` does (in examples/, so built-in names resolve). */
function check(text: string, overrides: ScenarioOverrides = {}): string[] {
  return prepareScenario('examples/t.smp', text, overrides).diagnostics.map(formatDiagnostic);
}

const HEAD = 'kernel linux-3.15\ncpus 3\n';

test('numbers beyond what the machine counts are errors with the range allowed', () => {
  assert.deepEqual(check(`${HEAD}irq disk on cpu 0 at step 99999999999: blk_complete_request(0)\n`), [
    'examples/t.smp:3:27: error: a step number must be at most 1000000000, not 99999999999',
  ]);
  assert.deepEqual(check(`${HEAD}ipi-latency 99999999999\n`), ['examples/t.smp:3:13: error: the latency must be at most 1000000000 steps, not 99999999999']);
  assert.deepEqual(check(`${HEAD}max-steps 1000000000000\n`), ['examples/t.smp:3:11: error: the step budget must be at most 1000000000, not 1000000000000']);
  assert.deepEqual(check(`${HEAD}schedule random seed 4294967296\n`), ['examples/t.smp:3:22: error: a seed must be at most 4294967295, not 4294967296']);
  assert.deepEqual(check(`${HEAD}irq disk on cpu 0 at any step in 0..1000000001: blk_complete_request(0)\n`), [
    'examples/t.smp:3:34: error: the range of steps must be at most 1000000000 steps, not 1000000001',
  ]);
  assert.deepEqual(check(`${HEAD}expect count ipi-send >= 99999999999\n`), ['examples/t.smp:3:26: error: a count must be at most 1000000000, not 99999999999']);
  // the largest values allowed are accepted
  assert.deepEqual(check(`${HEAD}max-steps 1000000000\nipi-latency 0..1000000000\nschedule random seed 4294967295\n`), []);
});

test('a reversed range is an error that says which way round it goes', () => {
  assert.deepEqual(check(`${HEAD}ipi-latency 5..2\n`), ['examples/t.smp:3:13: error: the latency 5..2 is reversed: write 2..5']);
  assert.deepEqual(check(`${HEAD}irq disk on cpu 0 at any step in 400..10: blk_complete_request(0)\n`), [
    'examples/t.smp:3:34: error: the range of steps 400..10 is reversed: write 10..400',
  ]);
});

test('more than 30 irq lines: the 31st is an error', () => {
  const irqs = Array.from({ length: 31 }, (_, i) => `irq d${i} on cpu 0 at step ${i + 1}: blk_complete_request(0)`).join('\n');
  assert.deepEqual(check(`${HEAD}${irqs}\n`), ['examples/t.smp:33:1: error: at most 30 irq lines: the machine has 30 device interrupt lines']);
});

test('more tasks than the machine holds: the first one too many is an error', () => {
  // 3 CPUs: the machine holds 3 * 4 + 32 = 44 tasks, and booting the model makes 15 of its own
  const tasks = Array.from({ length: 40 }, () => 'cpu 0 runs cpu_relax()').join('\n');
  const d = check(`${HEAD}${tasks}\n`);
  assert.deepEqual(d, ["examples/t.smp:32:1: error: too many tasks: the machine holds 44 tasks with 3 CPUs and the kernel's own take 15, so a scenario may start 29; this is task 30 of 40"]);
  assert.deepEqual(check(`${HEAD}${tasks.split('\n').slice(0, 29).join('\n')}\n`), []);
});

// --- nothing passes silently

test('expect count with a condition that does not compile is an error at its line', () => {
  assert.deepEqual(check(`${HEAD}expect count ipi-send where nosuch_field == 12345 >= 1\n`), ["examples/t.smp:3:29: error: 'nosuch_field' is not declared"]);
});

test('expect cpu N is range-checked even when it comes before the cpus line; so is a schedule', () => {
  assert.deepEqual(check('kernel linux-3.15\nexpect cpu 5 dead\nexpect cpu 99 dead\nschedule 0,1,9\ncpus 3\n'), [
    'examples/t.smp:2:12: error: CPU 5 does not exist: the scenario has 3 CPUs (0 to 2)',
    'examples/t.smp:3:12: error: CPU 99 does not exist: the scenario has 3 CPUs (0 to 2)',
    'examples/t.smp:4:10: error: CPU 9 does not exist: the scenario has 3 CPUs (0 to 2)',
  ]);
});

test('a condition may not use text fields, nor the fields of another event', () => {
  assert.deepEqual(check(`${HEAD}expect count warn where message == 1 == 0\n`), [
    "examples/t.smp:3:25: error: 'message' is text, and a condition compares numbers: warn's numeric fields are cpu and once",
  ]);
  assert.deepEqual(check(`${HEAD}struct request req0\nirq disk on cpu 0 after cpuhp where state == 1: blk_complete_request(&req0)\n`), [
    "examples/t.smp:4:37: error: cpuhp has no field 'state': its fields are cpu, action and target",
  ]);
});

test('a string passed for a number is an error at the argument', () => {
  assert.deepEqual(check(`${HEAD}cpu 2 runs cpu_down("one")\n`), ["examples/t.smp:3:21: error: argument 1 of 'cpu_down()' is a number (int), not a string"]);
});

test('a scenario object named like something of the model is an error at the scenario line', () => {
  assert.deepEqual(check(`${HEAD}struct request cpu_down\n`).map((d) => d.replace(/\(\/.*?\)/, '(…)')), [
    "examples/t.smp:3:16: error: 'cpu_down' is already a function (…): a variable needs a name of its own",
  ]);
  assert.deepEqual(check(`${HEAD}struct request do_nothing\n`).map((d) => d.replace(/\(\/.*?\)/, '(…)')), [
    "examples/t.smp:3:16: error: 'do_nothing' is already a function (…): a variable needs a name of its own",
  ]);
  assert.deepEqual(check(`${HEAD}struct request NR_CPUS\n`), ["examples/t.smp:3:16: error: 'NR_CPUS' is already a constant: a variable needs a name of its own"]);
  // where cpu.kc declares it (found in the file, so comments above it may change)
  const declLine = readFileSync(join(ROOT, 'models', 'linux-3.15', 'cpu.kc'), 'utf8').split('\n').indexOf('static int cpu_hotplug_disabled;') + 1;
  assert.ok(declLine > 0, 'cpu.kc declares cpu_hotplug_disabled');
  assert.equal(check(`${HEAD}struct request cpu_hotplug_disabled\n`)[0].replace(/\(at \/.*\//, '(at '), `examples/t.smp:3:16: error: 'cpu_hotplug_disabled' is declared twice with different types: int (at cpu.kc:${declLine}:12) and struct request`);
  // a model of one's own with a request of its own: the scenario's object would be the same memory
  const dir = mkdtempSync(join(tmpdir(), 'smplab-objects-'));
  try {
    cpSync(join(ROOT, 'models', 'linux-3.15'), join(dir, 'model'), { recursive: true });
    writeFileSync(join(dir, 'model', 'zz.kc'), 'struct request shared_req;\n');
    const d = prepareScenario(join(dir, 't.smp'), 'kernel ./model\ncpus 2\nstruct request shared_req\n').diagnostics.map(formatDiagnostic);
    assert.deepEqual(d, [`${join(dir, 't.smp')}:3:1: error: 'shared_req' is already a variable of the model (${join(dir, 'model', 'zz.kc')}:1): name the object differently`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--patch, --schedule and the other overrides are reported against the option, not a line', () => {
  const p3 = prepareScenario('examples/t.smp', HEAD, { patches: ['ipi-offline-v6/0003'] }).diagnostics;
  assert.equal(p3.length, 1);
  assert.equal(p3[0].option, 'patches');
  assert.match(formatDiagnostic(p3[0]), /^patches: error: ipi-offline-v6\/0003: hunk 4 of 4 .* does not apply to smp\.kc: it is written against ipi-offline-v6\/0001: apply ipi-offline-v6\/0001 first$/);
  const reversed = prepareScenario('examples/t.smp', HEAD, { patches: ['ipi-offline-v6/0003', 'ipi-offline-v6/0001'] }).diagnostics.map(formatDiagnostic);
  assert.match(reversed[0], /it is written against ipi-offline-v6\/0001, which must come before it$/);
  assert.deepEqual(check(HEAD, { schedule: { kind: 'list', cpus: [0, 1, 9] } }), ['schedule: error: CPU 9 does not exist: the scenario has 3 CPUs (0 to 2)']);
  assert.deepEqual(check(HEAD, { maxSteps: 1e12 }), ['maxSteps: error: the step budget is a whole number from 1 to 1000000000, not 1000000000000']);
  assert.deepEqual(check(HEAD, { ipiLatency: { min: 5, max: 2 } }), ['ipiLatency: error: the latency 5..2 is reversed: write 2..5']);
  assert.deepEqual(check(HEAD, { schedule: { kind: 'random', seed: 2 ** 32 } }), ['seed: error: a seed is a whole number from 0 to 4294967295, not 4294967296']);
});

test('a where condition that faults while running is blamed on its scenario line', () => {
  const text = `${HEAD}struct request req0 = { .cpu = 1 }\ncpu 2 runs cpu_down(1)\nirq disk on cpu 0 after csd-queue where 10 / (target - 1) == 0: blk_complete_request(&req0)\nirq disk2 on cpu 0 at step 50: blk_complete_request(&req0)\n`;
  const { prepared, diagnostics } = prepareScenario('examples/t.smp', text);
  assert.deepEqual(diagnostics, []);
  const r = runScenario(prepared!);
  assert.equal(r.stop.kind, 'fault');
  assert.ok(r.stop.kind === 'fault');
  assert.match(r.stop.message, /^division by zero \(in the condition '10 \/ \(target - 1\) == 0'\)$/);
  assert.equal(r.stop.at?.file, 'examples/t.smp');
  assert.deepEqual(r.stop.at?.start, { line: 5, col: 41 });
});

test('callsite compares with function names, like func', () => {
  const race = readFileSync('examples/ipi-offline-race.smp', 'utf8');
  const text = `${race}\nexpect count ipi-send where callsite == generic_exec_single == 1\nexpect count ipi-send where callsite == cpu_down == 0\n`;
  const r = runScenario(prepareScenario('examples/t.smp', text).prepared!);
  assert.deepEqual(r.verdicts.slice(-2).map((v) => [v.ok, v.detail]), [[true, 'counted 1'], [true, 'counted 0']]);
});

test('fields renamed to their tracepoint\'s name keep their old names in conditions; cpu is still the CPU the event happened on', () => {
  const race = readFileSync('examples/ipi-offline-race.smp', 'utf8');
  const conditions = [
    'count ipi-send where target == 1 == 1',
    'count ipi-send where target == 2 == 0',
    'count ipi-send where cpu == 0 && callback == generic_smp_call_function_single_interrupt == 1',
    'count csd-queue where target == 1 && func == trigger_softirq == 1',
    'count ipi-receive where vector == 251 && online == 0 && queued == 1 == 1',
    'count sched-switch where prev_pid == 0 && next_prio == 0 == 2',
    'count irq-exit where irq == 1 == 1',
  ];
  const text = `${race}\n${conditions.map((c) => `expect ${c}`).join('\n')}\n`;
  const { prepared, diagnostics } = prepareScenario('examples/t.smp', text);
  assert.deepEqual(diagnostics, []);
  const r = runScenario(prepared!);
  const judged = r.verdicts.slice(-conditions.length);
  assert.deepEqual(judged.map((v) => v.text), conditions.map((c) => `expect ${c}`));
  for (const v of judged) assert.ok(v.ok, `${v.text}: ${v.detail}`);
});

test('text fields, old or new, are refused in conditions with the reason', () => {
  for (const [cond, name] of [['prev == 1', 'prev'], ['next_comm == 1', 'next_comm'], ['task == 1', 'task']]) {
    const event = name === 'task' ? 'task-exit' : 'sched-switch';
    const { diagnostics } = prepareScenario('examples/t.smp', `${HEAD}expect count ${event} where ${cond} >= 0\n`);
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
    assert.match(diagnostics[0].message, new RegExp(`'${name}' is text`));
  }
});

// --- tasks: a statement body each, run in file order, named for their return value

test('the text after runs is a statement body, and tasks on one CPU run in file order', () => {
  const text = `${HEAD}cpu 1 runs printk("first\\n")\ncpu 1 runs { int i; for (i = 0; i < 2; i++) printk("loop %d\\n", i); }\ncpu 1 runs if (cpu_online(1)) printk("third\\n");\n`;
  const { prepared, diagnostics } = prepareScenario('examples/t.smp', text);
  assert.deepEqual(diagnostics, []);
  const printed: string[] = [];
  runScenario(prepared!, { onEvent: (e) => void (e.kind === 'printk' && printed.push(String(e.fields.message).trim())) });
  assert.deepEqual(printed, ['first', 'loop 0', 'loop 1', 'third']);
});

test('a named task\'s return value can be expected: cpu_down of the last online CPU returns -EBUSY', () => {
  const text = 'kernel linux-3.15\ncpus 2\ncpu 0 runs cpu_down(1)\ntask last: cpu 0 runs cpu_down(0)\nexpect last returns -EBUSY\nexpect last returns 0\n';
  const { prepared, diagnostics } = prepareScenario('examples/t.smp', text);
  assert.deepEqual(diagnostics, []);
  const r = runScenario(prepared!);
  assert.deepEqual(r.verdicts.map((v) => [v.text, v.ok, v.detail]), [
    ['expect last returns -EBUSY', true, 'last returned -16 (-EBUSY)'],
    ['expect last returns 0', false, 'last returned -16 (-EBUSY)'],
  ]);
  // a task that never gets to return fails the expectation saying so
  const stuck = runScenario(prepareScenario('examples/t.smp', `${HEAD}max-steps 5\ntask down: cpu 2 runs cpu_down(1)\nexpect down returns 0\n`).prepared!);
  assert.deepEqual(stuck.verdicts.map((v) => [v.ok, v.detail]).slice(-1), [[false, 'down has not returned']]);
});

test('the returned value lives in machine memory: a snapshot taken before the task ends does not have it', () => {
  const p = prepareScenario('examples/t.smp', `${HEAD}task down: cpu 2 runs cpu_down(1)\nexpect down returns 0\n`).prepared!;
  const [, r] = [...p.returns][0];
  const m = startRun(p);
  m.mem[r.result] = 12345;
  const before = m.snapshot();
  m.run(p.maxSteps);
  assert.equal(m.mem[r.result], 0);
  m.restore(before);
  assert.equal(m.mem[r.result], 12345);
});

test('task names and returns expectations are checked', () => {
  assert.deepEqual(check(`${HEAD}task cpu: cpu 1 runs cpu_down(1)\n`), ["examples/t.smp:3:6: error: a task cannot be named 'cpu': 'expect cpu ...' means something else"]);
  assert.deepEqual(check(`${HEAD}task a: cpu 1 runs cpu_down(1)\ntask a: cpu 2 runs cpu_down(1)\n`), ["examples/t.smp:4:6: error: a task named 'a' is already on line 3"]);
  assert.deepEqual(check(`${HEAD}expect up returns 0\n`), ["examples/t.smp:3:1: error: no task is named 'up': name one with 'task up: cpu N runs FUNCTION(ARGS)'"]);
  assert.deepEqual(check(`${HEAD}task w: cpu 1 runs while (0) {}\nexpect w returns 0\n`), [
    "examples/t.smp:4:1: error: task 'w' must run one call for its return value to be expected: 'task w: cpu 1 runs FUNCTION(ARGS)'",
  ]);
  assert.deepEqual(check(`${HEAD}task v: cpu 1 runs do_nothing(0)\nexpect v returns 0\n`), ["examples/t.smp:3:20: error: 'do_nothing()' returns void: there is no value to assign"]);
  assert.deepEqual(check(`${HEAD}task d: cpu 1 runs cpu_down(1)\nexpect d returns -ENOSUCH\n`), ["examples/t.smp:4:19: error: 'ENOSUCH' is not declared"]);
});

// --- model folders: only regular files, of a bounded size, and say what was skipped

/** A copy of the Linux 3.15 model in a fresh folder, with `setUp` making what a test needs beside it. */
function withModelCopy(setUp: (model: string, dir: string) => void, run: (scenario: string, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-folder-'));
  try {
    cpSync(join(ROOT, 'models', 'linux-3.15'), join(dir, 'model'), { recursive: true });
    setUp(join(dir, 'model'), dir);
    run(join(dir, 't.smp'), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a FIFO, a /dev/zero link, a folder and an oversized file named *.kc are skipped, each said at the kernel line', () => {
  withModelCopy((model, dir) => {
    execFileSync('mkfifo', [join(model, 'fifo.kc')]);
    symlinkSync('/dev/zero', join(model, 'zero.kc'));
    mkdirSync(join(model, 'folder.kc'));
    writeFileSync(join(model, 'huge.kc'), `/* ${'x'.repeat(2 << 20)} */\n`);
    writeFileSync(join(dir, 'outside.kc'), 'int outside_only;\n');
    symlinkSync(join(dir, 'outside.kc'), join(model, 'leaves.kc'));
    // a link that stays inside the folder is followed
    mkdirSync(join(model, 'sub'));
    writeFileSync(join(model, 'sub', 'extra.kc'), 'int extra_var;\n');
    symlinkSync(join(model, 'sub', 'extra.kc'), join(model, 'extra.kc'));
  }, (scenario, dir) => {
    const started = performance.now();
    const { prepared, diagnostics } = prepareScenario(scenario, 'kernel ./model\ncpus 2\ncpu 1 runs cpu_down(0)\n');
    assert.ok(performance.now() - started < 20000);
    assert.ok(prepared, diagnostics.map(formatDiagnostic).join('\n'));
    assert.ok(prepared.program.globals.has('extra_var'));
    assert.deepEqual(diagnostics.map(formatDiagnostic), [
      `${scenario}:1:8: warning: skipped fifo.kc: it is a FIFO, not a regular file`,
      `${scenario}:1:8: warning: skipped folder.kc: it is a folder, not a regular file`,
      `${scenario}:1:8: warning: skipped huge.kc: it has ${(2 << 20) + 7} bytes, more than the 1048576 a source file may have`,
      `${scenario}:1:8: warning: skipped leaves.kc: a symbolic link out of the model folder (to ${join(dir, 'outside.kc')}), not followed`,
      `${scenario}:1:8: warning: skipped zero.kc: a symbolic link out of the model folder (to /dev/zero), not followed`,
    ]);
  });
});

test('a scenario may name any model folder the user can read, through a symbolic link too', () => {
  withModelCopy((model, dir) => symlinkSync(model, join(dir, 'linked')), (scenario) => {
    const { prepared, diagnostics } = prepareScenario(scenario, 'kernel ./linked\ncpus 2\n');
    assert.deepEqual(diagnostics, []);
    assert.ok(prepared);
  });
});

test('a FIFO named *.patch or *.smp is refused at once', () => {
  withModelCopy((_model, dir) => {
    execFileSync('mkfifo', [join(dir, 'p.patch')]);
    execFileSync('mkfifo', [join(dir, 'f.smp')]);
  }, (scenario, dir) => {
    const d = prepareScenario(scenario, 'kernel ./model\npatch p.patch\ncpus 2\n').diagnostics.map(formatDiagnostic);
    assert.deepEqual(d, [`${scenario}:2:7: error: patch p.patch: cannot read it: it is a FIFO, not a regular file`]);
    const f = join(dir, 'f.smp');
    assert.deepEqual(loadScenarioFile(f).diagnostics.map(formatDiagnostic), [`${f}:1:1: error: cannot read ${f}: it is a FIFO, not a regular file`]);
  });
});
