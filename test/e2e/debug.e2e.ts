/**
 * End to end in a real VS Code (code-server), the way a user debugs the 2014 race:
 *
 *   node --import tsx --test test/e2e/debug.e2e.ts
 *
 * Race (examples/ipi-offline-race.smp), with no launch.json:
 *   1. open the scenario, press F5: the Call Stack lists CPU0, CPU1, CPU2 (stopped on entry)
 *   2. Breakpoints view: tick the `cpuhp` event filter, edit its condition to `action == CPU_DYING`
 *   3. continue: the run stops on CPU_DYING
 *   4. "Step Only This CPU" on the CPU1 row: CPU1's top line changes, CPU0's and CPU2's do not
 *   5. Variables: the CPU1 scope shows call_single_queue with trigger_softirq
 *   6. continue: the run stops on the WARN "IPI on offline CPU"
 * Fix (examples/ipi-offline-fixed.smp): F5, continue past CPU_DYING, and the run ends without a warning.
 *
 * SMPLAB_E2E_VSIX=smplab-0.1.0.vsix runs it on the packaged extension (installed with
 * code-server --install-extension) instead of the linked repository; SMPLAB_E2E_ADAPTER=server
 * runs the debug adapter as a separate process (setting smplab.adapter) instead of inline.
 *
 * Every stage prints its name; a failure names the stage, saves test-output/e2e/FAILED-<stage>.png
 * and keeps the code-server run folder (logs). Stage screenshots: test-output/e2e/debug-*.png.
 */
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {
  callStackRows, extensionLogs, openWorkbench, pressF5UntilDebugging, repoRoot, runCommand, screenshot,
  showRunAndDebug, startCodeServer, stopAll, type CodeServer, type Locator, type Page,
} from './harness.js';
import { scratchWorkspace, showFile, stage } from './smplab.js';

after(() => stopAll());

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const squash = (s: string) => s.replace(/[\s\u00a0]+/g, ' ').trim();

async function poll<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------
// Call Stack

/** The Call Stack rows in list order (the DOM order of a virtual list is not its visual order). */
interface StackRow { index: number; text: string; expanded: string | null }
async function stackRows(page: Page): Promise<StackRow[]> {
  const rows = await page.evaluate(`[...document.querySelectorAll('.debug-call-stack .monaco-list-row')]
    .map(r => ({ index: Number(r.dataset.index), text: r.innerText, expanded: r.getAttribute('aria-expanded') }))
    .sort((a, b) => a.index - b.index)`) as StackRow[];
  return rows.map((r) => ({ ...r, text: squash(r.text) }));
}

function threadRow(page: Page, cpu: number): Locator {
  return page.locator('.debug-call-stack .monaco-list-row', { hasText: new RegExp(`^\\s*CPU${cpu}\\b`) }).first();
}

async function setExpanded(page: Page, cpu: number, expand: boolean): Promise<void> {
  const row = threadRow(page, cpu);
  await row.waitFor({ state: 'visible', timeout: 10_000 }).catch(async () => {
    throw new Error(`the Call Stack shows no CPU${cpu} row (rows: ${JSON.stringify((await stackRows(page)).map((r) => r.text))})`);
  });
  const expanded = (await row.getAttribute('aria-expanded')) === 'true';
  if (expanded !== expand) await row.locator('.monaco-tl-twistie').click();
}

/**
 * The top frame row of each CPU, e.g. "__cpu_notify cpu.kc 130:2": expands one CPU at a
 * time (the others collapsed) so the list stays short enough to be rendered whole.
 */
async function topFrames(page: Page, cpus: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const cpu of cpus) {
    for (const other of cpus) if (other !== cpu) await setExpanded(page, other, false);
    await setExpanded(page, cpu, true);
    const top = await poll(`CPU${cpu}'s top frame row`, async () => {
      const rows = await stackRows(page);
      const i = rows.findIndex((r) => new RegExp(`^CPU${cpu}\\b`).test(r.text));
      const next = rows[i + 1];
      return i >= 0 && next && next.index === rows[i].index + 1 && !/^CPU\d+\b/.test(next.text) ? next.text : undefined;
    }, 10_000);
    out.set(cpu, top);
  }
  return out;
}

