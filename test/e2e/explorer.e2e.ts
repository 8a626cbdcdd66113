/**
 * End to end in a real VS Code (code-server): the schedule explorer as a kernel developer meets it.
 *
 *   node --import tsx --test test/e2e/explorer.e2e.ts
 *
 * Testing view (the examples' scenarios in the workspace):
 *   1. each .smp file is a test item, each of its `expect` lines a child
 *   2. running ipi-offline-race.smp: `expect no warning` fails with the WARN at its line; the
 *      peek there names the deciding race and offers Debug Counterexample; the other three
 *      expectations, which that search did not judge, are explored one at a time and pass
 *      ("verified: N states, complete" at their lines)
 *   3. Debug Counterexample in the peek starts the debugger on the saved schedule and stops on
 *      the WARN: the `WARN(` line in smp.kc, CPU1's row with the WARN badge
 *   4. running ipi-offline-fixed.smp's `expect no warning`: the search's progress shows in the
 *      test output, then "verified: N states, complete"
 *   5. cancelling a run of call-function-many.smp (a search of millions of states) stops it
 * Explore from Here (the Call Stack's toolbar button), in a session stopped at its entry:
 *   6. on the fixed scenario without its one-schedule expectation: a notification with the
 *      search's progress, then "every schedule from here satisfies every expectation"
 *   7. on the race: the result names the broken expectation and the session follows the
 *      counterexample to the WARN
 *
 * Every stage prints its name; a failure names the stage and saves test-output/e2e/FAILED-<stage>.png.
 * Stage screenshots: test-output/e2e/explorer-*.png. Every wait is for something VS Code shows,
 * with deadlines meant for a busy machine.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  callStackRows, extensionLogs, notifications, openWorkbench, pressF5UntilDebugging, repoRoot, runCommand, screenshot,
  startCodeServer, stopAll, type CodeServer, type Locator, type Page,
} from './harness.js';
import { endTest, poll, scratchWorkspace, showFile, squash, stage, topFrameLine } from './smplab.js';

after(() => stopAll());

// ---------------------------------------------------------------------------
// The Testing view

interface TestRow { index: number; label: string; text: string; level: number; expanded: string | null }

/** The Testing view's rows in list order; `label` is the aria-label: "NAME (STATE)[, in TIME]". */
async function testRows(page: Page): Promise<TestRow[]> {
  const rows = await page.evaluate(`[...document.querySelectorAll('.test-explorer .monaco-list-row')]
    .map(r => ({ index: Number(r.dataset.index), label: r.getAttribute('aria-label') || '', text: r.innerText,
      level: Number(r.getAttribute('aria-level')), expanded: r.getAttribute('aria-expanded') }))
    .sort((a, b) => a.index - b.index)`) as TestRow[];
  return rows.map((r) => ({ ...r, text: squash(r.text) }));
}

/** The row of a test item by its name (a file name or an `expect` line). */
function testRow(page: Page, name: string): Locator {
  return page.locator(`.test-explorer .monaco-list-row[aria-label^="${name} ("]`).first();
}

/** Shows the Testing view; its activity bar item appears once the extension has registered its tests. */
async function showTesting(page: Page): Promise<void> {
  // the item, not its label: the badge counting failed tests sits over the label
  const item = page.locator('.activitybar .action-item', { has: page.locator('a[aria-label^="Testing"]') }).first();
  await item.waitFor({ state: 'visible', timeout: 120_000 }).catch(() => {
    throw new Error('the activity bar shows no Testing item: SMP Lab registered no tests');
  });
  if (!(await page.locator('.test-explorer').isVisible())) await item.click();
  await page.locator('.test-explorer .monaco-list-row').first().waitFor({ state: 'visible', timeout: 60_000 });
}

/** Expands or collapses a file's row and waits until VS Code shows it so. */
async function setTestExpanded(page: Page, file: string, expand: boolean): Promise<void> {
  const row = testRow(page, file);
  await row.waitFor({ state: 'visible', timeout: 60_000 });
  const want = String(expand);
  await poll(`the ${file} row to be ${expand ? 'expanded' : 'collapsed'}`, async () => {
    const now = await row.getAttribute('aria-expanded');
    if (now === want) return true;
    await row.locator('.monaco-tl-twistie').click();
    await poll('the click to show', async () => ((await row.getAttribute('aria-expanded')) !== now ? true : undefined), 5000).catch(() => undefined);
    return undefined;
  });
}

