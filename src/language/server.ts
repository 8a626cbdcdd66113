/**
 * The SMP Lab language server: diagnostics, completion, hover, go to
 * definition and document symbols for scenarios (*.smp, language id `smp`)
 * and kernel models (*.kc, language id `kc`). Run with `--stdio`.
 *
 * Diagnostics come from the engine's own checks: `prepareScenario` (the check
 * `smplab check` does) for a scenario, `compileProgram` over every .kc file of
 * the folder for a model file. Nothing a handler throws may take the server
 * down: it is logged and the request answers empty.
 */
import { dirname } from 'node:path';
import {
  CompletionItem, CompletionParams, Diagnostic as LspDiagnostic, DocumentSymbol, Hover, Location, Position, ProposedFeatures,
  TextDocumentSyncKind, TextDocuments, createConnection,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { Diagnostic } from '../kc/diagnostics.js';
import { prepareScenario } from '../scenario/build.js';
import { parseScenario } from '../scenario/scenario.js';
import { toLspDiagnostic, toRange } from './convert.js';
import { kcCompletion, kcDefinition, kcDocumentSymbols, kcHover } from './kcFeatures.js';
import { smpCompletion, smpDefinition, smpDocumentSymbols, smpHover } from './smpFeatures.js';
import { DocumentSource, OpenText, Workspace, uriToPath } from './workspace.js';

const DEBOUNCE_MS = 200;

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

type Lang = 'smp' | 'kc';

function langOf(doc: TextDocument): Lang | undefined {
  if (doc.languageId === 'smp' || doc.languageId === 'kc') return doc.languageId;
  if (/\.smp$/i.test(doc.uri)) return 'smp';
  if (/\.kc$/i.test(doc.uri)) return 'kc';
  return undefined;
}

/** The file path a document stands for; an untitled document gets a virtual one with its language's extension. */
function pathOf(doc: TextDocument): string {
  const path = uriToPath(doc.uri);
  const lang = langOf(doc);
  return lang && !path.toLowerCase().endsWith(`.${lang}`) ? `${path}.${lang}` : path;
}

/** Open documents by file path. */
const byPath = new Map<string, TextDocument>();
const docSource: DocumentSource = {
  get(path: string): OpenText | undefined {
    const d = byPath.get(path);
    return d ? { uri: d.uri, text: d.getText(), version: d.version } : undefined;
  },
  paths: () => [...byPath.keys()],
};
const workspace = new Workspace(docSource);

function log(message: string): void {
  try {
    connection.console.log(message);
  } catch {
    // no connection to log to
  }
}

let checks = 0;
/** The first checks and slow ones go to the log; the rest would only be noise while typing. */
function logTiming(what: string, started: number, result: string): void {
  const ms = Math.round(performance.now() - started);
  if (checks++ < 3 || ms > 250) log(`smplab: ${what} in ${ms} ms (${result})`);
}

function logError(what: string, e: unknown): void {
  const err = e as Error;
  try {
    connection.console.error(`smplab: ${what} failed: ${err?.stack ?? String(e)}`);
  } catch {
    // nothing more to do
  }
}

/** Runs a handler; an exception is logged and becomes `fallback`. */
function guard<T>(what: string, fallback: T, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    logError(what, e);
    return fallback;
  }
}

// ---- diagnostics

const timers = new Map<string, NodeJS.Timeout>();
/** URIs that carry diagnostics from each .kc folder check, to clear the ones that got fixed */
const kcPublished = new Map<string, Set<string>>();

function schedule(key: string, delay: number, run: () => void): void {
  const old = timers.get(key);
  if (old) clearTimeout(old);
  timers.set(key, setTimeout(() => {
    timers.delete(key);
    guard(`check of ${key}`, undefined, run);
  }, delay));
}

function scheduleCheck(doc: TextDocument, delay: number): void {
  const lang = langOf(doc);
  if (lang === 'smp') schedule(`smp:${doc.uri}`, delay, () => checkScenario(doc.uri));
  else if (lang === 'kc') {
    const dir = dirname(pathOf(doc));
    schedule(`kc:${dir}`, delay, () => checkKcFolder(dir));
  }
}

