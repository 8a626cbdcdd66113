import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MachineEvent } from '../src/machine/events.js';
import { TASK_INTERRUPTIBLE, TASK_PARKED, T_ON_RQ, T_STATE } from '../src/machine/layout.js';
import { prepareScenario, startRun } from '../src/scenario/build.js';
import { runScenario } from '../src/scenario/run.js';

/**
 * The Linux 3.15 hotplug path around the race, as 3.15 runs it: each test
 * states one behaviour of the kernel and checks the model does the same.
 */

function prepare(lines: string[]) {
  const { prepared, diagnostics } = prepareScenario('examples/hotplug.smp', lines.join('\n') + '\n');
  assert.deepEqual(diagnostics, []);
  return prepared!;
}

/** Runs a scenario once; the events, the verdicts and the machine at the end. */
function run(lines: string[], seed = 1) {
  const prepared = prepare(lines);
  const events: MachineEvent[] = [];
  const r = runScenario(prepared, { schedule: { kind: 'random', seed }, onEvent: (e) => events.push(e) });
  return { ...r, events };
}

test('3.15 has no CPU_DYING_IDLE or CPU_BROKEN notifier action', () => {
  const p = prepare(['kernel linux-3.15', 'cpus 2']);
  assert.equal(p.program.constants.get('CPU_DYING'), 8);
  assert.equal(p.program.constants.get('CPU_POST_DEAD'), 9);
  assert.equal(p.program.constants.has('CPU_DYING_IDLE'), false);
  assert.equal(p.program.constants.has('CPU_BROKEN'), false);
});

test('call_function_init() runs from start_kernel(), before any initcall', () => {
  const p = prepare(['kernel linux-3.15', 'cpus 2']);
  assert.ok(!p.program.initcalls.some((f) => f.name === 'call_function_init'), 'it is not an initcall');
  const m = startRun(p);
  const bootTasks = m.allTasks().map((t) => m.taskName(t)).filter((n) => n.startsWith('init:'));
  assert.equal(bootTasks[0], 'init:start_kernel', bootTasks.join(' '));
});

test('after cpu_down(1) the dying CPU\'s stopper is disabled and parked: stop_one_cpu(1, ...) returns -ENOENT without running the work', () => {
  const r = run([
    'kernel linux-3.15', 'cpus 3',
    'task down: cpu 2 runs cpu_down(1)',
    // queued behind cpu_down on CPU 2; a NULL fn would fault if the work ran
    'task late: cpu 2 runs stop_one_cpu(1, NULL, NULL)',
    'expect down returns 0',
    'expect late returns -ENOENT',
    'expect cpu 1 dead',
  ]);
  assert.equal(r.stop.kind, 'done', JSON.stringify(r.stop));
  assert.ok(r.ok, JSON.stringify(r.verdicts));
});

test('the dying CPU\'s stopper leaves the run queue parked once stop-machine is over, and CPU 1 then dies from its idle task', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const prepared = prepare(['kernel linux-3.15', 'cpus 3', 'cpu 2 runs cpu_down(1)']);
    const m = startRun(prepared, { schedule: { kind: 'random', seed } });
    const stop = m.run(200000);
    assert.equal(stop.kind, 'done', `seed ${seed}: ${JSON.stringify(stop)}`);
    assert.ok(m.isDead(1));
    const stopper = m.allTasks().find((t) => m.taskName(t) === 'migration/1')!;
    assert.equal(m.mem[stopper + T_ON_RQ], 0, `seed ${seed}: migration/1 is off the run queue`);
    assert.equal(m.mem[stopper + T_STATE], TASK_PARKED, `seed ${seed}: migration/1 is parked`);
    // the other stoppers went back to sleep as usual
    const other = m.allTasks().find((t) => m.taskName(t) === 'migration/2')!;
    assert.equal(m.mem[other + T_STATE], TASK_INTERRUPTIBLE, `seed ${seed}: migration/2 sleeps`);
  }
});
