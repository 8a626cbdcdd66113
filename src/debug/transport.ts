import { Readable, Writable } from 'node:stream';
import { DebugProtocol } from '@vscode/debugprotocol';
import { SmpLabSession } from './session.js';

/** The largest message body read; a bigger one is rejected without waiting for it. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** A header longer than this without its blank line is not a header. */
const MAX_HEADER_BYTES = 1024;
const HEADER_END = '\r\n\r\n';
const LENGTH_FIELD = 'Content-Length:';

/**
 * Reads DAP messages from a byte stream: `Content-Length: N`, a blank line,
 * then N bytes of JSON. A frame that breaks the rules is reported and
 * skipped, and reading goes on at the next header; nothing in the stream can
 * make the reader wait for more than MAX_MESSAGE_BYTES or end the session.
 */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** the body length being waited for, or -1 while a header is expected */
  private bodyLength = -1;
  /** after a bad frame: the bytes up to the next header are the bad frame's, not news */
  private skipping = false;

  constructor(private readonly message: (m: unknown) => void, private readonly bad: (why: string) => void) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.bodyLength >= 0 ? this.readBody() : this.readHeader());
  }

  /** Reads one header if it is all there; returns whether to go on. */
  private readHeader(): boolean {
    const at = this.buffer.indexOf(LENGTH_FIELD);
    if (at < 0) {
      // keep only what could be the start of a header split across chunks
      if (this.buffer.length > LENGTH_FIELD.length) this.discard(this.buffer.length - LENGTH_FIELD.length);
      return false;
    }
    if (at > 0) this.discard(at);
    const end = this.buffer.indexOf(HEADER_END);
    if (end < 0) {
      if (this.buffer.length > MAX_HEADER_BYTES) this.reject(`a header of over ${MAX_HEADER_BYTES} bytes without the blank line that ends it`, 1);
      return this.buffer.length > MAX_HEADER_BYTES;
    }
    const header = this.buffer.toString('latin1', 0, end);
    const value = /^Content-Length: *(\d+) *$/m.exec(header)?.[1];
    if (value === undefined) return this.reject('a header whose Content-Length is not a number of bytes', end + HEADER_END.length);
    const length = Number(value);
    if (length > MAX_MESSAGE_BYTES) return this.reject(`a message of ${value} bytes, over the limit of ${MAX_MESSAGE_BYTES}`, end + HEADER_END.length);
    this.buffer = this.buffer.subarray(end + HEADER_END.length);
    this.bodyLength = length;
    this.skipping = false;
    return true;
  }

  /** Reads one body if it is all there; returns whether to go on. */
  private readBody(): boolean {
    if (this.buffer.length < this.bodyLength) return false;
    const body = this.buffer.toString('utf8', 0, this.bodyLength);
    this.buffer = this.buffer.subarray(this.bodyLength);
    this.bodyLength = -1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      this.bad(`a message that is not JSON (it begins ${JSON.stringify(body.slice(0, 30))}); its Content-Length may not match its body`);
      this.skipping = true;
      return true;
    }
    this.message(parsed);
    return true;
  }

  /** Drops bytes before a header; said once per run of them. */
  private discard(n: number): void {
    if (!this.skipping) this.bad(`${n} bytes that are not part of a message`);
    this.skipping = true;
    this.buffer = this.buffer.subarray(n);
  }

  private reject(why: string, skip: number): boolean {
    this.bad(why);
    this.skipping = true;
    this.buffer = this.buffer.subarray(skip);
    return true;
  }
}

/** One message as a frame. */
export function frame(message: DebugProtocol.ProtocolMessage): string {
  const json = JSON.stringify(message);
  return `Content-Length: ${Buffer.byteLength(json, 'utf8')}\r\n\r\n${json}`;
}

/**
 * Runs a session over a pair of streams (stdin and stdout, or a socket).
 * `ended` is called once when the input ends or fails.
 */
export function connect(session: SmpLabSession, input: Readable, output: Writable, ended: () => void): void {
  session.onDidSendMessage((m) => {
    if (output.writable) output.write(frame(m as DebugProtocol.ProtocolMessage));
  });
  output.on('error', () => undefined);
  const reader = new FrameReader((m) => session.receive(m), (why) => session.reportBadMessage(why));
  input.on('data', (chunk: Buffer) => reader.push(chunk));
  let done = false;
  const end = () => {
    if (done) return;
    done = true;
    session.dispose();
    ended();
  };
  input.on('end', end);
  input.on('close', end);
  input.on('error', end);
}
