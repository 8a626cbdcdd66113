/**
 * Where the debug adapter runs: inline in the extension host (the default: an
 * SmpLabSession from src/debug/session.ts, bundled into dist/extension.js) or, with
 * the setting `smplab.adapter: "server"`, as a Node process running dist/debugAdapter.js.
 * Also a tracker that writes the DAP traffic to the "SMP Lab" log at trace level.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { SmpLabSession } from '../debug/session';
import { log } from './log';

export class SmpLabAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  /** The inline adapters, by the id of their session, while the session lasts. */
  private readonly inline = new Map<string, SmpLabSession>();

  constructor(private readonly adapterScript: string) {}

  /**
   * Asks a session's adapter a custom request. An inline adapter is in this process and is asked
   * directly; one in its own process through VS Code (`customRequest`). The timeline asks often
   * and its answers are big: the direct way saves two trips through VS Code's debug service
   * (in VS Code for the Web, two over its connection) and their copies of the answer.
   */
  ask(session: vscode.DebugSession, command: string, args: object): Thenable<any> {
    const inline = this.inline.get(session.id);
    return inline ? inline.ask(command, args) : session.customRequest(command, args);
  }

  forget(session: vscode.DebugSession): void {
    this.inline.delete(session.id);
  }

  createDebugAdapterDescriptor(session: vscode.DebugSession): vscode.ProviderResult<vscode.DebugAdapterDescriptor> {
    const mode = vscode.workspace.getConfiguration('smplab').get<string>('adapter', 'inline');
    if (mode === 'server') {
      if (fs.existsSync(this.adapterScript)) return this.executable(session);
      log().warn(`smplab.adapter is "server" but ${this.adapterScript} does not exist; using the inline adapter`);
    }
    log().info(`session ${session.id} "${session.name}": inline adapter`);
    const adapter = new SmpLabSession();
    this.inline.set(session.id, adapter);
    return new vscode.DebugAdapterInlineImplementation(adapter);
  }

  private executable(session: vscode.DebugSession): vscode.DebugAdapterExecutable {
    log().info(`session ${session.id} "${session.name}": adapter process ${process.execPath} ${this.adapterScript}`);
    // In desktop VS Code process.execPath is Electron: make it behave as plain Node.
    return new vscode.DebugAdapterExecutable(process.execPath, [this.adapterScript], { env: { ELECTRON_RUN_AS_NODE: '1' } });
  }
}

/** Logs every DAP message at trace level, and failures, stops and exits at info level. */
export class SmpLabTrackerFactory implements vscode.DebugAdapterTrackerFactory {
  createDebugAdapterTracker(session: vscode.DebugSession): vscode.DebugAdapterTracker {
    const tag = `[${session.id.slice(0, 8)}]`;
    return {
      onWillReceiveMessage: (m: { command?: string; arguments?: unknown }) => log().trace(`${tag} -> ${m.command} ${JSON.stringify(m.arguments ?? {})}`),
      onDidSendMessage: (m: { type?: string; command?: string; event?: string; success?: boolean; message?: string; body?: unknown }) => {
        if (m.type === 'response' && m.success === false) log().warn(`${tag} <- ${m.command} failed: ${m.message ?? ''} ${JSON.stringify(m.body ?? {})}`);
        else if (m.type === 'event' && (m.event === 'stopped' || m.event === 'terminated' || m.event === 'exited')) {
          log().info(`${tag} <- event ${m.event} ${JSON.stringify(m.body ?? {})}`);
        } else log().trace(`${tag} <- ${m.type} ${m.command ?? m.event ?? ''}`);
      },
      onError: (e: Error) => log().error(`${tag} adapter error: ${e.message}`),
      onExit: (code: number | undefined, signal: string | undefined) => log().info(`${tag} adapter exited (code ${code ?? '-'}, signal ${signal ?? '-'})`),
    };
  }
}
