import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { compileProgram } from '../kc/compiler.js';
import { Diagnostic, SourceRange } from '../kc/diagnostics.js';
import { CompiledFunction, Program } from '../kc/program.js';
import { Type } from '../kc/types.js';
import { machineBuiltins } from '../machine/builtins.js';
import { SchedulePolicy, makeChooser } from '../machine/chooser.js';
import { EVENT_KINDS, MachineEvent } from '../machine/events.js';
import { DeviceIrq, Machine, Snapshot } from '../machine/machine.js';
import { LoadedModel, loadModel, modelSources, resolveModelDir, resolvePatch } from './model.js';
import { Scenario, Snippet, parseScenario } from './scenario.js';

/** What a command line or a launch configuration may change about a scenario. */
export interface ScenarioOverrides {
  seed?: number;
  schedule?: SchedulePolicy;
  maxSteps?: number;
  /** replaces the scenario's own patch list */
  patches?: string[];
  ipiLatency?: { min: number; max: number };
}

/** A scenario compiled and booted, ready to run any number of times from its start. */
export interface PreparedScenario {
  scenario: Scenario;
  model: LoadedModel;
  program: Program;
  machine: Machine;
  /** the booted machine with the scenario's tasks created, before any choice is made */
  start: Snapshot;
  objects: { name: string; addr: number; type: Type }[];
  schedule: SchedulePolicy;
  maxSteps: number;
  ipiLatency: { min: number; max: number };
  /** the generated function for each scenario line that runs code */
  lineFunctions: Map<number, CompiledFunction>;
}

export function loadScenarioFile(file: string, overrides: ScenarioOverrides = {}): { prepared?: PreparedScenario; diagnostics: Diagnostic[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const r: SourceRange = { file, start: { line: 1, col: 1 }, end: { line: 1, col: 1 } };
    return { diagnostics: [{ range: r, severity: 'error', message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }] };
  }
  return prepareScenario(file, text, overrides);
}

