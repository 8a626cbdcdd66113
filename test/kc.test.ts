import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatDiagnostic } from '../src/kc/diagnostics.js';
import { parseKc } from '../src/kc/parser.js';
import { ROOT, compile } from './helpers.js';

const MODEL_DIR = join(ROOT, 'models', 'linux-3.15');
const modelSources = () => readdirSync(MODEL_DIR).filter((f) => f.endsWith('.kc')).map((f) => ({ file: join(MODEL_DIR, f), text: readFileSync(join(MODEL_DIR, f), 'utf8') }));

test('the Linux 3.15 model compiles without diagnostics', () => {
  const r = compile(modelSources(), 4);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  assert.ok(r.program);
  for (const name of ['generic_exec_single', 'generic_smp_call_function_single_interrupt', 'multi_cpu_stop', '_cpu_down', 'take_cpu_down', 'blk_done_softirq', 'cpu_idle_loop']) {
    assert.ok(r.program.functionsByName.get(name)?.decl.body, `${name} is defined`);
  }
});

test('every model function says which kernel function it models', () => {
  const r = compile(modelSources(), 2);
  for (const f of r.program!.functions) {
    if (!f.decl.body || f.file === '<built-in>') continue;
    assert.match(f.decl.doc ?? '', /models |not a kernel function/, `${f.name} in ${f.file} has a "models ..." comment`);
  }
});

test('syntax errors are diagnostics with file, line and column', () => {
  const r = compile('int f(void)\n{\n\treturn 1 +;\n}\n');
  assert.equal(r.program, undefined);
  assert.equal(formatDiagnostic(r.diagnostics[0]), "test.kc:3:12: error: expected an expression but found ';'");
});

test('name errors say what is missing and where', () => {
  const r = compile('struct s { int a; };\nint f(struct s *p)\n{\n\treturn p->b + nosuch;\n}\n');
  const text = r.diagnostics.map(formatDiagnostic);
  assert.ok(text.some((t) => t.startsWith('test.kc:4:12: error: struct s has no field \'b\'')), text.join('\n'));
});

test('a per-CPU variable must go through per_cpu() or this_cpu_ptr()', () => {
  const r = compile('DEFINE_PER_CPU(int, x);\nint f(void) { return x; }\n');
  assert.match(formatDiagnostic(r.diagnostics[0]), /test\.kc:2:22: error: 'x' is a per-CPU variable/);
});

test('goto and function-like macros are refused with a reason', () => {
  const r1 = compile('void f(void) { goto out; }');
  assert.match(r1.diagnostics[0].message, /'goto' is not supported/);
  const r2 = compile('#define F(x) (x)\n');
  assert.match(r2.diagnostics[0].message, /function-like macro/);
});

test('model calls inside && are evaluated lazily', () => {
  // g() must not run when the left side is false: the compiled code branches around it
  const r = compile('int n;\nint g(void) { n = n + 1; return 1; }\nint f(int a) { return a && g(); }\n');
  assert.deepEqual(r.diagnostics, []);
  const f = r.program!.functionsByName.get('f')!;
  assert.ok(f.code.some((i) => i.kind === 'cond'), 'a branch guards the call');
  assert.ok(f.code.some((i) => i.kind === 'call'), 'the call is its own step');
});

// --- fuzzing: bad input is always a diagnostic, never an exception

test('the KC parser and compiler survive random text', () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => {
    const r = compile(text);
    for (const d of r.diagnostics) assert.ok(d.range.start.line >= 1 && d.range.start.col >= 1);
  }), { numRuns: 300 });
});

test('the KC parser and compiler survive mutated model files', () => {
  const sources = modelSources();
  const smp = sources.find((s) => s.file.endsWith('smp.kc'))!.text;
  const tokens = ['{', '}', '(', ')', ';', '*', '->', 'struct', 'int', 'while', '#define X', '"', '/*', 'per_cpu(', ',', '=', 'case 1:', 'return'];
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.nat(smp.length), fc.nat(40), fc.constantFrom(...tokens)), { minLength: 1, maxLength: 4 }),
    (edits) => {
      let text = smp;
      for (const [at, del, ins] of edits) text = text.slice(0, at % text.length) + ins + text.slice((at % text.length) + del);
      const r = compile([...sources.filter((s) => !s.file.endsWith('smp.kc')), { file: 'smp.kc', text }], 2);
      for (const d of r.diagnostics) assert.equal(typeof d.message, 'string');
    },
  ), { numRuns: 60 });
});

test('parseKc keeps going after an error and reports several', () => {
  const r = parseKc('t.kc', 'int a = ;\nint b = ;\nint c;\n');
  assert.equal(r.diagnostics.length, 2);
  assert.equal(r.file.items.filter((i) => i.kind === 'global').length, 1);
});
