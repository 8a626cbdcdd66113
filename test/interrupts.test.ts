import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MachineEvent } from '../src/machine/events.js';
import { eventLines } from '../src/machine/trace.js';
import { prepareScenario, startRun } from '../src/scenario/build.js';
import { timelineView } from '../src/timeline/query.js';
import { TimelineRecorder } from '../src/timeline/recorder.js';
import { Client, ROOT } from './lspClient.js';

/**
 * Interrupt routing as x86 does it in Linux 3.15: the two call-function
 * vectors, device interrupts leaving a dying CPU, and the block layer's
 * choice between completing here and sending an IPI.
 */

function prepare(lines: string[]) {
  const { prepared, diagnostics } = prepareScenario('examples/interrupts.smp', lines.join('\n') + '\n');
  assert.deepEqual(diagnostics, []);
  return prepared!;
}

/** Runs a scenario once; its events, their log lines, and the hardirq frame each CPU was in at each csd-entry. */
function run(lines: string[], seed = 1) {
  const m = startRun(prepare(lines), { schedule: { kind: 'random', seed } });
  const timeline = new TimelineRecorder(m);
  m.onEvent(timeline.listener);
  const events: MachineEvent[] = [];
  const log: string[] = [];
  const handlerAtCallback: string[] = [];
  m.onEvent((e) => {
    events.push(e);
    log.push(...eventLines(m, e));
    if (e.kind === 'csd-entry') {
      const frames = m.frames(e.cpu);
      const irq = frames.findIndex((f) => f.kind === 'hardirq');
      handlerAtCallback.push(frames.slice(0, irq + 1).map((f) => f.fn.name).join(' <- '));
    }
  });
  const stop = m.run(300000);
  timeline.settle(m.steps);
  return { m, stop, events, log, handlerAtCallback, timeline };
}

test('a mask IPI arrives on x86\'s call-function vector (252) and is taken by smp_call_function_interrupt()', () => {
  const r = run(['kernel linux-3.15', 'cpus 3', 'cpu 0 runs kick_all_cpus_sync()']);
  assert.equal(r.stop.kind, 'done', JSON.stringify(r.stop));
  const received = r.events.filter((e) => e.kind === 'ipi-receive');
  assert.deepEqual(received.map((e) => [e.cpu, e.fields.vector]).sort(), [[1, 252], [2, 252]]);
  for (const cpu of ['001', '002']) {
    assert.ok(r.log.some((l) => new RegExp(String.raw`\[${cpu}\] irq_vectors:call_function_entry: vector=252 \| online=1 queued=1$`).test(l)), r.log.join('\n'));
    assert.ok(r.log.some((l) => new RegExp(String.raw`\[${cpu}\] irq_vectors:call_function_exit: vector=252$`).test(l)), r.log.join('\n'));
  }
  assert.ok(!r.log.some((l) => l.includes('call_function_single_entry')), 'no single-call vector is raised');
  // the x86 entry point, then the generic handler it runs (a macro alias in 3.15)
  assert.deepEqual(r.handlerAtCallback, [
    'generic_smp_call_function_single_interrupt <- smp_call_function_interrupt',
    'generic_smp_call_function_single_interrupt <- smp_call_function_interrupt',
  ]);
});

test('a single-CPU call still arrives on the call-function-single vector (251)', () => {
  const r = run(['kernel linux-3.15', 'cpus 2', 'cpu 0 runs smp_call_function_single(1, do_nothing, NULL, 1)']);
  assert.equal(r.stop.kind, 'done', JSON.stringify(r.stop));
  assert.deepEqual(r.events.filter((e) => e.kind === 'ipi-receive').map((e) => [e.cpu, e.fields.vector]), [[1, 251]]);
  assert.ok(r.log.some((l) => /\[001\] irq_vectors:call_function_single_entry: vector=251 \| online=1 queued=1$/.test(l)), r.log.join('\n'));
  assert.deepEqual(r.handlerAtCallback, ['generic_smp_call_function_single_interrupt']);
});

