/**
 * SMP Lab: Export Trace — writes the debug session's run, as recorded so far,
 * to a file: Chrome trace-event JSON (opens in Perfetto) or the kernel's
 * ftrace text. The adapter writes it (`exportTrace` request); this asks
 * which form and where.
 */
import * as vscode from 'vscode';
import { DEBUG_TYPE } from './config';
import { errorText, log } from './log';

const FORMATS = [
  { label: 'Chrome trace-event JSON', description: 'opens in Perfetto (ui.perfetto.dev) and chrome://tracing', format: 'chrome', extension: 'json' },
  { label: 'ftrace text', description: 'as trace-cmd report prints a kernel trace', format: 'ftrace', extension: 'txt' },
] as const;

export function registerExportTrace(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('smplab.exportTrace', async () => {
      const session = vscode.debug.activeDebugSession;
      if (session?.type !== DEBUG_TYPE) {
        void vscode.window.showErrorMessage('SMP Lab: Export Trace needs an SMP Lab debug session.');
        return;
      }
      const choice = await vscode.window.showQuickPick(FORMATS, { title: 'SMP Lab: export the run as' });
      if (!choice) return;
      const scenario = String(session.configuration.scenario ?? 'run').replace(/^.*[\\/]/, '').replace(/\.smp$/, '');
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const target = await vscode.window.showSaveDialog({
        title: 'SMP Lab: Export Trace',
        defaultUri: folder ? vscode.Uri.joinPath(folder, `${scenario}.${choice.extension}`) : undefined,
        filters: { [choice.label]: [choice.extension] },
      });
      if (!target) return;
      try {
        const r = (await session.customRequest('exportTrace', { format: choice.format, path: target.fsPath })) as { bytes: number; endStep: number };
        log().info(`export trace: ${choice.format} ${target.fsPath} ${r.bytes} bytes`);
        void vscode.window.showInformationMessage(`SMP Lab: wrote steps 0–${r.endStep.toLocaleString('en-US')} to ${target.fsPath} (${r.bytes.toLocaleString('en-US')} bytes).`);
      } catch (e) {
        void vscode.window.showErrorMessage(`SMP Lab: Export Trace failed: ${errorText(e)}`);
      }
    }),
  );
}
