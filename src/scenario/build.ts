import { dirname } from 'node:path';
import { compileProgram } from '../kc/compiler.js';
import { Diagnostic, SourceRange } from '../kc/diagnostics.js';
import { parseKcExpression } from '../kc/parser.js';
import { CompiledFunction, Program } from '../kc/program.js';
import { Runtime } from '../kc/runtime.js';
import { Type, functionValue } from '../kc/types.js';
import { machineBuiltins } from '../machine/builtins.js';
import { SchedulePolicy, makeChooser } from '../machine/chooser.js';
import { EVENT_KINDS, EventKind, MachineEvent, conditionNames, conditionValue } from '../machine/events.js';
import { DeviceIrq, Machine, MachineFault, Snapshot } from '../machine/machine.js';
import { readSourceFile } from './files.js';
import { LoadedModel, PatchToApply, loadModel, modelSources, resolveModelDir, resolvePatch } from './model.js';
import { Expectation, MAX_SEED, MAX_STEPS, Scenario, Snippet, parseScenario } from './scenario.js';

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
  /** for each `expect TASK returns VALUE`: the task, the cell its call's result is kept in, and the value expected */
  returns: Map<Expectation, { task: number; result: number; expected: (rt: Runtime) => number }>;
}

export function loadScenarioFile(file: string, overrides: ScenarioOverrides = {}): { prepared?: PreparedScenario; diagnostics: Diagnostic[] } {
  const read = readSourceFile(file);
  if (typeof read !== 'string') {
    const r: SourceRange = { file, start: { line: 1, col: 1 }, end: { line: 1, col: 1 } };
    return { diagnostics: [{ range: r, severity: 'error', message: `cannot read ${file}: ${read.problem}` }] };
  }
  return prepareScenario(file, read, overrides);
}

/** Parses, loads the model and patches, compiles, boots and sets up the scenario's tasks. */
export function prepareScenario(file: string, text: string, overrides: ScenarioOverrides = {}): { prepared?: PreparedScenario; diagnostics: Diagnostic[] } {
  const { scenario, diagnostics } = parseScenario(file, text);
  // go on past line errors, so one check reports problems in the calls and conditions too
  if (!scenario.kernel || !scenario.cpus) return { diagnostics };
  diagnostics.push(...checkOverrides(scenario, overrides));
  const model = loadScenarioModel(scenario, overrides, diagnostics);
  if (!model) return { diagnostics };
  const expected = expectedReturns(scenario, diagnostics);

  const generated = scenarioSource(scenario, expected);
  const compiled = compileProgram([...modelSources(model), { file, text: generated.text }], { nrCpus: scenario.cpus.n, builtins: machineBuiltins() });
  for (const d of compiled.diagnostics) diagnostics.push(generated.remap(d));
  const program = compiled.program;
  if (!program) return { diagnostics };
  checkObjectNames(scenario, program, diagnostics);
  const machine = new Machine(program);
  const conditions = compileConditions(machine, scenario, diagnostics);
  const values = compileExpectedValues(program, expected, diagnostics);
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };

  setTopology(machine, scenario);
  if (!boot(machine, scenario, diagnostics)) return { diagnostics };
  const lineFunctions = new Map<number, CompiledFunction>();
  for (const [line, name] of generated.functions) lineFunctions.set(line, program.functionsByName.get(name)!);
  const tasks = startTasks(machine, scenario, lineFunctions, diagnostics);
  if (!tasks) return { diagnostics };
  for (const q of scenario.irqs) {
    const handler = lineFunctions.get(q.range.start.line)!;
    const when: DeviceIrq['when'] = q.when.kind === 'after'
      ? { kind: 'after', event: q.when.event, condition: conditions.get(q) }
      : q.when.kind === 'at' ? { kind: 'at', step: q.when.step } : { kind: 'any', from: q.when.from, to: q.when.to };
    machine.addDeviceIrq({ name: q.name, cpu: q.cpu, handler, args: [], when });
  }
  const returns: PreparedScenario['returns'] = new Map();
  for (const [e, task] of expected) {
    const result = program.globals.get(resultCell(task.range.start.line))!.addr;
    returns.set(e, { task: tasks.get(e.task)!, result, expected: values.get(e)! });
  }
  const objects = scenario.objects.map((o) => {
    const g = program.globals.get(o.name)!;
    return { name: o.name, addr: g.addr, type: g.type };
  });
  const schedule = overrides.schedule ?? (overrides.seed !== undefined ? { kind: 'random' as const, seed: overrides.seed } : scenario.schedule);
  return {
    prepared: {
      scenario, model, program, machine, start: machine.snapshot(), objects, schedule,
      maxSteps: overrides.maxSteps ?? scenario.maxSteps, ipiLatency: overrides.ipiLatency ?? scenario.ipiLatency, lineFunctions, returns,
    },
    diagnostics,
  };
}

