import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
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
