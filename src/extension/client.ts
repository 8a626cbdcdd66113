/**
 * The language client: starts dist/server.js (the SMP Lab language server, over stdio)
 * for .smp and .kc documents.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { errorText, log } from './log';

let client: LanguageClient | undefined;

export function startLanguageClient(serverModule: string): void {
  if (!fs.existsSync(serverModule)) {
    log().warn(`language server not started: ${serverModule} does not exist (run "npm run build")`);
    return;
  }
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.stdio },
    debug: { module: serverModule, transport: TransportKind.stdio, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'smp' },
      { scheme: 'file', language: 'kc' },
      { scheme: 'untitled', language: 'smp' },
      { scheme: 'untitled', language: 'kc' },
    ],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{smp,kc,patch}') },
  };
  client = new LanguageClient('smplab', 'SMP Lab Language Server', serverOptions, clientOptions);
  log().info(`starting the language server ${serverModule} --stdio`);
  client.start().then(
    () => log().info('language server running'),
    (e) => log().error(`language server failed to start: ${errorText(e)}`),
  );
}

export async function stopLanguageClient(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) await c.stop().catch(() => undefined);
}