/** Parses, loads the model and patches, compiles, boots and sets up the scenario's tasks. */
export function prepareScenario(file: string, text: string, overrides: ScenarioOverrides = {}): { prepared?: PreparedScenario; diagnostics: Diagnostic[] } {
  const { scenario, diagnostics } = parseScenario(file, text);
  // go on past line errors, so one check reports problems in the calls too
  if (!scenario.kernel || !scenario.cpus) return { diagnostics };
  const dir = dirname(file);
  const patchNames = overrides.patches
    ? overrides.patches.map((name) => ({ name, range: scenario.kernel!.range }))
    : scenario.patches;
  const patches: { name: string; path: string; at: SourceRange }[] = [];
  for (const p of patchNames) {
    const path = resolvePatch(p.name, dir);
    if (!path) diagnostics.push({ range: p.range, severity: 'error', message: `no patch named '${p.name}' (built-in patches are named like ipi-offline-v6/0001; a file path must end in .patch)` });
    else patches.push({ name: p.name, path, at: p.range });
  }
  const model = loadModel(resolveModelDir(scenario.kernel.name, dir), patches, scenario.kernel.range, diagnostics);
  if (!model) return { diagnostics };

  const generated = scenarioSource(scenario);
  const compiled = compileProgram([...modelSources(model), { file, text: generated.text }], { nrCpus: scenario.cpus.n, builtins: machineBuiltins() });
  for (const d of compiled.diagnostics) diagnostics.push(generated.remap(d));
  const program = compiled.program;
  if (!program || diagnostics.some((d) => d.severity === 'error')) return { diagnostics };

  const machine = new Machine(program);
  try {
    const boot = machine.boot();
    if (boot.kind !== 'done') {
      diagnostics.push({ range: scenario.kernel.range, severity: 'error', message: `the model did not boot: ${boot.message}` });
      return { diagnostics };
    }
  } catch (e) {
    diagnostics.push({ range: scenario.kernel.range, severity: 'error', message: `the model did not boot: ${(e as Error).message}` });
    return { diagnostics };
  }
  const lineFunctions = new Map<number, CompiledFunction>();
  for (const [line, name] of generated.functions) lineFunctions.set(line, program.functionsByName.get(name)!);
  scenario.tasks.forEach((t) => {
    const fn = lineFunctions.get(t.range.start.line)!;
    machine.spawn(t.cpu, fn, `scenario/${t.range.start.line}`);
  });
  for (const q of scenario.irqs) {
    const handler = lineFunctions.get(q.range.start.line)!;
    const when: DeviceIrq['when'] = q.when.kind === 'after'
      ? { kind: 'after', event: q.when.event, condition: q.when.where ? eventCondition(machine, file, q.when.where, diagnostics) : undefined }
      : q.when.kind === 'at' ? { kind: 'at', step: q.when.step } : { kind: 'any', from: q.when.from, to: q.when.to };
    machine.addDeviceIrq({ name: q.name, cpu: q.cpu, handler, args: [], when });
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  const objects = scenario.objects.map((o) => {
    const g = program.globals.get(o.name)!;
    return { name: o.name, addr: g.addr, type: g.type };
  });
  const schedule = overrides.schedule ?? (overrides.seed !== undefined ? { kind: 'random' as const, seed: overrides.seed } : scenario.schedule);
  return {
    prepared: {
      scenario, model, program, machine, start: machine.snapshot(), objects, schedule,
      maxSteps: overrides.maxSteps ?? scenario.maxSteps, ipiLatency: overrides.ipiLatency ?? scenario.ipiLatency, lineFunctions,
    },
    diagnostics,
  };
}

/**
 * The scenario's own KC: object declarations as globals and one function per
 * task or interrupt line, each on the line it was written, so the debugger
 * shows scenario lines as the bottom frames.
 */
function scenarioSource(s: Scenario): { text: string; functions: Map<number, string>; remap: (d: Diagnostic) => Diagnostic } {
  const lines = s.text.split(/\r?\n/).map(() => '');
  const shift = new Map<number, number>();
  const functions = new Map<number, string>();
  const put = (snippet: Snippet, prefix: string, suffix: string) => {
    const pad = Math.max(0, snippet.col - 1 - prefix.length);
    lines[snippet.line - 1] = prefix + ' '.repeat(pad) + snippet.text + suffix;
    shift.set(snippet.line, prefix.length + pad - (snippet.col - 1));
  };
  for (const o of s.objects) put(o.decl, '', ';');
  for (const t of s.tasks) {
    const name = `__scenario_task_${t.range.start.line}`;
    functions.set(t.range.start.line, name);
    put(t.call, `void ${name}(void){`, ';}');
  }
  for (const q of s.irqs) {
    const name = `__scenario_irq_${q.range.start.line}`;
    functions.set(q.range.start.line, name);
    put(q.call, `void ${name}(void){`, ';}');
  }
  const remap = (d: Diagnostic): Diagnostic => {
    if (d.range.file !== s.file) return d;
    const k = shift.get(d.range.start.line) ?? 0;
    const fix = (p: { line: number; col: number }) => ({ line: p.line, col: Math.max(1, p.col - (shift.get(p.line) ?? k)) });
    return { ...d, range: { ...d.range, start: fix(d.range.start), end: fix(d.range.end) } };
  };
  return { text: lines.join('\n'), functions, remap };
}

/** Names a condition over an event can use: `cpu` and every event's fields. */
const EVENT_FIELD_NAMES = [...new Set(['cpu', ...Object.values(EVENT_KINDS).flatMap((k) => k.fields)])];

/**
 * Compiles a KC condition over an event's numeric fields (`target == 1`,
 * `action == CPU_DYING`): scenario `where` clauses and event breakpoints.
 */
export function compileEventCondition(machine: Machine, file: string, text: string, at?: { line: number; col: number }):
  { ok: true; test: (e: MachineEvent) => boolean } | { ok: false; diagnostics: Diagnostic[] } {
  const values = new Map<string, number>(EVENT_FIELD_NAMES.map((n) => [n, 0]));
  const r = machine.program.compileExpression(file, text, { values }, at);
  if (!r.ok) return r;
  return {
    ok: true,
    test: (e) => {
      for (const n of EVENT_FIELD_NAMES) values.set(n, 0);
      values.set('cpu', e.cpu);
      for (const [k, v] of Object.entries(e.fields)) if (typeof v === 'number') values.set(k, v);
      return r.eval(machine) !== 0;
    },
  };
}

/** A scenario's `where` condition; its problems go to `diagnostics`. */
export function eventCondition(machine: Machine, file: string, where: Snippet, diagnostics: Diagnostic[]): ((e: MachineEvent) => boolean) | undefined {
  const c = compileEventCondition(machine, file, where.text, { line: where.line, col: where.col });
  if (c.ok) return c.test;
  diagnostics.push(...c.diagnostics);
  return undefined;
}

/** A fresh run of a prepared scenario from its start, with the given chooser settings. */
export function startRun(p: PreparedScenario, opts: { schedule?: SchedulePolicy; ipiLatency?: { min: number; max: number }; recordChoices?: boolean } = {}): Machine {
  const m = p.machine;
  m.restore(p.start);
  m.chooser = makeChooser(opts.schedule ?? p.schedule);
  m.ipiLatency = opts.ipiLatency ?? p.ipiLatency;
  m.recordChoices = opts.recordChoices ?? false;
  m.choiceLog.length = 0;
  m.startDeviceIrqs();
  return m;
}
