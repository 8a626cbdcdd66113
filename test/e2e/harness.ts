/**
 * End-to-end harness: a real VS Code (code-server 4.139.1 on Node 24) driven by
 * playwright-core in Debian's /usr/bin/chromium. Everything it needs is
 * installed by test/e2e/setup.sh into ${E2E_CACHE:-<repo>/.e2e/cache}; this
 * module runs that script on first use, so a test only has to import it.
 *
 *   const cs = await startCodeServer({ extensionDir: repoRoot(), workspace });
 *   const page = await openWorkbench(cs.url, workspace);
 *   await openFile(page, 'examples/ipi-offline.smp');
 *   await pressF5UntilDebugging(page);
 *   console.log(await callStackRows(page));
 *   await screenshot(page, 'debug-session');
 *   await stopAll();
 *
 * Each server gets scratch folders under <repo>/.e2e/run-<id>/ (user data,
 * extensions, HOME and XDG_*), runs in its own process group and is stopped
 * with its whole process tree. playwright-core is loaded from the cache folder
 * with createRequire, so the project's package.json does not depend on it; the
 * types below are the small part of Playwright's API the helpers use (any
 * other Playwright method is still callable on the returned objects).
 *
 * Functions are never passed to the browser (page.evaluate / waitForFunction
 * get strings): tsx compiles this file with esbuild, which may add helper
 * calls to a function's source that do not exist in the page.
 *
 * Environment: E2E_CACHE (install folder), E2E_KEEP=1 (keep run folders after
 * stop), E2E_VERBOSE=1 (echo browser console errors and extension-host output).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';

// ---------------------------------------------------------------------------
// Minimal Playwright types (the real objects have much more).

export interface Locator {
  click(options?: { position?: { x: number; y: number }; timeout?: number; force?: boolean; button?: 'left' | 'right' | 'middle' }): Promise<void>;
  waitFor(options?: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number }): Promise<void>;
  isVisible(): Promise<boolean>;
  count(): Promise<number>;
  first(): Locator;
  nth(index: number): Locator;
  locator(selector: string, options?: { hasText?: string | RegExp; has?: Locator }): Locator;
  getByRole(role: string, options?: { name?: string | RegExp; exact?: boolean }): Locator;
  allInnerTexts(): Promise<string[]>;
  innerText(options?: { timeout?: number }): Promise<string>;
  getAttribute(name: string, options?: { timeout?: number }): Promise<string | null>;
  [other: string]: any;
}

export interface Page {
  goto(url: string, options?: { timeout?: number; waitUntil?: 'load' | 'domcontentloaded' | 'networkidle' | 'commit' }): Promise<unknown>;
  locator(selector: string, options?: { hasText?: string | RegExp; has?: Locator }): Locator;
  keyboard: {
    press(key: string, options?: { delay?: number }): Promise<void>;
    type(text: string, options?: { delay?: number }): Promise<void>;
    insertText(text: string): Promise<void>;
  };
  waitForFunction(expression: string, arg?: unknown, options?: { timeout?: number; polling?: number | 'raf' }): Promise<unknown>;
  waitForTimeout(ms: number): Promise<void>;
  evaluate(expression: string): Promise<any>;
  screenshot(options: { path: string; fullPage?: boolean; timeout?: number }): Promise<unknown>;
  on(event: string, listener: (arg: any) => void): unknown;
  context(): BrowserContext;
  isClosed(): boolean;
  [other: string]: any;
}

export interface BrowserContext {
  pages(): Page[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
  [other: string]: any;
}

// ---------------------------------------------------------------------------
// Paths and installation

/** The repository root: the folder holding test/e2e/setup.sh. */
export function repoRoot(): string {
  if (process.env.SMPLAB_REPO) return path.resolve(process.env.SMPLAB_REPO);
  const starts = [
    typeof __dirname === 'string' ? __dirname : undefined,
    process.argv[1] ? path.dirname(path.resolve(process.argv[1])) : undefined,
    process.cwd(),
  ];
  for (const start of starts) {
    if (!start) continue;
    for (let dir = start; ; dir = path.dirname(dir)) {
      if (fs.existsSync(path.join(dir, 'test', 'e2e', 'setup.sh'))) return dir;
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new Error('e2e harness: cannot find the repository root (a folder with test/e2e/setup.sh); set SMPLAB_REPO');
}

/** The install folder of setup.sh. */
export function cacheDir(): string {
  return path.resolve(process.env.E2E_CACHE || path.join(repoRoot(), '.e2e', 'cache'));
}

const paths = () => {
  const cache = cacheDir();
  return {
    cache,
    node24: path.join(cache, 'node24', 'node_modules', 'node', 'bin', 'node'),
    codeServerEntry: path.join(cache, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
    driverBase: path.join(cache, 'driver', 'package.json'),
    vsce: path.join(cache, 'driver', 'node_modules', '@vscode', 'vsce', 'vsce'),
    chromium: '/usr/bin/chromium',
  };
};

let setupDone = false;
/** Runs test/e2e/setup.sh once per process (a no-op in about a second once installed). */
export function ensureSetup(): void {
  if (setupDone) return;
  const t0 = Date.now();
  const script = path.join(repoRoot(), 'test', 'e2e', 'setup.sh');
  const r = spawnSync('bash', [script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, E2E_CACHE: cacheDir() },
    timeout: 30 * 60_000,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new Error(`e2e harness: ${script} failed (exit ${r.status ?? r.signal}); see its output above`);
  }
  const p = paths();
  for (const f of [p.node24, p.codeServerEntry, p.driverBase, p.chromium]) {
    if (!fs.existsSync(f)) throw new Error(`e2e harness: setup.sh finished but ${f} is missing`);
  }
  if (Date.now() - t0 > 5000) log(`setup took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  setupDone = true;
}

let playwright: { chromium: { launchPersistentContext(dir: string, options: object): Promise<BrowserContext> } } | undefined;
function loadPlaywright() {
  if (!playwright) {
    ensureSetup();
    playwright = createRequire(paths().driverBase)('playwright-core');
  }
  return playwright!;
}

// ---------------------------------------------------------------------------
// Small utilities

const t0 = Date.now();
function log(msg: string): void {
  console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}`);
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function newRunId(): string {
  const d = new Date();
  const stamp = `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}` +
    `-${String(d.getHours()).padStart(2, '0')}${String(d.getMinutes()).padStart(2, '0')}${String(d.getSeconds()).padStart(2, '0')}`;
  return `${stamp}-${process.pid}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Pids of processes whose parent chain leads to `root` (root included), from /proc. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const ent of safeReaddir('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const st = procStat(Number(ent));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(ent));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Live (non-zombie) pids in a process group. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const ent of safeReaddir('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const st = procStat(Number(ent));
    if (st && st.pgrp === pgid && st.state !== 'Z') out.push(Number(ent));
  }
  return out;
}

function procStat(pid: number): { state: string; ppid: number; pgrp: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]) };
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function signal(pids: Iterable<number>, sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone already */
    }
  }
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

// ---------------------------------------------------------------------------
// code-server

export interface StartOptions {
  /** An extension folder (with package.json): linked into the extensions dir as <publisher>.<name>-<version>. */
  extensionDir?: string;
  /** Copy extensionDir (without .git, .e2e, node_modules, test-output) instead of linking it. */
  copyExtension?: boolean;
  /** A .vsix to install with `code-server --install-extension` before the server starts. */
  vsix?: string;
  /** The folder the server opens by default (openWorkbench names its folder explicitly). */
  workspace: string;
  /** Extra user settings merged over the harness defaults. */
  settings?: Record<string, unknown>;
  /** How long to wait for "HTTP server listening" (ms, default 60000). */
  timeoutMs?: number;
}

export interface CodeServer {
  /** http://127.0.0.1:PORT (no trailing slash) */
  url: string;
  /** <repo>/.e2e/run-<id> */
  runDir: string;
  /** code-server's --user-data-dir/logs: exthostN/<publisher>.<name>/*.log are the extensions' log channels */
  logsDir: string;
  /** code-server's own output */
  logFile: string;
  pid: number;
  /** ms from spawn to the "HTTP server listening" log line */
  startMs: number;
  /** Stops the browser windows opened on it, then the server's whole process tree. */
  stop(options?: { keep?: boolean }): Promise<void>;
}

const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'telemetry.telemetryLevel': 'off',
  'security.workspace.trust.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  // The run folders live in <repo>/.e2e and may link back to the repo (extensionDir): keep them out of sight.
  'files.exclude': { '**/.git': true, '**/.DS_Store': true, '**/.e2e': true },
  'files.watcherExclude': { '**/.e2e/**': true, '**/node_modules/**': true, '**/.git/**': true },
  'search.exclude': { '**/.e2e': true, '**/node_modules': true },
  'search.followSymlinks': false,
  'window.restoreWindows': 'none',
  'debug.toolBarLocation': 'floating',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

interface Running {
  server: CodeServer;
  child: ChildProcess;
  contexts: Set<BrowserContext>;
}
const running = new Map<string, Running>(); // by url
const looseContexts = new Set<BrowserContext>();

function scratchEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A VS Code terminal exports VSCODE_IPC_HOOK_CLI & co: code-server would then act as a client of that window.
  for (const k of Object.keys(env)) if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE') delete env[k];
  delete env.NODE_OPTIONS; // e.g. --import tsx from the test runner
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    XDG_RUNTIME_DIR: path.join(home, '.runtime'),
    PATH: `${path.dirname(paths().node24)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
  });
  return env;
}

function pruneOldRuns(base: string): void {
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const ent of safeReaddir(base)) {
    if (!ent.startsWith('run-')) continue;
    const dir = path.join(base, ent);
    try {
      if (fs.statSync(dir).mtimeMs < dayAgo) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* ignore */
    }
  }
}

export async function startCodeServer(options: StartOptions): Promise<CodeServer> {
  ensureSetup();
  installExitHooks();
  const p = paths();
  const base = path.join(repoRoot(), '.e2e');
  pruneOldRuns(base);
  const runDir = path.join(base, `run-${newRunId()}`);
  const home = path.join(runDir, 'home');
  const userData = path.join(runDir, 'user-data');
  const extensions = path.join(runDir, 'extensions');
  for (const d of [home, path.join(userData, 'User'), extensions, path.join(home, '.runtime')]) fs.mkdirSync(d, { recursive: true });
  fs.chmodSync(path.join(home, '.runtime'), 0o700);
  fs.writeFileSync(path.join(runDir, 'config.yaml'), 'auth: none\ncert: false\n');
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({ ...DEFAULT_SETTINGS, ...(options.settings ?? {}) }, null, 2),
  );
  const env = scratchEnv(home);
  const common = ['--config', path.join(runDir, 'config.yaml'), '--user-data-dir', userData, '--extensions-dir', extensions];

  if (options.vsix) {
    const vsix = path.resolve(options.vsix);
    const r = spawnSync(p.node24, [p.codeServerEntry, ...common, '--install-extension', vsix], {
      env, encoding: 'utf8', timeout: 120_000,
    });
    if (r.status !== 0) {
      throw new Error(`startCodeServer: --install-extension ${vsix} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    }
  }
  if (options.extensionDir) {
    const dir = path.resolve(options.extensionDir);
    let manifest: { publisher?: string; name?: string; version?: string };
    try {
      manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    } catch (e) {
      throw new Error(`startCodeServer: cannot read ${dir}/package.json: ${(e as Error).message}`);
    }
    const id = `${manifest.publisher}.${manifest.name}-${manifest.version}`;
    const target = path.join(extensions, id);
    if (options.copyExtension) {
      const skip = new Set(['.git', '.e2e', 'node_modules', 'test-output']);
      fs.cpSync(dir, target, { recursive: true, filter: (src) => !(path.dirname(src) === dir && skip.has(path.basename(src))) });
    } else {
      fs.symlinkSync(dir, target, 'dir');
    }
  }

  const logFile = path.join(runDir, 'code-server.log');
  const out = fs.openSync(logFile, 'a');
  const started = Date.now();
  const child = spawn(
    p.node24,
    [
      p.codeServerEntry, ...common,
      '--auth', 'none', '--bind-addr', '127.0.0.1:0',
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--disable-getting-started-override', '--reconnection-grace-time', '5',
      path.resolve(options.workspace),
    ],
    { env, cwd: runDir, detached: true /* setsid: its own process group */, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  child.unref();
  let exited: string | undefined;
  child.on('exit', (code, sig) => (exited = `exit ${code ?? sig}`));
  child.on('error', (e) => (exited = `spawn error ${e.message}`));

  const timeoutMs = options.timeoutMs ?? 60_000;
  let url: string | undefined;
  while (!url) {
    const m = /HTTP server listening on (http:\/\/[\d.]+:\d+)/.exec(fs.readFileSync(logFile, 'utf8'));
    if (m) url = m[1];
    else if (exited) throw new Error(`startCodeServer: code-server stopped (${exited}) before listening; ${logFile}:\n${tail(logFile)}`);
    else if (Date.now() - started > timeoutMs) {
      await killTree(child.pid!, 2000);
      throw new Error(`startCodeServer: timed out after ${timeoutMs} ms waiting for "HTTP server listening" in ${logFile}:\n${tail(logFile)}`);
    } else await sleep(100);
  }
  const startMs = Date.now() - started;
  const entry: Running = {
    child,
    contexts: new Set(),
    server: {
      url, runDir, logFile, pid: child.pid!, startMs,
      logsDir: path.join(userData, 'logs'),
      stop: (o) => stopServer(entry, o),
    },
  };
  running.set(url, entry);
  log(`code-server listening on ${url} after ${startMs} ms (run dir ${path.relative(repoRoot(), runDir)})`);
  return entry.server;
}

async function killTree(pid: number, graceMs: number): Promise<void> {
  // The server's process group, plus any descendant that made a group of its own (terminals do).
  const pgids = new Set<number>([pid]);
  const pids = new Set<number>(processTree(pid));
  for (const q of pids) {
    const st = procStat(q);
    if (st) pgids.add(st.pgrp);
  }
  const alive = () => {
    const left = new Set<number>();
    for (const g of pgids) for (const q of groupMembers(g)) left.add(q);
    for (const q of pids) {
      const st = procStat(q);
      if (st && st.state !== 'Z') left.add(q);
    }
    return left;
  };
  signal([...pgids].map((g) => -g), 'SIGTERM');
  signal(pids, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive().size && Date.now() < deadline) await sleep(100);
  const left = alive();
  if (left.size) {
    signal([...pgids].map((g) => -g), 'SIGKILL');
    signal(left, 'SIGKILL');
    const d2 = Date.now() + 3000;
    while (alive().size && Date.now() < d2) await sleep(100);
    if (alive().size) log(`warning: processes still alive after SIGKILL: ${[...alive()].join(' ')}`);
  }
}

async function stopServer(entry: Running, options?: { keep?: boolean }): Promise<void> {
  if (!running.has(entry.server.url)) return;
  running.delete(entry.server.url);
  for (const ctx of entry.contexts) await closeContext(ctx);
  await killTree(entry.server.pid, 5000);
  const keep = options?.keep ?? process.env.E2E_KEEP === '1';
  if (!keep) fs.rmSync(entry.server.runDir, { recursive: true, force: true });
  else log(`kept ${entry.server.runDir}`);
}

/** Closes every browser and stops every server this process started. */
export async function stopAll(options?: { keep?: boolean }): Promise<void> {
  for (const ctx of [...looseContexts]) await closeContext(ctx);
  for (const entry of [...running.values()]) await stopServer(entry, options);
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort when a test dies without calling stopAll(): SIGKILL the server groups synchronously.
  process.on('exit', () => {
    for (const entry of running.values()) {
      const pids = processTree(entry.server.pid);
      signal([-entry.server.pid], 'SIGKILL');
      signal(pids, 'SIGKILL');
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping code-server and browsers`);
      stopAll().finally(() => process.exit(130));
    });
  }
}