/** The model the scenario names, with its patches (or the ones the overrides name instead). */
function loadScenarioModel(scenario: Scenario, overrides: ScenarioOverrides, diagnostics: Diagnostic[]): LoadedModel | undefined {
  const file = scenario.file;
  const dir = dirname(file);
  const start: SourceRange = { file, start: { line: 1, col: 1 }, end: { line: 1, col: 1 } };
  const names: { name: string; range: SourceRange; option?: string }[] = overrides.patches
    ? overrides.patches.map((name) => ({ name, range: start, option: 'patches' }))
    : scenario.patches;
  const patches: PatchToApply[] = [];
  for (const p of names) {
    const path = resolvePatch(p.name, dir);
    if (!path) diagnostics.push({ range: p.range, option: p.option, severity: 'error', message: `no patch named '${p.name}' (built-in patches are named like ipi-offline-v6/0001; a file path must end in .patch)` });
    else patches.push({ name: p.name, path, at: p.range, option: p.option });
  }
  return loadModel(resolveModelDir(scenario.kernel!.name, dir), patches, scenario.kernel!.range, diagnostics);
}

/** A scenario object must not be a model variable under another declaration: it would be the same memory. */
function checkObjectNames(scenario: Scenario, program: Program, diagnostics: Diagnostic[]): void {
  for (const o of scenario.objects) {
    const g = program.globals.get(o.name);
    if (g && g.range?.file !== scenario.file) {
      diagnostics.push({ range: o.range, severity: 'error', message: `'${o.name}' is already a variable of the model (${g.range ? `${g.range.file}:${g.range.start.line}` : 'built in'}): name the object differently` });
    }
  }
}

/**
 * The `where` conditions of irq lines, compiled; those of count expectations
 * are compiled too, to report their errors before any run (each run's tracker
 * compiles its own).
 */
function compileConditions(machine: Machine, scenario: Scenario, diagnostics: Diagnostic[]): Map<Scenario['irqs'][number], (e: MachineEvent) => boolean> {
  const out = new Map<Scenario['irqs'][number], (e: MachineEvent) => boolean>();
  for (const q of scenario.irqs) {
    if (q.when.kind !== 'after' || !q.when.where) continue;
    const test = eventCondition(machine, scenario.file, q.when.where, diagnostics, q.when.event);
    if (test) out.set(q, test);
  }
  for (const e of scenario.expectations) if (e.kind === 'count' && e.where) eventCondition(machine, scenario.file, e.where, diagnostics, e.event);
  return out;
}

/** The value each `expect TASK returns VALUE` expects, compiled. */
function compileExpectedValues(program: Program, expected: ReturnType<typeof expectedReturns>, diagnostics: Diagnostic[]): Map<Expectation, (rt: Runtime) => number> {
  const out = new Map<Expectation, (rt: Runtime) => number>();
  for (const e of expected.keys()) {
    const value = program.compileExpression(e.range.file, e.value.text, {}, { line: e.value.line, col: e.value.col });
    if (value.ok) out.set(e, value.eval);
    else diagnostics.push(...value.diagnostics);
  }
  return out;
}

/** Boots the model (its initcalls); false, with a diagnostic at the kernel line, when it does not boot. */
/** The machine as the scenario describes it before boot: which CPUs share a last-level cache, and the rq_affinity boot sets. */
function setTopology(machine: Machine, scenario: Scenario): void {
  for (const g of scenario.sharedCaches) for (const c of g.cpus) machine.lastLevelCache[c] = g.cpus[0];
  machine.rqAffinity = scenario.rqAffinity;
}

function boot(machine: Machine, scenario: Scenario, diagnostics: Diagnostic[]): boolean {
  let message: string;
  try {
    const r = machine.boot();
    if (r.kind === 'done') return true;
    message = r.message;
  } catch (e) {
    message = (e as Error).message;
  }
  diagnostics.push({ range: scenario.kernel!.range, severity: 'error', message: `the model did not boot: ${message}` });
  return false;
}

/**
 * Creates the scenario's tasks, in file order; the named ones by name. A
 * scenario with more tasks than the booted machine has room for is an error
 * at the first task too many.
 */
