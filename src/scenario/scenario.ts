import { Diagnostic, SourceRange } from '../kc/diagnostics.js';
import { SchedulePolicy } from '../machine/chooser.js';
import { EventKind, isEventKind, EVENT_KINDS } from '../machine/events.js';
import { MAX_DEVICE_IRQS } from '../machine/layout.js';

/** A KC snippet inside a scenario line, with where it sits. */
export interface Snippet {
  text: string;
  line: number;
  col: number;
}

export type IrqTiming =
  | { kind: 'at'; step: number }
  | { kind: 'any'; from: number; to: number }
  | { kind: 'after'; event: EventKind; where?: Snippet };

export type Expectation = { range: SourceRange; text: string } & (
  | { kind: 'no-warning' }
  | { kind: 'no-lost-work' }
  | { kind: 'requests-completed' }
  | { kind: 'cpu-state'; cpu: number; state: 'dead' | 'offline' | 'online' }
  | { kind: 'count'; event: EventKind; where?: Snippet; op: '==' | '!=' | '>=' | '<=' | '>' | '<'; n: number }
  /** `expect down returns -EBUSY`: what the named task's call returned */
  | { kind: 'returns'; task: string; value: Snippet }
);

export interface Scenario {
  file: string;
  text: string;
  kernel?: { name: string; range: SourceRange };
  patches: { name: string; range: SourceRange }[];
  cpus?: { n: number; range: SourceRange };
  ipiLatency: { min: number; max: number };
  /** `shared-cache 0-1`: CPUs that share a last-level cache, one line per cache (what cpus_share_cache() answers); by default none share */
  sharedCaches: { cpus: number[]; range: SourceRange }[];
  /** `rq-affinity N`: what boot writes to the disk queue's rq_affinity (default 1: QUEUE_FLAG_SAME_COMP; 2 adds QUEUE_FLAG_SAME_FORCE) */
  rqAffinity: number;
  /** `struct request req0 = { .cpu = 1 }`: a KC declaration, compiled with the model */
  objects: { type: string; name: string; decl: Snippet; range: SourceRange }[];
  /** `cpu N runs BODY`, or `task NAME: cpu N runs BODY`; BODY is the body of the task's function */
  tasks: { cpu: number; call: Snippet; range: SourceRange; name?: string }[];
  irqs: { name: string; cpu: number; when: IrqTiming; call: Snippet; range: SourceRange }[];
  schedule: SchedulePolicy;
  scheduleRange?: SourceRange;
  maxSteps: number;
  expectations: Expectation[];
}

export const DEFAULT_MAX_STEPS = 1_000_000;
export const MAX_CPUS = 256;
/**
 * The largest step count a scenario may name: the step budget, an interrupt's
 * step, an IPI's latency. The machine's clock and its timers live in 32-bit
 * cells, and a clock plus a latency must stay below 2^31.
 */
export const MAX_STEPS = 1_000_000_000;
/** A random schedule's seed is a 32-bit number. */
export const MAX_SEED = 0xffffffff;
/** Every number a scenario writes fits in a 32-bit cell. */
const MAX_NUMBER = 0x7fffffff;
/** Words an expectation starts with, which a task cannot be named. */
const EXPECTATION_WORDS = new Set(['no', 'all', 'cpu', 'count']);

export const SCENARIO_KEYWORDS = ['kernel', 'patch', 'cpus', 'ipi-latency', 'shared-cache', 'rq-affinity', 'struct', 'cpu', 'task', 'irq', 'schedule', 'max-steps', 'expect'];

export interface Word {
  text: string;
  col: number;
}