/** Clicks a test row's inline Run Test action. */
async function runTest(page: Page, name: string): Promise<void> {
  const row = testRow(page, name);
  await row.hover();
  const run = row.locator('.action-label[aria-label="Run Test"]').first();
  await run.waitFor({ state: 'visible', timeout: 20_000 }).catch(() => {
    throw new Error(`the ${name} row has no Run Test action`);
  });
  await run.click();
}

/** Waits until each named test shows the wanted state ("Passed", "Failed", ...); returns their labels. */
async function waitForStates(page: Page, want: Record<string, string>, timeoutMs = 240_000): Promise<string[]> {
  let last: TestRow[] = [];
  const stateOf = (name: string) => last.find((r) => r.label.startsWith(`${name} (`))?.label.slice(name.length);
  try {
    return await poll(`the tests to show ${JSON.stringify(want)}`, async () => {
      last = await testRows(page);
      return Object.entries(want).every(([name, state]) => stateOf(name)?.startsWith(` (${state})`))
        ? Object.keys(want).map((name) => `${name}${stateOf(name)}`)
        : undefined;
    }, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}; the Testing view shows ${JSON.stringify(last.map((r) => r.label))}`);
  }
}

/** The lines of the test output terminal that are on screen (the Test Results panel). */
async function outputRows(page: Page): Promise<string[]> {
  const rows = await page.evaluate(`[...document.querySelectorAll('.part.panel .xterm-rows > div')].map(d => d.textContent || '')`) as string[];
  return rows.map((r) => r.replace(/\u00a0/g, ' ').trimEnd()).filter(Boolean);
}

/** The command lines the test output has shown; a long search's progress scrolls its own off screen. */
const headersSeen = new Set<string>();

/**
 * The lines of the test output on screen after the command line `header`, once it has shown;
 * undefined while the output has not shown it (it may still show an earlier run). Once it has
 * scrolled off screen, every line on screen came after it.
 */
async function outputAfter(page: Page, header: string): Promise<string[] | undefined> {
  const rows = await outputRows(page);
  const i = rows.lastIndexOf(header);
  if (i >= 0) headersSeen.add(header);
  return i >= 0 ? rows.slice(i + 1) : headersSeen.has(header) ? rows : undefined;
}

/** Waits until the test output shows, after `header`, a line matching `re`; returns it. */
async function waitForOutput(page: Page, header: string, re: RegExp, timeoutMs = 120_000): Promise<string> {
  let last: string[] = [];
  return poll(`the test output to show ${re} after "${header}"`, async () => {
    last = await outputRows(page);
    return (await outputAfter(page, header))?.find((r) => re.test(r));
  }, timeoutMs).catch((e) => {
    throw new Error(`${(e as Error).message}; it shows ${JSON.stringify(last.slice(-8))}`);
  });
}

/** The text VS Code shows on a line of the active editor, text it inserts there (test output, messages) included. */
async function editorLine(page: Page, line: number): Promise<string> {
  const text = await page.evaluate(`(() => {
    const editor = document.querySelector('.part.editor .editor-group-container.active .monaco-editor');
    if (!editor) return '';
    const number = [...editor.querySelectorAll('.margin .line-numbers')].find(n => n.textContent.trim() === '${line}');
    if (!number) return '';
    const top = number.parentElement.style.top;
    const view = [...editor.querySelectorAll('.view-lines .view-line')].find(l => l.style.top === top);
    return view ? view.textContent : '';
  })()`) as string;
  return squash(text);
}

/**
 * Waits until an `expect` line reads as the expectation followed by its verdict,
 * "verified: N states, complete", the expectation not repeated; returns the line.
 */
async function verifiedAtLine(page: Page, expectation: { line: number; text: string }): Promise<string> {
  const want = /^(.*?) ?verified: [\d,]+ states, complete$/;
  let last = '';
  return poll(`"verified: N states, complete" at line ${expectation.line} (${expectation.text})`, async () => {
    last = await editorLine(page, expectation.line);
    return want.exec(last)?.[1] === expectation.text ? last : undefined;
  }).catch((e) => {
    throw new Error(`${(e as Error).message}; the line reads ${JSON.stringify(last)}`);
  });
}

/** The failure message VS Code shows at the end of a line of the active editor ('' if none). */
async function failureOnLine(page: Page, line: number): Promise<string> {
  return squash(await page.evaluate(`(() => {
    const editor = document.querySelector('.part.editor .editor-group-container.active .monaco-editor');
    if (!editor) return '';
    const number = [...editor.querySelectorAll('.margin .line-numbers')].find(n => n.textContent.trim() === '${line}');
    if (!number) return '';
    const row = number.getBoundingClientRect();
    const widget = [...editor.querySelectorAll('.test-error-content-widget')].find(w => {
      const r = w.getBoundingClientRect();
      return r.top < row.bottom && r.bottom > row.top;
    });
    return widget ? widget.textContent : '';
  })()`) as string);
}

/** The 1-based line numbers and texts of a scenario's `expect` lines, as the Testing view names them. */
function expectLines(file: string): { line: number; text: string }[] {
  return fs.readFileSync(file, 'utf8').split('\n')
    .map((text, i) => ({ line: i + 1, text: text.replace(/#.*/, '').trim() }))
    .filter((l) => /^expect\b/.test(l.text));
}

// ---------------------------------------------------------------------------
// The failure peek

function peek(page: Page): Locator {
  return page.locator('.part.editor .test-output-peek').first();
}

/** Opens the peek of a test failure by clicking its message at the end of the failing line. */
async function openFailurePeek(page: Page, message: RegExp): Promise<string> {
  if (!(await peek(page).isVisible())) {
    const widget = page.locator('.part.editor .test-error-content-widget', { hasText: message }).first();
    await widget.waitFor({ state: 'visible', timeout: 60_000 }).catch(() => {
      throw new Error(`the editor shows no failure message ${message} at a line`);
    });
    await widget.click();
  }
  await peek(page).waitFor({ state: 'visible', timeout: 30_000 });
  return poll('the peek to show the failure message', async () => {
    const text = squash((await peek(page).innerText()).replace(/\u00a0/g, ' '));
    return message.test(text) ? text : undefined;
  });
}

/** The text of the editor line right above the peek. */
async function lineAbovePeek(page: Page): Promise<string> {
  return squash(await page.evaluate(`(() => {
    const editor = document.querySelector('.part.editor .editor-group-container.active .monaco-editor');
    const zone = editor && editor.querySelector('.test-output-peek');
    if (!zone) return '';
    const top = zone.getBoundingClientRect().top;
    const lines = [...editor.querySelectorAll('.view-lines .view-line')]
      .map(l => ({ top: l.getBoundingClientRect().top, text: l.textContent }))
      .filter(l => l.top < top).sort((a, b) => b.top - a.top);
    return lines.length ? lines[0].text : '';
  })()`) as string);
}

// ---------------------------------------------------------------------------
// Debugging

function threadRow(page: Page, cpu: number): Locator {
  return page.locator('.debug-call-stack .monaco-list-row', { hasText: new RegExp(`^\\s*CPU${cpu}\\b`) }).first();
}

/** Waits until CPU1's Call Stack row shows the WARN badge and the editor marks the `WARN(` line. */
async function waitForWarnStop(page: Page): Promise<{ badge: string; line: { file: string; text: string } }> {
  const badge = await poll('CPU1\'s row in the Call Stack to show the WARN badge', async () => {
    const state = await threadRow(page, 1).locator('.state').first().innerText({ timeout: 1000 }).catch(() => '');
    return /^WARN$/i.test(state.trim()) ? state.trim() : undefined;
  }, 120_000);
  let last: { file: string; text: string } | undefined;
  const line = await poll('the editor to mark the WARN( line as the top stack frame', async () => {
    last = await topFrameLine(page);
    return last && /WARN\(/.test(last.text) ? last : undefined;
  }).catch((e) => {
    throw new Error(`${(e as Error).message}; it marks ${JSON.stringify(last ?? 'no line')}`);
  });
  return { badge, line };
}

async function startDebugging(page: Page, file: string): Promise<void> {
  await showFile(page, file);
  await pressF5UntilDebugging(page, { debuggerLabel: 'SMP Lab', perAttemptMs: 20_000 });
  await callStackRows(page, [/^CPU0\b/, /^CPU1\b/, /^CPU2\b/], 60_000);
  await poll('the entry stop', async () => ((await page.locator('.debug-call-stack .monaco-list-row .state', { hasText: /ENTRY/i }).count()) ? true : undefined));
}

async function stopDebugging(page: Page): Promise<void> {
  if (!(await page.locator('.debug-toolbar').isVisible())) return;
  await runCommand(page, 'Debug: Stop');
  await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 60_000 });
}

/** Clicks Explore from Here on the Call Stack's title bar (VS Code shows its actions while it is pointed at). */
async function clickExploreFromHere(page: Page): Promise<void> {
  const header = page.locator('.part.sidebar .pane-header', { hasText: /^\s*Call Stack/i }).first();
  await header.hover();
  const button = header.locator('.action-label[aria-label="Explore from Here"]').first();
  await button.waitFor({ state: 'visible', timeout: 30_000 }).catch(async () => {
    const labels = await page.evaluate(`[...document.querySelectorAll('.part.sidebar .pane-header .action-label')].map(a => a.getAttribute('aria-label'))`);
    throw new Error(`the Call Stack's title bar has no "Explore from Here" button (its actions: ${JSON.stringify(labels)})`);
  });
  await button.click();
}

