/**
 * npm start opens a scratch copy of the examples, never the shipped files.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { scratchExamples } from '../scripts/scratch.js';
import { ROOT } from './helpers.js';

/** A stand-in repository with two shipped examples. */
function fakeRepo(): string {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'smplab-start-'));
  fs.mkdirSync(path.join(repo, 'examples'));
  fs.writeFileSync(path.join(repo, 'examples', 'a.smp'), 'cpus 2\n');
  fs.writeFileSync(path.join(repo, 'examples', 'b.smp'), 'cpus 3\n');
  return repo;
}

test('the scratch copy is outside examples/, and editing it leaves the shipped example as it was', () => {
  const repo = fakeRepo();
  try {
    const { folder, added } = scratchExamples(repo);
    assert.equal(folder, path.join(repo, 'scratch', 'examples'));
    assert.deepEqual(added, ['a.smp', 'b.smp']);
    fs.writeFileSync(path.join(folder, 'a.smp'), 'typed by the user\n');
    assert.equal(fs.readFileSync(path.join(repo, 'examples', 'a.smp'), 'utf8'), 'cpus 2\n');
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
});

test('a second start keeps the user\'s edits and adds only examples that are new', () => {
  const repo = fakeRepo();
  try {
    const { folder } = scratchExamples(repo);
    fs.writeFileSync(path.join(folder, 'a.smp'), 'typed by the user\n');
    fs.writeFileSync(path.join(repo, 'examples', 'c.smp'), 'cpus 4\n');
    const again = scratchExamples(repo);
    assert.deepEqual(again.added, ['c.smp']);
    assert.equal(fs.readFileSync(path.join(folder, 'a.smp'), 'utf8'), 'typed by the user\n');
    assert.equal(fs.readFileSync(path.join(folder, 'c.smp'), 'utf8'), 'cpus 4\n');
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
});

test('the scratch folder is git-ignored and left out of the packaged extension', () => {
  assert.match(fs.readFileSync(path.join(ROOT, '.gitignore'), 'utf8'), /^scratch\/$/m);
  assert.match(fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8'), /^scratch\/\*\*$/m);
});