/** Parses a scenario file. Never throws: problems come back as diagnostics with line and column. */
export function parseScenario(file: string, text: string): { scenario: Scenario; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const s: Scenario = {
    file, text, patches: [], ipiLatency: { min: 0, max: 0 }, sharedCaches: [], rqAffinity: 1, objects: [], tasks: [], irqs: [],
    schedule: { kind: 'round-robin' }, maxSteps: DEFAULT_MAX_STEPS, expectations: [],
  };
  const lines = text.split(/\r?\n/);
  const seen = new Map<string, number>();
  /** every CPU number written, checked against the `cpus` line once it is known (it may come later) */
  const cpuRefs: { n: number; range: SourceRange }[] = [];
  lines.forEach((raw, i) => {
    const line = i + 1;
    const body = stripComment(raw);
    if (!body.trim()) return;
    const words = splitWords(body);
    const range = (from: number, to: number): SourceRange => ({ file, start: { line, col: from }, end: { line, col: to } });
    const wordRange = (w: Word) => range(w.col, w.col + w.text.length);
    const lineRange = range(words[0].col, body.trimEnd().length + 1);
    const err = (r: SourceRange, message: string) => diagnostics.push({ range: r, severity: 'error', message });
    const once = (key: string) => {
      const prev = seen.get(key);
      if (prev) err(lineRange, `'${key}' is already set on line ${prev}`);
      seen.set(key, line);
    };
    const int = (w: Word | undefined, what: string, min = 0, max = MAX_NUMBER): number | undefined => {
      if (!w) {
        err(range(body.trimEnd().length + 1, body.trimEnd().length + 2), `expected ${what}`);
        return undefined;
      }
      if (!/^\d+$/.test(w.text)) {
        err(wordRange(w), `expected ${what}, not '${w.text}'`);
        return undefined;
      }
      const n = Number(w.text);
      if (n < min) {
        err(wordRange(w), `${what} must be at least ${min}`);
        return undefined;
      }
      if (n > max) {
        err(wordRange(w), `${what} must be at most ${max}, not ${w.text}`);
        return undefined;
      }
      return n;
    };
    const stepRange = (w: Word, what: string): { min: number; max: number } | undefined => {
      const r = parseRange(w, what);
      if (typeof r === 'string') err(wordRange(w), r);
      return typeof r === 'string' ? undefined : r;
    };
    const rest = (from: Word): Snippet => ({ text: body.slice(from.col - 1).trim(), line, col: from.col });
    const cpuNumber = (w: Word | undefined): number | undefined => {
      const n = int(w, 'a CPU number', 0, Infinity);
      if (n !== undefined) cpuRefs.push({ n, range: wordRange(w!) });
      return n;
    };
    const [kw] = words;
    switch (kw.text) {
      case 'kernel':
        once('kernel');
        if (words.length !== 2) return err(lineRange, "expected 'kernel NAME' (for example: kernel linux-3.15)");
        s.kernel = { name: words[1].text, range: wordRange(words[1]) };
        return;
      case 'patch':
        if (words.length !== 2) return err(lineRange, "expected 'patch NAME' (for example: patch ipi-offline-v6/0001)");
        s.patches.push({ name: words[1].text, range: wordRange(words[1]) });
        return;
      case 'cpus': {
        once('cpus');
        const n = int(words[1], 'the number of CPUs', 1);
        if (n !== undefined && n > MAX_CPUS) return err(wordRange(words[1]), `at most ${MAX_CPUS} CPUs`);
        if (words.length > 2) err(wordRange(words[2]), `unexpected '${words[2].text}'`);
        if (n !== undefined) s.cpus = { n, range: wordRange(words[1]) };
        return;
      }
      case 'ipi-latency': {
        once('ipi-latency');
        if (!words[1]) return err(lineRange, "expected a latency in steps: 'ipi-latency 0', a range 'ipi-latency 0..40', or 'ipi-latency any'");
        if (words[1].text === 'any') {
          s.ipiLatency = { min: 0, max: Infinity };
          return;
        }
        const r = stepRange(words[1], 'the latency');
        if (r) s.ipiLatency = r;
        return;
      }
      case 'shared-cache': {
        if (!words[1]) return err(lineRange, "expected the CPUs that share a last-level cache: 'shared-cache 0,1' or 'shared-cache 0-3'");
        if (words[2]) return err(wordRange(words[2]), `unexpected '${words[2].text}': one shared-cache line per cache, with its CPUs as one list (0,1 or 0-3)`);
        const cpus = parseCpuList(words[1].text);
        if (typeof cpus === 'string') return err(wordRange(words[1]), cpus);
        const taken = cpus.map((n) => ({ n, other: s.sharedCaches.find((g) => g.cpus.includes(n)) })).find((t) => t.other);
        if (taken) return err(wordRange(words[1]), `CPU ${taken.n} already shares a cache on line ${taken.other!.range.start.line}: a CPU has one last-level cache`);
        for (const n of cpus) cpuRefs.push({ n, range: wordRange(words[1]) });
        s.sharedCaches.push({ cpus, range: wordRange(words[1]) });
        return;
      }
      case 'rq-affinity': {
        once('rq-affinity');
        if (!words[1]) return err(range(body.trimEnd().length + 1, body.trimEnd().length + 2), 'expected rq_affinity: 0, 1 or 2');
        const n = int(words[1], 'rq_affinity', 0, 2);
        if (words.length > 2) err(wordRange(words[2]), `unexpected '${words[2].text}'`);
        if (n !== undefined) s.rqAffinity = n;
        return;
      }
      case 'max-steps': {
        once('max-steps');
        const n = int(words[1], 'the step budget', 1, MAX_STEPS);
        if (n !== undefined) s.maxSteps = n;
        return;
      }
      case 'struct': {
        const m = /^struct\s+(\w+)\s+(\w+)\s*(=.*)?$/.exec(body.trim());
        if (!m) return err(lineRange, "expected 'struct TYPE NAME' or 'struct TYPE NAME = { .field = value }'");
        s.objects.push({ type: m[1], name: m[2], decl: { text: body.trim(), line, col: kw.col }, range: lineRange });
        return;
      }
      case 'cpu': {
        const cpu = cpuNumber(words[1]);
        if (words[2]?.text !== 'runs' || !words[3]) return err(lineRange, "expected 'cpu N runs FUNCTION(ARGS)'");
        if (cpu !== undefined) s.tasks.push({ cpu, call: rest(words[3]), range: lineRange });
        return;
      }
      case 'task': {
        const m = /^task\s+(\S*?):\s*cpu\s/.exec(body.trim());
        if (!m) return err(lineRange, "expected 'task NAME: cpu N runs FUNCTION(ARGS)'");
        const name = m[1];
        const nameRange = range(words[1].col, words[1].col + name.length);
        if (!/^[A-Za-z_]\w*$/.test(name)) return err(nameRange, `a task name is a word of letters, digits and '_', not '${name}'`);
        if (EXPECTATION_WORDS.has(name)) return err(nameRange, `a task cannot be named '${name}': 'expect ${name} ...' means something else`);
        const twin = s.tasks.find((t) => t.name === name);
        if (twin) return err(nameRange, `a task named '${name}' is already on line ${twin.range.start.line}`);
        const after = splitWords(body.slice(body.indexOf(':') + 1)).map((w) => ({ text: w.text, col: w.col + body.indexOf(':') + 1 }));
        const cpu = cpuNumber(after[1]);
        if (after[2]?.text !== 'runs' || !after[3]) return err(lineRange, "expected 'task NAME: cpu N runs FUNCTION(ARGS)'");
        if (cpu !== undefined) s.tasks.push({ cpu, call: rest(after[3]), range: lineRange, name });
        return;
      }
      case 'irq':
        if (s.irqs.length === MAX_DEVICE_IRQS) return err(lineRange, `at most ${MAX_DEVICE_IRQS} irq lines: the machine has ${MAX_DEVICE_IRQS} device interrupt lines`);
        return parseIrq(words, body, line, s, err, lineRange, wordRange, cpuNumber, int, stepRange);
      case 'schedule': {
        once('schedule');
        const w = words[1];
        if (!w) return err(lineRange, "expected 'schedule round-robin', 'schedule random seed N' or 'schedule 0,1,1,2'");
        s.scheduleRange = lineRange;
        if (w.text === 'round-robin') s.schedule = { kind: 'round-robin' };
        else if (w.text === 'random') {
          let seed = 1;
          if (words[2]) {
            if (words[2].text !== 'seed') return err(wordRange(words[2]), `expected 'seed N', not '${words[2].text}'`);
            const n = int(words[3], 'a seed', 0, MAX_SEED);
            if (n === undefined) return;
            seed = n;
          }
          s.schedule = { kind: 'random', seed };
        } else if (/^\d+(,\d+)*$/.test(w.text)) {
          const cpus = w.text.split(',').map(Number);
          for (const n of new Set(cpus)) cpuRefs.push({ n, range: wordRange(w) });
          s.schedule = { kind: 'list', cpus };
        } else return err(wordRange(w), `unknown schedule '${w.text}': use round-robin, random seed N, or a list like 0,1,1,2`);
        return;
      }
      case 'expect':
        return parseExpectation(words, body, line, s, err, lineRange, wordRange, cpuNumber, int, rest);
      default:
        return err(wordRange(kw), `unknown statement '${kw.text}': a scenario line starts with ${SCENARIO_KEYWORDS.join(', ')}`);
    }
  });
  if (!s.kernel) diagnostics.push({ range: { file, start: { line: 1, col: 1 }, end: { line: 1, col: 1 } }, severity: 'error', message: "the scenario names no kernel model: add a line 'kernel linux-3.15'" });
  if (!s.cpus) diagnostics.push({ range: { file, start: { line: 1, col: 1 }, end: { line: 1, col: 1 } }, severity: 'error', message: "the scenario does not say how many CPUs: add a line such as 'cpus 3'" });
  const cpus = s.cpus;
  if (cpus) {
    for (const ref of cpuRefs) {
      if (ref.n >= cpus.n) diagnostics.push({ range: ref.range, severity: 'error', message: `CPU ${ref.n} does not exist: the scenario has ${cpus.n} CPUs (0 to ${cpus.n - 1})` });
    }
  }
  for (const e of s.expectations) {
    if (e.kind === 'returns' && !s.tasks.some((t) => t.name === e.task)) {
      diagnostics.push({ range: e.range, severity: 'error', message: `no task is named '${e.task}': name one with 'task ${e.task}: cpu N runs FUNCTION(ARGS)'` });
    }
  }
  diagnostics.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.col - b.range.start.col);
  return { scenario: s, diagnostics };
}

