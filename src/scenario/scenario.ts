import { Diagnostic, SourceRange } from '../kc/diagnostics.js';
import { SchedulePolicy } from '../machine/chooser.js';
import { EventKind, isEventKind, EVENT_KINDS } from '../machine/events.js';

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
);

export interface Scenario {
  file: string;
  text: string;
  kernel?: { name: string; range: SourceRange };
  patches: { name: string; range: SourceRange }[];
  cpus?: { n: number; range: SourceRange };
  ipiLatency: { min: number; max: number };
  /** `struct request req0 = { .cpu = 1 }`: a KC declaration, compiled with the model */
  objects: { type: string; name: string; decl: Snippet; range: SourceRange }[];
  tasks: { cpu: number; call: Snippet; range: SourceRange }[];
  irqs: { name: string; cpu: number; when: IrqTiming; call: Snippet; range: SourceRange }[];
  schedule: SchedulePolicy;
  scheduleRange?: SourceRange;
  maxSteps: number;
  expectations: Expectation[];
}

export const DEFAULT_MAX_STEPS = 1_000_000;
export const MAX_CPUS = 256;

export const SCENARIO_KEYWORDS = ['kernel', 'patch', 'cpus', 'ipi-latency', 'struct', 'cpu', 'irq', 'schedule', 'max-steps', 'expect'];

export interface Word {
  text: string;
  col: number;
}

/** Parses a scenario file. Never throws: problems come back as diagnostics with line and column. */
export function parseScenario(file: string, text: string): { scenario: Scenario; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const s: Scenario = {
    file, text, patches: [], ipiLatency: { min: 0, max: 0 }, objects: [], tasks: [], irqs: [],
    schedule: { kind: 'round-robin' }, maxSteps: DEFAULT_MAX_STEPS, expectations: [],
  };
  const lines = text.split(/\r?\n/);
  const seen = new Map<string, number>();
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
    const int = (w: Word | undefined, what: string, min = 0): number | undefined => {
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
      return n;
    };
    const rest = (from: Word): Snippet => ({ text: body.slice(from.col - 1).trim(), line, col: from.col });
    const cpuNumber = (w: Word | undefined): number | undefined => {
      const n = int(w, 'a CPU number');
      if (n !== undefined && s.cpus && n >= s.cpus.n) {
        err(wordRange(w!), `CPU ${n} does not exist: the scenario has ${s.cpus.n} CPUs (0 to ${s.cpus.n - 1})`);
        return undefined;
      }
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
        const r = words[1]?.text === 'any' ? { min: 0, max: Infinity } : parseRange(words[1]);
        if (!r) return err(words[1] ? wordRange(words[1]) : lineRange, "expected a latency in steps: 'ipi-latency 0', a range 'ipi-latency 0..40', or 'ipi-latency any'");
        s.ipiLatency = r;
        return;
      }
      case 'max-steps': {
        once('max-steps');
        const n = int(words[1], 'a number of steps', 1);
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
      case 'irq':
        return parseIrq(words, body, line, s, err, lineRange, wordRange, cpuNumber, int);
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
            const n = int(words[3], 'a seed');
            if (n === undefined) return;
            seed = n;
          }
          s.schedule = { kind: 'random', seed };
        } else if (/^\d+(,\d+)*$/.test(w.text)) {
          const cpus = w.text.split(',').map(Number);
          const bad = s.cpus ? cpus.find((c) => c >= s.cpus!.n) : undefined;
          if (bad !== undefined) return err(wordRange(w), `CPU ${bad} does not exist: the scenario has ${s.cpus!.n} CPUs`);
          s.schedule = { kind: 'list', cpus };
        } else return err(wordRange(w), `unknown schedule '${w.text}': use round-robin, random seed N, or a list like 0,1,1,2`);
        return;
      }
      case 'expect':
        return parseExpectation(words, body, line, s, err, lineRange, wordRange, cpuNumber, int);
      default:
        return err(wordRange(kw), `unknown statement '${kw.text}': a scenario line starts with ${SCENARIO_KEYWORDS.join(', ')}`);
    }
  });
  if (!s.kernel) diagnostics.push({ range: { file, start: { line: 1, col: 1 }, end: { line: 1, col: 1 } }, severity: 'error', message: "the scenario names no kernel model: add a line 'kernel linux-3.15'" });
  if (!s.cpus) diagnostics.push({ range: { file, start: { line: 1, col: 1 }, end: { line: 1, col: 1 } }, severity: 'error', message: "the scenario does not say how many CPUs: add a line such as 'cpus 3'" });
  for (const t of s.tasks) if (s.cpus && t.cpu >= s.cpus.n) diagnostics.push({ range: t.range, severity: 'error', message: `CPU ${t.cpu} does not exist: the scenario has ${s.cpus.n} CPUs` });
  for (const q of s.irqs) if (s.cpus && q.cpu >= s.cpus.n) diagnostics.push({ range: q.range, severity: 'error', message: `CPU ${q.cpu} does not exist: the scenario has ${s.cpus.n} CPUs` });
  return { scenario: s, diagnostics };
}

type Err = (r: SourceRange, m: string) => void;

function parseIrq(words: Word[], body: string, line: number, s: Scenario, err: Err, lineRange: SourceRange,
  wordRange: (w: Word) => SourceRange, cpuNumber: (w: Word | undefined) => number | undefined, int: (w: Word | undefined, what: string) => number | undefined): void {
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
    const k = int(head[7], 'a step number');
    if (k === undefined) return;
    when = { kind: 'at', step: k };
  } else if (w5 === 'at' && head[6]?.text === 'any' && head[7]?.text === 'step') {
    if (head[8]?.text === 'in') {
      const r = parseRange(head[9]);
      if (!r) return err(head[9] ? wordRange(head[9]) : lineRange, "expected a range of steps such as 0..400");
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
  wordRange: (w: Word) => SourceRange, cpuNumber: (w: Word | undefined) => number | undefined, int: (w: Word | undefined, what: string) => number | undefined): void {
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
    const n = int({ text: tail[2], col: body.lastIndexOf(tail[2]) + 1 }, 'a count');
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
  err(lineRange, "unknown expectation: use 'no warning', 'no lost work', 'all requests completed', 'cpu N dead|offline|online' or 'count EVENT [where CONDITION] OP N'");
}

function parseRange(w: Word | undefined): { min: number; max: number } | undefined {
  if (!w) return undefined;
  const m = /^(\d+)(?:\.\.(\d+))?$/.exec(w.text);
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  return max >= min ? { min, max } : undefined;
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
