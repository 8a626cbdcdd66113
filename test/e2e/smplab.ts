/**
 * Helpers shared by SMP Lab's end-to-end tests (test/e2e/*.e2e.ts), on top of harness.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extensionLogs, notifications, openFile, repoRoot, screenshot, stopAll, type CodeServer, type Page } from './harness.js';

/**
 * Ends an end-to-end test: on failure names the extension's log files, stops
 * code-server and the browser (kept for a look on failure or with
 * E2E_KEEP=1), and removes the scratch folders.
 */
export async function endTest(server: CodeServer | undefined, ok: boolean, folders: string[]): Promise<void> {
  if (!ok && server) {
    for (const f of extensionLogs(server).filter((f) => /smplab/.test(f))) console.log(`extension log: ${f}`);
  }
  await stopAll({ keep: !ok || process.env.E2E_KEEP === '1' });
  for (const folder of folders) fs.rmSync(folder, { recursive: true, force: true });
}

/** A scratch workspace: the examples, plus a copy of the Linux 3.15 model in model/ (for the kc language). */
export function scratchWorkspace(prefix: string, withModel = true): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.cpSync(path.join(repoRoot(), 'examples'), dir, { recursive: true });
  if (withModel) fs.cpSync(path.join(repoRoot(), 'models', 'linux-3.15'), path.join(dir, 'model'), { recursive: true });
  return dir;
}

/** Makes a file's editor active: clicks its tab when it is open, else opens it with Quick Open. */
export async function showFile(page: Page, relPath: string): Promise<void> {
  const base = path.basename(relPath);
  const tab = page.locator('.tabs-container .tab', { hasText: base }).first();
  if (await tab.isVisible()) {
    await tab.click();
    await page.locator('.tabs-container .tab.active', { hasText: base }).waitFor({ state: 'visible', timeout: 10_000 });
  } else {
    await openFile(page, relPath);
  }
}

/**
 * Runs one named stage; a failure says which stage failed and saves a screenshot of it.
 * With `failures`, a stage that only checks what is shown (and changes nothing the later
 * stages build on) records its failure there and lets the test go on, so one run reports
 * every failing check; the test then fails on the list at its end.
 */
export async function stage<T>(page: Page, name: string, fn: () => Promise<T>, failures?: string[]): Promise<T | undefined> {
  const t0 = Date.now();
  console.log(`[stage] ${name} ...`);
  try {
    const v = await fn();
    console.log(`[stage] ${name}: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return v;
  } catch (e) {
    const shot = await screenshot(page, `FAILED-${name}`).catch((err) => `(no screenshot: ${err})`);
    const notes = await notifications(page).catch(() => []);
    const message = `stage "${name}" failed: ${(e as Error).message}\n  screenshot: ${shot}` +
      (notes.length ? `\n  notifications: ${JSON.stringify(notes)}` : '');
    if (!failures) throw new Error(message);
    console.log(`[stage] ${message}`);
    failures.push(message);
    return undefined;
  }
}

/** Waits until the status bar's language mode item says `want`; returns what it says. */
export async function languageMode(page: Page, want: string, timeoutMs = 60_000): Promise<string> {
  const item = page.locator('[id="status.editor.mode"]');
  await item.waitFor({ state: 'visible', timeout: timeoutMs });
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = (await item.innerText()).trim();
    if (text === want) return text;
    await page.waitForTimeout(200);
  }
  return text;
}

/** Waits until the text of the visible Output view matches `re`; returns that text. */
export async function outputText(page: Page, re: RegExp, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await page.evaluate(`(() => {
      const view = document.querySelector('.part.panel .output-view, .part.panel [id="workbench.panel.output"]');
      const lines = view ? [...view.querySelectorAll('.view-lines .view-line')] : [];
      return lines.map(l => (l.textContent || '').replace(/\\u00a0/g, ' ')).join('\\n');
    })()`) as string;
    if (re.test(text)) return text;
    await page.waitForTimeout(300);
  }
  throw new Error(`the Output view never showed ${re} (it showed: ${JSON.stringify(text.slice(-600))})`);
}


const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const squash = (s: string) => s.replace(/[\s\u00a0]+/g, ' ').trim();

/**
 * Polls `get` until it gives a value. Generous by default: on a busy machine VS Code can take
 * many seconds to render what a quiet one shows at once; a wait only ever ends early.
 */
export async function poll<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------
// The walkthrough

/** Opens SMP Lab's walkthrough with "Welcome: Open Walkthrough..." and waits for its steps. */
export async function openWalkthrough(page: Page): Promise<void> {
  // The command opens a second quick pick in the palette's widget: type and pick by hand.
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const palette = page.locator('.quick-input-widget');
  await palette.waitFor({ state: 'visible', timeout: 20_000 });
  await page.keyboard.insertText('Welcome: Open Walkthrough');
  await palette.locator('.monaco-list-row', { hasText: /Open Walkthrough/ }).first().waitFor({ state: 'visible', timeout: 20_000 });
  await page.keyboard.press('Enter');
  const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: /2014 IPI-to-offline-CPU race/ }).first();
  await pick.waitFor({ state: 'visible', timeout: 20_000 }).catch(async () => {
    const rows = await page.locator('.quick-input-widget .monaco-list-row').allInnerTexts();
    await page.keyboard.press('Escape');
    throw new Error(`the walkthrough picker does not list SMP Lab's walkthrough (it lists ${JSON.stringify(rows)})`);
  });
  await pick.click();
  await page.locator('.gettingStartedContainer .getting-started-step').first().waitFor({ state: 'visible', timeout: 30_000 });
}

