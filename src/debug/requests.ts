import { DebugProtocol } from '@vscode/debugprotocol';

/**
 * The one check every request passes before a handler sees it: the session
 * is in a state to answer it, and its arguments have the types the DAP
 * schema gives them and name things that exist (a CPU, a frame). A request
 * that fails gets an error saying what was wrong, in words.
 */

/** Where a session is in its life. */
export type Phase = 'new' | 'initialized' | 'launched' | 'ended';

/** What the checks need to know about the session. */
export interface SessionState {
  phase: Phase;
  /** the machine is moving (a continue, a step, a journey back) */
  busy: boolean;
  nrCpus: number;
  /** the last step of the run recorded so far: travel goes no further */
  lastStep: number;
  isDead(cpu: number): boolean;
  hasFrame(frameId: number): boolean;
}

/** A check of one value; returns what is wrong with it, or undefined. */
type Check = (value: unknown, name: string, s: SessionState) => string | undefined;

/** What a request needs before it can be answered. */
type Needs = 'nothing' | 'initialize' | 'launch' | 'stopped';

interface RequestRule {
  needs: Needs;
  /** the arguments' fields; required ones are marked with required() */
  args?: Record<string, Check>;
}

// ---- value checks

/** A value as a message shows it: never `[object Object]` or `undefined`. */
function shown(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}

const REQUIRED = Symbol('required');
type RequiredCheck = Check & { [REQUIRED]?: true };

/** A field the request cannot do without. */
function required(check: Check): RequiredCheck {
  const r: RequiredCheck = (v, name, s) => check(v, name, s);
  r[REQUIRED] = true;
  return r;
}

const integer: Check = (v, name) => (typeof v === 'number' && Number.isInteger(v) ? undefined : `${name} must be a whole number, not ${shown(v)}`);

/** A whole number from 0: an index, a count, a number of levels. Past the end is fine: there is nothing there. */
const count: Check = (v, name, s) => integer(v, name, s) ?? ((v as number) < 0 ? `${name} must be 0 or more, not ${shown(v)}` : undefined);

/** A line or column: from 1. */
const position: Check = (v, name, s) => integer(v, name, s) ?? ((v as number) < 1 ? `${name} must be 1 or more, not ${shown(v)}` : undefined);

/** A number above 0, whole or not. */
const positive: Check = (v, name) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : `${name} must be a number above 0, not ${shown(v)}`);

const string: Check = (v, name) => (typeof v === 'string' ? undefined : `${name} must be a string, not ${shown(v)}`);

const boolean: Check = (v, name) => (typeof v === 'boolean' ? undefined : `${name} must be true or false, not ${shown(v)}`);

const anyObject: Check = (v, name) => (isObject(v) ? undefined : `${name} must be an object, not ${shown(v)}`);

function oneOf(...values: string[]): Check {
  return (v, name) => (typeof v === 'string' && values.includes(v) ? undefined : `${name} must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}, not ${shown(v)}`);
}

/** A list of at most MAX_LIST items, each passing `item`. */
const MAX_LIST = 10000;
function list(item: Check): Check {
  return (v, name, s) => {
    if (!Array.isArray(v)) return `${name} must be a list, not ${shown(v)}`;
    if (v.length > MAX_LIST) return `${name} has ${v.length} entries; at most ${MAX_LIST} are accepted`;
    for (let i = 0; i < v.length; i++) {
      const wrong = item(v[i], `${name}[${i}]`, s);
      if (wrong) return wrong;
    }
    return undefined;
  };
}

