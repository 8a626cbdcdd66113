/** Completion, hover, go to definition and outline for .kc files. */
import { basename } from 'node:path';
import {
  CompletionItem, CompletionItemKind, DocumentSymbol, Hover, Location, MarkupKind, Position, Range, SymbolKind,
} from 'vscode-languageserver';
import { FieldDecl, FunctionDecl, TypeSpec } from '../kc/ast.js';
import { SourcePos, SourceRange } from '../kc/diagnostics.js';
import { parseKc } from '../kc/parser.js';
import { builtinDoc, builtinHover, builtinNames } from './builtinDocs.js';
import { fromPosition, lineOf, toRange, wordAt } from './convert.js';
import {
  KC_KEYWORDS, KcAnalysis, KcSymbol, LANGUAGE_MACROS, LocalDecl, PRELUDE_FILE, formatDecl, localAt, localsOf,
} from './kcIndex.js';

/** What a name at a position refers to. */
export type Target =
  | { kind: 'symbol'; symbol: KcSymbol }
  | { kind: 'local'; local: LocalDecl; fn: FunctionDecl }
  | { kind: 'field'; struct: KcSymbol; field: FieldDecl }
  | { kind: 'builtin'; name: string }
  | { kind: 'macro'; name: string };

const PER_CPU_ACCESSORS = new Set(['per_cpu', '__get_cpu_var', 'this_cpu_ptr', 'per_cpu_ptr', 'raw_cpu_ptr', '__this_cpu_read', 'this_cpu_read']);
const CONTAINER_MACROS = new Set(['container_of', 'llist_entry', 'list_entry', 'list_first_entry']);

/** Looks up variables for a position: locals of the enclosing function, then globals, then a textual guess. */
export class Scope {
  private readonly fn: FunctionDecl | undefined;

  constructor(readonly a: KcAnalysis, readonly path: string, readonly text: string, readonly pos: SourcePos, private readonly offset: number) {
    this.fn = a.functionAt(path, pos);
    // while a line is half typed the parser may have dropped the function around it
    if (!this.fn && a.files.get(path)?.parseDiagnostics.length) this.fn = reparsedFunctionAt(a, path, text, pos, offset);
  }

  get function(): FunctionDecl | undefined {
    return this.fn;
  }

  local(name: string): LocalDecl | undefined {
    return this.fn ? localAt(this.fn, name, this.pos) : undefined;
  }

  locals(): LocalDecl[] {
    return this.fn ? localsOf(this.fn) : [];
  }

  /** The declared type of a variable visible here. */
  typeOf(name: string): TypeSpec | undefined {
    const l = this.local(name);
    if (l) return l.type;
    const g = this.a.globals.get(name);
    if (g?.type) return g.type;
    return textualType(this.text.slice(Math.max(0, this.offset - 20000), this.offset), name);
  }

  /** The type of a simple expression ending the text `s`: `csd`, `cfd->csd[i]`, `per_cpu(cfd_data, cpu)`, `fn(x)`. */
  typeOfText(s: string, depth = 0): TypeSpec | undefined {
    s = s.trimEnd();
    if (!s || depth > 12) return undefined;
    const last = s[s.length - 1];
    if (last === ']') {
      const open = matchingOpen(s, s.length - 1, '[', ']');
      return open < 0 ? undefined : this.typeOfText(s.slice(0, open), depth + 1);
    }
    if (last === ')') {
      const open = matchingOpen(s, s.length - 1, '(', ')');
      if (open < 0) return undefined;
      const inside = s.slice(open + 1, s.length - 1);
      const callee = /([A-Za-z_]\w*)\s*$/.exec(s.slice(0, open))?.[1];
      if (!callee) {
        const cast = /^\s*\(\s*struct\s+(\w+)\s*\*+\s*\)/.exec(inside);
        if (cast) return structSpec(cast[1]);
        return this.typeOfText(inside.replace(/^\s*[*&]+/, ''), depth + 1);
      }
      if (PER_CPU_ACCESSORS.has(callee)) {
        const v = /^\s*&?\s*([A-Za-z_]\w*)/.exec(inside)?.[1];
        return v ? this.typeOf(v) : undefined;
      }
      if (CONTAINER_MACROS.has(callee)) {
        const t = /,\s*struct\s+(\w+)/.exec(inside)?.[1];
        return t ? structSpec(t) : undefined;
      }
      return this.a.functions.get(callee)?.fn?.type.ret;
    }
    const m = /([A-Za-z_]\w*)$/.exec(s);
    if (!m) return undefined;
    const before = s.slice(0, m.index).trimEnd();
    const op = /(->|\.)$/.exec(before);
    if (op) {
      const base = this.a.structOf(this.typeOfText(before.slice(0, before.length - op[1].length), depth + 1));
      return base?.fields?.find((f) => f.name === m[1])?.type;
    }
    return this.typeOf(m[1]);
  }
}

