/**
 * The debug adapter answers everything and never dies: requests out of
 * order, arguments of the wrong type, ids that name nothing, stale
 * references, input too deep for the compiler. Each case here was found by
 * trying it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { DebugProtocol } from '@vscode/debugprotocol';
import { RACE, RawAdapter, SMP_KC, assertInWords, continueToStop, launch, lineOf, startClient, stopped, within } from './dap-client.js';

/** The message of the error a request gets (it must get one). */
async function refused(p: Promise<unknown>): Promise<string> {
  const e = await p.then(() => undefined, (err: Error) => err);
  assert.ok(e, 'the request succeeded');
  assertInWords(e.message);
  return e.message;
}

/** A row of the Machine scope's globals, as the Variables view shows it. */
async function globalRow(dc: DebugClient, name: string): Promise<DebugProtocol.Variable> {
  const f = await dc.stackTraceRequest({ threadId: 1 });
  const scopes = await dc.scopesRequest({ frameId: f.body.stackFrames[0].id });
  const machine = scopes.body.scopes.find((s) => s.name === 'Machine')!;
  const globals = (await dc.variablesRequest({ variablesReference: machine.variablesReference })).body.variables.find((v) => v.name === 'globals')!;
  const row = (await dc.variablesRequest({ variablesReference: globals.variablesReference })).body.variables.find((v) => v.name === name);
  assert.ok(row, `no global ${name}`);
  return row;
}

function scratchScenario(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'smplab-dap-')), name);
  writeFileSync(file, text);
  return file;
}

describe('requests before launch and after disconnect', () => {
  let raw: RawAdapter;
  before(() => {
    raw = RawAdapter.start();
  });
  after(() => raw.kill());

  test('each gets an error that says what to do first', async () => {
    const early = await raw.request('threads');
    assert.equal(early.success, false);
    assert.equal(early.message, 'the first request must be initialize, not threads');
    assert.equal((await raw.request('initialize', { adapterID: 'smplab' })).success, true);
    for (const [command, args] of [['continue', { threadId: 1 }], ['stackTrace', { threadId: 1 }], ['setBreakpoints', { source: { path: SMP_KC }, breakpoints: [] }], ['evaluate', { expression: '1' }]] as const) {
      const r = await raw.request(command, args);
      assert.equal(r.success, false, command);
      assert.equal(r.message, `no scenario is running: launch one before ${command}`);
      assert.equal((r.body as { error?: { showUser?: boolean } }).error?.showUser, false, 'no popup');
    }
    const threads = await raw.request('threads');
    assert.deepEqual(threads.body, { threads: [] }, 'threads before launch: none, not an error');
    assert.equal((await raw.request('disconnect')).success, true);
    const late = await raw.request('threads');
    assert.equal(late.message, 'the debug session has ended: start a new one');
    assert.equal((await raw.request('disconnect')).success, true, 'a second disconnect is harmless');
    assert.ok(raw.alive);
  });
});

