import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadScenarioFile } from '../src/scenario/build.js';
import { ALL_REDUCTIONS, NO_REDUCTIONS, Reductions, ScheduleSearch } from '../src/explore/search.js';

/**
 * The reductions only cut cost: on small scenarios drawn at random (which
 * CPUs call which, who goes offline by hand, a disk interrupt at any step,
 * the IPI latency, the patches) the reduced search reaches exactly the end
 * outcomes of the search with every reduction off.
 */

const dir = mkdtempSync(join(tmpdir(), 'smplab-sound-'));
/** unreduced searches larger than this are left out (they take seconds each) */
const MAX_UNREDUCED_STATES = 40_000;

const task = (cpu: number, cpus: number) =>
  fc.oneof(
    fc.constant(''),
    fc.constant(cpu === 1 ? 'local_irq_disable(); set_cpu_online(1, 0); local_irq_enable()' : ''),
    fc.record({ target: fc.integer({ min: 0, max: cpus - 1 }).filter((t) => t !== cpu), wait: fc.integer({ min: 0, max: 1 }) })
      .map(({ target, wait }) => `smp_call_function_single(${target}, do_nothing, 0, ${wait})`),
  );

const scenario = fc.integer({ min: 2, max: 3 }).chain((cpus) =>
  fc.record({
    cpus: fc.constant(cpus),
    patches: fc.constantFrom([], ['0001'], ['0001', '0003'], ['0002']),
    latency: fc.constantFrom('0', 'any', '1..3'),
    tasks: fc.tuple(...Array.from({ length: cpus }, (_, c) => task(c, cpus))),
    disk: fc.option(fc.integer({ min: 0, max: cpus - 1 }), { nil: undefined }),
  }));

type Drawn = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function text(s: Drawn): string {
  const lines = ['kernel linux-3.15', ...s.patches.map((p) => `patch ipi-offline-v6/${p}`), `cpus ${s.cpus}`, `ipi-latency ${s.latency}`];
  s.tasks.forEach((t, c) => t && lines.push(`cpu ${c} runs ${t}`));
  if (s.disk !== undefined) {
    lines.push(`struct request req0 = { .cpu = ${(s.disk + 1) % s.cpus} }`);
    lines.push(`irq disk on cpu ${s.disk} at any step: blk_complete_request(&req0)`);
  }
  lines.push('expect no warning', 'expect no lost work', 'expect count ipi-send >= 1');
  return lines.join('\n') + '\n';
}

function outcomes(file: string, reductions: Reductions, maxStates?: number): { outcomes: string[]; states: number; complete: boolean } {
  const { prepared, diagnostics } = loadScenarioFile(file);
  assert.ok(prepared, JSON.stringify(diagnostics));
  const s = new ScheduleSearch(prepared, { reductions, goal: 'outcomes', limits: { maxStates } }).run();
  return { outcomes: [...s.outcomes].sort(), states: s.stats.states, complete: s.cutBy === undefined };
}

test('on random small scenarios the reduced search reaches exactly the outcomes of the unreduced one', (t) => {
  let compared = 0;
  let tooBig = 0;
  let n = 0;
  let reducedStates = 0;
  let fullStates = 0;
  fc.assert(
    fc.property(scenario, (s) => {
      const file = join(dir, `s${n++}.smp`);
      const source = text(s);
      writeFileSync(file, source);
      const full = outcomes(file, NO_REDUCTIONS, MAX_UNREDUCED_STATES);
      if (!full.complete) {
        tooBig++;
        return;
      }
      const reduced = outcomes(file, ALL_REDUCTIONS);
      assert.ok(reduced.complete);
      assert.deepEqual(reduced.outcomes, full.outcomes, source);
      compared++;
      reducedStates += reduced.states;
      fullStates += full.states;
    }),
    { numRuns: 40, seed: 20261130 },
  );
  t.diagnostic(`${compared} scenarios compared (${tooBig} too big to search unreduced); states ${fullStates} unreduced, ${reducedStates} reduced`);
  assert.ok(compared >= 20, `most drawn scenarios are small enough to compare (${compared} of 40)`);
});
