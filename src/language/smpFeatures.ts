/** Completion, hover, go to definition and outline for scenario files (.smp). */
import { basename, dirname } from 'node:path';
import {
  CompletionItem, CompletionItemKind, DocumentSymbol, Hover, InsertTextFormat, Location, MarkupKind, Position, Range, SymbolKind,
} from 'vscode-languageserver';
import { EVENT_KINDS, EventKind, conditionNames, isEventKind } from '../machine/events.js';
import { readSourceFile } from '../scenario/files.js';
import { builtinCatalog, resolveModelDir, resolvePatch } from '../scenario/model.js';
import { SCENARIO_KEYWORDS, findTopLevelColon, parseScenario, splitWords as scenarioWords, stripComment } from '../scenario/scenario.js';
import { lineOf, toRange, wordAt } from './convert.js';
import { functionItem, resolveName, symbolItem, targetLocation, targetMarkdown } from './kcFeatures.js';
import { KcAnalysis, PRELUDE_FILE, formatDecl } from './kcIndex.js';
import { ScenarioModel, Workspace } from './workspace.js';

export const KEYWORD_DOCS: Record<string, { usage: string; doc: string; snippet?: string }> = {
  kernel: { usage: 'kernel NAME', doc: 'The kernel model: a built-in one (`linux-3.15`, `linux-6.12`) or a folder of your own (`./my-model`).' },
  patch: { usage: 'patch NAME', doc: 'Applies a patch to the model: a built-in one (`ipi-offline-v6/0001`) or a path ending in `.patch`.' },
  cpus: { usage: 'cpus N', doc: 'How many CPUs the machine has (1 to 256).' },
  'ipi-latency': { usage: 'ipi-latency N | A..B', doc: 'Steps an IPI is in flight; a range `0..40` is a choice the schedule makes.' },
  'shared-cache': { usage: 'shared-cache CPUS', doc: 'CPUs that share a last-level cache, as a list `0,1` or `0-3`; one line per cache. `cpus_share_cache()` answers from these lines; by default no two CPUs share one.' },
  'rq-affinity': { usage: 'rq-affinity 0 | 1 | 2', doc: 'What boot writes to the disk queue\'s `rq_affinity`: 1 (the default) completes a request in its submitting CPU\'s cache domain (`QUEUE_FLAG_SAME_COMP`), 2 on that very CPU (`QUEUE_FLAG_SAME_FORCE`), 0 wherever its interrupt lands.' },
  struct: { usage: 'struct TYPE NAME [= { .field = value }]', doc: 'An object in memory (a KC declaration); tasks and interrupts pass `&NAME`.' },
  cpu: { usage: 'cpu N runs FUNCTION(ARGS)', doc: 'A task pinned to CPU N. What follows `runs` is the body of its function: a call, or any KC statement. Several tasks on one CPU run in file order.' },
  task: { usage: 'task NAME: cpu N runs FUNCTION(ARGS)', doc: 'A task with a name, so that `expect NAME returns VALUE` can check what its call returned.' },
  irq: { usage: 'irq NAME on cpu N at step K | at any step [in A..B] | after EVENT [where CONDITION]: CALL', doc: 'A device interrupt whose handler makes a call into the model.' },
  schedule: { usage: 'schedule round-robin | random seed N | 0,1,1,2', doc: 'Which CPU steps next: in turn, seeded random, or an explicit list.' },
  'max-steps': { usage: 'max-steps N', doc: 'The step budget (default 1000000).' },
  expect: { usage: 'expect no warning | no lost work | all requests completed | cpu N dead|offline|online | count EVENT [where CONDITION] OP N | TASK returns VALUE', doc: 'What must hold at the end of the run.' },
};

const EXPECTATIONS: { label: string; snippet: string; doc: string }[] = [
  { label: 'no warning', snippet: 'no warning', doc: 'No WARN fired during the run.' },
  { label: 'no lost work', snippet: 'no lost work', doc: 'No callback was left queued on a CPU when it died.' },
  { label: 'all requests completed', snippet: 'all requests completed', doc: 'Every `struct request` object got `block_rq_complete`.' },
  { label: 'cpu N dead', snippet: 'cpu ${1:1} ${2|dead,offline,online|}', doc: 'The state of a CPU at the end: dead, offline or online.' },
  { label: 'count EVENT where CONDITION OP N', snippet: 'count ${1:ipi-send} where ${2:target == 1} ${3|>=,==,!=,<=,>,<|} ${4:1}', doc: 'How many times an event happened (optionally only those matching a condition).' },
];