// ---------------------------------------------------------------------------
// The workbench in Chromium

interface PageState {
  console: string[];
  profileDir: string;
}
const pageState = new WeakMap<object, PageState>();
const contextProfile = new Map<BrowserContext, string>();

const CONSOLE_NOISE = /open-vsx|ERR_NAME_NOT_RESOLVED|github|Failed to load resource|404 \(Not Found\)|marketplace|vscode-unpkg|update\.code\.visualstudio/i;

async function closeContext(ctx: BrowserContext): Promise<void> {
  looseContexts.delete(ctx);
  for (const r of running.values()) r.contexts.delete(ctx);
  try {
    await Promise.race([ctx.close(), sleep(10_000)]);
  } catch {
    /* already closed */
  }
  const dir = contextProfile.get(ctx);
  contextProfile.delete(ctx);
  if (!dir) return;
  // Chromium's helpers (crashpad handlers are re-parented to init) outlive the browser for a
  // moment: wait for every process naming this profile to go, then kill what is left.
  const left = () => safeReaddir('/proc').filter((e) => /^\d+$/.test(e) && procStat(Number(e))?.state !== 'Z' && cmdlineHas(Number(e), dir)).map(Number);
  const deadline = Date.now() + 5000;
  while (left().length && Date.now() < deadline) await sleep(100);
  signal(left(), 'SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
}

function cmdlineHas(pid: number, text: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
  } catch {
    return false;
  }
}

