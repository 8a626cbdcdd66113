/**
 * End to end in a real VS Code (code-server), the way a user meets SMP Lab and debugs the 2014 race:
 *
 *   node --import tsx --test test/e2e/debug.e2e.ts
 *
 * Race (examples/ipi-offline-race.smp), with no launch.json, at VS Code's default side-bar width:
 *   1. open the scenario, press F5: the Call Stack shows, without the user opening it, CPU0..CPU2
 *      whose names are readable; the entry stop's line is the scenario's `cpu 2 runs` line
 *   2. continue: the run stops on the WARN, on the `WARN(` line, with the exception widget, and
 *      the CPU names are still readable
 * The race again, step by step:
 *   3. Breakpoints view: tick the `cpuhp` event filter, edit its condition to `action == CPU_DYING`
 *   4. continue: the run stops on CPU_DYING
 *   5. "Step Only This CPU" (the one inline action of a CPU row) on CPU1: CPU1's top line changes,
 *      CPU0's and CPU2's do not
 *   6. Variables: the CPU1 scope shows call_single_queue with trigger_softirq
 *   7. Freeze / Thaw CPU from CPU0's context menu
 *   8. continue: the run stops on the WARN. (The exception widget is checked in the first session:
 *      after a frame was clicked at an earlier stop, VS Code 1.139 shows it only sometimes.)
 * Walkthrough (opened first, as a student does, then closed): the steps whose actions were done
 * above are ticked, the others are not; its
 * "Debug ipi-offline-lost.smp" button starts a session beside it (the walkthrough stays visible),
 * the run stops where CPU 1 dies with trigger_softirq still queued (a stranded csd, shown in
 * Variables) and the walkthrough ticks that step.
 * Fix (examples/ipi-offline-fixed.smp): F5, continue past CPU_DYING, and the run ends without a warning.
 *
 * SMPLAB_E2E_VSIX=smplab-0.1.0.vsix runs it on the packaged extension (installed with
 * code-server --install-extension) instead of a freshly packaged one; SMPLAB_E2E_LINKED=1 links
 * the repository instead; SMPLAB_E2E_ADAPTER=server runs the debug adapter as a separate process
 * (setting smplab.adapter) instead of inline.
 *
 * Every stage prints its name; a failure names the stage, saves test-output/e2e/FAILED-<stage>.png
 * and keeps the code-server run folder (logs). Stage screenshots: test-output/e2e/debug-*.png.
 * Every wait is for something VS Code shows, with deadlines meant for a busy machine.
 */
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {
  callStackRows, extensionLogs, openWorkbench, pressF5UntilDebugging, repoRoot, runCommand, screenshot,
  showRunAndDebug, startCodeServer, stopAll, type CodeServer, type Locator, type Page,
} from './harness.js';
import {
  assertCpuNamesReadable, clickWalkthroughButton, endTest, openWalkthrough, poll, scratchWorkspace, showFile, squash, stage,
  topFrameLine, walkthroughTicks, walkthroughVisible,
} from './smplab.js';

after(() => stopAll());

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

/**
 * Expands or collapses a CPU row and waits until VS Code shows it so. The twistie is clicked
 * only when the row shows the other state, and only once per state VS Code has shown: while the
 * Call Stack refreshes after a stop, a row can show collapsed for a moment and then expand by
 * itself, and a second click would collapse it again.
 */
async function setExpanded(page: Page, cpu: number, expand: boolean): Promise<void> {
  const row = threadRow(page, cpu);
  await row.waitFor({ state: 'visible', timeout: 30_000 }).catch(async () => {
    throw new Error(`the Call Stack shows no CPU${cpu} row (rows: ${JSON.stringify((await stackRows(page)).map((r) => r.text))})`);
  });
  const want = expand ? 'true' : 'false';
  await poll(`the CPU${cpu} row to be ${expand ? 'expanded' : 'collapsed'}`, async () => {
    const now = await row.getAttribute('aria-expanded', { timeout: 10_000 }).catch(() => null);
    if (now === want) return true;
    if (now !== null) {
      await row.locator('.monaco-tl-twistie').click({ timeout: 10_000 }).catch(() => undefined);
      // Let VS Code show the click before judging again.
      await poll('the twistie click to show', async () => ((await row.getAttribute('aria-expanded').catch(() => null)) !== now ? true : undefined), 5000)
        .catch(() => undefined);
    }
    return undefined;
  });
}