describe('arguments are checked against the DAP types before any handler runs', () => {
  let dc: DebugClient;
  before(async () => {
    dc = await startClient();
    await launch(dc, RACE);
  });
  after(() => dc.stop());

  test('wrong types, missing fields and unknown ids are answered in words', async () => {
    assert.equal(await refused(dc.stackTraceRequest({ threadId: 99 })), 'threadId 99 is not a CPU of this scenario (CPUs 0-2 are threads 1-3)');
    assert.equal(await refused(dc.send('stackTrace', { threadId: '1' })), 'threadId must be a whole number, not "1"');
    assert.equal(await refused(dc.send('stackTrace', { levels: 1 })), 'threadId is missing');
    assert.equal(await refused(dc.send('stackTrace')), 'stackTrace needs arguments (threadId is missing)');
    assert.equal(await refused(dc.send('stackTrace', { threadId: 1, levels: -1 })), 'levels must be 0 or more, not -1');
    assert.equal(await refused(dc.send('stackTrace', { threadId: 1.5 })), 'threadId must be a whole number, not 1.5');
    assert.equal(await refused(dc.send('scopes', { frameId: 987654 })), 'frameId 987654 names no frame of the current stop: ask for the stack trace again');
    assert.equal(await refused(dc.send('evaluate', { expression: 42 })), 'expression must be a string, not 42');
    assert.equal(await refused(dc.send('setBreakpoints', { source: 'smp.kc' })), 'source must be an object, not "smp.kc"');
    assert.equal(await refused(dc.send('setBreakpoints', { source: { path: SMP_KC }, breakpoints: [{ line: 'x' }] })), 'breakpoints[0].line must be a whole number, not "x"');
    assert.equal(await refused(dc.send('variables', { variablesReference: {} })), 'variablesReference must be a whole number, not an object');
    assert.equal(await refused(dc.send('stackTrace', [1])), 'the arguments of stackTrace must be an object, not a list');
    assert.equal(await refused(dc.send('setExceptionBreakpoints', { filters: 'warn' })), 'filters must be a list, not "warn"');
    assert.equal(await refused(dc.send('next', { threadId: 2, granularity: 'instruction!' })), 'granularity must be one of "statement", "line", "instruction", not "instruction!"');
    assert.equal(await refused(dc.send('source')), 'source needs a sourceReference', 'found by the fuzz suite: it said "reference undefined"');
    assert.equal(await refused(dc.customRequest('frobnicate', {})), "unknown request 'frobnicate'");
    assert.equal(await refused(dc.send('goto', { threadId: 1, targetId: 1 })), "SMP Lab does not offer the 'goto' request");
    assert.match(await refused(dc.send('attach', {})), /^SMP Lab cannot attach/);
    // huge but well-typed numbers are not errors: there is just nothing there
    const far = await dc.stackTraceRequest({ threadId: 1, startFrame: 1e15, levels: 1e15 });
    assert.deepEqual(far.body.stackFrames, []);
    assert.ok((far.body.totalFrames ?? 0) > 0);
    assert.equal((await dc.stackTraceRequest({ threadId: 1, levels: 1e15 })).body.stackFrames.length, far.body.totalFrames);
  });

  test('continue before launch and continue on a CPU that does not exist were crashes; now errors', async () => {
    assert.equal(await refused(dc.continueRequest({ threadId: 99, singleThread: true })), 'threadId 99 is not a CPU of this scenario (CPUs 0-2 are threads 1-3)');
    assert.equal(await refused(dc.send('continue', { threadId: 0 })), 'threadId 0 is not a CPU of this scenario (CPUs 0-2 are threads 1-3)');
    assert.equal((await dc.evaluateRequest({ expression: 'nr_cpu_ids' })).body.result, '3', 'the adapter lives on');
  });

  test('variables with a negative start is refused; a start or count past the end reads nothing outside the array', async () => {
    const vec = await globalRow(dc, 'softirq_vec');
    const ref = vec.variablesReference;
    assert.equal(vec.indexedVariables, 10);
    assert.equal(await refused(dc.variablesRequest({ variablesReference: ref, filter: 'indexed', start: -5, count: 3 })), 'start must be 0 or more, not -5');
    assert.equal(await refused(dc.variablesRequest({ variablesReference: ref, filter: 'indexed', start: -30_000_000, count: 30_000_000 })), 'start must be 0 or more, not -30000000');
    assert.deepEqual((await dc.variablesRequest({ variablesReference: ref, filter: 'indexed', start: 1e12, count: 5 })).body.variables, []);
    const all = await dc.variablesRequest({ variablesReference: ref, filter: 'indexed', start: 0, count: 1e12 });
    assert.deepEqual(all.body.variables.map((v) => v.name), Array.from({ length: 10 }, (_, i) => `[${i}]`));
    const tail = await dc.variablesRequest({ variablesReference: ref, filter: 'indexed', start: 8, count: 100 });
    assert.deepEqual(tail.body.variables.map((v) => v.name), ['[8]', '[9]']);
  });

  test('a variablesReference from an earlier stop has nothing under it, and is not an error', async () => {
    const f = await dc.stackTraceRequest({ threadId: 2 });
    const scopes = await dc.scopesRequest({ frameId: f.body.stackFrames[0].id });
    const machine = scopes.body.scopes.find((s) => s.name === 'Machine')!;
    assert.ok((await dc.variablesRequest({ variablesReference: machine.variablesReference })).body.variables.length > 0);
    await Promise.all([dc.nextRequest({ threadId: 2 }), stopped(dc)]);
    assert.deepEqual((await dc.variablesRequest({ variablesReference: machine.variablesReference })).body.variables, []);
    const again = await dc.scopesRequest({ frameId: (await dc.stackTraceRequest({ threadId: 2 })).body.stackFrames[0].id });
    assert.notEqual(again.body.scopes[2].variablesReference, machine.variablesReference, 'references are not given out twice');
  });

  test('expressions too deep or too long for the compiler are diagnostics, in the Debug Console, conditions and log points', async () => {
    const deep = `${'('.repeat(20000)}1${')'.repeat(20000)}`;
    assert.match(await refused(dc.evaluateRequest({ expression: deep })), /the expression is 40001 characters long; at most 10000 are read/);
    const nested = `${'('.repeat(4000)}1${')'.repeat(4000)}`;
    assert.match(await refused(dc.evaluateRequest({ expression: nested })), /nests too deeply|nesting deeper than/);
    const line = lineOf(SMP_KC, 'if (llist_add(&csd->llist, &per_cpu(call_single_queue, cpu)))');
    const r = await dc.setBreakpointsRequest({ source: { path: SMP_KC }, breakpoints: [{ line, condition: nested }, { line, logMessage: `deep {${deep}} and {${nested}} end` }] });
    assert.equal(r.body.breakpoints[0].verified, false);
    assertInWords(r.body.breakpoints[0].message);
    assert.equal(r.body.breakpoints[1].verified, true);
    await dc.setBreakpointsRequest({ source: { path: SMP_KC }, breakpoints: [] });
  });
});

