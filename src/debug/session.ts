import { basename } from 'node:path';
import {
  Breakpoint, ContinuedEvent, DebugSession, InitializedEvent, OutputEvent, Scope, Source, StackFrame, StoppedEvent, TerminatedEvent, Thread,
} from '@vscode/debugadapter';
import { DebugProtocol } from '@vscode/debugprotocol';
import { formatDiagnostic } from '../kc/diagnostics.js';
import { CompiledFunction, LocalVar } from '../kc/program.js';
import { EVENT_KINDS, EventKind, MachineEvent } from '../machine/events.js';
import { R_BLOCKED, R_IRQS_ON } from '../machine/layout.js';
import { FrameInfo, Machine } from '../machine/machine.js';
import { fieldText, formatEvent } from '../machine/trace.js';
import { PreparedScenario, ScenarioOverrides, compileEventCondition, loadScenarioFile, startRun } from '../scenario/build.js';
import { ExpectationTracker } from '../scenario/expectations.js';
import { ModelFile, patchedLine } from '../scenario/model.js';
import { Timeline } from './timeline.js';
import { RefTable, VarRef, VariableView } from './variables.js';

export interface LaunchArguments extends DebugProtocol.LaunchRequestArguments {
  scenario: string;
  stopOnEntry?: boolean;
  seed?: number;
  schedule?: string;
  patches?: string[];
  maxSteps?: number;
  ipiLatency?: string | number;
}

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

const STEP_LIMIT = 20000;
const CHUNK = 20000;

interface LineBreakpoint {
  id: number;
  verified: boolean;
  /** the condition, compiled for each function the breakpoint lands in */
  condition?: Map<number, (m: Machine) => boolean>;
  hitCondition?: (hits: number) => boolean;
  logMessage?: string;
  hits: number;
}

interface PendingStop {
  reason: string;
  threadId: number;
  description?: string;
  text?: string;
  hitBreakpointIds?: number[];
  event?: MachineEvent;
}

/**
 * The Debug Adapter Protocol over one simulated machine: threads are CPUs,
 * frames are a CPU's context stack, stepping moves one CPU, and the history
 * can be travelled both ways.
 */