type Err = (r: SourceRange, m: string) => void;

type IntOf = (w: Word | undefined, what: string, min?: number, max?: number) => number | undefined;
type RangeOf = (w: Word, what: string) => { min: number; max: number } | undefined;

function parseIrq(words: Word[], body: string, line: number, s: Scenario, err: Err, lineRange: SourceRange,
  wordRange: (w: Word) => SourceRange, cpuNumber: (w: Word | undefined) => number | undefined, int: IntOf, stepRange: RangeOf): void {
  const usage = "expected 'irq NAME on cpu N at step K: CALL', 'irq NAME on cpu N at any step [in A..B]: CALL' or 'irq NAME on cpu N after EVENT [where CONDITION]: CALL'";
  const colon = findTopLevelColon(body);
  if (colon < 0) return err(lineRange, `${usage} (the ':' before the call is missing)`);
  const head = splitWords(body.slice(0, colon));
  const callStart = colon + 1 + (body.slice(colon + 1).length - body.slice(colon + 1).trimStart().length);
  const call: Snippet = { text: body.slice(colon + 1).trim(), line, col: callStart + 1 };
  if (!call.text) return err(lineRange, `${usage} (no call after ':')`);
  if (!head[1] || head[2]?.text !== 'on' || head[3]?.text !== 'cpu') return err(lineRange, usage);
  const name = head[1].text;
  const cpu = cpuNumber(head[4]);
  let when: IrqTiming | undefined;
  const w5 = head[5]?.text;
  if (w5 === 'at' && head[6]?.text === 'step') {
    const k = int(head[7], 'a step number', 0, MAX_STEPS);
    if (k === undefined) return;
    when = { kind: 'at', step: k };
  } else if (w5 === 'at' && head[6]?.text === 'any' && head[7]?.text === 'step') {
    if (head[8]?.text === 'in') {
      if (!head[9]) return err(lineRange, 'expected a range of steps such as 0..400');
      const r = stepRange(head[9], 'the range of steps');
      if (!r) return;
      when = { kind: 'any', from: r.min, to: r.max };
    } else if (head[8]) return err(wordRange(head[8]), `unexpected '${head[8].text}': write 'at any step' or 'at any step in A..B'`);
    else when = { kind: 'any', from: 0, to: Infinity };
  } else if (w5 === 'after') {
    const ev = head[6];
    if (!ev) return err(lineRange, 'expected an event name after \'after\'');
    if (!isEventKind(ev.text)) return err(wordRange(ev), `unknown event '${ev.text}': one of ${Object.keys(EVENT_KINDS).join(', ')}`);
    let where: Snippet | undefined;
    if (head[7]) {
      if (head[7].text !== 'where' || !head[8]) return err(wordRange(head[7]), "expected 'where CONDITION'");
      where = { text: body.slice(head[8].col - 1, colon).trim(), line, col: head[8].col };
    }
    when = { kind: 'after', event: ev.text, where };
  } else return err(head[5] ? wordRange(head[5]) : lineRange, usage);
  if (cpu !== undefined) s.irqs.push({ name, cpu, when, call, range: lineRange });
}