/** Makes the side bar wider (drags its sash) so the CPU names and frames are readable in screenshots. */
async function widenSideBar(page: Page, by: number): Promise<void> {
  const box = await page.locator('.part.sidebar').boundingBox();
  if (!box) return;
  const x = box.x + box.width + 1;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + by / 2, y, { steps: 5 });
  await page.mouse.move(x + by, y, { steps: 5 });
  await page.mouse.up();
}

/** Collapses a view of the Run and Debug side bar (Watch, Breakpoints, ...) by its header. */
async function collapseView(page: Page, title: RegExp): Promise<void> {
  const header = page.locator('.part.sidebar .pane-header', { hasText: title }).first();
  if ((await header.count()) && (await header.getAttribute('aria-expanded')) === 'true') await header.click();
}

/** Texts of the paused state labels and the exception widget: where VS Code shows why it stopped. */
async function stopTexts(page: Page): Promise<string> {
  const parts = [
    ...(await page.locator('.debug-call-stack .monaco-list-row .state').allInnerTexts()),
    ...(await page.locator('.debug-call-stack .monaco-list-row').allInnerTexts()),
    ...(await page.locator('.exception-widget').allInnerTexts()),
  ];
  return squash(parts.join(' | '));
}

async function waitForStop(page: Page, re: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
  let last = '';
  try {
    const text = await poll(what, async () => {
      last = await stopTexts(page);
      return re.test(last) ? last : undefined;
    }, timeoutMs);
    // For the screenshot: give the editor a moment to show the exception widget too.
    await page.locator('.exception-widget', { hasText: re }).first().waitFor({ state: 'visible', timeout: 5000 }).catch(() => undefined);
    await sleep(500);
    return text;
  } catch {
    throw new Error(`gave up after ${timeoutMs} ms waiting for ${what} (${re}); the Call Stack and exception widget show: ${JSON.stringify(last.slice(0, 800))}`);
  }
}

/** The aria-labels of the elements a locator matches (no functions are sent to the page). */
async function ariaLabels(loc: Locator): Promise<string[]> {
  const out: string[] = [];
  const n = await loc.count();
  for (let i = 0; i < n; i++) out.push((await loc.nth(i).getAttribute('aria-label')) ?? (await loc.nth(i).getAttribute('title')) ?? '');
  return out;
}

async function clickToolbar(page: Page, label: RegExp): Promise<void> {
  const toolbar = page.locator('.debug-toolbar');
  await toolbar.waitFor({ state: 'visible', timeout: 10_000 });
  const labels = await ariaLabels(toolbar.locator('.action-label'));
  const i = labels.findIndex((l) => label.test(l));
  if (i < 0) throw new Error(`the debug toolbar has no ${label} button (it has ${JSON.stringify(labels)})`);
  await toolbar.locator('.action-label').nth(i).click();
}

// ---------------------------------------------------------------------------
// Breakpoints view: event filters (exception breakpoints)

function breakpointsView(page: Page): Locator {
  return page.locator('.debug-breakpoints');
}

async function expandBreakpointsView(page: Page): Promise<void> {
  const view = breakpointsView(page);
  if (await view.isVisible()) return;
  const header = page.locator('.part.sidebar .pane-header', { hasText: /^\s*Breakpoints/i }).first();
  await header.waitFor({ state: 'visible', timeout: 10_000 });
  if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
  await view.waitFor({ state: 'visible', timeout: 10_000 });
}

function filterRow(page: Page, label: RegExp): Locator {
  return breakpointsView(page).locator('.monaco-list-row', { hasText: label }).first();
}

/** Ticks an event filter (a row with role=checkbox and aria-checked in the Breakpoints view). */
async function enableFilter(page: Page, label: RegExp): Promise<void> {
  const row = filterRow(page, label);
  await row.waitFor({ state: 'visible', timeout: 15_000 }).catch(async () => {
    const rows = (await breakpointsView(page).locator('.monaco-list-row').allInnerTexts()).map(squash);
    throw new Error(`the Breakpoints view has no row ${label} (rows: ${JSON.stringify(rows)})`);
  });
  const checked = async () => (await row.getAttribute('aria-checked')) === 'true';
  if (!(await checked())) await row.locator('.monaco-checkbox').first().click();
  await poll(`the ${label} filter to be ticked`, async () => ((await checked()) ? true : undefined), 5000);
}

