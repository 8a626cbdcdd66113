/**
 * Every shipped example's verdict, as README's Examples table documents it: the exit
 * status of `smplab run`, which expectations pass and fail, and the events that show
 * the mechanism each example is there to show.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, smplab } from './helpers.js';

interface Verdict {
  exit: number;
  pass: RegExp[];
  fail: RegExp[];
  /** lines of the event log that must be there */
  shows: RegExp[];
  /** lines that must not be */
  never?: RegExp[];
}

const EXAMPLES: Record<string, Verdict> = {
  'ipi-offline-race.smp': {
    exit: 1,
    pass: [/expect no lost work/, /expect all requests completed/, /expect cpu 1 dead/],
    fail: [/expect no warning/],
    shows: [/\[001\] irq_vectors:call_function_single_entry: vector=251 \| online=0 queued=1/, /IPI on offline CPU 1/,
      /IPI callback trigger_softirq\+0x0\/0x[0-9a-f]+ sent to offline CPU/],
  },
  'ipi-offline-lost.smp': {
    exit: 1,
    pass: [/expect no warning/, /expect cpu 1 dead/],
    fail: [/expect no lost work .*trigger_softirq was still queued on CPU1/, /expect all requests completed .*never completed: req0/],
    shows: [/\[001\] smplab:lost_work: target=1 func=trigger_softirq/, /smplab:ipi_dropped: target=1/],
    never: [/WARNING/, /csd_function_entry: func=trigger_softirq/],
  },
  'ipi-offline-fixed.smp': {
    exit: 0,
    pass: [/expect no warning/, /expect no lost work/, /expect all requests completed/, /expect cpu 1 dead/,
      /expect count ipi-receive where cpu == 1 && online == 0 && queued == 0/],
    fail: [],
    shows: [/block:block_rq_complete/],
    never: [/WARNING|offline CPU/],
  },
  'patch2-only-latency.smp': {
    exit: 1,
    pass: [/expect no warning/],
    fail: [/expect no lost work/, /expect all requests completed/],
    shows: [/\[001\] smplab:lost_work: target=1 func=trigger_softirq/],
  },
  'ipi-offline-race-6.12.smp': {
    exit: 0,
    pass: [/expect no warning/, /expect no lost work/, /expect all requests completed/, /expect cpu 1 dead/,
      /expect count cpuhp-enter where ap == 1 && idx == CPUHP_AP_SMPCFD_DYING == 1/,
      /expect count ipi-receive where cpu == 1 && online == 0 && queued == 0 >= 1/],
    fail: [],
    shows: [/\[001\] cpuhp:cpuhp_enter: cpu: 0001 target: +\d+ step: +\d+ \(smpcfd_dying_cpu\)/,
      /\[001\] csd:csd_function_entry: func=__blk_mq_complete_request_remote/,
      /\[001\] irq_vectors:call_function_single_entry: vector=251 \| online=0 queued=0/,
      /\[002\] cpuhp:cpuhp_enter: cpu: 0001 target: +\d+ step: +\d+ \(takedown_cpu\)/, /block:block_rq_complete/],
    never: [/WARNING|offline CPU/],
  },
  'call-function-many.smp': {
    exit: 0,
    pass: [/expect no lost work/, /expect cpu 1 dead/, /expect count ipi-send >= 2/, /expect count csd-entry where func == do_nothing >= 2/],
    fail: [],
    shows: [/csd:csd_function_entry: func=do_nothing, csd=0x[0-9a-f]+/, /\[000\] ipi:ipi_send_cpumask: cpumask=[0-9a-f]+ callsite=smp_call_function_many\+/],
    never: [/ipi:ipi_send_cpu:/],
  },
};

test('every example in examples/ has a documented verdict here', () => {
  const files = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.smp')).sort();
  assert.deepEqual(files, Object.keys(EXAMPLES).sort());
});

