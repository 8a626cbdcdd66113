/**
 * Scenario expectations in the Testing view: each .smp file of the workspace
 * is a test item, each `expect` line a child. Running one explores every
 * schedule (`smplab explore` in a child process, up to the
 * `smplab.explore.maxStates` setting: progress in the test output, cancel
 * stops it). A search stops at its first counterexample, so the expectations
 * it did not judge are then explored one at a time: every expectation run gets
 * a verdict. A failure is reported at its `expect` line with the deciding race,
 * and offers Debug Counterexample, which replays the saved schedule in the
 * debugger and stops where the expectation broke.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExploreResult } from '../explore/explore';
import { formatAccess } from '../explore/explain';
import { parseScenario } from '../scenario/scenario';
import { DEBUG_TYPE } from './config';
import { log } from './log';
import { maxStates, searchCutText } from './searchLimits';

const EXCLUDE = '**/{node_modules,.e2e,.git,scratch}/**';

export function registerScenarioTests(context: vscode.ExtensionContext, cli: string): void {
  const ctrl = vscode.tests.createTestController('smplab', 'SMP Lab scenarios');
  /** the counterexample file of each expectation's last failing exploration, by test id */
  const counterexamples = new Map<string, string>();
  const saved = new CounterexampleFolder();
  context.subscriptions.push(ctrl, saved);

  const fileItem = (uri: vscode.Uri): vscode.TestItem => {
    const existing = ctrl.items.get(uri.toString());
    if (existing) return existing;
    const item = ctrl.createTestItem(uri.toString(), path.basename(uri.fsPath), uri);
    item.canResolveChildren = true;
    ctrl.items.add(item);
    return item;
  };

  /** The file's `expect` lines as children, read from the open document or the disk. */
  const readExpectations = (item: vscode.TestItem): void => {
    const uri = item.uri!;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    let text: string;
    try {
      text = doc?.getText() ?? fs.readFileSync(uri.fsPath, 'utf8');
    } catch {
      ctrl.items.delete(item.id);
      return;
    }
    const { scenario } = parseScenario(uri.fsPath, text);
    item.children.replace(scenario.expectations.map((e) => {
      const line = e.range.start.line;
      const child = ctrl.createTestItem(`${uri.toString()}#${line}`, e.text, uri);
      child.range = new vscode.Range(line - 1, e.range.start.col - 1, line - 1, e.range.end.col - 1);
      return child;
    }));
  };

  const discover = async (): Promise<void> => {
    for (const uri of await vscode.workspace.findFiles('**/*.smp', EXCLUDE)) readExpectations(fileItem(uri));
  };

  ctrl.resolveHandler = async (item) => {
    if (item) readExpectations(item);
    else await discover();
  };
  ctrl.refreshHandler = () => discover();

  const watcher = vscode.workspace.createFileSystemWatcher('**/*.smp');
  context.subscriptions.push(
    watcher,
    watcher.onDidCreate((uri) => readExpectations(fileItem(uri))),
    watcher.onDidChange((uri) => readExpectations(fileItem(uri))),
    watcher.onDidDelete((uri) => ctrl.items.delete(uri.toString())),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.fsPath.endsWith('.smp') && ctrl.items.get(e.document.uri.toString())) readExpectations(fileItem(e.document.uri));
    }),
  );

  const run = async (request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> => {
    const testRun = ctrl.createTestRun(request);
    const limit = maxStates();
    try {
      const jobs = jobsFor(request, ctrl);
      while (jobs.length && !token.isCancellationRequested) {
        const job = jobs.shift()!;
        const undecided = await exploreJob(cli, job, limit, saved.next(job.file.uri!), testRun, token, counterexamples);
        // a search stops at its first counterexample: the expectations it did not judge are explored one at a time
        jobs.unshift(...undecided.map((item) => ({ file: job.file, items: [item], line: lineOf(item) })));
      }
      for (const job of jobs) for (const item of job.items) testRun.skipped(item);
    } finally {
      testRun.end();
    }
  };
  ctrl.createRunProfile('Explore every schedule', vscode.TestRunProfileKind.Run, run, true);

  context.subscriptions.push(vscode.commands.registerCommand('smplab.debugCounterexample', (arg?: { test?: vscode.TestItem }) => {
    const test = arg?.test;
    const file = test ? counterexamples.get(test.id) : undefined;
    if (!test?.uri || !file) {
      void vscode.window.showErrorMessage('SMP Lab: run the expectation in the Testing view first: there is no counterexample to debug yet.');
      return;
    }
    return debugCounterexample(test.uri, file);
  }));
}

/** One exploration: a whole file, or one `expect` line of it. */
interface Job {
  file: vscode.TestItem;
  /** the children the exploration decides */
  items: vscode.TestItem[];
  /** explore only this expectation (a child was asked for alone) */
  line?: number;
}

function jobsFor(request: vscode.TestRunRequest, ctrl: vscode.TestController): Job[] {
  const asked = request.include ?? [...iterate(ctrl.items)];
  const jobs: Job[] = [];
  for (const item of asked) {
    if (request.exclude?.includes(item)) continue;
    const isFile = !item.id.includes('#');
    if (isFile) jobs.push({ file: item, items: [...iterate(item.children)].filter((c) => !request.exclude?.includes(c)) });
    else jobs.push({ file: item.parent!, items: [item], line: lineOf(item) });
  }
  return jobs;
}

/** The line of an expectation's test item (its id ends in #LINE). */
function lineOf(item: vscode.TestItem): number {
  return Number(item.id.split('#').pop());
}

function* iterate(c: vscode.TestItemCollection): Generator<vscode.TestItem> {
  for (const [, item] of c) yield item;
}

