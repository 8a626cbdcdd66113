/**
 * What the language server knows about one set of KC sources (a model folder,
 * possibly patched): the parsed files, an index of every top-level name, and —
 * compiled lazily — the Program with its diagnostics. Parsing never throws and
 * recovers per declaration, so the index is useful even while a file has errors.
 */
import { EnumMember, Expr, FieldDecl, FunctionDecl, SourceFile, Stmt, TypeSpec } from '../kc/ast.js';
import { KcSource, PRELUDE_FILE, compileProgram } from '../kc/compiler.js';
import { Diagnostic, SourcePos, SourceRange } from '../kc/diagnostics.js';
import { parseKc, scanTypedefNames } from '../kc/parser.js';
import { Program } from '../kc/program.js';
import { Builtins } from '../kc/runtime.js';
import { machineBuiltins } from '../machine/builtins.js';

export { PRELUDE_FILE };

let builtinsTable: Builtins | undefined;
/** One table of the machine's built-ins, shared by every compile. */
export function builtins(): Builtins {
  return (builtinsTable ??= machineBuiltins());
}

export type KcSymbolKind = 'function' | 'global' | 'define' | 'enum-member' | 'struct' | 'enum' | 'typedef';

export interface KcSymbol {
  name: string;
  kind: KcSymbolKind;
  /** absolute path, or PRELUDE_FILE for the machine's own declarations */
  file: string;
  range: SourceRange;
  nameRange: SourceRange;
  /** a one-line C rendering of the declaration */
  signature: string;
  doc?: string;
  fn?: FunctionDecl;
  type?: TypeSpec;
  fields?: FieldDecl[];
  members?: EnumMember[];
  /** for enum members: the enum's name, when it has one */
  enumName?: string;
  perCpu?: boolean;
}

export interface ParsedKcFile {
  path: string;
  text: string;
  ast: SourceFile;
  lines: LineMap;
  parseDiagnostics: Diagnostic[];
}

/** Offsets of line starts, for turning 1-based line/col into offsets and back. */
export class LineMap {
  readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  offset(p: SourcePos): number {
    const start = this.starts[Math.min(Math.max(p.line - 1, 0), this.starts.length - 1)] ?? 0;
    return Math.min(start + Math.max(p.col - 1, 0), this.text.length);
  }
  pos(offset: number): SourcePos {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.starts[lo] + 1 };
  }
  slice(r: SourceRange): string {
    return this.text.slice(this.offset(r.start), this.offset(r.end));
  }
}

/** The KC language's own macros: not functions of the model, not built-ins of the machine. */
export const LANGUAGE_MACROS: Record<string, string> = {
  per_cpu: 'per_cpu(var, cpu) — the per-CPU variable var of CPU cpu (an lvalue)',
  __get_cpu_var: "__get_cpu_var(var) — this CPU's instance of the per-CPU variable var",
  this_cpu_ptr: "this_cpu_ptr(&var) — a pointer to this CPU's instance of var",
  raw_cpu_ptr: "raw_cpu_ptr(&var) — a pointer to this CPU's instance of var",
  per_cpu_ptr: 'per_cpu_ptr(&var, cpu) — a pointer to CPU cpu\'s instance of var',
  __this_cpu_read: "__this_cpu_read(var) — reads this CPU's instance of var",
  this_cpu_read: "this_cpu_read(var) — reads this CPU's instance of var",
  __this_cpu_write: "__this_cpu_write(var, v) — writes this CPU's instance of var",
  this_cpu_write: "this_cpu_write(var, v) — writes this CPU's instance of var",
  READ_ONCE: 'READ_ONCE(x) — reads x (the machine is sequentially consistent)',
  ACCESS_ONCE: 'ACCESS_ONCE(x) — x itself (the machine is sequentially consistent)',
  WRITE_ONCE: 'WRITE_ONCE(x, v) — x = v',
  likely: 'likely(x) — x',
  unlikely: 'unlikely(x) — x',
  for_each_cpu: 'for_each_cpu(cpu, mask) — loops over the CPUs set in mask',
  for_each_online_cpu: 'for_each_online_cpu(cpu) — loops over the online CPUs',
  for_each_possible_cpu: 'for_each_possible_cpu(cpu) — loops over every CPU',
  llist_for_each_entry: 'llist_for_each_entry(pos, node, member) — walks a lock-less list',
  llist_for_each_entry_safe: 'llist_for_each_entry_safe(pos, n, node, member) — walks a lock-less list; pos may be freed',
  list_for_each_entry: 'list_for_each_entry(pos, head, member) — walks a list_head list',
  container_of: 'container_of(ptr, type, member) — the struct that contains *ptr as member',
  llist_entry: 'llist_entry(ptr, type, member) — the struct that contains the llist_node *ptr',
  list_entry: 'list_entry(ptr, type, member) — the struct that contains the list_head *ptr',
  list_first_entry: 'list_first_entry(head, type, member) — the first struct on the list',
  DEFINE_PER_CPU: 'DEFINE_PER_CPU(type, name) — a per-CPU variable',
  DEFINE_PER_CPU_SHARED_ALIGNED: 'DEFINE_PER_CPU_SHARED_ALIGNED(type, name) — a per-CPU variable',
  sizeof: 'sizeof(type) or sizeof expr — size in cells (every scalar is one 32-bit cell)',
};

