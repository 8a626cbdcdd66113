/**
 * How stops and values read: the entry stop on the scenario's line, short
 * stop badges with the details in the stop's text, the WARN on its own line
 * with a kernel-style report, the event log in the Debug Console, and
 * cpumasks, enums and hotplug states by name.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { DebugProtocol } from '@vscode/debugprotocol';
import { RACE, continueToStop, launch, lineOf, startClient, stopped } from './dap-client.js';
import { smplab } from './helpers.js';

async function topFrame(dc: DebugClient, threadId: number): Promise<DebugProtocol.StackFrame> {
  return (await dc.stackTraceRequest({ threadId })).body.stackFrames[0];
}

/** The text of a frame's line, from its file or, when patched, from the adapter. */
async function frameLineText(dc: DebugClient, f: DebugProtocol.StackFrame): Promise<string> {
  const text = f.source?.sourceReference
    ? (await dc.sourceRequest({ sourceReference: f.source.sourceReference })).body.content
    : require('node:fs').readFileSync(f.source!.path!, 'utf8');
  return text.split('\n')[f.line - 1];
}

describe('the entry stop', () => {
  let dc: DebugClient;
  before(async () => {
    dc = await startClient();
  });
  after(() => dc.stop());

  test('is on the CPU whose task the scenario starts, at the scenario line', async () => {
    const e = await launch(dc, RACE);
    assert.equal(e.body.reason, 'entry');
    assert.equal(e.body.description, 'entry');
    assert.equal(e.body.threadId, 3, 'cpu 2 runs cpu_down(1)');
    assert.match(e.body.text ?? '', /CPU2 starts with: cpu 2 runs cpu_down\(1\)/);
    const top = await topFrame(dc, 3);
    assert.equal(top.name, 'cpu 2 runs cpu_down(1)');
    assert.equal(top.source?.path, RACE);
    assert.equal(top.line, lineOf(RACE, 'cpu 2 runs cpu_down(1)'));
    assert.match((await topFrame(dc, 1)).name, /idle/, 'a CPU without a task shows where it idles');
  });

  test('stepping into the scenario line enters the call it makes', async () => {
    await Promise.all([dc.stepInRequest({ threadId: 3 }), stopped(dc)]);
    const frames = (await dc.stackTraceRequest({ threadId: 3 })).body.stackFrames;
    assert.equal(frames[0].name, 'cpu_down');
    assert.equal(frames[1].name, 'cpu 2 runs cpu_down(1)');
  });
});

describe('stops', () => {
  let dc: DebugClient;
  before(async () => {
    dc = await startClient();
  });
  after(() => dc.stop());

  test('have a word or two as their badge and the details in their text', async () => {
    const seen: DebugProtocol.StoppedEvent['body'][] = [];
    seen.push((await launch(dc, RACE, {}, [{ filterId: 'cpuhp', condition: 'action == CPU_DYING' }, { filterId: 'warn' }])).body);
    seen.push((await continueToStop(dc)).body);
    seen.push((await Promise.all([dc.nextRequest({ threadId: 2 }), stopped(dc)]))[1].body);
    seen.push((await continueToStop(dc)).body);
    seen.push((await continueToStop(dc)).body);
    seen.push((await Promise.all([dc.stepBackRequest({ threadId: 1 }), stopped(dc)]))[1].body);
    assert.deepEqual(seen.map((s) => [s.reason, s.description]), [
      ['entry', 'entry'], ['breakpoint', 'CPU_DYING'], ['step', 'step'], ['exception', 'WARN'], ['pause', 'end of run'], ['step', 'step back'],
    ]);
    assert.match(seen[1].text ?? '', /^smplab:cpu_notify on CPU1: action=CPU_DYING target=1$/);
    assert.match(seen[3].text ?? '', /IPI on offline CPU 1/);
    assert.match(seen[4].text ?? '', /^The run has ended after \d+ steps/);
    for (const s of seen) assert.ok(s.description!.length <= 12, `"${s.description}" is short enough to leave the CPU's name readable`);
  });

  test('on an event that is not harm done read as events: no exception widget', async () => {
    await Promise.all([dc.send('restart', {}), stopped(dc)]);
    const e = await continueToStop(dc);
    assert.equal(e.body.description, 'CPU_DYING');
    assert.notEqual(e.body.reason, 'exception');
    await assert.rejects(dc.exceptionInfoRequest({ threadId: 2 }), /the CPUs are not stopped on a WARN, a BUG, lost work or a fault/);
  });
});

