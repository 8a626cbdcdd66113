import { SourceRange } from './diagnostics.js';

/** A type as written in the source, before names are resolved. */
export type TypeSpec =
  | { kind: 'named'; name: string; range: SourceRange }
  | { kind: 'struct'; name: string; fields?: FieldDecl[]; range: SourceRange }
  | { kind: 'enum'; name?: string; members?: EnumMember[]; range: SourceRange }
  | { kind: 'pointer'; to: TypeSpec }
  | { kind: 'array'; of: TypeSpec; size: Expr | null }
  | { kind: 'func'; ret: TypeSpec; params: Param[] };

export interface FieldDecl {
  name: string;
  type: TypeSpec;
  range: SourceRange;
}

export interface EnumMember {
  name: string;
  value?: Expr;
  range: SourceRange;
}

export interface Param {
  name?: string;
  type: TypeSpec;
  range: SourceRange;
}

export type UnaryOp = '!' | '~' | '-' | '+' | '*' | '&' | 'pre++' | 'pre--' | 'post++' | 'post--';
export type BinaryOp =
  | '*' | '/' | '%' | '+' | '-' | '<<' | '>>' | '<' | '>' | '<=' | '>=' | '==' | '!='
  | '&' | '^' | '|' | '&&' | '||';
export type AssignOp = '=' | '+=' | '-=' | '*=' | '/=' | '%=' | '&=' | '|=' | '^=' | '<<=' | '>>=';

export type Expr =
  | { kind: 'num'; value: number; range: SourceRange }
  | { kind: 'str'; value: string; range: SourceRange }
  | { kind: 'ident'; name: string; range: SourceRange }
  | { kind: 'unary'; op: UnaryOp; arg: Expr; range: SourceRange }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; range: SourceRange }
  | { kind: 'assign'; op: AssignOp; target: Expr; value: Expr; range: SourceRange }
  | { kind: 'cond'; test: Expr; then: Expr; else: Expr; range: SourceRange }
  | { kind: 'call'; callee: Expr; args: Expr[]; range: SourceRange }
  | { kind: 'index'; base: Expr; index: Expr; range: SourceRange }
  | { kind: 'member'; base: Expr; name: string; arrow: boolean; range: SourceRange; nameRange: SourceRange }
  | { kind: 'cast'; type: TypeSpec; arg: Expr; range: SourceRange }
  | { kind: 'sizeof'; type?: TypeSpec; arg?: Expr; range: SourceRange }
  /** container_of / llist_entry / list_entry (ptr to member → ptr to struct); list_first_entry reads head->next first */
  | { kind: 'container_of'; macro: string; ptr: Expr; type: TypeSpec; member: string; range: SourceRange };

export interface InitList {
  kind: 'init_list';
  items: InitItem[];
  range: SourceRange;
}

export interface InitItem {
  field?: string;
  index?: Expr;
  value: Expr | InitList;
  range: SourceRange;
}

export type Initializer = Expr | InitList;

export interface VarDecl {
  name: string;
  type: TypeSpec;
  init?: Initializer;
  isStatic: boolean;
  range: SourceRange;
  nameRange: SourceRange;
}

export type Stmt =
  | { kind: 'block'; body: Stmt[]; range: SourceRange; closeRange: SourceRange }
  | { kind: 'expr'; expr: Expr; range: SourceRange }
  | { kind: 'decl'; decls: VarDecl[]; range: SourceRange }
  | { kind: 'if'; test: Expr; then: Stmt; else?: Stmt; range: SourceRange }
  | { kind: 'while'; test: Expr; body: Stmt; range: SourceRange }
  | { kind: 'do'; body: Stmt; test: Expr; range: SourceRange; testRange: SourceRange }
  | { kind: 'for'; init?: Stmt; test?: Expr; update?: Expr; body: Stmt; range: SourceRange }
  | { kind: 'switch'; test: Expr; body: Stmt; range: SourceRange }
  | { kind: 'case'; value: Expr; range: SourceRange }
  | { kind: 'default'; range: SourceRange }
  | { kind: 'break'; range: SourceRange }
  | { kind: 'continue'; range: SourceRange }
  | { kind: 'return'; value?: Expr; range: SourceRange }
  | { kind: 'empty'; range: SourceRange }
  /** for_each_cpu(cpu, mask), for_each_online_cpu(cpu), for_each_possible_cpu(cpu) */
  | { kind: 'for_each_cpu'; macro: string; cpu: Expr; mask?: Expr; body: Stmt; range: SourceRange }
  /** llist_for_each_entry[_safe](pos, [n,] node, member), list_for_each_entry(pos, head, member) */
  | { kind: 'list_for_each'; macro: string; pos: Expr; next?: Expr; head: Expr; member: string; body: Stmt; range: SourceRange };

export interface FunctionDecl {
  kind: 'function';
  name: string;
  type: Extract<TypeSpec, { kind: 'func' }>;
  body?: Extract<Stmt, { kind: 'block' }>;
  isStatic: boolean;
  /** the comment just above the definition: what it models */
  doc?: string;
  range: SourceRange;
  nameRange: SourceRange;
}

export type TopLevel =
  | FunctionDecl
  | ({ kind: 'global'; perCpu: boolean } & VarDecl)
  | { kind: 'typedef'; name: string; type: TypeSpec; range: SourceRange }
  /** a struct or enum definition on its own: `struct x { ... };` */
  | { kind: 'type'; type: TypeSpec; range: SourceRange }
  | { kind: 'define'; name: string; value: Expr; range: SourceRange; nameRange: SourceRange }
  | { kind: 'initcall'; level: string; fn: string; range: SourceRange; fnRange: SourceRange };

export interface SourceFile {
  file: string;
  items: TopLevel[];
}

/** Calls `visit` on every expression inside `e`, outer first. */
export function walkExpr(e: Expr | InitList, visit: (e: Expr) => void): void {
  if (e.kind === 'init_list') {
    for (const item of e.items) walkExpr(item.value, visit);
    return;
  }
  visit(e);
  switch (e.kind) {
    case 'unary': return walkExpr(e.arg, visit);
    case 'binary': walkExpr(e.left, visit); return walkExpr(e.right, visit);
    case 'assign': walkExpr(e.target, visit); return walkExpr(e.value, visit);
    case 'cond': walkExpr(e.test, visit); walkExpr(e.then, visit); return walkExpr(e.else, visit);
    case 'call': walkExpr(e.callee, visit); for (const a of e.args) walkExpr(a, visit); return;
    case 'index': walkExpr(e.base, visit); return walkExpr(e.index, visit);
    case 'member': return walkExpr(e.base, visit);
    case 'cast': return walkExpr(e.arg, visit);
    case 'sizeof': return;
    case 'container_of': return walkExpr(e.ptr, visit);
  }
}