for (const [file, want] of Object.entries(EXAMPLES)) {
  test(`${file}: exit ${want.exit}`, () => {
    const r = smplab('run', `examples/${file}`);
    assert.equal(r.code, want.exit, r.stdout.split('\n').slice(-8).join('\n') + r.stderr);
    const verdicts = r.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));
    for (const re of want.pass) assert.ok(verdicts.some((l) => l.startsWith('PASS') && re.test(l)), `no PASS ${re} in ${JSON.stringify(verdicts)}`);
    for (const re of want.fail) assert.ok(verdicts.some((l) => l.startsWith('FAIL') && re.test(l)), `no FAIL ${re} in ${JSON.stringify(verdicts)}`);
    assert.equal(verdicts.length, want.pass.length + want.fail.length, `unexpected verdicts: ${JSON.stringify(verdicts)}`);
    for (const re of want.shows) assert.match(r.stdout, re);
    for (const re of want.never ?? []) assert.doesNotMatch(r.stdout, re);
  });
}

test('ipi-offline-fixed.smp: patch 3 runs trigger_softirq on CPU 1 in its CPU_DYING flush, before the late IPI lands', () => {
  const log = smplab('run', 'examples/ipi-offline-fixed.smp').stdout.split('\n');
  const at = (re: RegExp) => log.findIndex((l) => re.test(l));
  const dying = at(/\[001\] smplab:cpu_notify: action=CPU_DYING target=1/);
  const flush = at(/\[001\] csd:csd_function_entry: func=trigger_softirq/);
  const lateIpi = at(/\[001\] irq_vectors:call_function_single_entry: vector=251 \| online=0 queued=0/);
  const dead = at(/smplab:cpu_dead: target=1/);
  assert.ok(dying >= 0 && flush > dying, `trigger_softirq (line ${flush}) runs after CPU_DYING (line ${dying})`);
  assert.ok(lateIpi > flush && dead > lateIpi, `the IPI (line ${lateIpi}) lands after the flush and before CPU 1 is dead (line ${dead})`);
  assert.equal(at(/\[001\] irq_vectors:call_function_single_entry: vector=251 \| online=1/), -1, 'the IPI must not reach CPU 1 while it is online');
  const json = smplab('run', 'examples/ipi-offline-fixed.smp', '--json').stdout.trim().split('\n').map((l) => JSON.parse(l));
  const entry = json.find((e) => e.event === 'csd-entry' && e.cpu === 1 && e.fields.func === 'trigger_softirq');
  assert.equal(entry?.function, 'flush_smp_call_function_queue');
});

test('ipi-offline-race.smp: the WARN prints as the kernel does, and its Call Trace names the stopper and the IPI path but never the sender', () => {
  const out = smplab('run', 'examples/ipi-offline-race.smp').stdout;
  // the report's lines all carry the step of its cut-here line
  const step = /^ +(\d+) \[001\] -+\[ cut here \]-+$/m.exec(out)?.[1];
  assert.ok(step, out);
  const at = new RegExp(String.raw`^ +${step} \[001\] `);
  const report = out.split('\n').filter((l) => at.test(l)).map((l) => l.replace(at, ''));
  const sizeOf = (fn: string) => new RegExp(String.raw`^ ${fn}\+0x[0-9a-f]+/0x[0-9a-f]+ kernel/[\w/]+\.c:\d+$`);
  assert.equal(report[0], '------------[ cut here ]------------');
  assert.match(report[1], /^WARNING: CPU: 1 PID: [1-9]\d* at kernel\/smp\.c:\d+ generic_smp_call_function_single_interrupt\+0x[0-9a-f]+\/0x[0-9a-f]+\(\)$/);
  assert.equal(report[2], 'IPI on offline CPU 1');
  assert.deepEqual(report.slice(3, 6), ['Modules linked in:', `CPU: 1 PID: ${/PID: (\d+)/.exec(report[1])![1]} Comm: migration/1`, 'Call Trace:']);
  const trace = report.slice(6, -1);
  assert.equal(trace[0], ' <IRQ>');
  assert.match(trace[1], sizeOf('generic_smp_call_function_single_interrupt'));
  assert.equal(trace[2], ' <EOI>');
  assert.match(trace[3], sizeOf('multi_cpu_stop'));
  assert.match(trace[4], sizeOf('cpu_stopper_thread'));
  assert.equal(report[report.length - 1], '---[ end trace 0000000000000001 ]---');
  // patch 1's point: the sender (CPU 0's disk interrupt) is nowhere in the receiver's backtrace
  for (const sender of ['generic_exec_single', 'smp_call_function_single_async', 'raise_blk_irq', 'blk_complete_request', '__scenario_irq']) {
    assert.ok(!trace.some((l) => l.includes(sender)), `${sender} in ${JSON.stringify(trace)}`);
  }
});
