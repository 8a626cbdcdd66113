#!/usr/bin/env node
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Diagnostic, formatDiagnostic } from '../kc/diagnostics.js';
import { ReplayList, SchedulePolicy } from '../machine/chooser.js';
import { MachineEvent } from '../machine/events.js';
import { eventJson, eventLines, ftraceText } from '../machine/trace.js';
import { PreparedScenario, ScenarioOverrides, loadScenarioFile } from '../scenario/build.js';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readCounterexample } from '../explore/counterexample.js';
import { ExploreOptions } from '../explore/explore.js';
import { ExploreArgs, ShardJob, cmdExplore, cmdMerge, parseStrategy, runShardJob } from './explore.js';
import { runScenario } from '../scenario/run.js';
import { serveFromCli } from '../debug/serve.js';
import { TimelineRecorder } from '../timeline/recorder.js';
import { chromeTrace } from '../timeline/chromeTrace.js';
import { writeChromeTrace } from '../timeline/traceFile.js';

const USAGE = `usage: smplab <command> [options]

commands:
  run FILE.smp [options]     run a scenario, print its event log and a verdict per expectation
      --seed N               random schedule with this seed
      --schedule S           round-robin | random | 0,1,1,2,... (a list of CPUs to step)
      --max-steps N          step budget (default: the scenario's, or 1000000)
      --patch NAME           apply this patch instead of the scenario's (repeatable)
      --ipi-latency N|A..B|any  IPI delivery latency in steps
      --replay FILE          follow a schedule saved by explore (a .counterexample file)
      --json                 one JSON object per line: events, then a summary
      --quiet                verdicts only
      --ftrace-out FILE      also write the run's events as ftrace text (trace-cmd report -l form)
      --trace-out FILE       also write the run as Chrome trace-event JSON (opens in Perfetto)
  explore FILE.smp [options] try every schedule: which CPU steps, when IPIs arrive, when
                             interrupts fire; verify every expectation or find a counterexample
      --strategy S           dfs (default) | bfs | pct | random
      --max-states N         stop after N distinct states
      --max-time SECONDS     stop after this long
      --preemption-bound K   only schedules with at most K preemptions
      --workers N            split the search over N threads
      --shard I/N            explore part I of N (run every part, then --merge)
      --out FILE             where to save a counterexample (default: beside the scenario)
      --runs N, --seed N     random and pct: how many runs, from which seed
      --expectation LINE     judge only the expect line at LINE
      --outcomes             list every way a run can end instead of stopping at a counterexample
      --progress             a progress line on stderr even when it is not a terminal
      --patch, --ipi-latency, --max-steps   as for run
      --json                 one JSON object with the result
      --quiet                verdict and summary only
  explore --merge A.json B.json ...   one verdict from the shards' --json results
  check FILE...              check scenarios and models; print file:line:col: error: message
  dap [--port N]             serve the Debug Adapter Protocol on stdio (or on 127.0.0.1:N)
  --help, --version

exit status: 0 every expectation holds (explore: in every schedule); 1 one fails;
             2 bad input; 3 explore found nothing but a limit cut the search`;

class UsageError extends Error {}

