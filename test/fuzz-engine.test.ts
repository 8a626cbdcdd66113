/**
 * Fuzzing the engine as the command line, the debugger and the language
 * server use it: random but scenario-shaped `.smp` text, and random KC added
 * to a copy of the Linux 3.15 model, through the loader, the compiler and a
 * run with a small step budget. Whatever the input, the answer is
 * diagnostics or a verdict: never an exception, never a message with a
 * JavaScript value in it, never a position outside the file.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { Diagnostic, formatDiagnostic } from '../src/kc/diagnostics.js';
import { EVENT_KINDS } from '../src/machine/events.js';
import { loadScenarioFile, prepareScenario } from '../src/scenario/build.js';
import { runScenario } from '../src/scenario/run.js';
import { ROOT } from './helpers.js';

/** Steps each run may take: enough to boot into the scenario and go some way, small enough for hundreds of runs. */
const STEP_BUDGET = 3000;
const STOP_KINDS = new Set(['done', 'budget', 'fault', 'deadlock', 'bug']);
/** A check of one small file that takes longer than this hangs: they take well under a second. */
const HANG_MS = 20000;

/** A diagnostic a person can act on: a message in words, at a place in the file (or an option). */
function assertWellFormed(d: Diagnostic, lines: number, file: string): void {
  const text = formatDiagnostic(d);
  assert.ok(d.severity === 'error' || d.severity === 'warning', text);
  assert.ok(d.message.length > 0, text);
  assert.doesNotMatch(d.message, /undefined|NaN|\[object |RangeError|TypeError|Maximum call stack/, text);
  if (d.option) return;
  assert.ok(d.range.start.line >= 1 && d.range.start.col >= 1, text);
  if (d.range.file === file) assert.ok(d.range.start.line <= lines, `${text} (the file has ${lines} lines)`);
}

/** Checks, runs and judges a scenario; asserts that every answer is diagnostics or a verdict. */
function checkAndRun(file: string, text: string): 'diagnostics' | 'verdict' {
  const { prepared, diagnostics } = prepareScenario(file, text, { maxSteps: STEP_BUDGET });
  const lines = text.split('\n').length;
  for (const d of diagnostics) assertWellFormed(d, lines, file);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  assert.equal(!prepared, errors.length > 0, diagnostics.map(formatDiagnostic).join('\n'));
  if (!prepared) return 'diagnostics';
  const r = runScenario(prepared);
  assert.ok(STOP_KINDS.has(r.stop.kind), JSON.stringify(r.stop));
  assert.ok(r.steps <= STEP_BUDGET);
  for (const v of r.verdicts) {
    assert.equal(typeof v.ok, 'boolean');
    assert.doesNotMatch(v.detail, /undefined|NaN|\[object /, v.detail);
  }
  if (r.stop.kind === 'fault') assert.doesNotMatch(r.stop.message, /undefined|NaN|\[object /);
  return 'verdict';
}

// ---- pieces of scenarios

const number = fc.oneof(
  { weight: 6, arbitrary: fc.nat(12).map(String) },
  { weight: 2, arbitrary: fc.nat(5000).map(String) },
  { weight: 2, arbitrary: fc.constantFrom('99999999999', '4294967295', '4294967296', '2147483648', '1000000000', '1000000001', '0x40000000', '0xffffffff', '99999999999999999999', '-1', '1e3', '') },
);
const cpuNumber = fc.oneof({ weight: 8, arbitrary: fc.nat(4).map(String) }, { weight: 1, arbitrary: number });
const steps = fc.oneof(number, fc.tuple(number, number).map(([a, b]) => `${a}..${b}`));
const objectName = fc.constantFrom('req0', 'req1', 'cpu_down', 'NR_CPUS', 'do_nothing', 'call_single_queue', 'printk', 'x y');
const fieldName = fc.constantFrom('cpu', ...new Set(Object.values(EVENT_KINDS).flatMap((k) => k.fields)));
const eventName = fc.constantFrom(...Object.keys(EVENT_KINDS), 'nosuch-event');
const constant = fc.constantFrom('CPU_DYING', 'CPU_DOWN_PREPARE', 'MULTI_STOP_DISABLE_IRQ', 'EBUSY', 'NR_CPUS', 'trigger_softirq', 'generic_exec_single', 'nosuch');

/** Expressions of a given flavour; one in `deepOdds` nests very deeply or is a very long chain. */
function expression(atom: fc.Arbitrary<string>, deepOdds = 10): fc.Arbitrary<string> {
  const { expr } = fc.letrec<{ expr: string }>((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      atom,
      fc.tuple(tie('expr'), fc.constantFrom('+', '-', '*', '/', '%', '==', '!=', '<', '>=', '&&', '||', '&', '|', '<<', '>>'), tie('expr')).map(([a, op, b]) => `${a} ${op} ${b}`),
      tie('expr').map((a) => `(${a})`),
      tie('expr').map((a) => `!${a}`),
      fc.tuple(tie('expr'), tie('expr'), tie('expr')).map(([a, b, c]) => `${a} ? ${b} : ${c}`),
    ),
  }));
  if (!deepOdds) return expr;
  return fc.oneof(
    { weight: deepOdds - 1, arbitrary: expr },
    fc.tuple(fc.integer({ min: 200, max: 3000 }), atom).map(([n, a]) => `${'('.repeat(n)}${a}${')'.repeat(n)}`),
    fc.tuple(fc.integer({ min: 100, max: 3000 }), atom).map(([n, a]) => Array(n).fill(a).join(' + ')),
  );
}

const argument = fc.oneof(number, fc.constantFrom('&req0', '&req1', '"one"', 'NULL', 'cpu_down', '&nosuch'), expression(number));
const call = fc.tuple(
  fc.constantFrom('cpu_down', 'blk_complete_request', 'smp_call_function_single', 'kick_all_cpus_sync', 'printk', 'do_nothing', 'nosuch_fn', 'cpu_relax'),
  fc.array(argument, { maxLength: 5 }),
).map(([f, args]) => `${f}(${args.join(', ')})`);
const body = fc.oneof(
  { weight: 6, arbitrary: call },
  { weight: 1, arbitrary: fc.tuple(expression(fc.oneof(number, constant)), call).map(([c, k]) => `while (${c}) { ${k}; }`) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 200, max: 2000 }), call).map(([n, k]) => `${'{'.repeat(n)}${k};${'}'.repeat(n)}`) },
);
const condition = expression(fc.oneof(fieldName, constant, number));