function startTasks(machine: Machine, scenario: Scenario, lineFunctions: Map<number, CompiledFunction>, diagnostics: Diagnostic[]): Map<string, number> | undefined {
  const taken = machine.allTasks().length;
  const free = machine.maxTasks - taken;
  if (scenario.tasks.length > free) {
    const first = scenario.tasks[free];
    diagnostics.push({ range: first.range, severity: 'error', message: `too many tasks: the machine holds ${machine.maxTasks} tasks with ${scenario.cpus!.n} CPUs and the kernel's own take ${taken}, so a scenario may start ${free}; this is task ${free + 1} of ${scenario.tasks.length}` });
    return undefined;
  }
  const named = new Map<string, number>();
  for (const t of scenario.tasks) {
    const task = machine.spawn(t.cpu, lineFunctions.get(t.range.start.line)!, t.name ?? `scenario/${t.range.start.line}`);
    if (t.name) named.set(t.name, task);
  }
  return named;
}

/**
 * Overrides from a command line or a launch configuration, checked against the
 * scenario. Their diagnostics name the option, not a line of the file.
 */
function checkOverrides(s: Scenario, o: ScenarioOverrides): Diagnostic[] {
  const out: Diagnostic[] = [];
  const range: SourceRange = { file: s.file, start: { line: 1, col: 1 }, end: { line: 1, col: 1 } };
  const bad = (option: string, message: string) => out.push({ range, option, severity: 'error', message });
  const n = s.cpus!.n;
  const cpus = o.schedule?.kind === 'list' ? o.schedule.cpus : [];
  const missing = cpus.find((c) => !Number.isInteger(c) || c < 0 || c >= n);
  if (missing !== undefined) bad('schedule', `CPU ${missing} does not exist: the scenario has ${n} CPUs (0 to ${n - 1})`);
  const seed = o.schedule?.kind === 'random' ? o.schedule.seed : o.seed;
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED)) bad('seed', `a seed is a whole number from 0 to ${MAX_SEED}, not ${seed}`);
  if (o.maxSteps !== undefined && !(Number.isInteger(o.maxSteps) && o.maxSteps >= 1 && o.maxSteps <= MAX_STEPS)) bad('maxSteps', `the step budget is a whole number from 1 to ${MAX_STEPS}, not ${o.maxSteps}`);
  const l = o.ipiLatency;
  const steps = (n: number) => Number.isInteger(n) && n >= 0 && n <= MAX_STEPS;
  // `any` is 0..Infinity: no bound at all
  if (l && !(steps(l.min) && (steps(l.max) || l.max === Infinity))) bad('ipiLatency', `a latency is N, A..B steps from 0 to ${MAX_STEPS}, or any; not ${l.min}..${l.max}`);
  else if (l && l.min > l.max) bad('ipiLatency', `the latency ${l.min}..${l.max} is reversed: write ${l.max}..${l.min}`);
  return out;
}

/**
 * Each `expect TASK returns VALUE` with the task it names. Such a task must run
 * one call, whose result the task keeps for the verdict.
 */
function expectedReturns(s: Scenario, diagnostics: Diagnostic[]): Map<Extract<Expectation, { kind: 'returns' }>, Scenario['tasks'][number]> {
  const out = new Map<Extract<Expectation, { kind: 'returns' }>, Scenario['tasks'][number]>();
  for (const e of s.expectations) {
    if (e.kind !== 'returns') continue;
    const task = s.tasks.find((t) => t.name === e.task);
    if (!task) continue;
    const body = parseKcExpression(s.file, task.call.text).expr;
    if (body?.kind !== 'call') {
      diagnostics.push({ range: e.range, severity: 'error', message: `task '${e.task}' must run one call for its return value to be expected: 'task ${e.task}: cpu ${task.cpu} runs FUNCTION(ARGS)'` });
      continue;
    }
    out.set(e, task);
  }
  return out;
}

/** The hidden global that keeps what the task on a scenario line returned. */
function resultCell(line: number): string {
  return `__scenario_result_${line}`;
}

/**
 * The scenario's own KC: object declarations as globals and one function per
 * task or interrupt line, each on the line it was written, so the debugger
 * shows scenario lines as the bottom frames. A task whose return value is
 * expected stores it in a global of its own, so it lives in machine memory
 * and goes back and forth in time with it.
 */
