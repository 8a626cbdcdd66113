import { DebugProtocol } from '@vscode/debugprotocol';
import { EVENT_KINDS, MachineEvent } from '../machine/events.js';
import { Machine } from '../machine/machine.js';
import { fieldText } from '../machine/trace.js';
import { Debuggee } from './debuggee.js';
import { Stop } from './runControl.js';

/** How stops read: the event a stop is on, and what the exception widget shows. */

export function describeEvent(m: Machine, e: MachineEvent): string {
  if (e.kind === 'warn') return `WARNING on CPU${e.cpu} in ${e.fields.function}(): ${e.fields.message || 'WARN_ON'}`;
  const fields = Object.entries(e.fields).map(([k, v]) => `${k}=${fieldText(m, e.kind, k, v)}`).join(' ');
  return `${EVENT_KINDS[e.kind].tracepoint} on CPU${e.cpu}: ${fields}`;
}

/** The exception widget's contents for a stop on an event or a fault. */
export function exceptionInfo(d: Debuggee, stop: Stop): DebugProtocol.ExceptionInfoResponse['body'] {
  const e = stop.event;
  let details = stop.description ?? '';
  if (e?.kind === 'warn') {
    const queued = d.queuedAtIpi.get(e.cpu) ?? [];
    if (queued.length) details += `\n${queued.map((f) => `IPI callback ${f} sent to offline CPU`).join('\n')}`;
  }
  return {
    exceptionId: e ? e.kind : 'fault',
    description: details,
    breakMode: 'always',
    details: { message: details, typeName: e ? EVENT_KINDS[e.kind].tracepoint : 'fault' },
  };
}
