/**
 * Shows the debugger when an SMP Lab session starts (F5, the walkthrough's button, the
 * CodeLens): the Run and Debug view opens with the Call Stack expanded, so the CPUs are
 * in sight without the user looking for them.
 */
import * as vscode from 'vscode';
import { DEBUG_TYPE } from './config';
import { errorText, log } from './log';

/** VS Code's "Debug: Focus on Call Stack View": opens the Run and Debug view and expands the Call Stack. */
const FOCUS_CALL_STACK = 'workbench.debug.action.focusCallStackView';

export function showCallStackOnSessionStart(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.onDidStartDebugSession((session) => {
      if (session.type !== DEBUG_TYPE) return;
      vscode.commands.executeCommand(FOCUS_CALL_STACK).then(
        () => log().info(`session ${session.id}: showing the Call Stack`),
        (e) => log().warn(`session ${session.id}: could not show the Call Stack: ${errorText(e)}`),
      );
    }),
  );
}
