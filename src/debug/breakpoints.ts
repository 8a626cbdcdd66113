import { basename } from 'node:path';
import { Breakpoint } from '@vscode/debugadapter';
import { DebugProtocol } from '@vscode/debugprotocol';
import { CompiledFunction } from '../kc/program.js';
import { EventKind, MachineEvent } from '../machine/events.js';
import { Machine } from '../machine/machine.js';
import { compileEventCondition } from '../scenario/build.js';
import { patchedLine } from '../scenario/model.js';
import { Debuggee } from './debuggee.js';
import { MAX_EXPRESSION_LENGTH, compileTyped, diagnosticText, evaluationFailure } from './expressions.js';
import { visibleLocal } from './frames.js';
import { Sources } from './sources.js';

/** The event breakpoints, offered as exception filters. */
export const EVENT_FILTERS: { id: string; label: string; kinds: EventKind[]; default?: boolean; description: string }[] = [
  { id: 'ipi-send', label: 'IPI send', kinds: ['ipi-send'], description: 'A CPU sends a call-function IPI. Fields: cpu, target, latency.' },
  { id: 'ipi-receive', label: 'IPI receive', kinds: ['ipi-receive'], description: 'A CPU enters the IPI handler. Fields: cpu, online, queued.' },
  { id: 'csd-queue', label: 'csd queued', kinds: ['csd-queue'], description: 'A csd is queued on a call_single_queue. Fields: cpu, target, func, csd.' },
  { id: 'stop-machine-state', label: 'Stop-machine state', kinds: ['stop-machine-state'], description: 'A CPU acts on a new multi-stop state. Fields: cpu, state, active.' },
  { id: 'cpuhp', label: 'CPU hotplug notifier', kinds: ['cpuhp'], description: 'A hotplug notifier chain runs (CPU_DOWN_PREPARE, CPU_DYING, CPU_DEAD ...). Fields: cpu, action, target.' },
  { id: 'cpu-offline', label: 'CPU offline', kinds: ['cpu-offline'], description: 'A CPU leaves cpu_online_mask. Fields: cpu, target.' },
  { id: 'warn', label: 'WARN', kinds: ['warn', 'bug'], default: true, description: 'A WARN or BUG fires. Fields: cpu.' },
  { id: 'lost-work', label: 'Lost work', kinds: ['lost-work'], description: 'A CPU dies with a callback still queued. Fields: cpu, target, func.' },
];

export type EventFilter = (typeof EVENT_FILTERS)[number];

/** A line or function breakpoint as the machine checks it. */
export interface LineBreakpoint {
  id: number;
  kind: 'breakpoint' | 'function breakpoint';
  verified: boolean;
  /** the condition, compiled for each function the breakpoint lands in */
  condition?: Map<number, (m: Machine) => boolean>;
  hitCondition?: (hits: number) => boolean;
  /** a log point's message, compiled for each function it lands in */
  logMessage?: Map<number, (c: number, fp: number) => string>;
  hits: number;
}

/** The first step of a function on a line. */
interface CodeSite {
  fn: CompiledFunction;
  pc: number;
}

/** Breakpoints by (function id, pc). */
function codeKey(fnId: number, pc: number): number {
  return fnId * 100000 + pc;
}

/**
 * Every kind of breakpoint: lines (with condition, hit count, log message),
 * functions, events and data. They outlive a restart: each launch rebuilds
 * where they land in its program.
 */
export class Breakpoints {
  private d?: Debuggee;
  private nextId = 1;
  private readonly code = new Map<number, LineBreakpoint[]>();
  /** per source path: the breakpoints set there, to rebuild `code` */
  private readonly bySource = new Map<string, Map<number, LineBreakpoint[]>>();
  private functions = new Map<number, LineBreakpoint[]>();
  private readonly filters = new Map<string, ((e: MachineEvent) => boolean) | true>();
  /** data breakpoints by address: a whole cell, or one bit of it (a CPU in a cpumask) */
  private data = new Map<number, { id: number; bit?: number }[]>();

  constructor(private readonly sources: Sources, private readonly log: (text: string) => void) {}

  /** A new launch or restart: place every breakpoint in its program. */
  attach(d: Debuggee): void {
    this.d = d;
    this.rebuild();
    this.applyData();
  }

  get anyCode(): boolean {
    return this.code.size > 0;
  }

  // ---- lines