interface Word {
  text: string;
  /** 0-based */
  start: number;
  end: number;
}

function splitWords(body: string): Word[] {
  return scenarioWords(body).map((w) => ({ text: w.text, start: w.col - 1, end: w.col - 1 + w.text.length }));
}

export function eventMarkdown(name: EventKind): string {
  const e = EVENT_KINDS[name];
  const names = conditionNames(name).filter((f) => f !== 'cpu');
  const fields = names.map((f) => `\`${f}\``).join(', ');
  const kind = e.tracepoint.startsWith('smplab:') ? 'SMP Lab event' : 'tracepoint';
  return [`**${name}** — ${kind} \`${e.tracepoint}\``, e.doc, `Fields: ${fields ? `${fields}, and ` : ''}\`cpu\` (the CPU it happened on).`].join('\n\n');
}

/** The Subject line of a patch file, unfolded. */
export function patchSubject(file: string): { subject?: string; from?: string } {
  try {
    const text = readSourceFile(file);
    if (typeof text !== 'string') return {};
    const header = text.split(/\n\n/)[0];
    const unfold = (name: string) => {
      const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\n[ \\t]+.*)*)`, 'm').exec(header);
      return m ? m[1].replace(/\n[ \t]+/g, ' ').trim() : undefined;
    };
    return { subject: unfold('Subject'), from: unfold('From') };
  } catch {
    return {};
  }
}

function md(value: string): Hover['contents'] {
  return { kind: MarkupKind.Markdown, value };
}

/** What a scenario line is about and where the cursor is in it. */
interface LineContext {
  body: string;
  words: Word[];
  kw?: string;
  /** for irq lines: where the call starts (-1 when there is no ':') */
  colon: number;
  /** the event the line's `where` condition is about, and where that condition starts */
  whereEvent?: { event: EventKind; start: number; end: number };
}

function lineContext(line: string): LineContext {
  const body = stripComment(line);
  const words = splitWords(body);
  const kw = words[0]?.text;
  const colon = kw === 'irq' ? findTopLevelColon(body) : -1;
  let whereEvent: LineContext['whereEvent'];
  const evIdx = kw === 'irq' ? words.findIndex((w, i) => i > 0 && words[i - 1].text === 'after') : kw === 'expect' && words[1]?.text === 'count' ? 2 : -1;
  const ev = words[evIdx];
  const where = words[evIdx + 1];
  if (ev && isEventKind(ev.text) && where?.text === 'where') {
    const end = kw === 'irq' ? (colon < 0 ? body.length : colon) : (/(==|!=|>=|<=|>|<)\s*(\d+)\s*$/.exec(body)?.index ?? body.length);
    whereEvent = { event: ev.text, start: where.end, end };
  }
  return { body, words, kw, colon, whereEvent };
}

function cpuCount(text: string, path: string): number {
  return parseScenario(path, text).scenario.cpus?.n ?? 4;
}

function modelOf(ws: Workspace, path: string, text: string): ScenarioModel | undefined {
  return ws.scenarioModel(path, text);
}

function modelFunctions(a: KcAnalysis): CompletionItem[] {
  return [...a.functions.values()]
    .filter((s) => s.file !== PRELUDE_FILE && !s.name.startsWith('__scenario'))
    .map((s) => functionItem(s, { snippet: true }));
}

function modelConstants(a: KcAnalysis): CompletionItem[] {
  return [...a.constants.values()].filter((s) => s.file !== PRELUDE_FILE).map(symbolItem);
}

// ---- completion

export function smpCompletion(ws: Workspace, path: string, text: string, position: Position, triggerCharacter?: string): CompletionItem[] {
  const line = lineOf(text, position.line);
  const before = line.slice(0, position.character);
  if (stripComment(before) !== before) return [];
  const ch = position.character;

  // `struct request req0 = { .cpu = 1 }`: the struct's fields after '.'
  const init = /^\s*struct\s+(\w+)\s+\w+\s*=\s*\{(?:.*[,{])?\s*\.(\w*)$/.exec(before);
  if (init) {
    const s = modelOf(ws, path, text)?.patched.structs.get(init[1]);
    const range: Range = { start: { line: position.line, character: ch - init[2].length }, end: position };
    return (s?.fields ?? []).map((f) => ({ label: f.name, kind: CompletionItemKind.Field, detail: formatDecl(f.type, f.name), textEdit: { range, newText: f.name } }));
  }

  const partial = /[\w\-./&]*$/.exec(before)![0];
  const head = before.slice(0, before.length - partial.length);
  const range: Range = { start: { line: position.line, character: ch - partial.length }, end: position };
  const item = (label: string, kind: CompletionItemKind, extra: Partial<CompletionItem> = {}): CompletionItem => {
    const newText = extra.insertText ?? label;
    const { insertText: _ignored, ...rest } = extra;
    return { label, kind, textEdit: { range, newText }, ...rest };
  };
  const words = (list: string[], kind: CompletionItemKind = CompletionItemKind.Keyword, detail?: string) => list.map((w, i) => item(w, kind, { detail, sortText: String(i).padStart(3, '0') }));
  const cpus = () => Array.from({ length: cpuCount(text, path) }, (_, i) => item(String(i), CompletionItemKind.Value, { detail: `CPU ${i}`, sortText: String(i).padStart(4, '0') }));
  const events = () => (Object.keys(EVENT_KINDS) as EventKind[]).map((e) => item(e, CompletionItemKind.Event, {
    detail: EVENT_KINDS[e].tracepoint, documentation: md(eventMarkdown(e)) as CompletionItem['documentation'],
  }));
  const functions = () => {
    const m = modelOf(ws, path, text);
    if (!m) return [];
    return modelFunctions(m.patched).map((f) => ({ ...f, textEdit: { range, newText: f.insertText ?? f.label }, insertText: undefined }));
  };
  const args = () => {
    const { scenario } = parseScenario(path, text);
    const m = modelOf(ws, path, text);
    return [
      ...scenario.objects.map((o) => item('&' + o.name, CompletionItemKind.Variable, { detail: `struct ${o.type} ${o.name}`, filterText: '&' + o.name, sortText: '0' + o.name })),
      ...(m ? modelConstants(m.patched).map((c) => ({ ...c, textEdit: { range, newText: c.label } })) : []),
    ];
  };

  if (/^\s*$/.test(head)) {
    if (triggerCharacter === ' ') return [];
    return SCENARIO_KEYWORDS.map((k, i) => item(k, CompletionItemKind.Keyword, {
      insertText: k + ' ', detail: KEYWORD_DOCS[k]?.usage, documentation: KEYWORD_DOCS[k]?.doc, sortText: String(i).padStart(3, '0'),
      command: { title: 'Suggest', command: 'editor.action.triggerSuggest' },
    }));
  }
  if (/^\s*kernel\s+$/.test(head)) {
    const own = ws.modelFolders(dirname(path)).map((d) => item(`./${d}`, CompletionItemKind.Folder, { detail: 'a model folder beside the scenario', sortText: '1' + d }));
    return [...words(builtinCatalog().models, CompletionItemKind.Module, 'built-in kernel model'), ...own];
  }
  if (/^\s*patch\s+$/.test(head)) {
    return builtinCatalog().patches.map((full, i) => {
      const file = resolvePatch(full, dirname(path));
      // the short name a scenario uses (ipi-offline-v6/0001) when it names the same file
      const short = full.replace(/^([^/]+\/[^-]+)-.*$/, '$1');
      const label = short !== full && file && resolvePatch(short, dirname(path)) === file ? short : full;
      const subject = file ? patchSubject(file).subject : undefined;
      return item(label, CompletionItemKind.File, { detail: subject, documentation: file ? basename(file) : undefined, filterText: label, sortText: String(i).padStart(3, '0') });
    });
  }
  if (/^\s*(cpu|task\s+\w+:\s*cpu|expect\s+cpu|irq\s+\S+\s+on\s+cpu)\s+$/.test(head)) return cpus();
  // a task line: `cpu 2 runs ...` or `task down: cpu 2 runs ...`
  if (/^\s*(?:task\s+\w+:\s*)?cpu\s+\d+\s+$/.test(head)) return words(['runs']);
  if (/^\s*(?:task\s+\w+:\s*)?cpu\s+\d+\s+runs\s+$/.test(head)) return functions();
  if (/^\s*(?:task\s+\w+:\s*)?cpu\s+\d+\s+runs\s+\w+\s*\((?:[^()]*,)?\s*$/.test(head)) return args();
  if (/^\s*irq\s+\S+\s+$/.test(head)) return words(['on cpu']);
  if (/^\s*irq\s+\S+\s+on\s+$/.test(head)) return words(['cpu']);
  if (/^\s*irq\s+\S+\s+on\s+cpu\s+\d+\s+$/.test(head)) return words(['at step', 'at any step', 'at any step in', 'after']);
  if (/^\s*irq\s+\S+\s+on\s+cpu\s+\d+\s+at\s+$/.test(head)) return words(['step', 'any step']);
  if (/^\s*irq\s+\S+\s+on\s+cpu\s+\d+\s+after\s+$/.test(head)) return events();
  if (/^\s*expect\s+$/.test(head)) {
    const named = parseScenario(path, text).scenario.tasks.filter((t) => t.name).map((t) => ({
      label: `${t.name} returns VALUE`, snippet: `${t.name} returns \${1:0}`, doc: `What task ${t.name} (line ${t.range.start.line}) returned.`,
    }));
    return [...EXPECTATIONS, ...named].map((e, i) => item(e.label, CompletionItemKind.Snippet, {
      insertText: e.snippet, insertTextFormat: InsertTextFormat.Snippet, documentation: e.doc, sortText: String(i).padStart(3, '0'),
    }));
  }
  if (/^\s*expect\s+count\s+$/.test(head)) return events();
  if (/^\s*schedule\s+$/.test(head)) return words(['round-robin', 'random seed', '0,1,2']);
  if (/^\s*schedule\s+random\s+$/.test(head)) return words(['seed']);
  if (/^\s*struct\s+$/.test(head)) {
    const m = modelOf(ws, path, text);
    return m ? [...m.patched.structs.values()].filter((s) => s.file !== PRELUDE_FILE).map((s) => item(s.name, CompletionItemKind.Struct, { detail: `struct ${s.name}`, documentation: s.doc })) : [];
  }

  const ctx = lineContext(line);
  if (ctx.kw === 'irq' && ctx.colon >= 0 && ch > ctx.colon) {
    const call = head.slice(ctx.colon + 1);
    if (/^\s*$/.test(call)) return functions();
    if (/^\s*\w+\s*\((?:[^()]*,)?\s*$/.test(call)) return args();
    return [];
  }
  if (ctx.whereEvent && ch >= ctx.whereEvent.start && ch <= ctx.whereEvent.end && /^[A-Za-z_]?\w*$/.test(partial)) {
    const m = modelOf(ws, path, text);
    const names = conditionNames(ctx.whereEvent.event);
    const fields = names.map((f, i) => item(f, CompletionItemKind.Field, { detail: `field of ${ctx.whereEvent!.event}`, sortText: '0' + i }));
    const constants = m ? modelConstants(m.patched).map((c) => ({ ...c, textEdit: { range, newText: c.label } })) : [];
    const fns = m && names.some((f) => f === 'func' || f === 'callsite' || f === 'callback') ? modelFunctions(m.patched).map((f) => ({ ...f, insertText: undefined, insertTextFormat: undefined, textEdit: { range, newText: f.label } })) : [];
    return [...fields, ...constants, ...fns];
  }
  return [];
}

// ---- hover and definition

type SmpTarget =
  | { kind: 'keyword'; word: Word }
  | { kind: 'patch'; word: Word }
  | { kind: 'kernel'; word: Word }
  | { kind: 'event'; word: Word; event: EventKind }
  | { kind: 'field'; word: Word; event: EventKind }
  | { kind: 'object'; word: Word; name: string }
  | { kind: 'init-field'; word: Word; struct: string }
  | { kind: 'name'; word: Word; before: string };

function smpTarget(text: string, path: string, position: Position): SmpTarget | undefined {
  const line = lineOf(text, position.line);
  const ctx = lineContext(line);
  const ch = position.character;
  if (ch > ctx.body.length) return undefined;
  const idx = ctx.words.findIndex((w) => w.start <= ch && ch <= w.end);
  if (idx < 0) return undefined;
  const word = ctx.words[idx];
  const kw = ctx.kw;
  if (idx === 0) return KEYWORD_DOCS[word.text] ? { kind: 'keyword', word } : undefined;
  if (kw === 'patch' && idx === 1) return { kind: 'patch', word };
  if (kw === 'kernel' && idx === 1) return { kind: 'kernel', word };
  const prev = ctx.words[idx - 1]?.text;
  if (((kw === 'irq' && prev === 'after') || (kw === 'expect' && ctx.words[1]?.text === 'count' && idx === 2)) && isEventKind(word.text)) {
    return { kind: 'event', word, event: word.text };
  }
  const id = wordAt(line, ch);
  if (!id || /^\d/.test(id.text)) return undefined;
  const w: Word = { text: id.text, start: id.start, end: id.end };
  const before = line.slice(0, id.start);
  if (ctx.whereEvent && id.start >= ctx.whereEvent.start && id.end <= ctx.whereEvent.end && !/(->|\.)\s*$/.test(before)) {
    if (conditionNames(ctx.whereEvent.event).includes(id.text)) return { kind: 'field', word: w, event: ctx.whereEvent.event };
  }
  if (kw === 'struct') {
    const m = /^\s*struct\s+(\w+)/.exec(ctx.body);
    if (m && /\.\s*$/.test(before)) return { kind: 'init-field', word: w, struct: m[1] };
  }
  const { scenario } = parseScenario(path, text);
  const obj = scenario.objects.find((o) => o.name === id.text);
  if (obj && !(kw === 'struct' && idx === 1)) return { kind: 'object', word: w, name: obj.name };
  return { kind: 'name', word: w, before };
}

function wordRange(position: Position, w: Word): Range {
  return { start: { line: position.line, character: w.start }, end: { line: position.line, character: w.end } };
}

export function smpHover(ws: Workspace, path: string, text: string, position: Position): Hover | null {
  const t = smpTarget(text, path, position);
  if (!t) return null;
  const range = wordRange(position, t.word);
  const hover = (value: string): Hover => ({ contents: md(value), range });
  switch (t.kind) {
    case 'keyword': {
      const k = KEYWORD_DOCS[t.word.text];
      return hover(`\`${k.usage}\`\n\n${k.doc}`);
    }
    case 'patch': {
      const file = resolvePatch(t.word.text, dirname(path));
      if (!file) return hover(`No patch named \`${t.word.text}\`: built-in patches are ${builtinCatalog().patches.map((p) => `\`${p}\``).join(', ')}.`);
      const { subject, from } = patchSubject(file);
      return hover([`**${subject ?? basename(file)}**`, from ? `From: ${from}` : '', `*${basename(file)}*`].filter(Boolean).join('\n\n'));
    }
    case 'kernel': {
      const dir = resolveModelDir(t.word.text, dirname(path));
      const files = ws.kcFiles(dir).map((f) => basename(f));
      return hover(files.length ? `Kernel model \`${t.word.text}\` (${dir}): ${files.map((f) => `\`${f}\``).join(', ')}` : `No kernel model at ${dir}`);
    }
    case 'event': return hover(eventMarkdown(t.event));
    case 'field': {
      const ev = EVENT_KINDS[t.event];
      return hover(t.word.text === 'cpu' ? `\`cpu\`: the CPU the **${t.event}** event happened on` : `\`${t.word.text}\`: a field of the **${t.event}** event (\`${ev.tracepoint}\`)\n\n${ev.doc}`);
    }
    case 'object': {
      const { scenario } = parseScenario(path, text);
      const o = scenario.objects.find((x) => x.name === t.name)!;
      return hover('```c\n' + o.decl.text + '\n```\n\nAn object of this scenario (line ' + o.range.start.line + ').');
    }
    case 'init-field': {
      const m = modelOf(ws, path, text);
      const f = m?.patched.structs.get(t.struct)?.fields?.find((x) => x.name === t.word.text);
      return f ? hover('```c\n(field) ' + formatDecl(f.type, f.name) + '\n```\n\nof `struct ' + t.struct + '`') : null;
    }
    case 'name': {
      const m = modelOf(ws, path, text);
      if (!m) return null;
      const target = resolveName(m.patched, undefined, t.before, t.word.text);
      if (!target) return null;
      const patchedBy = (file: string) => {
        const f = m.loaded?.files.find((x) => x.path === file);
        return f?.patches.length ? `as patched by ${f.patches.join(', ')}` : undefined;
      };
      return hover(targetMarkdown(m.patched, target, { fileNote: patchedBy }));
    }
  }
}

