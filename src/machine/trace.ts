import { EVENT_KINDS, MachineEvent } from './events.js';
import type { Machine } from './machine.js';

/** Fields holding function values, printed as symbol names. */
const SYMBOL_FIELDS = new Set(['func']);

/** A field value as a person reads it: symbols by name, states and actions by their constant. */
export function fieldText(m: Machine, kind: string, name: string, v: number | string): string {
  if (typeof v === 'string') return v;
  if (SYMBOL_FIELDS.has(name)) return m.symbol(v);
  if (name === 'csd' || name === 'rq') return `0x${(v >>> 0).toString(16)}`;
  if (kind === 'stop-machine-state' && name === 'state') return constantName(m, v, /^MULTI_STOP_/) ?? String(v);
  if (kind === 'cpuhp' && name === 'action') return constantName(m, v, /^CPU_(?!PRI_|TASKS_FROZEN)[A-Z_]+$/) ?? String(v);
  return String(v);
}

function constantName(m: Machine, v: number, pattern: RegExp): string | undefined {
  let best: string | undefined;
  for (const [name, value] of m.program.constants) {
    if (value === v && pattern.test(name) && (!best || name.length < best.length)) best = name;
  }
  return best;
}

/** One event as a line of an ftrace-like log: step, CPU, tracepoint, fields. */
export function formatEvent(m: Machine, e: MachineEvent): string {
  const head = `${String(e.step).padStart(8)} [${String(e.cpu).padStart(3, '0')}]`;
  if (e.kind === 'printk') return `${head} ${e.fields.message}`;
  if (e.kind === 'warn' || e.kind === 'bug') {
    const where = e.at ? `${e.at.file.split(/[\\/]/).slice(-2).join('/')}:${e.at.start.line}` : '?';
    const title = e.kind === 'bug' ? e.fields.message : `WARNING: CPU: ${e.cpu} at ${where} ${e.fields.function}()`;
    return e.fields.message && e.kind === 'warn' ? `${head} ${title}\n${head} ${e.fields.message}` : `${head} ${title}`;
  }
  const meta = EVENT_KINDS[e.kind];
  const fields = Object.entries(e.fields).map(([k, v]) => `${k}=${fieldText(m, e.kind, k, v)}`).join(' ');
  return fields ? `${head} ${meta.tracepoint}: ${fields}` : `${head} ${meta.tracepoint}`;
}

/** The same event as plain data, with symbols resolved, for --json and the debugger. */
export function eventJson(m: Machine, e: MachineEvent): Record<string, unknown> {
  const fields: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(e.fields)) fields[k] = typeof v === 'number' && (SYMBOL_FIELDS.has(k)) ? fieldText(m, e.kind, k, v) : v;
  return {
    step: e.step, cpu: e.cpu, event: e.kind, tracepoint: EVENT_KINDS[e.kind].tracepoint, fields,
    at: e.at ? { file: e.at.file, line: e.at.start.line, col: e.at.start.col } : undefined, function: e.func,
  };
}
