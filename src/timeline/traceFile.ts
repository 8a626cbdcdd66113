import { closeSync, openSync, writeSync } from 'node:fs';
import { ChromeTrace } from '../timeline/chromeTrace.js';

/** Writes a trace one event per line, so a run of millions of events never becomes one string. */
export function writeChromeTrace(path: string, trace: ChromeTrace): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, '{"traceEvents":[\n');
    const events = trace.traceEvents;
    const chunk: string[] = [];
    for (let i = 0; i < events.length; i++) {
      chunk.push(JSON.stringify(events[i]) + (i + 1 < events.length ? ',\n' : '\n'));
      if (chunk.length === 4096) writeSync(fd, chunk.splice(0).join(''));
    }
    writeSync(fd, chunk.join(''));
    writeSync(fd, `],\n"displayTimeUnit":${JSON.stringify(trace.displayTimeUnit)},\n"otherData":${JSON.stringify(trace.otherData)}}\n`);
  } finally {
    closeSync(fd);
  }
}
