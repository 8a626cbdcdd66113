/**
 * The Linux 6.12 model (models/linux-6.12): it compiles clean, its cpuhp
 * state machine walks the states in the kernel's order with the kernel's
 * tracepoints, the dying CPU's flush runs what was queued for it, and the
 * 2014 race that warns on 3.15 does not on 6.12 with the same schedule.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatDiagnostic } from '../src/kc/diagnostics.js';
import { MachineEvent } from '../src/machine/events.js';
import { eventLines } from '../src/machine/trace.js';
import { prepareScenario, startRun } from '../src/scenario/build.js';
import { ROOT, compile } from './helpers.js';
import { Client } from './lspClient.js';

const MODEL_DIR = join(ROOT, 'models', 'linux-6.12');
const modelFiles = () => readdirSync(MODEL_DIR).filter((f) => f.endsWith('.kc'));
const modelSources = () => modelFiles().map((f) => ({ file: join(MODEL_DIR, f), text: readFileSync(join(MODEL_DIR, f), 'utf8') }));

/** The race of examples/ipi-offline-race.smp on either kernel, with the same trigger. */
function race(kernel: string, latency = 0): string {
  return [
    `kernel ${kernel}`, 'cpus 3', `ipi-latency ${latency}`, 'struct request req0 = { .cpu = 1 }',
    'cpu 2 runs cpu_down(1)',
    'irq disk on cpu 0 after stop-machine-state where state == MULTI_STOP_DISABLE_IRQ && cpu == 1: blk_complete_request(&req0)',
  ].join('\n') + '\n';
}

function runRace(kernel: string, seed: number, latency = 0) {
  const { prepared, diagnostics } = prepareScenario(join(ROOT, 'examples', 'race.smp'), race(kernel, latency));
  assert.deepEqual(diagnostics.map(formatDiagnostic), []);
  const m = startRun(prepared!, { schedule: { kind: 'random', seed } });
  const events: MachineEvent[] = [];
  const off = m.onEvent((e) => events.push(e));
  const stop = m.run(200000);
  off();
  return { m, prepared: prepared!, events, stop };
}

test('the Linux 6.12 model compiles without diagnostics and has the functions the race goes through', () => {
  const r = compile(modelSources(), 3);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  for (const name of ['__flush_smp_call_function_queue', 'smpcfd_dying_cpu', 'smp_call_function_many_cond', 'multi_cpu_stop',
    'stop_machine_cpuslocked', 'cpuhp_invoke_callback', 'take_cpu_down', 'takedown_cpu', 'blk_mq_complete_request_remote',
    'blk_softirq_cpu_dead', 'do_idle', 'native_play_dead']) {
    assert.ok(r.program!.functionsByName.get(name)?.decl.body, `${name} is defined`);
  }
  // 6.12 has no separate DISABLE_IRQ_INACTIVE state: patch 2 was never merged
  assert.equal(r.program!.constants.get('MULTI_STOP_DISABLE_IRQ_INACTIVE'), undefined);
  assert.equal(typeof r.program!.constants.get('MULTI_STOP_DISABLE_IRQ'), 'number');
});

test('every 6.12 model file is GPL-2.0-only and every function says what it models', () => {
  for (const f of modelFiles()) {
    assert.match(readFileSync(join(MODEL_DIR, f), 'utf8'), /^\/\/ SPDX-License-Identifier: GPL-2\.0-only\n/, f);
  }
  const r = compile(modelSources(), 2);
  for (const fn of r.program!.functions) {
    if (!fn.decl.body || fn.file === '<built-in>') continue;
    assert.match(fn.decl.doc ?? '', /models [^\n]*v6\.12|not a kernel function/, `${fn.name} in ${fn.file} names the 6.12 function it models`);
  }
});

