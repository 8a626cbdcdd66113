import { DebugProtocol } from '@vscode/debugprotocol';
import { ScenarioOverrides } from '../scenario/build.js';

/** The attributes of an `smplab` launch configuration (package.json's configurationAttributes). */
export interface LaunchArguments extends DebugProtocol.LaunchRequestArguments {
  scenario: string;
  stopOnEntry?: boolean;
  seed?: number;
  schedule?: string;
  patches?: string[];
  maxSteps?: number;
  ipiLatency?: string | number;
  /** a schedule saved by `smplab explore` (a .counterexample file): the run follows it */
  replay?: string;
}

/** A launch configuration, checked: what to load and what to change about it. */
export interface LaunchPlan {
  scenario: string;
  stopOnEntry: boolean;
  overrides: ScenarioOverrides;
  /** the counterexample file the run follows */
  replay?: string;
}

/**
 * The one place launch attributes are read. Returns the plan, or a message
 * saying which attribute is wrong and what it takes.
 */
export function parseLaunchArguments(args: LaunchArguments): LaunchPlan | { error: string } {
  if (!args || typeof args.scenario !== 'string' || !args.scenario) return { error: 'launch needs "scenario": the path of a .smp file' };
  try {
    if (args.replay !== undefined && (typeof args.replay !== 'string' || !args.replay)) return { error: '"replay" must be the path of a .counterexample file' };
    if (args.replay !== undefined && (args.seed !== undefined || args.schedule !== undefined)) return { error: '"replay" follows a saved schedule: leave out "seed" and "schedule"' };
    return { scenario: args.scenario, stopOnEntry: !!args.stopOnEntry, overrides: parseOverrides(args), replay: args.replay };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function parseOverrides(args: LaunchArguments): ScenarioOverrides {
  const o: ScenarioOverrides = {};
  if (args.maxSteps !== undefined) {
    if (!Number.isInteger(args.maxSteps) || args.maxSteps <= 0) throw new Error('"maxSteps" must be a positive whole number');
    o.maxSteps = args.maxSteps;
  }
  if (args.patches !== undefined) {
    if (!Array.isArray(args.patches) || args.patches.some((p) => typeof p !== 'string')) throw new Error('"patches" must be a list of patch names');
    o.patches = args.patches;
  }
  if (args.ipiLatency !== undefined) {
    const m = /^(\d+)(?:\.\.(\d+))?$/.exec(String(args.ipiLatency));
    if (String(args.ipiLatency) === 'any') o.ipiLatency = { min: 0, max: Infinity };
    else if (!m) throw new Error('"ipiLatency" must be N, A..B or any');
    else o.ipiLatency = { min: Number(m[1]), max: Number(m[2] ?? m[1]) };
  }
  if (args.seed !== undefined && (!Number.isInteger(args.seed) || args.seed < 0)) throw new Error('"seed" must be a whole number');
  if (args.schedule !== undefined) {
    if (args.schedule === 'round-robin') o.schedule = { kind: 'round-robin' };
    else if (args.schedule === 'random') o.schedule = { kind: 'random', seed: args.seed ?? 1 };
    else if (/^\d+(,\d+)*$/.test(args.schedule)) o.schedule = { kind: 'list', cpus: args.schedule.split(',').map(Number) };
    else throw new Error('"schedule" must be round-robin, random or a list like 0,1,1,2');
  } else if (args.seed !== undefined) o.schedule = { kind: 'random', seed: args.seed };
  return o;
}