/** CPU 1 keeps its interrupts off until a single call (251) and a mask call (252) have both been sent to it. */
const BOTH_VECTORS_PENDING = [
  'kernel linux-3.15', 'cpus 3',
  'struct atomic sent',
  'cpu 1 runs { local_irq_disable(); while (sent.counter < 2) cpu_relax(); local_irq_enable(); }',
  'cpu 0 runs { smp_call_function_single(1, do_nothing, NULL, 0); sent.counter++; }',
  'cpu 2 runs { preempt_disable(); smp_call_function_many(cpu_online_mask, do_nothing, NULL, 0); preempt_enable(); sent.counter++; }',
];

test('both vectors pending at once are two interrupts: the call-function vector is taken first (higher priority), then the single one finds the queue empty', () => {
  const r = run(BOTH_VECTORS_PENDING);
  assert.equal(r.stop.kind, 'done', JSON.stringify(r.stop));
  const onCpu1 = r.events.filter((e) => e.kind === 'ipi-receive' && e.cpu === 1);
  assert.deepEqual(onCpu1.map((e) => [e.fields.vector, e.fields.queued]), [[252, 2], [251, 0]]);
  assert.equal(r.events.filter((e) => e.kind === 'csd-entry' && e.cpu === 1).length, 2, 'both callbacks ran on CPU 1');
});

test('the timeline names each vector\'s handler and lands each IPI arrow in the handler of its own vector', () => {
  const r = run(BOTH_VECTORS_PENDING);
  const v = timelineView(r.timeline, 0, r.m.steps, 1);
  const toCpu1 = v.arrows.filter((a) => a.kind === 'ipi' && a.toCpu === 1);
  assert.equal(toCpu1.length, 2);
  const labelAt = (step: number) => v.lanes[1].spans.run.find((s) => s.from <= step && step < s.to)?.label;
  const single = toCpu1.find((a) => a.fromCpu === 0)!;
  const mask = toCpu1.find((a) => a.fromCpu === 2)!;
  assert.equal(labelAt(mask.toStep!), '[hardirq] call_function');
  assert.equal(labelAt(single.toStep!), '[hardirq] call_function_single');
  assert.ok(mask.toStep! < single.toStep!, 'the mask vector is taken first');
});

/** CPU 2 takes CPU 1 down while a disk interrupt (`on cpu N after ...`) completes req0. */
function cpuDownWithDiskIrq(irq: string, seed?: number) {
  return run(['kernel linux-3.15', 'cpus 3', 'struct request req0', 'cpu 2 runs cpu_down(1)', `irq disk ${irq}: blk_complete_request(&req0)`], seed);
}

test('fixup_irqs: an interrupt aimed at a CPU that went offline is delivered to the first online CPU, and the log says its affinity was broken', () => {
  const r = cpuDownWithDiskIrq('on cpu 1 after cpu-dead where target == 1');
  assert.equal(r.stop.kind, 'done', JSON.stringify(r.stop));
  const entries = r.events.filter((e) => e.kind === 'irq-entry');
  assert.deepEqual(entries.map((e) => [e.cpu, e.fields.name]), [[0, 'disk']]);
  assert.equal(r.events.filter((e) => e.kind === 'request-complete').length, 1, 'the request completed');
  const broke = r.events.findIndex((e) => e.kind === 'printk' && e.fields.message === 'Broke affinity for irq 1');
  assert.ok(broke >= 0, r.log.join('\n'));
  // printed by the dying CPU in __cpu_disable, after it left cpu_online_mask
  assert.equal(r.events[broke].cpu, 1);
  assert.ok(broke > r.events.findIndex((e) => e.kind === 'cpu-offline'));
});

