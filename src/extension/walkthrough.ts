/**
 * The walkthrough's progress: a step is ticked when its action was done, not when a
 * view was merely opened. Each step completes on a context key (package.json,
 * completionEvents "onContext:smplab.walkthrough.*") that this module sets when it sees
 * the action happen:
 *
 *   debugging          an SMP Lab debug session started
 *   stoppedOnCpuDying  a session stopped on a CPU_DYING hotplug notifier
 *   queueOpened        the user expanded a CPU's call_single_queue in Variables
 *   stoppedOnWarn      a session stopped on a WARN
 *   strandedCsdShown   the user expanded the call_single_queue of a dead CPU that still holds work
 *   passingRun         Run Scenario finished with every expectation holding
 *
 * The debug adapter's messages are read with a DebugAdapterTracker: stopped events say
 * where a session stopped; a variables response that lists call_single_queue gives the
 * reference VS Code asks for when the user expands that row.
 */
import * as vscode from 'vscode';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DEBUG_TYPE } from './config';

export type WalkthroughStep = 'debugging' | 'stoppedOnCpuDying' | 'queueOpened' | 'stoppedOnWarn' | 'strandedCsdShown' | 'passingRun';

const done = new Set<WalkthroughStep>();

/** Ticks a step (once per window; VS Code remembers ticked steps itself). */
export function stepDone(step: WalkthroughStep): void {
  if (done.has(step)) return;
  done.add(step);
  void vscode.commands.executeCommand('setContext', `smplab.walkthrough.${step}`, true);
}

/** What a stop is, for the walkthrough: the adapter says it in the stop's description and text. */
export function stopKind(body: DebugProtocol.StoppedEvent['body']): 'cpu-dying' | 'warn' | undefined {
  const said = `${body.description ?? ''} ${body.text ?? ''}`;
  if (/\bCPU_DYING\b/.test(said)) return 'cpu-dying';
  if (body.reason === 'exception' && /\bWARN/.test(said)) return 'warn';
  return undefined;
}

/** Watches one session's messages for the walkthrough's actions. */
export class WalkthroughTracker implements vscode.DebugAdapterTracker {
  /** variablesReference of each call_single_queue row shown since the last stop: is its CPU dead? */
  private readonly queues = new Map<number, { cpuDead: boolean }>();

  onWillReceiveMessage(m: DebugProtocol.ProtocolMessage): void {
    const request = m as DebugProtocol.Request;
    if (request.type !== 'request' || request.command !== 'variables') return;
    const queue = this.queues.get((request.arguments as DebugProtocol.VariablesArguments).variablesReference);
    if (!queue) return;
    stepDone('queueOpened');
    if (queue.cpuDead) stepDone('strandedCsdShown');
  }

  onDidSendMessage(m: DebugProtocol.ProtocolMessage): void {
    if (m.type === 'event' && (m as DebugProtocol.Event).event === 'stopped') {
      this.queues.clear(); // references are valid until the next stop
      const kind = stopKind((m as DebugProtocol.StoppedEvent).body);
      if (kind === 'cpu-dying') stepDone('stoppedOnCpuDying');
      if (kind === 'warn') stepDone('stoppedOnWarn');
    }
    const response = m as DebugProtocol.VariablesResponse;
    if (response.type === 'response' && response.command === 'variables' && response.success) this.noteQueue(response.body.variables);
  }

  /** A CPU scope lists dead and call_single_queue; the queue row is expandable only when it holds work. */
  private noteQueue(variables: DebugProtocol.Variable[]): void {
    const queue = variables.find((v) => v.name === 'call_single_queue' && v.variablesReference > 0);
    if (!queue) return;
    const cpuDead = variables.some((v) => v.name === 'dead' && v.value === 'true');
    this.queues.set(queue.variablesReference, { cpuDead });
  }
}

export function trackWalkthroughProgress(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.registerDebugAdapterTrackerFactory(DEBUG_TYPE, { createDebugAdapterTracker: () => new WalkthroughTracker() }),
    vscode.debug.onDidStartDebugSession((session) => {
      if (session.type === DEBUG_TYPE) stepDone('debugging');
    }),
  );
}
