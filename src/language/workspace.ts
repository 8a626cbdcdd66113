/**
 * The language server's view of files: open documents override what is on
 * disk, and analyses of KC sources are cached per (folder + patches + text
 * versions) so that typing does not recompile the model on every keystroke.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Diagnostic, SourceRange } from '../kc/diagnostics.js';
import { modelFilePaths, readSourceFile } from '../scenario/files.js';
import { LoadedModel, builtinCatalog, loadModel, resolveModelDir, resolvePatch } from '../scenario/model.js';
import { Scenario, parseScenario } from '../scenario/scenario.js';
import { KcAnalysis } from './kcIndex.js';

/** Where documents without a file on disk (untitled:) pretend to live. */
const VIRTUAL_ROOT = join('/', '__smplab_virtual__');

export function uriToPath(uri: string): string {
  if (uri.startsWith('file:')) {
    try {
      return fileURLToPath(uri);
    } catch {
      // fall through to a virtual path
    }
  }
  const name = uri.replace(/^.*[\\/:]/, '') || 'untitled';
  return join(VIRTUAL_ROOT, encodeURIComponent(uri), name);
}

export interface OpenText {
  uri: string;
  text: string;
  version: number;
}

export interface DocumentSource {
  /** the open document at this path, if any */
  get(path: string): OpenText | undefined;
  /** paths of every open document */
  paths(): string[];
}

/** FNV-1a over the text: open documents are keyed by content, not by version numbers that restart on reopen. */
export function textHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36) + ':' + text.length;
}

function fileStamp(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return 'missing';
  }
}

const NOWHERE: SourceRange = { file: '', start: { line: 1, col: 1 }, end: { line: 1, col: 1 } };

/** A scenario's model as the server sees it: the patched analysis (what runs) and the folder on disk (where definitions are). */
export interface ScenarioModel {
  scenario: Scenario;
  dir: string;
  /** the model with the scenario's patches applied (disk contents, as prepareScenario loads it) */
  patched: KcAnalysis;
  /** the model folder as the editor shows it (open documents override disk) */
  folder: KcAnalysis;
  loaded?: LoadedModel;
  patches: { name: string; path: string }[];
}

export class Workspace {
  private readonly cache = new Map<string, KcAnalysis>();
  private readonly loadedModels = new Map<string, LoadedModel | undefined>();

  constructor(readonly docs: DocumentSource, private readonly maxEntries = 16) {}

  uriFor(path: string): string {
    return this.docs.get(path)?.uri ?? pathToFileURL(path).href;
  }

  /** The current text of a file: the open document, or the file on disk if it is a regular file that is not too large. */
  read(path: string): string | undefined {
    const open = this.docs.get(path);
    if (open) return open.text;
    const text = readSourceFile(path);
    return typeof text === 'string' ? text : undefined;
  }

  /** The .kc files of a folder: those on disk (as a scenario's model folder lists them) plus open documents in it, sorted by path. */
  kcFiles(dir: string): string[] {
    const set = new Set<string>();
    try {
      if (existsSync(dir) && statSync(dir).isDirectory()) {
        for (const path of modelFilePaths(dir).paths) set.add(path);
      }
    } catch {
      // unreadable folder: only open documents
    }
    for (const p of this.docs.paths()) if (p.endsWith('.kc') && dirname(p) === dir) set.add(p);
    return [...set].sort();
  }

  /** Folders beside a scenario that hold .kc files: models of the user's own. */
  modelFolders(dir: string): string[] {
    try {
      return readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules')
        .filter((e) => {
          try {
            return readdirSync(join(dir, e.name)).some((f) => f.endsWith('.kc'));
          } catch {
            return false;
          }
        })
        .map((e) => e.name)
        .sort();
    } catch {
      return [];
    }
  }

  private remember(key: string, make: () => KcAnalysis): KcAnalysis {
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const a = make();
    this.cache.set(key, a);
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    return a;
  }

  /** Every .kc file of a folder (open documents override disk contents), as one program. */
  folder(dir: string, nrCpus = 4): KcAnalysis {
    const files = this.kcFiles(dir);
    const parts = files.map((p) => {
      const open = this.docs.get(p);
      return `${p}=${open ? 'o' + textHash(open.text) : 'd' + fileStamp(p)}`;
    });
    const key = `folder\0${dir}\0${nrCpus}\0${parts.join('\0')}`;
    return this.remember(key, () => {
      const sources = files.map((file) => ({ file, text: this.read(file) ?? '' }));
      return new KcAnalysis(key, sources, nrCpus);
    });
  }

  /** A model folder with patches applied, read from disk as `prepareScenario` does. */
  patchedModel(dir: string, patches: { name: string; path: string }[], nrCpus = 4): { analysis: KcAnalysis; loaded?: LoadedModel } {
    if (!patches.length) return { analysis: this.folder(dir, nrCpus) };
    const files = this.kcFiles(dir).filter((p) => existsSync(p));
    const key = `model\0${dir}\0${nrCpus}\0${files.map((p) => `${p}=${fileStamp(p)}`).join('\0')}\0${patches.map((p) => `${p.path}=${fileStamp(p.path)}`).join('\0')}`;
    let loaded = this.loadedModels.get(key);
    const analysis = this.remember(key, () => {
      const diags: Diagnostic[] = [];
      loaded = loadModel(dir, patches.map((p) => ({ ...p, at: NOWHERE })), NOWHERE, diags);
      this.loadedModels.set(key, loaded);
      if (this.loadedModels.size > this.maxEntries) this.loadedModels.delete(this.loadedModels.keys().next().value!);
      const sources = loaded ? loaded.files.map((f) => ({ file: f.path, text: f.text })) : [];
      return new KcAnalysis(key, sources, nrCpus);
    });
    return { analysis, loaded: loaded ?? this.loadedModels.get(key) };
  }

  /** The model a scenario names (or the first built-in model when it names none), with its patches. */
  scenarioModel(path: string, text: string): ScenarioModel | undefined {
    const { scenario } = parseScenario(path, text);
    const base = dirname(path);
    const name = scenario.kernel?.name ?? builtinCatalog().models[0];
    if (!name) return undefined;
    const dir = resolveModelDir(name, base);
    const patches: { name: string; path: string }[] = [];
    for (const p of scenario.patches) {
      const file = resolvePatch(p.name, base);
      if (file) patches.push({ name: p.name, path: file });
    }
    const { analysis, loaded } = this.patchedModel(dir, patches);
    const folder = patches.length ? this.folder(dir) : analysis;
    return { scenario, dir, patched: analysis, folder, loaded, patches };
  }
}