const NOWHERE: SourceRange = { file: '', start: { line: 1, col: 1 }, end: { line: 1, col: 1 } };

function structSpec(name: string): TypeSpec {
  return { kind: 'struct', name, range: NOWHERE };
}

function matchingOpen(s: string, close: number, open: string, closeCh: string): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    if (s[i] === closeCh) depth++;
    else if (s[i] === open && --depth === 0) return i;
  }
  return -1;
}

const NOT_TYPES = new Set(['return', 'sizeof', 'case', 'goto', 'else', 'do', 'typedef', 'struct', 'enum']);

/** `struct foo *name` or `type name` written somewhere above: a guess when the parser could not make sense of the function. */
function textualType(text: string, name: string): TypeSpec | undefined {
  const re = new RegExp(`(?:\\bstruct\\s+(\\w+)|\\b([A-Za-z_]\\w*))[\\s*]+\\b${name}\\s*(?=[;,=)\\[])`, 'g');
  let found: TypeSpec | undefined;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    if (m[1]) found = structSpec(m[1]);
    else if (m[2] && !NOT_TYPES.has(m[2])) found = { kind: 'named', name: m[2], range: NOWHERE };
  }
  return found;
}

/** While a line is half typed the parser may drop its function; try again with the gap filled. */
function reparsedFunctionAt(a: KcAnalysis, path: string, text: string, pos: SourcePos, offset: number): FunctionDecl | undefined {
  for (const fill of ['x', 'x;', 'x);', 'x));', 'x) {}', 'x; }']) {
    const variant = text.slice(0, offset) + fill + text.slice(offset);
    const r = parseKc(path, variant, a.typedefNames);
    const fn = r.file.items.find((i): i is FunctionDecl => i.kind === 'function' && !!i.body
      && (i.range.start.line < pos.line || (i.range.start.line === pos.line && i.range.start.col <= pos.col))
      && (i.range.end.line > pos.line || (i.range.end.line === pos.line && i.range.end.col >= pos.col)));
    if (fn) return fn;
  }
  return undefined;
}

function offsetAt(text: string, p: Position): number {
  let off = 0;
  for (let i = 0; i < p.line; i++) {
    const nl = text.indexOf('\n', off);
    if (nl < 0) return text.length;
    off = nl + 1;
  }
  return Math.min(off + p.character, text.length);
}

/** True when the position is inside a comment or a string literal (best effort: this line and block comments). */
function inCommentOrString(text: string, offset: number): boolean {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  let inStr = false;
  for (let i = 0; i < before.length; i++) {
    const c = before[i];
    if (c === '"' && before[i - 1] !== '\\') inStr = !inStr;
    if (!inStr && c === '/' && before[i + 1] === '/') return true;
  }
  if (inStr) return true;
  const open = text.lastIndexOf('/*', offset);
  return open >= 0 && text.lastIndexOf('*/', offset) < open;
}

// ---- resolution

/** What the identifier at `position` names. */
export function resolveKc(a: KcAnalysis, path: string, text: string, position: Position): { target?: Target; range: Range } | undefined {
  const line = lineOf(text, position.line);
  const w = wordAt(line, position.character);
  if (!w || /^\d/.test(w.text)) return undefined;
  const range: Range = { start: { line: position.line, character: w.start }, end: { line: position.line, character: w.end } };
  const offset = offsetAt(text, { line: position.line, character: w.start });
  const scope = new Scope(a, path, text, fromPosition(position), offset);
  return { target: resolveName(a, scope, line.slice(0, w.start), w.text), range };
}

