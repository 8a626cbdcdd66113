import {
  AssignOp, BinaryOp, EnumMember, Expr, FieldDecl, FunctionDecl, InitItem, InitList, Initializer, Param,
  SourceFile, Stmt, TopLevel, TypeSpec, VarDecl,
} from './ast.js';
import { Diagnostic, DiagnosticError, SourceRange, errorAt } from './diagnostics.js';
import { Comment, Token, lex } from './lexer.js';

/** Type names every model can use without declaring them. */
export const BUILTIN_TYPE_NAMES = new Set([
  'u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64', 'size_t', 'ssize_t', 'uintptr_t', 'pid_t',
  'atomic_t', 'spinlock_t', 'raw_spinlock_t', 'cpumask_t', 'cpumask_var_t',
]);

const BASE_TYPE_WORDS = new Set(['void', 'char', 'short', 'int', 'long', 'signed', 'unsigned', 'bool', '_Bool']);

/** Words that do not change what the model does; accepted and skipped. */
const IGNORED_QUALIFIERS = new Set([
  'inline', '__inline', '__init', '__cpuinit', '__initdata', '__read_mostly', 'notrace', 'noinline',
  '__always_inline', 'asmlinkage', '__visible', '__maybe_unused', 'const', 'volatile', 'extern', '__percpu',
  '__cacheline_aligned', '__cacheline_aligned_in_smp', '__rcu', '__weak', 'register', '__sched', '__ref',
  '__noreturn', '__must_check', '__attribute_const__', '__user', '__iomem', '__force', 'noinstr',
]);

const INITCALL_LEVELS = [
  'early_initcall', 'pure_initcall', 'core_initcall', 'postcore_initcall', 'arch_initcall', 'subsys_initcall',
  'fs_initcall', 'rootfs_initcall', 'device_initcall', 'module_init', 'late_initcall',
];

const PER_CPU_DEFINERS = new Set([
  'DEFINE_PER_CPU', 'DEFINE_PER_CPU_SHARED_ALIGNED', 'DEFINE_PER_CPU_ALIGNED', 'DEFINE_PER_CPU_READ_MOSTLY',
]);

const LOCK_DEFINERS: Record<string, string> = {
  DEFINE_MUTEX: 'struct mutex',
  DEFINE_SPINLOCK: 'spinlock_t',
  DEFINE_RAW_SPINLOCK: 'raw_spinlock_t',
};

const FOR_EACH_CPU = new Set(['for_each_cpu', 'for_each_online_cpu', 'for_each_possible_cpu']);
const LIST_FOR_EACH = new Set(['llist_for_each_entry', 'llist_for_each_entry_safe', 'list_for_each_entry']);
const CONTAINER_OF = new Set(['container_of', 'llist_entry', 'list_entry', 'list_first_entry']);

const BINARY_PRECEDENCE: Record<string, number> = {
  '||': 1, '&&': 2, '|': 3, '^': 4, '&': 5, '==': 6, '!=': 6, '<': 7, '>': 7, '<=': 7, '>=': 7,
  '<<': 8, '>>': 8, '+': 9, '-': 9, '*': 10, '/': 10, '%': 10,
};
const ASSIGN_OPS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '<<=', '>>=']);

/**
 * How deeply source may nest: blocks and statements inside statements,
 * parentheses, operators in a chain, declarators. Deeper input is refused with
 * a diagnostic, so nothing that walks the syntax tree can overflow the stack.
 */
export const MAX_NESTING = 256;

export function nestingMessage(): string {
  return `nesting deeper than ${MAX_NESTING} levels: split this into smaller expressions, statements or functions`;
}

/** Input nested too deeply: abandons the whole function body or declaration it is in. */
export class NestingError extends DiagnosticError {}

/** Names declared with `typedef` anywhere in these sources, so casts parse before the typedef is seen. */
export function scanTypedefNames(texts: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const text of texts) {
    const tokens = lex('', text, []);
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i].kind !== 'ident' || tokens[i].text !== 'typedef') continue;
      let depth = 0;
      let last: string | undefined;
      let fnPtrName: string | undefined;
      let j = i + 1;
      for (; j < tokens.length; j++) {
        const t = tokens[j];
        if (t.text === '{' || t.text === '(') depth++;
        else if (t.text === '}' || t.text === ')') depth--;
        else if (t.text === ';' && depth === 0) break;
        if (t.kind === 'ident' && depth === 0) last = t.text;
        if (t.kind === 'ident' && tokens[j - 1]?.text === '*' && tokens[j - 2]?.text === '(' && !fnPtrName) fnPtrName = t.text;
        if (t.kind === 'eof') break;
      }
      const name = fnPtrName ?? last;
      if (name) names.add(name);
      // go on after this declaration: scanning from every typedef to the end would be quadratic
      i = j;
    }
  }
  return names;
}

export interface ParseResult {
  file: SourceFile;
  diagnostics: Diagnostic[];
}

