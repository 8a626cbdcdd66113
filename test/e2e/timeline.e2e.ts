/**
 * End to end in a real VS Code (code-server): the timeline panel with the 2014 race.
 *
 *   node --import tsx --test test/e2e/timeline.e2e.ts
 *
 *   1. open examples/ipi-offline-race.smp, press F5: the "SMP Lab Timeline" panel opens beside
 *      the scenario by itself, with a lane for each of CPU0..CPU2 named like the Call Stack's threads
 *   2. continue to the WARN: the timeline shows the IPI arrow from CPU0 into CPU1, landing
 *      after CPU1 went offline, and the WARN marker on CPU1; the cursor is at the WARN's step
 *   3. hover the WARN marker: the tooltip shows the event and its fields
 *   4. click CPU1's lane at a step before the IPI was sent: the debugger travels there, the
 *      Call Stack shows CPU1 online with its interrupts off in MULTI_STOP_DISABLE_IRQ
 *   5. after that travel the keyboard is the timeline's again (its canvas has the focus, + and -
 *      typed zoom it), though VS Code showed the stop's source in the first group
 *   6. select CPU0 in the Call Stack: its lane is highlighted
 *   7. press + twice on the timeline: it zooms in around the middle of the view
 *   8. SMP Lab: Export Trace, ftrace text, a path in the save dialog: the file has the run up to
 *      the WARN and a notification says how much was written
 *
 * What the canvas shows is read from its text alternative (aria-label), which lists the lanes,
 * arrows and markers in view; where to click comes from its data-* attributes (the step range
 * and the lanes' geometry). Screenshots: test-output/e2e/timeline-*.png.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  callStackRows, notifications, openWorkbench, pressF5UntilDebugging, repoRoot, screenshot, startCodeServer, stopAll, type CodeServer, type Locator, type Page,
} from './harness.js';
import { poll, scratchWorkspace, showFile, squash, stage } from './smplab.js';

after(() => stopAll());

/** The timeline's canvas inside the panel's webview (a frame in a frame); undefined until it is there. */
async function timelineCanvas(page: Page): Promise<Locator | undefined> {
  for (const frame of page.frames()) {
    const canvas = frame.locator('canvas#timeline');
    if (await canvas.count().catch(() => 0)) return canvas;
  }
  return undefined;
}

/** Waits until the canvas's text alternative matches every pattern; returns it. */
async function timelineShows(page: Page, patterns: RegExp[], what: string, timeoutMs = 90_000): Promise<string> {
  let last = '';
  try {
    return await poll(what, async () => {
      const canvas = await timelineCanvas(page);
      last = canvas ? ((await canvas.getAttribute('aria-label').catch(() => null)) ?? '') : '(no timeline panel)';
      return patterns.every((re) => re.test(last)) ? last : undefined;
    }, timeoutMs);
  } catch {
    throw new Error(`gave up waiting for ${what}; the timeline says ${JSON.stringify(last.slice(0, 1500))}`);
  }
}

interface CanvasGeometry { fromStep: number; toStep: number; plotLeft: number; plotWidth: number; laneTop: number; laneHeight: number }

async function canvasGeometry(canvas: Locator): Promise<CanvasGeometry> {
  const read = async (name: string) => Number(await canvas.getAttribute(`data-${name}`));
  return {
    fromStep: await read('from-step'), toStep: await read('to-step'), plotLeft: await read('plot-left'),
    plotWidth: await read('plot-width'), laneTop: await read('lane-top'), laneHeight: await read('lane-height'),
  };
}

/** The IPI arrow as the canvas's text alternative names it (its call site may carry an offset: `generic_exec_single+0x13/0x18`). */
const IPI_ARROW = /IPI from generic_exec_single\S* from CPU0 at step (\d+) into CPU1 at step (\d+)/;

/** Where on the canvas step `step` of CPU `cpu`'s run band is. */
function pointAt(g: CanvasGeometry, step: number, cpu: number, rowY = 25): { x: number; y: number } {
  return { x: g.plotLeft + ((step - g.fromStep) * g.plotWidth) / (g.toStep - g.fromStep), y: g.laneTop + cpu * g.laneHeight + rowY };
}