/** Console lines the page logged (all of them, noise included), for diagnostics. */
export function consoleLines(page: Page): string[] {
  return pageState.get(page)?.console ?? [];
}

export interface WorkbenchOptions {
  /** ms to wait for the explorer and for extensions to finish activating (default 90000) */
  timeoutMs?: number;
  viewport?: { width: number; height: number };
}

/**
 * A fresh headless Chromium profile with one page, closed by stopAll() (with the server's
 * browsers when `entry` is given). The page's console is kept for consoleLines().
 */
async function launchPage(entry: Running | undefined, viewport = { width: 1400, height: 900 }): Promise<Page> {
  const pw = loadPlaywright();
  const home = entry ? path.join(entry.server.runDir, 'home') : path.join(repoRoot(), '.e2e', `browser-${newRunId()}`);
  fs.mkdirSync(home, { recursive: true });
  const profileDir = fs.mkdtempSync(path.join(entry ? entry.server.runDir : home, 'chromium-'));
  const ctx = await pw.chromium.launchPersistentContext(profileDir, {
    executablePath: paths().chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', '--password-store=basic'],
    env: { ...scratchEnv(home) },
    viewport,
  });
  contextProfile.set(ctx, profileDir);
  if (entry) entry.contexts.add(ctx);
  else looseContexts.add(ctx);

  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const state: PageState = { console: [], profileDir };
  pageState.set(page, state);
  const verbose = process.env.E2E_VERBOSE === '1';
  page.on('console', (m: { type(): string; text(): string }) => {
    const line = `[${m.type()}] ${m.text()}`;
    state.console.push(line);
    if (state.console.length > 2000) state.console.splice(0, 1000);
    if (verbose && (m.type() === 'error' || /Extension Host/.test(line)) && !CONSOLE_NOISE.test(line)) {
      console.log('[browser]', line.slice(0, 500));
    }
  });
  page.on('pageerror', (e: unknown) => state.console.push(`[pageerror] ${String(e)}`));
  return page;
}

