/**
 * `smplab run --ftrace-out`: the run's events as the kernel's trace file
 * prints them, so kernel developers' scripts and eyes read it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MachineEvent } from '../src/machine/events.js';
import { ftraceText } from '../src/machine/trace.js';
import { loadScenarioFile, startRun } from '../src/scenario/build.js';
import { ROOT, smplab } from './helpers.js';

/** A line of the trace file, latency format: `<task>-<pid> [cpu] flags timestamp: event: payload`. */
const LINE = /^ *(?<comm>\S.{0,15})-(?<pid>\d+) +\[(?<cpu>\d{3})\] (?<flags>[d.][N.][Hhs.][0-9a-f.]) +(?<ts>\d+\.\d{6}): (?<event>[\w:]+): (?<payload>.*)$/;

function exportRace(): string {
  const out = join(mkdtempSync(join(tmpdir(), 'smplab-ftrace-')), 'run.txt');
  const r = smplab('run', 'examples/ipi-offline-race.smp', '--quiet', '--ftrace-out', out);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, '');
  return readFileSync(out, 'utf8');
}

test('the race example as ftrace text: the header, and every line in the trace file\'s format', () => {
  const text = exportRace();
  const lines = text.trimEnd().split('\n');
  const header = lines.filter((l) => l.startsWith('#'));
  const body = lines.filter((l) => !l.startsWith('#'));
  assert.equal(header[0], '# tracer: nop');
  assert.equal(header[2], `# entries-in-buffer/entries-written: ${body.length}/${body.length}   #P:3`);
  assert.ok(header.some((l) => /_-----=> irqs-off/.test(l)) && header.some((l) => /TASK-PID +CPU# +\|\|\|\| +TIMESTAMP +FUNCTION/.test(l)));
  assert.ok(body.length > 30);
  let last = -1;
  for (const l of body) {
    const m = LINE.exec(l);
    assert.ok(m, `not a trace line: ${JSON.stringify(l)}`);
    const ts = Number(m.groups!.ts);
    assert.ok(ts >= last, `timestamps go forward: ${l}`);
    last = ts;
    if (m.groups!.pid === '0') assert.equal(m.groups!.comm.trim(), '<idle>');
  }
});

test('the race example as ftrace text: the tracepoints come in the kernel\'s order, each on its CPU, in its context', () => {
  const body = exportRace().split('\n').filter((l) => l && !l.startsWith('#'));
  const find = (re: RegExp, from = 0) => {
    const i = body.findIndex((l, k) => k >= from && re.test(l));
    assert.ok(i >= 0, `no line ${re} after line ${from}`);
    return i;
  };
  const queue = find(/\[000\] d\.h.  +\S+: csd_queue_cpu: cpu=1 callsite=generic_exec_single\+0x[0-9a-f]+\/0x[0-9a-f]+ func=trigger_softirq csd=0x[0-9a-f]+$/);
  const send = find(/\[000\] d\.h.  +\S+: ipi_send_cpu: cpu=1 callsite=generic_exec_single\+0x[0-9a-f]+\/0x[0-9a-f]+ callback=generic_smp_call_function_single_interrupt\+0x0\/0x[0-9a-f]+$/);
  const offline = find(/migration\/1-\d+ +\[001\] d\.\.1 .*: smplab:cpu_offline: target=1$/);
  const entry = find(/migration\/1-\d+ +\[001\] d\.h1 .*: call_function_single_entry: vector=251$/);
  const warn = find(/\[001\] d\.h. .*: smplab:warn: generic_smp_call_function_single_interrupt: IPI on offline CPU 1$/);
  const func = find(/\[001\] d\.h. .*: csd_function_entry: func=trigger_softirq, csd=0x[0-9a-f]+$/);
  const exit = find(/\[001\] d\.h. .*: call_function_single_exit: vector=251$/);
  const softirq = find(/\[001\] \.\.s. .*: softirq_entry: vec=4 \[action=BLOCK\]$/);
  const complete = find(/\[001\] \.\.s. .*: block_rq_complete: 0,0 N \(\) 0 \+ 0 \[0\]$/);
  assert.ok(queue < send, 'the csd is queued before the IPI is sent');
  assert.ok(send < offline && offline < entry, 'the IPI is sent while CPU 1 is online and taken after it went offline');
  assert.ok(entry < warn && warn < func, 'the handler warns, then runs the callback');
  assert.ok(func < exit && exit < softirq && softirq < complete, 'the callback raises BLOCK_SOFTIRQ, which completes the request after the IPI');
  assert.match(body[0], /^ +<idle>-0 +\[002\] \S{4} +0\.000003: sched_switch: prev_comm=swapper\/2 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=scenario\/\d+ next_pid=\d+ next_prio=120$/);
  assert.ok(!body.some((l) => /: ipi:|: csd:|: irq:|: sched:/.test(l)), 'kernel tracepoints print without their system, as the kernel does');
});

test('ftraceText is the same text from the engine, for any list of events, and counts only the lines it prints', () => {
  const { prepared } = loadScenarioFile(join(ROOT, 'examples', 'call-function-many.smp'));
  const m = startRun(prepared!);
  const events: MachineEvent[] = [];
  m.onEvent((e) => events.push(e));
  m.run(1000000);
  const text = ftraceText(m, events);
  const body = text.split('\n').filter((l) => l && !l.startsWith('#'));
  assert.match(text, new RegExp(`entries-written: ${body.length}/${body.length}   #P:4\n`));
  // a mask send is one line, though every CPU it names has its ipi-send event
  assert.equal(body.filter((l) => /: ipi_send_cpumask: cpumask=[0-9a-f]+ callsite=smp_call_function_many\+/.test(l)).length, 1);
  assert.equal(body.filter((l) => /: ipi_send_cpu: /.test(l)).length, 0);
  assert.ok(events.filter((e) => e.kind === 'ipi-send' && e.fields.mask === 1).length >= 2);
  for (const l of body) assert.match(l, LINE);
  assert.equal(ftraceText(m, []).split('\n').filter((l) => l && !l.startsWith('#')).length, 0);
});

test('--ftrace-out to a place that cannot be written is an error that names it; the run is still reported', () => {
  const r = smplab('run', 'examples/ipi-offline-race.smp', '--quiet', '--ftrace-out', join(tmpdir(), 'no-such-dir-smplab', 'run.txt'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^smplab: cannot write .*no-such-dir-smplab.run\.txt: ENOENT\n$/);
  assert.match(r.stdout, /^FAIL  expect no warning/m);
  const missing = smplab('run', 'examples/ipi-offline-race.smp', '--ftrace-out');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--ftrace-out needs a value/);
});