/** Edits an event filter's condition with its inline "Edit Condition..." action. */
async function setFilterCondition(page: Page, label: RegExp, condition: string): Promise<void> {
  const row = filterRow(page, label);
  await row.hover();
  const edit = row.locator('.action-label[aria-label^="Edit Condition"]').first();
  await edit.waitFor({ state: 'visible', timeout: 5000 }).catch(async () => {
    const labels = await ariaLabels(row.locator('.action-label'));
    throw new Error(`the ${label} row has no "Edit Condition..." action (it has ${JSON.stringify(labels)}); does the filter support conditions?`);
  });
  await edit.click();
  const input = breakpointsView(page).locator('.monaco-list-row .monaco-inputbox input, .monaco-list-row .monaco-inputbox textarea, .monaco-list-row input[type="text"]').first();
  await input.waitFor({ state: 'visible', timeout: 5000 }).catch(() => {
    throw new Error(`no input box for the condition of ${label} after "Edit Condition..."`);
  });
  await input.fill(condition);
  await page.keyboard.press('Enter');
  await poll(`the ${label} row to show the condition "${condition}"`, async () => {
    const text = squash(await filterRow(page, label).innerText());
    return text.includes(condition) ? true : undefined;
  }, 5000).catch(async (e) => {
    throw new Error(`${(e as Error).message}; the row shows ${JSON.stringify(squash(await filterRow(page, label).innerText()))}`);
  });
}

// ---------------------------------------------------------------------------
// Variables view

function variableRows(page: Page): Locator {
  return page.locator('.debug-variables .monaco-list-row');
}

async function expandVariable(page: Page, name: RegExp): Promise<void> {
  const row = page.locator('.debug-variables .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 }).catch(async () => {
    const rows = (await variableRows(page).allInnerTexts()).map(squash);
    throw new Error(`the Variables view has no row ${name} (rows: ${JSON.stringify(rows)})`);
  });
  if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
}

// ---------------------------------------------------------------------------

async function startDebugging(page: Page, file: string): Promise<void> {
  await showFile(page, file);
  await pressF5UntilDebugging(page, { debuggerLabel: 'SMP Lab' });
  await callStackRows(page, [/^CPU0\b/, /^CPU1\b/, /^CPU2\b/]);
}

async function stopDebugging(page: Page): Promise<void> {
  if (!(await page.locator('.debug-toolbar').isVisible())) return;
  await runCommand(page, 'Debug: Stop');
  await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 15_000 });
}

