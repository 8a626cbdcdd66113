/**
 * SMP Lab's VS Code glue: the `smplab` debugger (configuration providers, adapter
 * factory), the scenario and CPU commands, the CodeLens, scenario expectations in the
 * Testing view, Explore from Here, the Call Stack shown when a session starts, the timeline panel, the
 * walkthrough's progress, and the language client.
 * Everything with behaviour lives in the engine, src/debug and src/language.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SmpLabAdapterFactory, SmpLabTrackerFactory } from './adapter';
import { startLanguageClient, stopLanguageClient } from './client';
import { DEBUG_TYPE, SmpLabConfigurationProvider, SmpLabDynamicConfigurationProvider } from './config';
import { registerCpuCommands } from './cpu';
import { showCallStackOnSessionStart } from './debugView';
import { createLog } from './log';
import { registerExploreFromHere } from './exploreHere';
import { registerExportTrace } from './exportTrace';
import { registerScenarioCommands } from './scenario';
import { registerScenarioTests } from './testing';
import { registerTimeline } from './timelinePanel';
import { trackWalkthroughProgress } from './walkthrough';

export function activate(context: vscode.ExtensionContext): void {
  const log = createLog();
  context.subscriptions.push(log);
  const version = (context.extension.packageJSON as { version?: string }).version;
  log.info(`SMP Lab ${version} activating in ${vscode.env.appName} ${vscode.version} (${context.extensionPath})`);

  const adapters = new SmpLabAdapterFactory(context.asAbsolutePath(path.join('dist', 'debugAdapter.js')));
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new SmpLabConfigurationProvider()),
    vscode.debug.registerDebugConfigurationProvider(
      DEBUG_TYPE, new SmpLabDynamicConfigurationProvider(), vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, adapters),
    vscode.debug.onDidTerminateDebugSession((session) => adapters.forget(session)),
    vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, new SmpLabTrackerFactory()),
    vscode.commands.registerCommand('smplab.showLog', () => log.show()),
  );
  registerScenarioCommands(context);
  registerScenarioTests(context, context.asAbsolutePath(path.join('dist', 'cli.js')));
  registerExploreFromHere(context);
  registerExportTrace(context);
  registerCpuCommands(context);
  showCallStackOnSessionStart(context);
  registerTimeline(context, adapters);
  trackWalkthroughProgress(context);
  startLanguageClient(context.asAbsolutePath(path.join('dist', 'server.js')));
  log.info('SMP Lab activated');
}

export function deactivate(): Promise<void> {
  return stopLanguageClient();
}