/** Parses one KC file. Never throws: every problem is a diagnostic, and parsing resumes at the next declaration. */
export function parseKc(file: string, text: string, typedefNames: ReadonlySet<string> = new Set()): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const comments: Comment[] = [];
  const tokens = lex(file, text, diagnostics, comments);
  const parser = new Parser(file, tokens, comments, typedefNames, diagnostics);
  return { file: { file, items: parser.parseFile() }, diagnostics };
}

/** Parses a lone expression (breakpoint conditions, watch expressions, scenario arguments). */
export function parseKcExpression(file: string, text: string, typedefNames: ReadonlySet<string> = new Set(), at?: { line: number; col: number }): { expr?: Expr; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const tokens = lex(file, text, diagnostics);
  if (at) shiftTokens(tokens, at);
  const parser = new Parser(file, tokens, [], typedefNames, diagnostics);
  try {
    const expr = parser.parseExpression();
    parser.expectEnd();
    return { expr, diagnostics };
  } catch (e) {
    if (e instanceof DiagnosticError) {
      diagnostics.push(e.diagnostic);
      return { diagnostics };
    }
    throw e;
  }
}

/** Moves token positions so that text parsed on its own reports the place it came from. */
function shiftTokens(tokens: Token[], at: { line: number; col: number }): void {
  for (const t of tokens) {
    for (const p of [t.range.start, t.range.end]) {
      if (p.line === 1) p.col += at.col - 1;
      p.line += at.line - 1;
    }
  }
}

class Parser {
  private pos = 0;
  private depth = 0;
  private readonly typedefs: Set<string>;
  /** comments by the line they end on, in file order: looking one up stays cheap in a file of thousands */
  private readonly commentsEndingOn = new Map<number, Comment[]>();

  constructor(
    private readonly file: string,
    private readonly tokens: Token[],
    comments: Comment[],
    typedefNames: ReadonlySet<string>,
    private readonly diagnostics: Diagnostic[],
  ) {
    this.typedefs = new Set([...BUILTIN_TYPE_NAMES, ...typedefNames]);
    for (const c of comments) {
      const list = this.commentsEndingOn.get(c.range.end.line);
      if (list) list.push(c);
      else this.commentsEndingOn.set(c.range.end.line, [c]);
    }
  }

  // ---- token helpers

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private is(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return (t.kind === 'punct' || t.kind === 'ident') && t.text === text;
  }

  private accept(text: string): Token | undefined {
    return this.is(text) ? this.next() : undefined;
  }

  private expect(text: string, what?: string): Token {
    const t = this.peek();
    if (this.is(text)) return this.next();
    throw this.error(t.range, `expected '${text}'${what ? ' ' + what : ''} but found ${describe(t)}`);
  }

