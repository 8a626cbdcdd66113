import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { StructuredPatch, applyPatch, parsePatch } from 'diff';
import { Diagnostic, SourceRange } from '../kc/diagnostics.js';
import { KcSource } from '../kc/compiler.js';

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

/** Reads a model folder and applies patches in order. Problems are diagnostics at `at` (the scenario line). */
export function loadModel(dir: string, patches: { name: string; path: string; at: SourceRange }[], modelAt: SourceRange, diagnostics: Diagnostic[]): LoadedModel | undefined {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    diagnostics.push({ range: modelAt, severity: 'error', message: `no kernel model at ${dir}` });
    return undefined;
  }
  const names = readdirSync(dir).filter((f) => f.endsWith('.kc')).sort();
  if (!names.length) {
    diagnostics.push({ range: modelAt, severity: 'error', message: `${dir} has no .kc files` });
    return undefined;
  }
  const files: ModelFile[] = names.map((n) => {
    const path = join(dir, n);
    const text = readFileSync(path, 'utf8');
    return { path, original: text, text, patches: [], changes: [] };
  });
  for (const p of patches) applyOnePatch(p, files, diagnostics);
  return { dir, files, patches: patches.map(({ name, path }) => ({ name, path })) };
}

function applyOnePatch(p: { name: string; path: string; at: SourceRange }, files: ModelFile[], diagnostics: Diagnostic[]): void {
  const fail = (message: string) => diagnostics.push({ range: p.at, severity: 'error', message: `patch ${p.name}: ${message}` });
  let parsed: StructuredPatch[];
  try {
    // a mailed patch ends with a "-- " signature, which is not part of the diff
    const text = readFileSync(p.path, 'utf8').replace(/^-- \n[\s\S]*$/m, '');
    parsed = parsePatch(text);
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
        fail(`hunk ${i + 1} of ${d.hunks.length} (@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@) does not apply to ${target}`);
        return;
      }
      text = out;
    }
    file.text = text;
    file.patches.push(p.name);
    file.changes.push({ patch: p.name, hunks: d.hunks });
  }
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
