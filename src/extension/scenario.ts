/**
 * Scenario commands: Run Scenario (the CLI, output in the "SMP Lab: Run" channel, the
 * verdict as a notification), Debug Scenario, Open Example Scenario, and the CodeLens
 * that offers Run / Debug above the first line of a .smp file.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { activeScenario, isScenario, launchConfigFor, pickScenario } from './config';
import { errorText, log } from './log';
import { stepDone } from './walkthrough';

/** The scenario a command acts on: its Uri or path/name argument, the active .smp editor, or a pick. */
async function targetScenario(arg: unknown, action: string, examplesDir: string): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg) return findScenario(arg, examplesDir);
  const open = activeScenario();
  if (open) return open.uri;
  const picked = await pickScenario(`${action}: which scenario?`);
  if (!picked) void vscode.window.showErrorMessage(`SMP Lab: ${action} needs a scenario: open a .smp file.`);
  return picked;
}

/**
 * A scenario named by a path or a file name (walkthrough links pass "ipi-offline-race.smp"):
 * an absolute path, else the workspace's file of that name, else the extension's own example.
 */
async function findScenario(name: string, examplesDir: string): Promise<vscode.Uri> {
  if (path.isAbsolute(name)) return vscode.Uri.file(name);
  const inWorkspace = await vscode.workspace.findFiles(`**/${name}`, '**/{node_modules,.e2e,.git}/**', 1);
  return inWorkspace[0] ?? vscode.Uri.file(path.join(examplesDir, name));
}

async function saveIfDirty(uri: vscode.Uri): Promise<void> {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (doc?.isDirty) await doc.save();
}

export interface RunVerdict {
  code: number | null;
  passed: string[];
  failed: string[];
  /** "file:line:col: error: ..." lines (exit 2) */
  errors: string[];
  /** the "-- N steps, ..." line */
  summary?: string;
}

/** Reads the verdict lines of `smplab run` output. */
export function parseVerdict(output: string, code: number | null): RunVerdict {
  const lines = output.split(/\r?\n/);
  return {
    code,
    passed: lines.filter((l) => l.startsWith('PASS ')).map((l) => l.replace(/^PASS\s+/, '')),
    failed: lines.filter((l) => l.startsWith('FAIL ')).map((l) => l.replace(/^FAIL\s+/, '')),
    errors: lines.filter((l) => /: error: /.test(l)),
    summary: lines.find((l) => l.startsWith('-- ')),
  };
}

export function verdictText(name: string, v: RunVerdict): string {
  if (v.code === 0) return `${name}: every expectation holds (${v.passed.length} passed).`;
  if (v.code === 1) {
    if (v.failed.length) return `${name}: ${v.failed.length} of ${v.failed.length + v.passed.length} expectations failed — ${v.failed[0]}`;
    return `${name}: the run failed — ${v.summary?.replace(/^--\s*/, '') ?? 'see the output'}`;
  }
  if (v.code === 2) return `${name}: the scenario has errors — ${v.errors[0] ?? 'see the output'}`;
  return `${name}: smplab exited with ${v.code ?? 'a signal'}`;
}

export class ScenarioRunner {
  private readonly output: vscode.OutputChannel;

  constructor(private readonly cli: string) {
    this.output = vscode.window.createOutputChannel('SMP Lab: Run');
  }

  dispose(): void {
    this.output.dispose();
  }

  async run(uri: vscode.Uri): Promise<RunVerdict | undefined> {
    await saveIfDirty(uri);
    const file = uri.fsPath;
    const name = path.basename(file);
    if (!fs.existsSync(this.cli)) {
      void vscode.window.showErrorMessage(`SMP Lab: ${this.cli} is missing; run "npm run build".`);
      return undefined;
    }
    const cwd = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? path.dirname(file);
    this.output.clear();
    this.output.show(true);
    this.output.appendLine(`$ smplab run ${path.relative(cwd, file) || name}`);
    log().info(`run: ${process.execPath} ${this.cli} run ${file} (cwd ${cwd})`);

    const verdict = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `SMP Lab: running ${name}`, cancellable: true },
      (_progress, token) =>
        new Promise<RunVerdict>((resolve) => {
          let all = '';
          let pending = '';
          const child = spawn(process.execPath, [this.cli, 'run', file], {
            cwd,
            env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          const take = (chunk: Buffer) => {
            const text = chunk.toString('utf8');
            all += text;
            pending += text;
            const cut = pending.lastIndexOf('\n');
            if (cut >= 0) {
              this.output.append(pending.slice(0, cut + 1));
              pending = pending.slice(cut + 1);
            }
          };
          child.stdout.on('data', take);
          child.stderr.on('data', take);
          token.onCancellationRequested(() => child.kill());
          child.on('error', (e) => {
            this.output.appendLine(`SMP Lab: could not start smplab: ${e.message}`);
            resolve({ code: null, passed: [], failed: [], errors: [e.message] });
          });
          child.on('close', (code, signal) => {
            if (pending) this.output.appendLine(pending);
            const v = parseVerdict(all, code);
            this.output.appendLine('');
            this.output.appendLine(`[exit ${code ?? signal}] ${verdictText(name, v)}`);
            resolve(v);
          });
        }),
    );
    log().info(`run: ${verdictText(name, verdict)} (exit ${verdict.code})`);
    if (verdict.code === 0) stepDone('passingRun');
    const text = verdictText(name, verdict);
    const actions = verdict.code === 2 ? ['Show Output'] : ['Debug Scenario', 'Show Output'];
    const shown = verdict.code === 0
      ? vscode.window.showInformationMessage(text, ...actions)
      : verdict.code === 1 ? vscode.window.showWarningMessage(text, ...actions) : vscode.window.showErrorMessage(text, ...actions);
    void shown.then((choice) => {
      if (choice === 'Show Output') this.output.show();
      if (choice === 'Debug Scenario') void debugScenario(uri);
    });
    return verdict;
  }
}