  setLines(args: DebugProtocol.SetBreakpointsArguments): DebugProtocol.Breakpoint[] {
    const path = this.sources.pathOf(args.source);
    const fromPatched = !args.source.path && args.source.sourceReference !== undefined;
    const prepared = this.d?.prepared;
    const byLine = new Map<number, LineBreakpoint[]>();
    const result: DebugProtocol.Breakpoint[] = [];
    const lines = path ? this.codeLines(path) : new Map<number, CodeSite[]>();
    for (const b of args.breakpoints ?? []) {
      const bp: LineBreakpoint = { id: this.nextId++, kind: 'breakpoint', verified: false, hits: 0 };
      const out = new Breakpoint(false, b.line) as DebugProtocol.Breakpoint;
      out.id = bp.id;
      if (!path || !prepared) {
        out.message = 'the scenario is not loaded yet';
        result.push(out);
        continue;
      }
      const place = this.place(path, lines, b.line, fromPatched);
      if ('message' in place) {
        out.message = place.message;
        result.push(out);
        continue;
      }
      const errors: string[] = [];
      const sites = lines.get(place.line) ?? [];
      if (b.condition) {
        bp.condition = new Map();
        for (const at of sites) {
          const r = compileTyped(prepared.program, '<condition>', b.condition, { local: (n) => visibleLocal(at, n) });
          if (r.ok) bp.condition.set(at.fn.id, (m) => r.eval(m) !== 0);
          else errors.push(`condition: ${diagnosticText(r.diagnostics)}`);
        }
      }
      if (b.hitCondition) {
        const h = parseHitCondition(b.hitCondition);
        if (h) bp.hitCondition = h;
        else errors.push(`hit count: '${b.hitCondition}' is not a number or a comparison like '>= 3' or '% 2'`);
      }
      if (b.logMessage) bp.logMessage = new Map(sites.map((at) => [at.fn.id, this.logTemplate(b.logMessage!, at)]));
      bp.verified = errors.length === 0;
      out.verified = bp.verified;
      out.line = place.line;
      if (errors.length) out.message = errors.join('; ');
      else if (place.moved) out.message = place.moved;
      const list = byLine.get(place.line) ?? [];
      list.push(bp);
      byLine.set(place.line, list);
      result.push(out);
    }
    if (path) this.bySource.set(path, byLine);
    this.rebuild();
    return result;
  }

  /** The line in the running (possibly patched) code a breakpoint at `line` of `path` lands on. */
  private place(path: string, lines: Map<number, CodeSite[]>, line: number, inPatchedText: boolean): { line: number; moved?: string } | { message: string } {
    const mf = this.d!.prepared.model.files.find((f) => f.path === path);
    let target = line;
    let moved: string | undefined;
    if (mf && mf.patches.length && !inPatchedText) {
      const p = patchedLine(mf, line);
      if ('removedBy' in p) return { message: `line ${line} is changed by patch ${p.removedBy}; set the breakpoint in the patched source` };
      target = p.line;
      if (target !== line) moved = `line ${line} of ${basename(path)} is line ${target} after the patches`;
    }
    if (!lines.size) return { message: `${basename(path)} is not part of this scenario's model` };
    for (let l = target; l < target + 20; l++) {
      if (lines.has(l)) return { line: l, moved: l !== target ? `no statement on line ${target}; moved to line ${l}` : moved };
    }
    return { message: `no statement at or after line ${target}` };
  }

  /** Lines of a file that have steps, with the first step of each function on that line. */
  private codeLines(path: string): Map<number, CodeSite[]> {
    const out = new Map<number, CodeSite[]>();
    for (const fn of this.d?.prepared.program.functions ?? []) {
      if (fn.file !== path) continue;
      fn.code.forEach((ins, pc) => {
        if (ins.range.file !== path) return;
        const list = out.get(ins.range.start.line) ?? [];
        if (!list.some((x) => x.fn === fn)) list.push({ fn, pc });
        out.set(ins.range.start.line, list);
      });
    }
    return out;
  }

  /** The lines between line and endLine of a source that have statements. */
  locations(source: DebugProtocol.Source, line: number, endLine = line): DebugProtocol.BreakpointLocation[] {
    const path = this.sources.pathOf(source);
    const lines = path ? [...this.codeLines(path).keys()] : [];
    return lines.filter((l) => l >= line && l <= endLine).sort((a, b) => a - b).map((l) => ({ line: l }));
  }