/** A page in a fresh headless Chromium, for a page of the project's own (no code-server); stopAll() closes it. */
export async function openBrowserPage(viewport?: { width: number; height: number }): Promise<Page> {
  return launchPage(undefined, viewport);
}

/**
 * Opens url/?folder=<folder> in a fresh headless Chromium profile and waits until the
 * Explorer lists the folder and the status bar no longer says "Activating Extensions".
 */
export async function openWorkbench(url: string | CodeServer, folder: string, options: WorkbenchOptions = {}): Promise<Page> {
  const base = typeof url === 'string' ? url.replace(/\/+$/, '') : url.url;
  const page = await launchPage(running.get(base), options.viewport);
  const timeout = options.timeoutMs ?? 90_000;
  const started = Date.now();
  const target = `${base}/?folder=${encodeURI(path.resolve(folder))}`;
  await step(page, 'openWorkbench', `the workbench page ${target} to load`, () =>
    page.goto(target, { timeout, waitUntil: 'domcontentloaded' }));
  await step(page, 'openWorkbench', `the Explorer to show the files of ${folder}`, () =>
    page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ state: 'visible', timeout }));
  const explorerMs = Date.now() - started;
  await waitForExtensionHostIdle(page, timeout);
  log(`workbench: explorer after ${explorerMs} ms, extensions idle after ${Date.now() - started} ms (browser launch not included)`);
  return page;
}

