/**
 * Debug configurations of type `smplab`: F5 on an open .smp file with no launch.json
 * debugs it; a launch.json entry without `scenario` gets the open scenario (or a pick
 * of the workspace's scenarios); relative scenario paths resolve against the folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { log } from './log';

export const DEBUG_TYPE = 'smplab';

/** The launch attributes the adapter understands (package.json has their schema). */
export interface SmpLabLaunchConfig extends vscode.DebugConfiguration {
  scenario?: string;
  stopOnEntry?: boolean;
  seed?: number;
  schedule?: string;
  patches?: string[];
  maxSteps?: number;
  ipiLatency?: string;
}

export function isScenario(doc: vscode.TextDocument | undefined): boolean {
  return !!doc && (doc.languageId === 'smp' || doc.uri.path.endsWith('.smp'));
}

/** The .smp document in the active editor, if any. */
export function activeScenario(): vscode.TextDocument | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  return isScenario(doc) ? doc : undefined;
}

export function launchConfigFor(scenario: string, name?: string): SmpLabLaunchConfig {
  return {
    type: DEBUG_TYPE,
    request: 'launch',
    name: name ?? `Debug ${scenario === '${file}' ? 'the open scenario' : path.basename(scenario)}`,
    scenario,
    stopOnEntry: true,
  };
}

/** Lets the user pick one of the workspace's scenarios; undefined when there is none or they cancel. */
export async function pickScenario(placeHolder: string): Promise<vscode.Uri | undefined> {
  const files = await vscode.workspace.findFiles('**/*.smp', '**/{node_modules,.e2e,.git}/**', 200);
  if (!files.length) return undefined;
  if (files.length === 1) return files[0];
  files.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
  const item = await vscode.window.showQuickPick(
    files.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri, true), uri })),
    { placeHolder },
  );
  return item?.uri;
}

export class SmpLabConfigurationProvider implements vscode.DebugConfigurationProvider {
  /** "create a launch.json file": one configuration debugging the open scenario. */
  provideDebugConfigurations(): vscode.ProviderResult<vscode.DebugConfiguration[]> {
    return [launchConfigFor('${file}', 'SMP Lab: debug the open scenario')];
  }

  async resolveDebugConfiguration(
    folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined> {
    const c = config as SmpLabLaunchConfig;
    const open = activeScenario();
    if (!c.type && !c.request && !c.name) {
      // F5 with no launch.json (VS Code passes an empty configuration).
      log().info(`F5 without a launch configuration; active editor: ${vscode.window.activeTextEditor?.document.uri.fsPath ?? '(none)'}`);
      Object.assign(c, launchConfigFor(open ? '${file}' : '', open ? `Debug ${path.basename(open.uri.fsPath)}` : 'Debug scenario'));
    }
    c.type ??= DEBUG_TYPE;
    c.request ??= 'launch';
    if (!c.scenario) {
      if (open) {
        c.scenario = '${file}';
      } else {
        const picked = await pickScenario('Which scenario do you want to debug?');
        if (!picked) {
          void vscode.window.showErrorMessage(
            'SMP Lab: there is no scenario to debug. Open a .smp file and press F5, or set "scenario" in launch.json.',
          );
          return undefined;
        }
        c.scenario = picked.fsPath;
      }
      if (!c.name || c.name === 'Debug scenario') c.name = `Debug ${c.scenario === '${file}' && open ? path.basename(open.uri.fsPath) : path.basename(c.scenario)}`;
    }
    if (open && open.isDirty && (c.scenario === '${file}' || path.resolve(c.scenario) === open.uri.fsPath)) {
      await open.save(); // the adapter reads the file from disk
    }
    return c;
  }

  resolveDebugConfigurationWithSubstitutedVariables(
    folder: vscode.WorkspaceFolder | undefined,
    config: vscode.DebugConfiguration,
  ): vscode.ProviderResult<vscode.DebugConfiguration> {
    const c = config as SmpLabLaunchConfig;
    if (typeof c.scenario !== 'string' || !c.scenario) {
      void vscode.window.showErrorMessage('SMP Lab: the launch configuration needs "scenario", the path of a .smp file.');
      return undefined;
    }
    if (!path.isAbsolute(c.scenario)) {
      const base = folder?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
      c.scenario = path.resolve(base, c.scenario);
    }
    if (!c.scenario.endsWith('.smp')) {
      void vscode.window.showErrorMessage(`SMP Lab: ${path.basename(c.scenario)} is not a scenario (a .smp file). Open a scenario and press F5.`);
      return undefined;
    }
    if (!fs.existsSync(c.scenario)) {
      void vscode.window.showErrorMessage(`SMP Lab: scenario not found: ${c.scenario}`);
      return undefined;
    }
    log().info(`launch ${JSON.stringify(c)}`);
    return c;
  }
}

/** The Run and Debug view's dropdown: "Debug <file>" for each scenario in the workspace. */
export class SmpLabDynamicConfigurationProvider implements vscode.DebugConfigurationProvider {
  async provideDebugConfigurations(folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration[]> {
    const pattern = folder ? new vscode.RelativePattern(folder, '**/*.smp') : '**/*.smp';
    const files = await vscode.workspace.findFiles(pattern, '**/{node_modules,.e2e,.git}/**', 50);
    files.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
    return files.map((uri) => launchConfigFor(uri.fsPath, `Debug ${vscode.workspace.asRelativePath(uri, false)}`));
  }
}
