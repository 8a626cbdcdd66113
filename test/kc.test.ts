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

// --- deep and long input: a located diagnostic, never a stack overflow

const NESTING = /nesting deeper than 256 levels/;

/** Compiles `text` as one more file of a small program and returns its formatted diagnostics. */
function diagnosticsOf(text: string): string[] {
  return compile(text).diagnostics.map(formatDiagnostic);
}

test('2,000 nested parentheses are one error where the nesting passes 256 levels', () => {
  const text = `int f(void)\n{\n\treturn ${'('.repeat(2000)}1${')'.repeat(2000)};\n}\nint g(void) { return f(); }\n`;
  const d = diagnosticsOf(text);
  // the return statement is the first level, so the 256th parenthesis (column 9 + 255) is the 257th
  assert.deepEqual(d, [`test.kc:3:${9 + 255}: error: nesting deeper than 256 levels: split this into smaller expressions, statements or functions`]);
});

test('nesting up to the limit compiles and runs', () => {
  const parens = `int f(void) { return ${'('.repeat(250)}7${')'.repeat(250)}; }\n`;
  const blocks = `int g(void) { int x = 1; ${'{'.repeat(250)}x = 2;${'}'.repeat(250)} return x; }\n`;
  const r = compile(parens + blocks);
  assert.deepEqual(r.diagnostics, []);
  assert.ok(r.program?.functionsByName.get('g')?.code.length);
});

test('a 3,000-term sum, 10,000 nested blocks and 10,000 else ifs are each one error', () => {
  const sum = diagnosticsOf(`int f(void) { return ${Array(3000).fill('1').join(' + ')}; }\n`);
  assert.equal(sum.length, 1);
  assert.match(sum[0], NESTING);
  const blocks = diagnosticsOf(`void f(void) ${'{'.repeat(10000)}${'}'.repeat(10000)}\nint h(void) { return 1; }\n`);
  assert.deepEqual(blocks, [`test.kc:1:${14 + 257}: error: nesting deeper than 256 levels: split this into smaller expressions, statements or functions`]);
  const elseIfs = Array.from({ length: 10000 }, (_, i) => `\telse if (x == ${i}) return ${i};`).join('\n');
  const chain = diagnosticsOf(`int f(int x)\n{\n\tif (x < 0) return 0;\n${elseIfs}\n\treturn -1;\n}\nint h(void) { return f(3); }\n`);
  assert.equal(chain.length, 1, chain.slice(0, 3).join('\n'));
  // the if is the first level and each else if one more: the condition of the 254th else if (line 257) passes 256
  assert.match(chain[0], /^test\.kc:257:16: error: nesting deeper than 256 levels/);
});

test('a function nested too deeply stays declared, so its callers get no second error', () => {
  const d = diagnosticsOf(`int f(void) { return ${'-'.repeat(5000)}1; }\nint caller(void) { return f(); }\n`);
  assert.equal(d.length, 1);
  assert.match(d[0], NESTING);
});