function version(): string {
  for (const up of ['..', join('..', '..')]) {
    try {
      return JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')).version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}

function parseRunArgs(args: string[]): { file: string; overrides: ScenarioOverrides; json: boolean; quiet: boolean; replay?: string; ftraceOut?: string; traceOut?: string } {
  const overrides: ScenarioOverrides = {};
  let file: string | undefined;
  let json = false;
  let quiet = false;
  let replay: string | undefined;
  let ftraceOut: string | undefined;
  let traceOut: string | undefined;
  let seed: number | undefined;
  let schedule: string | undefined;
  const value = (i: number, flag: string) => {
    if (i >= args.length) throw new UsageError(`${flag} needs a value`);
    return args[i];
  };
  const int = (s: string, flag: string) => {
    if (!/^\d+$/.test(s)) throw new UsageError(`${flag} takes a whole number, not '${s}'`);
    return Number(s);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    switch (a) {
      case '--seed': seed = int(value(++i, a), a); break;
      case '--schedule': schedule = value(++i, a); break;
      case '--max-steps': overrides.maxSteps = int(value(++i, a), a); break;
      case '--patch': (overrides.patches ??= []).push(value(++i, a)); break;
      case '--ipi-latency': {
        const v = value(++i, a);
        if (v === 'any') {
          overrides.ipiLatency = { min: 0, max: Infinity };
          break;
        }
        const m = /^(\d+)(?:\.\.(\d+))?$/.exec(v);
        if (!m) throw new UsageError('--ipi-latency takes N, A..B or any');
        overrides.ipiLatency = { min: Number(m[1]), max: Number(m[2] ?? m[1]) };
        break;
      }
      case '--replay': replay = value(++i, a); break;
      case '--ftrace-out': ftraceOut = value(++i, a); break;
      case '--trace-out': traceOut = value(++i, a); break;
      case '--json': json = true; break;
      case '--quiet': quiet = true; break;
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
        if (file) throw new UsageError(`run takes one scenario file, got ${file} and ${a}`);
        file = a;
    }
  }
  if (!file) throw new UsageError('run needs a scenario file');
  if (replay && (seed !== undefined || schedule !== undefined)) throw new UsageError('--replay follows a saved schedule: it takes no --seed or --schedule');
  if (seed !== undefined && schedule !== undefined && schedule !== 'random') throw new UsageError(`--seed is for a random schedule; --schedule ${schedule} makes no random choices`);
  let policy: SchedulePolicy | undefined;
  if (schedule === 'round-robin') policy = { kind: 'round-robin' };
  else if (schedule === 'random') policy = { kind: 'random', seed: seed ?? 1 };
  else if (schedule !== undefined) {
    if (!/^\d+(,\d+)*$/.test(schedule)) throw new UsageError(`--schedule takes round-robin, random or a list like 0,1,1,2, not '${schedule}'`);
    policy = { kind: 'list', cpus: schedule.split(',').map(Number) };
  } else if (seed !== undefined) policy = { kind: 'random', seed };
  overrides.schedule = policy;
  return { file, overrides, json, quiet, replay, ftraceOut, traceOut };
}

function parseExploreArgs(args: string[]): ExploreArgs {
  const run: string[] = [];
  const options: ExploreOptions = {};
  let maxTimeSeconds: number | undefined;
  let workers = 1;
  let out: string | undefined;
  let json = false;
  let quiet = false;
  let progress = false;
  let expectation: number | undefined;
  const value = (i: number, flag: string) => {
    if (i >= args.length) throw new UsageError(`${flag} needs a value`);
    return args[i];
  };
  const count = (s: string, flag: string, min: number) => {
    if (!/^\d+$/.test(s) || Number(s) < min || !Number.isSafeInteger(Number(s))) throw new UsageError(`${flag} takes a whole number from ${min}, not '${s}'`);
    return Number(s);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    switch (a) {
      case '--strategy': {
        const s = parseStrategy(value(++i, a));
        if (!s) throw new UsageError(`--strategy takes dfs, bfs, pct or random, not '${args[i]}'`);
        options.strategy = s;
        break;
      }
      case '--max-states': options.maxStates = count(value(++i, a), a, 1); break;
      case '--max-time': {
        const v = value(++i, a);
        if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) throw new UsageError(`--max-time takes a number of seconds, not '${v}'`);
        maxTimeSeconds = Number(v);
        break;
      }
      case '--preemption-bound': options.preemptionBound = count(value(++i, a), a, 0); break;
      case '--workers': workers = count(value(++i, a), a, 1); break;
      case '--shard': {
        const m = /^(\d+)\/(\d+)$/.exec(value(++i, a));
        if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new UsageError(`--shard takes I/N with 1 <= I <= N, not '${args[i]}'`);
        options.shard = { index: Number(m[1]), count: Number(m[2]) };
        break;
      }
      case '--out': out = value(++i, a); break;
      case '--runs': options.runs = count(value(++i, a), a, 1); break;
      case '--seed': options.seed = count(value(++i, a), a, 0); break;
      case '--json': json = true; break;
      case '--quiet': quiet = true; break;
      case '--progress': progress = true; break;
      case '--outcomes': options.outcomes = true; break;
      case '--expectation': expectation = count(value(++i, a), a, 1); break;
      case '--patch':
      case '--ipi-latency':
      case '--max-steps':
        run.push(a, value(++i, a));
        break;
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
        run.push(a);
    }
  }
  if (options.shard && options.strategy && options.strategy !== 'dfs') throw new UsageError('--shard splits a dfs search; it does not apply to --strategy ' + options.strategy);
  if (options.outcomes && ((options.strategy && options.strategy !== 'dfs') || options.preemptionBound !== undefined)) throw new UsageError('--outcomes lists the outcomes of a complete dfs search: it takes no --strategy or --preemption-bound');
  const { file, overrides } = parseRunArgs(run);
  return { file, overrides, options, maxTimeSeconds, workers, out, json, quiet, progress, expectation };
}

/** The command-line spelling of each option a diagnostic can be about (the scenario layer names them as launch attributes). */
const OPTION_FLAGS: Record<string, string> = {
  seed: '--seed', schedule: '--schedule', maxSteps: '--max-steps', patches: '--patch', ipiLatency: '--ipi-latency',
};

function printDiagnostics(diags: readonly Diagnostic[]): void {
  for (const d of diags) {
    if (d.option) process.stderr.write(`smplab: ${formatDiagnostic({ ...d, option: OPTION_FLAGS[d.option] ?? d.option })}\n`);
    else process.stderr.write(formatDiagnostic(d) + '\n');
  }
}

function cmdRun(args: string[]): number {
  const { file, overrides, json, quiet, replay, ftraceOut, traceOut } = parseRunArgs(args);
  const { prepared, diagnostics } = loadScenarioFile(file, overrides);
  printDiagnostics(diagnostics);
  if (!prepared) return 2;
  if (replay) {
    const read = readReplay(prepared, replay);
    if ('error' in read) {
      process.stderr.write(`smplab: ${replay}: ${read.error}\n`);
      return 2;
    }
    prepared.schedule = { kind: 'replay', actors: read.actors };
  }
  const m = prepared.machine;
  const out = (s: string) => process.stdout.write(s + '\n');
  const events: MachineEvent[] = [];
  const print = quiet ? undefined : json ? (e: MachineEvent) => out(JSON.stringify(eventJson(m, e))) : (e: MachineEvent) => eventLines(m, e).forEach(out);
  const recorder = traceOut ? new TimelineRecorder(m) : undefined;
  const onEvent = (e: MachineEvent) => {
    print?.(e);
    if (ftraceOut) events.push(e);
    recorder?.listener(e);
  };
  const result = runScenario(prepared, { onEvent });
  const chooser = prepared.machine.chooser;
  if (chooser instanceof ReplayList && chooser.diverged >= 0) {
    process.stderr.write(`smplab: the run left the saved schedule at step ${chooser.diverged + 1}: the actor it names could not step there\n`);
  }
  const policy = prepared.schedule;
  const how = policy.kind === 'random' ? `random seed ${policy.seed}` : policy.kind === 'list' ? `schedule ${policy.cpus.join(',')}` : policy.kind === 'replay' ? `replaying ${replay}` : 'round-robin';
  if (json) {
    out(JSON.stringify({ summary: { steps: result.steps, stop: result.stop, schedule: policy, ok: result.ok, verdicts: result.verdicts } }));
  } else {
    out(`-- ${result.steps} steps, ${how}; run ${result.stop.kind === 'done' ? 'completed' : `stopped: ${result.stop.kind} (${result.stop.message})`}`);
    if (result.stop.kind === 'fault' && result.stop.at) out(`   at ${result.stop.at.file}:${result.stop.at.start.line}:${result.stop.at.start.col} on CPU${result.stop.cpu}`);
    for (const v of result.verdicts) out(`${v.ok ? 'PASS' : 'FAIL'}  ${v.text}  (${v.detail})`);
  }
  if (ftraceOut && !writeOutput(ftraceOut, (path) => writeFileSync(path, ftraceText(m, events)))) return 2;
  if (recorder && traceOut) {
    recorder.settle(result.steps);
    if (!writeOutput(traceOut, (path) => writeChromeTrace(path, chromeTrace(recorder, file)))) return 2;
  }
  return result.ok ? 0 : 1;
}

/** Writes an export with `write`; a file that cannot be written is said on stderr. */
function writeOutput(path: string, write: (path: string) => void): boolean {
  try {
    write(path);
    return true;
  } catch (err) {
    process.stderr.write(`smplab: cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
    return false;
  }
}

function cmdCheck(files: string[]): number {
  if (!files.length) throw new UsageError('check needs at least one file');
  let errors = 0;
  for (const file of files) {
    const { diagnostics } = loadScenarioFile(file);
    printDiagnostics(diagnostics);
    errors += diagnostics.filter((d) => d.severity === 'error').length;
    if (!diagnostics.length) process.stdout.write(`${file}: ok\n`);
  }
  return errors ? 2 : 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      case '--version':
      case '-V':
        process.stdout.write(`smplab ${version()}\n`);
        return 0;
      case 'run':
        return cmdRun(rest);
      case 'check':
        return cmdCheck(rest);
      case 'explore': {
        if (rest[0] === '--merge') {
          const json = rest.includes('--json');
          const files = rest.slice(1).filter((f) => f !== '--json');
          if (!files.length) throw new UsageError('--merge needs the --json results of the shards');
          return cmdMerge(files, json);
        }
        return await cmdExplore(parseExploreArgs(rest));
      }
      case 'dap':
        return serveFromCli(rest);
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`smplab: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
}

/** The counterexample file's schedule for this scenario, or why it cannot be followed. */
function readReplay(p: PreparedScenario, path: string): { actors: number[] } | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { error: `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  return readCounterexample(p, text);
}

if (!isMainThread && (workerData as ShardJob | undefined)?.smplabExploreShard) {
  runShardJob(workerData as ShardJob, (m) => parentPort!.postMessage(m));
} else if (require.main === module) {
  // `smplab run ... | head` closes the pipe early: stop quietly, as other command-line tools do
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  }, (e) => {
    process.stderr.write(`smplab: internal error: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 2;
  });
}