export const KC_KEYWORDS = [
  'if', 'else', 'while', 'do', 'for', 'switch', 'case', 'default', 'break', 'continue', 'return', 'sizeof',
  'struct', 'enum', 'typedef', 'static', 'inline', 'const', 'volatile', 'unsigned', 'signed', 'void', 'char',
  'short', 'int', 'long', 'bool', 'true', 'false', 'NULL',
];

let preludeFile: ParsedKcFile | undefined;
function prelude(): ParsedKcFile {
  if (!preludeFile) {
    const text = builtins().prelude;
    const typedefs = scanTypedefNames([text]);
    const r = parseKc(PRELUDE_FILE, text, typedefs);
    preludeFile = { path: PRELUDE_FILE, text, ast: r.file, lines: new LineMap(text), parseDiagnostics: r.diagnostics };
  }
  return preludeFile;
}

export class KcAnalysis {
  /** parsed model files by path (the prelude is not among them) */
  readonly files = new Map<string, ParsedKcFile>();
  readonly functions = new Map<string, KcSymbol>();
  readonly globals = new Map<string, KcSymbol>();
  /** #defines and enum members */
  readonly constants = new Map<string, KcSymbol>();
  readonly structs = new Map<string, KcSymbol>();
  readonly enums = new Map<string, KcSymbol>();
  readonly typedefs = new Map<string, KcSymbol>();
  /** symbols of each file in source order (for outlines) */
  readonly byFile = new Map<string, KcSymbol[]>();
  /** typedef names of the whole program, which the parser needs to tell casts from expressions */
  readonly typedefNames: Set<string>;
  private compiled?: { program?: Program; diagnostics: Diagnostic[] };

  constructor(readonly key: string, readonly sources: readonly KcSource[], readonly nrCpus: number) {
    const pre = prelude();
    const typedefNames = scanTypedefNames([pre.text, ...sources.map((s) => s.text)]);
    this.typedefNames = typedefNames;
    this.indexFile(pre);
    for (const s of sources) {
      const r = parseKc(s.file, s.text, typedefNames);
      const f: ParsedKcFile = { path: s.file, text: s.text, ast: r.file, lines: new LineMap(s.text), parseDiagnostics: r.diagnostics };
      this.files.set(s.file, f);
      this.indexFile(f);
    }
  }

  /** The whole program compiled with the machine's built-ins (once per analysis). */
  compile(): { program?: Program; diagnostics: Diagnostic[] } {
    if (!this.compiled) this.compiled = compileProgram(this.sources, { nrCpus: this.nrCpus, builtins: builtins() });
    return this.compiled;
  }

  get isCompiled(): boolean {
    return this.compiled !== undefined;
  }

  fileText(path: string): LineMap | undefined {
    if (path === PRELUDE_FILE) return prelude().lines;
    return this.files.get(path)?.lines;
  }

  /** A top-level name: function, global, constant, typedef, then struct or enum tag. */
  lookup(name: string): KcSymbol | undefined {
    return this.functions.get(name) ?? this.globals.get(name) ?? this.constants.get(name) ?? this.typedefs.get(name)
      ?? this.structs.get(name) ?? this.enums.get(name);
  }

  /** The struct a type is or points to, following typedefs, pointers and arrays. */
  structOf(t: TypeSpec | undefined, depth = 0): KcSymbol | undefined {
    if (!t || depth > 20) return undefined;
    switch (t.kind) {
      case 'struct': return this.structs.get(t.name);
      case 'pointer': return this.structOf(t.to, depth + 1);
      case 'array': return this.structOf(t.of, depth + 1);
      case 'named': return this.structOf(this.typedefs.get(t.name)?.type, depth + 1);
      default: return undefined;
    }
  }

  /** The function whose definition contains a position in a file. */
  functionAt(path: string, pos: SourcePos): FunctionDecl | undefined {
    const f = this.files.get(path);
    if (!f) return undefined;
    for (const item of f.ast.items) {
      if (item.kind === 'function' && item.body && contains(item.range, pos)) return item;
    }
    return undefined;
  }

  private fileSymbols(file: string): KcSymbol[] {
    let list = this.byFile.get(file);
    if (!list) this.byFile.set(file, (list = []));
    return list;
  }

