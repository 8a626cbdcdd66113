/**
 * Explore from Here: asks the debug adapter to search every continuation of
 * the state the session is stopped in (the `exploreFromHere` request), with
 * progress and cancel in a notification. With a counterexample the adapter
 * follows it and stops where the expectation breaks.
 */
import * as vscode from 'vscode';
import { DEBUG_TYPE } from './config';
import { errorText, log } from './log';
import { maxStates, searchCutText } from './searchLimits';

interface ExploreFromHereResult {
  verdict: 'verified' | 'counterexample' | 'bounded';
  states: number;
  limitedBy: string[];
  counterexample?: { expectation: string; detail: string; steps: number };
  /** the session follows the counterexample (false when it moved on while the search ran) */
  following?: boolean;
}

export function registerExploreFromHere(context: vscode.ExtensionContext): void {
  /** progress reporters of the explorations running, by session id */
  const running = new Map<string, vscode.Progress<{ message?: string }>>();
  context.subscriptions.push(
    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => {
      if (e.event !== 'smplab.exploreProgress') return;
      const body = e.body as { states: number; transitions: number };
      running.get(e.session.id)?.report({ message: `${body.states.toLocaleString('en-US')} states, ${body.transitions.toLocaleString('en-US')} transitions` });
    }),
    vscode.commands.registerCommand('smplab.exploreFromHere', async () => {
      const session = vscode.debug.activeDebugSession;
      if (session?.type !== DEBUG_TYPE) {
        void vscode.window.showErrorMessage('SMP Lab: Explore from Here needs an SMP Lab debug session stopped somewhere.');
        return;
      }
      const limit = maxStates();
      try {
        const result = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: 'SMP Lab: exploring every schedule from here', cancellable: true },
          async (progress, token) => {
            running.set(session.id, progress);
            const cancel = token.onCancellationRequested(() => void session.customRequest('exploreCancel'));
            try {
              return (await session.customRequest('exploreFromHere', { maxStates: limit })) as ExploreFromHereResult;
            } finally {
              cancel.dispose();
              running.delete(session.id);
            }
          },
        );
        log().info(`explore from here: ${JSON.stringify(result)}`);
        void vscode.window.showInformationMessage(resultText(result, limit));
      } catch (e) {
        void vscode.window.showErrorMessage(`SMP Lab: Explore from Here failed: ${errorText(e)}`);
      }
    }),
  );
}

function resultText(r: ExploreFromHereResult, limit: number): string {
  const states = r.states.toLocaleString('en-US');
  const ce = r.counterexample;
  if (ce) {
    const breaks = `SMP Lab: from here, a schedule breaks "${ce.expectation}": ${ce.detail}.`;
    return r.following ? `${breaks} Following it (${ce.steps} steps).` : `${breaks} The session moved on while the search ran, so it does not follow it.`;
  }
  if (r.verdict === 'verified') return `SMP Lab: every schedule from here satisfies every expectation (${states} states, complete).`;
  if (r.limitedBy.includes('cancel')) return `SMP Lab: Explore from Here cancelled after ${states} states; no counterexample so far.`;
  return `SMP Lab: no counterexample from here within ${searchCutText(r.limitedBy, limit)} (not verified).`;
}
