/**
 * Scenario expectations in the Testing view: each .smp file of the workspace
 * is a test item, each `expect` line a child. Running one explores every
 * schedule (`smplab explore` in a child process: progress in the test output,
 * cancel stops it). A failure is reported at its `expect` line with the
 * deciding race, and offers Debug Counterexample, which replays the saved
 * schedule in the debugger and stops where the expectation broke.
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

const EXCLUDE = '**/{node_modules,.e2e,.git,scratch}/**';

export function registerScenarioTests(context: vscode.ExtensionContext, cli: string): void {
  const ctrl = vscode.tests.createTestController('smplab', 'SMP Lab scenarios');
  /** the counterexample file of each expectation's last failing exploration, by test id */
  const counterexamples = new Map<string, string>();
  context.subscriptions.push(ctrl);

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
    try {
      for (const job of jobsFor(request, ctrl)) {
        if (token.isCancellationRequested) break;
        await exploreJob(cli, job, testRun, token, counterexamples);
      }
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
    else jobs.push({ file: item.parent!, items: [item], line: Number(item.id.split('#').pop()) });
  }
  return jobs;
}

function* iterate(c: vscode.TestItemCollection): Generator<vscode.TestItem> {
  for (const [, item] of c) yield item;
}

/** Runs `smplab explore` for a job and reports each of its expectations. */
function exploreJob(cli: string, job: Job, testRun: vscode.TestRun, token: vscode.CancellationToken, counterexamples: Map<string, string>): Promise<void> {
  const uri = job.file.uri!;
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smplab-test-')), `${path.basename(uri.fsPath, '.smp')}.counterexample`);
  const args = [cli, 'explore', uri.fsPath, '--json', '--progress', '--out', out, ...(job.line ? ['--expectation', String(job.line)] : [])];
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
      resolve();
    });
    child.on('close', (code) => {
      cancel.dispose();
      const duration = Date.now() - started;
      if (token.isCancellationRequested) {
        for (const item of job.items) testRun.skipped(item);
        testRun.appendOutput('cancelled\r\n');
        return resolve();
      }
      if (code === 2 || !stdout.trim()) {
        const message = new vscode.TestMessage(stderr.trim() || `smplab explore exited with ${code}`);
        for (const item of job.items) testRun.errored(item, message, duration);
        return resolve();
      }
      report(JSON.parse(stdout.trim().split('\n').pop()!) as ExploreResult & { counterexampleFile?: string }, job, testRun, duration, counterexamples);
      resolve();
    });
  });
}

function report(r: ExploreResult & { counterexampleFile?: string }, job: Job, testRun: vscode.TestRun, duration: number, counterexamples: Map<string, string>): void {
  const states = r.stats.states.toLocaleString('en-US');
  const ce = r.counterexample;
  if (!ce) {
    const text = r.verdict === 'verified'
      ? `verified: ${states} states, complete`
      : `no counterexample within ${r.limitedBy.join(', ')} (${states} states; not verified)`;
    for (const item of job.items) {
      testRun.appendOutput(`${item.label}: ${text}\r\n`, item.uri && item.range ? new vscode.Location(item.uri, item.range) : undefined, item);
      testRun.passed(item, duration);
    }
    return;
  }
  for (const item of job.items) {
    const line = Number(item.id.split('#').pop());
    if (line !== ce.line) {
      testRun.skipped(item);
      testRun.appendOutput(`${item.label}: not decided: the search stopped at a counterexample for line ${ce.line}\r\n`, undefined, item);
      continue;
    }
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