/** Waits until the status bar shows and has not said "Activating Extensions" for a second. */
export async function waitForExtensionHostIdle(page: Page, timeoutMs = 60_000): Promise<void> {
  const idle = `(() => { const sb = document.querySelector('.part.statusbar');
    if (!sb) return false;
    const now = Date.now();
    if (/Activating Extensions/i.test(sb.textContent || '')) { window.__e2eIdleSince = 0; return false; }
    if (!window.__e2eIdleSince) window.__e2eIdleSince = now;
    return now - window.__e2eIdleSince >= 1000; })()`;
  await step(page, 'waitForExtensionHostIdle', 'the status bar to stop showing "Activating Extensions"', () =>
    page.waitForFunction(idle, undefined, { timeout: timeoutMs, polling: 200 }));
}

// ---------------------------------------------------------------------------
// Helpers

/** Runs `fn`; a failure becomes "<helper>: ... waiting for <what>" with the notifications on screen. */
async function step<T>(page: Page, helper: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    const notes = await notifications(page).catch(() => []);
    const errs = consoleLines(page).filter((l) => /^\[(error|pageerror)\]/.test(l) && !CONSOLE_NOISE.test(l)).slice(-5);
    throw new Error(
      `${helper}: gave up waiting for ${what} (${msg})` +
        (notes.length ? `\n  notifications: ${notes.map((n) => JSON.stringify(n)).join(', ')}` : '') +
        (errs.length ? `\n  last browser errors:\n    ${errs.map((l) => l.slice(0, 300)).join('\n    ')}` : ''),
    );
  }
}