test('fixup_irqs: an interrupt already pending at the dying CPU when it leaves cpu_online_mask is sent again to its new CPU, not taken while offline', () => {
  for (let seed = 1; seed <= 10; seed++) {
    // fires as CPU 1 leaves cpu_online_mask in __cpu_disable(), interrupts off: pending there when fixup_irqs() runs
    const r = cpuDownWithDiskIrq('on cpu 1 after cpu-offline where target == 1', seed);
    assert.equal(r.stop.kind, 'done', `seed ${seed}: ${JSON.stringify(r.stop)}`);
    const entries = r.events.filter((e) => e.kind === 'irq-entry');
    assert.deepEqual(entries.map((e) => e.cpu), [0], `seed ${seed}: ${r.log.join('\n')}`);
    assert.ok(entries[0].step > r.events.find((e) => e.kind === 'cpu-offline')!.step, `seed ${seed}: taken after CPU 1 left the online map`);
    assert.equal(r.events.filter((e) => e.kind === 'request-complete').length, 1, `seed ${seed}: the request completed`);
  }
});

test('fixup_irqs leaves interrupts aimed at online CPUs where they are', () => {
  const r = cpuDownWithDiskIrq('on cpu 2 after cpu-dead where target == 1');
  assert.deepEqual(r.events.filter((e) => e.kind === 'irq-entry').map((e) => e.cpu), [2]);
  assert.ok(!r.events.some((e) => e.kind === 'printk' && String(e.fields.message).startsWith('Broke affinity')));
});

/** The scenario's problems, as the CLI prints them. */
function problems(lines: string[]): string[] {
  return prepareScenario('examples/t.smp', lines.join('\n') + '\n').diagnostics.map((d) => `${d.range.start.line}:${d.range.start.col}: ${d.message}`);
}

/** A request submitted on CPU 1 (its completion CPU), completed by a disk interrupt on CPU 0. */
const COMPLETION = ['struct request req0 = { .cpu = 1 }', 'irq disk on cpu 0 at step 20: blk_complete_request(&req0)', 'expect all requests completed'];

function completion(settings: string[]) {
  const r = run(['kernel linux-3.15', 'cpus 3', ...settings, ...COMPLETION]);
  assert.equal(r.stop.kind, 'done', JSON.stringify(r.stop));
  const done = r.events.find((e) => e.kind === 'request-complete')!;
  return { ipis: r.events.filter((e) => e.kind === 'ipi-send').map((e) => e.fields.cpu), completedOn: done.cpu };
}

test('cpus_share_cache follows the scenario\'s shared-cache lines: a completion for a CPU sharing the cache is done here, without an IPI', () => {
  // the default: no two CPUs share a cache, so the completion goes back to CPU 1 with an IPI
  assert.deepEqual(completion([]), { ipis: [1], completedOn: 1 });
  assert.deepEqual(completion(['shared-cache 0,1']), { ipis: [], completedOn: 0 });
  assert.deepEqual(completion(['shared-cache 0-1']), { ipis: [], completedOn: 0 });
  // CPU 1 shares with CPU 2, not with CPU 0, where the interrupt lands
  assert.deepEqual(completion(['shared-cache 1,2']), { ipis: [1], completedOn: 1 });
  assert.deepEqual(completion(['shared-cache 0', 'shared-cache 1-2']), { ipis: [1], completedOn: 1 });
});

test('rq-affinity 2 sets QUEUE_FLAG_SAME_FORCE: the completion goes to the submitting CPU even when the two share a cache', () => {
  assert.deepEqual(completion(['shared-cache 0,1', 'rq-affinity 2']), { ipis: [1], completedOn: 1 });
  assert.deepEqual(completion(['shared-cache 0,1', 'rq-affinity 1']), { ipis: [], completedOn: 0 });
});

test('rq-affinity 0 clears QUEUE_FLAG_SAME_COMP: a submitted request does not remember its CPU and completes where its interrupt lands', () => {
  const run0 = (setting: string[]) => {
    const r = run(['kernel linux-3.15', 'cpus 2', ...setting, 'struct request req0',
      'cpu 1 runs submit_io(&req0)', 'irq disk on cpu 0 after task-exit: blk_complete_request(&req0)', 'expect all requests completed']);
    assert.equal(r.stop.kind, 'done', JSON.stringify(r.stop));
    return { ipis: r.events.filter((e) => e.kind === 'ipi-send').length, completedOn: r.events.find((e) => e.kind === 'request-complete')!.cpu };
  };
  assert.deepEqual(run0([]), { ipis: 1, completedOn: 1 });
  assert.deepEqual(run0(['rq-affinity 0']), { ipis: 0, completedOn: 0 });
});