const scenarioLine: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('kernel linux-3.15', 'kernel linux-9.99', 'kernel ./nowhere', 'kernel'),
  fc.constantFrom('ipi-offline-v6/0001', 'ipi-offline-v6/0002', 'ipi-offline-v6/0003', 'later/0001', 'nope/1', 'x.patch').map((p) => `patch ${p}`),
  fc.oneof(cpuNumber, number).map((n) => `cpus ${n}`),
  steps.map((r) => `ipi-latency ${r}`),
  fc.oneof(fc.array(cpuNumber, { maxLength: 4 }).map((l) => l.join(',')), fc.tuple(cpuNumber, cpuNumber).map(([a, b]) => `${a}-${b}`), fc.string({ maxLength: 8 }))
    .map((l) => `shared-cache ${l}`),
  fc.oneof(number, fc.string({ maxLength: 4 })).map((n) => `rq-affinity ${n}`),
  fc.tuple(objectName, fc.option(cpuNumber)).map(([n, c]) => `struct request ${n}${c === null ? '' : ` = { .cpu = ${c} }`}`),
  fc.tuple(fc.option(fc.constantFrom('down', 'up', 'cpu', 'a-b', 'down')), cpuNumber, body).map(([name, c, b]) => `${name === null ? '' : `task ${name}: `}cpu ${c} runs ${b}`),
  fc.tuple(cpuNumber, fc.oneof(
    number.map((k) => `at step ${k}`),
    fc.constant('at any step'),
    steps.map((r) => `at any step in ${r}`),
    fc.tuple(eventName, fc.option(condition)).map(([e, c]) => `after ${e}${c === null ? '' : ` where ${c}`}`),
  ), call).map(([c, when, k]) => `irq disk on cpu ${c} ${when}: ${k}`),
  fc.oneof(fc.constant('schedule round-robin'), number.map((n) => `schedule random seed ${n}`), fc.array(cpuNumber, { minLength: 1, maxLength: 6 }).map((l) => `schedule ${l.join(',')}`)),
  number.map((n) => `max-steps ${n}`),
  fc.oneof(
    fc.constantFrom('expect no warning', 'expect no lost work', 'expect all requests completed', 'expect sunshine'),
    fc.tuple(cpuNumber, fc.constantFrom('dead', 'offline', 'online', 'asleep')).map(([c, s]) => `expect cpu ${c} ${s}`),
    fc.tuple(eventName, fc.option(condition), fc.constantFrom('==', '>=', '<', '!='), number).map(([e, c, op, n]) => `expect count ${e}${c === null ? '' : ` where ${c}`} ${op} ${n}`),
    fc.tuple(fc.constantFrom('down', 'up', 'cpu'), expression(fc.oneof(constant, number).map((x) => (x === 'EBUSY' ? '-EBUSY' : x)))).map(([t, v]) => `expect ${t} returns ${v}`),
  ),
  fc.string({ maxLength: 40 }),
);