/** Texts of the notification toasts and dialogs on screen. */
export async function notifications(page: Page): Promise<string[]> {
  if (page.isClosed()) return [];
  const texts = [
    ...(await page.locator('.notification-toast .notification-list-item-message').allInnerTexts()),
    ...(await page.locator('.monaco-dialog-box .dialog-message-text').allInnerTexts()),
  ];
  return texts.map((t) => t.replace(/\s+/g, ' ').trim()).filter(Boolean);
}

async function focusWorkbench(page: Page): Promise<void> {
  // Escape closes a quick input or a hover left open by an earlier helper.
  await page.keyboard.press('Escape');
  const editor = page.locator('.part.editor');
  if (await editor.isVisible()) await editor.click({ position: { x: 200, y: 200 } });
}

async function openQuickInput(page: Page, key: string, helper: string): Promise<Locator> {
  await focusWorkbench(page);
  const widget = page.locator('.quick-input-widget');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press(key);
    const shown = await widget.waitFor({ state: 'visible', timeout: 10_000 }).then(() => true, () => false);
    if (shown) return widget;
    if (attempt === 3) {
      return step(page, helper, `the quick input to open after pressing ${key}`, () => widget.waitFor({ state: 'visible', timeout: 1 }).then(() => widget));
    }
  }
}

