import { SourceRange } from './diagnostics.js';

/**
 * What compiled KC code needs from the machine that runs it. The machine
 * implements this; the language knows nothing else about it.
 */
export interface Runtime {
  readonly mem: Int32Array;
  /** frame pointer of the frame being executed */
  fp: number;
  /** the CPU taking the current step */
  cpu: number;
  load(addr: number): number;
  store(addr: number, value: number): void;
  /**
   * Enter function `fnValue` (a function value) with a new frame at newFp. The
   * caller resumes after its call step; the return value is stored at
   * retDest (0 to discard).
   */
  enter(fnValue: number, newFp: number, args: readonly number[], retDest: number, site: CallSite): void;
  /** Return from the current frame with a value. */
  leave(value: number): void;
  /** Stop the machine with a message at the current CPU and line. */
  fault(message: string): never;
}

/** Cells at the start of every frame, before the parameters and locals. */
export const FRAME_HEADER = 5;
export const FRAME_FUNC = 0;
export const FRAME_PC = 1;
export const FRAME_SAVED_FP = 2;
export const FRAME_RET_DEST = 3;
export const FRAME_KIND = 4;

/** Where in the model a built-in is called from: for WARN locations, printk and callsites. */
export interface CallSite {
  range: SourceRange;
  /** the model function containing the call */
  functionName: string;
  /** a hidden cell for WARN_ON_ONCE / WARN_ONCE (0 when unused) */
  onceAddr: number;
  /** the format string, for printk-like built-ins */
  format?: string;
}

export type BuiltinType = 'void' | 'int' | 'bool' | 'void *' | `struct ${string} *` | `${string} *`;

/** How a built-in takes each argument: by value, or by address (macros like local_irq_save(flags)). */
export type BuiltinParam = 'value' | 'address';

export interface BuiltinFunction {
  params: BuiltinParam[];
  returns: BuiltinType;
  /** The first argument is a format string and the rest are its values (printk, WARN). */
  format?: 'printk' | 'warn';
  /** May wait (a lock, a completion): must be called as a whole statement; returns 0 when it has to wait. */
  blocking?: boolean;
  /** `impl(rt, site, ...args)`; for format built-ins `impl(rt, site, values[])`. */
  impl: (rt: Runtime, site: CallSite, ...args: any[]) => number;
}

/** A value the machine provides under a name (`cpu_online_mask`, `nr_cpu_ids`, `current`). */
export interface BuiltinGlobal {
  /** C type of the value */
  type: string;
  /** a cell the compiler allocates and the machine fills, or a value the machine computes */
  kind: 'storage' | 'computed';
  /** for computed values */
  read?: (rt: Runtime) => number;
  /** for storage: how many cells */
  size?: number;
}

export interface Builtins {
  functions: Record<string, BuiltinFunction>;
  globals: Record<string, BuiltinGlobal>;
  /** struct definitions the machine relies on, in KC syntax */
  prelude: string;
}