describe('the WARN stop', () => {
  let dc: DebugClient;
  const console: DebugProtocol.OutputEvent[] = [];
  before(async () => {
    dc = await startClient();
    dc.on('output', (e: DebugProtocol.OutputEvent) => console.push(e));
  });
  after(() => dc.stop());

  test('is on the WARN( line, and the exception widget has the message, the queued callbacks and the report, every time', async () => {
    await launch(dc, RACE);
    for (let run = 0; run < 2; run++) {
      if (run) await Promise.all([dc.send('restart', {}), stopped(dc)]);
      const e = await continueToStop(dc);
      assert.equal(e.body.description, 'WARN');
      const top = await topFrame(dc, 2);
      assert.equal(top.name, 'generic_smp_call_function_single_interrupt [hardirq]');
      assert.match(await frameLineText(dc, top), /^\s*WARN\(/, 'the editor shows the WARN line itself');
      const info = (await dc.exceptionInfoRequest({ threadId: 2 })).body;
      assert.equal(info.exceptionId, 'WARN');
      const [message, callbacks, blank, ...rest] = (info.description ?? '').split('\n');
      assert.deepEqual([message, callbacks, blank], ['IPI on offline CPU 1', 'IPI callback trigger_softirq was queued for CPU1 while it was offline', '']);
      const report = rest.join('\n');
      assert.match(report, new RegExp(String.raw`^------------\[ cut here \]------------\nWARNING: CPU: 1 PID: \d+ at kernel/smp\.c:${top.line} generic_smp_call_function_single_interrupt\+0x[0-9a-f]+/0x[0-9a-f]+\(\)\nIPI on offline CPU 1\nModules linked in:\nCPU: 1 PID: \d+ Comm: migration/1\nCall Trace:\n <IRQ>\n generic_smp_call_function_single_interrupt\+0x[0-9a-f]+/0x[0-9a-f]+ kernel/smp\.c:${top.line}\n <EOI>\n multi_cpu_stop\+`));
      assert.match(report, /\n---\[ end trace 0000000000000001 \]---$/);
    }
  });

  test('the Debug Console has the event log up to the WARN as smplab run prints it, then the kernel-style report', () => {
    const text = console.filter((e) => e.body.category !== 'console').map((e) => e.body.output).join('');
    const cli = smplab('run', RACE).stdout.split('\n');
    const warnAt = cli.findIndex((l) => /WARNING: CPU: 1/.test(l));
    assert.ok(warnAt > 10);
    let from = 0;
    for (const line of cli.slice(0, warnAt)) {
      const at = text.indexOf(`${line}\n`, from);
      assert.ok(at >= 0, `the Debug Console lacks, in order: ${line}`);
      from = at;
    }
    assert.match(text.slice(from), /\[001\] ------------\[ cut here \]------------\n +\d+ \[001\] WARNING: CPU: 1 PID: \d+ at kernel\/smp\.c:\d+ generic_smp_call_function_single_interrupt\+0x[0-9a-f]+\/0x[0-9a-f]+\(\)\n/);
    assert.match(text, /\[001\] Call Trace:\n/);
    const warning = console.find((e) => /WARNING: CPU: 1/.test(e.body.output))!;
    assert.match(warning.body.source?.name ?? '', /^smp\.kc/, 'the WARNING line links to the WARN');
    assert.equal(warning.body.category, 'stderr');
  });
});

describe('values', () => {
  let dc: DebugClient;
  before(async () => {
    dc = await startClient();
    await launch(dc, RACE);
  });
  after(() => dc.stop());

  async function perCpuRow(threadId: number, cpu: number, name: string): Promise<DebugProtocol.Variable> {
    const f = await topFrame(dc, threadId);
    const scopes = (await dc.scopesRequest({ frameId: f.id })).body.scopes;
    const cpuScope = (await dc.variablesRequest({ variablesReference: scopes.find((s) => s.name === `CPU${cpu}`)!.variablesReference })).body.variables;
    const perCpu = cpuScope.find((v) => v.name === 'per-CPU variables')!;
    return (await dc.variablesRequest({ variablesReference: perCpu.variablesReference })).body.variables.find((v) => v.name === name)!;
  }

  test('a cpumask is its CPUs, enum and hotplug-state values are names', async () => {
    const mask = await dc.evaluateRequest({ expression: 'cpu_online_mask' });
    assert.equal(mask.body.result, '{0-2}');
    const bits = await dc.variablesRequest({ variablesReference: mask.body.variablesReference });
    assert.deepEqual(bits.body.variables.map((v) => `${v.name}=${v.value}`), ['cpu0=1', 'cpu1=1', 'cpu2=1']);
    assert.equal((await dc.evaluateRequest({ expression: 'per_cpu(cpu_state, 1)' })).body.result, 'CPU_ONLINE');
    const e = await continueToStop(dc);
    assert.equal(e.body.description, 'WARN');
    const stopFrame = (await dc.stackTraceRequest({ threadId: 2 })).body.stackFrames.find((f) => f.name === 'multi_cpu_stop')!;
    assert.match((await dc.evaluateRequest({ expression: 'curstate', frameId: stopFrame.id })).body.result, /^MULTI_STOP_[A-Z_]+$/);
    assert.match((await dc.threadsRequest()).body.threads[1].name, /^CPU1 · offline · irqs off · MULTI_STOP_[A-Z_]+$/);
    await continueToStop(dc);
    for (const context of ['repl', 'hover', 'watch']) {
      assert.equal((await dc.evaluateRequest({ expression: 'cpu_online_mask', context })).body.result, '{0,2}', context);
      assert.equal((await dc.evaluateRequest({ expression: 'per_cpu(cpu_state, 1)', context })).body.result, 'CPU_DEAD', context);
    }
    assert.equal((await perCpuRow(2, 1, 'cpu_state')).value, 'CPU_DEAD', 'in the Variables view too');
    const scopes = (await dc.scopesRequest({ frameId: (await topFrame(dc, 1)).id })).body.scopes;
    const machine = (await dc.variablesRequest({ variablesReference: scopes.find((s) => s.name === 'Machine')!.variablesReference })).body.variables;
    assert.equal(machine.find((v) => v.name === 'cpu_online_mask')?.value, '{0,2}');
  });

  test('Debug Console completions offer the built-ins as well as the model names', async () => {
    const labels = async (text: string) => (await dc.completionsRequest({ text, column: text.length + 1 })).body.targets.map((t) => t.label);
    assert.ok((await labels('smp_pro')).includes('smp_processor_id'));
    assert.ok((await labels('x + cpu_onl')).includes('cpu_online'));
    assert.ok((await labels('generic_exe')).includes('generic_exec_single'));
    assert.ok((await labels('CPU_DY')).includes('CPU_DYING'));
    const item = (await dc.completionsRequest({ text: 'x + cpu_onl', column: 12 })).body.targets.find((t) => t.label === 'cpu_online')!;
    assert.deepEqual([item.start, item.length, item.type], [4, 7, 'function']);
  });
});