/** Resolves `name` written after `before` on its line. */
export function resolveName(a: KcAnalysis, scope: Scope | undefined, before: string, name: string): Target | undefined {
  const member = /(->|\.)\s*$/.exec(before);
  if (member && scope) {
    const base = before.slice(0, member.index);
    const struct = a.structOf(scope.typeOfText(base));
    const field = struct?.fields?.find((f) => f.name === name);
    if (struct && field) return { kind: 'field', struct, field };
    return undefined;
  }
  if (/\bstruct\s+$/.test(before)) {
    const s = a.structs.get(name);
    return s ? { kind: 'symbol', symbol: s } : undefined;
  }
  if (/\benum\s+$/.test(before)) {
    const s = a.enums.get(name);
    return s ? { kind: 'symbol', symbol: s } : undefined;
  }
  const local = scope?.local(name);
  if (local && scope?.function) return { kind: 'local', local, fn: scope.function };
  const sym = a.lookup(name);
  if (sym && !(sym.file === PRELUDE_FILE && builtinDoc(name))) return { kind: 'symbol', symbol: sym };
  if (builtinDoc(name)) return { kind: 'builtin', name };
  if (LANGUAGE_MACROS[name]) return { kind: 'macro', name };
  return undefined;
}

// ---- rendering

function code(s: string): string {
  return '```c\n' + s + '\n```';
}

function structBlock(s: KcSymbol): string {
  const fields = (s.fields ?? []).map((f) => `\t${formatDecl(f.type, f.name)};`).join('\n');
  return `struct ${s.name} {\n${fields}\n};`;
}

function where(s: { file: string; range: SourceRange }): string {
  return s.file === PRELUDE_FILE ? '' : `${basename(s.file)}:${s.range.start.line}`;
}

/** Markdown describing a KC symbol. */
export function symbolMarkdown(a: KcAnalysis, s: KcSymbol, opts: { fileNote?: string } = {}): string {
  const parts: string[] = [];
  if (s.kind === 'struct') parts.push(code(structBlock(s)));
  else parts.push(code(s.signature));
  if ((s.kind === 'define' || s.kind === 'enum-member')) {
    const value = constantValue(a, s.name);
    if (value !== undefined) parts.push(`\`${s.name}\` = ${value}${value > 9 || value < 0 ? ` (0x${(value >>> 0).toString(16)})` : ''}`);
  }
  if (s.kind === 'global' && s.perCpu) parts.push('A per-CPU variable: each CPU has its own instance (`per_cpu(' + s.name + ', cpu)`).');
  if (s.doc) parts.push(s.doc);
  if (s.file === PRELUDE_FILE) parts.push(`\`${s.name}\` is a built-in of the arch layer: the SMP Lab machine declares it for every model.`);
  else parts.push(`*${where(s)}*${opts.fileNote ? ' — ' + opts.fileNote : ''}`);
  return parts.join('\n\n');
}

function constantValue(a: KcAnalysis, name: string): number | undefined {
  try {
    return a.compile().program?.constants.get(name);
  } catch {
    return undefined;
  }
}

export function targetMarkdown(a: KcAnalysis, t: Target, opts: { fileNote?: (file: string) => string | undefined } = {}): string {
  switch (t.kind) {
    case 'symbol': return symbolMarkdown(a, t.symbol, { fileNote: opts.fileNote?.(t.symbol.file) });
    case 'local': return code(`(${t.local.isParam ? 'parameter' : 'local'}) ${formatDecl(t.local.type, t.local.name)}`) + `\n\nin \`${t.fn.name}()\``;
    case 'field': return code(`(field) ${formatDecl(t.field.type, t.field.name)}`) + `\n\nof \`struct ${t.struct.name}\`${t.struct.file === PRELUDE_FILE ? ' (built in)' : ` — *${where(t.struct)}*`}`;
    case 'builtin': return builtinHover(builtinDoc(t.name)!);
    case 'macro': return code(LANGUAGE_MACROS[t.name].split(' — ')[0]) + `\n\n${LANGUAGE_MACROS[t.name].split(' — ')[1] ?? ''}\n\nA macro the KC language provides.`;
  }
}

