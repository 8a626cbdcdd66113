import {
  ContinuedEvent, DebugSession, InitializedEvent, OutputEvent, StoppedEvent, TerminatedEvent, Thread,
} from '@vscode/debugadapter';
import { DebugProtocol } from '@vscode/debugprotocol';
import { formatDiagnostic } from '../kc/diagnostics.js';
import { MachineEvent } from '../machine/events.js';
import { formatEvent } from '../machine/trace.js';
import { PreparedScenario, loadScenarioFile } from '../scenario/build.js';
import { Breakpoints, EVENT_FILTERS } from './breakpoints.js';
import { Debuggee } from './debuggee.js';
import { RequestError } from './errors.js';
import { stackFrames, threadName } from './frames.js';
import * as inspect from './inspect.js';
import { LaunchArguments, LaunchPlan, parseLaunchArguments } from './launch.js';
import { RunControl, Stop } from './runControl.js';
import { Sources } from './sources.js';
import { exceptionInfo } from './stops.js';
import { RefTable } from './variables.js';

export type { LaunchArguments } from './launch.js';
export { EVENT_FILTERS } from './breakpoints.js';

/**
 * The Debug Adapter Protocol over one simulated machine: threads are CPUs,
 * frames are a CPU's context stack, stepping moves one CPU, and the history
 * can be travelled both ways. The handlers here are thin: breakpoints,
 * run control, inspection and sources each live in a file of their own.
 */