  private add(map: Map<string, KcSymbol>, s: KcSymbol, replace = false): void {
    if (!map.has(s.name) || replace) map.set(s.name, s);
    this.fileSymbols(s.file).push(s);
  }

  private indexFile(f: ParsedKcFile): void {
    const lines = f.lines;
    const slice = (r: SourceRange) => oneLine(lines.slice(r));
    for (const item of f.ast.items) {
      switch (item.kind) {
        case 'function': {
          const end = item.body ? item.body.range.start : item.range.end;
          const signature = oneLine(lines.text.slice(lines.offset(item.range.start), lines.offset(end))).replace(/;$/, '').trim();
          const s: KcSymbol = { name: item.name, kind: 'function', file: f.path, range: item.range, nameRange: item.nameRange, signature, doc: item.doc, fn: item };
          // a definition wins over a prototype
          this.add(this.functions, s, !!item.body && !this.functions.get(item.name)?.fn?.body);
          this.collectTypes(item.type, f);
          break;
        }
        case 'global': {
          const decl = formatDecl(item.type, item.name);
          const signature = item.perCpu ? `DEFINE_PER_CPU(${formatDecl(item.type, '')}, ${item.name})` : `${item.isStatic ? 'static ' : ''}${decl}`;
          this.add(this.globals, { name: item.name, kind: 'global', file: f.path, range: item.range, nameRange: item.nameRange, signature, type: item.type, perCpu: item.perCpu });
          this.collectTypes(item.type, f);
          break;
        }
        case 'define':
          this.add(this.constants, { name: item.name, kind: 'define', file: f.path, range: item.range, nameRange: item.nameRange, signature: slice(item.range) });
          break;
        case 'typedef':
          this.add(this.typedefs, { name: item.name, kind: 'typedef', file: f.path, range: item.range, nameRange: typedefNameRange(lines, item.range, item.name), signature: `typedef ${formatDecl(shallow(item.type), item.name)}`, type: item.type });
          this.collectTypes(item.type, f);
          break;
        case 'type':
          this.collectTypes(item.type, f);
          break;
        case 'initcall':
          break;
      }
    }
  }

  /** Registers the struct and enum definitions inside a type, however deeply nested. */
  private collectTypes(t: TypeSpec, f: ParsedKcFile): void {
    switch (t.kind) {
      case 'struct':
        if (t.fields && !this.structs.get(t.name)?.fields) {
          this.add(this.structs, {
            name: t.name, kind: 'struct', file: f.path, range: t.range, nameRange: tagNameRange(f.lines, t.range, t.name),
            signature: `struct ${t.name} { ${t.fields.map((x) => formatDecl(x.type, x.name) + ';').join(' ')} }`,
            fields: t.fields, doc: docAbove(f.lines, t.range),
          }, true);
          for (const fd of t.fields) this.collectTypes(fd.type, f);
        }
        break;
      case 'enum':
        if (t.members) {
          if (t.name) this.add(this.enums, { name: t.name, kind: 'enum', file: f.path, range: t.range, nameRange: tagNameRange(f.lines, t.range, t.name), signature: `enum ${t.name}`, members: t.members });
          else if (t.members.length) {
            // an anonymous enum has no name to look up, but it still belongs in the file's outline
            const keyword = { file: f.path, start: t.range.start, end: { line: t.range.start.line, col: t.range.start.col + 4 } };
            this.fileSymbols(f.path).push({ name: 'enum', kind: 'enum', file: f.path, range: t.range, nameRange: keyword, signature: `enum { ${t.members.map((m) => m.name).join(', ')} }`, members: t.members });
          }
          for (const m of t.members) {
            const value = m.value ? ` = ${oneLine(f.lines.slice(exprRange(m.value)))}` : '';
            this.add(this.constants, {
              name: m.name, kind: 'enum-member', file: f.path, range: m.range, nameRange: m.range,
              signature: `${t.name ? `enum ${t.name}` : 'enum'} { ${m.name}${value} }`, enumName: t.name,
            });
          }
        }
        break;
      case 'pointer': return this.collectTypes(t.to, f);
      case 'array': return this.collectTypes(t.of, f);
      case 'func':
        this.collectTypes(t.ret, f);
        for (const p of t.params) this.collectTypes(p.type, f);
        break;
      case 'named': break;
    }
  }
}

export function contains(r: SourceRange, p: SourcePos): boolean {
  const after = p.line > r.start.line || (p.line === r.start.line && p.col >= r.start.col);
  const before = p.line < r.end.line || (p.line === r.end.line && p.col <= r.end.col);
  return after && before;
}

