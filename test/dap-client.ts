/**
 * Talking to the built stdio debug adapter (dist/debugAdapter.js) in tests:
 * the real DAP client for ordinary sessions, and a raw client that writes
 * bytes itself for what a well-behaved client never sends.
 */
import assert from 'node:assert/strict';
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { DebugProtocol } from '@vscode/debugprotocol';
import { ROOT } from './helpers.js';

export const ADAPTER = join(ROOT, 'dist', 'debugAdapter.js');
export const RACE = join(ROOT, 'examples', 'ipi-offline-race.smp');
export const FIXED = join(ROOT, 'examples', 'ipi-offline-fixed.smp');
export const SMP_KC = join(ROOT, 'models', 'linux-3.15', 'smp.kc');

/** Generous: tests run on a busy machine. */
export const DEADLINE_MS = 60_000;

export function lineOf(file: string, text: string): number {
  const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text));
  assert.ok(i >= 0, `no line with ${text} in ${file}`);
  return i + 1;
}

export async function startClient(): Promise<DebugClient> {
  const dc = new DebugClient('node', ADAPTER, 'smplab');
  dc.defaultTimeout = DEADLINE_MS;
  await dc.start();
  return dc;
}

/** Launches a scenario stopped on entry (DebugClient.launch sends initialize first) and returns the entry stop. */
export async function launch(dc: DebugClient, scenario: string, extra: Record<string, unknown> = {}, filters: DebugProtocol.ExceptionFilterOptions[] = [{ filterId: 'warn' }]): Promise<DebugProtocol.StoppedEvent> {
  await dc.launch({ scenario, stopOnEntry: true, ...extra });
  await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: filters });
  const [, e] = await Promise.all([dc.configurationDoneRequest(), stopped(dc)]);
  return e;
}

export async function stopped(dc: DebugClient): Promise<DebugProtocol.StoppedEvent> {
  return (await dc.waitForEvent('stopped', DEADLINE_MS)) as DebugProtocol.StoppedEvent;
}

export async function continueToStop(dc: DebugClient, args: DebugProtocol.ContinueArguments = { threadId: 1 }): Promise<DebugProtocol.StoppedEvent> {
  const [, e] = await Promise.all([dc.continueRequest(args), stopped(dc)]);
  return e;
}

/** The promise's value, or an error naming `what` after `ms`; the timer does not outlive it. */
export async function within<T>(p: Promise<T>, what: string, ms = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`gave up waiting for ${what} after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Fails when a message a person reads shows the adapter's insides instead of words. */
export function assertInWords(message: string | undefined, context = ''): void {
  assert.ok(message && message.trim(), `an empty message ${context}`);
  assert.doesNotMatch(message, /\bundefined\b|\bNaN\b|\[object \w+\]|TypeError|RangeError|ReferenceError|SyntaxError|Maximum call stack|\n\s+at \S+ \(/, `not in words ${context}`);
}

type Message = DebugProtocol.ProtocolMessage & Record<string, unknown>;

/** The adapter process over raw stdio frames. */
export class RawAdapter {
  readonly messages: Message[] = [];
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private seq = 1;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on('data', (d: Buffer) => this.read(d));
    child.stdin.on('error', () => undefined);
    this.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  static start(): RawAdapter {
    return new RawAdapter(spawn(process.execPath, [ADAPTER], { stdio: 'pipe' }));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private read(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/Content-Length: (\d+)/.exec(this.buffer.toString('latin1', 0, end))?.[1]);
      if (this.buffer.length < end + 4 + length) return;
      this.messages.push(JSON.parse(this.buffer.toString('utf8', end + 4, end + 4 + length)));
      this.buffer = this.buffer.subarray(end + 4 + length);
      for (const w of this.waiters.splice(0)) w();
    }
  }

  sendBytes(bytes: string | Buffer): void {
    this.child.stdin.write(bytes);
  }

  /** Sends a request; returns its seq. */
  send(command: string, args?: unknown): number {
    const seq = this.seq++;
    const json = JSON.stringify({ seq, type: 'request', command, arguments: args });
    this.sendBytes(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    return seq;
  }

  /** The first message (from index `from`) that `match` accepts, waiting for it up to the deadline. */
  async waitFor(match: (m: Message) => boolean, what: string, from = 0, deadline = DEADLINE_MS): Promise<Message> {
    const until = Date.now() + deadline;
    for (;;) {
      const found = this.messages.slice(from).find(match);
      if (found) return found;
      if (!this.alive) throw new Error(`the adapter exited while waiting for ${what}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`gave up waiting for ${what} after ${deadline} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  response(seq: number): Promise<DebugProtocol.Response> {
    return this.waitFor((m) => m.type === 'response' && m.request_seq === seq, `the response to request ${seq}`) as unknown as Promise<DebugProtocol.Response>;
  }

  async request(command: string, args?: unknown): Promise<DebugProtocol.Response> {
    return this.response(this.send(command, args));
  }

  /** Output events' text from index `from`. */
  output(from = 0): string {
    return this.messages.slice(from).filter((m) => m.type === 'event' && m.event === 'output').map((m) => (m as unknown as DebugProtocol.OutputEvent).body.output).join('');
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }
}
