import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { patchSubject } from '../src/language/smpFeatures.js';
import { prepareScenario } from '../src/scenario/build.js';
import { ROOT } from './helpers.js';

const MODELS = join(ROOT, 'models');

/** Every file under models/ whose name ends in one of `exts`. */
function modelFiles(...exts: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
    }
  };
  walk(MODELS);
  return out.sort();
}

test('every model and patch file is marked GPL-2.0-only on its first line', () => {
  const files = modelFiles('.kc', '.patch');
  assert.ok(files.length >= 14, `found ${files.length} files`);
  for (const f of files) {
    const first = readFileSync(f, 'utf8').split('\n')[0];
    assert.match(first, /^(\/\/ )?SPDX-License-Identifier: GPL-2\.0-only$/, relative(ROOT, f));
  }
});

test('the licences are shipped and package.json names both', () => {
  assert.match(readFileSync(join(MODELS, 'LICENSE'), 'utf8'), /GNU GENERAL PUBLIC LICENSE\s+Version 2, June 1991/);
  assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) \d{4} SMP Lab contributors\n/);
  const readme = readFileSync(join(MODELS, 'README.md'), 'utf8');
  assert.match(readme, /Linux 3\.15/);
  assert.match(readme, /23 May 2014/);
  assert.equal(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).license, 'MIT AND GPL-2.0-only');
});

/** The model's functions, compiled as the machine compiles them, with patches applied when given. */
function modelFunctions(patches: string[] = []) {
  const { prepared, diagnostics } = prepareScenario('examples/provenance.smp', ['kernel linux-3.15', ...patches.map((p) => `patch ${p}`), 'cpus 2'].join('\n'));
  assert.deepEqual(diagnostics, []);
  return prepared!.program.functions.filter((f) => f.decl.body && f.file !== '<built-in>');
}

for (const patches of [[], ['ipi-offline-v6/0001', 'ipi-offline-v6/0002', 'ipi-offline-v6/0003', 'later/0001']]) {
  test(`every model function names what it models: "models X() — FILE, vVERSION"${patches.length ? ', with every patch applied' : ''}`, () => {
    for (const f of modelFunctions(patches)) {
      const doc = f.decl.doc ?? '';
      if (doc.startsWith('not a kernel function') || doc.startsWith('models the ')) continue;
      const m = /^models (\S+)\(\) — (\S+\.[ch]), v(\d+\.\d+)\b/.exec(doc);
      assert.ok(m, `${f.name}: "${doc.slice(0, 100)}"`);
      assert.equal(m[1], f.name, `${f.name} says it models ${m[1]}`);
    }
  });
}

/**
 * Distinctive comment lines of the kernel files the models follow. The
 * models explain the code in their own words; none of these may come back.
 */
const KERNEL_PHRASES = [
  "Shouldn't receive this interrupt on a cpu",
  'Invoked by arch to handle an IPI',
  'Insert a previously allocated call_single_data',
  'ensure we\'re all done before releasing data',
  'Try to fastpath',
  'Some callers race with other cpus',
  'Chill out and ensure we re-read',
  'Awaiting everyone to be scheduled',
  'Like num_online_cpus(), but hotplug cpu uses us',
  'Last one to ack a state moves',
  'idle task is faking death itself',
  'Too late to complain',
  'Can\'t complain',
  'will have removed all runnable tasks',
  'PLEASE, avoid to allocate new softirqs',
  'Preferable RCU should always be the last softirq',
  'We cannot loop indefinitely here',
  'We can safely run softirq on inline stack',
  'If we\'re in an interrupt or softirq, we\'re done',
  'splice its entries to the current CPU',
  'signal a raise of the softirq',
  'Ends all I/O on a request',
  'With physical CPU hotplug, we should halt the cpu',
  'We can\'t use the cpuidle framework',
  'generate better code by using them',
  'Suits me',
  'might arrive late, either due to hardware latencies',
];

test('no model or patch file keeps the kernel\'s own comment text', () => {
  for (const f of modelFiles('.kc', '.patch')) {
    const text = readFileSync(f, 'utf8');
    for (const phrase of KERNEL_PHRASES) assert.ok(!text.includes(phrase), `${relative(ROOT, f)} still says "${phrase}"`);
  }
});

test('the patches keep their upstream subjects and authors, are dated, and mark their text as a summary', () => {
  for (const f of modelFiles('.patch')) {
    const { subject, from } = patchSubject(f);
    assert.ok(subject && from, relative(ROOT, f));
    const text = readFileSync(f, 'utf8');
    assert.match(text, /^\[SMP Lab summary of the upstream change/m, relative(ROOT, f));
    if (f.includes('ipi-offline-v6')) {
      assert.match(from!, /Srivatsa S\. Bhat/);
      assert.match(text, /^Date: Fri, 23 May 2014 /m, relative(ROOT, f));
    }
  }
});