function walkthroughStep(page: Page, id: string) {
  return page.locator(`.gettingStartedContainer .getting-started-step[data-step-id$="#${id}"]`).first();
}

/** Each step's id (the part after the last '#') and whether VS Code shows it ticked. */
export async function walkthroughTicks(page: Page): Promise<Record<string, boolean>> {
  return page.evaluate(`Object.fromEntries([...document.querySelectorAll('.gettingStartedContainer .getting-started-step[data-step-id]')]
    .map(s => [s.getAttribute('data-step-id').replace(/^.*#/, ''), s.getAttribute('aria-checked') === 'true']))`) as Promise<Record<string, boolean>>;
}

/** Selects a step (which shows its text and buttons) and clicks one of its buttons. */
export async function clickWalkthroughButton(page: Page, stepId: string, label: string): Promise<void> {
  const step = walkthroughStep(page, stepId);
  await step.waitFor({ state: 'visible', timeout: 20_000 });
  if ((await step.getAttribute('aria-expanded')) !== 'true') await step.click();
  const button = step.getByRole('button', { name: label }).first();
  await button.waitFor({ state: 'visible', timeout: 20_000 }).catch(() => {
    throw new Error(`the walkthrough step ${stepId} shows no button "${label}"`);
  });
  await button.click();
}

/** Is the walkthrough on screen (its editor visible with a usable width)? */
export async function walkthroughVisible(page: Page): Promise<boolean> {
  const box = await page.locator('.gettingStartedContainer').first().boundingBox().catch(() => null);
  return !!box && box.width > 200 && box.height > 200 && (await page.locator('.gettingStartedContainer').first().isVisible());
}

// ---------------------------------------------------------------------------
// What the editor and the Call Stack show

/** The text of the line VS Code marks as the top stack frame, in whichever editor shows it. */
export async function topFrameLine(page: Page): Promise<{ file: string; text: string } | undefined> {
  const found = await page.evaluate(`(() => {
    for (const group of document.querySelectorAll('.editor-group-container')) {
      const deco = group.querySelector('.monaco-editor .view-overlays .debug-top-stack-frame-line');
      if (!deco) continue;
      const top = deco.parentElement && deco.parentElement.style.top;
      const line = [...group.querySelectorAll('.monaco-editor .view-lines .view-line')].find(l => l.style.top === top);
      const tab = group.querySelector('.tabs-container .tab.active');
      return { file: tab ? (tab.getAttribute('aria-label') || tab.textContent || '') : '', text: line ? line.textContent : '' };
    }
    return null;
  })()`) as { file: string; text: string } | null;
  return found ? { file: squash(found.file), text: squash(found.text) } : undefined;
}