/** An object with these fields (others are ignored, as the schema allows). */
function object(fields: Record<string, Check>): Check {
  return (v, name, s) => (isObject(v) ? checkFields(v, fields, name, s) : `${name} must be an object, not ${shown(v)}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Missing and null are the same: the field is absent. */
function checkFields(v: Record<string, unknown>, fields: Record<string, Check>, prefix: string, s: SessionState): string | undefined {
  for (const [key, check] of Object.entries(fields)) {
    const name = prefix ? `${prefix}.${key}` : key;
    const value = v[key];
    if (value === undefined || value === null) {
      if ((check as RequiredCheck)[REQUIRED]) return `${name} is missing`;
      continue;
    }
    const wrong = check(value, name, s);
    if (wrong) return wrong;
  }
  return undefined;
}

// ---- checks of what ids name

function cpuRange(s: SessionState): string {
  const last = s.nrCpus - 1;
  return last === 0 ? 'CPU 0 is thread 1' : `CPUs 0-${last} are threads 1-${last + 1}`;
}

/** A threadId: CPU threadId-1 of the scenario. */
const thread: Check = (v, name, s) => integer(v, name, s)
  ?? ((v as number) < 1 || (v as number) > s.nrCpus ? `${name} ${shown(v)} is not a CPU of this scenario (${cpuRange(s)})` : undefined);

/** A threadId of a CPU that can still step. */
const liveThread: Check = (v, name, s) => thread(v, name, s)
  ?? (s.isDead((v as number) - 1) ? `CPU${(v as number) - 1} is dead: it takes no more steps` : undefined);

const frame: Check = (v, name, s) => integer(v, name, s)
  ?? (!s.hasFrame(v as number) ? `${name} ${shown(v)} names no frame of the current stop: ask for the stack trace again` : undefined);

/** A variablesReference: one from an earlier stop is not an error, it just has nothing under it any more. */
const reference = count;

const source = object({ name: string, path: string, sourceReference: count, adapterData: () => undefined });

const STEP_ARGS = { threadId: required(liveThread), singleThread: boolean, granularity: oneOf('statement', 'line', 'instruction') };
const BACK_ARGS = { threadId: required(thread), singleThread: boolean, granularity: oneOf('statement', 'line', 'instruction') };

/** Every request SMP Lab answers, with what it needs and the arguments it takes. */
const RULES: Record<string, RequestRule> = {
  initialize: { needs: 'nothing', args: { adapterID: required(string), clientID: string, clientName: string, locale: string, linesStartAt1: boolean, columnsStartAt1: boolean, pathFormat: oneOf('path') } },
  launch: { needs: 'initialize' },
  disconnect: { needs: 'nothing', args: { restart: boolean, terminateDebuggee: boolean, suspendDebuggee: boolean } },
  terminate: { needs: 'launch', args: { restart: boolean } },
  restart: { needs: 'launch', args: { arguments: anyObject } },
  configurationDone: { needs: 'launch' },
  threads: { needs: 'initialize' },
  setBreakpoints: {
    needs: 'launch',
    args: {
      source: required(source), lines: list(position), sourceModified: boolean,
      breakpoints: list(object({ line: required(position), column: position, condition: string, hitCondition: string, logMessage: string, mode: string })),
    },
  },
  setFunctionBreakpoints: { needs: 'launch', args: { breakpoints: required(list(object({ name: required(string), condition: string, hitCondition: string }))) } },
  setExceptionBreakpoints: {
    needs: 'launch',
    args: { filters: required(list(string)), filterOptions: list(object({ filterId: required(string), condition: string, mode: string })), exceptionOptions: list(anyObject) },
  },
  setDataBreakpoints: { needs: 'launch', args: { breakpoints: required(list(object({ dataId: required(string), accessType: oneOf('read', 'write', 'readWrite'), condition: string, hitCondition: string }))) } },
  dataBreakpointInfo: { needs: 'stopped', args: { variablesReference: reference, name: required(string), frameId: frame, bytes: count, asAddress: boolean, mode: string } },
  breakpointLocations: { needs: 'launch', args: { source: required(source), line: required(position), column: position, endLine: position, endColumn: position } },
  exceptionInfo: { needs: 'launch', args: { threadId: required(thread) } },
  continue: { needs: 'stopped', args: { threadId: required(thread), singleThread: boolean } },
  next: { needs: 'stopped', args: STEP_ARGS },
  stepIn: { needs: 'stopped', args: { ...STEP_ARGS, targetId: integer } },
  stepOut: { needs: 'stopped', args: STEP_ARGS },
  stepBack: { needs: 'stopped', args: BACK_ARGS },
  reverseContinue: { needs: 'stopped', args: BACK_ARGS },
  pause: { needs: 'launch', args: { threadId: required(thread) } },
  stackTrace: { needs: 'stopped', args: { threadId: required(thread), startFrame: count, levels: count, format: anyObject } },
  scopes: { needs: 'stopped', args: { frameId: required(frame) } },
  variables: { needs: 'stopped', args: { variablesReference: required(reference), filter: oneOf('indexed', 'named'), start: count, count, format: anyObject } },
  setVariable: { needs: 'stopped', args: { variablesReference: required(reference), name: required(string), value: required(string), format: anyObject } },
  source: { needs: 'launch', args: { source, sourceReference: count } },
  evaluate: { needs: 'stopped', args: { expression: required(string), frameId: frame, context: string, format: anyObject, line: position, column: position, source } },
  completions: { needs: 'launch', args: { frameId: frame, text: required(string), column: required(position), line: position } },
  freeze: { needs: 'stopped', args: { threadId: required(thread) } },
  thaw: { needs: 'stopped', args: { threadId: required(thread) } },
  exploreFromHere: { needs: 'stopped', args: { maxStates: count } },
  exploreCancel: { needs: 'launch' },
  timeline: { needs: 'launch', args: { fromStep: required(count), toStep: required(count), resolution: required(positive), fromCpu: count, toCpu: count } },
  travelTo: { needs: 'stopped', args: { step: required(count), threadId: thread } },
  exportTrace: { needs: 'launch', args: { format: required(oneOf('chrome', 'ftrace')), path: required(string) } },
};

/** Requests of the protocol SMP Lab does not offer (its capabilities do not announce them). */
const NOT_OFFERED = new Set([
  'attach', 'cancel', 'restartFrame', 'goto', 'gotoTargets', 'setExpression', 'stepInTargets', 'loadedSources', 'modules',
  'readMemory', 'writeMemory', 'disassemble', 'terminateThreads', 'setInstructionBreakpoints', 'locations', 'runInTerminal', 'startDebugging',
]);

/**
 * What is wrong with a request, or undefined when a handler may answer it.
 * The message is for the person who sent it.
 */
export function checkRequest(request: DebugProtocol.Request, s: SessionState): string | undefined {
  const command = request.command;
  if (command === 'attach') return 'SMP Lab cannot attach: it launches its scenarios (use "request": "launch")';
  if (NOT_OFFERED.has(command)) return `SMP Lab does not offer the '${command}' request`;
  const rule = Object.prototype.hasOwnProperty.call(RULES, command) ? RULES[command] : undefined;
  if (!rule) return `unknown request '${command.length > 40 ? `${command.slice(0, 40)}…` : command}'`;
  const state = stateProblem(command, rule.needs, s);
  if (state) return state;
  const given = request.arguments as unknown;
  if (given === undefined || given === null) {
    const missing = Object.entries(rule.args ?? {}).find(([, c]) => (c as RequiredCheck)[REQUIRED]);
    if (missing) return `${command} needs arguments (${missing[0]} is missing)`;
  } else if (!isObject(given)) return `the arguments of ${command} must be an object, not ${shown(given)}`;
  const args = isObject(given) ? given : {};
  const wrong = checkFields(args, rule.args ?? {}, '', s);
  if (wrong) return wrong;
  if (command === 'source' && args.sourceReference == null && !(isObject(args.source) && args.source.sourceReference != null)) return 'source needs a sourceReference';
  if (command === 'continue' && args.singleThread === true) return liveThread(args.threadId, 'threadId', s);
  if (command === 'timeline') return timelineRangeProblem(args);
  if (command === 'travelTo' && (args.step as number) > s.lastStep) return `step ${args.step} is past the end of the run so far (step ${s.lastStep}): continue to get there`;
  return undefined;
}

/** A timeline range must not end before it starts, in steps or in CPUs. */
function timelineRangeProblem(args: Record<string, unknown>): string | undefined {
  if ((args.toStep as number) < (args.fromStep as number)) return `toStep (${args.toStep}) must not be before fromStep (${args.fromStep})`;
  if (args.fromCpu != null && args.toCpu != null && (args.toCpu as number) < (args.fromCpu as number)) return `toCpu (${args.toCpu}) must not be before fromCpu (${args.fromCpu})`;
  return undefined;
}

function stateProblem(command: string, needs: Needs, s: SessionState): string | undefined {
  if (s.phase === 'ended') return command === 'disconnect' ? undefined : 'the debug session has ended: start a new one';
  if (needs === 'nothing') return undefined;
  if (s.phase === 'new') return `the first request must be initialize, not ${command}`;
  if (command === 'launch') return s.phase === 'launched' ? 'a scenario is already running: restart it, or start another session' : undefined;
  if (needs === 'initialize') return undefined;
  if (s.phase !== 'launched') return `no scenario is running: launch one before ${command}`;
  if (needs === 'stopped' && s.busy) return `the CPUs are running: pause first, or wait for them to stop, before ${command}`;
  return undefined;
}
