/**
 * End to end in a real VS Code (code-server): the extension activates and its glue works,
 * independently of a debug session.
 *
 *   node --import tsx --test test/e2e/extension.e2e.ts
 *
 * Checks: the language modes show as "SMP Lab scenario" and "KC (kernel C)"; the CodeLens
 * "Run Scenario | Debug Scenario" shows on the first line of a .smp file and the editor
 * title has the Run / Debug buttons; the "SMP Lab: Run Scenario" command prints the race's
 * event log and its verdict in the "SMP Lab: Run" output and a warning notification; the
 * extension's log channel says it activated; the walkthrough lists its eight steps without literal
 * backticks, its buttons open files beside it (it stays visible) and tick their steps.
 * Screenshots: test-output/e2e/ext-*.png.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {
  extensionLogs, notifications, openFile, openWorkbench, repoRoot, runCommand, screenshot, startCodeServer, stopAll,
  type CodeServer,
} from './harness.js';
import {
  clickWalkthroughButton, languageMode, openWalkthrough, outputText, poll, scratchWorkspace, showFile, stage, walkthroughTicks, walkthroughVisible,
} from './smplab.js';

after(() => stopAll());

test('SMP Lab activates in code-server: languages, CodeLens, Run Scenario', { timeout: 600_000 }, async () => {
  const workspace = scratchWorkspace('smplab-e2e-ext-');
  let server: CodeServer | undefined;
  let ok = false;
  try {
    server = await startCodeServer({ extensionDir: repoRoot(), workspace });
    const page = await openWorkbench(server.url, workspace);

    await stage(page, 'open-race-scenario', async () => {
      await openFile(page, 'ipi-offline-race.smp');
      assert.equal(await languageMode(page, 'SMP Lab scenario'), 'SMP Lab scenario');
    });

    await stage(page, 'codelens', async () => {
      const lens = page.locator('.monaco-editor .codelens-decoration');
      await lens.first().waitFor({ state: 'visible', timeout: 20_000 });
      const text = (await lens.first().innerText()).replace(/\s+/g, ' ');
      assert.match(text, /Run Scenario/);
      assert.match(text, /Debug Scenario/);
      for (const title of ['Run Scenario', 'Debug Scenario']) {
        const button = page.locator(`.editor-actions [aria-label^="${title}"], .editor-actions [title^="${title}"]`).first();
        await button.waitFor({ state: 'visible', timeout: 30_000 }).catch(() => {
          throw new Error(`the editor title has no "${title}" button`);
        });
      }
      await screenshot(page, 'ext-01-smp-codelens');
    });

    await stage(page, 'kc-language', async () => {
      await openFile(page, 'model/smp.kc');
      assert.equal(await languageMode(page, 'KC (kernel C)'), 'KC (kernel C)');
      // Inside a function, the breadcrumbs name it: the language server's outline of the model is in.
      // A line in generic_exec_single's body, found in the file so that comments above it may change.
      const inBody = fs.readFileSync(`${workspace}/model/smp.kc`, 'utf8').split('\n').findIndex((l) => l.includes('if (llist_add(&csd->llist')) + 1;
      assert.ok(inBody > 0, 'smp.kc has generic_exec_single\'s llist_add line');
      await page.keyboard.press('Control+P');
      await page.locator('.quick-input-widget').waitFor({ state: 'visible', timeout: 30_000 });
      await page.keyboard.insertText(`:${inBody}`);
      await page.keyboard.press('Enter');
      await page.locator('.breadcrumbs-control .codicon-symbol-function').first().waitFor({ state: 'visible', timeout: 60_000 }).catch(async () => {
        throw new Error(`the breadcrumbs name no function at smp.kc:${inBody} (they show ${JSON.stringify(await page.locator('.breadcrumbs-control').allInnerTexts())})`);
      });
      await screenshot(page, 'ext-02-kc');
    });

    await stage(page, 'run-scenario', async () => {
      await showFile(page, 'ipi-offline-race.smp');
      await runCommand(page, 'SMP Lab: Run Scenario');
      const text = await outputText(page, /\[exit 1\].*expect no warning/);
      assert.match(text, /FAIL\s+expect no warning/);
      // The Output view renders only its visible lines: the whole text is in the channel's log file.
      const runLog = extensionLogs(server!).filter((f) => /SMP Lab Run\.log$/.test(f));
      const whole = runLog.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
      assert.match(whole, /WARNING: CPU: 1 PID: \d+ at kernel\/smp\.c:\d+ generic_smp_call_function_single_interrupt\+0x[0-9a-f]+\/0x[0-9a-f]+\(\)/, `run log files: ${JSON.stringify(runLog)}`);
      assert.match(whole, /\[001\] Call Trace:\n.*\[001\]  <IRQ>\n/);
      assert.match(whole, /IPI callback trigger_softirq\+0x0\/0x[0-9a-f]+ sent to offline CPU/);
      const note = await poll('the notification that 1 of 4 expectations of ipi-offline-race.smp failed', async () =>
        (await notifications(page)).find((n) => /ipi-offline-race\.smp: 1 of 4 expectations failed/.test(n)));
      assert.match(note, /expectations failed — expect no warning/);
      await screenshot(page, 'ext-03-run-scenario');
    });

    await stage(page, 'walkthrough', async () => {
      await runCommand(page, 'Notifications: Clear All Notifications');
      await runCommand(page, 'View: Toggle Panel Visibility');
      await runCommand(page, 'View: Close All Editors');
      await openWalkthrough(page);
      const titles = (await page.locator('.gettingStartedContainer .getting-started-step .step-title').allInnerTexts()).map((t) => t.trim());
      assert.deepEqual(titles, ['IPIs and csds: one CPU asks another for work', 'Stop-machine: why the order of its states matters',
        'Break on CPU_DYING', 'Step the dying CPU alone', 'Look at its queue', 'The warning is a symptom',
        'The harm: a callback that never runs', 'Close the window: the patch series']);
      const texts = await page.locator('.gettingStartedContainer .getting-started-step').allInnerTexts();
      assert.ok(!texts.some((t) => t.includes('`')), 'a step text shows a literal backtick');
      // The step's diagram renders in a webview beside the steps.
      await page.locator('.gettingStartedContainer .getting-started-media iframe, .gettingStartedContainer .getting-started-media .webview').first()
        .waitFor({ state: 'attached', timeout: 30_000 });
      assert.deepEqual(await walkthroughTicks(page), { ipi: false, 'stop-machine': false, 'cpu-dying': false, step: false, queue: false,
        warn: false, lost: false, fix: false });
      await screenshot(page, 'ext-04-walkthrough');
    });

    await stage(page, 'walkthrough-open-button-opens-beside', async () => {
      // The first step's button opens the race scenario beside the walkthrough and ticks the step.
      await clickWalkthroughButton(page, 'ipi', 'Open ipi-offline-race.smp');
      await page.locator('.tabs-container .tab.active', { hasText: 'ipi-offline-race.smp' }).waitFor({ state: 'visible', timeout: 30_000 });
      assert.ok(await walkthroughVisible(page), 'the walkthrough is covered by the file its button opened');
      assert.equal(await page.locator('.editor-group-container').count(), 2, 'the scenario did not open in a group beside the walkthrough');
      await poll('the walkthrough to tick its first step', async () => ((await walkthroughTicks(page)).ipi ? true : undefined));
      await screenshot(page, 'ext-05-walkthrough-open-beside');
    });

    await stage(page, 'walkthrough-run-fixed', async () => {
      // The last step's Run button: every expectation holds, the step is ticked, the walkthrough stays.
      await clickWalkthroughButton(page, 'fix', 'Run ipi-offline-fixed.smp');
      const note = await poll('the notification that every expectation of ipi-offline-fixed.smp holds', async () =>
        (await notifications(page)).find((n) => /ipi-offline-fixed\.smp: every expectation holds/.test(n)));
      console.log(`  ${note}`);
      await poll('the walkthrough to tick its last step', async () => ((await walkthroughTicks(page)).fix ? true : undefined));
      assert.ok(await walkthroughVisible(page), 'the walkthrough is no longer visible after its Run button');
      await screenshot(page, 'ext-06-walkthrough-run-fixed');
    });

    await stage(page, 'extension-log', async () => {
      const logs = extensionLogs(server!).filter((f) => /smplab\.smplab/.test(f));
      const text = logs.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
      assert.match(text, /SMP Lab activated/, `log files: ${JSON.stringify(logs)}`);
    });
    ok = true;
  } finally {
    await stopAll({ keep: !ok || process.env.E2E_KEEP === '1' });
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
