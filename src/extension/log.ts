/**
 * The extension's own diagnostics: a LogOutputChannel "SMP Lab" (written to
 * <logs>/exthostN/smplab.smplab/SMP Lab.log as well as shown in the Output view).
 */
import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function createLog(): vscode.LogOutputChannel {
  channel = vscode.window.createOutputChannel('SMP Lab', { log: true });
  return channel;
}

/** The log channel; before activation (or in unit tests) a console stand-in. */
export function log(): Pick<vscode.LogOutputChannel, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'show'> {
  return channel ?? {
    trace: (m: string) => console.debug(m),
    debug: (m: string) => console.debug(m),
    info: (m: string) => console.info(m),
    warn: (m: string) => console.warn(m),
    error: (m: string | Error) => console.error(m),
    show: () => undefined,
  };
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