/** A screenshot of the timeline panel alone (its canvas), beside the whole window's. */
async function closeUp(page: Page, name: string): Promise<void> {
  const canvas = (await timelineCanvas(page))!;
  await canvas.screenshot({ path: path.join(repoRoot(), 'test-output', 'e2e', `${name}.png`), timeout: 30_000 });
}

async function stackTexts(page: Page): Promise<string[]> {
  return (await page.locator('.debug-call-stack .monaco-list-row').allInnerTexts()).map(squash);
}

test('the timeline shows the race and takes the debugger back in time in a real VS Code', { timeout: 600_000 }, async () => {
  const workspace = scratchWorkspace('smplab-e2e-timeline-', false);
  let server: CodeServer | undefined;
  try {
    server = await startCodeServer({ extensionDir: repoRoot(), workspace });
    const page = await openWorkbench(server.url, workspace, { viewport: { width: 1800, height: 1000 } });

    await stage(page, 'timeline-opens-with-the-session', async () => {
      await showFile(page, 'ipi-offline-race.smp');
      await pressF5UntilDebugging(page, { debuggerLabel: 'SMP Lab', perAttemptMs: 20_000 });
      // the entry stop, not only the threads (listed a moment before it): F5 before it does nothing
      await callStackRows(page, [/^CPU0\b.*\b(ENTRY|PAUSED)\b/i, /^CPU1\b/, /^CPU2\b/], 90_000);
      await page.locator('.tabs-container .tab', { hasText: 'SMP Lab Timeline' }).first().waitFor({ state: 'visible', timeout: 60_000 });
      const text = await timelineShows(page, [/Lanes: CPU0 · online[^;]*; CPU1 · online[^;]*; CPU2 · online[^;.]*\./], 'three lanes named like the threads');
      const threads = (await stackTexts(page)).filter((r) => /^CPU\d/.test(r));
      for (const c of [0, 1, 2]) assert.ok(text.includes(`CPU${c} · online`), `lane CPU${c} in ${text} (threads: ${JSON.stringify(threads)})`);
      await screenshot(page, 'timeline-1-entry');
    });

    await stage(page, 'continue-to-the-warn', async () => {
      await page.keyboard.press('F5');
      await poll('the Call Stack to show the WARN', async () => ((await stackTexts(page)).some((r) => /WARN/.test(r)) ? true : undefined), 90_000);
      const text = await timelineShows(page, [
        IPI_ARROW,
        /WARN: IPI on offline CPU 1 on CPU1 at step \d+/,
      ], 'the IPI arrow into CPU1 and the WARN marker');
      const [, sent, landed] = IPI_ARROW.exec(text)!;
      const warnStep = Number(/WARN: IPI on offline CPU 1 on CPU1 at step (\d+)/.exec(text)![1]);
      assert.ok(Number(sent) < Number(landed) && Number(landed) <= warnStep, text);
      assert.match(text, new RegExp(`^Timeline at step ${warnStep}\\.`), 'the cursor is at the WARN');
      await screenshot(page, 'timeline-2-warn');
      await closeUp(page, 'timeline-2-warn-close-up');
    });

    await stage(page, 'hover-the-warn-marker', async () => {
      const canvas = (await timelineCanvas(page))!;
      const text = (await canvas.getAttribute('aria-label'))!;
      const warnStep = Number(/WARN: IPI on offline CPU 1 on CPU1 at step (\d+)/.exec(text)![1]);
      const g = await canvasGeometry(canvas);
      await canvas.hover({ position: pointAt(g, warnStep, 1, 8) });
      const tip = await poll('the tooltip of the WARN marker', async () => {
        for (const frame of page.frames()) {
          const t = frame.locator('#tooltip');
          if ((await t.count().catch(() => 0)) && (await t.isVisible().catch(() => false))) return squash(await t.innerText());
        }
        return undefined;
      }, 30_000);
      assert.match(tip, /WARN: IPI on offline CPU 1/);
      assert.match(tip, /CPU1 · step \d+/);
      assert.match(tip, /function: generic_smp_call_function_single_interrupt/);
      await screenshot(page, 'timeline-3-hover-warn');
    });

    await stage(page, 'click-an-earlier-point-travels-there', async () => {
      const canvas = (await timelineCanvas(page))!;
      const text = (await canvas.getAttribute('aria-label'))!;
      const sent = Number(IPI_ARROW.exec(text)![1]);
      const g = await canvasGeometry(canvas);
      // a few steps before the IPI leaves CPU0, on CPU1's lane
      const target = sent - 20;
      await canvas.click({ position: pointAt(g, target, 1) });
      let now = NaN;
      await poll('the cursor to move back before the IPI', async () => {
        now = Number(/^Timeline at step (\d+)\./.exec((await canvas.getAttribute('aria-label')) ?? '')?.[1]);
        return now < sent ? true : undefined;
      }, 60_000);
      assert.ok(now < sent, `travelled to step ${now}, before the IPI at step ${sent}`);
      assert.ok(Math.abs(now - target) <= Math.max(2, (g.toStep - g.fromStep) / g.plotWidth * 2), `travelled to ${now}, aimed at ${target}`);
      const rows = await poll('the Call Stack to show CPU1 back before it went offline', async () => {
        const r = await stackTexts(page);
        return r.some((x) => /^CPU1 · online · irqs off · MULTI_STOP_DISABLE_IRQ/.test(x)) ? r : undefined;
      }, 60_000);
      assert.ok(!rows.some((r) => /WARN/.test(r)), `no WARN at the earlier step: ${JSON.stringify(rows)}`);
      // the lanes are named like the threads at the new step too
      await timelineShows(page, [/Lanes: CPU0 [^;]*; CPU1 · online · irqs off · MULTI_STOP_DISABLE_IRQ/], 'CPU1\'s lane named as it was then');
      await page.mouse.move(5, 500);
      await screenshot(page, 'timeline-4-travelled-back');
      await closeUp(page, 'timeline-4-travelled-back-close-up');
    });

    await stage(page, 'the-keyboard-comes-back-to-the-timeline-after-a-travel', async () => {
      const canvas = (await timelineCanvas(page))!;
      // VS Code showed the stop's source in the first group, and the panel took the keyboard back
      await page.locator('.editor-group-container .tab.active', { hasText: /\.kc\b/ }).first().waitFor({ state: 'visible', timeout: 60_000 });
      await poll('the keyboard focus back on the timeline\'s canvas', async () => {
        for (const frame of page.frames()) {
          const focused = await frame.evaluate(`document.hasFocus() && document.activeElement !== null && document.activeElement.id === 'timeline'`).catch(() => false);
          if (focused) return true;
        }
        return undefined;
      }, 60_000);
      // a key typed now goes to the timeline: + zooms it, - zooms back out
      const before = await canvasGeometry(canvas);
      await page.keyboard.press('+');
      await poll('a + typed after the travel to zoom the timeline in', async () => {
        const g = await canvasGeometry(canvas);
        return g.toStep - g.fromStep < before.toStep - before.fromStep ? g : undefined;
      }, 30_000);
      await page.keyboard.press('-');
      await poll('a - to zoom it back out', async () => {
        const g = await canvasGeometry(canvas);
        return g.toStep - g.fromStep >= before.toStep - before.fromStep - 1 ? g : undefined;
      }, 30_000);
    });

    await stage(page, 'selecting-a-cpu-highlights-its-lane', async () => {
      await page.locator('.debug-call-stack .monaco-list-row', { hasText: /^\s*CPU0\b/ }).first().click();
      await poll('the timeline to say CPU0 is selected', async () => {
        for (const frame of page.frames()) {
          const s = frame.locator('#status');
          if (await s.count().catch(() => 0)) {
            const text = await s.innerText().catch(() => '');
            if (/CPU0 selected/.test(text)) return true;
          }
        }
        return undefined;
      }, 30_000);
      await screenshot(page, 'timeline-5-cpu0-selected');
    });

    await stage(page, 'zoom-in-with-the-keyboard', async () => {
      const canvas = (await timelineCanvas(page))!;
      const before = await canvasGeometry(canvas);
      await canvas.focus();
      await canvas.press('+');
      await canvas.press('+');
      const after = await poll('the view to span a quarter of the steps', async () => {
        const g = await canvasGeometry(canvas);
        return g.toStep - g.fromStep <= (before.toStep - before.fromStep) / 3 ? g : undefined;
      }, 30_000);
      // the view keeps the spans it shows, now at a finer resolution
      await timelineShows(page, [/Lanes: CPU0/], 'the lanes after zooming');
      assert.ok(after.fromStep > before.fromStep);
      await screenshot(page, 'timeline-6-zoomed');
    });

    await stage(page, 'a-pan-shows-at-once-from-the-answer-held', async () => {
      const canvas = (await timelineCanvas(page))!;
      // the question for the zoomed view answered: the page holds more than the view
      await poll('the timeline to hold the answer for its view', async () => {
        const asking = await canvas.getAttribute('data-asking');
        return asking === 'false' && (await canvas.getAttribute('data-full-detail')) === 'true' ? true : undefined;
      }, 30_000);
      const before = await canvasGeometry(canvas);
      await canvas.evaluate(() => performance.clearMeasures('timeline: view redrawn'));
      await canvas.press('ArrowRight');
      const redrawn = await poll<{ ms: number; answer: number; held: boolean }>('the panned view to show in full detail', () => canvas.evaluate(() => {
        const [m] = performance.getEntriesByName('timeline: view redrawn', 'measure') as PerformanceMeasure[];
        return m ? { ms: m.duration, ...(m.detail as { answer: number; held: boolean }) } : undefined;
      }), 30_000);
      console.log(`  the pan showed in full detail after ${redrawn.ms.toFixed(1)} ms, from answer ${redrawn.answer}${redrawn.held ? ', held before the pan' : ''}`);
      assert.equal(redrawn.held, true, 'the pan waited for a question although the answer held covers it');
      assert.ok((await canvasGeometry(canvas)).fromStep > before.fromStep, 'the view did not move right');
    });

    await stage(page, 'export-trace-from-the-debugger', async () => {
      const out = path.join(workspace, 'race-export.txt');
      // focus the editor first: with the timeline's canvas focused (the stage before), the focus
      // going back to the webview as the palette closes can close the format pick that follows
      await page.locator('.editor-group-container .monaco-editor .view-lines').first().click();
      await page.keyboard.press('F1');
      const widget = page.locator('.quick-input-widget');
      await widget.locator('input').first().waitFor({ state: 'visible', timeout: 30_000 });
      await page.keyboard.insertText('SMP Lab: Export Trace');
      await widget.locator('.quick-input-list .monaco-list-row', { hasText: 'Export Trace' }).first().waitFor({ state: 'visible', timeout: 30_000 });
      await page.keyboard.press('Enter');
      const ftraceRow = widget.locator('.quick-input-list .monaco-list-row', { hasText: 'ftrace text' }).first();
      await ftraceRow.waitFor({ state: 'visible', timeout: 30_000 });
      await screenshot(page, 'timeline-7-export-format');
      await ftraceRow.click();
      // the save dialog: VS Code for the Web asks for the path in the quick input
      const input = widget.locator('input').first();
      await poll('the save dialog to offer race-export\'s folder', async () => ((await input.inputValue().catch(() => '')).endsWith('.txt') ? true : undefined), 30_000);
      await input.fill(out);
      await page.keyboard.press('Enter');
      const note = await poll('the notification that the trace was written', async () => (await notifications(page)).find((n) => /wrote steps 0–/.test(n)), 60_000);
      const text = fs.readFileSync(out, 'utf8');
      assert.match(text, /^# tracer: nop$/m);
      assert.match(text, /smplab:warn/);
      assert.match(note, new RegExp(`${text.length.toLocaleString('en-US')} bytes`));
      await screenshot(page, 'timeline-8-exported');
    });
  } finally {
    await stopAll();
  }
});