describe('launches that hit a machine limit or nest too deeply', () => {
  let dc: DebugClient;
  before(async () => {
    dc = await startClient();
  });
  after(() => dc.stop());

  test('fail with a message, and the adapter can launch again', async () => {
    const tasks = scratchScenario('tasks.smp', `kernel linux-3.15\ncpus 2\n${'cpu 0 runs cpu_down(1)\n'.repeat(60)}`);
    assert.match(await refused(dc.launch({ scenario: tasks })), /too many tasks|tasks/);
    const deep = scratchScenario('deep.smp', `kernel linux-3.15\ncpus 2\ncpu 0 runs cpu_down(${'('.repeat(3000)}1${')'.repeat(3000)})\n`);
    assert.match(await refused(dc.launch({ scenario: deep })), /nest/);
    const e = await launch(dc, RACE);
    assert.equal(e.body.reason, 'entry');
  });
});

describe('a log point whose {expr} nests 20,000 levels', () => {
  let dc: DebugClient;
  before(async () => {
    dc = await startClient();
    await launch(dc, RACE, {}, []);
  });
  after(() => dc.stop());

  test('prints what is wrong in its place, and the run goes on', async () => {
    const deep = `${'('.repeat(20000)}1${')'.repeat(20000)}`;
    const line = lineOf(SMP_KC, 'if (llist_add(&csd->llist, &per_cpu(call_single_queue, cpu)))');
    await dc.setBreakpointsRequest({ source: { path: SMP_KC }, breakpoints: [{ line, logMessage: `queued {${deep}} on CPU{cpu}` }] });
    const logged = new Promise<string>((resolve) => dc.on('output', (e: DebugProtocol.OutputEvent) => {
      if (e.body.output.startsWith('queued')) resolve(e.body.output);
    }));
    const e = await continueToStop(dc);
    assert.equal(e.body.description, 'end of run');
    const text = await logged;
    assert.match(text, /^queued \{.{0,60}: the expression is 40001 characters long; at most 10000 are read\} on CPU1\n$/);
  });
});

describe('patched sources', () => {
  let dc: DebugClient;
  before(async () => {
    dc = await startClient();
    await launch(dc, RACE);
  });
  after(() => dc.stop());

  test('stay valid for the whole session, through runs and restarts', async () => {
    const e = await continueToStop(dc);
    assert.equal(e.body.description, 'WARN');
    const top = (await dc.stackTraceRequest({ threadId: 2 })).body.stackFrames[0];
    const ref = top.source!.sourceReference!;
    assert.ok(ref > 0, 'smp.kc is patched by 0001: its text comes by reference');
    const text = (await dc.sourceRequest({ sourceReference: ref })).body.content;
    await continueToStop(dc);
    assert.equal((await dc.sourceRequest({ sourceReference: ref })).body.content, text, 'after the run moved on');
    await Promise.all([dc.send('restart', {}), stopped(dc)]);
    assert.equal((await dc.send('source', { source: { sourceReference: ref } }) as DebugProtocol.SourceResponse).body.content, text, 'after a restart, asked by source.sourceReference');
    assert.equal(await refused(dc.sourceRequest({ sourceReference: 999 })), 'no source with reference 999: SMP Lab gives references only to patched model files');
  });
});

describe('one CPU continuing alone (singleThread)', () => {
  let dc: DebugClient;
  before(async () => {
    dc = await startClient();
  });
  after(() => dc.stop());

  test('runs as fast as a continue of every CPU: the history does not grow per step', async (t) => {
    const spin = scratchScenario('spin.smp', 'kernel linux-3.15\ncpus 3\ncpu 0 runs while (1) { }\ncpu 2 runs cpu_down(1)\n');
    await launch(dc, spin, { maxSteps: 200_000 }, []);
    const t0 = performance.now();
    const e = await continueToStop(dc, { threadId: 1, singleThread: true });
    const ms = performance.now() - t0;
    t.diagnostic(`singleThread continue of 200,000 steps: ${ms.toFixed(0)} ms`);
    assert.equal(e.body.description, 'step budget');
    assert.equal(e.body.threadId, 1);
    assert.match((await dc.threadsRequest()).body.threads[2].name, /^CPU2 · online · irqs on · swapper\/2/, 'CPU2 never ran');
    await dc.send('disconnect', {});
  });

  test('stops when the CPU waits for another, which it cannot do alone', async () => {
    const d2 = await startClient();
    try {
      await launch(d2, RACE, {}, []);
      const before0 = (await d2.stackTraceRequest({ threadId: 1 })).body.stackFrames.map((f) => `${f.name}@${f.line}`);
      const e = await continueToStop(d2, { threadId: 3, singleThread: true });
      assert.equal(e.body.description, 'waits');
      assert.equal(e.body.threadId, 3);
      assert.match(e.body.text ?? '', /^CPU2 cannot get further on its own: it is in \w+\(\)/);
      assert.deepEqual((await d2.stackTraceRequest({ threadId: 1 })).body.stackFrames.map((f) => `${f.name}@${f.line}`), before0, 'CPU0 did not move');
    } finally {
      await d2.stop();
    }
  });
});

