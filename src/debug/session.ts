import {
  ContinuedEvent, DebugSession, Event, InitializedEvent, OutputEvent, Response, StoppedEvent, TerminatedEvent, Thread, ThreadEvent,
} from '@vscode/debugadapter';
import { DebugProtocol } from '@vscode/debugprotocol';
import { formatDiagnostic } from '../kc/diagnostics.js';
import { MachineFault } from '../machine/machine.js';
import { PreparedScenario, loadScenarioFile } from '../scenario/build.js';
import { readFileSync } from 'node:fs';
import { readCounterexample } from '../explore/counterexample.js';
import { Breakpoints, EVENT_FILTERS } from './breakpoints.js';
import { ExploreFromHere } from './exploreHere.js';
import { DebugConsole } from './console.js';
import { Debuggee } from './debuggee.js';
import { RequestError } from './errors.js';
import { frameOf, stackFrames, threadName } from './frames.js';
import * as inspect from './inspect.js';
import { LaunchArguments, LaunchPlan, parseLaunchArguments } from './launch.js';
import { Phase, SessionState, checkRequest } from './requests.js';
import { RunControl } from './runControl.js';
import { Sources } from './sources.js';
import { Stop, entryStop, exceptionInfo } from './stops.js';
import { RefTable } from './variables.js';
import { ExportTraceArguments, TimelineArguments, exportTrace, timelineBody, timelineChanged } from './timelineView.js';

export type { LaunchArguments } from './launch.js';
export { EVENT_FILTERS } from './breakpoints.js';

type Handler = (response: DebugProtocol.Response, args: never) => void | Promise<void>;

/**
 * The Debug Adapter Protocol over one simulated machine: threads are CPUs,
 * frames are a CPU's context stack, stepping moves one CPU, and the history
 * can be travelled both ways.
 *
 * Every request is checked first (requests.ts) and then answered by a thin
 * handler here; breakpoints, run control, inspection, sources and the Debug
 * Console each live in a file of their own. A request always gets an answer,
 * and nothing a client sends ends the session except disconnect.
 */
export class SmpLabSession extends DebugSession {
  private phase: Phase = 'new';
  private d?: Debuggee;
  private plan?: LaunchPlan;
  private readonly refs = new RefTable();
  private readonly sources = new Sources();
  private readonly console = new DebugConsole(this.sources, (e) => this.sendEvent(e));
  private readonly breakpoints = new Breakpoints(this.sources, (text) => this.console.print(text, 'console'));
  private readonly run = new RunControl(this.breakpoints, this.console, {
    stopped: (stop) => this.sendStopped(stop),
    continued: (threadId, all) => this.sendEvent(new ContinuedEvent(threadId, all)),
  });
  private configured!: Promise<void>;
  private markConfigured!: () => void;