export async function debugScenario(uri: vscode.Uri): Promise<boolean> {
  await saveIfDirty(uri);
  // Shown first, where it does not cover the walkthrough: the entry stop then reveals it there.
  await showScenario(uri);
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  const config = launchConfigFor(uri.fsPath);
  log().info(`debug: ${JSON.stringify(config)}`);
  return vscode.debug.startDebugging(folder, config);
}

/**
 * Shows a scenario without covering what the user is reading: in the editor group that
 * already shows it, else beside the active editor when that is not a text editor (the
 * walkthrough, a Markdown preview), else in the active group.
 */
async function showScenario(uri: vscode.Uri): Promise<vscode.TextEditor> {
  const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
  const active = vscode.window.tabGroups.activeTabGroup.activeTab;
  const besideNonText = active !== undefined && !(active.input instanceof vscode.TabInputText);
  const viewColumn = shown?.viewColumn ?? (besideNonText ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active);
  return vscode.window.showTextDocument(uri, { viewColumn, preview: false });
}

/** Opens an example scenario: the workspace's copy if it has one, else the extension's own. */
async function openExample(examplesDir: string, name?: unknown): Promise<void> {
  let file = typeof name === 'string' ? name : undefined;
  if (!file) {
    const names = fs.readdirSync(examplesDir).filter((f) => f.endsWith('.smp')).sort();
    file = await vscode.window.showQuickPick(names, { placeHolder: 'Open which example scenario?' });
    if (!file) return;
  }
  const uri = await findScenario(file, examplesDir);
  log().info(`open example ${uri.fsPath}`);
  await showScenario(uri);
}

export class ScenarioCodeLensProvider implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!isScenario(doc) || !vscode.workspace.getConfiguration('smplab').get<boolean>('codeLens', true)) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    return [
      new vscode.CodeLens(top, { title: '$(play) Run Scenario', tooltip: 'smplab run: the event log and a verdict per expectation', command: 'smplab.runScenario', arguments: [doc.uri] }),
      new vscode.CodeLens(top, { title: '$(debug-alt) Debug Scenario', tooltip: 'Debug this scenario: CPUs are threads in the Call Stack', command: 'smplab.debugScenario', arguments: [doc.uri] }),
    ];
  }
}

export function registerScenarioCommands(context: vscode.ExtensionContext): void {
  const runner = new ScenarioRunner(context.asAbsolutePath(path.join('dist', 'cli.js')));
  const examples = context.asAbsolutePath('examples');
  const lenses = new ScenarioCodeLensProvider();
  context.subscriptions.push(
    runner,
    vscode.commands.registerCommand('smplab.runScenario', async (arg?: unknown) => {
      // Returns the verdict (for tests and other extensions); undefined when nothing ran.
      const uri = await targetScenario(arg, 'Run Scenario', examples);
      if (!uri) return undefined;
      return runner.run(uri).catch((e) => {
        void vscode.window.showErrorMessage(`SMP Lab: Run Scenario failed: ${errorText(e)}`);
        return undefined;
      });
    }),
    vscode.commands.registerCommand('smplab.debugScenario', async (arg?: unknown) => {
      const uri = await targetScenario(arg, 'Debug Scenario', examples);
      return uri ? debugScenario(uri) : false;
    }),
    vscode.commands.registerCommand('smplab.openExample', (name?: unknown) => openExample(examples, name)),
    vscode.languages.registerCodeLensProvider([{ language: 'smp' }, { pattern: '**/*.smp' }], lenses),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('smplab.codeLens')) lenses.refresh();
    }),
  );
}