/** Opens a workspace file with Quick Open (Ctrl+P) and waits for its editor tab to be active. */
export async function openFile(page: Page, relPath: string, timeoutMs = 60_000): Promise<void> {
  const base = path.basename(relPath);
  const widget = await openQuickInput(page, 'Control+P', 'openFile');
  await page.keyboard.insertText(relPath);
  // Enter opens the focused row: wait until that is the file, not a recently opened one listed before the filter applied
  const row = widget.locator('.quick-input-list .monaco-list-row.focused', { hasText: base }).first();
  await step(page, 'openFile', `Quick Open to list "${relPath}" first`, () =>
    row.waitFor({ state: 'visible', timeout: timeoutMs }).catch(async (e) => {
      await page.keyboard.press('Escape');
      throw e;
    }));
  await page.keyboard.press('Enter');
  await step(page, 'openFile', `the editor tab of "${base}" to become active`, () =>
    page.locator('.tabs-container .tab.active', { hasText: base }).waitFor({ state: 'visible', timeout: timeoutMs }));
}

/** Runs a command by its palette title, e.g. "Debug: Stop" or "View: Show Run and Debug". */
export async function runCommand(page: Page, title: string, timeoutMs = 60_000): Promise<void> {
  const widget = await openQuickInput(page, 'F1', 'runCommand');
  await page.keyboard.insertText(title);
  const rows = widget.locator('.quick-input-list .monaco-list-row');
  const exact = `(() => {
    const want = ${JSON.stringify(title.toLowerCase())};
    return [...document.querySelectorAll('.quick-input-widget .quick-input-list .monaco-list-row')]
      .some(r => (r.querySelector('.label-name')?.textContent || '').trim().toLowerCase() === want);
  })()`;
  try {
    await page.waitForFunction(exact, undefined, { timeout: timeoutMs, polling: 100 });
  } catch {
    const shown = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()).slice(0, 8);
    await page.keyboard.press('Escape');
    throw new Error(`runCommand: gave up waiting for the command palette to list "${title}" (after ${timeoutMs} ms it showed: ${JSON.stringify(shown)})`);
  }
  // Click the row whose label is exactly the title (not just the first fuzzy match).
  const count = await rows.count();
  for (let i = 0; i < count; i++) {
    const label = (await rows.nth(i).locator('.label-name').first().innerText().catch(() => '')).trim();
    if (label.toLowerCase() === title.toLowerCase()) {
      await rows.nth(i).click();
      await step(page, 'runCommand', `the command palette to close after running "${title}"`, () =>
        widget.waitFor({ state: 'hidden', timeout: timeoutMs }));
      return;
    }
  }
  throw new Error(`runCommand: "${title}" was listed but its row disappeared before it could be clicked`);
}

export interface F5Options {
  /** how many times to press F5 (default 10) */
  attempts?: number;
  /** how long to wait for the debug toolbar after each press (ms, default 8000) */
  perAttemptMs?: number;
  /** if VS Code asks "Select debugger", pick the row with this label */
  debuggerLabel?: string;
}

/**
 * Presses F5 until a debug session is running (the debug toolbar shows). Until the
 * extension's debugger is registered F5 only opens the Run view, so this presses again;
 * an "already running" dialog means the previous press did start it. Returns the ms taken.
 */