test('chains of 10,000 #defines, typedefs and structs', () => {
  // in the order they are used, each #define is a constant by the time the next one needs it
  const forward = `#define D0 1\n${Array.from({ length: 9999 }, (_, i) => `#define D${i + 1} (D${i} + 1)`).join('\n')}\nint f(void) { return D9999; }\n`;
  const r = compile(forward);
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.program!.constants.get('D9999'), 10000);
  // the other way round, D0 would have to be expanded through all of them
  const backward = `int g0;\n${Array.from({ length: 10000 }, (_, i) => `#define D${i} D${i + 1}`).join('\n')}\n#define D10000 g0\nint f(void) { return D0; }\n`;
  const b = diagnosticsOf(backward);
  assert.equal(b.length, 1, b.slice(0, 3).join('\n'));
  assert.match(b[0], /nesting deeper than 256 levels once #defines, typedefs and structs are followed/);
  const typedefs = diagnosticsOf(`typedef int T0;\n${Array.from({ length: 9999 }, (_, i) => `typedef T${i} T${i + 1};`).join('\n')}\nT9999 v;\n`);
  assert.equal(typedefs.length, 1);
  assert.match(typedefs[0], /once #defines, typedefs and structs are followed/);
  const structs = diagnosticsOf(`${Array.from({ length: 3000 }, (_, i) => `struct s${i} { struct s${i + 1} inner; };`).join('\n')}\nstruct s3000 { int x; };\n`);
  assert.equal(structs.length, 1);
  assert.match(structs[0], /once #defines, typedefs and structs are followed/);
});

test('long declarators: 10,000 pointer stars are an error; nested function pointers parse in linear time', () => {
  assert.match(diagnosticsOf(`int ${'*'.repeat(10000)}p;\n`)[0], NESTING);
  const depth = 100;
  const text = `void ${'(*'.repeat(depth)}f${')'.repeat(depth)}(void);\n`;
  const started = performance.now();
  const r = parseKc('t.kc', text);
  assert.deepEqual(r.diagnostics, []);
  const fn = r.file.items[0];
  assert.ok(fn.kind === 'global' && fn.name === 'f');
  let t = fn.type;
  let pointers = 0;
  while (t.kind === 'pointer') {
    pointers++;
    t = t.to;
  }
  assert.equal(pointers, depth);
  assert.equal(t.kind, 'func');
  // a thousandth of the time the old parser took for 24 levels
  assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`);
});

test('10,000 nested initialiser braces are one error, and the next declaration is read', () => {
  const d = diagnosticsOf(`int a[1] = ${'{'.repeat(10000)}1${'}'.repeat(10000)};\nint b = nosuch;\n`);
  assert.equal(d.length, 2, d.join('\n'));
  assert.match(d[0], NESTING);
  assert.match(d[1], /^test\.kc:2:9: error: 'nosuch' is not a constant/);
});

// --- numbers and memory the machine cannot hold

test('a literal beyond 32 bits is an error; 0xffffffff is -1 in a cell', () => {
  assert.deepEqual(diagnosticsOf('int a = 99999999999;\n'), ['test.kc:1:9: error: 99999999999 does not fit in a 32-bit cell (at most 4294967295, or 0xffffffff)']);
  assert.match(diagnosticsOf('int a = 0x100000000;\n')[0], /0x100000000 does not fit in a 32-bit cell/);
  const r = compile('int a = 0xffffffff;\nint b = 4294967295U;\n');
  assert.deepEqual(r.diagnostics, []);
  const data = r.program!.initialData;
  const valueOf = (name: string) => data[data.indexOf(r.program!.globals.get(name)!.addr) + 1];
  assert.equal(valueOf('a'), -1);
  assert.equal(valueOf('b'), -1);
});

test('arrays and globals larger than the memory for variables are errors with the cap', () => {
  assert.deepEqual(diagnosticsOf('int a[0x40000000][4];\n'), ["test.kc:1:5: error: an array of 1073741824 × 4 cells is larger than the model's variables may take (4194304 cells)"]);
  const two = diagnosticsOf('int a[3000000];\nint b[3000000];\n');
  assert.equal(two.length, 1);
  assert.match(two[0], /^test\.kc:2:5: error: 'b' \(3000000 cells\) does not fit: the model's variables may take at most 4194304 cells, and \d+ are taken$/);
  const perCpu = compile('struct big { int a[1000000]; };\nDEFINE_PER_CPU(struct big, v);\n', 8).diagnostics.map(formatDiagnostic);
  assert.match(perCpu[0] ?? '', /'v' \(1000000 cells on each of 8 CPUs\) does not fit/);
});

test('a file of 20,000 commented functions parses in linear time, each with its own comment', () => {
  const text = Array.from({ length: 20000 }, (_, i) => `/* models f${i}() */\nint f${i}(void) { return ${i}; }\n`).join('');
  const started = performance.now();
  const r = parseKc('many.kc', text);
  const ms = performance.now() - started;
  assert.equal(r.file.items.length, 20000);
  const last = r.file.items[19999];
  assert.ok(last.kind === 'function' && last.doc === 'models f19999()');
  // finding each function's comment scanned every comment: 81 s for this file
  assert.ok(ms < 30000, `${ms} ms`);
});

test('30,000 unterminated typedefs are one error, found in linear time', () => {
  const started = performance.now();
  const d = diagnosticsOf('typedef '.repeat(30000));
  const ms = performance.now() - started;
  assert.deepEqual(d, ['test.kc:1:240001: error: expected a type but found the end of the file']);
  // scanning from each typedef to the end of the file took 47 s
  assert.ok(ms < 30000, `${ms} ms`);
});

test('a local { } initialiser is checked as a global one is: fields of a struct, [index] of an array', () => {
  const local = (decl: string) => diagnosticsOf(`struct s { int a; int b; };\nint f(void)\n{\n\t${decl}\n\treturn 0;\n}\n`);
  assert.deepEqual(local('int x[2] = { [1] = 2 };'), []);
  assert.deepEqual(local('struct s v = { .b = 1 };'), []);
  assert.match(local('int x[2] = { .a = 1 };')[0], /^test\.kc:4:15: error: an array initialiser takes \[index\] =, not \.field =$/);
  assert.match(local('int x[2] = { [2] = 1 };')[0], /index 2 is outside the array of 2/);
  assert.match(local('struct s v = { .c = 1 };')[0], /struct s has no field 'c'/);
});
