/** Resolved KC types. Every scalar occupies one 32-bit memory cell; sizes are in cells. */
export type Type =
  | { k: 'void' }
  | { k: 'int'; name: string }
  | { k: 'ptr'; to: Type }
  | StructType
  | { k: 'array'; of: Type; len: number }
  | FuncType
  /** a machine object the model may point to but not look inside (struct task_struct) */
  | { k: 'opaque'; name: string };

export interface Field {
  name: string;
  type: Type;
  offset: number;
}

export interface StructType {
  k: 'struct';
  name: string;
  fields: Field[];
  byName: Map<string, Field>;
  size: number;
  complete: boolean;
}

export interface FuncType {
  k: 'func';
  ret: Type;
  params: Type[];
}

export const VOID: Type = { k: 'void' };
export const INT: Type = { k: 'int', name: 'int' };
export const BOOL: Type = { k: 'int', name: 'bool' };
export const VOID_PTR: Type = { k: 'ptr', to: VOID };

export function sizeOf(t: Type): number {
  switch (t.k) {
    case 'void': return 1;
    case 'int':
    case 'ptr':
    case 'func':
    case 'opaque': return 1;
    case 'struct': return t.size;
    case 'array': return t.len * sizeOf(t.of);
  }
}

export function isScalar(t: Type): boolean {
  return t.k === 'int' || t.k === 'ptr' || t.k === 'func';
}

/** What a pointer or array points to. */
export function pointee(t: Type): Type | undefined {
  if (t.k === 'ptr') return t.to;
  if (t.k === 'array') return t.of;
  return undefined;
}

export function typeName(t: Type): string {
  switch (t.k) {
    case 'void': return 'void';
    case 'int': return t.name;
    case 'ptr': return t.to.k === 'func' ? funcPointerName(t.to) : `${typeName(t.to)} *`;
    case 'struct': return `struct ${t.name}`;
    case 'array': return `${typeName(t.of)}[${t.len}]`;
    case 'func': return `${typeName(t.ret)} (${t.params.map(typeName).join(', ')})`;
    case 'opaque': return `struct ${t.name}`;
  }
}

function funcPointerName(f: FuncType): string {
  return `${typeName(f.ret)} (*)(${f.params.map(typeName).join(', ') || 'void'})`;
}

/**
 * Values of functions and strings share the 32-bit cell with addresses. Memory
 * addresses stay far below these tags, so a value says what it is.
 */
export const FUNCTION_TAG = 0x40000000;
export const STRING_TAG = 0x50000000;
export const TAG_MASK = 0x70000000;

export function functionValue(id: number): number {
  return FUNCTION_TAG | id;
}

export function stringValue(id: number): number {
  return STRING_TAG | id;
}

export function isFunctionValue(v: number): boolean {
  return (v & TAG_MASK) === FUNCTION_TAG;
}

export function isStringValue(v: number): boolean {
  return (v & TAG_MASK) === STRING_TAG;
}