function checkScenario(uri: string): void {
  const doc = documents.get(uri);
  if (!doc) return;
  const path = pathOf(doc);
  const text = doc.getText();
  const started = performance.now();
  const { diagnostics } = prepareScenario(path, text);
  const mine: LspDiagnostic[] = [];
  const foreign: Diagnostic[] = [];
  for (const d of diagnostics) (d.range.file === path ? mine.push(toLspDiagnostic(d)) : foreign.push(d));
  // a problem in the model's own files (a user's model) would otherwise be invisible here: show it on the kernel line
  if (foreign.length) {
    const kernel = parseScenario(path, text).scenario.kernel;
    const at = kernel ? toRange(kernel.range) : { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    for (const d of foreign) {
      mine.push({
        ...toLspDiagnostic(d), range: at,
        message: `in the model: ${d.range.file.replace(/^.*[\\/]/, '')}:${d.range.start.line}:${d.range.start.col}: ${d.message}`,
        relatedInformation: d.range.file.startsWith('<') ? undefined : [{ location: { uri: workspace.uriFor(d.range.file), range: toRange(d.range) }, message: d.message }],
      });
    }
  }
  connection.sendDiagnostics({ uri, version: doc.version, diagnostics: mine });
  logTiming(`checked ${path}`, started, `${mine.length} problems`);
  // warm the model cache so that the first completion or hover is quick
  setTimeout(() => guard('model warm-up', undefined, () => {
    const d = documents.get(uri);
    if (d) workspace.scenarioModel(path, d.getText());
  }), 0);
}

function checkKcFolder(dir: string): void {
  const started = performance.now();
  const a = workspace.folder(dir);
  const { diagnostics } = a.compile();
  const perFile = new Map<string, LspDiagnostic[]>();
  for (const path of a.files.keys()) perFile.set(path, []);
  for (const d of diagnostics) perFile.get(d.range.file)?.push(toLspDiagnostic(d));
  const old = kcPublished.get(dir) ?? new Set<string>();
  const now = new Set<string>();
  for (const [path, list] of perFile) {
    const uri = workspace.uriFor(path);
    const doc = documents.get(uri);
    // open documents always hear the result; other files only when they have (or had) problems
    if (!list.length && !old.has(uri) && !doc) continue;
    connection.sendDiagnostics({ uri, version: doc?.version, diagnostics: list });
    if (list.length) now.add(uri);
  }
  for (const uri of old) if (!now.has(uri) && ![...perFile.keys()].some((p) => workspace.uriFor(p) === uri)) connection.sendDiagnostics({ uri, diagnostics: [] });
  kcPublished.set(dir, now);
  logTiming(`checked ${a.files.size} .kc files in ${dir}`, started, `${diagnostics.length} problems`);
}

/** Opening fires both onDidOpen and onDidChangeContent; the first check should not wait for the debounce. */
const justOpened = new Map<string, number>();

documents.onDidOpen((e) => guard('open', undefined, () => {
  if (!langOf(e.document)) return;
  byPath.set(pathOf(e.document), e.document);
  justOpened.set(e.document.uri, e.document.version);
  scheduleCheck(e.document, 0);
}));

documents.onDidChangeContent((e) => guard('change', undefined, () => {
  if (!langOf(e.document)) return;
  byPath.set(pathOf(e.document), e.document);
  if (justOpened.get(e.document.uri) === e.document.version) return;
  justOpened.delete(e.document.uri);
  scheduleCheck(e.document, DEBOUNCE_MS);
}));

documents.onDidSave((e) => guard('save', undefined, () => {
  // a saved model file changes what scenarios check against
  if (langOf(e.document) !== 'kc') return;
  for (const d of documents.all()) if (langOf(d) === 'smp') scheduleCheck(d, DEBOUNCE_MS);
}));

documents.onDidClose((e) => guard('close', undefined, () => {
  const lang = langOf(e.document);
  const path = pathOf(e.document);
  byPath.delete(path);
  justOpened.delete(e.document.uri);
  if (lang === 'smp') {
    const t = timers.get(`smp:${e.document.uri}`);
    if (t) clearTimeout(t);
    timers.delete(`smp:${e.document.uri}`);
    connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  } else if (lang === 'kc') {
    const dir = dirname(path);
    const stillOpen = [...byPath.keys()].some((p) => p.endsWith('.kc') && dirname(p) === dir);
    if (stillOpen) schedule(`kc:${dir}`, DEBOUNCE_MS, () => checkKcFolder(dir));
    else {
      const t = timers.get(`kc:${dir}`);
      if (t) clearTimeout(t);
      timers.delete(`kc:${dir}`);
      for (const uri of kcPublished.get(dir) ?? []) connection.sendDiagnostics({ uri, diagnostics: [] });
      kcPublished.delete(dir);
    }
  }
}));

// ---- requests

connection.onInitialize(() => ({
  capabilities: {
    textDocumentSync: TextDocumentSyncKind.Incremental,
    completionProvider: { triggerCharacters: [' ', '.', '>', ':', '(', '&'], resolveProvider: false },
    hoverProvider: true,
    definitionProvider: true,
    documentSymbolProvider: true,
  },
  serverInfo: { name: 'smplab-language-server', version: '0.1.0' },
}));

/** What a request names: an open document of ours and a position in it. */
interface RequestParams {
  textDocument?: { uri?: unknown };
  position?: { line?: unknown; character?: unknown };
}

/**
 * Runs a request on the document it names, with its position moved inside the
 * document: a client may send any line and character (a character of 1e9
 * once made hover scan for half a minute). Requests that name no open
 * document of ours answer `fallback`.
 */
function withDoc<T>(p: RequestParams | undefined, fallback: T, fn: (doc: TextDocument, lang: Lang, path: string, position: Position) => T): T {
  const uri = p?.textDocument?.uri;
  const doc = typeof uri === 'string' ? documents.get(uri) : undefined;
  if (!doc) return fallback;
  const lang = langOf(doc);
  if (!lang) return fallback;
  return fn(doc, lang, pathOf(doc), clampPosition(doc, p?.position));
}

function clampPosition(doc: TextDocument, p: RequestParams['position']): Position {
  const whole = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.trunc(v)) : 0);
  return doc.positionAt(doc.offsetAt({ line: whole(p?.line), character: whole(p?.character) }));
}