/**
 * Runs `smplab explore` for a job and reports each of its expectations; resolves with
 * those it left undecided (a search of the whole file stops at its first counterexample).
 */
function exploreJob(cli: string, job: Job, limit: number, out: string, testRun: vscode.TestRun, token: vscode.CancellationToken,
  counterexamples: Map<string, string>): Promise<vscode.TestItem[]> {
  const uri = job.file.uri!;
  const args = [cli, 'explore', uri.fsPath, '--json', '--progress', '--max-states', String(limit), '--out', out,
    ...(job.line ? ['--expectation', String(job.line)] : [])];
  for (const item of job.items) testRun.started(item);
  testRun.appendOutput(`$ smplab explore ${path.basename(uri.fsPath)}${job.line ? ` --expectation ${job.line}` : ''}\r\n`);
  log().info(`explore: ${process.execPath} ${args.join(' ')}`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: path.dirname(uri.fsPath), env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const cancel = token.onCancellationRequested(() => child.kill());
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      stderr += text;
      testRun.appendOutput(text.replace(/\r?\n/g, '\r\n'), undefined, job.items.length === 1 ? job.items[0] : undefined);
    });
    child.on('error', (e) => {
      for (const item of job.items) testRun.errored(item, new vscode.TestMessage(`could not start smplab: ${e.message}`));
      cancel.dispose();
      resolve([]);
    });
    child.on('close', (code) => {
      cancel.dispose();
      const duration = Date.now() - started;
      if (token.isCancellationRequested) {
        for (const item of job.items) testRun.skipped(item);
        testRun.appendOutput('cancelled\r\n');
        return resolve([]);
      }
      if (code === 2 || !stdout.trim()) {
        const message = new vscode.TestMessage(stderr.trim() || `smplab explore exited with ${code}`);
        for (const item of job.items) testRun.errored(item, message, duration);
        return resolve([]);
      }
      const result = JSON.parse(stdout.trim().split('\n').pop()!) as ExploreResult & { counterexampleFile?: string };
      resolve(report(result, job, limit, testRun, duration, counterexamples));
    });
  });
}

/** Reports a job's expectations from the explorer's result; returns those it did not decide. */
function report(r: ExploreResult & { counterexampleFile?: string }, job: Job, limit: number, testRun: vscode.TestRun, duration: number,
  counterexamples: Map<string, string>): vscode.TestItem[] {
  const states = r.stats.states.toLocaleString('en-US');
  const ce = r.counterexample;
  const at = (item: vscode.TestItem) => (item.uri && item.range ? new vscode.Location(item.uri, item.range) : undefined);
  if (!ce) {
    const text = r.verdict === 'verified'
      ? `verified: ${states} states, complete`
      : `no counterexample within ${searchCutText(r.limitedBy, limit)} (not verified)`;
    for (const item of job.items) {
      // two pieces: the output names the expectation, the verdict alone shows at its line
      testRun.appendOutput(`${item.label}: `, undefined, item);
      testRun.appendOutput(`${text}\r\n`, at(item), item);
      testRun.passed(item, duration);
    }
    return [];
  }
  const undecided: vscode.TestItem[] = [];
  for (const item of job.items) {
    if (lineOf(item) !== ce.line) {
      undecided.push(item);
      continue;
    }
    // no location: at the line, the failure message says it
    testRun.appendOutput(`${item.label}: counterexample: ${ce.detail}${ce.failingStep ? ` (step ${ce.failingStep})` : ''}, found after ${states} states\r\n`, undefined, item);
    const lines = [
      `${ce.detail}${ce.failingStep ? ` (step ${ce.failingStep})` : ' (at the end of the run)'}`,
      ...(ce.race ? [`decided by: ${formatAccess(ce.race.first)}`, `and ${formatAccess(ce.race.second)}`, ce.race.reversed] : []),
      `${ce.preemptions} preemption${ce.preemptions === 1 ? '' : 's'}, ${ce.steps} steps; found after ${states} states`,
      'Debug Counterexample replays it in the debugger.',
    ];
    const message = new vscode.TestMessage(lines.join('\n'));
    if (item.uri && item.range) message.location = new vscode.Location(item.uri, item.range);
    message.contextValue = 'smplabCounterexample';
    if (r.counterexampleFile) counterexamples.set(item.id, r.counterexampleFile);
    testRun.failed(item, message, duration);
  }
  return undecided;
}

/**
 * Where the Testing view saves counterexamples: one temporary folder while the
 * extension runs, removed when it stops; a file per exploration.
 */
class CounterexampleFolder implements vscode.Disposable {
  private dir: string | undefined;
  private count = 0;

  /** A new file name for the counterexample of an exploration of `scenario`. */
  next(scenario: vscode.Uri): string {
    this.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'smplab-counterexamples-'));
    return path.join(this.dir, `${path.basename(scenario.fsPath, '.smp')}-${++this.count}.counterexample`);
  }

  dispose(): void {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts the debugger on a saved schedule: it runs to where the expectation broke and stops there. */
export function debugCounterexample(scenario: vscode.Uri, counterexample: string): Thenable<boolean> {
  const folder = vscode.workspace.getWorkspaceFolder(scenario);
  const config: vscode.DebugConfiguration = {
    type: DEBUG_TYPE, request: 'launch', name: `Counterexample: ${path.basename(scenario.fsPath)}`,
    scenario: scenario.fsPath, replay: counterexample, stopOnEntry: false,
  };
  log().info(`debug counterexample: ${JSON.stringify(config)}`);
  return vscode.debug.startDebugging(folder, config);
}
