/**
 * The timeline benchmarks' run: 64 CPUs, 32 pairs of them sending each other synchronous
 * IPIs for 1,000,000 steps, on a copy of the shipped model with one load generator added.
 */
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const STEPS = 1_000_000;
export const CPUS = 64;

const MODEL_DIR = path.resolve(__dirname, '..', 'models', 'linux-3.15');

const STRESS_KC = `/* not a kernel function: a load generator for the benchmark */
void bench_ping(int target)
{
	while (1)
		smp_call_function_single(target, do_nothing, NULL, 1);
}
`;

function scenario(modelDir: string): string {
  const lines = ['# benchmark load: 32 pairs of CPUs ping each other with synchronous IPIs', `kernel ${modelDir}`, `cpus ${CPUS}`];
  for (let c = 0; c < CPUS; c += 2) lines.push(`cpu ${c} runs bench_ping(${c + 1})`);
  lines.push(`max-steps ${STEPS}`, 'schedule random seed 1', '');
  return lines.join('\n');
}

/** Writes the model and the scenario into `dir`; returns the scenario's path and text. */
export function writeBenchScenario(dir: string): { file: string; text: string } {
  for (const f of readdirSync(MODEL_DIR)) if (f.endsWith('.kc')) copyFileSync(path.join(MODEL_DIR, f), path.join(dir, f));
  writeFileSync(path.join(dir, 'bench.kc'), STRESS_KC);
  const file = path.join(dir, 'bench-timeline.smp');
  const text = scenario(dir);
  writeFileSync(file, text);
  return { file, text };
}