test('cpu_down walks the cpuhp states in order, each between cpuhp_enter and cpuhp_exit, on the CPU 6.12 runs it on', () => {
  const { events, stop, prepared } = runRace('linux-6.12', 1);
  assert.equal(stop.kind, 'done', JSON.stringify(stop));
  const state = (name: string) => prepared.program.constants.get(name)!;
  const enters = events.filter((e) => e.kind === 'cpuhp-enter');
  const exits = events.filter((e) => e.kind === 'cpuhp-exit');
  assert.deepEqual(enters.map((e) => [e.cpu, e.fields.idx, e.fields.target]), [
    // the control CPU hands the online states to cpuhp/1, down to TEARDOWN_CPU
    [2, state('CPUHP_ONLINE'), state('CPUHP_TEARDOWN_CPU')],
    [1, state('CPUHP_AP_ACTIVE'), state('CPUHP_TEARDOWN_CPU')],
    [1, state('CPUHP_AP_SMPBOOT_THREADS'), state('CPUHP_TEARDOWN_CPU')],
    // then takes over: stop-machine, and on the dying CPU its dying states
    [2, state('CPUHP_TEARDOWN_CPU'), state('CPUHP_OFFLINE')],
    [1, state('CPUHP_AP_SMPCFD_DYING'), state('CPUHP_OFFLINE')],
    // and the states after its death
    [2, state('CPUHP_SMPCFD_PREPARE'), state('CPUHP_OFFLINE')],
    [2, state('CPUHP_BLOCK_SOFTIRQ_DEAD'), state('CPUHP_OFFLINE')],
  ]);
  for (const e of [...enters, ...exits]) assert.equal(e.fields.cpu, 1, 'every callback is for CPU 1');
  // every enter has its exit, with ret 0; an exit's state is where the walk stands after it
  assert.deepEqual(exits.map((e) => [e.fields.idx, e.fields.ret]).sort(), enters.map((e) => [e.fields.idx, 0]).sort());
  const dyingExit = exits.find((e) => e.fields.idx === state('CPUHP_AP_SMPCFD_DYING'))!;
  assert.equal(dyingExit.fields.state, state('CPUHP_AP_OFFLINE'));
  // the dying state runs inside stop-machine, after CPU 1 left the online mask
  const offline = events.findIndex((e) => e.kind === 'cpu-offline');
  assert.ok(offline >= 0 && offline < events.indexOf(enters[4]));
});

test('the tracepoints print as the kernel prints them', () => {
  const { m, events } = runRace('linux-6.12', 1);
  const lines = events.filter((e) => e.kind === 'cpuhp-enter' || e.kind === 'cpuhp-exit').flatMap((e) => eventLines(m, e));
  assert.ok(lines.some((l) => / cpuhp:cpuhp_enter: cpu: 0001 target: +\d+ step: +\d+ \(smpcfd_dying_cpu\)$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => / cpuhp:cpuhp_exit: {2}cpu: 0001 {2}state: +\d+ step: +\d+ ret: 0$/.test(l)), lines.join('\n'));
});

test('the dying CPU\'s flush runs the callback queued for it, inside CPUHP_AP_SMPCFD_DYING, and the late IPI finds an empty queue', () => {
  const { events, prepared, m } = runRace('linux-6.12', 1);
  const dying = prepared.program.constants.get('CPUHP_AP_SMPCFD_DYING');
  const enter = events.findIndex((e) => e.kind === 'cpuhp-enter' && e.fields.idx === dying);
  const exit = events.findIndex((e) => e.kind === 'cpuhp-exit' && e.fields.idx === dying);
  const ran = events.findIndex((e) => e.kind === 'csd-entry' && e.cpu === 1 && m.symbol(Number(e.fields.func)) === '__blk_mq_complete_request_remote');
  assert.ok(enter >= 0 && enter < ran && ran < exit, `callback at ${ran}, dying state from ${enter} to ${exit}`);
  const late = events.filter((e) => e.kind === 'ipi-receive' && e.cpu === 1 && e.fields.online === 0);
  assert.ok(late.length >= 1, 'the IPI still arrives after CPU 1 went offline');
  for (const e of late) assert.equal(e.fields.queued, 0);
  assert.ok(events.some((e) => e.kind === 'request-complete'), 'req0 completes');
});