  private rebuild(): void {
    this.code.clear();
    if (!this.d) return;
    for (const [path, byLine] of this.bySource) {
      const lines = this.codeLines(path);
      for (const [line, bps] of byLine) {
        for (const at of lines.get(line) ?? []) {
          const key = codeKey(at.fn.id, at.pc);
          this.code.set(key, [...(this.code.get(key) ?? []), ...bps]);
        }
      }
    }
    for (const [fnId, bps] of this.functions) {
      const key = codeKey(fnId, 0);
      this.code.set(key, [...(this.code.get(key) ?? []), ...bps]);
    }
  }

  // ---- functions

  setFunctions(args: DebugProtocol.SetFunctionBreakpointsArguments): DebugProtocol.Breakpoint[] {
    this.functions = new Map();
    const prepared = this.d?.prepared;
    const result: DebugProtocol.Breakpoint[] = [];
    for (const b of args.breakpoints) {
      const fn = prepared?.program.functionsByName.get(b.name);
      const bp: LineBreakpoint = { id: this.nextId++, kind: 'function breakpoint', verified: !!fn?.decl.body, hits: 0 };
      const out = new Breakpoint(bp.verified) as DebugProtocol.Breakpoint;
      out.id = bp.id;
      if (fn?.decl.body) {
        if (b.condition) {
          const r = compileTyped(prepared!.program, '<condition>', b.condition, { local: (n) => fn.params.find((p) => p.name === n) });
          if (r.ok) bp.condition = new Map([[fn.id, (m: Machine) => r.eval(m) !== 0]]);
          else {
            bp.verified = out.verified = false;
            out.message = `condition: ${diagnosticText(r.diagnostics)}`;
          }
        }
        if (b.hitCondition) bp.hitCondition = parseHitCondition(b.hitCondition);
        this.functions.set(fn.id, [...(this.functions.get(fn.id) ?? []), bp]);
        out.line = fn.code[0]?.range.start.line;
        out.source = this.sources.sourceFor(fn.file);
      } else out.message = `no function '${b.name}' in the model`;
      result.push(out);
    }
    this.rebuild();
    return result;
  }

  /**
   * The line and function breakpoints where CPU c is about to execute, their
   * conditions and hit counts checked; log points print and do not count as
   * hits. `quiet` checks conditions only (for searches through the past).
   */
  hitAt(c: number, quiet = false): { ids: number[]; kind: LineBreakpoint['kind'] } | undefined {
    const m = this.d!.m;
    const at = m.nextInstr(c);
    if (!at) return undefined;
    const bps = this.code.get(codeKey(at.fn.id, at.pc));
    if (!bps) return undefined;
    const hit: LineBreakpoint[] = [];
    for (const bp of bps) {
      if (!bp.verified || !this.conditionHolds(bp, c, at)) continue;
      if (quiet) {
        hit.push(bp);
        continue;
      }
      bp.hits++;
      if (bp.hitCondition && !bp.hitCondition(bp.hits)) continue;
      const log = bp.logMessage?.get(at.fn.id);
      if (log) this.log(log(c, at.fp));
      else if (!bp.logMessage) hit.push(bp);
    }
    return hit.length ? { ids: hit.map((b) => b.id), kind: hit[0].kind } : undefined;
  }

  /** A condition that cannot be evaluated here (a NULL pointer, say) does not hold. */
  private conditionHolds(bp: LineBreakpoint, c: number, at: { fn: CompiledFunction; fp: number }): boolean {
    if (!bp.condition) return true;
    const cond = bp.condition.get(at.fn.id);
    const m = this.d!.m;
    try {
      return !!cond && m.inFrame(c, at.fp, () => cond(m));
    } catch {
      return false;
    }
  }

