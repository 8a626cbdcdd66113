import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { StructuredPatch, applyPatch, parsePatch } from 'diff';
import { Diagnostic, SourceRange } from '../kc/diagnostics.js';
import { KcSource } from '../kc/compiler.js';
import { modelFilePaths, readSourceFile } from './files.js';

/** A kernel model file as the machine runs it: after the scenario's patches. */
export interface ModelFile {
  /** absolute path of the file in the model folder */
  path: string;
  /** text as shipped */
  original: string;
  /** text with the patches applied (same as original when none touch it) */
  text: string;
  /** names of the patches that changed it, in order */
  patches: string[];
  /** each applied patch's hunks, in order, for mapping lines between original and patched text */
  changes: { patch: string; hunks: StructuredPatch['hunks'] }[];
}

export interface LoadedModel {
  dir: string;
  files: ModelFile[];
  patches: { name: string; path: string }[];
}

/** The folder that ships with SMP Lab: models/ beside package.json. */
export function builtinModelsDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'models', 'linux-3.15'))) return join(dir, 'models');
    dir = dirname(dir);
  }
  return join(__dirname, '..', '..', 'models');
}

/** Names of the built-in models and patches, for completion and help. */
export function builtinCatalog(): { models: string[]; patches: string[] } {
  const root = builtinModelsDir();
  const models = existsSync(root) ? readdirSync(root).filter((d) => d !== 'patches' && statSync(join(root, d)).isDirectory()) : [];
  const patches: string[] = [];
  const pdir = join(root, 'patches');
  if (existsSync(pdir)) {
    for (const series of readdirSync(pdir)) {
      if (!statSync(join(pdir, series)).isDirectory()) continue;
      for (const f of readdirSync(join(pdir, series)).filter((f) => f.endsWith('.patch')).sort()) {
        patches.push(`${series}/${f.replace(/\.patch$/, '')}`);
      }
    }
  }
  return { models, patches };
}

/** A model named `linux-3.15` is built in; a name starting with `.` or holding a slash is a folder relative to the scenario. */
export function resolveModelDir(name: string, scenarioDir: string): string {
  if (/^[.~]/.test(name) || /[\\/]/.test(name)) return resolve(scenarioDir, name);
  return join(builtinModelsDir(), name);
}

/**
 * `ipi-offline-v6/0001` names the built-in patch whose file starts with
 * `0001-`; a path ending in .patch is relative to the scenario.
 */
export function resolvePatch(name: string, scenarioDir: string): string | undefined {
  if (name.endsWith('.patch')) {
    const p = resolve(scenarioDir, name);
    return existsSync(p) ? p : undefined;
  }
  const [series, prefix] = name.split('/');
  if (!series || !prefix) return undefined;
  const dir = join(builtinModelsDir(), 'patches', series);
  if (!existsSync(dir)) return undefined;
  const match = readdirSync(dir).filter((f) => f.endsWith('.patch') && (f === `${prefix}.patch` || f.startsWith(`${prefix}-`))).sort();
  return match.length ? join(dir, match[0]) : undefined;
}

/** A patch to apply: where its problems are reported (a scenario line, or the option that named it). */
export interface PatchToApply {
  name: string;
  path: string;
  at: SourceRange;
  option?: string;
}

/**
 * Reads a model folder and applies patches in order. Problems are diagnostics
 * at `modelAt` (the scenario's kernel line) or at each patch's place; files of
 * the folder that are not read are warnings there.
 */
export function loadModel(dir: string, patches: PatchToApply[], modelAt: SourceRange, diagnostics: Diagnostic[]): LoadedModel | undefined {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    diagnostics.push({ range: modelAt, severity: 'error', message: `no kernel model at ${dir}` });
    return undefined;
  }
  const listed = modelFilePaths(dir);
  const skipped = listed.skipped;
  const files: ModelFile[] = [];
  for (const path of listed.paths) {
    const text = readSourceFile(path);
    if (typeof text === 'string') files.push({ path, original: text, text, patches: [], changes: [] });
    else skipped.push(`${basename(path)}: ${text.problem}`);
  }
  for (const why of skipped.sort()) diagnostics.push({ range: modelAt, severity: 'warning', message: `skipped ${why}` });
  if (!files.length) {
    diagnostics.push({ range: modelAt, severity: 'error', message: `${dir} has no .kc files that can be read` });
    return undefined;
  }
  const applied: string[] = [];
  for (const p of patches) {
    applyOnePatch(p, files, patches, applied, diagnostics);
    applied.push(p.path);
  }
  return { dir, files, patches: patches.map(({ name, path }) => ({ name, path })) };
}

