import { OutputEvent } from '@vscode/debugadapter';
import { DebugProtocol } from '@vscode/debugprotocol';
import { SourceRange } from '../kc/diagnostics.js';
import { MachineEvent } from '../machine/events.js';
import { kernelReport } from '../machine/report.js';
import { eventHead, eventLines } from '../machine/trace.js';
import { Debuggee } from './debuggee.js';
import { Sources } from './sources.js';

type Category = 'console' | 'stdout' | 'stderr';

/** Event-log lines sent between two stops at most; past that they are counted, and `smplab run` prints them all. */
const MAX_LINES_PER_RUN = 2000;

/** Events that are harm done: printed in the error colour, each with its source line. */
const HARM = new Set(['warn', 'bug', 'lost-work']);

/**
 * The Debug Console while the machine runs: the tracepoint-style event log
 * that `smplab run` prints, with a kernel-style report for a WARN. Lines are
 * gathered and sent in batches; a line that names a source line goes alone,
 * so the Debug Console can link it.
 */
export class DebugConsole {
  private text = '';
  private category: Category = 'stdout';
  private lines = 0;
  private dropped = 0;

  constructor(private readonly sources: Sources, private readonly send: (e: DebugProtocol.Event) => void) {}

  /** Logs each event the debuggee's machine emits while it runs forward (not while the past is replayed). */
  follow(d: Debuggee): void {
    d.m.onEvent((e) => {
      if (!d.timeline.replaying) this.logEvent(d, e);
    });
  }

  private logEvent(d: Debuggee, e: MachineEvent): void {
    const category: Category = HARM.has(e.kind) ? 'stderr' : 'stdout';
    if (e.kind === 'warn' || e.kind === 'bug') {
      for (const l of kernelReport(d.m, e)) this.print(`${eventHead(e)} ${l.text}`, category, l.at);
      return;
    }
    const located = HARM.has(e.kind) || e.kind === 'printk' ? e.at : undefined;
    for (const l of eventLines(d.m, e)) this.print(l, category, located);
  }

  /** A line of its own in the Debug Console (verdicts, notes). */
  say(text: string, category: Category = 'console'): void {
    this.flush();
    this.send(new OutputEvent(text.endsWith('\n') ? text : `${text}\n`, category));
  }

  /** One line, gathered with the lines around it unless it names a source line. */
  print(text: string, category: Category, at?: SourceRange): void {
    // harm done is always shown; the rest of a long run is counted
    if (this.lines >= MAX_LINES_PER_RUN && category !== 'stderr') {
      this.dropped++;
      return;
    }
    this.lines++;
    if (at || category !== this.category) this.flush();
    this.category = category;
    this.text += `${text}\n`;
    if (at) this.flush(at);
  }

  /** Sends what was gathered; call before a stop so the log comes first. */
  flush(at?: SourceRange): void {
    if (this.text) {
      const out = new OutputEvent(this.text, this.category) as DebugProtocol.OutputEvent;
      if (at) {
        out.body.source = this.sources.sourceFor(at.file);
        out.body.line = at.start.line;
        out.body.column = at.start.col;
      }
      this.text = '';
      this.send(out);
    }
    if (this.dropped) {
      this.send(new OutputEvent(`... and ${this.dropped} more events (smplab run prints them all)\n`, 'console'));
      this.dropped = 0;
    }
  }

  /** A new run of the machine: the line count starts over. */
  startRun(): void {
    this.lines = 0;
  }
}