  /** A log point's message with each {expr} compiled in the function it lands in; what cannot be compiled or evaluated says why in its place. */
  private logTemplate(message: string, at: { fn: CompiledFunction; pc: number }): (c: number, fp: number) => string {
    const { m, view } = this.d!;
    const parts = message.split(/\{([^}]+)\}/).map((text, i): string | ((c: number, fp: number) => string) => {
      if (i % 2 === 0) return text;
      const r = compileTyped(m.program, '<log>', text, { local: (n) => visibleLocal(at, n) });
      const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
      if (!r.ok) return `{${shown}: ${diagnosticText(r.diagnostics)}}`;
      return (c, fp) => {
        try {
          return view.scalar(m.inFrame(c, fp, () => r.eval(m)), r.type);
        } catch (e) {
          return `{${shown}: ${evaluationFailure(e)}}`;
        }
      };
    });
    return (c, fp) => parts.map((p) => (typeof p === 'string' ? p : p(c, fp))).join('');
  }

  // ---- events

  setEventFilters(args: DebugProtocol.SetExceptionBreakpointsArguments): DebugProtocol.Breakpoint[] {
    this.filters.clear();
    const results: DebugProtocol.Breakpoint[] = [];
    const options: DebugProtocol.ExceptionFilterOptions[] = args.filterOptions ?? args.filters.map((filterId) => ({ filterId }));
    for (const o of options) {
      const f = EVENT_FILTERS.find((x) => x.id === o.filterId);
      if (!f) {
        results.push({ verified: false, message: `unknown event filter '${o.filterId}'` });
        continue;
      }
      if (!o.condition) {
        this.filters.set(f.id, true);
        results.push({ verified: true });
        continue;
      }
      const cond = this.eventCondition(o.condition);
      if (typeof cond === 'string') {
        results.push({ verified: false, message: cond });
        continue;
      }
      this.filters.set(f.id, cond);
      results.push({ verified: true });
    }
    return results;
  }

  private eventCondition(text: string): ((e: MachineEvent) => boolean) | string {
    if (!this.d) return 'the scenario is not loaded yet';
    if (text.length > MAX_EXPRESSION_LENGTH) return `condition: the expression is ${text.length} characters long; at most ${MAX_EXPRESSION_LENGTH} are read`;
    let c: ReturnType<typeof compileEventCondition>;
    try {
      c = compileEventCondition(this.d.m, '<condition>', text);
    } catch (e) {
      if (e instanceof RangeError) return 'condition: the expression nests too deeply to be read';
      throw e;
    }
    if (!c.ok) return `condition: ${c.diagnostics.map((d) => `column ${d.range.start.col}: ${d.message}`).join('; ')}`;
    // a condition that faults (say, through a NULL pointer) does not stop the machine: it just does not hold
    return (e) => {
      try {
        return c.test(e);
      } catch {
        return false;
      }
    };
  }

  /** The event filter an event stops on, if any. */
  eventHit(e: MachineEvent): EventFilter | undefined {
    for (const f of EVENT_FILTERS) {
      if (!f.kinds.includes(e.kind)) continue;
      const cond = this.filters.get(f.id);
      if (cond && (cond === true || cond(e))) return f;
    }
    return undefined;
  }

  // ---- data

  setData(args: DebugProtocol.SetDataBreakpointsArguments): DebugProtocol.Breakpoint[] {
    this.data = new Map();
    const m = this.d?.m;
    const out: DebugProtocol.Breakpoint[] = [];
    for (const b of args.breakpoints) {
      const [addrText, bitText] = b.dataId.split(':');
      const addr = Number(addrText);
      const bit = bitText === undefined ? undefined : Number(bitText);
      const id = this.nextId++;
      const ok = Number.isInteger(addr) && addr > 0 && !!m && addr < m.mem.length && (bit === undefined || (bit >= 0 && bit < 32));
      if (ok) this.data.set(addr, [...(this.data.get(addr) ?? []), { id, bit }]);
      out.push({ id, verified: ok, message: ok ? undefined : `bad data breakpoint '${b.dataId}'` });
    }
    this.applyData();
    return out;
  }

  private applyData(): void {
    if (this.d) this.d.m.writeWatch = this.data.size ? new Set(this.data.keys()) : null;
  }

  /** The data breakpoints a write of `value` over `old` at addr hits, and what changed. */
  dataHit(addr: number, old: number, value: number): { ids: number[]; what: string } | undefined {
    const m = this.d!.m;
    const hit = (this.data.get(addr) ?? []).filter((b) => b.bit === undefined || ((old ^ value) >>> b.bit) & 1);
    if (!hit.length) return undefined;
    const bit = hit[0].bit;
    const what = bit === undefined ? `${m.nameOf(addr)} changed: ${old} → ${value}` : `${m.nameOf(addr)} bit ${bit} changed: ${(old >>> bit) & 1} → ${(value >>> bit) & 1}`;
    return { ids: hit.map((b) => b.id), what };
  }
}

function parseHitCondition(text: string): ((hits: number) => boolean) | undefined {
  const m = /^\s*(==|>=|>|<=|<|%)?\s*(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[2]);
  switch (m[1]) {
    case '>=': return (h) => h >= n;
    case '>': return (h) => h > n;
    case '<=': return (h) => h <= n;
    case '<': return (h) => h < n;
    case '%': return (h) => n > 0 && h % n === 0;
    default: return (h) => h === n;
  }
}