/** Lines that are right, with numbers in range, so that scenarios get as far as a run. */
const smallCpu = fc.nat(2).map(String);
const goodCall = fc.oneof(
  smallCpu.map((c) => `cpu_down(${c})`),
  fc.constant('blk_complete_request(&req0)'),
  fc.constant('kick_all_cpus_sync()'),
  smallCpu.map((c) => `smp_call_function_single(${c}, do_nothing, NULL, 1)`),
  fc.nat(1000).map((n) => `printk("%d\\n", ${n})`),
);
/** A condition over `cpu`, which every event has. */
const goodCondition = fc.oneof(
  fc.constant('cpu == 1'), fc.constant('cpu == 0 || cpu == 2'), fc.constant('(cpu + 1) / 2 >= 1'),
  fc.integer({ min: 1, max: 240 }).map((n) => `${'('.repeat(n)}cpu >= 0${')'.repeat(n)}`),
);
const goodTask = fc.tuple(fc.boolean(), smallCpu, goodCall);
const goodLine = fc.oneof(
  fc.tuple(smallCpu, fc.oneof(
    fc.nat(3000).map((k) => `at step ${k}`),
    fc.tuple(fc.nat(500), fc.nat(500)).map(([a, b]) => `at any step in ${Math.min(a, b)}..${Math.max(a, b)}`),
    fc.tuple(fc.constantFrom('ipi-send', 'csd-queue', 'cpu-offline', 'cpu-dead'), fc.option(goodCondition)).map(([e, c]) => `after ${e}${c === null ? '' : ` where ${c}`}`),
  ), goodCall).map(([c, when, k]) => `irq disk on cpu ${c} ${when}: ${k}`),
  fc.constantFrom('ipi-latency 0..40', 'ipi-latency 3', 'patch ipi-offline-v6/0001', 'schedule random seed 7', 'schedule 0,1,2,2,1', 'max-steps 2000'),
  fc.constantFrom('shared-cache 0-2', 'shared-cache 0,1', 'rq-affinity 0', 'rq-affinity 1', 'rq-affinity 2'),
  fc.constantFrom('expect no warning', 'expect no lost work', 'expect all requests completed', 'expect cpu 1 dead'),
  fc.tuple(fc.constantFrom('ipi-send', 'csd-entry', 'cpuhp'), goodCondition).map(([e, c]) => `expect count ${e} where ${c} >= 0`),
);

