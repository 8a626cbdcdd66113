import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { smplab } from './helpers.js';

// Each example's verdict: test/examples.test.ts.

test('--patch replaces the scenario patches: the race example with the series is clean', () => {
  const r = smplab('run', 'examples/ipi-offline-race.smp', '--quiet', '--patch', 'ipi-offline-v6/0001', '--patch', 'ipi-offline-v6/0003');
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('--json prints one event per line and a summary', () => {
  const r = smplab('run', 'examples/ipi-offline-race.smp', '--json');
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const warn = lines.find((l) => l.event === 'warn');
  assert.equal(warn.fields.message, 'IPI on offline CPU 1');
  assert.equal(warn.cpu, 1);
  assert.match(warn.at.file, /smp\.kc$/);
  assert.equal(lines[lines.length - 1].summary.ok, false);
});

test('--seed and --schedule change the run; a bad option is exit 2 with usage', () => {
  const a = smplab('run', 'examples/ipi-offline-race.smp', '--seed', '1', '--quiet');
  assert.match(a.stdout, /random seed 1/);
  const b = smplab('run', 'examples/ipi-offline-race.smp', '--schedule', '0,1,2,2,1', '--quiet');
  assert.match(b.stdout, /schedule 0,1,2,2,1/);
  const c = smplab('run', 'examples/ipi-offline-race.smp', '--seed', 'x');
  assert.equal(c.code, 2);
  assert.match(c.stderr, /--seed takes a whole number, not 'x'/);
  assert.match(c.stderr, /usage: smplab/);
});

test('--max-steps ends a long run with a clear message', () => {
  const r = smplab('run', 'examples/ipi-offline-race.smp', '--max-steps', '100', '--quiet');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /stopped: budget \(step budget of 100 steps used up; CPU\d in .*\)/);
});

test('check prints file:line:col diagnostics and exits 2', () => {
  const ok = smplab('check', 'examples/ipi-offline-race.smp', 'examples/ipi-offline-fixed.smp');
  assert.equal(ok.code, 0, ok.stderr);
  const bad = smplab('check', 'test/fixtures/broken.smp');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^test\/fixtures\/broken\.smp:5:12: error: 'cpu_dwn' is not declared$/m);
  assert.match(bad.stderr, /^test\/fixtures\/broken\.smp:6:1: error: unknown statement 'cpuz'/m);
  const missing = smplab('check', 'no/such.smp');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no\/such\.smp:1:1: error: cannot read no\/such\.smp: ENOENT/);
});

test('--help and --version', () => {
  assert.match(smplab('--help').stdout, /smplab run FILE\.smp|run FILE\.smp/);
  assert.match(smplab('--version').stdout, /^smplab \d+\.\d+\.\d+/);
});

test('a reader that stops early (smplab run ... | head) gets no stack trace', async () => {
  const { spawn } = await import('node:child_process');
  const { CLI, ROOT } = await import('./helpers.js');
  const child = spawn(process.execPath, [CLI, 'run', 'examples/ipi-offline-race.smp'], { cwd: ROOT });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.doesNotMatch(err, /EPIPE|Error/);
  assert.notEqual(code, 2);
});

test('deep input is the same located error from check and run, never an internal error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-cli-deep-'));
  try {
    const file = join(dir, 'deep.smp');
    writeFileSync(file, `kernel linux-3.15\ncpus 3\ncpu 0 runs cpu_down(${'('.repeat(10000)}1${')'.repeat(10000)})\n`);
    const expected = `${file}:3:${21 + 253}: error: nesting deeper than 256 levels: split this into smaller expressions, statements or functions\n`;
    for (const args of [['check', file], ['run', file]]) {
      const r = smplab(...args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, expected);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('options are checked against the scenario and reported by their flag', () => {
  const r = smplab('run', 'examples/ipi-offline-race.smp', '--schedule', '0,1,9', '--max-steps', '99999999999', '--patch', 'ipi-offline-v6/0003');
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(lines.slice(0, 2), [
    'smplab: --schedule: error: CPU 9 does not exist: the scenario has 3 CPUs (0 to 2)',
    'smplab: --max-steps: error: the step budget is a whole number from 1 to 1000000000, not 99999999999',
  ]);
  assert.match(lines[2], /^smplab: --patch: error: ipi-offline-v6\/0003: hunk 4 of 4 .* it is written against ipi-offline-v6\/0001: apply ipi-offline-v6\/0001 first$/);
  const latency = smplab('run', 'examples/ipi-offline-race.smp', '--ipi-latency', '5..2');
  assert.equal(latency.stderr, 'smplab: --ipi-latency: error: the latency 5..2 is reversed: write 2..5\n');
  // a seed that nothing would use is not dropped silently
  const seed = smplab('run', 'examples/ipi-offline-race.smp', '--schedule', '0,1,2', '--seed', '7');
  assert.equal(seed.code, 2);
  assert.match(seed.stderr, /^smplab: --seed is for a random schedule; --schedule 0,1,2 makes no random choices$/m);
});

test('check refuses a FIFO at once instead of waiting for a writer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-cli-fifo-'));
  try {
    const fifo = join(dir, 'pipe.smp');
    execFileSync('mkfifo', [fifo]);
    const r = smplab('check', fifo);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `${fifo}:1:1: error: cannot read ${fifo}: it is a FIFO, not a regular file\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