export function smpDefinition(ws: Workspace, path: string, text: string, position: Position): Location | null {
  const t = smpTarget(text, path, position);
  if (!t) return null;
  switch (t.kind) {
    case 'patch': {
      const file = resolvePatch(t.word.text, dirname(path));
      return file ? { uri: ws.uriFor(file), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } } : null;
    }
    case 'object': {
      const { scenario } = parseScenario(path, text);
      const o = scenario.objects.find((x) => x.name === t.name)!;
      const line = lineOf(text, o.range.start.line - 1);
      const at = new RegExp(`\\b${o.name}\\b`).exec(line);
      const start = at ? at.index : 0;
      return { uri: ws.uriFor(path), range: { start: { line: o.range.start.line - 1, character: start }, end: { line: o.range.start.line - 1, character: start + o.name.length } } };
    }
    case 'init-field': {
      const m = modelOf(ws, path, text);
      const s = m?.folder.structs.get(t.struct);
      const f = s?.fields?.find((x) => x.name === t.word.text);
      return s && f && s.file !== PRELUDE_FILE ? { uri: ws.uriFor(s.file), range: toRange(f.range) } : null;
    }
    case 'name': {
      const m = modelOf(ws, path, text);
      if (!m) return null;
      // the folder as the editor shows it first; a name only a patch adds lands in the patch
      const target = resolveName(m.folder, undefined, t.before, t.word.text);
      const loc = target && targetLocation(ws, target, path);
      if (loc) return loc;
      if (resolveName(m.patched, undefined, t.before, t.word.text)) return patchLocation(ws, m, t.word.text);
      return null;
    }
    default: return null;
  }
}