export class SmpLabSession extends DebugSession {
  private prepared?: PreparedScenario;
  private m?: Machine;
  private timeline?: Timeline;
  private launchArgs?: LaunchArguments;
  private tracker?: ExpectationTracker;
  private readonly refs = new RefTable();
  private view?: VariableView;
  private configured!: Promise<void>;
  private markConfigured!: () => void;
  private nextBreakpointId = 1;
  /** breakpoints by (function id, pc) */
  private readonly codeBreakpoints = new Map<number, LineBreakpoint[]>();
  /** per source path: the breakpoints set there, to rebuild codeBreakpoints */
  private readonly sourceBreakpoints = new Map<string, Map<number, LineBreakpoint[]>>();
  private functionBreakpoints = new Map<number, LineBreakpoint[]>();
  private readonly filters = new Map<string, ((e: MachineEvent) => boolean) | true>();
  /** data breakpoints by address: a whole cell, or one bit of it (a CPU in a cpumask) */
  private dataBreakpoints = new Map<number, { id: number; bit?: number }[]>();
  private pending?: PendingStop;
  private lastStop?: PendingStop;
  private running = false;
  private pauseRequested = false;
  /** the callbacks queued when each CPU last entered the IPI handler, for WARN details */
  private readonly queuedAtIpi = new Map<number, string[]>();
  private readonly patchedSources = new Map<number, ModelFile>();
  private readonly patchedRefs = new Map<string, number>();
  private readonly sources = new Map<string, DebugProtocol.Source>();

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    this.resetConfigured();
  }

  private resetConfigured(): void {
    this.configured = new Promise((resolve) => (this.markConfigured = resolve));
  }

  // ---- lifecycle

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsFunctionBreakpoints: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsEvaluateForHovers: true,
      supportsStepBack: true,
      supportsSetVariable: true,
      supportsRestartRequest: true,
      supportsExceptionInfoRequest: true,
      supportsExceptionFilterOptions: true,
      supportsDataBreakpoints: true,
      supportsBreakpointLocationsRequest: true,
      supportsCompletionsRequest: true,
      supportsTerminateRequest: true,
      supportsSingleThreadExecutionRequests: true,
      exceptionBreakpointFilters: EVENT_FILTERS.map((f) => ({
        filter: f.id, label: f.label, description: f.description, default: f.default ?? false, supportsCondition: true,
        conditionDescription: `a KC expression over the event's fields, e.g. ${f.id === 'cpuhp' ? 'action == CPU_DYING' : f.id === 'stop-machine-state' ? 'state == MULTI_STOP_DISABLE_IRQ && cpu == 1' : 'target == 1'}`,
      })),
    };
    this.sendResponse(response);
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: LaunchArguments): Promise<void> {
    if (!args || typeof args.scenario !== 'string' || !args.scenario) {
      return this.sendErrorResponse(response, 3001, 'launch needs "scenario": the path of a .smp file');
    }
    let overrides: ScenarioOverrides;
    try {
      overrides = parseOverrides(args);
    } catch (e) {
      return this.sendErrorResponse(response, 3002, (e as Error).message);
    }
    const { prepared, diagnostics } = loadScenarioFile(args.scenario, overrides);
    if (!prepared) {
      const text = diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n');
      return this.sendErrorResponse(response, 3003, `The scenario has errors:\n${text}`);
    }
    this.launchArgs = args;
    this.begin(prepared);
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
    await this.configured;
    if (args.stopOnEntry) this.stopNow({ reason: 'entry', threadId: 1, description: 'Stopped at the start of the scenario' });
    else void this.runForward();
  }

  private begin(prepared: PreparedScenario): void {
    this.prepared = prepared;
    this.sources.clear();
    const m = startRun(prepared);
    this.m = m;
    this.timeline = new Timeline(m);
    this.view = new VariableView(m, this.refs);
    this.tracker = new ExpectationTracker(prepared);
    m.onEvent(this.tracker.listener);
    m.onEvent((e) => this.onMachineEvent(e));
    m.onWatchedWrite = (addr, old, value) => {
      if (this.timeline?.replaying) return;
      const hit = (this.dataBreakpoints.get(addr) ?? []).filter((b) => b.bit === undefined || ((old ^ value) >>> b.bit) & 1);
      if (!hit.length) return;
      const what = hit[0].bit === undefined ? `${m.nameOf(addr)} changed: ${old} → ${value}` : `${m.nameOf(addr)} bit ${hit[0].bit} changed: ${(old >>> hit[0].bit) & 1} → ${(value >>> hit[0].bit) & 1}`;
      this.pending ??= { reason: 'data breakpoint', threadId: m.cpu + 1, hitBreakpointIds: hit.map((b) => b.id), description: what };
    };
    this.rebuildCodeBreakpoints();
    this.applyDataBreakpoints();
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.markConfigured();
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.pauseRequested = true;
    this.sendResponse(response);
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.pauseRequested = true;
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  protected override restartRequest(response: DebugProtocol.RestartResponse): void {
    if (!this.launchArgs) return this.sendErrorResponse(response, 3010, 'nothing to restart');
    const { prepared, diagnostics } = loadScenarioFile(this.launchArgs.scenario, parseOverrides(this.launchArgs));
    if (!prepared) return this.sendErrorResponse(response, 3003, `The scenario has errors:\n${diagnostics.map(formatDiagnostic).join('\n')}`);
    this.pauseRequested = true;
    this.begin(prepared);
    this.sendResponse(response);
    if (this.launchArgs.stopOnEntry) this.stopNow({ reason: 'entry', threadId: 1 });
    else void this.runForward();
  }

  // ---- machine events: output, event breakpoints

  private onMachineEvent(e: MachineEvent): void {
    const m = this.m!;
    if (e.kind === 'ipi-receive') this.queuedAtIpi.set(e.cpu, m.queuedCallbacks(e.cpu).reverse().map((q) => m.symbol(q.func)));
    if (this.timeline?.replaying) return;
    if (e.kind === 'printk' || e.kind === 'warn' || e.kind === 'bug' || e.kind === 'lost-work') {
      const out = new OutputEvent(formatEvent(m, e).replace(/^ +/gm, '') + '\n', e.kind === 'printk' ? 'stdout' : 'stderr') as DebugProtocol.OutputEvent;
      if (e.at) {
        out.body.source = this.sourceFor(e.at.file);
        out.body.line = e.at.start.line;
        out.body.column = e.at.start.col;
      }
      this.sendEvent(out);
    }
    for (const f of EVENT_FILTERS) {
      if (!f.kinds.includes(e.kind)) continue;
      const cond = this.filters.get(f.id);
      if (!cond || (cond !== true && !cond(e))) continue;
      this.pending ??= { reason: 'exception', threadId: e.cpu + 1, description: this.describeEvent(e), text: f.label, event: e };
    }
  }

  private describeEvent(e: MachineEvent): string {
    const m = this.m!;
    if (e.kind === 'warn') return `WARNING on CPU${e.cpu} in ${e.fields.function}(): ${e.fields.message || 'WARN_ON'}`;
    const fields = Object.entries(e.fields).map(([k, v]) => `${k}=${fieldText(m, e.kind, k, v)}`).join(' ');
    return `${EVENT_KINDS[e.kind].tracepoint} on CPU${e.cpu}: ${fields}`;
  }

  // ---- threads, frames, scopes, variables

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    const m = this.m;
    response.body = { threads: m ? Array.from({ length: m.nrCpus }, (_, c) => new Thread(c + 1, this.threadName(c))) : [] };
    this.sendResponse(response);
  }

  threadName(c: number): string {
    const m = this.m!;
    const parts = [`CPU${c}`, m.isDead(c) ? 'dead' : m.isOnline(c) ? 'online' : 'offline', `irqs ${m.regValue(c, R_IRQS_ON) ? 'on' : 'off'}`];
    const stop = m.frames(c).find((f) => f.fn.name === 'multi_cpu_stop');
    const cur = stop?.fn.locals.find((l) => l.name === 'curstate');
    if (stop && cur) parts.push(this.view!.scalar(m.mem[stop.fp + cur.offset], cur.type).replace(/ \(\d+\)$/, ''));
    else parts.push(m.taskName(m.currentTask(c)));
    if (m.frozen[c]) parts.push('frozen');
    else if (m.isBlocked(c) && !m.isDead(c)) parts.push(m.regValue(c, R_BLOCKED) === 2 ? 'idle' : 'waiting');
    return parts.join(' · ');
  }

  private frameId(cpu: number, index: number): number {
    return cpu * 10000 + index + 1;
  }

  private frameOf(id: number): { cpu: number; frame: FrameInfo } | undefined {
    const cpu = Math.floor((id - 1) / 10000);
    const index = (id - 1) % 10000;
    const frame = this.m?.frames(cpu)[index];
    return frame ? { cpu, frame } : undefined;
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    const m = this.m;
    const cpu = args.threadId - 1;
    if (!m || cpu < 0 || cpu >= m.nrCpus) return this.sendErrorResponse(response, 3020, `no CPU for thread ${args.threadId}`);
    const frames = m.frames(cpu);
    const start = args.startFrame ?? 0;
    const count = args.levels || frames.length;
    response.body = {
      stackFrames: frames.slice(start, start + count).map((f, i) => {
        const range = f.instr?.range;
        const sf = new StackFrame(this.frameId(cpu, start + i), this.frameName(f), range ? (this.sourceFor(range.file) as Source) : undefined, range?.start.line ?? 0, range?.start.col ?? 0) as DebugProtocol.StackFrame;
        if (range) {
          sf.endLine = range.end.line;
          sf.endColumn = range.end.col;
        }
        return sf;
      }),
      totalFrames: frames.length,
    };
    this.sendResponse(response);
  }

  private frameName(f: FrameInfo): string {
    const name = f.fn.name;
    if (name.startsWith('__scenario_')) {
      const line = Number(name.split('_').pop());
      const text = this.prepared!.scenario.text.split(/\r?\n/)[line - 1]?.replace(/#.*$/, '').trim();
      return text || name;
    }
    return f.kind === 'hardirq' ? `${name} [hardirq]` : f.kind === 'softirq' ? `${name} [softirq]` : name;
  }

  /** The Source for a compiled file: the file itself, or the patched text when patches changed it. */
  private sourceFor(file: string): DebugProtocol.Source {
    let s = this.sources.get(file);
    if (!s) {
      s = this.makeSource(file);
      this.sources.set(file, s);
    }
    return s;
  }

  private makeSource(file: string): DebugProtocol.Source {
    const mf = this.prepared?.model.files.find((f) => f.path === file);
    if (!mf || !mf.patches.length) return new Source(basename(file), file);
    let ref = this.patchedRefs.get(file);
    if (ref === undefined) {
      ref = this.patchedSources.size + 1;
      this.patchedRefs.set(file, ref);
      this.patchedSources.set(ref, mf);
    }
    const s = new Source(`${basename(file)} (patched: ${mf.patches.map((p) => p.split('/').pop()).join(', ')})`, undefined, ref) as DebugProtocol.Source;
    s.origin = `patched by ${mf.patches.join(', ')}`;
    return s;
  }

  protected override sourceRequest(response: DebugProtocol.SourceResponse, args: DebugProtocol.SourceArguments): void {
    const mf = this.patchedSources.get(args.sourceReference);
    if (!mf) return this.sendErrorResponse(response, 3021, 'no such source');
    response.body = { content: mf.text, mimeType: 'text/x-kc' };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const at = this.frameOf(args.frameId);
    if (!at) return this.sendErrorResponse(response, 3022, `no frame ${args.frameId}`);
    response.body = {
      scopes: [
        new Scope('Locals', this.refs.add({ kind: 'locals', cpu: at.cpu, frame: at.frame }), false),
        new Scope(`CPU${at.cpu}`, this.refs.add({ kind: 'cpu', cpu: at.cpu }), false),
        new Scope('Machine', this.refs.add({ kind: 'machine' }), false),
      ],
    };
    this.sendResponse(response);
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    const ref = this.refs.get(args.variablesReference);
    if (!ref || !this.view) return this.sendErrorResponse(response, 3023, `no variables for reference ${args.variablesReference}`);
    response.body = { variables: this.view.children(ref, args.start ?? 0, args.count ?? 0) };
    this.sendResponse(response);
  }

  /** The address of a child row of a variables reference, for setVariable and data breakpoints. */
  private childAddress(ref: VarRef | undefined, name: string): { addr: number; path: string; type: import('../kc/types.js').Type; bit?: number } | undefined {
    if (!ref || !this.m) return undefined;
    if (ref.kind === 'memory' && ref.type.k === 'struct' && ref.type.name === 'cpumask') {
      const cpu = Number(/^cpu(\d+)$/.exec(name)?.[1] ?? NaN);
      if (!(cpu >= 0 && cpu < this.m.nrCpus)) return undefined;
      return { addr: ref.addr + (cpu >> 5), bit: cpu & 31, path: `${ref.path} CPU ${cpu}`, type: { k: 'int', name: 'int' } };
    }
    if (ref.kind === 'cpu' && name === 'call_single_queue') {
      const g = this.m.program.globals.get('call_single_queue');
      return g ? { addr: g.addr + ref.cpu * (g.type.k === 'struct' ? g.type.size : 1), path: `per_cpu(call_single_queue, ${ref.cpu})`, type: g.type } : undefined;
    }
    if (ref.kind === 'locals') {
      const v = this.visibleLocal(ref.frame, name);
      return v ? { addr: ref.frame.fp + v.offset, path: v.name, type: v.type } : undefined;
    }
    if (ref.kind === 'memory' && ref.type.k === 'struct') {
      const f = ref.type.byName.get(name);
      return f ? { addr: ref.addr + f.offset, path: `${ref.path}.${f.name}`, type: f.type } : undefined;
    }
    if (ref.kind === 'memory' && ref.type.k === 'array') {
      const i = Number(/^\[(\d+)\]$/.exec(name)?.[1] ?? NaN);
      const size = ref.type.of.k === 'struct' ? ref.type.of.size : 1;
      return i >= 0 && i < ref.type.len ? { addr: ref.addr + i * size, path: `${ref.path}[${i}]`, type: ref.type.of } : undefined;
    }
    if (ref.kind === 'globals' || ref.kind === 'percpu') {
      const g = this.m.program.globals.get(name);
      if (!g) return undefined;
      const size = g.type.k === 'struct' ? g.type.size : 1;
      return { addr: g.addr + (ref.kind === 'percpu' ? ref.cpu * size : 0), path: name, type: g.type };
    }
    return undefined;
  }

  private visibleLocal(frame: FrameInfo, name: string): LocalVar | undefined {
    const candidates = frame.fn.locals.filter((l) => l.name === name && (l.isParam || (frame.pc >= l.scope[0] && frame.pc <= l.scope[1])));
    return candidates[candidates.length - 1];
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    const target = this.childAddress(this.refs.get(args.variablesReference), args.name);
    if (!target || !this.m || !this.timeline) return this.sendErrorResponse(response, 3030, `${args.name} cannot be set here`);
    if (target.type.k === 'struct' || target.type.k === 'array') return this.sendErrorResponse(response, 3031, `${args.name} is a ${target.type.k}: set its fields one by one`);
    const r = this.m.program.compileExpression('<value>', args.value, {});
    if (!r.ok) return this.sendErrorResponse(response, 3032, r.diagnostics.map((d) => d.message).join('; '));
    let value: number;
    try {
      value = r.eval(this.m);
    } catch (e) {
      return this.sendErrorResponse(response, 3033, (e as Error).message);
    }
    this.timeline.write(target.addr, value);
    response.body = { value: this.view!.scalar(value, target.type) };
    this.sendResponse(response);
  }

  // ---- evaluation

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    const m = this.m;
    if (!m) return this.sendErrorResponse(response, 3040, 'no scenario is running');
    const at = args.frameId !== undefined ? this.frameOf(args.frameId) : undefined;
    const local = at ? (name: string) => this.visibleLocal(at.frame, name) : undefined;
    const r = m.program.compileExpression('<expression>', args.expression, { local });
    if (!r.ok) return this.sendErrorResponse(response, 3041, r.diagnostics.map((d) => `${d.range.start.col}: ${d.message}`).join('; '));
    try {
      const cpu = at?.cpu ?? 0;
      const fp = at?.frame.fp ?? 0;
      const value = m.inFrame(cpu, fp, () => r.eval(m));
      const addr = r.address ? m.inFrame(cpu, fp, () => r.address!(m)) : undefined;
      const row = addr !== undefined && addr > 0 && (r.type.k === 'struct' || r.type.k === 'array')
        ? this.view!.row(args.expression, addr, r.type, args.expression)
        : this.view!.valueRow(args.expression, value, r.type, args.expression);
      response.body = { result: row.value, variablesReference: row.variablesReference, type: row.type, indexedVariables: row.indexedVariables };
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, 3042, (e as Error).message);
    }
  }

  protected override completionsRequest(response: DebugProtocol.CompletionsResponse, args: DebugProtocol.CompletionsArguments): void {
    const m = this.m;
    const before = args.text.slice(0, args.column - 1);
    const word = /[A-Za-z_]\w*$/.exec(before)?.[0] ?? '';
    const names = new Set<string>();
    const at = args.frameId !== undefined ? this.frameOf(args.frameId) : undefined;
    if (at) for (const l of at.frame.fn.locals) if (!l.name.startsWith('$')) names.add(l.name);
    if (m) {
      for (const g of m.program.globals.values()) if (!g.hidden && !g.name.startsWith('__cpu')) names.add(g.name);
      for (const c of m.program.constants.keys()) names.add(c);
      for (const f of m.program.functions) if (!f.name.startsWith('__scenario')) names.add(f.name);
    }
    response.body = {
      targets: [...names].filter((n) => n.startsWith(word)).sort().slice(0, 200).map((label) => ({ label, start: args.column - 1 - word.length, length: word.length })),
    };
    this.sendResponse(response);
  }

  // ---- breakpoints

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const path = args.source.path ?? (args.source.sourceReference ? this.patchedSources.get(args.source.sourceReference)?.path : undefined);
    const fromPatched = !args.source.path && args.source.sourceReference !== undefined;
    const wanted = args.breakpoints ?? [];
    const byLine = new Map<number, LineBreakpoint[]>();
    const result: DebugProtocol.Breakpoint[] = [];
    for (const b of wanted) {
      const bp: LineBreakpoint = { id: this.nextBreakpointId++, verified: false, hits: 0, logMessage: b.logMessage };
      const out = new Breakpoint(false, b.line) as DebugProtocol.Breakpoint;
      out.id = bp.id;
      if (!path || !this.prepared) {
        out.message = 'the scenario is not loaded yet';
        result.push(out);
        continue;
      }
      const place = this.placeBreakpoint(path, b.line, fromPatched);
      if ('message' in place) {
        out.message = place.message;
        result.push(out);
        continue;
      }
      const errors: string[] = [];
      if (b.condition) {
        bp.condition = new Map();
        for (const at of this.codeLines(path).get(place.line) ?? []) {
          const scope = (n: string) => this.visibleLocal({ fn: at.fn, pc: at.pc, fp: 0, kind: 'call', instr: at.fn.code[at.pc] }, n);
          const r = this.prepared.program.compileExpression('<condition>', b.condition, { local: scope });
          if (r.ok) bp.condition.set(at.fn.id, (m) => r.eval(m) !== 0);
          else errors.push(`condition: ${r.diagnostics.map((d) => d.message).join('; ')}`);
        }
      }
      if (b.hitCondition) {
        const h = parseHitCondition(b.hitCondition);
        if (h) bp.hitCondition = h;
        else errors.push(`hit count: '${b.hitCondition}' is not a number or a comparison like '>= 3' or '% 2'`);
      }
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
    if (path) this.sourceBreakpoints.set(path, byLine);
    this.rebuildCodeBreakpoints();
    response.body = { breakpoints: result };
    this.sendResponse(response);
  }

  /** The line in the running (possibly patched) code a breakpoint at `line` of `path` lands on. */
  private placeBreakpoint(path: string, line: number, inPatchedText: boolean): { line: number; moved?: string } | { message: string } {
    const mf = this.prepared!.model.files.find((f) => f.path === path);
    let target = line;
    let moved: string | undefined;
    if (mf && mf.patches.length && !inPatchedText) {
      const p = patchedLine(mf, line);
      if ('removedBy' in p) return { message: `line ${line} is changed by patch ${p.removedBy}; set the breakpoint in the patched source` };
      target = p.line;
      if (target !== line) moved = `line ${line} of ${basename(path)} is line ${target} after the patches`;
    }
    const lines = this.codeLines(path);
    if (!lines.size) return { message: `${basename(path)} is not part of this scenario's model` };
    for (let l = target; l < target + 20; l++) {
      if (lines.has(l)) return { line: l, moved: l !== target ? `no statement on line ${target}; moved to line ${l}` : moved };
    }
    return { message: `no statement at or after line ${target}` };
  }

  /** Lines of a file that have steps, with the first step of each function on that line. */
  private codeLines(path: string): Map<number, { fn: CompiledFunction; pc: number }[]> {
    const out = new Map<number, { fn: CompiledFunction; pc: number }[]>();
    for (const fn of this.prepared?.program.functions ?? []) {
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

  private rebuildCodeBreakpoints(): void {
    this.codeBreakpoints.clear();
    if (!this.prepared) return;
    for (const [path, byLine] of this.sourceBreakpoints) {
      const lines = this.codeLines(path);
      for (const [line, bps] of byLine) {
        for (const at of lines.get(line) ?? []) {
          const key = at.fn.id * 100000 + at.pc;
          this.codeBreakpoints.set(key, [...(this.codeBreakpoints.get(key) ?? []), ...bps]);
        }
      }
    }
    for (const [fnId, bps] of this.functionBreakpoints) {
      const key = fnId * 100000;
      this.codeBreakpoints.set(key, [...(this.codeBreakpoints.get(key) ?? []), ...bps]);
    }
  }

  protected override breakpointLocationsRequest(response: DebugProtocol.BreakpointLocationsResponse, args: DebugProtocol.BreakpointLocationsArguments): void {
    const path = args.source.path ?? (args.source.sourceReference ? this.patchedSources.get(args.source.sourceReference)?.path : undefined);
    const lines = path ? this.codeLines(path) : new Map();
    const end = args.endLine ?? args.line;
    const out: DebugProtocol.BreakpointLocation[] = [];
    for (let l = args.line; l <= end; l++) if (lines.has(l)) out.push({ line: l });
    response.body = { breakpoints: out };
    this.sendResponse(response);
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    this.functionBreakpoints = new Map();
    const result: DebugProtocol.Breakpoint[] = [];
    for (const b of args.breakpoints) {
      const fn = this.prepared?.program.functionsByName.get(b.name);
      const bp: LineBreakpoint = { id: this.nextBreakpointId++, verified: !!fn?.decl.body, hits: 0 };
      const out = new Breakpoint(bp.verified) as DebugProtocol.Breakpoint;
      out.id = bp.id;
      if (fn?.decl.body) {
        if (b.condition) {
          const r = this.prepared!.program.compileExpression('<condition>', b.condition, { local: (n) => fn.params.find((p) => p.name === n) });
          if (r.ok) bp.condition = new Map([[fn.id, (m: Machine) => r.eval(m) !== 0]]);
          else {
            bp.verified = out.verified = false;
            out.message = r.diagnostics.map((d) => d.message).join('; ');
          }
        }
        if (b.hitCondition) bp.hitCondition = parseHitCondition(b.hitCondition);
        this.functionBreakpoints.set(fn.id, [...(this.functionBreakpoints.get(fn.id) ?? []), bp]);
        out.line = fn.code[0]?.range.start.line;
        out.source = this.sourceFor(fn.file);
      } else out.message = `no function '${b.name}' in the model`;
      result.push(out);
    }
    this.rebuildCodeBreakpoints();
    response.body = { breakpoints: result };
    this.sendResponse(response);
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
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
    response.body = { breakpoints: results };
    this.sendResponse(response);
  }

  private eventCondition(text: string): ((e: MachineEvent) => boolean) | string {
    if (!this.m) return 'the scenario is not loaded yet';
    const c = compileEventCondition(this.m, '<condition>', text);
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

  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    let target: { addr: number; path: string } | undefined;
    if (args.variablesReference !== undefined) target = this.childAddress(this.refs.get(args.variablesReference), args.name);
    else if (this.m) {
      const r = this.m.program.compileExpression('<data>', args.name, {});
      if (r.ok && r.address) target = { addr: r.address(this.m), path: args.name };
    }
    const bit = (target as { bit?: number } | undefined)?.bit;
    if (!target) {
      response.body = { dataId: null, description: `${args.name} has no single memory cell to watch` };
    } else {
      response.body = {
        dataId: bit === undefined ? String(target.addr) : `${target.addr}:${bit}`,
        description: bit === undefined ? `${target.path} (${this.m!.nameOf(target.addr)})` : target.path,
        accessTypes: ['write'], canPersist: false,
      };
    }
    this.sendResponse(response);
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    this.dataBreakpoints = new Map();
    const out: DebugProtocol.Breakpoint[] = [];
    for (const b of args.breakpoints) {
      const [addrText, bitText] = b.dataId.split(':');
      const addr = Number(addrText);
      const bit = bitText === undefined ? undefined : Number(bitText);
      const id = this.nextBreakpointId++;
      const ok = Number.isInteger(addr) && addr > 0 && !!this.m && addr < this.m.mem.length && (bit === undefined || (bit >= 0 && bit < 32));
      if (ok) this.dataBreakpoints.set(addr, [...(this.dataBreakpoints.get(addr) ?? []), { id, bit }]);
      out.push({ id, verified: ok, message: ok ? undefined : `bad data breakpoint '${b.dataId}'` });
    }
    this.applyDataBreakpoints();
    response.body = { breakpoints: out };
    this.sendResponse(response);
  }

  private applyDataBreakpoints(): void {
    if (this.m) this.m.writeWatch = this.dataBreakpoints.size ? new Set(this.dataBreakpoints.keys()) : null;
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse, args: DebugProtocol.ExceptionInfoArguments): void {
    const stop = this.lastStop;
    if (!stop || stop.reason !== 'exception') return this.sendErrorResponse(response, 3050, 'not stopped on an event');
    const e = stop.event;
    let details = stop.description ?? '';
    if (e?.kind === 'warn') {
      const queued = this.queuedAtIpi.get(e.cpu) ?? [];
      if (queued.length) details += `\n${queued.map((f) => `IPI callback ${f} sent to offline CPU`).join('\n')}`;
    }
    response.body = {
      exceptionId: e ? e.kind : 'fault',
      description: details,
      breakMode: 'always',
      details: { message: details, typeName: e ? EVENT_KINDS[e.kind].tracepoint : 'fault' },
    };
    void args;
    this.sendResponse(response);
  }

  // ---- run control

  protected override continueRequest(response: DebugProtocol.ContinueResponse, args: DebugProtocol.ContinueArguments): void {
    response.body = { allThreadsContinued: !args.singleThread };
    this.sendResponse(response);
    void this.runForward(args.singleThread ? args.threadId - 1 : undefined);
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.pauseRequested = true;
    this.sendResponse(response);
    if (!this.running) this.stopNow({ reason: 'pause', threadId: 1 });
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.stepRequest(response, args.threadId, 'over');
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.stepRequest(response, args.threadId, 'in');
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse, args: DebugProtocol.StepOutArguments): void {
    this.stepRequest(response, args.threadId, 'out');
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    if (!this.timeline) return this.sendErrorResponse(response, 3060, 'no scenario is running');
    this.sendResponse(response);
    const target = Math.max(0, this.timeline.step - 1);
    this.timeline.goTo(target);
    this.stopNow({ reason: 'step', threadId: args.threadId, description: `Back at step ${target}` });
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse, args: DebugProtocol.ReverseContinueArguments): void {
    const t = this.timeline;
    if (!t || !this.m) return this.sendErrorResponse(response, 3060, 'no scenario is running');
    this.sendResponse(response);
    const now = t.step;
    const marks = [...new Set([...t.snapshotSteps(), 0])].filter((s) => s < now).sort((a, b) => b - a);
    let end = now;
    for (const from of marks) {
      const hits = new Map<number, { thread: number; ids: number[] }>();
      const hit = t.lastHitBetween(from, end, () => {
        const c = this.m!.cpu;
        const bps = this.breakpointAt(c, true);
        if (bps && this.m!.steps < now) hits.set(this.m!.steps, { thread: c + 1, ids: bps.map((b) => b.id) });
        return !!bps && this.m!.steps < now;
      });
      // the stop at `now` itself does not count: that is where we are
      if (hit !== undefined) {
        t.goTo(hit);
        const h = hits.get(hit)!;
        return this.stopNow({ reason: 'breakpoint', threadId: h.thread, hitBreakpointIds: h.ids, description: `Breakpoint hit at step ${hit} (going backwards)` });
      }
      end = from;
    }
    t.goTo(0);
    this.stopNow({ reason: 'entry', threadId: args.threadId, description: 'Reached the start of the run' });
  }

  /** A line or function breakpoint where CPU c is about to execute (its condition and hit count checked). */
  private breakpointAt(c: number, quiet = false): LineBreakpoint[] | undefined {
    const m = this.m!;
    const at = m.nextInstr(c);
    if (!at) return undefined;
    const bps = this.codeBreakpoints.get(at.fn.id * 100000 + at.pc);
    if (!bps) return undefined;
    const hit: LineBreakpoint[] = [];
    for (const bp of bps) {
      if (!bp.verified) continue;
      if (bp.condition) {
        const cond = bp.condition.get(at.fn.id);
        let ok = false;
        try {
          ok = !!cond && m.inFrame(c, at.fp, () => cond(m));
        } catch {
          ok = false;
        }
        if (!ok) continue;
      }
      if (quiet) {
        hit.push(bp);
        continue;
      }
      bp.hits++;
      if (bp.hitCondition && !bp.hitCondition(bp.hits)) continue;
      if (bp.logMessage) {
        this.sendEvent(new OutputEvent(`${this.interpolate(bp.logMessage, c, at.fp)}\n`, 'console'));
        continue;
      }
      hit.push(bp);
    }
    return hit.length ? hit : undefined;
  }

  private interpolate(message: string, c: number, fp: number): string {
    const m = this.m!;
    const frame = m.frames(c)[0];
    return message.replace(/\{([^}]+)\}/g, (_, expr: string) => {
      const r = m.program.compileExpression('<log>', expr, { local: (n) => (frame ? this.visibleLocal(frame, n) : undefined) });
      if (!r.ok) return `{${expr}: ${r.diagnostics[0]?.message}}`;
      try {
        return this.view!.scalar(m.inFrame(c, fp, () => r.eval(m)), r.type);
      } catch (e) {
        return `{${expr}: ${(e as Error).message}}`;
      }
    });
  }

  /** Runs the machine (all unfrozen CPUs, or one) until something stops it, yielding to the event loop between chunks. */
  private async runForward(onlyCpu?: number): Promise<void> {
    const t = this.timeline!;
    const m = this.m!;
    this.running = true;
    this.pauseRequested = false;
    this.pending = undefined;
    const budget = this.prepared!.maxSteps;
    try {
      for (;;) {
        for (let i = 0; i < CHUNK; i++) {
          if (m.steps >= budget) return this.stopNow({ reason: 'pause', threadId: 1, description: `Step budget of ${budget} steps used up: ${m.describeCpus()}` });
          if (!t.forward(onlyCpu)) return this.stopAtEnd();
          const stop = this.checkStop(m.cpu);
          if (stop) return this.stopNow(stop);
        }
        await new Promise((r) => setImmediate(r));
        if (this.pauseRequested) return this.stopNow({ reason: 'pause', threadId: m.cpu + 1 });
      }
    } finally {
      this.running = false;
    }
  }

  private checkStop(c: number): PendingStop | undefined {
    const m = this.m!;
    if (m.stopReason?.kind === 'fault') {
      const r = m.stopReason;
      return { reason: 'exception', threadId: r.cpu + 1, description: `Fault on CPU${r.cpu}: ${r.message}`, text: r.message };
    }
    if (this.pending) {
      const p = this.pending;
      this.pending = undefined;
      return p;
    }
    const bps = this.codeBreakpoints.size ? this.breakpointAt(c) : undefined;
    if (bps) return { reason: 'breakpoint', threadId: c + 1, hitBreakpointIds: bps.map((b) => b.id) };
    return undefined;
  }

  private stopAtEnd(): void {
    const m = this.m!;
    const end = m.endReason();
    const verdicts = this.tracker!.verdicts(m, end);
    const lines = verdicts.map((v) => `${v.ok ? 'PASS' : 'FAIL'}  ${v.text}  (${v.detail})`).join('\n');
    this.sendEvent(new OutputEvent(`-- run ${end.kind === 'done' ? 'completed' : end.kind} after ${m.steps} steps\n${lines}\n`, verdicts.every((v) => v.ok) ? 'console' : 'stderr'));
    const description = end.kind === 'done' ? 'The run has ended (step back to travel in time)' : `The run cannot go on: ${end.message}`;
    this.stopNow({ reason: 'pause', threadId: (m.cpu ?? 0) + 1, description });
  }

  /** Steps only CPU threadId-1; every other CPU holds still. */
  private stepRequest(response: DebugProtocol.Response, threadId: number, how: 'over' | 'in' | 'out'): void {
    const m = this.m;
    const t = this.timeline;
    const cpu = threadId - 1;
    if (!m || !t) return this.sendErrorResponse(response, 3060, 'no scenario is running');
    if (cpu < 0 || cpu >= m.nrCpus) return this.sendErrorResponse(response, 3061, `no CPU for thread ${threadId}`);
    if (m.isDead(cpu)) return this.sendErrorResponse(response, 3062, `CPU${cpu} is dead: it takes no more steps`);
    (response as DebugProtocol.NextResponse).body = { allThreadsContinued: false } as never;
    this.sendResponse(response);
    // the CPU runs: clients clear what they showed for the last stop (an exception widget, say)
    this.sendEvent(new ContinuedEvent(threadId, false));
    this.pending = undefined;
    const start = m.frames(cpu);
    const depth0 = start.length;
    const fp0 = start[0]?.fp;
    const line0 = start[0]?.instr?.range.start.line;
    for (let i = 0; i < STEP_LIMIT; i++) {
      t.forward(cpu);
      const stop = this.checkStop(cpu);
      if (stop && stop.reason !== 'breakpoint') return this.stopNow(stop);
      const now = m.frames(cpu);
      const top = now[0];
      const line = top?.instr?.range.start.line;
      const done = how === 'in'
        ? now.length !== depth0 || top?.fp !== fp0 || line !== line0
        : how === 'over'
          ? now.length < depth0 || (now.length === depth0 && top?.fp === fp0 && line !== line0)
          : now.length < depth0;
      if (stop && (done || stop.reason === 'breakpoint')) return this.stopNow(stop);
      if (m.isBlocked(cpu) && !m.isDead(cpu)) {
        // it spins on a location only another CPU can change: going round the loop again gets nowhere
        const waits = m.describeCpu(cpu);
        this.sendEvent(new OutputEvent(`CPU${cpu} cannot get further on its own: it is ${waits}. Continue, or step the CPUs it waits for.\n`, 'console'));
        return this.stopNow({ reason: 'step', threadId, description: `CPU${cpu} waits` });
      }
      if (done || m.isDead(cpu)) return this.stopNow({ reason: 'step', threadId });
    }
    this.sendEvent(new OutputEvent(`CPU${cpu} took ${STEP_LIMIT} steps without finishing the step; stopped.\n`, 'console'));
    this.stopNow({ reason: 'step', threadId });
  }

  private stopNow(stop: PendingStop): void {
    this.refs.clear();
    this.lastStop = stop;
    const e = new StoppedEvent(stop.reason, stop.threadId, stop.text) as DebugProtocol.StoppedEvent;
    e.body.allThreadsStopped = true;
    if (stop.description) e.body.description = stop.description;
    if (stop.hitBreakpointIds) e.body.hitBreakpointIds = stop.hitBreakpointIds;
    this.sendEvent(e);
  }

  // ---- custom requests: freeze and thaw

  protected override customRequest(command: string, response: DebugProtocol.Response, args: { threadId?: number }): void {
    if (command !== 'freeze' && command !== 'thaw') return this.sendErrorResponse(response, 3070, `unknown request '${command}'`);
    const m = this.m;
    const cpu = (args?.threadId ?? 0) - 1;
    if (!m || !this.timeline) return this.sendErrorResponse(response, 3060, 'no scenario is running');
    if (cpu < 0 || cpu >= m.nrCpus) return this.sendErrorResponse(response, 3061, `${command} needs the threadId of a CPU`);
    this.timeline.setFrozen(cpu, command === 'freeze');
    response.body = { threadId: args.threadId, frozen: command === 'freeze', name: this.threadName(cpu) };
    this.sendResponse(response);
    // thread names changed
    this.sendEvent({ type: 'event', event: 'thread', seq: 0, body: { reason: 'started', threadId: args.threadId } } as DebugProtocol.ThreadEvent);
  }

  // ---- keeping bad requests from killing the session

  protected override dispatchRequest(request: DebugProtocol.Request): void {
    try {
      super.dispatchRequest(request);
    } catch (e) {
      const response: DebugProtocol.Response = { type: 'response', seq: 0, request_seq: request.seq, command: request.command, success: false };
      this.sendErrorResponse(response, 3999, `${request.command} failed: ${(e as Error).message}`);
    }
  }
}

