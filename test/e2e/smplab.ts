/**
 * Helpers shared by SMP Lab's end-to-end tests (test/e2e/*.e2e.ts), on top of harness.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { notifications, openFile, repoRoot, screenshot, type Page } from './harness.js';

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

/** Runs one named stage; a failure says which stage failed and saves a screenshot of it. */
export async function stage<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  console.log(`[stage] ${name} ...`);
  try {
    const v = await fn();
    console.log(`[stage] ${name}: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return v;
  } catch (e) {
    const shot = await screenshot(page, `FAILED-${name}`).catch((err) => `(no screenshot: ${err})`);
    const notes = await notifications(page).catch(() => []);
    throw new Error(`stage "${name}" failed: ${(e as Error).message}\n  screenshot: ${shot}` +
      (notes.length ? `\n  notifications: ${JSON.stringify(notes)}` : ''));
  }
}

/** Waits until the status bar's language mode item says `want`; returns what it says. */
export async function languageMode(page: Page, want: string, timeoutMs = 15_000): Promise<string> {
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
export async function outputText(page: Page, re: RegExp, timeoutMs = 30_000): Promise<string> {
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

