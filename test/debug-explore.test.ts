/**
 * The explorer in the debugger: a saved counterexample replayed through the
 * `replay` launch attribute stops where its expectation broke, and Explore
 * from Here searches the continuations of a stop and follows a failing one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { DebugProtocol } from '@vscode/debugprotocol';
import { continueToStop, launch, startClient, stopped } from './dap-client.js';
import { CLI, ROOT } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'smplab-dap-explore-'));

/** The unpinned race: an interrupt at any step, any IPI latency. */
function raceScenario(expectations: string[], patches = ['0001']): string {
  const file = join(dir, `race-${expectations.length}-${patches.join('')}.smp`);
  writeFileSync(file, [
    'kernel linux-3.15', ...patches.map((p) => `patch ipi-offline-v6/${p}`), 'cpus 3', 'ipi-latency any',
    'struct request req0 = { .cpu = 1 }', 'cpu 2 runs cpu_down(1)',
    'irq disk on cpu 0 at any step: blk_complete_request(&req0)', ...expectations.map((e) => `expect ${e}`),
  ].join('\n') + '\n');
  return file;
}

async function topFrame(dc: DebugClient, threadId: number): Promise<DebugProtocol.StackFrame> {
  return (await dc.stackTraceRequest({ threadId })).body.stackFrames[0];
}

describe('replaying a counterexample in the debugger', () => {
  let dc: DebugClient;
  before(async () => {
    dc = await startClient();
  });
  after(() => dc.stop());

  test('the run follows the saved schedule and stops on the WARN it found, at the same step and line', async () => {
    const scenario = raceScenario(['no warning']);
    const r = spawnSync(process.execPath, [CLI, 'explore', scenario, '--json', '--quiet'], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 1, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const file = result.counterexampleFile;
    const ce = JSON.parse(readFileSync(file, 'utf8'));
    await launch(dc, scenario, { replay: file });
    const warn = await continueToStop(dc, { threadId: 1 });
    assert.equal(warn.body.reason, 'exception');
    assert.equal(warn.body.description, 'WARN');
    assert.equal(warn.body.threadId, result.counterexample.failingCpu + 1);
    const frame = await topFrame(dc, warn.body.threadId!);
    assert.match(frame.name, /^generic_smp_call_function_single_interrupt\b/);
    const machine = (await dc.scopesRequest({ frameId: frame.id })).body.scopes.find((s) => s.name === 'Machine')!;
    const rows = (await dc.variablesRequest({ variablesReference: machine.variablesReference })).body.variables;
    assert.equal(rows.find((v) => v.name === 'step')?.value, String(ce.failingStep));
  });

  test('a counterexample of another scenario is refused with the reason', async () => {
    const scenario = raceScenario(['no warning', 'cpu 1 dead']);
    const other = join(dir, 'other.counterexample');
    writeFileSync(other, JSON.stringify({ smplab: 'counterexample', version: 1, scenario: 'x.smp', scenarioHash: '0', expectation: 'expect no warning', detail: '', preemptions: 0, steps: 1, failingStep: 1, schedule: '0' }));
    const d2 = await startClient();
    try {
      await assert.rejects(d2.launch({ scenario, replay: other }), /changed since/);
    } finally {
      await d2.stop();
    }
  });
});

describe('Explore from Here', () => {
  let dc: DebugClient;
  before(async () => {
    dc = await startClient();
  });
  after(() => dc.stop());

  test('from the entry of the race, finds a schedule that loses the callback and follows it to the loss', async () => {
    const scenario = raceScenario(['no lost work']);
    await launch(dc, scenario, {}, [{ filterId: 'warn' }]);
    const progress: unknown[] = [];
    dc.on('smplab.exploreProgress', (e) => progress.push(e));
    const [response, stop] = await Promise.all([dc.customRequest('exploreFromHere', { maxStates: 3_000_000 }), stopped(dc)]);
    const body = response.body as { verdict: string; states: number; following: boolean; counterexample: { expectation: string; failingStep: number } };
    assert.equal(body.verdict, 'counterexample');
    assert.equal(body.counterexample.expectation, 'expect no lost work');
    assert.equal(body.following, true);
    // the followed run stops where the callback is lost (or on a WARN on the way)
    assert.equal(stop.body.reason, 'exception');
    assert.match(stop.body.description ?? '', /counterexample|WARN/);
    if (stop.body.description === 'WARN') {
      const next = await continueToStop(dc, { threadId: stop.body.threadId! });
      assert.equal(next.body.description, 'counterexample');
      assert.match(next.body.text ?? '', /expect no lost work: trigger_softirq was still queued on CPU1/);
    } else assert.match(stop.body.text ?? '', /expect no lost work: trigger_softirq was still queued on CPU1/);
  });

  test('where every continuation satisfies every expectation, says so: verified, complete', async () => {
    const d2 = await startClient();
    try {
      await launch(d2, join(ROOT, 'test', 'fixtures', 'explore', 'ipi-wait.smp'), {}, [{ filterId: 'warn' }]);
      const response = await d2.customRequest('exploreFromHere', {});
      assert.equal(response.body.verdict, 'verified');
      assert.deepEqual(response.body.limitedBy, []);
      assert.ok(response.body.states > 100);
    } finally {
      await d2.stop();
    }
  });

  test('what happened before the stop counts: after the WARN, no continuation can satisfy "expect no warning"', async () => {
    const d3 = await startClient();
    try {
      await launch(d3, join(ROOT, 'examples', 'ipi-offline-race.smp'), {}, [{ filterId: 'warn' }]);
      const warn = await continueToStop(d3, { threadId: 1 });
      assert.equal(warn.body.description, 'WARN');
      const [response] = await Promise.all([d3.customRequest('exploreFromHere', {}), stopped(d3)]);
      assert.equal(response.body.verdict, 'counterexample');
      assert.equal(response.body.counterexample.expectation, 'expect no warning');
    } finally {
      await d3.stop();
    }
  });
});
