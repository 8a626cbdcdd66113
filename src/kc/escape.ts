import { Expr, FunctionDecl, Initializer, Stmt } from './ast.js';
import { CompiledFunction } from './program.js';
import { sizeOf } from './types.js';

/**
 * Which cells of a function's frame no other CPU can ever reach: its
 * parameters, locals and temporaries whose address is never taken. An
 * on-stack csd or multi_stop_data is reached through `&` and so is shared;
 * a loop counter is not. Arrays decay to pointers, so they always count as
 * reachable. The frame header is the machine's and is not covered here.
 */
export function privateFrameCells(fn: CompiledFunction): Uint8Array {
  const cells = new Uint8Array(fn.frameSize);
  const escaping = addressTakenNames(fn.decl);
  for (const v of fn.locals) {
    if (escaping.has(v.name) || v.type.k === 'array') continue;
    cells.fill(1, v.offset, v.offset + sizeOf(v.type));
  }
  return cells;
}

/** Names of variables whose address is taken somewhere in the function (`&x`, `&x.f`, `&x[i]`). */
function addressTakenNames(decl: FunctionDecl): Set<string> {
  const names = new Set<string>();
  const visit = (e: Expr): void => {
    if (e.kind === 'unary' && e.op === '&') {
      const root = addressedVariable(e.arg);
      if (root) names.add(root);
    }
  };
  if (decl.body) walkStmt(decl.body, visit);
  return names;
}

/** The variable whose own storage `e` names, if any: x, x.f, x[i], (T)x; not p->f or *p. */
function addressedVariable(e: Expr): string | undefined {
  switch (e.kind) {
    case 'ident': return e.name;
    case 'member': return e.arrow ? undefined : addressedVariable(e.base);
    case 'index': return addressedVariable(e.base);
    case 'cast': return addressedVariable(e.arg);
    default: return undefined;
  }
}

function walkStmt(s: Stmt, visit: (e: Expr) => void): void {
  const stack: Stmt[] = [s];
  while (stack.length) {
    const t = stack.pop()!;
    switch (t.kind) {
      case 'block': stack.push(...t.body); break;
      case 'expr': walkExpr(t.expr, visit); break;
      case 'decl': for (const d of t.decls) if (d.init) walkExpr(d.init, visit); break;
      case 'if': walkExpr(t.test, visit); stack.push(t.then); if (t.else) stack.push(t.else); break;
      case 'while': walkExpr(t.test, visit); stack.push(t.body); break;
      case 'do': walkExpr(t.test, visit); stack.push(t.body); break;
      case 'for':
        if (t.init) stack.push(t.init);
        if (t.test) walkExpr(t.test, visit);
        if (t.update) walkExpr(t.update, visit);
        stack.push(t.body);
        break;
      case 'switch': walkExpr(t.test, visit); stack.push(t.body); break;
      case 'case': walkExpr(t.value, visit); break;
      case 'return': if (t.value) walkExpr(t.value, visit); break;
      case 'for_each_cpu': walkExpr(t.cpu, visit); if (t.mask) walkExpr(t.mask, visit); stack.push(t.body); break;
      case 'list_for_each':
        walkExpr(t.pos, visit);
        if (t.next) walkExpr(t.next, visit);
        walkExpr(t.head, visit);
        stack.push(t.body);
        break;
      default: break;
    }
  }
}

function walkExpr(root: Initializer, visit: (e: Expr) => void): void {
  const stack: Initializer[] = [root];
  while (stack.length) {
    const e = stack.pop()!;
    if (e.kind === 'init_list') {
      for (const item of e.items) stack.push(item.value);
      continue;
    }
    visit(e);
    switch (e.kind) {
      case 'unary': stack.push(e.arg); break;
      case 'binary': stack.push(e.left, e.right); break;
      case 'assign': stack.push(e.target, e.value); break;
      case 'cond': stack.push(e.test, e.then, e.else); break;
      case 'call': stack.push(e.callee, ...e.args); break;
      case 'index': stack.push(e.base, e.index); break;
      case 'member': stack.push(e.base); break;
      case 'cast': stack.push(e.arg); break;
      case 'container_of': stack.push(e.ptr); break;
      default: break;
    }
  }
}