  private readonly handlers: Record<string, Handler> = {
    initialize: (r) => this.initialize(r as DebugProtocol.InitializeResponse),
    launch: (r, a: LaunchArguments) => this.launch(r, a),
    configurationDone: (r) => this.configurationDone(r),
    disconnect: (r) => this.disconnect(r),
    terminate: (r) => this.terminate(r),
    restart: (r) => this.restart(r),
    threads: (r) => this.threads(r as DebugProtocol.ThreadsResponse),
    stackTrace: (r, a: DebugProtocol.StackTraceArguments) => this.stackTrace(r as DebugProtocol.StackTraceResponse, a),
    source: (r, a: DebugProtocol.SourceArguments) => this.source(r as DebugProtocol.SourceResponse, a),
    scopes: (r, a: DebugProtocol.ScopesArguments) => this.answer(r, () => ({ scopes: inspect.scopes(this.d!, this.refs, a.frameId) })),
    variables: (r, a: DebugProtocol.VariablesArguments) => this.answer(r, () => ({ variables: inspect.variables(this.d!, this.refs, a) })),
    setVariable: (r, a: DebugProtocol.SetVariableArguments) => this.answer(r, () => ({ value: inspect.setVariable(this.d!, this.refs, a) })),
    evaluate: (r, a: DebugProtocol.EvaluateArguments) => this.answer(r, () => inspect.evaluate(this.d!, a)),
    completions: (r, a: DebugProtocol.CompletionsArguments) => this.answer(r, () => ({ targets: inspect.completions(this.d!, a) })),
    setBreakpoints: (r, a: DebugProtocol.SetBreakpointsArguments) => this.answer(r, () => ({ breakpoints: this.breakpoints.setLines(a) })),
    breakpointLocations: (r, a: DebugProtocol.BreakpointLocationsArguments) => this.answer(r, () => ({ breakpoints: this.breakpoints.locations(a.source, a.line, a.endLine) })),
    setFunctionBreakpoints: (r, a: DebugProtocol.SetFunctionBreakpointsArguments) => this.answer(r, () => ({ breakpoints: this.breakpoints.setFunctions(a) })),
    setExceptionBreakpoints: (r, a: DebugProtocol.SetExceptionBreakpointsArguments) => this.answer(r, () => ({ breakpoints: this.breakpoints.setEventFilters(a) })),
    dataBreakpointInfo: (r, a: DebugProtocol.DataBreakpointInfoArguments) => this.answer(r, () => inspect.dataBreakpointInfo(this.d!, this.refs, a)),
    setDataBreakpoints: (r, a: DebugProtocol.SetDataBreakpointsArguments) => this.answer(r, () => ({ breakpoints: this.breakpoints.setData(a) })),
    exceptionInfo: (r) => this.exceptionInfo(r as DebugProtocol.ExceptionInfoResponse),
    continue: (r, a: DebugProtocol.ContinueArguments) => this.continue(r as DebugProtocol.ContinueResponse, a),
    pause: (r) => this.pause(r),
    next: (r, a: DebugProtocol.NextArguments) => this.step(r, a.threadId, 'over'),
    stepIn: (r, a: DebugProtocol.StepInArguments) => this.step(r, a.threadId, 'in'),
    stepOut: (r, a: DebugProtocol.StepOutArguments) => this.step(r, a.threadId, 'out'),
    stepBack: (r, a: DebugProtocol.StepBackArguments) => this.travel(r, () => this.run.stepBack(a.threadId)),
    reverseContinue: (r, a: DebugProtocol.ReverseContinueArguments) => this.travel(r, () => this.run.reverseContinue(a.threadId)),
    freeze: (r, a: { threadId: number }) => this.setFrozen(r, a.threadId, true),
    thaw: (r, a: { threadId: number }) => this.setFrozen(r, a.threadId, false),
    exploreFromHere: (r, a: { maxStates?: number }) => this.exploreFromHere(r, a.maxStates),
    timeline: (r, a: TimelineArguments) => this.answer(r, () => timelineBody(this.d!, a)),
    exportTrace: (r, a: ExportTraceArguments) => this.answer(r, () => exportTrace(this.d!, a)),
    travelTo: (r, a: { step: number; threadId?: number }) => this.travel(r, () => this.run.travelTo(a.step, a.threadId ?? this.run.lastStop?.threadId ?? 1)),
    exploreCancel: (r) => {
      this.explorer.cancel();
      this.sendResponse(r);
    },
  };
  private readonly explorer = new ExploreFromHere();
  /** Requests asked from within this process (ask()), by their negative numbers. */
  private readonly asked = new Map<number, { resolve: (body: unknown) => void; reject: (e: Error) => void }>();
  private lastAsked = 0;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
    this.configured = new Promise((resolve) => (this.markConfigured = resolve));
  }

  // ---- messages in

  /** A message from the client (inline in VS Code, or framed by the transport). */
  override handleMessage(message: DebugProtocol.ProtocolMessage): void {
    this.receive(message);
  }

  /** Checks a message is a request before it is dispatched; anything else is reported and dropped. */
  receive(message: unknown): void {
    const m = message as Partial<DebugProtocol.Request> | null;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return this.reportBadMessage(`a message must be a JSON object, not ${m === null ? 'null' : Array.isArray(m) ? 'a list' : typeof m}`);
    if (m.type === 'response' || m.type === 'event') return;
    if (m.type !== 'request') return this.reportBadMessage(`a message's "type" must be "request", not ${JSON.stringify(m.type) ?? 'missing'}`);
    if (!Number.isInteger(m.seq)) return this.reportBadMessage(`a request's "seq" must be a whole number, not ${JSON.stringify(m.seq) ?? 'missing'}`);
    if (typeof m.command !== 'string') return this.fail(new Response(m as DebugProtocol.Request), `a request's "command" must be a string, not ${JSON.stringify(m.command) ?? 'missing'}`);
    this.dispatchRequest(m as DebugProtocol.Request);
  }

  /**
   * Asks this session a request from the process it runs in (the extension host, when the
   * adapter is inline) and gives the answer's body: checked and answered as a client's request
   * is, without the trip through VS Code and back. Numbered below zero, so no client's request
   * is taken for one.
   */
  ask(command: string, args: object): Promise<unknown> {
    const seq = --this.lastAsked;
    return new Promise((resolve, reject) => {
      this.asked.set(seq, { resolve, reject });
      this.dispatchRequest({ seq, type: 'request', command, arguments: args });
    });
  }

  /** An answer goes to whoever asked: a request asked in this process, or the client. */
  override sendResponse(response: DebugProtocol.Response): void {
    const asker = this.asked.get(response.request_seq);
    if (!asker) return super.sendResponse(response);
    this.asked.delete(response.request_seq);
    if (response.success) asker.resolve(response.body);
    else asker.reject(new Error(response.message));
  }

  /** A frame or message that is not a request: said in the Debug Console, and the adapter reads on. */
  reportBadMessage(why: string): void {
    this.sendEvent(new OutputEvent(`SMP Lab ignored a message it could not read: ${why}\n`, 'stderr'));
  }

  protected override dispatchRequest(request: DebugProtocol.Request): void {
    const response = new Response(request);
    const wrong = checkRequest(request, this.state());
    if (wrong) return this.fail(response, wrong);
    const handler = this.handlers[request.command];
    const failed = (e: unknown) => this.fail(response, `SMP Lab could not answer ${request.command}: ${e instanceof Error ? e.message : String(e)}`);
    try {
      const done = handler(response, (request.arguments ?? {}) as never);
      if (done) done.catch(failed);
    } catch (e) {
      failed(e);
    }
  }

  private state(): SessionState {
    return {
      phase: this.phase,
      busy: this.run.busy,
      nrCpus: this.d?.m.nrCpus ?? 0,
      lastStep: this.d?.recorder.end ?? 0,
      isDead: (cpu) => !!this.d?.m.isDead(cpu),
      hasFrame: (id) => !!frameOf(this.d, id),
    };
  }

  // ---- answers

  /** Sends the body `make` builds, or the error it throws. */
  private answer<R extends DebugProtocol.Response>(response: R, make: () => R['body']): void {
    try {
      response.body = make();
    } catch (e) {
      if (e instanceof RequestError) return this.fail(response, e.message);
      throw e;
    }
    this.sendResponse(response);
  }

  /** An error response; only a failed launch is shown to the user in a dialog. */
  private fail(response: DebugProtocol.Response, message: string, showUser = false): void {
    response.success = false;
    response.message = message;
    response.body = { error: { id: 1, format: message, showUser } };
    this.sendResponse(response);
  }

  // ---- lifecycle

  /** The capabilities; asked again (DebugClient.launch does), they are sent again. */
  private initialize(response: DebugProtocol.InitializeResponse): void {
    if (this.phase === 'new') this.phase = 'initialized';
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

  private async launch(response: DebugProtocol.Response, args: LaunchArguments): Promise<void> {
    const plan = parseLaunchArguments(args);
    if ('error' in plan) return this.fail(response, plan.error, true);
    const prepared = this.load(plan);
    if (typeof prepared === 'string') return this.fail(response, prepared, true);
    this.plan = plan;
    this.phase = 'launched';
    this.begin(prepared);
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
    await this.configured;
    if (this.phase !== 'launched' || this.d?.prepared !== prepared) return;
    this.firstStop();
  }

  /** Loads, compiles and boots the planned scenario; a message listing what is wrong when it cannot. */
  private load(plan: LaunchPlan): PreparedScenario | string {
    try {
      const { prepared, diagnostics } = loadScenarioFile(plan.scenario, plan.overrides);
      if (prepared && plan.replay) return this.followCounterexample(prepared, plan.replay);
      if (prepared) return prepared;
      return `The scenario has errors:\n${diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n')}`;
    } catch (e) {
      // the loader reports what it foresees as diagnostics; this is what it did not
      if (e instanceof MachineFault) return `The scenario cannot start: ${e.message}`;
      if (e instanceof RangeError) return 'The scenario cannot be loaded: something in it nests too deeply to be read';
      return `The scenario cannot be loaded: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  /** A replay launch: the run follows the saved schedule and stops where its expectation broke. */
  private followCounterexample(prepared: PreparedScenario, file: string): PreparedScenario | string {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      return `Cannot read the counterexample ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
    const read = readCounterexample(prepared, text);
    if ('error' in read) return `Cannot replay ${file}: ${read.error}`;
    prepared.schedule = { kind: 'replay', actors: read.actors };
    const f = read.file;
    this.replayFailure = f.failingStep > 0 ? { step: f.failingStep, expectation: f.expectation, detail: f.detail } : undefined;
    return prepared;
  }

  /** Where the counterexample being replayed breaks its expectation. */
  private replayFailure?: Debuggee['failure'];
  /** a change to tell the timeline about once the request that made it is done */
  private timelineChangePending = false;

  /**
   * The run changed without a stop (a freeze, a thaw, a write in the past): the timeline is
   * told once the request is done, so one request that changes it twice (a freeze in the past
   * drops the future and renames a lane) tells it once, and a stop that follows tells it for both.
   */
  private timelineChangedSoon(): void {
    if (this.timelineChangePending) return;
    this.timelineChangePending = true;
    queueMicrotask(() => {
      if (this.timelineChangePending) this.tellTimeline();
    });
  }

  private tellTimeline(): void {
    this.timelineChangePending = false;
    if (this.d) this.sendEvent(timelineChanged(this.d));
  }

  private begin(prepared: PreparedScenario): void {
    const d = new Debuggee(prepared, this.refs);
    d.failure = this.replayFailure;
    // a freeze or a variable set in the past changes the run without a stop: say so
    d.onFutureDropped = () => this.timelineChangedSoon();
    this.d = d;
    this.sources.useModel(prepared.model);
    this.console.follow(d);
    this.run.attach(d);
    this.breakpoints.attach(d);
  }

  /** The first stop, or the first run. */
  private firstStop(): void {
    if (this.plan!.stopOnEntry) this.run.stopNow(entryStop(this.d!));
    else void this.run.forward();
  }

  private configurationDone(response: DebugProtocol.Response): void {
    this.sendResponse(response);
    this.markConfigured();
  }

  private disconnect(response: DebugProtocol.Response): void {
    this.end();
    this.sendResponse(response);
  }

  private terminate(response: DebugProtocol.Response): void {
    this.end();
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  /** Nothing runs any more and every later request is told the session has ended. */
  private end(): void {
    this.run.halt();
    this.phase = 'ended';
    this.markConfigured();
  }

  override dispose(): void {
    this.end();
    super.dispose();
  }

  private restart(response: DebugProtocol.Response): void {
    const prepared = this.load(this.plan!);
    if (typeof prepared === 'string') return this.fail(response, prepared, true);
    this.begin(prepared);
    this.sendResponse(response);
    this.firstStop();
  }

  private sendStopped(stop: Stop): void {
    this.refs.clear();
    this.tellTimeline();
    const e = new StoppedEvent(stop.reason, stop.threadId, stop.text) as DebugProtocol.StoppedEvent;
    e.body.allThreadsStopped = true;
    e.body.description = stop.description;
    if (stop.hitBreakpointIds) e.body.hitBreakpointIds = stop.hitBreakpointIds;
    this.sendEvent(e);
  }

  // ---- threads, frames, sources

  private threads(response: DebugProtocol.ThreadsResponse): void {
    const d = this.d;
    response.body = { threads: d ? Array.from({ length: d.m.nrCpus }, (_, c) => new Thread(c + 1, threadName(d, c))) : [] };
    this.sendResponse(response);
  }

  private stackTrace(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    const { frames, total } = stackFrames(this.d!, this.sources, args.threadId - 1, args.startFrame ?? 0, args.levels ?? 0, this.run.lastStop);
    response.body = { stackFrames: frames, totalFrames: total };
    this.sendResponse(response);
  }

  private source(response: DebugProtocol.SourceResponse, args: DebugProtocol.SourceArguments): void {
    const ref = args.source?.sourceReference || args.sourceReference;
    const mf = this.sources.patchedFile(ref);
    if (!mf) return this.fail(response, `no source with reference ${ref}: SMP Lab gives references only to patched model files`);
    response.body = { content: mf.text, mimeType: 'text/x-kc' };
    this.sendResponse(response);
  }

  private exceptionInfo(response: DebugProtocol.ExceptionInfoResponse): void {
    const stop = this.run.lastStop;
    if (!stop || stop.reason !== 'exception') return this.fail(response, 'the CPUs are not stopped on a WARN, a BUG, lost work or a fault');
    response.body = exceptionInfo(this.d!, stop);
    this.sendResponse(response);
  }

  // ---- run control

  private continue(response: DebugProtocol.ContinueResponse, args: DebugProtocol.ContinueArguments): void {
    response.body = { allThreadsContinued: !args.singleThread };
    this.sendResponse(response);
    void this.run.forward(args.singleThread ? args.threadId - 1 : undefined);
  }

  private pause(response: DebugProtocol.Response): void {
    this.sendResponse(response);
    this.run.pause();
  }

  /** Steps only CPU threadId-1; every other CPU holds still. */
  private step(response: DebugProtocol.Response, threadId: number, how: 'over' | 'in' | 'out'): void {
    response.body = { allThreadsContinued: false };
    this.sendResponse(response);
    void this.run.step(threadId, how);
  }

  private travel(response: DebugProtocol.Response, go: () => Promise<void>): void {
    this.sendResponse(response);
    void go();
  }

  // ---- custom requests: explore from here

  /** Searches every continuation of this stop; with a counterexample, runs along it to where it breaks. */
  private async exploreFromHere(response: DebugProtocol.Response, maxStates: number | undefined): Promise<void> {
    const d = this.d!;
    const idle = () => this.d === d && this.phase === 'launched' && !this.run.busy;
    const result = await this.explorer.run(d, this.plan!, maxStates, (states, transitions) => this.sendEvent(new Event('smplab.exploreProgress', { states, transitions })), idle);
    response.body = result;
    this.sendResponse(response);
    if (result.following) void this.run.forward();
  }

  // ---- custom requests: freeze and thaw

  private setFrozen(response: DebugProtocol.Response, threadId: number, frozen: boolean): void {
    const d = this.d!;
    const cpu = threadId - 1;
    d.timeline.setFrozen(cpu, frozen);
    response.body = { threadId, frozen, name: threadName(d, cpu) };
    this.sendResponse(response);
    // thread names changed, and the timeline names its lanes as the threads are named
    this.sendEvent(new ThreadEvent('started', threadId));
    this.timelineChangedSoon();
  }
}