/** Mostly right scenarios (tasks, some named, with their return values expected) with a wild line now and then; and wholly wild ones. */
const scenario = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.array(goodTask, { minLength: 1, maxLength: 4 }), fc.array(goodLine, { maxLength: 6 }), fc.array(scenarioLine, { maxLength: 1 }))
    .map(([tasks, good, wild]) => [
      'kernel linux-3.15', 'cpus 3', 'struct request req0 = { .cpu = 1 }',
      ...tasks.map(([named, c, k], i) => `${named ? `task t${i}: ` : ''}cpu ${c} runs ${k}`),
      // blk_complete_request() and kick_all_cpus_sync() return nothing to expect
      ...tasks.flatMap(([named, , k], i) => (named && !/^(kick|blk)/.test(k) ? [`expect t${i} returns ${k.startsWith('cpu_down') ? '-EBUSY' : '0'}`] : [])),
      ...good.filter((l, i) => !/^(ipi-latency|schedule|max-steps|patch|shared-cache|rq-affinity) /.test(l) || good.findIndex((m) => m.split(' ')[0] === l.split(' ')[0]) === i),
      ...wild,
    ].join('\n') + '\n') },
  { weight: 1, arbitrary: fc.tuple(fc.boolean(), fc.constantFrom(1, 2, 3, 4, 8, 256), fc.array(scenarioLine, { minLength: 1, maxLength: 12 }))
    .map(([usual, cpus, lines]) => (usual ? [`kernel linux-3.15`, `cpus ${cpus}`, ...lines] : lines).join('\n') + '\n') },
);

test('fuzz: random scenario-shaped .smp text through load, compile and a run', (t) => {
  const tally = { diagnostics: 0, verdict: 0 };
  let cases = 0;
  fc.assert(fc.property(scenario, (text) => {
    cases++;
    tally[checkAndRun(join(ROOT, 'examples', 'fuzz.smp'), text)]++;
  }), { numRuns: 300, seed: 20240, includeErrorInReport: true });
  t.diagnostic(`${cases} scenarios: ${tally.diagnostics} answered with diagnostics, ${tally.verdict} ran to a verdict; 0 exceptions`);
  assert.ok(tally.verdict > 100, 'enough cases get as far as a run');
});

// ---- pieces of KC