function scenarioSource(s: Scenario, expected: Map<unknown, Scenario['tasks'][number]>): { text: string; functions: Map<number, string>; remap: (d: Diagnostic) => Diagnostic } {
  const lines = s.text.split(/\r?\n/).map(() => '');
  const shift = new Map<number, number>();
  const functions = new Map<number, string>();
  const put = (snippet: Snippet, prefix: string, suffix: string) => {
    const pad = Math.max(0, snippet.col - 1 - prefix.length);
    lines[snippet.line - 1] = prefix + ' '.repeat(pad) + snippet.text + suffix;
    shift.set(snippet.line, prefix.length + pad - (snippet.col - 1));
  };
  for (const o of s.objects) put(o.decl, '', ';');
  const kept = new Set(expected.values());
  for (const t of s.tasks) {
    const line = t.range.start.line;
    const name = `__scenario_task_${line}`;
    functions.set(line, name);
    if (kept.has(t)) put(t.call, `int ${resultCell(line)}; void ${name}(void){${resultCell(line)} = `, ';}');
    else put(t.call, `void ${name}(void){`, ';}');
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

/** Names a condition over an event can use: `cpu` and every event's fields and aliases. */
const EVENT_FIELD_NAMES = [...new Set((Object.keys(EVENT_KINDS) as EventKind[]).flatMap(conditionNames))];
/** Fields whose value is text, which a condition cannot compare. */
const TEXT_FIELDS = new Set(['message', 'function', 'name', 'ret', 'cpumask', 'prev_comm', 'prev_state', 'next_comm', 'comm', 'prev', 'next', 'task']);
/** A field whose text names a place in a model function (`generic_exec_single+0x3/0x11`): a condition compares it with function names, like `func`. */
const FUNCTION_NAME_FIELDS = new Set(['callsite']);

/**
 * Compiles a KC condition over an event's numeric fields (`target == 1`,
 * `action == CPU_DYING`): scenario `where` clauses and event breakpoints.
 * With `event`, only that event's fields may be named. With `at` (where the
 * condition is written), a fault while it runs is reported there.
 */
export function compileEventCondition(machine: Machine, file: string, text: string, at?: { line: number; col: number }, event?: EventKind):
  { ok: true; test: (e: MachineEvent) => boolean } | { ok: false; diagnostics: Diagnostic[] } {
  const own: readonly string[] = event ? conditionNames(event) : EVENT_FIELD_NAMES;
  const numeric = own.filter((n) => !TEXT_FIELDS.has(n));
  const values = new Map<string, number>(numeric.map((n) => [n, 0]));
  const refused = new Map<string, string>();
  const fieldList = (names: readonly string[]) => names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : names.join('');
  for (const n of own) {
    if (TEXT_FIELDS.has(n)) refused.set(n, `'${n}' is text, and a condition compares numbers${event ? `: ${event}'s numeric fields are ${fieldList(numeric)}` : ''}`);
  }
  for (const n of EVENT_FIELD_NAMES) {
    if (!own.includes(n)) refused.set(n, `${event} has no field '${n}': its fields are ${fieldList(own)}`);
  }
  const r = machine.program.compileExpression(file, text, { values, refused }, at);
  if (!r.ok) return r;
  const where: SourceRange | undefined = at && { file, start: at, end: { line: at.line, col: at.col + text.length } };
  const functionId = (name: string) => machine.program.functionsByName.get(name)?.id;
  const evaluate = () => r.eval(machine) !== 0;
  return {
    ok: true,
    test: (e) => {
      for (const n of numeric) {
        const v = conditionValue(e, n);
        if (typeof v === 'number') values.set(n, v);
        else if (v !== undefined && FUNCTION_NAME_FIELDS.has(n)) {
          const id = functionId(v.replace(/\+.*$/, ''));
          values.set(n, id === undefined ? 0 : functionValue(id));
        } else values.set(n, 0);
      }
      if (!where) return evaluate();
      try {
        return evaluate();
      } catch (err) {
        // the condition is the scenario's own code: the fault belongs to its line, not to the model line that emitted the event
        if (err instanceof MachineFault) throw new MachineFault(`${err.message} (in the condition '${text}')`, err.cpu, where);
        throw err;
      }
    },
  };
}

/** A scenario's `where` condition over `event`; its problems go to `diagnostics`. */
export function eventCondition(machine: Machine, file: string, where: Snippet, diagnostics: Diagnostic[], event: EventKind): ((e: MachineEvent) => boolean) | undefined {
  const c = compileEventCondition(machine, file, where.text, { line: where.line, col: where.col }, event);
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