connection.onCompletion((p: CompletionParams): CompletionItem[] => guard('completion', [], () => withDoc(p, [], (doc, lang, path, position) => {
  const trigger = typeof p?.context?.triggerCharacter === 'string' ? p.context.triggerCharacter : undefined;
  if (lang === 'smp') return smpCompletion(workspace, path, doc.getText(), position, trigger);
  return kcCompletion(workspace.folder(dirname(path)), path, doc.getText(), position, trigger);
})));

connection.onHover((p): Hover | null => guard('hover', null, () => withDoc(p, null, (doc, lang, path, position) => {
  if (lang === 'smp') return smpHover(workspace, path, doc.getText(), position);
  return kcHover(workspace.folder(dirname(path)), path, doc.getText(), position);
})));

connection.onDefinition((p): Location | null => guard('definition', null, () => withDoc(p, null, (doc, lang, path, position) => {
  if (lang === 'smp') return smpDefinition(workspace, path, doc.getText(), position);
  return kcDefinition(workspace.folder(dirname(path)), workspace, path, doc.getText(), position);
})));

connection.onDocumentSymbol((p): DocumentSymbol[] => guard('document symbols', [], () => withDoc(p, [], (doc, lang, path) => {
  if (lang === 'smp') return smpDocumentSymbols(doc.getText());
  return kcDocumentSymbols(workspace.folder(dirname(path)), path);
})));

connection.onShutdown(() => {
  for (const t of timers.values()) clearTimeout(t);
  timers.clear();
});

process.on('uncaughtException', (e) => logError('an unexpected task', e));
process.on('unhandledRejection', (e) => logError('an unexpected promise', e));

documents.listen(connection);
connection.listen();