/** What is readable of the name of the Call Stack row with this data-index (see readableCpuNames). */
async function readableName(page: Page, index: string | null): Promise<{ name: string; readable: string }> {
  return page.evaluate(`(() => {
      const row = document.querySelector('.debug-call-stack .monaco-list-row[data-index="${index}"]');
      if (!row) return { name: '', readable: '' };
      const name = row.querySelector('.thread .name') || row.querySelector('.thread') || row;
      const walker = document.createTreeWalker(name, NodeFilter.SHOW_TEXT);
      let node = walker.nextNode();
      while (node && !node.data.trim()) node = walker.nextNode();
      if (!node) return { name: '', readable: '' };
      const box = name.getBoundingClientRect();
      let right = Math.min(box.right, row.getBoundingClientRect().right, row.closest('.debug-call-stack').getBoundingClientRect().right);
      for (const el of row.querySelectorAll('.state, .monaco-action-bar, .actions, .badge')) {
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.right > box.left && !el.contains(name) && !name.contains(el)) right = Math.min(right, r.left);
      }
      const truncated = name.scrollWidth > name.clientWidth + 1;
      const ellipsis = truncated ? 10 : 0;
      const range = document.createRange();
      let readable = '';
      for (let k = 1; k <= node.data.length; k++) {
        range.setStart(node, 0);
        range.setEnd(node, k);
        if (range.getBoundingClientRect().right > right - ellipsis) break;
        readable = node.data.slice(0, k);
      }
      return { name: (name.textContent || '').trim(), readable: readable.trim() };
    })()`) as Promise<{ name: string; readable: string }>;
}

/**
 * What a person can read of each CPU row's name in the Call Stack: the longest prefix of
 * the name that is drawn neither under the stop badge or the inline actions nor cut by an
 * ellipsis. Each row is read twice, as a user sees it: at rest (the stopped CPU's row shows
 * the stop badge) and pointed at (VS Code hides the badge and shows the inline actions);
 * the shorter reading counts.
 */
export async function readableCpuNames(page: Page): Promise<{ name: string; readable: string; atRest: string; hovered: string }[]> {
  const out: { name: string; readable: string; atRest: string; hovered: string }[] = [];
  const rows = page.locator('.debug-call-stack .monaco-list-row', { hasText: /^\s*CPU\d+/ });
  const n = await rows.count();
  for (let i = 0; i < n; i++) {
    const row = rows.nth(i);
    const index = await row.getAttribute('data-index');
    await page.mouse.move(5, 5);
    const atRest = await readableName(page, index);
    await row.hover();
    const hovered = await readableName(page, index);
    const readable = atRest.readable.length <= hovered.readable.length ? atRest.readable : hovered.readable;
    out.push({ name: atRest.name, readable, atRest: atRest.readable, hovered: hovered.readable });
  }
  await page.mouse.move(5, 5);
  return out;
}

/** Waits until every CPU's name starts readably in the Call Stack; returns what is readable. */
export async function assertCpuNamesReadable(page: Page, cpus: number[]): Promise<string[]> {
  let last: { name: string; readable: string; atRest: string; hovered: string }[] = [];
  try {
    await poll(`the names ${cpus.map((c) => `CPU${c}`).join(', ')} to be readable in the Call Stack`, async () => {
      last = await readableCpuNames(page);
      return cpus.every((c) => last.some((r) => new RegExp(`^CPU${c}\\b`).test(r.readable))) ? true : undefined;
    }, 30_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}; readable: ${JSON.stringify(last)}`);
  }
  return last.map((r) => `${r.readable} (at rest: ${JSON.stringify(r.atRest)}, pointed at: ${JSON.stringify(r.hovered)})`);
}
