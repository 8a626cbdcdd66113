/**
 * Short descriptions of the machine's built-ins (the arch layer), for hover and
 * completion. Argument names and notes come from the built-ins table of
 * docs/kc.md when it is there; the table in src/machine/builtins.ts is the
 * authority on what exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BuiltinFunction } from '../kc/runtime.js';
import { builtins } from './kcIndex.js';

export interface BuiltinDoc {
  name: string;
  /** `llist_add(n, h)` */
  signature: string;
  /** the group in docs/kc.md: "lock-less lists" */
  group?: string;
  note?: string;
  kind: 'function' | 'global';
}

let table: Map<string, { signature?: string; group: string; note?: string }> | undefined;

function docsTable(): Map<string, { signature?: string; group: string; note?: string }> {
  if (table) return table;
  table = new Map();
  try {
    let dir = __dirname;
    let file: string | undefined;
    for (let i = 0; i < 6 && !file; i++) {
      const f = join(dir, 'docs', 'kc.md');
      if (existsSync(f)) file = f;
      dir = dirname(dir);
    }
    if (!file) return table;
    const text = readFileSync(file, 'utf8');
    const section = text.slice(text.indexOf('## Built-ins'));
    for (const line of section.split('\n')) {
      const cells = /^\|\s*([^|]+?)\s*\|\s*(.+?)\s*\|\s*$/.exec(line);
      if (!cells || cells[1] === 'group' || /^-+$/.test(cells[1])) continue;
      const group = cells[1];
      const body = cells[2];
      const re = /`([A-Za-z_]\w*)(\([^`]*\))?`/g;
      let m: RegExpExecArray | null;
      while ((m = re.exec(body))) {
        if (table.has(m[1])) continue;
        const rest = body.slice(re.lastIndex);
        const note = /^\s*(?:—\s*([^|;]+?)|\(([^)]*(?:\([^)]*\)[^)]*)*)\))\s*(?:[,;|]|$)/.exec(rest);
        table.set(m[1], { signature: m[2] ? m[1] + m[2] : undefined, group, note: note ? (note[1] ?? note[2])?.replace(/`/g, '') : undefined });
      }
    }
  } catch {
    // the docs are a nicety: without them, hovers say less
  }
  return table;
}

function fallbackSignature(name: string, f: BuiltinFunction): string {
  if (f.format) return `${name}(${f.format === 'warn' ? 'condition, ' : ''}fmt, ...)`;
  const names = 'abcdefgh';
  return `${name}(${f.params.map((p, i) => (p === 'address' ? names[i] + ' (an lvalue)' : names[i])).join(', ')})`;
}

/** The description of a built-in function or value of the machine, if `name` is one. */
export function builtinDoc(name: string): BuiltinDoc | undefined {
  const b = builtins();
  const f = Object.prototype.hasOwnProperty.call(b.functions, name) ? b.functions[name] : undefined;
  const g = Object.prototype.hasOwnProperty.call(b.globals, name) ? b.globals[name] : undefined;
  if (!f && !g) return undefined;
  const d = docsTable().get(name);
  if (f) return { name, kind: 'function', signature: `${f.returns} ${d?.signature ?? fallbackSignature(name, f)}`, group: d?.group, note: d?.note };
  return { name, kind: 'global', signature: `${g!.type} ${name}`, group: d?.group, note: d?.note };
}

/** Every built-in function and value name. */
export function builtinNames(): string[] {
  const b = builtins();
  return [...Object.keys(b.functions), ...Object.keys(b.globals)];
}

/** Markdown for a hover on a built-in. */
export function builtinHover(d: BuiltinDoc): string {
  const lines = ['```c', d.signature, '```', `\`${d.name}\` is a built-in of the arch layer: the SMP Lab machine provides it; it is not written in KC.`];
  if (d.group) lines.push('', `Group: ${d.group}.`);
  if (d.note) lines.push('', d.note);
  return lines.join('\n');
}
