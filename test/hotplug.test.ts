import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MachineEvent } from '../src/machine/events.js';
import { TASK_INTERRUPTIBLE, TASK_PARKED, T_ON_RQ, T_STATE } from '../src/machine/layout.js';
import { prepareScenario, startRun } from '../src/scenario/build.js';
import { ExpectationTracker } from '../src/scenario/expectations.js';
import { runScenario } from '../src/scenario/run.js';
import { ROOT } from './helpers.js';

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

/** A copy of the 3.15 model in a temporary folder, with extra KC files beside it. */
function modelWith(extra: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-hotplug-'));
  cpSync(join(ROOT, 'models', 'linux-3.15'), join(dir, 'model'), { recursive: true });
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, 'model', name), text);
  return dir;
}

/** A copy of the 3.15 model with `from` replaced by `to` in one file (which must contain it). */
function modelEdited(file: string, from: string, to: string): string {
  const dir = modelWith({});
  const path = join(dir, 'model', file);
  const text = readFileSync(path, 'utf8');
  const edited = text.replace(from, to);
  assert.notEqual(edited, text, `${file} has no ${JSON.stringify(from)}`);
  writeFileSync(path, edited);
  return dir;
}

test('__do_softirq runs a softirq raised while its handlers ran in the same call: ksoftirqd is not woken', () => {
  // the second disk interrupt lands on CPU 0 while BLOCK_SOFTIRQ is completing the first request there
  const r = run([
    'kernel linux-3.15', 'cpus 2',
    'struct request req0', 'struct request req1',
    'irq disk0 on cpu 0 at step 50: blk_complete_request(&req0)',
    'irq disk1 on cpu 0 after request-complete where cpu == 0: blk_complete_request(&req1)',
    'expect all requests completed',
  ]);
  assert.ok(r.ok, JSON.stringify(r.verdicts));
  const entries = r.events.filter((e) => e.kind === 'softirq-entry' && e.cpu === 0);
  assert.equal(entries.length, 2, 'BLOCK_SOFTIRQ ran twice');
  assert.ok(!r.events.some((e) => e.kind === 'sched-switch' && e.fields.next_comm === 'ksoftirqd/0'), 'ksoftirqd/0 never ran');
});