test('with the IPI still in flight when CPU 1 dies, the flush already ran it: nothing is lost and req0 completes', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const { events, stop, m } = runRace('linux-6.12', seed, 400);
    assert.equal(stop.kind, 'done', `seed ${seed}: ${JSON.stringify(stop)}`);
    assert.ok(m.isDead(1), `seed ${seed}: CPU 1 died`);
    assert.deepEqual(events.filter((e) => e.kind === 'lost-work' || e.kind === 'warn'), [], `seed ${seed}`);
    assert.equal(events.filter((e) => e.kind === 'request-complete').length, 1, `seed ${seed}: req0 completes once`);
  }
});

test('the same race and seed warn "IPI on offline CPU" on 3.15 and never on 6.12', (t) => {
  let warned = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const old = runRace('linux-3.15', seed);
    const now = runRace('linux-6.12', seed);
    if (old.events.some((e) => e.kind === 'warn')) warned++;
    assert.deepEqual(now.events.filter((e) => e.kind === 'warn'), [], `seed ${seed}: 6.12 does not warn`);
    assert.equal(now.stop.kind, 'done', `seed ${seed}`);
    assert.equal(now.events.filter((e) => e.kind === 'ipi-receive' && e.cpu === 1 && e.fields.online === 0 && Number(e.fields.queued) > 0).length, 0);
  }
  t.diagnostic(`3.15 warned with ${warned} of 10 seeds`);
  assert.ok(warned >= 3, `3.15 warns with some of the seeds (${warned})`);
});

test('the 6.12 flush warns, naming the callback, when an IPI finds work on an offline CPU (the 2022 check)', () => {
  // CPU 1 takes itself out of the online mask by hand and then finds a csd queued on itself: only a broken caller could do that
  const text = [
    'kernel linux-6.12', 'cpus 2', 'ipi-latency 0',
    'cpu 1 runs local_irq_disable(); set_cpu_online(1, false); INIT_CSD(&per_cpu(csd_data, 1), do_nothing, NULL); __smp_call_single_queue(1, &per_cpu(csd_data, 1).node.llist); generic_smp_call_function_single_interrupt(); local_irq_enable();',
  ].join('\n') + '\n';
  const { prepared, diagnostics } = prepareScenario(join(ROOT, 'examples', 'flush.smp'), text);
  assert.deepEqual(diagnostics.map(formatDiagnostic), []);
  const m = startRun(prepared!, { schedule: { kind: 'random', seed: 1 } });
  const lines: string[] = [];
  const off = m.onEvent((e) => lines.push(...eventLines(m, e)));
  m.run(50000);
  off();
  const log = lines.join('\n');
  assert.match(log, /WARNING: CPU: 1 PID: \d+ at kernel\/smp\.c:\d+ __flush_smp_call_function_queue/);
  assert.match(log, /IPI on offline CPU 1/);
  assert.match(log, /IPI callback do_nothing\+0x0\/0x[0-9a-f]+ sent to offline CPU/);
});

describe('language server: kernel lines', () => {
  let client: Client;
  before(async () => {
    client = await Client.start();
  });
  after(async () => {
    if (client && client.proc.exitCode === null && client.proc.signalCode === null) {
      client.proc.kill('SIGKILL');
      await client.exited;
    }
  });

  test('accepts kernel linux-6.12 and rejects a kernel it does not have', async () => {
    const good = client.open(join(ROOT, 'examples', 'ipi-offline-race-6.12.smp'), 'smp');
    assert.deepEqual((await client.diagnostics(good)).diagnostics, []);
    const bad = client.open(join(ROOT, 'examples', 'lsp-kernel-9.smp'), 'smp', race('linux-9.99'));
    const p = await client.diagnostics(bad, (d) => d.length > 0);
    assert.ok(p.diagnostics.some((d) => d.range.start.line === 0 && /no kernel model at .*linux-9\.99/.test(d.message)), JSON.stringify(p.diagnostics));
  });
});
