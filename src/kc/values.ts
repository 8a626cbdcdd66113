/** Compiled values: code computing a cell's value, with its type, and constant folding. */
import { Runtime } from './runtime.js';
import { Type } from './types.js';

export type Value = (rt: Runtime) => number;
export interface Compiled {
  type: Type;
  fn: Value;
  /** set when the value is known without running anything */
  constant?: number;
}

export function constant(type: Type, value: number): Compiled {
  return { type, fn: () => value, constant: value };
}

export function toBool(f: Value): Value {
  return (rt) => (f(rt) ? 1 : 0);
}

export function decay(t: Type): Type {
  if (t.k === 'array') return { k: 'ptr', to: t.of };
  if (t.k === 'func') return { k: 'ptr', to: t };
  return t;
}

export function binaryOp(op: string, a: number, b: number): number | undefined {
  switch (op) {
    case '+': return (a + b) | 0;
    case '-': return (a - b) | 0;
    case '*': return Math.imul(a, b);
    case '/': return b === 0 ? undefined : (a / b) | 0;
    case '%': return b === 0 ? undefined : a % b | 0;
    case '<<': return a << b;
    case '>>': return a >> b;
    case '&': return a & b;
    case '|': return a | b;
    case '^': return a ^ b;
    case '&&': return a && b ? 1 : 0;
    case '||': return a || b ? 1 : 0;
    case '==': return a === b ? 1 : 0;
    case '!=': return a !== b ? 1 : 0;
    case '<': return a < b ? 1 : 0;
    case '>': return a > b ? 1 : 0;
    case '<=': return a <= b ? 1 : 0;
    case '>=': return a >= b ? 1 : 0;
  }
  return undefined;
}