test('__do_softirq restarts at most MAX_SOFTIRQ_RESTART (10) times, then hands the rest to ksoftirqd', () => {
  // a softirq that raises itself again, 25 runs in all
  const dir = modelWith({
    'selfraise.kc': [
      'int selfraise_runs;',
      '/* not a kernel function: a softirq handler that raises itself again, 25 runs in all */',
      'static void selfraise_action(struct softirq_action *h)',
      '{',
      '\tselfraise_runs++;',
      '\tif (selfraise_runs < 25)',
      '\t\traise_softirq_irqoff(HI_SOFTIRQ);',
      '}',
      '/* not a kernel function: installs selfraise_action as HI_SOFTIRQ */',
      'static int __init selfraise_init(void)',
      '{',
      '\topen_softirq(HI_SOFTIRQ, selfraise_action);',
      '\treturn 0;',
      '}',
      'late_initcall(selfraise_init);',
      '/* not a kernel function: what a device interrupt handler does to start it */',
      'void selfraise_start(void)',
      '{',
      '\traise_softirq_irqoff(HI_SOFTIRQ);',
      '}',
      '',
    ].join('\n'),
  });
  try {
    const { prepared, diagnostics } = prepareScenario(join(dir, 's.smp'), ['kernel ./model', 'cpus 2', 'irq kick on cpu 0 at step 30: selfraise_start()'].join('\n'));
    assert.deepEqual(diagnostics, []);
    const events: MachineEvent[] = [];
    const r = runScenario(prepared!, { schedule: { kind: 'random', seed: 3 }, onEvent: (e) => events.push(e) });
    assert.equal(r.stop.kind, 'done', JSON.stringify(r.stop));
    const hi = (e: MachineEvent) => e.kind === 'softirq-entry' && e.cpu === 0 && e.fields.vec === 0;
    const switchIn = events.findIndex((e) => e.kind === 'sched-switch' && e.cpu === 0 && e.fields.next_comm === 'ksoftirqd/0');
    assert.ok(switchIn > 0, 'ksoftirqd/0 runs in the end');
    assert.equal(events.slice(0, switchIn).filter(hi).length, 10, 'ten rounds on the way out of the interrupt, then ksoftirqd');
    assert.equal(events.filter(hi).length, 25, 'ksoftirqd runs the other 15');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- smpboot_park_threads(): the dying CPU's ksoftirqd is parked before stop-machine

/** The first event matching `pred` at or after index `from`, or -1. */
function indexOf(events: MachineEvent[], pred: (e: MachineEvent) => boolean, from = 0): number {
  for (let i = from; i < events.length; i++) if (pred(events[i])) return i;
  return -1;
}

const switchesTo = (comm: string) => (e: MachineEvent) => e.kind === 'sched-switch' && e.fields.next_comm === comm;

test('with patch 3, BLOCK_SOFTIRQ raised by the CPU_DYING flush stays pending on the dead CPU; CPU_DEAD\'s blk_cpu_notify completes the request on the control CPU', () => {
  // the IPI is still on its way when the flush runs trigger_softirq(), and arrives after CPU 1 is dead
  const r = run([
    'kernel linux-3.15', 'patch ipi-offline-v6/0001', 'patch ipi-offline-v6/0003', 'cpus 3', 'ipi-latency 400',
    'struct request req0 = { .cpu = 1 }',
    'cpu 2 runs cpu_down(1)',
    'irq disk on cpu 0 after stop-machine-state where state == MULTI_STOP_DISABLE_IRQ && cpu == 1: blk_complete_request(&req0)',
    'expect no lost work', 'expect all requests completed', 'expect cpu 1 dead',
  ]);
  assert.ok(r.ok, JSON.stringify(r.verdicts));
  const offline = indexOf(r.events, (e) => e.kind === 'cpu-offline' && e.fields.target === 1);
  const raised = indexOf(r.events, (e) => e.kind === 'softirq-raise' && e.cpu === 1 && e.fields.vec === 4, offline);
  assert.ok(offline >= 0 && raised > offline, 'the CPU_DYING flush raised BLOCK_SOFTIRQ on CPU 1 after it went offline');
  assert.equal(indexOf(r.events, switchesTo('ksoftirqd/1'), offline), -1, 'ksoftirqd/1 does not run on the offline CPU');
  assert.equal(indexOf(r.events, (e) => e.kind === 'softirq-entry' && e.cpu === 1, raised), -1, 'no softirq runs on CPU 1 after the flush');
  const dead = indexOf(r.events, (e) => e.kind === 'cpuhp' && e.fields.action === 7 && e.fields.target === 1);
  const completed = r.events.filter((e) => e.kind === 'request-complete');
  assert.equal(completed.length, 1);
  assert.equal(completed[0].cpu, 2, 'completed on the control CPU');
  assert.ok(r.events.indexOf(completed[0]) > dead, 'after the CPU_DEAD splice');
});

test('ksoftirqd/N parks before stop-machine and never runs on the offline CPU (seeds 1-30, IPI latency 0..400, patches 1 and 3)', () => {
  for (let seed = 1; seed <= 30; seed++) {
    const prepared = prepare([
      'kernel linux-3.15', 'patch ipi-offline-v6/0001', 'patch ipi-offline-v6/0003', 'cpus 3', 'ipi-latency 0..400',
      'struct request req0 = { .cpu = 1 }',
      'cpu 2 runs cpu_down(1)',
      'irq disk on cpu 0 after stop-machine-state where state == MULTI_STOP_DISABLE_IRQ && cpu == 1: blk_complete_request(&req0)',
    ]);
    const events: MachineEvent[] = [];
    const m = startRun(prepared, { schedule: { kind: 'random', seed } });
    m.onEvent((e) => events.push(e));
    const stop = m.run(200000);
    assert.equal(stop.kind, 'done', `seed ${seed}: ${JSON.stringify(stop)}`);
    const parked = indexOf(events, (e) => e.kind === 'sched-switch' && e.cpu === 1 && e.fields.prev_comm === 'ksoftirqd/1' && e.fields.prev_state === 'P');
    const stopMachine = indexOf(events, (e) => e.kind === 'stop-machine-state');
    assert.ok(parked >= 0 && parked < stopMachine, `seed ${seed}: ksoftirqd/1 parked before stop-machine began`);
    const offline = indexOf(events, (e) => e.kind === 'cpu-offline');
    assert.equal(indexOf(events, switchesTo('ksoftirqd/1'), offline), -1, `seed ${seed}: ksoftirqd/1 stays parked`);
    const ksoftirqd = m.allTasks().find((t) => m.taskName(t) === 'ksoftirqd/1')!;
    assert.equal(m.mem[ksoftirqd + T_STATE], TASK_PARKED, `seed ${seed}`);
  }
});

test('when stop-machine fails, cpu_down() unparks the CPU\'s threads: ksoftirqd/1, parked for the attempt, runs again', () => {
  // a copy of the model whose __cpu_disable() refuses, so take_cpu_down() fails
  const dir = modelEdited('x86.kc', '\tset_cpu_online(cpu, false);\n\tfixup_irqs();\n\treturn 0;', '\treturn -EBUSY;');
  try {
    const { prepared, diagnostics } = prepareScenario(join(dir, 's.smp'), [
      'kernel ./model', 'cpus 3',
      'task down: cpu 2 runs cpu_down(1)',
      'expect down returns -EBUSY',
    ].join('\n'));
    assert.deepEqual(diagnostics, []);
    const events: MachineEvent[] = [];
    const m = startRun(prepared!, { schedule: { kind: 'random', seed: 1 } });
    m.onEvent((e) => events.push(e));
    const tracker = new ExpectationTracker(prepared!);
    m.onEvent(tracker.listener);
    const stop = m.run(200000);
    assert.equal(stop.kind, 'done', JSON.stringify(stop));
    const verdicts = tracker.verdicts(m, stop);
    assert.ok(verdicts.every((v) => v.ok), JSON.stringify(verdicts));
    const parked = indexOf(events, (e) => e.kind === 'sched-switch' && e.fields.prev_comm === 'ksoftirqd/1' && e.fields.prev_state === 'P');
    assert.ok(parked >= 0, 'ksoftirqd/1 was parked for the attempt');
    const failed = indexOf(events, (e) => e.kind === 'cpuhp' && e.fields.action === 6);
    assert.ok(failed > parked, 'CPU_DOWN_FAILED');
    assert.ok(indexOf(events, (e) => e.cpu === 1 && switchesTo('ksoftirqd/1')(e), parked) > parked, 'ksoftirqd/1 runs after it was unparked');
    const ksoftirqd = m.allTasks().find((t) => m.taskName(t) === 'ksoftirqd/1')!;
    assert.notEqual(m.mem[ksoftirqd + T_STATE], TASK_PARKED, 'unparked');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- CPU_DYING: migration_call() moves the dying CPU's tasks away

/** A task on CPU 1 that is busy (runnable) until CPU 1 has gone offline, and cpu_down(1) on CPU 2. */
const BUSY_ON_DYING_CPU = [
  'kernel linux-3.15', 'cpus 3',
  'task work: cpu 1 runs while (!cpu_is_offline(1)) cpu_relax();',
  'task down: cpu 2 runs cpu_down(1)',
  'expect down returns 0', 'expect cpu 1 dead',
];

test('a task busy on CPU 1 does not keep ksoftirqd/1 from parking: it yields the CPU as the tick would, and cpu_down(1) completes', () => {
  const r = run(BUSY_ON_DYING_CPU, 1);
  assert.equal(r.stop.kind, 'done', JSON.stringify(r.stop));
  assert.ok(r.ok, JSON.stringify(r.verdicts));
  const busy = indexOf(r.events, (e) => e.cpu === 1 && switchesTo('work')(e));
  const parked = indexOf(r.events, (e) => e.kind === 'sched-switch' && e.fields.prev_comm === 'ksoftirqd/1' && e.fields.prev_state === 'P');
  assert.ok(busy >= 0 && parked > busy, 'ksoftirqd/1 parked while the task was busy on CPU 1');
});

test('CPU_DYING migrates a runnable task off the dying CPU: it finishes on another CPU, and after cpu_offline only idle and the stopper run on CPU 1 (seeds 1-20)', () => {
  let moved = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const r = run(BUSY_ON_DYING_CPU, seed);
    assert.equal(r.stop.kind, 'done', `seed ${seed}: ${JSON.stringify(r.stop)}`);
    assert.ok(r.ok, `seed ${seed}: ${JSON.stringify(r.verdicts)}`);
    const offline = indexOf(r.events, (e) => e.kind === 'cpu-offline');
    const onCpu1 = r.events.slice(offline).filter((e) => e.kind === 'sched-switch' && e.cpu === 1).map((e) => e.fields.next_comm);
    assert.deepEqual(onCpu1.filter((comm) => comm !== 'swapper/1' && comm !== 'migration/1'), [], `seed ${seed}: only idle and the stopper on CPU 1`);
    const exit = r.events.find((e) => e.kind === 'task-exit' && e.fields.comm === 'work')!;
    assert.ok(exit, `seed ${seed}: the task finished`);
    assert.notEqual(exit.cpu, 1, `seed ${seed}: not on the offline CPU`);
    if (r.events.some((e) => e.cpu === 1 && switchesTo('work')(e))) moved++;
  }
  assert.ok(moved >= 10, `the task ran on CPU 1 first and was moved in most seeds (${moved} of 20)`);
});

// ---- sleeping: completions, mutexes, and __cpu_die()'s poll

test('wait_for_completion() sleeps: the waiter leaves its CPU, a task of equal priority runs there and completes it', () => {
  const r = run([
    'kernel linux-3.15', 'cpus 2',
    'struct completion done',
    'task waiter: cpu 1 runs wait_for_completion(&done)',
    'task completer: cpu 1 runs complete(&done)',
  ]);
  assert.equal(r.stop.kind, 'done', JSON.stringify(r.stop));
  const slept = indexOf(r.events, (e) => e.kind === 'sched-switch' && e.fields.prev_comm === 'waiter' && e.fields.prev_state === 'D');
  assert.ok(slept >= 0, 'the waiter went to sleep (D)');
  const completer = indexOf(r.events, switchesTo('completer'), slept);
  assert.ok(completer >= slept, 'the other task ran while it slept');
  const exits = r.events.filter((e) => e.kind === 'task-exit').map((e) => e.fields.comm);
  assert.deepEqual(exits, ['completer', 'waiter'], 'woken by complete(), the waiter finished after it');
});

test('mutex_lock() on a held mutex sleeps: the waiter leaves its CPU and the task that lets the holder go runs (seeds 1-10)', () => {
  let contended = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const r = run([
      'kernel linux-3.15', 'cpus 2',
      // go.cpu is the holder's signal to let go
      'struct request go = { .cpu = 0 }', 'struct mutex lk',
      'task holder: cpu 0 runs mutex_lock(&lk); while (!go.cpu) cpu_relax(); mutex_unlock(&lk);',
      'task waiter: cpu 1 runs mutex_lock(&lk); mutex_unlock(&lk);',
      'task releaser: cpu 1 runs go.cpu = 1;',
    ], seed);
    assert.equal(r.stop.kind, 'done', `seed ${seed}: ${JSON.stringify(r.stop)}`);
    assert.equal(r.events.filter((e) => e.kind === 'task-exit').length, 3, `seed ${seed}: every task finished`);
    const slept = indexOf(r.events, (e) => e.kind === 'sched-switch' && e.fields.prev_comm === 'waiter' && e.fields.prev_state === 'D');
    if (slept >= 0) {
      contended++;
      assert.ok(indexOf(r.events, switchesTo('releaser'), slept) >= slept, `seed ${seed}: the releaser ran while the waiter slept`);
    }
  }
  assert.ok(contended >= 1, `the waiter found the mutex held in some seeds (${contended} of 10)`);
});

test('a sleeper nobody wakes is reported: the run ends in a deadlock naming the task and the completion', () => {
  const r = run(['kernel linux-3.15', 'cpus 2', 'struct completion never', 'task waiter: cpu 1 runs wait_for_completion(&never)']);
  assert.equal(r.stop.kind, 'deadlock', JSON.stringify(r.stop));
  assert.match((r.stop as { message: string }).message, /waiter asleep on never\.done for ever/);
});

test('__cpu_die() polls cpu_state every 100 ms, sleeping between looks, and after ten looks gives up with "CPU 1 didn\'t die..."', () => {
  // a copy of the model whose dying CPU never acknowledges its death
  const dir = modelEdited('x86.kc', '__this_cpu_write(cpu_state, CPU_DEAD);', '');
  try {
    const { prepared, diagnostics } = prepareScenario(join(dir, 's.smp'), ['kernel ./model', 'cpus 3', 'task down: cpu 2 runs cpu_down(1)'].join('\n'));
    assert.deepEqual(diagnostics, []);
    const events: MachineEvent[] = [];
    const m = startRun(prepared!, { schedule: { kind: 'random', seed: 1 } });
    m.onEvent((e) => events.push(e));
    const clockBefore = m.clock;
    const stop = m.run(200000);
    assert.equal(stop.kind, 'done', JSON.stringify(stop));
    const gaveUp = indexOf(events, (e) => e.kind === 'printk' && e.fields.message === "CPU 1 didn't die...");
    assert.ok(gaveUp >= 0, events.filter((e) => e.kind === 'printk').map((e) => e.fields.message).join(' | '));
    const offline = indexOf(events, (e) => e.kind === 'cpu-offline');
    const sleeps = events.slice(offline, gaveUp).filter((e) => e.kind === 'sched-switch' && e.fields.prev_comm === 'down' && e.fields.prev_state === 'D');
    assert.equal(sleeps.length, 10, 'ten sleeps of the polling task');
    assert.ok(m.clock - clockBefore >= 1_000_000, `a second of machine time passed (${m.clock - clockBefore} µs)`);
    assert.ok(indexOf(events, (e) => e.kind === 'cpuhp' && e.fields.action === 7, gaveUp) > gaveUp, '_cpu_down() goes on to CPU_DEAD');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