function parseExpectation(words: Word[], body: string, line: number, s: Scenario, err: Err, lineRange: SourceRange,
  wordRange: (w: Word) => SourceRange, cpuNumber: (w: Word | undefined) => number | undefined, int: IntOf, rest: (from: Word) => Snippet): void {
  const phrase = words.slice(1).map((w) => w.text).join(' ');
  const text = body.trim();
  const base = { range: lineRange, text };
  if (phrase === 'no warning' || phrase === 'no warnings') return void s.expectations.push({ ...base, kind: 'no-warning' });
  if (phrase === 'no lost work') return void s.expectations.push({ ...base, kind: 'no-lost-work' });
  if (phrase === 'all requests completed') return void s.expectations.push({ ...base, kind: 'requests-completed' });
  if (words[1]?.text === 'cpu') {
    const cpu = cpuNumber(words[2]);
    const state = words[3]?.text;
    if (state !== 'dead' && state !== 'offline' && state !== 'online') return err(words[3] ? wordRange(words[3]) : lineRange, "expected 'expect cpu N dead', 'offline' or 'online'");
    if (words.length > 4) return err(wordRange(words[4]), `unexpected '${words[4].text}'`);
    if (cpu !== undefined) s.expectations.push({ ...base, kind: 'cpu-state', cpu, state });
    return;
  }
  if (words[1]?.text === 'count') {
    const ev = words[2];
    if (!ev || !isEventKind(ev.text)) return err(ev ? wordRange(ev) : lineRange, `expected an event name: one of ${Object.keys(EVENT_KINDS).join(', ')}`);
    const tail = /(==|!=|>=|<=|>|<)\s*(\d+)\s*$/.exec(body);
    if (!tail) return err(lineRange, "expected a comparison at the end, such as '== 1' or '>= 1'");
    const n = int({ text: tail[2], col: body.lastIndexOf(tail[2]) + 1 }, 'a count', 0, MAX_STEPS);
    if (n === undefined) return;
    let where: Snippet | undefined;
    const afterEvent = words[3];
    const opCol = tail.index + 1;
    if (afterEvent && afterEvent.col < opCol) {
      if (afterEvent.text !== 'where' || !words[4] || words[4].col >= opCol) return err(wordRange(afterEvent), "expected 'where CONDITION' or a comparison");
      where = { text: body.slice(words[4].col - 1, tail.index).trim(), line, col: words[4].col };
    }
    s.expectations.push({ ...base, kind: 'count', event: ev.text, where, op: tail[1] as '==', n });
    return;
  }
  if (words[2]?.text === 'returns') {
    if (!words[3]) return err(lineRange, "expected 'expect TASK returns VALUE', such as 'expect down returns -EBUSY'");
    return void s.expectations.push({ ...base, kind: 'returns', task: words[1].text, value: rest(words[3]) });
  }
  err(lineRange, "unknown expectation: use 'no warning', 'no lost work', 'all requests completed', 'cpu N dead|offline|online', 'count EVENT [where CONDITION] OP N' or 'TASK returns VALUE'");
}