/** Expands a notification toast, so that its whole message shows (a long one shows cut to one line). */
async function expandNotification(page: Page, text: string): Promise<void> {
  const toast = page.locator('.notification-toast', { hasText: text }).first();
  await toast.hover();
  const expand = toast.locator('.action-label.codicon-notifications-expand').first();
  if (await expand.isVisible()) await expand.click();
  await toast.locator('.action-label.codicon-notifications-collapse').first().waitFor({ state: 'visible', timeout: 10_000 }).catch(() => undefined);
  // pointing at the toast shows its message again as a hover, over the toast: point elsewhere until it goes
  await page.mouse.move(5, 5);
  await page.locator('.workbench-hover').first().waitFor({ state: 'hidden', timeout: 30_000 });
}

/** Waits for a notification matching `re`; returns its text. */
async function notification(page: Page, re: RegExp, timeoutMs = 180_000): Promise<string> {
  let last: string[] = [];
  return poll(`a notification ${re}`, async () => {
    last = await notifications(page);
    return last.find((n) => re.test(n));
  }, timeoutMs).catch((e) => {
    throw new Error(`${(e as Error).message}; notifications: ${JSON.stringify(last)}`);
  });
}

// ---------------------------------------------------------------------------

const RACE = 'ipi-offline-race.smp';
const FIXED = 'ipi-offline-fixed.smp';
/** The fixed scenario without its last expectation, which holds only in the scenario's own schedule. */
const FIXED_EVERY_SCHEDULE = 'fixed-every-schedule.smp';
const WARN_MESSAGE = /WARN on CPU1: IPI on offline CPU 1 \(step \d+\)/;