function applyOnePatch(p: PatchToApply, files: ModelFile[], all: PatchToApply[], applied: string[], diagnostics: Diagnostic[]): void {
  const fail = (message: string) => diagnostics.push({ range: p.at, option: p.option, severity: 'error', message: `${p.option ? '' : 'patch '}${p.name}: ${message}` });
  const read = readSourceFile(p.path);
  if (typeof read !== 'string') {
    fail(`cannot read it: ${read.problem}`);
    return;
  }
  let parsed: StructuredPatch[];
  try {
    // a mailed patch ends with a "-- " signature, which is not part of the diff
    parsed = parsePatch(read.replace(/^-- \n[\s\S]*$/m, ''));
  } catch (e) {
    fail(`cannot read it as a unified diff: ${(e as Error).message}`);
    return;
  }
  const diffs = parsed.filter((d) => d.hunks.length);
  if (!diffs.length) fail('it contains no changes');
  for (const d of diffs) {
    const target = stripPrefix(d.newFileName ?? d.oldFileName ?? '');
    const file = files.find((f) => basename(f.path) === target);
    if (!file) {
      fail(`it changes ${target}, which the model does not have`);
      continue;
    }
    let text = file.text;
    for (let i = 0; i < d.hunks.length; i++) {
      const hunk = d.hunks[i];
      const out = applyPatch(text, { ...d, hunks: [hunk] });
      if (out === false) {
        const base = writtenAgainst(p, hunk, text, all, applied);
        fail(`hunk ${i + 1} of ${d.hunks.length} (@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@) does not apply to ${target}${base ? `: ${base}` : ''}`);
        return;
      }
      text = out;
    }
    file.text = text;
    file.patches.push(p.name);
    file.changes.push({ patch: p.name, hunks: d.hunks });
  }
}

/**
 * Why a hunk that does not apply may be written against another patch: a
 * patch in the same folder adds lines the hunk expects and the file lacks.
 */
function writtenAgainst(p: PatchToApply, hunk: StructuredPatch['hunks'][number], text: string, all: PatchToApply[], applied: string[]): string | undefined {
  const present = new Set(text.split('\n').map((l) => l.trimEnd()));
  // lines the hunk expects to find, distinctive enough to tell one patch from another
  const missing = hunk.lines
    .filter((l) => (l[0] === ' ' || l[0] === '-') && /[A-Za-z0-9].*[A-Za-z0-9]/.test(l.slice(1).trim()) && l.slice(1).trim().length >= 8)
    .map((l) => l.slice(1).trimEnd())
    .filter((l) => !present.has(l));
  if (!missing.length) return undefined;
  const dir = dirname(p.path);
  const siblings = readdirSync(dir).filter((f) => f.endsWith('.patch') && join(dir, f) !== p.path).sort();
  for (const f of siblings) {
    const path = join(dir, f);
    const other = readSourceFile(path);
    if (typeof other !== 'string') continue;
    const added = new Set(other.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).map((l) => l.slice(1).trimEnd()));
    if (!missing.some((l) => added.has(l))) continue;
    const name = siblingName(p.name, f);
    if (applied.includes(path)) return undefined;
    if (all.some((q) => q.path === path)) return `it is written against ${name}, which must come before it`;
    return `it is written against ${name}: apply ${name} first`;
  }
  return undefined;
}

/** How a patch beside `name` is named in the same style: `ipi-offline-v6/0001`, or a path. */
function siblingName(name: string, file: string): string {
  if (name.endsWith('.patch')) return join(dirname(name), file);
  return `${name.split('/')[0]}/${file.replace(/-.*$/, '').replace(/\.patch$/, '')}`;
}

function stripPrefix(name: string): string {
  return name.replace(/^[ab]\//, '').split(/[\\/]/).pop() ?? name;
}

export function modelSources(model: LoadedModel): KcSource[] {
  return model.files.map((f) => ({ file: f.path, text: f.text }));
}

/**
 * Where a line of the shipped file ended up in the patched text, or why it has
 * no place there (a patch removed or rewrote it).
 */
export function patchedLine(file: ModelFile, line: number): { line: number } | { removedBy: string } {
  let current = line;
  for (const change of file.changes) {
    let delta = 0;
    let mapped: number | undefined;
    for (const h of change.hunks) {
      if (current < h.oldStart) break;
      if (current >= h.oldStart + h.oldLines) {
        delta += h.newLines - h.oldLines;
        continue;
      }
      let oldLine = h.oldStart;
      let newLine = h.newStart;
      for (const l of h.lines) {
        const tag = l[0];
        if (tag === '\\') continue;
        if (tag === ' ' || tag === '-') {
          if (oldLine === current) {
            if (tag === '-') return { removedBy: change.patch };
            mapped = newLine;
            break;
          }
          oldLine++;
          if (tag === ' ') newLine++;
        } else if (tag === '+') newLine++;
      }
      break;
    }
    current = mapped ?? current + delta;
  }
  return { line: current };
}