const kcNumber = fc.oneof(
  { weight: 60, arbitrary: fc.nat(9).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0x7fffffff', '0xffffffff', '4294967296', '99999999999999999999', '0x40000000', '017', '09', '1U', '2147483648') },
);
const lvalue = fc.constantFrom('g', 'x', 'arr[x]', 'arr[5]', 'sv.a', 'sp->a', '*p', 'per_cpu(pc, x)');
// deep expressions come from kcDeepStatement, one per file at most
const kcExpr = expression(fc.oneof(kcNumber, lvalue, fc.constantFrom('NR_CPUS', 'D0', 'fuzz_leaf(x)', 'cpu_online(x)', 'smp_processor_id()', 'sizeof(struct s)')), 0);
const { stmt: kcStatement } = fc.letrec<{ stmt: string }>((tie) => ({
  stmt: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(lvalue, fc.constantFrom('=', '+=', '-=', '|=', '<<=', '/='), kcExpr).map(([l, op, e]) => `${l} ${op} ${e};`),
    kcExpr.map((e) => `if (${e}) return ${e};`),
    fc.tuple(kcExpr, tie('stmt'), tie('stmt')).map(([c, a, b]) => `if (${c}) { ${a} } else { ${b} }`),
    fc.tuple(kcExpr, tie('stmt')).map(([c, a]) => `while (${c}) { ${a} }`),
    fc.tuple(kcExpr, tie('stmt')).map(([c, a]) => `for (x = 0; x < ${c}; x++) ${a}`),
    fc.tuple(kcExpr, tie('stmt')).map(([c, a]) => `switch (${c}) { case 1: ${a} break; default: break; }`),
    fc.constantFrom('printk("%d\\n", g);', 'WARN_ON(g == 3);', 'cpu_relax();', 'return g;', 'break;', 'x = fuzz_leaf(x);', 'BUG_ON(x > 100);', 'p = NULL;'),
  ),
}));
const kcDeepStatement = fc.oneof(
  fc.integer({ min: 200, max: 12000 }).map((n) => `${'{'.repeat(n)}g++;${'}'.repeat(n)}`),
  fc.integer({ min: 200, max: 12000 }).map((n) => `if (x == 0) g = 0;${Array.from({ length: n }, (_, i) => ` else if (x == ${i}) g = ${i};`).join('')}`),
  fc.integer({ min: 100, max: 4000 }).map((n) => `g = ${Array(n).fill('x').join(' + ')};`),
  fc.integer({ min: 200, max: 3000 }).map((n) => `g = ${'-'.repeat(n)}x;`),
);
const kcTopLevel = fc.oneof(
  kcNumber.map((n) => `int big${n.replace(/\W/g, '_')}[${n}];`),
  fc.integer({ min: 1, max: 12000 }).map((n) => `${Array.from({ length: n }, (_, i) => `#define C${i} C${i + 1}`).join('\n')}\n#define C${n} 1`),
  fc.integer({ min: 1, max: 3000 }).map((n) => `${Array.from({ length: n }, (_, i) => `typedef ${i ? `T${i - 1}` : 'int'} T${i};`).join('\n')}\nT${n - 1} tv;`),
  fc.integer({ min: 1, max: 40 }).map((n) => `void ${'(*'.repeat(n)}fp${')'.repeat(n)}(void);`),
  // long flat input: the same few tokens thousands of times
  fc.tuple(fc.constantFrom('typedef ', 'struct a ', '{', '(', 'x ', ';', '/* c */ int f(void);\n', '#define Q 1\n', 'enum { '), fc.integer({ min: 1000, max: 30000 }))
    .map(([piece, n]) => piece.repeat(n)),
  fc.string({ maxLength: 60 }),
);

/** A file added to the model: a few globals, a leaf function and a function the scenario's task calls. */
const kcFile = fc.tuple(
  fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(kcTopLevel, { maxLength: 2 }) }),
  fc.array(kcStatement, { minLength: 1, maxLength: 6 }),
  fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: kcDeepStatement }),
)
  .map(([tops, stmts, deep]) => [
    'struct s { int a; };',
    'int g; int arr[8]; struct s sv; struct s *sp = &sv; int *p;',
    'DEFINE_PER_CPU(int, pc);',
    '#define D0 (NR_CPUS + 1)',
    ...tops,
    'int fuzz_leaf(int v) { return v + 1; }',
    'int fuzz_main(int x)',
    '{',
    ...stmts,
    ...(deep === null ? [] : [deep]),
    '\treturn 0;',
    '}',
  ].join('\n') + '\n');

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'smplab-fuzz-kc-'));
  cpSync(join(ROOT, 'models', 'linux-3.15'), join(dir, 'model'), { recursive: true });
  writeFileSync(join(dir, 'fuzz.smp'), 'kernel ./model\ncpus 3\ncpu 1 runs fuzz_main(2)\ncpu 2 runs cpu_down(1)\nexpect no warning\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('fuzz: random KC (deep nesting, long chains, huge literals) compiled into the model and run', (t) => {
  const tally = { diagnostics: 0, verdict: 0 };
  let cases = 0;
  fc.assert(fc.property(kcFile, (text) => {
    cases++;
    writeFileSync(join(dir, 'model', 'zz-fuzz.kc'), text);
    const file = join(dir, 'fuzz.smp');
    const started = performance.now();
    const { prepared, diagnostics } = loadScenarioFile(file, { maxSteps: STEP_BUDGET });
    // not a benchmark: a check that takes this long on a small file is one that hangs (30,000 typedefs took 47 s)
    assert.ok(performance.now() - started < HANG_MS, `checking took ${performance.now() - started} ms`);
    const lines = text.split('\n').length;
    for (const d of diagnostics) assertWellFormed(d, d.range.file.endsWith('zz-fuzz.kc') ? lines : Infinity, d.range.file);
    if (!prepared) {
      tally.diagnostics++;
      return;
    }
    tally.verdict++;
    const r = runScenario(prepared);
    assert.ok(STOP_KINDS.has(r.stop.kind), JSON.stringify(r.stop));
    if (r.stop.kind === 'fault') assert.doesNotMatch(r.stop.message, /undefined|NaN|\[object /);
  }), { numRuns: 150, seed: 4711, includeErrorInReport: true });
  t.diagnostic(`${cases} KC files: ${tally.diagnostics} answered with diagnostics, ${tally.verdict} compiled and ran; 0 exceptions`);
  assert.ok(tally.verdict > 40, 'enough cases compile and run');
});