export async function pressF5UntilDebugging(page: Page, options: F5Options = {}): Promise<number> {
  const started = Date.now();
  const attempts = options.attempts ?? 10;
  const toolbar = page.locator('.debug-toolbar');
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const dialog = page.locator('.monaco-dialog-box', { hasText: /already running/i });
    if (await dialog.isVisible()) {
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      if (await toolbar.isVisible()) return Date.now() - started;
    }
    await focusWorkbench(page);
    await page.keyboard.press('F5');
    const deadline = Date.now() + (options.perAttemptMs ?? 8000);
    while (Date.now() < deadline) {
      if (await toolbar.isVisible()) return Date.now() - started;
      const picker = page.locator('.quick-input-widget');
      if (await picker.isVisible()) {
        if (!options.debuggerLabel) {
          const shown = (await picker.locator('.monaco-list-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
          await page.keyboard.press('Escape');
          throw new Error(`pressF5UntilDebugging: VS Code asks to pick a debugger (${JSON.stringify(shown)}); pass debuggerLabel or add a launch.json`);
        }
        await picker.locator('.monaco-list-row', { hasText: options.debuggerLabel }).first().click();
      }
      await sleep(200);
    }
    log(`pressF5UntilDebugging: no debug toolbar ${options.perAttemptMs ?? 8000} ms after F5 press ${attempt}; pressing again`);
  }
  const notes = await notifications(page).catch(() => []);
  throw new Error(`pressF5UntilDebugging: gave up waiting for the debug toolbar after ${attempts} F5 presses ` +
    `(${((Date.now() - started) / 1000).toFixed(1)} s)` + (notes.length ? `; notifications: ${JSON.stringify(notes)}` : ''));
}

/** Shows the Run and Debug view if the Call Stack is not visible. */
export async function showRunAndDebug(page: Page, timeoutMs = 30_000): Promise<void> {
  const cs = page.locator('.debug-call-stack');
  if (await cs.isVisible()) return;
  await focusWorkbench(page);
  await page.keyboard.press('Control+Shift+D');
  if (!(await cs.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false))) {
    await runCommand(page, 'View: Show Run and Debug');
  }
  await step(page, 'showRunAndDebug', 'the Call Stack view to show (VS Code shows it while debugging or when the folder has a launch configuration)', () =>
    cs.waitFor({ state: 'visible', timeout: timeoutMs }));
}

/**
 * The Call Stack rows (threads, frames, "Load more"), whitespace collapsed. With `waitFor`,
 * first waits until, for every pattern, some row matches it.
 */
export async function callStackRows(page: Page, waitFor: RegExp[] = [], timeoutMs = 60_000): Promise<string[]> {
  await showRunAndDebug(page, timeoutMs);
  const rows = page.locator('.debug-call-stack .monaco-list-row');
  const read = async () => (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await read();
    const missing = waitFor.filter((re) => !got.some((r) => re.test(r)));
    if (!missing.length) return got;
    if (Date.now() > deadline) {
      throw new Error(`callStackRows: gave up after ${timeoutMs} ms waiting for Call Stack rows matching ` +
        `${missing.map(String).join(', ')}; rows shown: ${JSON.stringify(got)}`);
    }
    await sleep(250);
  }
}

/** Saves a PNG of the page to <repo>/test-output/e2e/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = path.join(repoRoot(), 'test-output', 'e2e');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^\w.-]+/g, '_').replace(/\.png$/, '')}.png`);
  await step(page, 'screenshot', `a screenshot to be written to ${file}`, () => page.screenshot({ path: file, timeout: 30_000 }));
  return file;
}

/** Extension log files (output channels created with { log: true }) under a server's logs dir. */
export function extensionLogs(server: CodeServer): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const ent of safeReaddir(dir)) {
      const p = path.join(dir, ent);
      let st: fs.Stats;
      try {
        st = fs.statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (/exthost\d*\//.test(p) && p.endsWith('.log')) out.push(p);
    }
  };
  walk(server.logsDir);
  return out.sort();
}

/** Packages an extension folder with vsce (from the cache) into a .vsix and returns its path. */
export function packageVsix(extensionDir: string, outFile: string): string {
  ensureSetup();
  const r = spawnSync(paths().node24, [paths().vsce, 'package', '--allow-missing-repository', '--skip-license', '-o', outFile], {
    cwd: extensionDir, encoding: 'utf8', timeout: 300_000, env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (r.status !== 0) throw new Error(`packageVsix: vsce package failed in ${extensionDir} (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return outFile;
}
