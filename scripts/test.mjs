#!/usr/bin/env node
// npm test, after npm run build: the fast suites (engine, CLI, DAP, LSP: test/*.test.ts) run
// first, several files at a time, while the type check runs beside them; then the end-to-end
// suites (test/e2e/*.e2e.ts) run one file at a time, since each starts its own code-server and
// Chromium. Stops after the first phase that fails. Prints how long each phase took.
//
//   SMPLAB_TEST_CONCURRENCY=N   test files run at once in the fast phase (default: the number of
//                               cores, at least 2; node's own default leaves a 2-core machine at 1)
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const concurrency = Number(process.env.SMPLAB_TEST_CONCURRENCY ?? Math.max(2, os.availableParallelism()));
const files = (dir, suffix) => fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith(suffix)).sort().map((f) => path.join(dir, f));

/** Runs a command; resolves with its exit code and how long it took. Output is passed through, or kept when `quiet`. */
function run(label, cmd, args, { quiet = false } = {}) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let output = '';
    if (quiet) {
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
    }
    child.on('error', (e) => resolve({ label, code: 1, seconds: 0, output: `${label}: could not start ${cmd}: ${e.message}` }));
    child.on('close', (code, signal) => resolve({ label, code: code ?? (signal ? 1 : 0), seconds: (Date.now() - t0) / 1000, output }));
  });
}

const nodeTest = (list, n) => [process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${n}`, ...list]];
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

const started = Date.now();
const [fast, typecheck] = await Promise.all([
  run('fast suites', ...nodeTest(files('test', '.test.ts'), concurrency)),
  run('type check', process.execPath, [tsc, '--noEmit', '-p', '.'], { quiet: true }),
]);
if (typecheck.output.trim()) console.log(typecheck.output.trim());
const phases = [fast, typecheck];
if (fast.code === 0 && typecheck.code === 0) phases.push(await run('end-to-end suites', ...nodeTest(files('test/e2e', '.e2e.ts'), 1)));

console.log('');
for (const p of phases) console.log(`npm test: ${p.label}: ${p.code === 0 ? 'passed' : `FAILED (exit ${p.code})`} in ${p.seconds.toFixed(1)} s`);
if (phases.length < 3) console.log('npm test: end-to-end suites not run: the fast suites or the type check failed');
console.log(`npm test: ${((Date.now() - started) / 1000).toFixed(1)} s in all (the build before it not counted)`);
process.exit(phases.every((p) => p.code === 0) && phases.length === 3 ? 0 : 1);
