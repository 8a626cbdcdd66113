/**
 * Call Stack actions on a CPU (thread) row: Freeze CPU, Thaw CPU, Step Only This CPU.
 * Threads are CPUs: thread id = CPU number + 1.
 */
import * as vscode from 'vscode';
import { DEBUG_TYPE } from './config';
import { errorText, log } from './log';

export interface ThreadTarget {
  threadId: number;
  /** a debug session id, when the argument named one */
  sessionId?: string;
}

/**
 * The thread a `debug/callstack/context` command was invoked on. VS Code 1.139 calls an inline
 * thread-row action with (threadId: number, { sessionId, threadId: "<internal thread id>" }),
 * the internal id ending in ":<threadId>"; other versions and callers pass the thread id alone,
 * `{ sessionId, threadId }`, or a vscode.DebugThread / DebugStackFrame (`{ session, threadId }`).
 * Takes the thread id from the first argument that has one and the session from any.
 */
export function threadTargetFrom(...args: unknown[]): ThreadTarget | undefined {
  let target: ThreadTarget | undefined;
  let sessionId: string | undefined;
  for (const arg of args) {
    const t = oneThreadTarget(arg);
    if (!t) continue;
    target ??= t;
    sessionId ??= t.sessionId;
  }
  return target && { threadId: target.threadId, sessionId: target.sessionId ?? sessionId };
}

function oneThreadTarget(arg: unknown): ThreadTarget | undefined {
  const fromInternalId = (s: string): number | undefined => {
    const m = /^(?:thread:)?(?:.*:)?(\d+)$/.exec(s.trim());
    return m ? Number(m[1]) : undefined;
  };
  if (typeof arg === 'number' && Number.isInteger(arg)) return { threadId: arg };
  if (typeof arg === 'string') {
    const id = fromInternalId(arg);
    if (id === undefined) return undefined;
    const m = /^thread:(.*):\d+$/.exec(arg);
    return { threadId: id, sessionId: m?.[1] };
  }
  if (arg && typeof arg === 'object') {
    const o = arg as { threadId?: unknown; sessionId?: unknown; session?: { id?: unknown } };
    const sessionId = typeof o.sessionId === 'string' ? o.sessionId : typeof o.session?.id === 'string' ? o.session.id : undefined;
    if (typeof o.threadId === 'number') return { threadId: o.threadId, sessionId };
    if (typeof o.threadId === 'string') {
      const id = fromInternalId(o.threadId);
      if (id !== undefined) return { threadId: id, sessionId: sessionId ?? /^thread:(.*):\d+$/.exec(o.threadId)?.[1] };
    }
  }
  return undefined;
}

export const cpuName = (threadId: number) => `CPU${threadId - 1}`;

/** Debug sessions by id, so a Call Stack action reaches the session of the row it was clicked on. */
const sessions = new Map<string, vscode.DebugSession>();

export function trackSessions(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.debug.onDidStartDebugSession((s) => {
      if (s.type === DEBUG_TYPE) sessions.set(s.id, s);
    }),
    vscode.debug.onDidTerminateDebugSession((s) => sessions.delete(s.id)),
  );
}

function sessionFor(target: ThreadTarget | undefined): vscode.DebugSession | undefined {
  if (target?.sessionId && sessions.has(target.sessionId)) return sessions.get(target.sessionId);
  const item = vscode.debug.activeStackItem;
  if (item && item.session.type === DEBUG_TYPE) return item.session;
  const active = vscode.debug.activeDebugSession;
  return active?.type === DEBUG_TYPE ? active : [...sessions.values()].pop();
}

/** Resolves the command argument (or, from the palette, the focused thread or a pick) to a session and thread. */
async function resolveTarget(args: unknown[], action: string): Promise<{ session: vscode.DebugSession; threadId: number } | undefined> {
  log().info(`${action}: invoked with ${args.map(describeArg).join(', ') || 'no arguments'}`);
  let target = threadTargetFrom(...args);
  const session = sessionFor(target);
  if (!session) {
    void vscode.window.showErrorMessage(`SMP Lab: ${action} needs a running SMP Lab debug session.`);
    return undefined;
  }
  if (!target) {
    const item = vscode.debug.activeStackItem;
    if (item && item.session.id === session.id) target = { threadId: item.threadId };
  }
  if (!target) {
    const { threads } = (await session.customRequest('threads')) as { threads: { id: number; name: string }[] };
    const pick = await vscode.window.showQuickPick(
      threads.map((t) => ({ label: t.name, threadId: t.id })),
      { placeHolder: `${action}: which CPU?` },
    );
    if (!pick) return undefined;
    target = { threadId: pick.threadId };
  }
  return { session, threadId: target.threadId };
}

function describeArg(arg: unknown): string {
  try {
    return `${typeof arg} ${JSON.stringify(arg, (k, v) => (k === 'session' && v && typeof v === 'object' ? `<session ${v.id}>` : v))}`;
  } catch {
    return String(arg);
  }
}

async function cpuRequest(args: unknown[], action: string, command: string, extra: Record<string, unknown> = {}): Promise<void> {
  const t = await resolveTarget(args, action);
  if (!t) return;
  const request = { threadId: t.threadId, ...extra };
  try {
    log().info(`${action}: ${command} ${JSON.stringify(request)} on session ${t.session.id}`);
    await t.session.customRequest(command, request);
    vscode.window.setStatusBarMessage(`SMP Lab: ${action} — ${cpuName(t.threadId)}`, 3000);
  } catch (e) {
    log().error(`${action} ${cpuName(t.threadId)} failed: ${errorText(e)}`);
    void vscode.window.showErrorMessage(`SMP Lab: ${action} ${cpuName(t.threadId)} failed: ${errorText(e)}`);
  }
}

export function registerCpuCommands(context: vscode.ExtensionContext): void {
  trackSessions(context);
  context.subscriptions.push(
    vscode.commands.registerCommand('smplab.freezeCpu', (...args: unknown[]) => cpuRequest(args, 'Freeze CPU', 'freeze')),
    vscode.commands.registerCommand('smplab.thawCpu', (...args: unknown[]) => cpuRequest(args, 'Thaw CPU', 'thaw')),
    vscode.commands.registerCommand('smplab.stepCpu', (...args: unknown[]) =>
      cpuRequest(args, 'Step Only This CPU', 'next', { singleThread: true })),
  );
}