test('shared-cache and rq-affinity errors say what is wrong at their line and column', () => {
  const head = ['kernel linux-3.15', 'cpus 3'];
  assert.deepEqual(problems([...head, 'shared-cache 0,3']), ['3:14: CPU 3 does not exist: the scenario has 3 CPUs (0 to 2)']);
  assert.deepEqual(problems([...head, 'shared-cache']), ["3:1: expected the CPUs that share a last-level cache: 'shared-cache 0,1' or 'shared-cache 0-3'"]);
  assert.deepEqual(problems([...head, 'shared-cache 0,,1']), ["3:14: expected a CPU list such as 0,1 or 0-3, not '0,,1'"]);
  assert.deepEqual(problems([...head, 'shared-cache 2-1']), ["3:14: the CPU range 2-1 is reversed: write 1-2"]);
  assert.deepEqual(problems([...head, 'shared-cache 0,1 2']), ["3:18: unexpected '2': one shared-cache line per cache, with its CPUs as one list (0,1 or 0-3)"]);
  assert.deepEqual(problems([...head, 'shared-cache 0,1', 'shared-cache 1,2']), ['4:14: CPU 1 already shares a cache on line 3: a CPU has one last-level cache']);
  assert.deepEqual(problems([...head, 'rq-affinity 3']), ['3:13: rq_affinity must be at most 2, not 3']);
  assert.deepEqual(problems([...head, 'rq-affinity']), ['3:12: expected rq_affinity: 0, 1 or 2']);
  assert.deepEqual(problems([...head, 'rq-affinity 1', 'rq-affinity 2']), ["4:1: 'rq-affinity' is already set on line 3"]);
  assert.deepEqual(problems([...head, 'shared-cache 0-2', 'rq-affinity 2']), []);
});

test('the language server completes and explains shared-cache and rq-affinity, and the x86 model\'s irq built-ins', async () => {
  const client = await Client.start();
  try {
    const text = 'kernel linux-3.15\ncpus 4\nshared-cache 0-1\nrq-affinity 2\n\n';
    const u = client.open(join(ROOT, 'examples', 'lsp-topology.smp'), 'smp', text);
    assert.deepEqual((await client.diagnostics(u)).diagnostics, []);
    const keywords = await client.completion(u, { line: 4, character: 0 });
    const cache = keywords.find((i) => i.label === 'shared-cache');
    assert.ok(cache && keywords.some((i) => i.label === 'rq-affinity'), keywords.map((i) => i.label).join(' '));
    assert.equal(cache.detail, 'shared-cache CPUS');
    const hover = await client.hover(u, { line: 3, character: 3 });
    assert.match(hover?.contents.value ?? '', /QUEUE_FLAG_SAME_FORCE/);
    const bad = client.open(join(ROOT, 'examples', 'lsp-topology-bad.smp'), 'smp', 'kernel linux-3.15\ncpus 2\nshared-cache 0-2\n');
    const d = (await client.diagnostics(bad)).diagnostics;
    assert.deepEqual(d.map((x) => [x.range.start.line, x.range.start.character, x.message]), [[2, 13, 'CPU 2 does not exist: the scenario has 2 CPUs (0 to 1)']]);

    const x86 = join(ROOT, 'models', 'linux-3.15', 'x86.kc');
    const x86Text = readFileSync(x86, 'utf8');
    const xu = client.open(x86, 'kc', x86Text);
    const lines = x86Text.split('\n');
    const line = lines.findIndex((l) => l.includes('irq_set_affinity(irq, affinity)'));
    const h = await client.hover(xu, { line, character: lines[line].indexOf('irq_set_affinity') + 2 });
    assert.match(h?.contents.value ?? '', /first online CPU/);
  } finally {
    client.proc.kill('SIGKILL');
    await client.exited;
  }
});