test('debugging the 2014 race and its fix in a real VS Code', { timeout: 420_000 }, async () => {
  const workspace = scratchWorkspace('smplab-e2e-debug-', false);
  let server: CodeServer | undefined;
  let ok = false;
  try {
    // The test installs the packaged extension, as a user would (npm run package, then
    // code-server --install-extension); SMPLAB_E2E_VSIX=path/to/smplab.vsix uses a given package,
    // SMPLAB_E2E_LINKED=1 links the repository instead. SMPLAB_E2E_ADAPTER=server runs the
    // adapter as a process (dist/debugAdapter.js) instead of inline.
    const vsix = process.env.SMPLAB_E2E_LINKED === '1' ? undefined : process.env.SMPLAB_E2E_VSIX ?? packageExtension(workspace);
    const settings = process.env.SMPLAB_E2E_ADAPTER ? { 'smplab.adapter': process.env.SMPLAB_E2E_ADAPTER } : {};
    server = await startCodeServer(vsix ? { vsix, workspace, settings } : { extensionDir: repoRoot(), workspace, settings });
    const page = await openWorkbench(server.url, workspace, { viewport: { width: 1600, height: 1100 } });
    await widenSideBar(page, 260);

    // ---- the race
    await stage(page, 'race-f5-call-stack', async () => {
      await startDebugging(page, 'ipi-offline-race.smp');
      const cpus = (await stackRows(page)).map((r) => /^CPU(\d+)\b/.exec(r.text)?.[1]).filter((c) => c !== undefined).map(Number);
      assert.deepEqual(cpus, [0, 1, 2], `CPU rows: ${JSON.stringify(await stackRows(page))}`);
      await screenshot(page, 'debug-01-race-call-stack');
    });

    await stage(page, 'race-cpuhp-breakpoint', async () => {
      await showRunAndDebug(page);
      await expandBreakpointsView(page);
      await enableFilter(page, /CPU hotplug|cpuhp/i);
      await setFilterCondition(page, /CPU hotplug|cpuhp/i, 'action == CPU_DYING');
      await enableFilter(page, /^\s*WARN\b/);
      await screenshot(page, 'debug-02-race-cpuhp-filter');
      // Room for the Call Stack and Variables from here on.
      await collapseView(page, /^\s*Watch/i);
      await collapseView(page, /^\s*Breakpoints/i);
    });

    await stage(page, 'race-stop-on-cpu-dying', async () => {
      await clickToolbar(page, /^Continue/);
      await waitForStop(page, /CPU_DYING/, 'the stop on CPU_DYING');
      await screenshot(page, 'debug-03-race-cpu-dying');
    });

    await stage(page, 'race-step-only-cpu1', async () => {
      const before = await topFrames(page, [0, 2, 1]);
      console.log(`  top frames before: ${JSON.stringify([...before])}`);
      const row = threadRow(page, 1);
      await row.hover();
      const action = row.locator('.action-label[aria-label="Step Only This CPU"]').first();
      await action.waitFor({ state: 'visible', timeout: 5000 }).catch(async () => {
        throw new Error(`the CPU1 row has no "Step Only This CPU" action (it has ${JSON.stringify(await ariaLabels(row.locator('.action-label')))})`);
      });
      await action.click();
      const after = await poll('CPU1\'s top frame to change', async () => {
        await setExpanded(page, 1, true);
        const t = await topFrames(page, [1]);
        return t.get(1) !== before.get(1) ? t : undefined;
      });
      for (const [cpu, top] of await topFrames(page, [0, 2, 1])) after.set(cpu, top);
      console.log(`  top frames after:  ${JSON.stringify([...after])}`);
      assert.notEqual(after.get(1), before.get(1), 'CPU1\'s top frame did not change');
      for (const cpu of [0, 2]) assert.equal(after.get(cpu), before.get(cpu), `CPU${cpu}'s top frame changed`);
      await screenshot(page, 'debug-04-race-step-cpu1');
    });

    await stage(page, 'race-cpu1-queue', async () => {
      // Select CPU1's top frame, then open its CPU scope and the queue.
      const rows = await stackRows(page);
      const i = rows.findIndex((r) => /^CPU1\b/.test(r.text));
      await page.locator(`.debug-call-stack .monaco-list-row[data-index="${rows[i].index + 1}"]`).click();
      // Collapse Locals so the CPU1 scope, its queue and the queue's entries fit in the view.
      const locals = page.locator('.debug-variables .monaco-list-row', { hasText: /^\s*Locals\s*$/ }).first();
      if ((await locals.getAttribute('aria-expanded')) === 'true') await locals.locator('.monaco-tl-twistie').click();
      await expandVariable(page, /^\s*CPU1\s*$/);
      const queue = await poll('trigger_softirq on CPU1\'s call_single_queue in the Variables view', async () => {
        const vars = (await variableRows(page).allInnerTexts()).map(squash);
        return vars.find((v) => /call_single_queue.*trigger_softirq/.test(v));
      });
      console.log(`  ${queue}`);
      await expandVariable(page, /call_single_queue/);
      // Its entries: [0] is the csd whose func is trigger_softirq.
      await page.locator('.debug-variables .monaco-list-row', { hasText: /^\s*\[0\]/ }).first()
        .waitFor({ state: 'visible', timeout: 10_000 }).catch(() => console.log('  (the queue did not show its entries)'));
      await screenshot(page, 'debug-05-race-cpu1-queue');
    });

    await stage(page, 'race-freeze-thaw-cpu0', async () => {
      const frozen = async (want: boolean) => poll(`the CPU0 row to ${want ? '' : 'no longer '}say "frozen"`, async () => {
        const row = (await stackRows(page)).find((r) => /^CPU0\b/.test(r.text));
        return row && /\bfrozen\b/.test(row.text) === want ? row.text : undefined;
      }, 10_000);
      for (const [title, want] of [['Freeze CPU', true], ['Thaw CPU', false]] as const) {
        const row = threadRow(page, 0);
        await row.hover();
        await row.locator(`.action-label[aria-label="${title}"]`).first().click();
        console.log(`  after ${title}: ${await frozen(want)}`);
        if (want) await screenshot(page, 'debug-06-race-cpu0-frozen');
      }
      const log = extensionLogs(server!).filter((f) => /smplab\.smplab[\\/]SMP Lab\.log$/.test(f)).map((f) => fs.readFileSync(f, 'utf8')).join('');
      assert.match(log, /Step Only This CPU: next \{"threadId":2,"singleThread":true\}/, 'the extension log does not show the step request for CPU1');
      assert.match(log, /Freeze CPU: freeze \{"threadId":1\}/, 'the extension log does not show the freeze request for CPU0');
      assert.match(log, /F5 without a launch configuration/, 'F5 did not go through the configuration provider (no launch.json)');
      const mode = process.env.SMPLAB_E2E_ADAPTER === 'server' ? /: adapter process .*debugAdapter\.js/ : /: inline adapter/;
      assert.match(log, mode, `the extension log does not say the adapter ran as expected (${mode})`);
    });

    await stage(page, 'race-warn', async () => {
      await clickToolbar(page, /^Continue/);
      await waitForStop(page, /\bWARN\b/, 'the stop on the WARN');
      await screenshot(page, 'debug-07-race-warn');
    });

    await stage(page, 'race-stop-session', () => stopDebugging(page));

    // ---- the fix
    await stage(page, 'fixed-f5', async () => {
      await startDebugging(page, 'ipi-offline-fixed.smp');
      await screenshot(page, 'debug-08-fixed-call-stack');
    });

    await stage(page, 'fixed-cpu-dying', async () => {
      await clickToolbar(page, /^Continue/);
      await waitForStop(page, /CPU_DYING/, 'the stop on CPU_DYING (the cpuhp filter is kept)');
      await screenshot(page, 'debug-09-fixed-cpu-dying');
    });

    await stage(page, 'fixed-ends-without-warning', async () => {
      await clickToolbar(page, /^Continue/);
      const end = await poll('the run to end', async () => {
        if (!(await page.locator('.debug-toolbar').isVisible())) return 'the session ended';
        const t = await stopTexts(page);
        return /IPI on offline CPU|\bWARN/i.test(t) || /end of run|deadlock/i.test(t) ? t : undefined;
      }, 60_000);
      assert.doesNotMatch(end, /IPI on offline CPU|\bWARN|deadlock/i, `the fixed run did not end cleanly: ${end}`);
      // The adapter prints the expectations' verdicts in the Debug Console at the end of the run.
      const repl = await poll('"expect no warning" in the Debug Console', async () => {
        const lines = (await page.locator('.repl .monaco-list-row').allInnerTexts()).map(squash);
        return lines.some((l) => /expect no warning/.test(l)) ? lines : undefined;
      }, 10_000);
      assert.ok(repl.some((l) => /^PASS expect no warning/.test(l)), `Debug Console: ${JSON.stringify(repl.slice(-8))}`);
      await screenshot(page, 'debug-10-fixed-end');
    });
    await stage(page, 'fixed-stop-session', () => stopDebugging(page));
    ok = true;
  } finally {
    if (!ok && server) {
      for (const f of extensionLogs(server).filter((f) => /smplab/.test(f))) console.log(`extension log: ${f}`);
    }
    await stopAll({ keep: !ok || process.env.E2E_KEEP === '1' });
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});

/** `npm run package` into a scratch folder; returns the .vsix path. */
function packageExtension(scratch: string): string {
  const out = `${scratch}-smplab.vsix`;
  const r = spawnSync(process.execPath, [`${repoRoot()}/scripts/package.mjs`], { cwd: repoRoot(), encoding: 'utf8', env: { ...process.env, SMPLAB_VSIX_OUT: out } });
  if (r.status !== 0) throw new Error(`npm run package failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}