describe('long work shares the event loop', () => {
  test('pause during a long continue is answered at once, and the run stops', async (t) => {
    const dc = await startClient();
    try {
      const spin = scratchScenario('spin.smp', 'kernel linux-3.15\ncpus 3\ncpu 0 runs while (1) { }\ncpu 1 runs while (1) { }\n');
      await launch(dc, spin, { maxSteps: 100_000_000 }, []);
      await dc.continueRequest({ threadId: 1 });
      // the run is under way once the adapter answers beside it
      await dc.threadsRequest();
      const t0 = performance.now();
      const stop = stopped(dc);
      await dc.pauseRequest({ threadId: 1 });
      const answered = performance.now() - t0;
      const e = await stop;
      const halted = performance.now() - t0;
      t.diagnostic(`pause during a continue: answered after ${answered.toFixed(1)} ms, stopped after ${halted.toFixed(1)} ms`);
      assert.equal(e.body.reason, 'pause');
      assert.equal(e.body.description, 'pause');
      // and the machine it paused can be read
      const steps = Number((await dc.evaluateRequest({ expression: 'nr_cpu_ids' })).body.result);
      assert.equal(steps, 3);
    } finally {
      await dc.stop();
    }
  });

  test('pause during a reverse continue through a long history is answered at once', async (t) => {
    const dc = await startClient();
    try {
      const spin = scratchScenario('spin.smp', 'kernel linux-3.15\ncpus 3\ncpu 0 runs while (1) { }\ncpu 1 runs while (1) { }\n');
      await launch(dc, spin, { maxSteps: 2_000_000 }, []);
      assert.equal((await continueToStop(dc)).body.description, 'step budget');
      // a breakpoint the past never reaches makes reverse continue replay all of it
      const never = lineOf(SMP_KC, 'if (llist_add(&csd->llist, &per_cpu(call_single_queue, cpu)))');
      await dc.setBreakpointsRequest({ source: { path: SMP_KC }, breakpoints: [{ line: never }] });
      await dc.send('reverseContinue', { threadId: 1 });
      // going backwards is under way once the adapter answers beside it
      await dc.threadsRequest();
      const t0 = performance.now();
      const stop = stopped(dc);
      await dc.pauseRequest({ threadId: 1 });
      const answered = performance.now() - t0;
      const e = await stop;
      t.diagnostic(`pause during a reverse continue: answered after ${answered.toFixed(1)} ms, stopped after ${(performance.now() - t0).toFixed(1)} ms`);
      assert.equal(e.body.reason, 'pause');
      assert.match(e.body.text ?? '', /while going backwards/);
    } finally {
      await dc.stop();
    }
  });

  test('disconnect and SIGTERM during a long continue end the adapter at once', async (t) => {
    const spin = scratchScenario('spin.smp', 'kernel linux-3.15\ncpus 2\ncpu 0 runs while (1) { }\n');
    for (const how of ['disconnect', 'SIGTERM', 'stdin closed'] as const) {
      const raw = RawAdapter.start();
      try {
        await raw.request('initialize', { adapterID: 'smplab' });
        assert.equal((await raw.request('launch', { scenario: spin, maxSteps: 100_000_000 })).success, true);
        await raw.request('configurationDone');
        await raw.request('continue', { threadId: 1 });
        // the run is under way once the adapter answers beside it
        await raw.request('threads');
        const t0 = performance.now();
        if (how === 'disconnect') {
          const r = await raw.request('disconnect');
          t.diagnostic(`disconnect during a continue: answered after ${(performance.now() - t0).toFixed(1)} ms`);
          assert.equal(r.success, true);
          raw.child.stdin.end();
        } else if (how === 'SIGTERM') raw.child.kill('SIGTERM');
        else raw.child.stdin.end();
        const exit = await within(raw.exit, `exit of the adapter after ${how}`);
        t.diagnostic(`${how} during a continue: adapter exited after ${(performance.now() - t0).toFixed(1)} ms`);
        assert.equal(exit.code, 0, how);
      } finally {
        raw.kill();
      }
    }
  });
});