function parseOverrides(args: LaunchArguments): ScenarioOverrides {
  const o: ScenarioOverrides = {};
  if (args.maxSteps !== undefined) {
    if (!Number.isInteger(args.maxSteps) || args.maxSteps <= 0) throw new Error('"maxSteps" must be a positive whole number');
    o.maxSteps = args.maxSteps;
  }
  if (args.patches !== undefined) {
    if (!Array.isArray(args.patches) || args.patches.some((p) => typeof p !== 'string')) throw new Error('"patches" must be a list of patch names');
    o.patches = args.patches;
  }
  if (args.ipiLatency !== undefined) {
    const m = /^(\d+)(?:\.\.(\d+))?$/.exec(String(args.ipiLatency));
    if (!m) throw new Error('"ipiLatency" must be N or A..B');
    o.ipiLatency = { min: Number(m[1]), max: Number(m[2] ?? m[1]) };
  }
  if (args.seed !== undefined && (!Number.isInteger(args.seed) || args.seed < 0)) throw new Error('"seed" must be a whole number');
  if (args.schedule !== undefined) {
    if (args.schedule === 'round-robin') o.schedule = { kind: 'round-robin' };
    else if (args.schedule === 'random') o.schedule = { kind: 'random', seed: args.seed ?? 1 };
    else if (/^\d+(,\d+)*$/.test(args.schedule)) o.schedule = { kind: 'list', cpus: args.schedule.split(',').map(Number) };
    else throw new Error('"schedule" must be round-robin, random or a list like 0,1,1,2');
  } else if (args.seed !== undefined) o.schedule = { kind: 'random', seed: args.seed };
  return o;
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
