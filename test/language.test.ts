/**
 * The language server as an editor sees it: `node dist/server.js --stdio`
 * spoken to over JSON-RPC. Run `node build.mjs` first.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, CompletionItem, Pos, ROOT, SERVER, uri } from './lspClient.js';

const RACE = join(ROOT, 'examples', 'ipi-offline-race.smp');
const MODEL = join(ROOT, 'models', 'linux-3.15');
const SMP_KC = join(MODEL, 'smp.kc');
const BLK_KC = join(MODEL, 'blk-softirq.kc');

const docText = (d: CompletionItem['documentation']) => (typeof d === 'string' ? d : d?.value ?? '');

/** 0-based position of the first occurrence of `needle` (plus `offset` characters) in `text`. */
function positionOf(text: string, needle: string | RegExp, offset = 0): Pos {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const at = typeof needle === 'string' ? lines[i].indexOf(needle) : lines[i].search(needle);
    if (at >= 0) return { line: i, character: at + offset };
  }
  throw new Error(`${needle} not found`);
}

/** End of the line that contains `needle`. */
function endOf(text: string, needle: string): Pos {
  const p = positionOf(text, needle);
  return { line: p.line, character: text.split('\n')[p.line].length };
}

describe('language server over stdio', () => {
  let client: Client;
  const raceText = readFileSync(RACE, 'utf8');
  const smpText = readFileSync(SMP_KC, 'utf8');
  const blkText = readFileSync(BLK_KC, 'utf8');
  let raceUri: string;
  let smpUri: string;

  before(async () => {
    assert.ok(existsSync(SERVER), 'dist/server.js is missing: run node build.mjs first');
    client = await Client.start();
  });

  after(async () => {
    // whatever happened above, leave no server behind
    if (client && client.proc.exitCode === null && client.proc.signalCode === null) {
      client.proc.kill('SIGKILL');
      await client.exited;
    }
  });

  test('the race example checks clean: empty diagnostics arrive quickly after didOpen', async (t) => {
    const started = performance.now();
    raceUri = client.open(RACE, 'smp');
    const p = await client.diagnostics(raceUri);
    const ms = p.at - started;
    t.diagnostic(`first diagnostics for the race example after ${ms.toFixed(0)} ms`);
    assert.deepEqual(p.diagnostics, []);
    assert.ok(ms < 5000, `first diagnostics took ${ms} ms`);
  });

  test('a misspelt call is reported at its line and column, and the report clears after the fix', async () => {
    const path = join(ROOT, 'examples', 'lsp-typing.smp');
    const broken = raceText.replace('cpu 2 runs cpu_down(1)', 'cpu 1 runs cpu_dwn(1)');
    assert.notEqual(broken, raceText);
    const u = client.open(path, 'smp', broken);
    const p = await client.diagnostics(u, (d) => d.length > 0);
    assert.equal(p.diagnostics.length, 1, JSON.stringify(p.diagnostics));
    const d = p.diagnostics[0];
    const expected = positionOf(broken, 'cpu_dwn');
    assert.deepEqual(d.range.start, expected);
    assert.deepEqual(d.range.end, { line: expected.line, character: expected.character + 'cpu_dwn'.length });
    assert.match(d.message, /'cpu_dwn' is not declared/);
    assert.equal(d.severity, 1);

    const since = performance.now();
    client.change(u, broken.replace('cpu_dwn(1)', 'cpu_down(1)'), 2);
    const fixed = await client.diagnostics(u, () => true, since);
    assert.deepEqual(fixed.diagnostics, []);
    assert.equal(fixed.version, 2);
    client.close(u);
  });

  test('scenario line errors and a missing model are reported on the scenario', async () => {
    const path = join(ROOT, 'examples', 'lsp-bad-lines.smp');
    const text = 'kernel ./no-such-model\ncpus 2\ncpu 5 runs cpu_down(1)\nexpect sunshine\n';
    const u = client.open(path, 'smp', text);
    const p = await client.diagnostics(u, (d) => d.length > 0);
    const messages = p.diagnostics.map((d) => `${d.range.start.line}:${d.range.start.character} ${d.message}`);
    assert.ok(messages.some((m) => /^2:4 CPU 5 does not exist/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^3:0 unknown expectation/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /^0:7 no kernel model at/.test(m)), messages.join('\n'));
    client.close(u);
    await client.diagnostics(u, (d) => d.length === 0, 0);
  });

  test('an untitled scenario is checked against the built-in model', async () => {
    const text = 'kernel linux-3.15\ncpus 2\ncpu 1 runs cpu_dwn(1)\n';
    const u = client.openUri('untitled:Untitled-1', 'smp', text);
    const p = await client.diagnostics(u, (d) => d.length > 0);
    assert.deepEqual(p.diagnostics.map((d) => [d.range.start.line, d.range.start.character, d.message]), [[2, 11, "'cpu_dwn' is not declared"]]);
    const items = await client.completion(u, { line: 2, character: 'cpu 1 runs '.length }, ' ');
    assert.ok(items.some((i) => i.label === 'cpu_down'));
    client.close(u);
  });

  test('an error in a model of the user\'s own shows on the scenario\'s kernel line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smplab-lsp-'));
    try {
      mkdirSync(join(dir, 'my-model'));
      writeFileSync(join(dir, 'my-model', 'a.kc'), 'int ok_fn(void)\n{\n\treturn missing_thing;\n}\n');
      const text = 'cpus 2\nkernel ./my-model\ncpu 0 runs ok_fn()\n';
      const u = client.open(join(dir, 's.smp'), 'smp', text);
      const p = await client.diagnostics(u, (d) => d.length > 0);
      const d = p.diagnostics.find((x) => /missing_thing/.test(x.message));
      assert.ok(d, JSON.stringify(p.diagnostics));
      assert.deepEqual(d.range.start, { line: 1, character: 7 });
      assert.match(d.message, /a\.kc:3:9/);
      const kernels = await client.completion(u, { line: 1, character: 'kernel '.length }, ' ');
      assert.ok(kernels.some((i) => i.label === './my-model') && kernels.some((i) => i.label === 'linux-3.15'), kernels.map((i) => i.label).join(' '));
      client.close(u);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a .kc syntax error is reported on its file and cleared when fixed', async () => {
    const path = join(MODEL, 'zz-lsp-syntax.kc');
    const broken = '/* opened by the language server test; never on disk */\nint lsp_probe(int x)\n{\n\treturn x +;\n}\n';
    const u = client.open(path, 'kc', broken);
    const p = await client.diagnostics(u, (d) => d.length > 0);
    const d = p.diagnostics[0];
    assert.deepEqual(d.range.start, positionOf(broken, '+;', 1));
    assert.match(d.message, /expected an expression|';'/);

    const since = performance.now();
    client.change(u, broken.replace('x +;', 'x + 1;'), 2);
    const fixed = await client.diagnostics(u, () => true, since);
    assert.deepEqual(fixed.diagnostics, []);
    client.close(u);
  });

  test('a .kc compile error (an undeclared call) is reported with its position', async () => {
    const path = join(MODEL, 'zz-lsp-undeclared.kc');
    const text = 'void lsp_probe2(void)\n{\n\tgeneric_exec_singel(0, NULL, NULL, NULL, 0);\n}\n';
    const u = client.open(path, 'kc', text);
    const p = await client.diagnostics(u, (d) => d.length > 0);
    const d = p.diagnostics.find((x) => /generic_exec_singel/.test(x.message));
    assert.ok(d, JSON.stringify(p.diagnostics));
    assert.deepEqual(d.range.start, positionOf(text, 'generic_exec_singel'));
    // closing the last open .kc document of the folder clears what was published for it
    client.close(u);
    await client.diagnostics(u, (x) => x.length === 0, performance.now());
  });

  test('completion after "cpu 2 runs " lists the model functions with their docs', async (t) => {
    const path = join(ROOT, 'examples', 'lsp-completion.smp');
    const text = 'kernel linux-3.15\ncpus 3\npatch \ncpu 2 runs \nirq disk on cpu 0 after \nexpect \ncpu \nirq disk on cpu 0 at step 5: \nexpect count ipi-send where \n';
    const u = client.open(path, 'smp', text);
    const started = performance.now();
    const items = await client.completion(u, endOf(text, 'cpu 2 runs'), ' ');
    t.diagnostic(`completion after "cpu 2 runs " right after didOpen (the scenario check may run first): ${(performance.now() - started).toFixed(0)} ms`);
    const down = items.find((i) => i.label === 'cpu_down');
    assert.ok(down, items.map((i) => i.label).join(' '));
    assert.match(docText(down.documentation), /models cpu_down\(\) — kernel\/cpu\.c/);
    assert.equal(down.textEdit?.newText, 'cpu_down(${1:cpu})');
    assert.ok(items.some((i) => i.label === 'smp_call_function_single'));

    await client.diagnostics(u);
    const again = performance.now();
    const warm = await client.completion(u, endOf(text, 'cpu 2 runs'), ' ');
    t.diagnostic(`the same completion once the scenario is checked: ${(performance.now() - again).toFixed(0)} ms`);
    assert.equal(warm.length, items.length);

    const patches = await client.completion(u, endOf(text, 'patch'), ' ');
    assert.ok(patches.some((i) => i.label === 'ipi-offline-v6/0001'), patches.map((i) => i.label).join(' '));
    assert.match(patches.find((i) => i.label === 'ipi-offline-v6/0001')!.detail ?? '', /Print more useful debug info/);

    const events = await client.completion(u, endOf(text, 'irq disk on cpu 0 after'), ' ');
    assert.ok(events.some((i) => i.label === 'stop-machine-state' && /smplab:multi_stop_state/.test(i.detail ?? '')));

    const forms = await client.completion(u, endOf(text, 'expect'), ' ');
    assert.deepEqual(forms.map((i) => i.label).slice(0, 3), ['no warning', 'no lost work', 'all requests completed']);

    const cpus = await client.completion(u, { line: 6, character: 4 }, ' ');
    assert.deepEqual(cpus.map((i) => i.label), ['0', '1', '2']);

    const irqCall = await client.completion(u, endOf(text, 'at step 5:'), ' ');
    assert.ok(irqCall.some((i) => i.label === 'blk_complete_request'));

    const where = await client.completion(u, endOf(text, 'expect count ipi-send where'), ' ');
    assert.ok(where.some((i) => i.label === 'target') && where.some((i) => i.label === 'latency'));

    const keywords = await client.completion(u, { line: 9, character: 0 });
    assert.ok(keywords.some((i) => i.label === 'kernel') && keywords.some((i) => i.label === 'ipi-latency'));
    client.close(u);
  });

  test('hover in the race example: the model function, the event and the patch', async () => {
    const h = await client.hover(raceUri, positionOf(raceText, 'cpu_down(1)', 3));
    assert.ok(h);
    assert.match(h.contents.value, /_cpu_down|kernel\/cpu\.c|models/);
    assert.match(h.contents.value, /int cpu_down\(unsigned int cpu\)/);
    assert.match(h.contents.value, /cpu\.kc:\d+/);

    const ev = await client.hover(raceUri, positionOf(raceText, 'stop-machine-state', 5));
    assert.match(ev?.contents.value ?? '', /SMP Lab event `smplab:multi_stop_state`/);
    assert.match(ev?.contents.value ?? '', /`state`, `active`/);

    const patch = await client.hover(raceUri, positionOf(raceText, 'ipi-offline-v6/0001', 4));
    assert.match(patch?.contents.value ?? '', /\[PATCH v6 1\/3\] smp: Print more useful debug info upon receiving IPI on an offline CPU/);

    const constant = await client.hover(raceUri, positionOf(raceText, 'state == MULTI_STOP_DISABLE_IRQ', 'state == '.length + 2));
    assert.match(constant?.contents.value ?? '', /MULTI_STOP_DISABLE_IRQ/);
    assert.match(constant?.contents.value ?? '', /= \d+/);

    const none = await client.hover(raceUri, positionOf(raceText, '# The 2014 race', 5));
    assert.equal(none, null);
  });

  test('definition of blk_complete_request from the race example lands on its definition', async () => {
    const loc = await client.definition(raceUri, positionOf(raceText, 'blk_complete_request(&req0)', 4));
    assert.ok(loc);
    assert.equal(loc.uri, uri(BLK_KC));
    const def = positionOf(blkText, /^void blk_complete_request\(/);
    assert.equal(loc.range.start.line, def.line);
    assert.equal(loc.range.start.character, 'void '.length);

    const obj = await client.definition(raceUri, positionOf(raceText, '&req0)', 2));
    assert.equal(obj?.uri, raceUri);
    assert.equal(obj?.range.start.line, positionOf(raceText, 'struct request req0').line);

    const patch = await client.definition(raceUri, positionOf(raceText, 'ipi-offline-v6/0001', 2));
    assert.match(patch?.uri ?? '', /0001-smp-print-more-useful-debug-info.*\.patch$/);
  });

  test('in smp.kc: definition of a call, hover on a built-in, document symbols', async () => {
    smpUri = client.open(SMP_KC, 'kc');
    assert.deepEqual((await client.diagnostics(smpUri)).diagnostics, []);
    const call = positionOf(smpText, 'err = generic_exec_single(cpu, NULL', 'err = '.length + 3);
    const loc = await client.definition(smpUri, call);
    assert.ok(loc);
    assert.equal(loc.uri, smpUri);
    const def = positionOf(smpText, /^static int generic_exec_single\(/);
    assert.deepEqual(loc.range.start, { line: def.line, character: 'static int '.length });

    const relax = await client.hover(smpUri, positionOf(smpText, 'cpu_relax()', 2));
    assert.match(relax?.contents.value ?? '', /built-in of the arch layer/);
    const llist = await client.hover(smpUri, positionOf(smpText, 'llist_add(', 2));
    assert.match(llist?.contents.value ?? '', /built-in of the arch layer/);

    const fnHover = await client.hover(smpUri, call);
    assert.match(fnHover?.contents.value ?? '', /models generic_exec_single\(\) — kernel\/smp\.c, v3\.15/);

    const syms = await client.symbols(smpUri);
    const ges = syms.find((s) => s.name === 'generic_exec_single');
    assert.ok(ges, syms.map((s) => s.name).join(' '));
    assert.equal(ges.kind, 12);
    assert.equal(ges.selectionRange.start.line, def.line);
    assert.ok(ges.range.end.line > def.line, 'the symbol spans the body');
    const csd = syms.find((s) => s.name === 'call_single_data');
    assert.equal(csd?.kind, 23);
    assert.ok(csd?.children?.some((c) => c.name === 'func'));
    assert.ok(syms.some((s) => s.name === 'call_single_queue' && s.kind === 13));
    const flags = syms.find((s) => s.kind === 10 && s.children?.some((c) => c.name === 'CSD_FLAG_LOCK'));
    assert.ok(flags, 'the anonymous enum holds CSD_FLAG_LOCK');
    assert.ok(!syms.some((s) => s.name === 'CSD_FLAG_LOCK'), 'enum members are nested, not top level');
  });

  test('in a .kc file: fields after ->, structs after struct, go to a struct, a field and a local', async () => {
    const path = join(MODEL, 'zz-lsp-fields.kc');
    const text = [
      'int lsp_fields(struct call_single_data *csd)',
      '{',
      '\tstruct call_function_data *cfd = NULL;',
      '\treturn csd->flags + cfd->csd[0].flags;',
      '}',
      '',
    ].join('\n');
    const u = client.open(path, 'kc', text);
    assert.deepEqual((await client.diagnostics(u)).diagnostics, []);
    const typing = text.replace('return csd->flags', 'return csd->');
    client.change(u, typing, 2);
    const fields = await client.completion(u, positionOf(typing, 'return csd->', 'return csd->'.length), '>');
    assert.deepEqual(fields.map((i) => i.label).sort(), ['flags', 'func', 'info', 'llist']);
    const nested = await client.completion(u, positionOf(typing, 'cfd->csd[0].', 'cfd->csd[0].'.length), '.');
    assert.ok(nested.some((i) => i.label === 'func'), nested.map((i) => i.label).join(' '));

    client.change(u, text, 3);
    const structs = await client.completion(u, positionOf(text, 'call_function_data'), ' ');
    assert.ok(structs.some((i) => i.label === 'call_single_data') && structs.some((i) => i.label === 'llist_head'));

    const structDef = await client.definition(u, positionOf(text, 'call_single_data', 2));
    assert.equal(structDef?.uri, uri(SMP_KC));
    assert.equal(structDef?.range.start.line, positionOf(smpText, /^struct call_single_data \{/).line);

    const fieldDef = await client.definition(u, positionOf(text, 'csd->flags', 6));
    assert.equal(fieldDef?.uri, uri(SMP_KC));
    assert.equal(fieldDef?.range.start.line, positionOf(smpText, '\tu16 flags;').line);

    const localDef = await client.definition(u, positionOf(text, 'cfd->csd', 1));
    assert.equal(localDef?.uri, u);
    assert.deepEqual(localDef?.range.start, positionOf(text, '*cfd', 1));

    const ids = await client.completion(u, positionOf(text, 'csd->flags'));
    assert.ok(ids.some((i) => i.label === 'generic_exec_single'));
    assert.ok(ids.some((i) => i.label === 'CSD_FLAG_LOCK'));
    assert.ok(ids.some((i) => i.label === 'cfd'));
    client.close(u);
  });

  test('scenario document symbols: one per statement line', async () => {
    const syms = await client.symbols(raceUri);
    const names = syms.map((s) => s.name);
    assert.deepEqual(names, [
      'linux-3.15', 'ipi-offline-v6/0001', 'cpus 3', 'ipi-latency 0', 'req0', 'cpu_down(1)', 'disk: blk_complete_request(&req0)',
      'schedule random seed 3', 'expect no warning', 'expect no lost work', 'expect all requests completed', 'expect cpu 1 dead',
    ]);
    assert.equal(syms[0].range.start.line, positionOf(raceText, 'kernel linux-3.15').line);
  });

  test('positions far outside the document are moved inside it and answered at once', async (t) => {
    const started = performance.now();
    for (const position of [{ line: 0, character: 1e9 }, { line: 1e9, character: 1e9 }, { line: -5, character: -5 }, { line: 3.5, character: 2.5 }]) {
      const hover = await client.hover(raceUri, position);
      assert.ok(hover === null || typeof hover.contents.value === 'string');
      const def = await client.definition(raceUri, position);
      assert.ok(def === null || typeof def.uri === 'string');
      assert.ok(Array.isArray(await client.completion(raceUri, position)));
    }
    // strings and nulls where numbers belong are answered too
    assert.equal(await client.request('textDocument/hover', { textDocument: { uri: raceUri }, position: { line: 'x', character: null } }), null);
    assert.equal(await client.request('textDocument/hover', { textDocument: { uri: raceUri } }), null);
    assert.equal(await client.request('textDocument/hover', { position: { line: 0, character: 0 } }), null);
    const ms = performance.now() - started;
    t.diagnostic(`14 requests at clamped positions: ${ms.toFixed(0)} ms`);
    // a character of 1e9 once scanned for half a minute
    assert.ok(ms < 10000, `${ms} ms`);
    // the end of the last line is where 1e9 lands: hover there on the last word still answers from the model
    const lines = raceText.split('\n');
    const last = lines.length - 1;
    assert.deepEqual(await client.hover(raceUri, { line: 1e9, character: 0 }), await client.hover(raceUri, { line: last, character: 0 }));
  });

  test('deep input: one located error, and hover and completion still work on the document', async () => {
    const path = join(ROOT, 'examples', 'lsp-deep.smp');
    const text = `kernel linux-3.15\ncpus 3\ncpu 2 runs cpu_down(${'('.repeat(10000)}1${')'.repeat(10000)})\n`;
    const u = client.open(path, 'smp', text);
    const p = await client.diagnostics(u, (d) => d.length > 0);
    assert.deepEqual(p.diagnostics.map((d) => [d.range.start.line, d.range.start.character, d.message]), [
      [2, 20 + 253, 'nesting deeper than 256 levels: split this into smaller expressions, statements or functions'],
    ]);
    const hover = await client.hover(u, { line: 2, character: 13 });
    assert.match(hover?.contents.value ?? '', /int cpu_down\(unsigned int cpu\)/);
    const items = await client.completion(u, { line: 2, character: 'cpu 2 runs '.length }, ' ');
    assert.ok(items.some((i) => i.label === 'cpu_down'));
    client.close(u);

    const kc = join(MODEL, 'zz-lsp-deep.kc');
    const kcText = `int lsp_deep_sum(void)\n{\n\treturn ${Array(3000).fill('1').join(' + ')};\n}\nint lsp_deep_caller(void)\n{\n\treturn lsp_deep_sum();\n}\n`;
    const k = client.open(kc, 'kc', kcText);
    const kd = await client.diagnostics(k, (d) => d.length > 0);
    assert.equal(kd.diagnostics.length, 1);
    assert.match(kd.diagnostics[0].message, /^nesting deeper than 256 levels/);
    assert.equal(kd.diagnostics[0].range.start.line, 2);
    const fnHover = await client.hover(k, { line: 6, character: 10 });
    assert.match(fnHover?.contents.value ?? '', /int lsp_deep_sum\(void\)/);
    const ids = await client.completion(k, { line: 6, character: 8 });
    assert.ok(ids.some((i) => i.label === 'lsp_deep_sum'));
    client.close(k);
    await client.diagnostics(k, (d) => d.length === 0, performance.now());
  });

  test('a FIFO named *.kc in a model folder blocks nothing and is said on the kernel line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smplab-lsp-fifo-'));
    try {
      cpSync(MODEL, join(dir, 'model'), { recursive: true });
      execFileSync('mkfifo', [join(dir, 'model', 'fifo.kc')]);
      const u = client.open(join(dir, 's.smp'), 'smp', 'kernel ./model\ncpus 2\ncpu 1 runs cpu_down(0)\n');
      const p = await client.diagnostics(u, (d) => d.length > 0);
      assert.deepEqual(p.diagnostics.map((d) => [d.range.start.line, d.range.start.character, d.severity, d.message]), [
        [0, 7, 2, 'skipped fifo.kc: it is a FIFO, not a regular file'],
      ]);
      const k = client.open(join(dir, 'model', 'errno.kc'), 'kc');
      assert.deepEqual((await client.diagnostics(k)).diagnostics, []);
      assert.match((await client.hover(u, { line: 2, character: 13 }))?.contents.value ?? '', /cpu_down/);
      client.close(k);
      client.close(u);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('named tasks: completion after "task NAME: cpu N runs " and "expect ", and an outline entry', async () => {
    const path = join(ROOT, 'examples', 'lsp-task.smp');
    const text = 'kernel linux-3.15\ncpus 3\ntask down: cpu 2 runs \nexpect \n';
    const u = client.open(path, 'smp', text);
    const fns = await client.completion(u, endOf(text, 'task down: cpu 2 runs'), ' ');
    assert.ok(fns.some((i) => i.label === 'cpu_down'), fns.map((i) => i.label).join(' '));
    const cpus = await client.completion(u, { line: 2, character: 'task down: cpu '.length }, ' ');
    assert.deepEqual(cpus.map((i) => i.label), ['0', '1', '2']);
    const typed = 'kernel linux-3.15\ncpus 3\ntask down: cpu 2 runs cpu_down(1)\nexpect \n';
    client.change(u, typed, 2);
    const forms = await client.completion(u, endOf(typed, 'expect'), ' ');
    assert.ok(forms.some((i) => i.label === 'down returns VALUE'), forms.map((i) => i.label).join(' '));
    client.change(u, 'kernel linux-3.15\ncpus 3\ntask down: cpu 2 runs cpu_down(1)\nexpect down returns -EBUSY\n', 3);
    const d = await client.diagnostics(u, (x) => x.length === 0);
    assert.equal(d.version, 3);
    const syms = await client.symbols(u);
    assert.ok(syms.some((x) => x.name === 'cpu_down(1)' && x.detail === 'task down on CPU 2'), JSON.stringify(syms));
    client.close(u);
  });

  test('bad requests answer empty and the server keeps working', async () => {
    assert.equal(await client.hover('file:///nowhere/x.smp', { line: 0, character: 0 }), null);
    assert.equal(await client.hover(raceUri, { line: 9999, character: 9999 }), null);
    const items = await client.completion(raceUri, { line: 9999, character: 3 });
    assert.ok(Array.isArray(items));
    const h = await client.hover(raceUri, positionOf(raceText, 'cpu_down(1)', 3));
    assert.match(h?.contents.value ?? '', /models cpu_down/);
  });

  test('shutdown and exit end the server process', async () => {
    client.close(raceUri);
    client.close(smpUri);
    await client.request('shutdown', null);
    await client.conn.sendNotification('exit');
    const code = await Promise.race([client.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 5000))]);
    assert.equal(code, 0);
    client.conn.dispose();
  });
});