  private expectIdent(what: string): Token {
    const t = this.peek();
    if (t.kind === 'ident') return this.next();
    throw this.error(t.range, `expected ${what} but found ${describe(t)}`);
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.kind !== 'eof') throw this.error(t.range, `unexpected ${describe(t)} after the expression`);
  }

  private error(range: SourceRange, message: string): DiagnosticError {
    return new DiagnosticError(errorAt(range, message));
  }

  /** Runs `parse` one nesting level deeper. */
  private nested<T>(parse: () => T): T {
    this.deeper();
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  /** Goes one nesting level deeper (the caller restores `depth`); past MAX_NESTING the input is refused. */
  private deeper(): void {
    if (this.depth >= MAX_NESTING) throw new NestingError(errorAt(this.peek().range, nestingMessage()));
    this.depth++;
  }

  private span(start: SourceRange, end?: SourceRange): SourceRange {
    const last = end ?? this.tokens[Math.max(0, this.pos - 1)].range;
    return { file: this.file, start: start.start, end: last.end };
  }

  // ---- top level

  parseFile(): TopLevel[] {
    const items: TopLevel[] = [];
    while (this.peek().kind !== 'eof') {
      const start = this.pos;
      try {
        items.push(...this.parseTopLevel());
      } catch (e) {
        if (!(e instanceof DiagnosticError)) throw e;
        this.diagnostics.push(e.diagnostic);
        // a declaration nested too deeply is skipped whole, from its start
        if (e instanceof NestingError) this.pos = start;
        this.recoverTopLevel(start);
      }
    }
    return items;
  }

  /** After an error, skip to just past the next `;` or `}` at brace depth zero. */
  private recoverTopLevel(start: number): void {
    if (this.pos === start) this.next();
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return;
      if (t.kind === 'directive' && depth === 0) return;
      this.next();
      if (t.text === '{') depth++;
      else if (t.text === '}') {
        depth--;
        if (depth <= 0) {
          this.accept(';');
          return;
        }
      } else if (t.text === ';' && depth <= 0) return;
    }
  }

  private parseTopLevel(): TopLevel[] {
    const t = this.peek();
    if (t.kind === 'directive') return this.parseDirective(this.next());
    if (t.kind === 'punct' && t.text === ';') {
      this.next();
      return [];
    }
    if (t.kind === 'ident' && INITCALL_LEVELS.includes(t.text)) {
      this.next();
      this.expect('(');
      const fn = this.expectIdent('a function name');
      this.expect(')');
      this.expect(';', `after ${t.text}(...)`);
      return [{ kind: 'initcall', level: t.text, fn: fn.text, range: this.span(t.range), fnRange: fn.range }];
    }
    if (t.kind === 'ident' && (t.text === 'EXPORT_SYMBOL' || t.text === 'EXPORT_SYMBOL_GPL')) {
      this.next();
      this.expect('(');
      this.expectIdent('a name');
      this.expect(')');
      this.expect(';');
      return [];
    }
    const special = this.parseSpecialDefinition(true);
    if (special) return special.map((d) => ({ ...d, kind: 'global' as const, perCpu: d.perCpu }));

    const startRange = t.range;
    const spec = this.parseSpecifiers();
    if (!spec) throw this.error(t.range, `expected a declaration but found ${describe(t)}`);
    if (this.accept(';')) {
      if (spec.isTypedef) throw this.error(startRange, 'typedef needs a name');
      return [{ kind: 'type', type: spec.type, range: this.span(startRange) }];
    }
    const items: TopLevel[] = [];
    for (;;) {
      const d = this.parseDeclarator(spec.type, false);
      if (!d.name || !d.nameRange) throw this.error(this.peek().range, 'expected a name in this declaration');
      if (spec.isTypedef) {
        this.typedefs.add(d.name);
        items.push({ kind: 'typedef', name: d.name, type: d.type, range: this.span(startRange) });
      } else if (d.type.kind === 'func') {
        if (this.is('{')) {
          if (items.length) throw this.error(this.peek().range, 'a function body must follow its own declaration');
          const body = this.parseFunctionBody();
          const fn: FunctionDecl = {
            kind: 'function', name: d.name, type: d.type, body, isStatic: spec.isStatic,
            doc: this.docCommentBefore(startRange), range: this.span(startRange), nameRange: d.nameRange,
          };
          return [fn];
        }
        items.push({ kind: 'function', name: d.name, type: d.type, isStatic: spec.isStatic, range: this.span(startRange), nameRange: d.nameRange });
      } else {
        const init = this.accept('=') ? this.parseInitializer() : undefined;
        items.push({
          kind: 'global', perCpu: false, name: d.name, type: d.type, init, isStatic: spec.isStatic,
          range: this.span(startRange), nameRange: d.nameRange,
        });
      }
      if (this.accept(',')) continue;
      this.expect(';', 'at the end of the declaration');
      return items;
    }
  }

  /** The block comment that ends on the line just above `range` (or the line comments directly above it). */
  private docCommentBefore(range: SourceRange): string | undefined {
    const before = (this.commentsEndingOn.get(range.start.line) ?? []).filter((c) => c.range.end.col <= range.start.col);
    const c = before[before.length - 1] ?? this.commentsEndingOn.get(range.start.line - 1)?.at(-1);
    if (!c) return undefined;
    return c.text.split('\n').map((l) => l.replace(/^\s*\*?\s?/, '')).join('\n').trim();
  }

  private parseDirective(t: Token): TopLevel[] {
    const m = /^#\s*(\w+)\s*(.*)$/s.exec(t.text);
    const word = m?.[1] ?? '';
    if (word === 'include') return [];
    if (word !== 'define') throw this.error(t.range, `'#${word}' is not supported: KC takes only #include and #define`);
    const dm = /^(\w+)(\s*)(.*)$/s.exec(m![2]);
    if (!dm) throw this.error(t.range, '#define needs a name');
    const [, name, , body] = dm;
    if (m![2].startsWith(name + '(')) throw this.error(t.range, `function-like macro '${name}' is not supported: write a function`);
    const nameCol = t.text.indexOf(name, t.text.indexOf('define') + 6);
    const nameRange: SourceRange = {
      file: this.file,
      start: { line: t.range.start.line, col: t.range.start.col + nameCol },
      end: { line: t.range.start.line, col: t.range.start.col + nameCol + name.length },
    };
    if (!body.trim()) return [];
    const bodyCol = t.text.lastIndexOf(body);
    const { expr, diagnostics } = parseKcExpression(this.file, body, this.typedefs, { line: t.range.start.line, col: t.range.start.col + bodyCol });
    if (!expr) {
      this.diagnostics.push(...diagnostics);
      return [];
    }
    return [{ kind: 'define', name, value: expr, range: t.range, nameRange }];
  }

  /** DEFINE_PER_CPU(type, name), DEFINE_MUTEX(name), LIST_HEAD(name) and friends. */
  private parseSpecialDefinition(topLevel: boolean): (VarDecl & { perCpu: boolean })[] | undefined {
    let k = 0;
    let isStatic = false;
    while (this.is('static', k) || IGNORED_QUALIFIERS.has(this.peek(k).text)) {
      if (this.is('static', k)) isStatic = true;
      k++;
    }
    const t = this.peek(k);
    if (t.kind !== 'ident' || !this.is('(', k + 1)) return undefined;
    const word = t.text;
    if (!(PER_CPU_DEFINERS.has(word) || word in LOCK_DEFINERS || word === 'LIST_HEAD' || word === 'LLIST_HEAD')) return undefined;
    if (PER_CPU_DEFINERS.has(word) && !topLevel) throw this.error(t.range, `${word} belongs at file scope`);
    this.pos += k + 1;
    this.expect('(');
    let type: TypeSpec;
    if (PER_CPU_DEFINERS.has(word)) {
      const spec = this.parseSpecifiers();
      if (!spec) throw this.error(this.peek().range, `${word} takes a type first`);
      type = this.parseDeclarator(spec.type, true).type;
      this.expect(',');
    } else {
      const typeName = word in LOCK_DEFINERS ? LOCK_DEFINERS[word] : word === 'LIST_HEAD' ? 'struct list_head' : 'struct llist_head';
      type = typeName.startsWith('struct ')
        ? { kind: 'struct', name: typeName.slice(7), range: t.range }
        : { kind: 'named', name: typeName, range: t.range };
    }
    const name = this.expectIdent('a variable name');
    this.expect(')');
    let init: Initializer | undefined;
    if (word === 'LIST_HEAD') {
      const self = (): Expr => ({ kind: 'unary', op: '&', arg: { kind: 'ident', name: name.text, range: name.range }, range: name.range });
      init = { kind: 'init_list', range: name.range, items: [
        { field: 'next', value: self(), range: name.range },
        { field: 'prev', value: self(), range: name.range },
      ] };
    }
    if (this.accept('=')) init = this.parseInitializer();
    this.expect(';', `after ${word}(...)`);
    return [{ name: name.text, type, init, isStatic, perCpu: PER_CPU_DEFINERS.has(word), range: this.span(t.range), nameRange: name.range }];
  }

  // ---- types

  private startsType(offset = 0): boolean {
    const t = this.peek(offset);
    if (t.kind !== 'ident') return false;
    return BASE_TYPE_WORDS.has(t.text) || t.text === 'struct' || t.text === 'enum' || t.text === 'static' ||
      t.text === 'typedef' || IGNORED_QUALIFIERS.has(t.text) || this.typedefs.has(t.text);
  }

  private parseSpecifiers(): { type: TypeSpec; isStatic: boolean; isTypedef: boolean } | undefined {
    let isStatic = false;
    let isTypedef = false;
    const words: Token[] = [];
    let type: TypeSpec | undefined;
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'ident') break;
      if (t.text === 'static') { isStatic = true; this.next(); continue; }
      if (t.text === 'typedef') { isTypedef = true; this.next(); continue; }
      if (IGNORED_QUALIFIERS.has(t.text)) { this.next(); continue; }
      if (type || (words.length && !BASE_TYPE_WORDS.has(t.text))) break;
      if (BASE_TYPE_WORDS.has(t.text)) { words.push(this.next()); continue; }
      if (t.text === 'struct') { type = this.parseStruct(); continue; }
      if (t.text === 'enum') { type = this.parseEnum(); continue; }
      if (this.typedefs.has(t.text) && !words.length) {
        this.next();
        type = { kind: 'named', name: t.text, range: t.range };
        continue;
      }
      break;
    }
    if (words.length) {
      const text = words.map((w) => w.text);
      const name = text.includes('void') ? 'void' : text.includes('bool') || text.includes('_Bool') ? 'bool' : text.includes('char') ? 'char' : 'int';
      type = { kind: 'named', name, range: this.span(words[0].range, words[words.length - 1].range) };
    }
    if (!type) {
      if (isStatic || isTypedef) throw this.error(this.peek().range, `expected a type but found ${describe(this.peek())}`);
      return undefined;
    }
    return { type, isStatic, isTypedef };
  }

  private parseStruct(): TypeSpec {
    this.deeper();
    try {
      const kw = this.next();
      const name = this.expectIdent('a struct name (anonymous structs are not supported)');
      if (!this.accept('{')) return { kind: 'struct', name: name.text, range: this.span(kw.range) };
      const fields: FieldDecl[] = [];
      while (!this.accept('}')) {
        if (this.peek().kind === 'eof') throw this.error(this.peek().range, `missing '}' at the end of struct ${name.text}`);
        const spec = this.parseSpecifiers();
        if (!spec) throw this.error(this.peek().range, `expected a field type but found ${describe(this.peek())}`);
        for (;;) {
          const d = this.parseDeclarator(spec.type, false);
          if (!d.name || !d.nameRange) throw this.error(this.peek().range, 'expected a field name');
          fields.push({ name: d.name, type: d.type, range: d.nameRange });
          if (!this.accept(',')) break;
        }
        this.expect(';', 'after the field');
      }
      return { kind: 'struct', name: name.text, fields, range: this.span(kw.range) };
    } finally {
      this.depth--;
    }
  }

  private parseEnum(): TypeSpec {
    const kw = this.next();
    const name = this.peek().kind === 'ident' ? this.next().text : undefined;
    if (!this.accept('{')) {
      if (!name) throw this.error(this.peek().range, "expected an enum name or '{'");
      return { kind: 'enum', name, range: this.span(kw.range) };
    }
    const members: EnumMember[] = [];
    while (!this.accept('}')) {
      const m = this.expectIdent('an enum constant');
      const value = this.accept('=') ? this.parseConditional() : undefined;
      members.push({ name: m.text, value, range: m.range });
      if (!this.accept(',')) {
        this.expect('}', 'at the end of the enum');
        break;
      }
    }
    return { kind: 'enum', name, members, range: this.span(kw.range) };
  }

  /**
   * A C declarator: pointers, a name (or none, for casts and parameters),
   * array sizes, parameter lists, and parenthesised declarators for function pointers.
   */
  private parseDeclarator(base: TypeSpec, abstract: boolean): Declarator {
    const depth = this.depth;
    try {
      this.deeper();
      let pointers = 0;
      while (this.accept('*')) {
        this.deeper();
        pointers++;
        while (IGNORED_QUALIFIERS.has(this.peek().text) && this.peek().kind === 'ident') this.next();
      }
      // `(*name)(params)`: the inner declarator is parsed around a hole that the outer type fills
      const hole: TypeSpec = { kind: 'named', name: '', range: this.peek().range };
      let inner: Declarator | undefined;
      let name: string | undefined;
      let nameRange: SourceRange | undefined;
      if (this.is('(') && (this.is('*', 1) || (this.peek(1).kind === 'ident' && !this.startsType(1) && this.is(')', 2)))) {
        this.next();
        inner = this.parseDeclarator(hole, abstract);
        this.expect(')');
      } else if (this.peek().kind === 'ident' && !BASE_TYPE_WORDS.has(this.peek().text) && this.peek().text !== 'struct' && this.peek().text !== 'enum') {
        const t = this.next();
        name = t.text;
        nameRange = t.range;
      } else if (!abstract) {
        throw this.error(this.peek().range, `expected a name but found ${describe(this.peek())}`);
      }
      const suffixes: ((t: TypeSpec) => TypeSpec)[] = [];
      for (;;) {
        if (this.is('[') || this.is('(')) this.deeper();
        if (this.accept('[')) {
          const size = this.is(']') ? null : this.parseConditional();
          this.expect(']');
          suffixes.push((t) => ({ kind: 'array', of: t, size }));
        } else if (this.is('(')) {
          const params = this.parseParams();
          suffixes.push((t) => ({ kind: 'func', ret: t, params }));
        } else break;
      }
      let type = base;
      for (let i = 0; i < pointers; i++) type = { kind: 'pointer', to: type };
      for (let i = suffixes.length - 1; i >= 0; i--) type = suffixes[i](type);
      if (inner) return { ...inner, type: fillHole(inner.type, hole, type) };
      return { name, nameRange, type };
    } finally {
      this.depth = depth;
    }
  }

  private parseParams(): Param[] {
    this.expect('(');
    const params: Param[] = [];
    if (this.is('void') && this.is(')', 1)) {
      this.next();
      this.next();
      return params;
    }
    if (this.accept(')')) return params;
    for (;;) {
      const start = this.peek().range;
      if (this.is('...')) throw this.error(start, 'variadic functions are not supported in KC');
      const spec = this.parseSpecifiers();
      if (!spec) throw this.error(start, `expected a parameter type but found ${describe(this.peek())}`);
      const d = this.parseDeclarator(spec.type, true);
      params.push({ name: d.name, type: d.type, range: d.nameRange ?? this.span(start) });
      if (this.accept(')')) return params;
      this.expect(',', 'between parameters');
    }
  }

  private parseTypeName(): TypeSpec {
    const spec = this.parseSpecifiers();
    if (!spec) throw this.error(this.peek().range, `expected a type but found ${describe(this.peek())}`);
    return this.parseDeclarator(spec.type, true).type;
  }

  // ---- statements

  /** A function's body. Nesting too deep inside it leaves the function declared with an empty body. */
  private parseFunctionBody(): Extract<Stmt, { kind: 'block' }> {
    const start = this.pos;
    try {
      return this.parseBlock();
    } catch (e) {
      if (!(e instanceof NestingError)) throw e;
      this.diagnostics.push(e.diagnostic);
      this.pos = start;
      const open = this.next();
      const close = this.skipToMatchingBrace();
      return { kind: 'block', body: [], range: this.span(open.range), closeRange: close.range };
    }
  }

  /** Just past an open brace: skips to its closing brace and returns it (or the end of the file). */
  private skipToMatchingBrace(): Token {
    let depth = 1;
    for (;;) {
      const t = this.next();
      if (t.kind === 'eof') return t;
      if (t.text === '{') depth++;
      else if (t.text === '}' && --depth === 0) return t;
    }
  }

  private parseBlock(): Extract<Stmt, { kind: 'block' }> {
    const open = this.expect('{');
    const body: Stmt[] = [];
    for (;;) {
      if (this.is('}')) break;
      if (this.peek().kind === 'eof') throw this.error(open.range, "this '{' is never closed");
      const start = this.pos;
      try {
        body.push(this.parseStatement());
      } catch (e) {
        if (!(e instanceof DiagnosticError) || e instanceof NestingError) throw e;
        this.diagnostics.push(e.diagnostic);
        this.recoverStatement(start);
      }
    }
    const close = this.next();
    return { kind: 'block', body, range: this.span(open.range), closeRange: close.range };
  }

  /** After an error inside a block, skip to the end of the statement (or the block's '}'). */
  private recoverStatement(start: number): void {
    if (this.pos === start) this.next();
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return;
      if (t.text === '}' && depth === 0) return;
      this.next();
      if (t.text === '{') depth++;
      else if (t.text === '}') {
        depth--;
        if (depth === 0) return;
      } else if (t.text === ';' && depth === 0) return;
    }
  }

  private parseStatement(): Stmt {
    this.deeper();
    try {
      const t = this.peek();
      if (t.kind === 'directive') throw this.error(t.range, 'preprocessor lines are only allowed at file scope');
      if (t.kind === 'punct') {
        if (t.text === '{') return this.parseBlock();
        if (t.text === ';') {
          this.next();
          return { kind: 'empty', range: t.range };
        }
      }
      if (t.kind === 'ident') {
        switch (t.text) {
          case 'if': {
            this.next();
            this.expect('(');
            const test = this.parseExpression();
            this.expect(')');
            const head = this.span(t.range);
            const then = this.parseStatement();
            const els = this.accept('else') ? this.parseStatement() : undefined;
            return { kind: 'if', test, then, else: els, range: head };
          }
          case 'while': {
            this.next();
            this.expect('(');
            const test = this.parseExpression();
            this.expect(')');
            const head = this.span(t.range);
            return { kind: 'while', test, body: this.parseStatement(), range: head };
          }
          case 'do': {
            this.next();
            const body = this.parseStatement();
            const w = this.expect('while', "after the body of 'do'");
            this.expect('(');
            const test = this.parseExpression();
            this.expect(')');
            this.expect(';', "after 'do ... while (...)'");
            return { kind: 'do', body, test, range: t.range, testRange: this.span(w.range) };
          }
          case 'for': {
            this.next();
            this.expect('(');
            let init: Stmt | undefined;
            if (!this.accept(';')) {
              if (this.startsType()) init = this.parseDeclaration();
              else {
                const e = this.parseExpression();
                this.expect(';');
                init = { kind: 'expr', expr: e, range: e.range };
              }
            }
            const test = this.is(';') ? undefined : this.parseExpression();
            this.expect(';');
            const update = this.is(')') ? undefined : this.parseExpression();
            this.expect(')');
            const head = this.span(t.range);
            return { kind: 'for', init, test, update, body: this.parseStatement(), range: head };
          }
          case 'switch': {
            this.next();
            this.expect('(');
            const test = this.parseExpression();
            this.expect(')');
            const head = this.span(t.range);
            return { kind: 'switch', test, body: this.parseStatement(), range: head };
          }
          case 'case': {
            this.next();
            const value = this.parseConditional();
            this.expect(':', 'after the case value');
            return { kind: 'case', value, range: this.span(t.range) };
          }
          case 'default':
            this.next();
            this.expect(':', "after 'default'");
            return { kind: 'default', range: this.span(t.range) };
          case 'break':
          case 'continue':
            this.next();
            this.expect(';', `after '${t.text}'`);
            return { kind: t.text, range: this.span(t.range) };
          case 'return': {
            this.next();
            const value = this.is(';') ? undefined : this.parseExpression();
            this.expect(';', 'after the return value');
            return { kind: 'return', value, range: this.span(t.range) };
          }
          case 'goto':
            throw this.error(t.range, "'goto' is not supported in KC: use a loop with break or continue");
        }
        if (FOR_EACH_CPU.has(t.text) && this.is('(', 1)) return this.parseForEachCpu();
        if (LIST_FOR_EACH.has(t.text) && this.is('(', 1)) return this.parseListForEach();
        const special = this.parseSpecialDefinition(false);
        if (special) return { kind: 'decl', decls: special, range: this.span(t.range) };
        if (this.startsType()) return this.parseDeclaration();
      }
      const expr = this.parseExpression();
      this.expect(';', 'at the end of the statement');
      return { kind: 'expr', expr, range: this.span(t.range) };
    } finally {
      this.depth--;
    }
  }

  private parseDeclaration(): Stmt {
    const start = this.peek().range;
    const spec = this.parseSpecifiers()!;
    if (spec.isTypedef) throw this.error(start, 'typedef belongs at file scope');
    const decls: VarDecl[] = [];
    if (this.is(';')) throw this.error(start, 'local struct definitions are not supported: define it at file scope');
    for (;;) {
      const d = this.parseDeclarator(spec.type, false);
      if (!d.name || !d.nameRange) throw this.error(this.peek().range, 'expected a variable name');
      if (d.type.kind === 'func') throw this.error(d.nameRange, 'functions are declared at file scope');
      const init = this.accept('=') ? this.parseInitializer() : undefined;
      decls.push({ name: d.name, type: d.type, init, isStatic: spec.isStatic, range: this.span(start), nameRange: d.nameRange });
      if (!this.accept(',')) break;
    }
    this.expect(';', 'at the end of the declaration');
    return { kind: 'decl', decls, range: this.span(start) };
  }

  private parseForEachCpu(): Stmt {
    const t = this.next();
    this.expect('(');
    const cpu = this.parseAssignment();
    let mask: Expr | undefined;
    if (t.text === 'for_each_cpu') {
      this.expect(',', 'between the CPU variable and the mask');
      mask = this.parseAssignment();
    }
    this.expect(')');
    const head = this.span(t.range);
    return { kind: 'for_each_cpu', macro: t.text, cpu, mask, body: this.parseStatement(), range: head };
  }

  private parseListForEach(): Stmt {
    const t = this.next();
    this.expect('(');
    const pos = this.parseAssignment();
    this.expect(',');
    let next: Expr | undefined;
    if (t.text === 'llist_for_each_entry_safe') {
      next = this.parseAssignment();
      this.expect(',');
    }
    const head = this.parseAssignment();
    this.expect(',');
    const member = this.parseMemberPath();
    this.expect(')');
    const range = this.span(t.range);
    return { kind: 'list_for_each', macro: t.text, pos, next, head, member, body: this.parseStatement(), range };
  }

  private parseInitializer(): Initializer {
    if (!this.is('{')) return this.parseAssignment();
    return this.nested(() => this.parseInitList());
  }

  private parseInitList(): InitList {
    const open = this.next();
    const items: InitItem[] = [];
    while (!this.accept('}')) {
      const start = this.peek().range;
      let field: string | undefined;
      let index: Expr | undefined;
      if (this.accept('.')) {
        field = this.expectIdent('a field name').text;
        this.expect('=');
      } else if (this.accept('[')) {
        index = this.parseConditional();
        this.expect(']');
        this.expect('=');
      }
      const value = this.parseInitializer();
      items.push({ field, index, value, range: this.span(start) });
      if (!this.accept(',')) {
        this.expect('}', 'at the end of the initializer');
        break;
      }
    }
    return { kind: 'init_list', items, range: this.span(open.range) };
  }

  // ---- expressions

  parseExpression(): Expr {
    const e = this.parseAssignment();
    if (this.is(',')) throw this.error(this.peek().range, 'the comma operator is not supported in KC');
    return e;
  }

  private parseAssignment(): Expr {
    const target = this.parseConditional();
    const t = this.peek();
    if (t.kind === 'punct' && ASSIGN_OPS.has(t.text)) {
      this.next();
      const value = this.nested(() => this.parseAssignment());
      return { kind: 'assign', op: t.text as AssignOp, target, value, range: this.span(target.range, value.range) };
    }
    return target;
  }

  private parseConditional(): Expr {
    const test = this.parseBinary(1);
    if (!this.accept('?')) return test;
    const then = this.nested(() => this.parseAssignment());
    this.expect(':', "in '?:'");
    const els = this.nested(() => this.parseConditional());
    return { kind: 'cond', test, then, else: els, range: this.span(test.range, els.range) };
  }

  /** A chain of operators; each one in the chain nests the tree one level deeper. */
  private parseBinary(minPrec: number): Expr {
    const depth = this.depth;
    try {
      let left = this.parseUnary();
      for (;;) {
        const t = this.peek();
        const prec = t.kind === 'punct' ? BINARY_PRECEDENCE[t.text] : undefined;
        if (prec === undefined || prec < minPrec) return left;
        this.deeper();
        this.next();
        const right = this.parseBinary(prec + 1);
        left = { kind: 'binary', op: t.text as BinaryOp, left, right, range: this.span(left.range, right.range) };
      }
    } finally {
      this.depth = depth;
    }
  }

  private parseUnary(): Expr {
    this.deeper();
    try {
      const t = this.peek();
      if (t.kind === 'punct') {
        if (t.text === '++' || t.text === '--') {
          this.next();
          const arg = this.parseUnary();
          return { kind: 'unary', op: t.text === '++' ? 'pre++' : 'pre--', arg, range: this.span(t.range, arg.range) };
        }
        if (['!', '~', '-', '+', '*', '&'].includes(t.text)) {
          this.next();
          const arg = this.parseUnary();
          return { kind: 'unary', op: t.text as '!', arg, range: this.span(t.range, arg.range) };
        }
        if (t.text === '(' && this.startsType(1)) {
          this.next();
          const type = this.parseTypeName();
          this.expect(')', 'after the cast type');
          const arg = this.parseUnary();
          return { kind: 'cast', type, arg, range: this.span(t.range, arg.range) };
        }
      }
      if (t.kind === 'ident' && t.text === 'sizeof') {
        this.next();
        if (this.is('(') && this.startsType(1)) {
          this.next();
          const type = this.parseTypeName();
          this.expect(')');
          return { kind: 'sizeof', type, range: this.span(t.range) };
        }
        const arg = this.parseUnary();
        return { kind: 'sizeof', arg, range: this.span(t.range, arg.range) };
      }
      return this.parsePostfix(this.parsePrimary());
    } finally {
      this.depth--;
    }
  }

  /** Calls, indexes, fields and ++/-- after an operand; each one nests the tree one level deeper. */
  private parsePostfix(e: Expr): Expr {
    const depth = this.depth;
    try {
      for (;;) {
        const t = this.peek();
        if (t.kind !== 'punct') return e;
        if (['(', '[', '.', '->', '++', '--'].includes(t.text)) this.deeper();
        if (t.text === '(') {
          this.next();
          const args: Expr[] = [];
          if (!this.accept(')')) {
            for (;;) {
              args.push(this.parseAssignment());
              if (this.accept(')')) break;
              this.expect(',', 'between arguments');
            }
          }
          e = { kind: 'call', callee: e, args, range: this.span(e.range) };
        } else if (t.text === '[') {
          this.next();
          const index = this.parseExpression();
          this.expect(']');
          e = { kind: 'index', base: e, index, range: this.span(e.range) };
        } else if (t.text === '.' || t.text === '->') {
          this.next();
          const name = this.expectIdent('a field name');
          e = { kind: 'member', base: e, name: name.text, arrow: t.text === '->', range: this.span(e.range), nameRange: name.range };
        } else if (t.text === '++' || t.text === '--') {
          this.next();
          e = { kind: 'unary', op: t.text === '++' ? 'post++' : 'post--', arg: e, range: this.span(e.range) };
        } else return e;
      }
    } finally {
      this.depth = depth;
    }
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case 'number':
      case 'char':
        this.next();
        return { kind: 'num', value: t.value as number, range: t.range };
      case 'string': {
        this.next();
        let value = t.value as string;
        let range = t.range;
        while (this.peek().kind === 'string') {
          const more = this.next();
          value += more.value as string;
          range = this.span(range, more.range);
        }
        return { kind: 'str', value, range };
      }
      case 'ident':
        if (CONTAINER_OF.has(t.text) && this.is('(', 1)) return this.parseContainerOf();
        this.next();
        return { kind: 'ident', name: t.text, range: t.range };
      case 'punct':
        if (t.text === '(') {
          this.next();
          const e = this.parseExpression();
          this.expect(')');
          return e;
        }
    }
    throw this.error(t.range, `expected an expression but found ${describe(t)}`);
  }

  private parseContainerOf(): Expr {
    const t = this.next();
    this.expect('(');
    const ptr = this.parseAssignment();
    this.expect(',');
    const type = this.parseTypeName();
    this.expect(',');
    const member = this.parseMemberPath();
    this.expect(')');
    const pointee = type.kind === 'pointer' && t.text === 'container_of' ? type.to : type;
    return { kind: 'container_of', macro: t.text, ptr, type: pointee, member, range: this.span(t.range) };
  }

  /** A member designator as offsetof() takes it: `llist`, or a path into embedded structs, `node.llist`. */
  private parseMemberPath(): string {
    let path = this.expectIdent('a member name').text;
    while (this.accept('.')) path += `.${this.expectIdent('a member name').text}`;
    return path;
  }
}

interface Declarator {
  name?: string;
  nameRange?: SourceRange;
  type: TypeSpec;
}

/** `spec` with `hole` (where a parenthesised declarator's outer type goes) replaced by `type`. */
function fillHole(spec: TypeSpec, hole: TypeSpec, type: TypeSpec): TypeSpec {
  if (spec === hole) return type;
  switch (spec.kind) {
    case 'pointer': return { kind: 'pointer', to: fillHole(spec.to, hole, type) };
    case 'array': return { ...spec, of: fillHole(spec.of, hole, type) };
    case 'func': return { ...spec, ret: fillHole(spec.ret, hole, type) };
    default: return spec;
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'the end of the file';
  if (t.kind === 'directive') return 'a preprocessor line';
  return `'${t.text}'`;
}