function exprRange(e: Expr): SourceRange {
  return e.range;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** The comment block that ends just above a range, if any (for structs). */
function docAbove(lines: LineMap, r: SourceRange): string | undefined {
  const prevLine = r.start.line - 1;
  if (prevLine < 1) return undefined;
  const start = lines.starts[prevLine - 1];
  const end = lines.starts[prevLine] ?? lines.text.length;
  const text = lines.text.slice(start, end).trim();
  const m = /^\/\*(.*)\*\/$/.exec(text) ?? /^\/\/(.*)$/.exec(text);
  return m ? m[1].trim() : undefined;
}

/** Where the tag of `struct NAME {` / `enum NAME {` sits. */
export function tagNameRange(lines: LineMap, r: SourceRange, name: string): SourceRange {
  const from = lines.offset(r.start);
  const m = new RegExp(`\\b(?:struct|enum)\\s+(${name})\\b`).exec(lines.text.slice(from, from + 200 + name.length));
  if (!m) return { ...r, end: r.start.line === r.end.line ? r.end : { line: r.start.line, col: r.start.col + 6 } };
  const at = from + m.index + m[0].length - name.length;
  return { file: r.file, start: lines.pos(at), end: lines.pos(at + name.length) };
}

/** Where a typedef's name sits: its last occurrence in the declaration. */
function typedefNameRange(lines: LineMap, r: SourceRange, name: string): SourceRange {
  const from = lines.offset(r.start);
  const text = lines.text.slice(from, lines.offset(r.end));
  const re = new RegExp(`\\b${name}\\b`, 'g');
  let at = -1;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) at = m.index;
  if (at < 0) return r;
  return { file: r.file, start: lines.pos(from + at), end: lines.pos(from + at + name.length) };
}

/** A type without the bodies of the structs and enums it defines (for one-line renderings). */
function shallow(t: TypeSpec): TypeSpec {
  if (t.kind === 'struct') return { kind: 'struct', name: t.name, range: t.range };
  if (t.kind === 'enum') return { kind: 'enum', name: t.name, range: t.range };
  return t;
}

/** A C declaration of `name` with type `t`: `struct call_single_data *csd`, `void (*func)(void *)`. */
export function formatDecl(t: TypeSpec, name: string): string {
  const join = (base: string, declarator: string) => (declarator ? `${base} ${declarator}` : base);
  switch (t.kind) {
    case 'named': return join(t.name, name);
    case 'struct': return join(`struct ${t.name}`, name);
    case 'enum': return join(t.name ? `enum ${t.name}` : 'enum', name);
    case 'pointer': {
      const inner = t.to.kind === 'func' || t.to.kind === 'array' ? `(*${name})` : `*${name}`;
      return formatDecl(t.to, inner);
    }
    case 'array': {
      const size = t.size ? exprText(t.size) : '';
      return formatDecl(t.of, `${name}[${size}]`);
    }
    case 'func': {
      const params = t.params.length ? t.params.map((p) => formatDecl(p.type, p.name ?? '')).join(', ') : 'void';
      return formatDecl(t.ret, `${name}(${params})`);
    }
  }
}

function exprText(e: Expr): string {
  switch (e.kind) {
    case 'num': return String(e.value);
    case 'ident': return e.name;
    case 'binary': return `${exprText(e.left)} ${e.op} ${exprText(e.right)}`;
    default: return '…';
  }
}

export interface LocalDecl {
  name: string;
  type: TypeSpec;
  nameRange: SourceRange;
  isParam: boolean;
}

/** Parameters and local declarations of a function, in source order. */
export function localsOf(fn: FunctionDecl): LocalDecl[] {
  const out: LocalDecl[] = [];
  for (const p of fn.type.params) if (p.name) out.push({ name: p.name, type: p.type, nameRange: p.range, isParam: true });
  const walk = (s: Stmt | undefined): void => {
    if (!s) return;
    switch (s.kind) {
      case 'block': for (const b of s.body) walk(b); break;
      case 'decl': for (const d of s.decls) out.push({ name: d.name, type: d.type, nameRange: d.nameRange, isParam: false }); break;
      case 'if': walk(s.then); walk(s.else); break;
      case 'while': case 'do': case 'switch': case 'for_each_cpu': case 'list_for_each': walk(s.body); break;
      case 'for': walk(s.init); walk(s.body); break;
      default: break;
    }
  };
  walk(fn.body);
  return out;
}

/** The declaration of `name` visible at `pos` inside `fn` (best effort: the nearest one above). */
export function localAt(fn: FunctionDecl, name: string, pos: SourcePos): LocalDecl | undefined {
  let best: LocalDecl | undefined;
  for (const l of localsOf(fn)) {
    if (l.name !== name) continue;
    const above = l.nameRange.start.line < pos.line || (l.nameRange.start.line === pos.line && l.nameRange.start.col <= pos.col);
    if (above || !best) best = l;
  }
  return best;
}