export function targetLocation(ws: { uriFor(path: string): string }, t: Target, path: string): Location | undefined {
  switch (t.kind) {
    case 'symbol':
      if (t.symbol.file === PRELUDE_FILE) return undefined;
      return { uri: ws.uriFor(t.symbol.file), range: toRange(t.symbol.nameRange) };
    case 'local': return { uri: ws.uriFor(path), range: toRange(t.local.nameRange) };
    case 'field':
      if (t.struct.file === PRELUDE_FILE) return undefined;
      return { uri: ws.uriFor(t.struct.file), range: toRange(t.field.range) };
    default: return undefined;
  }
}

// ---- features

export function kcHover(a: KcAnalysis, path: string, text: string, position: Position): Hover | null {
  const r = resolveKc(a, path, text, position);
  if (!r?.target) return null;
  return { contents: { kind: MarkupKind.Markdown, value: targetMarkdown(a, r.target) }, range: r.range };
}

export function kcDefinition(a: KcAnalysis, ws: { uriFor(path: string): string }, path: string, text: string, position: Position): Location | null {
  const r = resolveKc(a, path, text, position);
  if (!r?.target) return null;
  return targetLocation(ws, r.target, path) ?? null;
}

export function functionItem(s: KcSymbol, opts: { snippet?: boolean } = {}): CompletionItem {
  const params = s.fn?.type.params.filter((p) => p.name) ?? [];
  const item: CompletionItem = {
    label: s.name,
    kind: CompletionItemKind.Function,
    detail: s.signature,
    documentation: s.doc ? { kind: MarkupKind.Markdown, value: `${s.doc}\n\n*${where(s)}*` } : undefined,
    sortText: (s.fn?.isStatic ? '1' : '0') + s.name,
  };
  if (opts.snippet) {
    item.insertTextFormat = 2; // snippet
    item.insertText = `${s.name}(${params.map((p, i) => `\${${i + 1}:${p.name}}`).join(', ')})${params.length ? '' : '$0'}`;
  }
  return item;
}

const KIND_OF: Record<KcSymbol['kind'], CompletionItemKind> = {
  function: CompletionItemKind.Function,
  global: CompletionItemKind.Variable,
  define: CompletionItemKind.Constant,
  'enum-member': CompletionItemKind.EnumMember,
  struct: CompletionItemKind.Struct,
  enum: CompletionItemKind.Enum,
  typedef: CompletionItemKind.TypeParameter,
};

export function symbolItem(s: KcSymbol): CompletionItem {
  if (s.kind === 'function') return functionItem(s);
  return {
    label: s.name,
    kind: KIND_OF[s.kind],
    detail: s.kind === 'struct' ? `struct ${s.name}` : s.signature,
    documentation: s.doc,
    sortText: (s.file === PRELUDE_FILE ? '3' : '1') + s.name,
  };
}