export class SmpLabSession extends DebugSession {
  private d?: Debuggee;
  private plan?: LaunchPlan;
  private readonly refs = new RefTable();
  private readonly sources = new Sources();
  private readonly breakpoints = new Breakpoints(this.sources, (text) => this.sendEvent(new OutputEvent(text, 'console')));
  private readonly run = new RunControl(this.breakpoints, {
    stopped: (stop) => this.sendStopped(stop),
    output: (text, category) => this.sendEvent(new OutputEvent(text, category)),
    continued: (threadId) => this.sendEvent(new ContinuedEvent(threadId, false)),
  });
  private configured!: Promise<void>;
  private markConfigured!: () => void;

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
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
    const plan = parseLaunchArguments(args);
    if ('error' in plan) return this.sendErrorResponse(response, 3002, plan.error);
    const prepared = this.load(plan);
    if (typeof prepared === 'string') return this.sendErrorResponse(response, 3003, prepared);
    this.plan = plan;
    this.begin(prepared);
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
    await this.configured;
    if (plan.stopOnEntry) this.run.stopNow({ reason: 'entry', threadId: 1, description: 'Stopped at the start of the scenario' });
    else void this.run.forward();
  }

  /** Loads, compiles and boots the planned scenario; a message listing its errors when it cannot. */
  private load(plan: LaunchPlan): PreparedScenario | string {
    const { prepared, diagnostics } = loadScenarioFile(plan.scenario, plan.overrides);
    if (prepared) return prepared;
    return `The scenario has errors:\n${diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n')}`;
  }

  private begin(prepared: PreparedScenario): void {
    const d = new Debuggee(prepared, this.refs);
    this.d = d;
    this.sources.useModel(prepared.model);
    d.m.onEvent((e) => this.onMachineEvent(e));
    this.run.attach(d);
    this.breakpoints.attach(d);
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
    this.markConfigured();
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse): void {
    this.run.halt();
    this.sendResponse(response);
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.run.halt();
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  protected override restartRequest(response: DebugProtocol.RestartResponse): void {
    if (!this.plan) return this.sendErrorResponse(response, 3010, 'nothing to restart');
    const prepared = this.load(this.plan);
    if (typeof prepared === 'string') return this.sendErrorResponse(response, 3003, prepared);
    this.begin(prepared);
    this.sendResponse(response);
    if (this.plan.stopOnEntry) this.run.stopNow({ reason: 'entry', threadId: 1 });
    else void this.run.forward();
  }

  // ---- machine events in the Debug Console

  private onMachineEvent(e: MachineEvent): void {
    const d = this.d!;
    if (d.timeline.replaying) return;
    if (e.kind !== 'printk' && e.kind !== 'warn' && e.kind !== 'bug' && e.kind !== 'lost-work') return;
    const out = new OutputEvent(formatEvent(d.m, e).replace(/^ +/gm, '') + '\n', e.kind === 'printk' ? 'stdout' : 'stderr') as DebugProtocol.OutputEvent;
    if (e.at) {
      out.body.source = this.sources.sourceFor(e.at.file);
      out.body.line = e.at.start.line;
      out.body.column = e.at.start.col;
    }
    this.sendEvent(out);
  }

  private sendStopped(stop: Stop): void {
    this.refs.clear();
    const e = new StoppedEvent(stop.reason, stop.threadId, stop.text) as DebugProtocol.StoppedEvent;
    e.body.allThreadsStopped = true;
    if (stop.description) e.body.description = stop.description;
    if (stop.hitBreakpointIds) e.body.hitBreakpointIds = stop.hitBreakpointIds;
    this.sendEvent(e);
  }

  // ---- threads, frames, sources

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    const d = this.d;
    response.body = { threads: d ? Array.from({ length: d.m.nrCpus }, (_, c) => new Thread(c + 1, threadName(d, c))) : [] };
    this.sendResponse(response);
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    const d = this.d;
    const cpu = args.threadId - 1;
    if (!d || cpu < 0 || cpu >= d.m.nrCpus) return this.sendErrorResponse(response, 3020, `no CPU for thread ${args.threadId}`);
    const { frames, total } = stackFrames(d, this.sources, cpu, args.startFrame ?? 0, args.levels ?? 0);
    response.body = { stackFrames: frames, totalFrames: total };
    this.sendResponse(response);
  }

  protected override sourceRequest(response: DebugProtocol.SourceResponse, args: DebugProtocol.SourceArguments): void {
    const mf = this.sources.patchedFile(args.sourceReference);
    if (!mf) return this.sendErrorResponse(response, 3021, 'no such source');
    response.body = { content: mf.text, mimeType: 'text/x-kc' };
    this.sendResponse(response);
  }

  // ---- scopes, variables, evaluation

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    this.answer(response, () => ({ scopes: inspect.scopes(this.d!, this.refs, args.frameId) }));
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    this.answer(response, () => ({ variables: inspect.variables(this.d, this.refs, args) }));
  }

  protected override setVariableRequest(response: DebugProtocol.SetVariableResponse, args: DebugProtocol.SetVariableArguments): void {
    this.answer(response, () => ({ value: inspect.setVariable(this.d, this.refs, args) }));
  }

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    this.answer(response, () => inspect.evaluate(this.d, args));
  }

  protected override completionsRequest(response: DebugProtocol.CompletionsResponse, args: DebugProtocol.CompletionsArguments): void {
    this.answer(response, () => ({ targets: inspect.completions(this.d, args) }));
  }

  // ---- breakpoints

  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    this.answer(response, () => ({ breakpoints: this.breakpoints.setLines(args) }));
  }

  protected override breakpointLocationsRequest(response: DebugProtocol.BreakpointLocationsResponse, args: DebugProtocol.BreakpointLocationsArguments): void {
    this.answer(response, () => ({ breakpoints: this.breakpoints.locations(args.source, args.line, args.endLine) }));
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    this.answer(response, () => ({ breakpoints: this.breakpoints.setFunctions(args) }));
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    this.answer(response, () => ({ breakpoints: this.breakpoints.setEventFilters(args) }));
  }

  protected override dataBreakpointInfoRequest(response: DebugProtocol.DataBreakpointInfoResponse, args: DebugProtocol.DataBreakpointInfoArguments): void {
    this.answer(response, () => inspect.dataBreakpointInfo(this.d, this.refs, args));
  }

  protected override setDataBreakpointsRequest(response: DebugProtocol.SetDataBreakpointsResponse, args: DebugProtocol.SetDataBreakpointsArguments): void {
    this.answer(response, () => ({ breakpoints: this.breakpoints.setData(args) }));
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    const stop = this.run.lastStop;
    if (!stop || stop.reason !== 'exception' || !this.d) return this.sendErrorResponse(response, 3050, 'not stopped on an event');
    response.body = exceptionInfo(this.d, stop);
    this.sendResponse(response);
  }

  // ---- run control

  protected override continueRequest(response: DebugProtocol.ContinueResponse, args: DebugProtocol.ContinueArguments): void {
    response.body = { allThreadsContinued: !args.singleThread };
    this.sendResponse(response);
    void this.run.forward(args.singleThread ? args.threadId - 1 : undefined);
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.sendResponse(response);
    this.run.pause();
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

  private stepRequest(response: DebugProtocol.Response, threadId: number, how: 'over' | 'in' | 'out'): void {
    const d = this.d;
    const cpu = threadId - 1;
    if (!d) return this.sendErrorResponse(response, 3060, 'no scenario is running');
    if (cpu < 0 || cpu >= d.m.nrCpus) return this.sendErrorResponse(response, 3061, `no CPU for thread ${threadId}`);
    if (d.m.isDead(cpu)) return this.sendErrorResponse(response, 3062, `CPU${cpu} is dead: it takes no more steps`);
    (response as DebugProtocol.NextResponse).body = { allThreadsContinued: false } as never;
    this.sendResponse(response);
    this.run.step(threadId, how);
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    if (!this.d) return this.sendErrorResponse(response, 3060, 'no scenario is running');
    this.sendResponse(response);
    this.run.stepBack(args.threadId);
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse, args: DebugProtocol.ReverseContinueArguments): void {
    if (!this.d) return this.sendErrorResponse(response, 3060, 'no scenario is running');
    this.sendResponse(response);
    this.run.reverseContinue(args.threadId);
  }

  // ---- custom requests: freeze and thaw

  protected override customRequest(command: string, response: DebugProtocol.Response, args: { threadId?: number }): void {
    if (command !== 'freeze' && command !== 'thaw') return this.sendErrorResponse(response, 3070, `unknown request '${command}'`);
    const d = this.d;
    const cpu = (args?.threadId ?? 0) - 1;
    if (!d) return this.sendErrorResponse(response, 3060, 'no scenario is running');
    if (cpu < 0 || cpu >= d.m.nrCpus) return this.sendErrorResponse(response, 3061, `${command} needs the threadId of a CPU`);
    d.timeline.setFrozen(cpu, command === 'freeze');
    response.body = { threadId: args.threadId, frozen: command === 'freeze', name: threadName(d, cpu) };
    this.sendResponse(response);
    // thread names changed
    this.sendEvent({ type: 'event', event: 'thread', seq: 0, body: { reason: 'started', threadId: args.threadId } } as DebugProtocol.ThreadEvent);
  }

  // ---- answers and errors

  /** Sends the body `make` builds, or the error it throws. */
  private answer<R extends DebugProtocol.Response>(response: R, make: () => R['body']): void {
    try {
      response.body = make();
    } catch (e) {
      if (e instanceof RequestError) return this.sendErrorResponse(response, e.code, e.message);
      throw e;
    }
    this.sendResponse(response);
  }

  /** Keeps a bad request from killing the session. */
  protected override dispatchRequest(request: DebugProtocol.Request): void {
    try {
      super.dispatchRequest(request);
    } catch (e) {
      const response: DebugProtocol.Response = { type: 'response', seq: 0, request_seq: request.seq, command: request.command, success: false };
      this.sendErrorResponse(response, 3999, `${request.command} failed: ${(e as Error).message}`);
    }
  }
}
