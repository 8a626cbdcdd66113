import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { Machine } from '../machine/machine.js';
import { PreparedScenario } from '../scenario/build.js';
import { modelSources } from '../scenario/model.js';

/**
 * A failing schedule as a file: which scenario (by name and by a hash of
 * everything that decides its runs), which expectation broke, and the
 * schedule itself, one actor per step, run-length encoded:
 * `2*37 1 ipi>1 0*12 irq:disk` is CPU 2 for 37 steps, CPU 1 once, the IPI in
 * flight to CPU 1 arrives, CPU 0 for 12 steps, the disk interrupt fires.
 */
export interface CounterexampleFile {
  smplab: 'counterexample';
  version: 1;
  scenario: string;
  scenarioHash: string;
  expectation: string;
  line?: number;
  detail: string;
  preemptions: number;
  steps: number;
  /** the step of the event that broke the expectation (0: it was judged at the end of the run) */
  failingStep: number;
  schedule: string;
}

/** A hash of the scenario text, the model and patches as compiled, and the settings that change runs. */
export function scenarioHash(p: PreparedScenario): string {
  const h = createHash('sha256');
  h.update(p.scenario.text);
  for (const s of modelSources(p.model)) h.update(`\0${basename(s.file)}\0${s.text}`);
  h.update(`\0latency ${p.ipiLatency.min}..${p.ipiLatency.max}\0steps ${p.maxSteps}`);
  return h.digest('hex').slice(0, 16);
}

export function encodeSchedule(m: Machine, actors: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < actors.length;) {
    let j = i;
    while (j < actors.length && actors[j] === actors[i]) j++;
    const name = m.actorName(actors[i]);
    parts.push(j - i > 1 ? `${name}*${j - i}` : name);
    i = j;
  }
  return parts.join(' ');
}

/** The actors of an encoded schedule, or a message saying which word is wrong. */
export function decodeSchedule(m: Machine, text: string): { actors: number[] } | { error: string } {
  const actors: number[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const [name, count] = word.split('*');
    const actor = m.actorByName(name);
    if (actor === undefined) return { error: `'${name}' is not a CPU, IPI or interrupt of this scenario` };
    const n = count === undefined ? 1 : Number(count);
    if (!Number.isInteger(n) || n < 1 || n > 100_000_000) return { error: `'${word}': the repeat count must be a whole number from 1` };
    for (let i = 0; i < n; i++) actors.push(actor);
  }
  return { actors };
}

export function makeCounterexample(p: PreparedScenario, v: { expectation: string; line?: number; detail: string; step?: number }, actors: readonly number[], preemptions: number): CounterexampleFile {
  return {
    smplab: 'counterexample', version: 1, scenario: basename(p.scenario.file), scenarioHash: scenarioHash(p),
    expectation: v.expectation, line: v.line, detail: v.detail, preemptions, steps: actors.length, failingStep: v.step ?? 0,
    schedule: encodeSchedule(p.machine, actors),
  };
}

/** Reads a counterexample file's text for a prepared scenario: the actors, or why it does not fit. */
export function readCounterexample(p: PreparedScenario, text: string): { file: CounterexampleFile; actors: number[] } | { error: string } {
  let file: CounterexampleFile;
  try {
    file = JSON.parse(text);
  } catch (e) {
    return { error: `not a counterexample file (not JSON: ${(e as Error).message})` };
  }
  if (!file || file.smplab !== 'counterexample' || typeof file.schedule !== 'string') return { error: 'not a counterexample file (no "smplab": "counterexample" and "schedule")' };
  if (file.version !== 1) return { error: `counterexample file version ${file.version} is not one this smplab reads (1)` };
  const hash = scenarioHash(p);
  if (file.scenarioHash !== hash) {
    return { error: `the counterexample was found for ${file.scenario} as it was then (hash ${file.scenarioHash}); the scenario, its model, patches or settings have changed since (hash ${hash}): explore again` };
  }
  const decoded = decodeSchedule(p.machine, file.schedule);
  if ('error' in decoded) return decoded;
  return { file, actors: decoded.actors };
}
