/**
 * Profiling helper, not part of `npm run bench`:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile.ts race 4 [seconds] [bundled|src]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile.ts snapshot 64
 *
 * Runs one workload for a few seconds. With the bundled engine, the bundle's
 * text is written to $BENCH_BUNDLE_OUT (if set) so profile line numbers can be
 * looked up in it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { EngineKind, bundleSource, loadEngine } from './engine';

const [what = 'race', nArg = '4', secArg = '4', kindArg = 'bundled'] = process.argv.slice(2);
const kind = kindArg as EngineKind;
const cpus = Number(nArg);
if (kind === 'bundled' && process.env.BENCH_BUNDLE_OUT) writeFileSync(process.env.BENCH_BUNDLE_OUT, bundleSource());
const engine = loadEngine(kind);
const examples = path.join(__dirname, '..', 'examples');
const text = readFileSync(path.join(examples, 'ipi-offline-race.smp'), 'utf8').replace(/^cpus\s+3\b/m, `cpus   ${cpus}`);
const { prepared: p, diagnostics } = engine.prepareScenario(path.join(examples, `bench-race-${cpus}.smp`), text);
if (!p) throw new Error(diagnostics.map((d) => d.message).join('\n'));
const end = Date.now() + Number(secArg) * 1000;
let steps = 0;
let n = 0;
const t0 = process.hrtime.bigint();
if (what === 'race') {
  for (let seed = 0; Date.now() < end; seed++) {
    const m = engine.startRun(p, { schedule: { kind: 'random', seed } });
    m.run(p.maxSteps);
    steps += m.steps;
    n++;
  }
} else {
  const m = engine.startRun(p, { schedule: { kind: 'random', seed: 1 } });
  m.run(5000);
  while (Date.now() < end) {
    m.restore(m.snapshot());
    n++;
  }
}
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`${what} ${cpus} CPUs (${kind}): ${n} iterations, ${steps} steps, ${(steps / s).toFixed(0)} steps/s (wall, startRun included), ${((s / n) * 1e6).toFixed(1)} us/iteration`);