/** The row right below a CPU's row when it is a frame row (the CPU's top frame), else undefined. */
async function topFrameRow(page: Page, cpu: number): Promise<string | undefined> {
  const rows = await stackRows(page);
  const i = rows.findIndex((r) => new RegExp(`^CPU${cpu}\\b`).test(r.text));
  const next = rows[i + 1];
  return i >= 0 && rows[i].expanded === 'true' && next && next.index === rows[i].index + 1 && !/^CPU\d+\b/.test(next.text) ? next.text : undefined;
}

/**
 * The top frame row of each CPU, e.g. "__cpu_notify cpu.kc 130:2": expands one CPU at a
 * time (the others collapsed) so the list stays short enough to be rendered whole.
 */
async function topFrames(page: Page, cpus: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const cpu of cpus) {
    for (const other of cpus) if (other !== cpu) await setExpanded(page, other, false);
    const top = await poll(`CPU${cpu}'s top frame row`, async () => {
      await setExpanded(page, cpu, true); // a refresh of the Call Stack may have collapsed it again
      await threadRow(page, cpu).scrollIntoViewIfNeeded({ timeout: 5000 }).catch(() => undefined);
      return topFrameRow(page, cpu);
    });
    out.set(cpu, top);
  }
  return out;
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

async function waitForStop(page: Page, re: RegExp, what: string, timeoutMs = 90_000): Promise<string> {
  let last = '';
  try {
    return await poll(what, async () => {
      last = await stopTexts(page);
      return re.test(last) ? last : undefined;
    }, timeoutMs);
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
  await toolbar.waitFor({ state: 'visible', timeout: 30_000 });
  const labels = await ariaLabels(toolbar.locator('.action-label'));
  const i = labels.findIndex((l) => label.test(l));
  if (i < 0) throw new Error(`the debug toolbar has no ${label} button (it has ${JSON.stringify(labels)})`);
  await toolbar.locator('.action-label').nth(i).click();
}

/**
 * Runs an item of a CPU row's context menu (right click). The item is chosen with the pointer
 * and taken with Enter: VS Code's menu ignores a mouse release for its first 100 ms (so the
 * right click's own release does not pick an item), and a click that lands that soon is lost.
 */
async function cpuContextMenu(page: Page, cpu: number, item: string): Promise<void> {
  await threadRow(page, cpu).click({ button: 'right' });
  const entry = page.locator('.context-view .monaco-menu .action-item', { hasText: item }).first();
  await entry.waitFor({ state: 'visible', timeout: 20_000 }).catch(async () => {
    const items = (await page.locator('.context-view .monaco-menu .action-item').allInnerTexts()).map(squash);
    await page.keyboard.press('Escape');
    throw new Error(`the CPU${cpu} row's context menu has no "${item}" (it has ${JSON.stringify(items)})`);
  });
  await entry.hover();
  await poll(`"${item}" to be the menu's chosen item`, async () => (/\bfocused\b/.test((await entry.getAttribute('class')) ?? '') ? true : undefined), 20_000);
  await page.keyboard.press('Enter');
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
  await header.waitFor({ state: 'visible', timeout: 30_000 });
  if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
  await view.waitFor({ state: 'visible', timeout: 30_000 });
}

function filterRow(page: Page, label: RegExp): Locator {
  return breakpointsView(page).locator('.monaco-list-row', { hasText: label }).first();
}

/** Ticks an event filter (a row with role=checkbox and aria-checked in the Breakpoints view). */
async function enableFilter(page: Page, label: RegExp): Promise<void> {
  const row = filterRow(page, label);
  await row.waitFor({ state: 'visible', timeout: 30_000 }).catch(async () => {
    const rows = (await breakpointsView(page).locator('.monaco-list-row').allInnerTexts()).map(squash);
    throw new Error(`the Breakpoints view has no row ${label} (rows: ${JSON.stringify(rows)})`);
  });
  const checked = async () => (await row.getAttribute('aria-checked')) === 'true';
  if (!(await checked())) await row.locator('.monaco-checkbox').first().click();
  await poll(`the ${label} filter to be ticked`, async () => ((await checked()) ? true : undefined), 20_000);
}

/** Edits an event filter's condition with its inline "Edit Condition..." action. */
async function setFilterCondition(page: Page, label: RegExp, condition: string): Promise<void> {
  const row = filterRow(page, label);
  await row.hover();
  const edit = row.locator('.action-label[aria-label^="Edit Condition"]').first();
  await edit.waitFor({ state: 'visible', timeout: 20_000 }).catch(async () => {
    const labels = await ariaLabels(row.locator('.action-label'));
    throw new Error(`the ${label} row has no "Edit Condition..." action (it has ${JSON.stringify(labels)}); does the filter support conditions?`);
  });
  await edit.click();
  const input = breakpointsView(page).locator('.monaco-list-row .monaco-inputbox input, .monaco-list-row .monaco-inputbox textarea, .monaco-list-row input[type="text"]').first();
  await input.waitFor({ state: 'visible', timeout: 20_000 }).catch(() => {
    throw new Error(`no input box for the condition of ${label} after "Edit Condition..."`);
  });
  await input.fill(condition);
  await page.keyboard.press('Enter');
  await poll(`the ${label} row to show the condition "${condition}"`, async () => {
    const text = squash(await filterRow(page, label).innerText());
    return text.includes(condition) ? true : undefined;
  }, 20_000).catch(async (e) => {
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
  await row.waitFor({ state: 'visible', timeout: 30_000 }).catch(async () => {
    const rows = (await variableRows(page).allInnerTexts()).map(squash);
    throw new Error(`the Variables view has no row ${name} (rows: ${JSON.stringify(rows)})`);
  });
  if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
}

// ---------------------------------------------------------------------------

async function startDebugging(page: Page, file: string): Promise<void> {
  await showFile(page, file);
  await pressF5UntilDebugging(page, { debuggerLabel: 'SMP Lab', perAttemptMs: 20_000 });
  await callStackRows(page, [/^CPU0\b/, /^CPU1\b/, /^CPU2\b/], 60_000);
}

async function stopDebugging(page: Page): Promise<void> {
  if (!(await page.locator('.debug-toolbar').isVisible())) return;
  await runCommand(page, 'Debug: Stop');
  await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 60_000 });
}

/** Waits until the Call Stack is on screen with the three CPU rows, without opening any view. */
async function callStackShownBySession(page: Page): Promise<string[]> {
  return poll('the Call Stack to show CPU0, CPU1 and CPU2 (nothing opened it but the session)', async () => {
    if (!(await page.locator('.debug-call-stack').isVisible())) return undefined;
    const rows = (await stackRows(page)).map((r) => r.text);
    return [0, 1, 2].every((c) => rows.some((r) => new RegExp(`^CPU${c}\\b`).test(r))) ? rows : undefined;
  });
}

/** Waits until the editor marks a top stack frame line matching `re`; returns the file and line. */
async function waitForTopFrameLine(page: Page, re: RegExp, what: string): Promise<{ file: string; text: string }> {
  let last: { file: string; text: string } | undefined;
  try {
    return await poll(what, async () => {
      last = await topFrameLine(page);
      return last && re.test(`${last.file} ${last.text}`) ? last : undefined;
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}; the editor marks ${JSON.stringify(last ?? 'no top frame line')}`);
  }
}

/** Selects a CPU's top frame, so the Variables view shows that CPU's scope. */
async function selectTopFrame(page: Page, cpu: number): Promise<void> {
  await topFrames(page, [cpu]);
  const rows = await stackRows(page);
  const i = rows.findIndex((r) => new RegExp(`^CPU${cpu}\\b`).test(r.text));
  await page.locator(`.debug-call-stack .monaco-list-row[data-index="${rows[i].index + 1}"]`).click();
}

/** Opens CPU<n> → call_single_queue in Variables; returns the queue's row and its first entry. */
async function openQueue(page: Page, cpu: number): Promise<{ queue: string; rows: string[] }> {
  // Collapse Locals so the CPU scope, its queue and the queue's entries fit in the view.
  const locals = page.locator('.debug-variables .monaco-list-row', { hasText: /^\s*Locals\s*$/ }).first();
  if ((await locals.getAttribute('aria-expanded', { timeout: 30_000 })) === 'true') await locals.locator('.monaco-tl-twistie').click();
  await expandVariable(page, new RegExp(`^\\s*CPU${cpu}\\s*$`));
  const queue = await poll(`trigger_softirq on CPU${cpu}'s call_single_queue in the Variables view`, async () => {
    const vars = (await variableRows(page).allInnerTexts()).map(squash);
    return vars.find((v) => /call_single_queue.*trigger_softirq/.test(v));
  });
  await expandVariable(page, /call_single_queue/);
  // Its entries: [0] is the csd whose func is trigger_softirq. The view draws only the rows in
  // sight; a refresh after the frame changed can open Locals again and push [0] below them.
  const first = page.locator('.debug-variables .monaco-list-row', { hasText: /^\s*\[0\]/ }).first();
  await poll(`the first entry of CPU${cpu}'s call_single_queue in sight in the Variables view`, async () => {
    if (await first.isVisible()) return true;
    if ((await locals.getAttribute('aria-expanded')) === 'true') await locals.locator('.monaco-tl-twistie').click();
    else {
      await page.locator('.debug-variables .monaco-list').first().hover();
      await page.mouse.wheel(0, 120);
    }
    return undefined;
  }, 30_000);
  return { queue, rows: (await variableRows(page).allInnerTexts()).map(squash) };
}

test('debugging the 2014 race, the work it loses and its fix in a real VS Code', { timeout: 900_000 }, async () => {
  const workspace = scratchWorkspace('smplab-e2e-debug-', false);
  let server: CodeServer | undefined;
  let ok = false;
  /** failures of the stages that only check what VS Code shows; the test fails on them at its end */
  const failed: string[] = [];
  try {
    // The test installs the packaged extension, as a user would (npm run package, then
    // code-server --install-extension); SMPLAB_E2E_VSIX=path/to/smplab.vsix uses a given package,
    // SMPLAB_E2E_LINKED=1 links the repository instead. SMPLAB_E2E_ADAPTER=server runs the
    // adapter as a process (dist/debugAdapter.js) instead of inline.
    const vsix = process.env.SMPLAB_E2E_LINKED === '1' ? undefined : process.env.SMPLAB_E2E_VSIX ?? packageExtension(workspace);
    const settings = process.env.SMPLAB_E2E_ADAPTER ? { 'smplab.adapter': process.env.SMPLAB_E2E_ADAPTER } : {};
    server = await startCodeServer(vsix ? { vsix, workspace, settings } : { extensionDir: repoRoot(), workspace, settings });
    // The side bar keeps VS Code's default width throughout: that is what a new user has.
    const page = await openWorkbench(server.url, workspace, { viewport: { width: 1600, height: 1100 } });

    // ---- the walkthrough, as a student opens it first: VS Code tracks a walkthrough's progress
    // from the moment its service runs (with this profile's settings, when it is first opened)
    await stage(page, 'walkthrough-opened-first', async () => {
      await openWalkthrough(page);
      const ticks = await walkthroughTicks(page);
      assert.ok(Object.keys(ticks).length === 8 && Object.values(ticks).every((t) => !t), `ticks: ${JSON.stringify(ticks)}`);
      await runCommand(page, 'View: Close All Editors');
    });

    // ---- the race
    await stage(page, 'race-f5-shows-call-stack', async () => {
      await showFile(page, 'ipi-offline-race.smp');
      await pressF5UntilDebugging(page, { debuggerLabel: 'SMP Lab', perAttemptMs: 20_000 });
      const rows = await callStackShownBySession(page);
      const cpus = rows.map((r) => /^CPU(\d+)\b/.exec(r)?.[1]).filter((c) => c !== undefined).map(Number);
      assert.deepEqual(cpus, [0, 1, 2], `CPU rows: ${JSON.stringify(rows)}`);
      await poll('the editor to mark the entry stop\'s line', () => topFrameLine(page));
      await screenshot(page, 'debug-01-race-entry');
    });

    await stage(page, 'race-entry-frame-in-scenario', async () => {
      const line = await waitForTopFrameLine(page, /ipi-offline-race\.smp.*cpu 2 runs cpu_down\(1\)/,
        'the entry stop to show the scenario line "cpu 2 runs cpu_down(1)" in ipi-offline-race.smp');
      console.log(`  entry stop: ${JSON.stringify(line)}`);
    }, failed);

    await stage(page, 'race-cpu-names-readable-at-entry', async () => {
      console.log(`  readable: ${JSON.stringify(await assertCpuNamesReadable(page, [0, 1, 2]))}`);
      // One inline action of ours on a CPU row; Freeze and Thaw are in its context menu.
      const row = threadRow(page, 1);
      await row.hover();
      const labels = await ariaLabels(row.locator('.action-label'));
      assert.ok(labels.includes('Step Only This CPU'), `CPU1's inline actions: ${JSON.stringify(labels)}`);
      assert.ok(!labels.some((l) => /Freeze CPU|Thaw CPU/.test(l)), `CPU1's inline actions: ${JSON.stringify(labels)}`);
      await screenshot(page, 'debug-02-race-cpu-rows');
      await page.mouse.move(5, 5);
    }, failed);

    await stage(page, 'race-warn', async () => {
      await clickToolbar(page, /^Continue/);
      await waitForStop(page, /\bWARN\b/, 'the stop on the WARN');
    });

    await stage(page, 'race-warn-on-warn-line-with-exception-widget', async () => {
      try {
        const line = await waitForTopFrameLine(page, /WARN\(/, 'the WARN stop to mark the WARN( line');
        console.log(`  WARN stop: ${JSON.stringify(line)}`);
        await page.locator('.exception-widget', { hasText: /IPI on offline CPU/ }).first().waitFor({ state: 'visible', timeout: 60_000 }).catch(async () => {
          throw new Error(`no exception widget saying "IPI on offline CPU" (widgets: ${JSON.stringify(await page.locator('.exception-widget').allInnerTexts())})`);
        });
      } finally {
        await screenshot(page, 'debug-03-race-warn');
      }
    }, failed);

    await stage(page, 'race-cpu-names-readable-at-warn', async () => {
      console.log(`  readable: ${JSON.stringify(await assertCpuNamesReadable(page, [0, 1, 2]))}`);
    }, failed);

    await stage(page, 'race-stop-session', () => stopDebugging(page));

    // ---- the race again, step by step, as the walkthrough leads a student through it
    await stage(page, 'race-f5-again', () => startDebugging(page, 'ipi-offline-race.smp'));

    await stage(page, 'race-cpuhp-breakpoint', async () => {
      await showRunAndDebug(page);
      await expandBreakpointsView(page);
      await enableFilter(page, /CPU hotplug|cpuhp/i);
      await setFilterCondition(page, /CPU hotplug|cpuhp/i, 'action == CPU_DYING');
      await enableFilter(page, /^\s*WARN\b/);
      await screenshot(page, 'debug-04-race-cpuhp-filter');
      // Room for the Call Stack and Variables from here on.
      await collapseView(page, /^\s*Watch/i);
      await collapseView(page, /^\s*Breakpoints/i);
    });

    await stage(page, 'race-stop-on-cpu-dying', async () => {
      await clickToolbar(page, /^Continue/);
      await waitForStop(page, /CPU_DYING/, 'the stop on CPU_DYING');
      await screenshot(page, 'debug-05-race-cpu-dying');
    });

    await stage(page, 'race-step-only-cpu1', async () => {
      const before = await topFrames(page, [0, 2, 1]);
      console.log(`  top frames before: ${JSON.stringify([...before])}`);
      const row = threadRow(page, 1);
      await row.hover();
      const action = row.locator('.action-label[aria-label="Step Only This CPU"]').first();
      await action.waitFor({ state: 'visible', timeout: 20_000 }).catch(async () => {
        throw new Error(`the CPU1 row has no "Step Only This CPU" action (it has ${JSON.stringify(await ariaLabels(row.locator('.action-label')))})`);
      });
      await action.click();
      await poll('CPU1\'s top frame to change', async () => {
        await setExpanded(page, 1, true);
        const top = await topFrameRow(page, 1);
        return top !== undefined && top !== before.get(1) ? top : undefined;
      });
      const after = await topFrames(page, [0, 2, 1]);
      console.log(`  top frames after:  ${JSON.stringify([...after])}`);
      assert.notEqual(after.get(1), before.get(1), 'CPU1\'s top frame did not change');
      for (const cpu of [0, 2]) assert.equal(after.get(cpu), before.get(cpu), `CPU${cpu}'s top frame changed`);
      await screenshot(page, 'debug-06-race-step-cpu1');
    });

    await stage(page, 'race-cpu1-queue', async () => {
      await selectTopFrame(page, 1);
      const { queue } = await openQueue(page, 1);
      console.log(`  ${queue}`);
      await screenshot(page, 'debug-07-race-cpu1-queue');
    });

    await stage(page, 'race-freeze-thaw-cpu0', async () => {
      const frozen = async (want: boolean) => poll(`the CPU0 row to ${want ? '' : 'no longer '}say "frozen"`, async () => {
        const row = (await stackRows(page)).find((r) => /^CPU0\b/.test(r.text));
        return row && /\bfrozen\b/.test(row.text) === want ? row.text : undefined;
      });
      for (const [title, want] of [['Freeze CPU', true], ['Thaw CPU', false]] as const) {
        await cpuContextMenu(page, 0, title);
        console.log(`  after ${title}: ${await frozen(want)}`);
        if (want) await screenshot(page, 'debug-08-race-cpu0-frozen');
      }
      const log = extensionLogs(server!).filter((f) => /smplab\.smplab[\\/]SMP Lab\.log$/.test(f)).map((f) => fs.readFileSync(f, 'utf8')).join('');
      assert.match(log, /Step Only This CPU: next \{"threadId":2,"singleThread":true\}/, 'the extension log does not show the step request for CPU1');
      assert.match(log, /Freeze CPU: freeze \{"threadId":1\}/, 'the extension log does not show the freeze request for CPU0');
      assert.match(log, /F5 without a launch configuration/, 'F5 did not go through the configuration provider (no launch.json)');
      assert.match(log, /showing the Call Stack/, 'the session start did not show the Call Stack');
      const mode = process.env.SMPLAB_E2E_ADAPTER === 'server' ? /: adapter process .*debugAdapter\.js/ : /: inline adapter/;
      assert.match(log, mode, `the extension log does not say the adapter ran as expected (${mode})`);
    });

    await stage(page, 'race-continue-to-warn', async () => {
      await clickToolbar(page, /^Continue/);
      await waitForStop(page, /\bWARN\b/, 'the stop on the WARN');
      await screenshot(page, 'debug-09-race-warn-after-steps');
    });

    await stage(page, 'race-stop-session-again', () => stopDebugging(page));

    // ---- the walkthrough: progress, and the lost work
    await stage(page, 'walkthrough-ticks-what-was-done', async () => {
      await openWalkthrough(page);
      const ticks = await poll('the walkthrough to show its steps', async () => {
        const t = await walkthroughTicks(page);
        return Object.keys(t).length ? t : undefined;
      });
      console.log(`  ticks: ${JSON.stringify(ticks)}`);
      assert.deepEqual(ticks, {
        'ipi': false, 'stop-machine': true, 'cpu-dying': true, 'step': true, 'queue': true, 'warn': true, 'lost': false, 'fix': false,
      });
      await screenshot(page, 'debug-10-walkthrough-progress');
    });

    await stage(page, 'walkthrough-debug-lost-work', async () => {
      await clickWalkthroughButton(page, 'lost', 'Debug ipi-offline-lost.smp');
      await callStackShownBySession(page);
      assert.ok(await walkthroughVisible(page), 'the walkthrough is no longer visible after its Debug button');
      // The cpuhp filter from the race is still ticked: the run stops on CPU_DYING first.
      await clickToolbar(page, /^Continue/);
      await waitForStop(page, /CPU_DYING/, 'the stop on CPU_DYING');
      await expandBreakpointsView(page);
      await enableFilter(page, /Lost work/i);
      await collapseView(page, /^\s*Breakpoints/i);
      await clickToolbar(page, /^Continue/);
      await waitForStop(page, /lost|Lost work/i, 'the stop on the lost work');
      assert.doesNotMatch(await stopTexts(page), /IPI on offline CPU/, 'the lost-work run warned');
    });

    await stage(page, 'lost-work-stranded-csd', async () => {
      await selectTopFrame(page, 1);
      const { rows } = await openQueue(page, 1);
      assert.ok(rows.some((r) => /^dead = true/.test(r)), `CPU1 is not dead in Variables: ${JSON.stringify(rows)}`);
      assert.ok(rows.some((r) => /trigger_softirq/.test(r)), `no trigger_softirq in Variables: ${JSON.stringify(rows)}`);
      await poll('the walkthrough to tick the lost-work step', async () => ((await walkthroughTicks(page)).lost ? true : undefined));
      assert.ok(await walkthroughVisible(page), 'the walkthrough is no longer visible');
      await screenshot(page, 'debug-11-lost-stranded-csd');
    });
    await stage(page, 'lost-stop-session', () => stopDebugging(page));

    // ---- the fix
    await stage(page, 'fixed-f5', async () => {
      await runCommand(page, 'View: Close All Editors');
      await startDebugging(page, 'ipi-offline-fixed.smp');
      await screenshot(page, 'debug-12-fixed-entry');
    });

    await stage(page, 'fixed-cpu-dying', async () => {
      await clickToolbar(page, /^Continue/);
      await waitForStop(page, /CPU_DYING/, 'the stop on CPU_DYING (the cpuhp filter is kept)');
      await screenshot(page, 'debug-13-fixed-cpu-dying');
    });

    await stage(page, 'fixed-ends-without-warning', async () => {
      await clickToolbar(page, /^Continue/);
      const end = await poll('the run to end', async () => {
        if (!(await page.locator('.debug-toolbar').isVisible())) return 'the session ended';
        const t = await stopTexts(page);
        return /IPI on offline CPU|\bWARN|lost work/i.test(t) || /end of run|deadlock|all frozen/i.test(t) ? t : undefined;
      }, 120_000);
      assert.doesNotMatch(end, /IPI on offline CPU|\bWARN|lost work|deadlock|all frozen/i, `the fixed run did not end cleanly: ${end}`);
      // The adapter prints the expectations' verdicts in the Debug Console at the end of the run.
      const repl = await poll('"expect no warning" in the Debug Console', async () => {
        const lines = (await page.locator('.repl .monaco-list-row').allInnerTexts()).map(squash);
        return lines.some((l) => /expect no warning/.test(l)) ? lines : undefined;
      });
      assert.ok(repl.some((l) => /^PASS expect no warning/.test(l)), `Debug Console: ${JSON.stringify(repl.slice(-8))}`);
      await screenshot(page, 'debug-14-fixed-end');
    });
    await stage(page, 'fixed-stop-session', () => stopDebugging(page));
    assert.deepEqual(failed, [], `${failed.length} stage(s) failed:\n${failed.join('\n')}`);
    ok = true;
  } finally {
    await endTest(server, ok, [workspace]);
  }
});

/** `npm run package` into a scratch folder; returns the .vsix path. */
function packageExtension(scratch: string): string {
  const out = `${scratch}-smplab.vsix`;
  const r = spawnSync(process.execPath, [`${repoRoot()}/scripts/package.mjs`], { cwd: repoRoot(), encoding: 'utf8', env: { ...process.env, SMPLAB_VSIX_OUT: out } });
  if (r.status !== 0) throw new Error(`npm run package failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}