/** The line of a patch that adds `name`. */
function patchLocation(ws: Workspace, m: ScenarioModel, name: string): Location | null {
  const re = new RegExp(`^\\+.*\\b${name}\\b`);
  for (const p of [...m.patches].reverse()) {
    const text = ws.read(p.path);
    if (!text) continue;
    const lines = text.split('\n');
    const i = lines.findIndex((l) => re.test(l) && /\(/.test(l)) >= 0 ? lines.findIndex((l) => re.test(l) && /\(/.test(l)) : lines.findIndex((l) => re.test(l));
    if (i >= 0) {
      const col = lines[i].search(new RegExp(`\\b${name}\\b`));
      return { uri: ws.uriFor(p.path), range: { start: { line: i, character: col }, end: { line: i, character: col + name.length } } };
    }
  }
  return null;
}

// ---- outline

const LINE_KINDS: Record<string, SymbolKind> = {
  kernel: SymbolKind.Module,
  patch: SymbolKind.File,
  cpus: SymbolKind.Number,
  'ipi-latency': SymbolKind.Number,
  'shared-cache': SymbolKind.Array,
  'rq-affinity': SymbolKind.Number,
  struct: SymbolKind.Object,
  cpu: SymbolKind.Function,
  task: SymbolKind.Function,
  irq: SymbolKind.Event,
  schedule: SymbolKind.Property,
  'max-steps': SymbolKind.Number,
  expect: SymbolKind.Boolean,
};

export function smpDocumentSymbols(text: string): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  text.split(/\r?\n/).forEach((raw, line) => {
    const body = stripComment(raw).trimEnd();
    const words = splitWords(body);
    if (!words.length) return;
    const kw = words[0].text;
    const range: Range = { start: { line, character: words[0].start }, end: { line, character: body.length } };
    let name = words.map((w) => w.text).join(' ');
    let detail: string | undefined;
    let selection = range;
    if (kw === 'cpu' && words[2]?.text === 'runs') {
      name = body.slice(words[3]?.start ?? words[0].start).trim();
      detail = `task on CPU ${words[1].text}`;
    } else if (kw === 'task' && words[4]?.text === 'runs') {
      name = body.slice(words[5]?.start ?? words[0].start).trim();
      detail = `task ${words[1].text.replace(/:$/, '')} on CPU ${words[3].text}`;
    } else if (kw === 'irq') {
      const colon = findTopLevelColon(body);
      detail = body.slice(0, colon < 0 ? body.length : colon).trim().replace(/\s+/g, ' ');
      if (colon >= 0) name = `${words[1]?.text ?? 'irq'}: ${body.slice(colon + 1).trim()}`;
    } else if (kw === 'struct') {
      name = words[2]?.text.replace(/=.*$/, '') || body.trim();
      detail = `struct ${words[1]?.text ?? ''}`;
      if (words[2]) selection = { start: { line, character: words[2].start }, end: { line, character: words[2].start + name.length } };
    } else if (kw === 'expect') {
      detail = 'expectation';
    } else if (kw === 'kernel' || kw === 'patch') {
      detail = kw;
      name = words[1]?.text ?? kw;
      if (words[1]) selection = { start: { line, character: words[1].start }, end: { line, character: words[1].end } };
    }
    out.push({ name: name || kw, detail, kind: LINE_KINDS[kw] ?? SymbolKind.Null, range, selectionRange: selection });
  });
  return out;
}
