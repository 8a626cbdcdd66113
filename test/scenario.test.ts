import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatDiagnostic } from '../src/kc/diagnostics.js';
import { prepareScenario } from '../src/scenario/build.js';
import { parseScenario } from '../src/scenario/scenario.js';

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

test('a patch that does not apply names the hunk', () => {
  // patch 3 is written against smp.kc with patch 1 applied; alone it cannot apply
  const { diagnostics } = prepareScenario('examples/p3.smp', 'kernel linux-3.15\npatch ipi-offline-v6/0003\ncpus 2\n');
  assert.equal(diagnostics.length, 1);
  assert.match(formatDiagnostic(diagnostics[0]), /^examples\/p3\.smp:2:7: error: patch ipi-offline-v6\/0003: hunk \d+ of \d+ \(@@ -\d+,\d+ \+\d+,\d+ @@\) does not apply to smp\.kc$/);
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
