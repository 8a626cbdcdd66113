/**
 * Shows the debugger when an SMP Lab session starts (F5, the walkthrough's button, the
 * CodeLens): the Run and Debug view opens with the Call Stack expanded, so the CPUs are
 * in sight without the user looking for them.
 */
import * as vscode from 'vscode';
import { DEBUG_TYPE } from './config';
import { errorText, log } from './log';

/** VS Code's id of the Call Stack view; `<view id>.focus` opens its container and expands it. */
const CALL_STACK_VIEW = 'workbench.debug.callStackView';

export function showCallStackOnSessionStart(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.onDidStartDebugSession((session) => {
      if (session.type !== DEBUG_TYPE) return;
      vscode.commands.executeCommand(`${CALL_STACK_VIEW}.focus`).then(
        () => log().info(`session ${session.id}: showing the Call Stack`),
        (e) => log().warn(`session ${session.id}: could not show the Call Stack: ${errorText(e)}`),
      );
    }),
  );
}