test('the schedule explorer in a real VS Code: Testing view, Debug Counterexample, Explore from Here', { timeout: 900_000 }, async () => {
  const workspace = scratchWorkspace('smplab-e2e-explorer-', false);
  let server: CodeServer | undefined;
  let ok = false;
  try {
    server = await startCodeServer({ extensionDir: repoRoot(), workspace });
    const page = await openWorkbench(server.url, workspace, { viewport: { width: 1600, height: 1000 } });

    await stage(page, 'testing-view-lists-scenarios', async () => {
      await showTesting(page);
      const files = fs.readdirSync(workspace).filter((f) => f.endsWith('.smp')).sort();
      await poll(`the Testing view to list ${files.join(', ')}`, async () => {
        const top = (await testRows(page)).filter((r) => r.level === 1).map((r) => r.text.replace(/\s.*$/, ''));
        return JSON.stringify(top) === JSON.stringify(files) ? true : undefined;
      });
      for (const file of files) {
        await setTestExpanded(page, file, true);
        const want = expectLines(path.join(workspace, file)).map((l) => l.text);
        const children = await poll(`${file}'s expectations as its children`, async () => {
          const rows = await testRows(page);
          const i = rows.findIndex((r) => r.label.startsWith(`${file} (`));
          const below = rows.slice(i + 1);
          const end = below.findIndex((r) => r.level === 1);
          const names = (end < 0 ? below : below.slice(0, end)).map((r) => r.label.replace(/ \([^)]*\)(, in .*)?$/, ''));
          return JSON.stringify(names) === JSON.stringify(want) ? names : undefined;
        });
        console.log(`  ${file}: ${children.length} expectations`);
      }
      await screenshot(page, 'explorer-01-testing-view');
      for (const file of files) if (file !== RACE) await setTestExpanded(page, file, false);
    });

    await stage(page, 'race-tests-run', async () => {
      await showFile(page, RACE);
      await runTest(page, RACE);
      const states = await waitForStates(page, {
        'expect no warning': 'Failed', 'expect no lost work': 'Passed', 'expect all requests completed': 'Passed', 'expect cpu 1 dead': 'Passed',
      });
      console.log(`  ${states.join('; ')}`);
      // The verdicts at the expectations' lines: the failure's message, the others' output.
      const lines = expectLines(path.join(workspace, RACE));
      const noWarning = lines.find((l) => l.text === 'expect no warning')!;
      const shown = await poll('the failure message at the `expect no warning` line', async () => {
        const text = await failureOnLine(page, noWarning.line);
        return WARN_MESSAGE.test(text) ? text : undefined;
      });
      console.log(`  line ${noWarning.line}: ${shown}`);
      for (const l of lines.filter((x) => x !== noWarning)) {
        console.log(`  line ${l.line}: ${await verifiedAtLine(page, l)}`);
      }
    });

    await stage(page, 'race-failure-peek', async () => {
      const text = await openFailurePeek(page, WARN_MESSAGE);
      console.log(`  peek: ${text}`);
      assert.equal(await lineAbovePeek(page), 'expect no warning', 'the peek is not below the `expect no warning` line');
      assert.match(text, /decided by: step \d+ CPU\d \S.*\.kc:\d+/, 'the message does not name the first access of the deciding race');
      assert.match(text, /and step \d+ CPU\d \S.*\.kc:\d+/, 'the message does not name the second access of the deciding race');
      assert.match(text, /\d+ preemptions?, \d+ steps; found after [\d,]+ states/);
      await peek(page).getByText('Debug Counterexample', { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 }).catch(() => {
        throw new Error('the peek offers no Debug Counterexample');
      });
      await page.mouse.move(5, 5);
      await screenshot(page, 'explorer-02-race-failure');
    });

    await stage(page, 'debug-counterexample', async () => {
      await openFailurePeek(page, WARN_MESSAGE);
      await peek(page).getByText('Debug Counterexample', { exact: true }).first().click();
      const { badge, line } = await waitForWarnStop(page);
      console.log(`  CPU1: ${badge}; ${JSON.stringify(line)}`);
      assert.match(line.file, /smp\.kc/, `the WARN( line is not in smp.kc: ${JSON.stringify(line)}`);
      const log = extensionLogs(server!).filter((f) => /smplab\.smplab[\\/]SMP Lab\.log$/.test(f)).map((f) => fs.readFileSync(f, 'utf8')).join('');
      assert.match(log, /debug counterexample: .*"replay":".*\.counterexample"/, 'the session was not started on a saved counterexample');
      await screenshot(page, 'explorer-05-debug-counterexample');
      await stopDebugging(page);
    });

    await stage(page, 'fixed-expectation-verified', async () => {
      await runCommand(page, 'View: Close All Editors');
      await showTesting(page);
      await showFile(page, FIXED);
      await setTestExpanded(page, RACE, false);
      await setTestExpanded(page, FIXED, true);
      await runTest(page, 'expect no warning');
      // The search takes seconds: its progress lines show in the test output while it runs.
      const expectation = expectLines(path.join(workspace, FIXED)).find((l) => l.text === 'expect no warning')!;
      const line = expectation.line;
      const header = `$ smplab explore ${FIXED} --expectation ${line}`;
      const progress = await waitForOutput(page, header, /^exploring: [\d,]+ states, [\d,]+ transitions/);
      console.log(`  progress: ${progress}`);
      await page.mouse.move(5, 5);
      await screenshot(page, 'explorer-03-fixed-progress');
      await waitForStates(page, { 'expect no warning': 'Passed' });
      const verdict = await waitForOutput(page, header, /^expect no warning: verified: [\d,]+ states, complete$/);
      const atLine = await verifiedAtLine(page, expectation);
      console.log(`  ${verdict}; line ${line}: ${atLine}`);
      await screenshot(page, 'explorer-04-fixed-verified');
    });

    await stage(page, 'testing-cancel', async () => {
      await runTest(page, 'call-function-many.smp');
      const header = '$ smplab explore call-function-many.smp';
      await waitForOutput(page, header, /^exploring: [\d,]+ states/);
      const cancel = page.locator('.part.sidebar .title-actions .action-label[aria-label^="Cancel"]').first();
      await cancel.waitFor({ state: 'visible', timeout: 30_000 }).catch(async () => {
        const labels = await page.evaluate(`[...document.querySelectorAll('.part.sidebar .title-actions .action-label')].map(a => a.getAttribute('aria-label'))`);
        throw new Error(`the Testing view's title bar has no Cancel action while a run goes on (it has ${JSON.stringify(labels)})`);
      });
      await cancel.click();
      await waitForOutput(page, header, /^cancelled$/, 60_000);
      await waitForStates(page, { 'call-function-many.smp': 'Skipped' }, 60_000);
    });

    await stage(page, 'explore-from-here-verified', async () => {
      await runCommand(page, 'View: Close All Editors');
      // outside the workspace, so that the Testing view keeps listing the examples only; Quick Open takes its path
      const text = fs.readFileSync(path.join(workspace, FIXED), 'utf8').split('\n').filter((l) => !/^expect count ipi-receive/.test(l)).join('\n');
      const file = path.join(`${workspace}-outside`, FIXED_EVERY_SCHEDULE);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      await startDebugging(page, file);
      await clickExploreFromHere(page);
      const progress = await notification(page, /SMP Lab: exploring every schedule from here.*[\d,]+ states, [\d,]+ transitions/, 120_000);
      console.log(`  progress: ${progress}`);
      await screenshot(page, 'explorer-06-explore-from-here-progress');
      const result = await notification(page, /every schedule from here satisfies every expectation \([\d,]+ states, complete\)/, 300_000);
      console.log(`  ${result}`);
      const rows = await callStackRows(page, [/^CPU2\b.*ENTRY/]);
      assert.ok(!rows.some((r) => /WARN/.test(r)), `the session moved: ${JSON.stringify(rows)}`);
      await stopDebugging(page);
      await runCommand(page, 'Notifications: Clear All Notifications');
    });

    await stage(page, 'explore-from-here-race', async () => {
      await runCommand(page, 'View: Close All Editors');
      await startDebugging(page, RACE);
      await runCommand(page, 'Debug Console: Focus on Debug Console View');
      await clickExploreFromHere(page);
      const result = await notification(page, /from here, a schedule breaks "expect no warning": WARN on CPU1: IPI on offline CPU 1\. Following it \(\d+ steps\)/);
      console.log(`  ${result}`);
      const { badge, line } = await waitForWarnStop(page);
      console.log(`  CPU1: ${badge}; ${JSON.stringify(line)}`);
      await expandNotification(page, 'from here, a schedule breaks');
      await screenshot(page, 'explorer-07-explore-from-here');
      await stopDebugging(page);
    });
    ok = true;
  } finally {
    await endTest(server, ok, [workspace, `${workspace}-outside`]);
  }
});
