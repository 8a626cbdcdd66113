import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { machineBuiltins } from '../src/machine/builtins.js';
import { compileProgram, KcSource } from '../src/kc/compiler.js';
import { loadScenarioFile, startRun } from '../src/scenario/build.js';
import { TimelineRecorder } from '../src/timeline/recorder.js';

export const ROOT = join(__dirname, '..');
export const CLI = join(ROOT, 'dist', 'cli.js');

/** Runs the built command line, as a user would. */
export function smplab(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Compiles KC sources on a small machine's built-ins. */
export function compile(files: KcSource[] | string, nrCpus = 2) {
  const sources = typeof files === 'string' ? [{ file: 'test.kc', text: files }] : files;
  return compileProgram(sources, { nrCpus, builtins: machineBuiltins() });
}

/** The race example run to its end with a timeline recorder listening. */
export function recordRace() {
  const { prepared } = loadScenarioFile(join(ROOT, 'examples/ipi-offline-race.smp'));
  if (!prepared) throw new Error('the race example does not load');
  const m = startRun(prepared);
  const r = new TimelineRecorder(m);
  m.onEvent(r.listener);
  m.run(prepared.maxSteps);
  r.settle(m.steps);
  return { m, r };
}
