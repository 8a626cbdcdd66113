/**
 * A client for the language server as an editor speaks to it: `node
 * dist/server.js --stdio` over JSON-RPC. Run `node build.mjs` first.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  MessageConnection, StreamMessageReader, StreamMessageWriter, createMessageConnection,
} from 'vscode-jsonrpc/node';

export const ROOT = join(__dirname, '..');
export const SERVER = join(ROOT, 'dist', 'server.js');
export const uri = (path: string) => pathToFileURL(path).href;

export interface Pos { line: number; character: number }
export interface Range { start: Pos; end: Pos }
export interface LspDiagnostic { range: Range; message: string; severity?: number }
export interface Published { uri: string; version?: number; diagnostics: LspDiagnostic[]; at: number }

export class Client {
  readonly published: Published[] = [];
  readonly logs: string[] = [];
  private readonly listeners: (() => void)[] = [];
  exited: Promise<number | null>;

  private constructor(readonly proc: ChildProcess, readonly conn: MessageConnection) {
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    conn.onNotification('textDocument/publishDiagnostics', (p: Omit<Published, 'at'>) => {
      this.published.push({ ...p, at: performance.now() });
      for (const l of this.listeners.splice(0)) l();
    });
    conn.onNotification('window/logMessage', (p: { message: string }) => void this.logs.push(p.message));
  }

  static async start(): Promise<Client> {
    const proc = spawn(process.execPath, [SERVER, '--stdio'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stderr!.on('data', () => {});
    const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    const c = new Client(proc, conn);
    conn.listen();
    const init = await conn.sendRequest('initialize', { processId: process.pid, rootUri: uri(ROOT), capabilities: {} }) as { capabilities: Record<string, unknown> };
    assert.ok(init.capabilities.completionProvider);
    await conn.sendNotification('initialized', {});
    return c;
  }

  open(path: string, languageId: 'smp' | 'kc', text = readFileSync(path, 'utf8'), version = 1): string {
    return this.openUri(uri(path), languageId, text, version);
  }

  openUri(u: string, languageId: 'smp' | 'kc', text: string, version = 1): string {
    void this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: u, languageId, version, text } });
    return u;
  }

  change(u: string, text: string, version: number): void {
    void this.conn.sendNotification('textDocument/didChange', { textDocument: { uri: u, version }, contentChanges: [{ text }] });
  }

  close(u: string): void {
    void this.conn.sendNotification('textDocument/didClose', { textDocument: { uri: u } });
  }

  /** The first diagnostics for `u` published after `since` that satisfy `ok`. */
  diagnostics(u: string, ok: (d: LspDiagnostic[]) => boolean = () => true, since = 0, timeoutMs = 10000): Promise<Published> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching diagnostics for ${u} within ${timeoutMs} ms; got ${JSON.stringify(this.published.filter((p) => p.uri === u))}`)), timeoutMs);
      const check = () => {
        const hit = this.published.find((p) => p.uri === u && p.at >= since && ok(p.diagnostics));
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        } else this.listeners.push(check);
      };
      check();
    });
  }

  request<T>(method: string, params: unknown): Promise<T> {
    return this.conn.sendRequest(method, params) as Promise<T>;
  }

  completion(u: string, position: Pos, triggerCharacter?: string): Promise<CompletionItem[]> {
    const context = triggerCharacter ? { triggerKind: 2, triggerCharacter } : { triggerKind: 1 };
    return this.request<CompletionItem[] | { items: CompletionItem[] }>('textDocument/completion', { textDocument: { uri: u }, position, context })
      .then((r) => (Array.isArray(r) ? r : r?.items ?? []));
  }

  hover(u: string, position: Pos): Promise<{ contents: { value: string }; range?: Range } | null> {
    return this.request('textDocument/hover', { textDocument: { uri: u }, position });
  }

  definition(u: string, position: Pos): Promise<{ uri: string; range: Range } | null> {
    return this.request('textDocument/definition', { textDocument: { uri: u }, position });
  }

  symbols(u: string): Promise<DocumentSymbol[]> {
    return this.request('textDocument/documentSymbol', { textDocument: { uri: u } });
  }
}

export interface CompletionItem { label: string; detail?: string; documentation?: string | { value: string }; insertText?: string; textEdit?: { newText: string } }
export interface DocumentSymbol { name: string; detail?: string; kind: number; range: Range; selectionRange: Range; children?: DocumentSymbol[] }