export function kcCompletion(a: KcAnalysis, path: string, text: string, position: Position, triggerCharacter?: string): CompletionItem[] {
  const offset = offsetAt(text, position);
  if (inCommentOrString(text, offset)) return [];
  const line = lineOf(text, position.line);
  const before = line.slice(0, position.character);
  if (/^\s*#\s*(include|define\s+\w*)$/.test(before) || /^\s*#\s*include\b/.test(before)) return [];
  const prefix = /[A-Za-z_]\w*$/.exec(before)?.[0] ?? '';
  const head = before.slice(0, before.length - prefix.length);
  const pos = fromPosition(position);

  const member = /(->|\.)\s*$/.exec(head);
  if (member) {
    if (/\d\.\s*$/.test(head) && !/[A-Za-z_]\w*\.\s*$/.test(head)) return [];
    const scope = new Scope(a, path, text, pos, offset - prefix.length);
    const struct = a.structOf(scope.typeOfText(head.slice(0, member.index)));
    return (struct?.fields ?? []).map((f) => ({
      label: f.name, kind: CompletionItemKind.Field, detail: formatDecl(f.type, f.name),
      documentation: `field of struct ${struct!.name}`,
    }));
  }
  if (/\bstruct\s+$/.test(head)) return [...a.structs.values()].map((s) => ({ ...symbolItem(s), kind: CompletionItemKind.Struct }));
  if (/\benum\s+$/.test(head)) return [...a.enums.values()].map(symbolItem);
  // a space or '>' typed outside of these contexts asks for nothing
  if (triggerCharacter && !prefix) return [];

  const items: CompletionItem[] = [];
  const seen = new Set<string>();
  const push = (i: CompletionItem) => {
    if (seen.has(i.label)) return;
    seen.add(i.label);
    items.push(i);
  };
  const scope = new Scope(a, path, text, pos, offset - prefix.length);
  for (const l of scope.locals()) {
    push({ label: l.name, kind: CompletionItemKind.Variable, detail: `(${l.isParam ? 'parameter' : 'local'}) ${formatDecl(l.type, l.name)}`, sortText: '0' + l.name });
  }
  for (const map of [a.functions, a.globals, a.constants, a.typedefs]) {
    for (const s of map.values()) {
      if (s.file === PRELUDE_FILE && s.name.startsWith('__')) continue;
      if (s.file === PRELUDE_FILE && builtinDoc(s.name)) continue;
      push(symbolItem(s));
    }
  }
  for (const name of builtinNames()) {
    const d = builtinDoc(name)!;
    push({ label: name, kind: d.kind === 'function' ? CompletionItemKind.Function : CompletionItemKind.Variable, detail: `${d.signature} — built-in`, documentation: d.note, sortText: '4' + name });
  }
  for (const [name, doc] of Object.entries(LANGUAGE_MACROS)) push({ label: name, kind: CompletionItemKind.Keyword, detail: doc.split(' — ')[0], documentation: doc.split(' — ')[1], sortText: '5' + name });
  for (const k of KC_KEYWORDS) push({ label: k, kind: CompletionItemKind.Keyword, sortText: '6' + k });
  return items;
}

// ---- outline

function containing(range: Range, inner: Range): Range {
  const before = (a: Position, b: Position) => a.line < b.line || (a.line === b.line && a.character <= b.character);
  return {
    start: before(range.start, inner.start) ? range.start : inner.start,
    end: before(inner.end, range.end) ? range.end : inner.end,
  };
}

function docSymbol(name: string, kind: SymbolKind, detail: string | undefined, range: SourceRange, nameRange: SourceRange, children?: DocumentSymbol[]): DocumentSymbol {
  const selectionRange = toRange(nameRange);
  return { name, kind, detail, range: containing(toRange(range), selectionRange), selectionRange, children };
}

export function kcDocumentSymbols(a: KcAnalysis, path: string): DocumentSymbol[] {
  const list = [...(a.byFile.get(path) ?? [])].sort((x, y) => x.range.start.line - y.range.start.line || x.range.start.col - y.range.start.col);
  const out: DocumentSymbol[] = [];
  const enums = list.filter((s) => s.kind === 'enum');
  const inEnum = (r: SourceRange) => enums.some((e) => e.range.start.line <= r.start.line && r.end.line <= e.range.end.line
    && (e.range.start.line < r.start.line || e.range.start.col <= r.start.col) && (r.end.line < e.range.end.line || r.end.col <= e.range.end.col));
  for (const s of list) {
    switch (s.kind) {
      case 'function': out.push(docSymbol(s.name, SymbolKind.Function, s.fn?.body ? s.signature : s.signature + ' (declaration)', s.range, s.nameRange)); break;
      case 'global': out.push(docSymbol(s.name, SymbolKind.Variable, s.signature, s.range, s.nameRange)); break;
      case 'define': out.push(docSymbol(s.name, SymbolKind.Constant, s.signature, s.range, s.nameRange)); break;
      case 'typedef': out.push(docSymbol(s.name, SymbolKind.TypeParameter, s.signature, s.range, s.nameRange)); break;
      case 'struct':
        out.push(docSymbol(s.name, SymbolKind.Struct, `struct ${s.name}`, s.range, s.nameRange,
          (s.fields ?? []).map((f) => docSymbol(f.name, SymbolKind.Field, formatDecl(f.type, f.name), f.range, f.range))));
        break;
      case 'enum':
        out.push(docSymbol(s.name, SymbolKind.Enum, s.signature, s.range, s.nameRange,
          (s.members ?? []).map((m) => docSymbol(m.name, SymbolKind.EnumMember, undefined, m.range, m.range))));
        break;
      case 'enum-member':
        if (!inEnum(s.range)) out.push(docSymbol(s.name, SymbolKind.EnumMember, s.signature, s.range, s.nameRange));
        break;
    }
  }
  return out;
}