/** A CPU list as the kernel writes one (`0,2-3`); a string says what is wrong with it. */
export function parseCpuList(text: string): number[] | string {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(text)) return `expected a CPU list such as 0,1 or 0-3, not '${text}'`;
  const cpus: number[] = [];
  for (const part of text.split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    if (to < from) return `the CPU range ${part} is reversed: write ${to}-${from}`;
    if (to > MAX_CPUS) return `CPU ${to} does not exist: at most ${MAX_CPUS} CPUs`;
    for (let n = from; n <= to; n++) if (!cpus.includes(n)) cpus.push(n);
  }
  return cpus;
}

/** `N` or `A..B` steps (`what` is the latency, the range of steps); a string says what is wrong with it. */
export function parseRange(w: Word | undefined, what: string): { min: number; max: number } | string {
  const m = w && /^(\d+)(?:\.\.(\d+))?$/.exec(w.text);
  if (!m) return `expected ${what}: a number of steps or a range such as 0..40, not '${w?.text ?? ''}'`;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (max > MAX_STEPS) return `${what} must be at most ${MAX_STEPS} steps, not ${m[2] ?? m[1]}`;
  if (max < min) return `${what} ${min}..${max} is reversed: write ${max}..${min}`;
  return { min, max };
}

/** The `:` that ends an irq line's header (not one inside the where condition's ?:). */
export function findTopLevelColon(body: string): number {
  let depth = 0;
  let questions = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '?') questions++;
    else if (c === ':' && depth === 0) {
      if (questions > 0) questions--;
      else return i;
    }
  }
  return -1;
}

/** A scenario line without its `#` comment. */
export function stripComment(line: string): string {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"' && line[i - 1] !== '\\') inString = !inString;
    if (c === '#' && !inString) return line.slice(0, i);
  }
  return line;
}

/** The words of a scenario line, with 1-based columns. */
export function splitWords(body: string): Word[] {
  const out: Word[] = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) out.push({ text: m[0], col: m.index + 1 });
  return out;
}
