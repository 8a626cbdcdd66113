import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { DebugProtocol } from '@vscode/debugprotocol';
import { ROOT } from './helpers.js';

const ADAPTER = join(ROOT, 'dist', 'debugAdapter.js');
const RACE = join(ROOT, 'examples', 'ipi-offline-race.smp');
const FIXED = join(ROOT, 'examples', 'ipi-offline-fixed.smp');
const SMP_KC = join(ROOT, 'models', 'linux-3.15', 'smp.kc');
const STOP_KC = join(ROOT, 'models', 'linux-3.15', 'stop_machine.kc');

let dc: DebugClient;

/** Each suite talks to a fresh stdio adapter. */
function withAdapter(): void {
  before(() => {
    dc = new DebugClient('node', ADAPTER, 'smplab');
    return dc.start();
  });
  after(() => dc.stop());
}

async function launch(scenario: string, extra: Record<string, unknown> = {}, filters: DebugProtocol.ExceptionFilterOptions[] = [{ filterId: 'warn' }]): Promise<void> {
  await dc.initializeRequest();
  await dc.launch({ scenario, stopOnEntry: true, ...extra } as DebugProtocol.LaunchRequestArguments);
  await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: filters });
  await Promise.all([dc.configurationDoneRequest(), dc.waitForEvent('stopped')]);
}

async function frames(threadId: number): Promise<string[]> {
  const r = await dc.stackTraceRequest({ threadId });
  return r.body.stackFrames.map((f) => `${f.name}@${f.line}`);
}

async function stopped(): Promise<DebugProtocol.StoppedEvent> {
  return (await dc.waitForEvent('stopped', 20000)) as DebugProtocol.StoppedEvent;
}

async function continueToStop(): Promise<DebugProtocol.StoppedEvent> {
  const [, e] = await Promise.all([dc.continueRequest({ threadId: 1 }), stopped()]);
  return e;
}

describe('the debug adapter over stdio', () => {
  withAdapter();

  test('threads are CPUs named with their state', async () => {
    await launch(RACE);
    const t = await dc.threadsRequest();
    assert.deepEqual(t.body.threads.map((x) => x.id), [1, 2, 3]);
    assert.match(t.body.threads[1].name, /^CPU1 · online · irqs on · /);
  });

  test('continuing stops on the WARN with the message and the queued callback', async () => {
    const e = await continueToStop();
    assert.equal(e.body.reason, 'exception');
    assert.equal(e.body.description, 'WARN');
    assert.equal(e.body.threadId, 2);
    assert.equal(e.body.allThreadsStopped, true);
    const info = await dc.exceptionInfoRequest({ threadId: 2 });
    assert.match(info.body.description ?? '', /IPI on offline CPU 1/);
    assert.match(info.body.description ?? '', /IPI callback trigger_softirq was queued for CPU1 while it was offline/);
    const f = await frames(2);
    assert.match(f[0], /generic_smp_call_function_single_interrupt \[hardirq\]@\d+/);
    const t = await dc.threadsRequest();
    assert.match(t.body.threads[1].name, /^CPU1 · offline · irqs off/);
  });
});

describe('breakpoints, stepping and time travel', () => {
  withAdapter();

  test('a cpuhp breakpoint with condition action == CPU_DYING stops on the dying CPU', async () => {
    await launch(RACE, {}, [{ filterId: 'cpuhp', condition: 'action == CPU_DYING' }]);
    const e = await continueToStop();
    assert.equal(e.body.reason, 'breakpoint');
    assert.equal(e.body.threadId, 2);
    assert.equal(e.body.description, 'CPU_DYING');
    assert.match(e.body.text ?? '', /smplab:cpu_notify on CPU1: action=CPU_DYING target=1/);
  });

  test('stepping CPU 1 alone leaves every other CPU exactly where it was', async () => {
    const before0 = await frames(1);
    const before2 = await frames(3);
    const before1 = await frames(2);
    await Promise.all([dc.nextRequest({ threadId: 2 }), stopped()]);
    assert.notDeepEqual(await frames(2), before1);
    assert.deepEqual(await frames(1), before0);
    assert.deepEqual(await frames(3), before2);
  });

  test('stepBack returns exactly the previous frames', async () => {
    const steps = async () => Number((await dc.evaluateRequest({ expression: 'smp_processor_id()' })).body.result);
    void steps;
    const before = [await frames(1), await frames(2), await frames(3)];
    await Promise.all([dc.stepInRequest({ threadId: 2 }), stopped()]);
    const moved = await frames(2);
    assert.notDeepEqual(moved, before[1]);
    // one stepIn may be several machine steps; go back until CPU1 is where it was
    for (let i = 0; i < 50 && JSON.stringify(await frames(2)) !== JSON.stringify(before[1]); i++) {
      await Promise.all([dc.stepBackRequest({ threadId: 2 }), stopped()]);
    }
    assert.deepEqual([await frames(1), await frames(2), await frames(3)], before);
  });

  test("CPU 1's call_single_queue shows trigger_softirq in Variables", async () => {
    // after CPU_DYING the callback is queued on CPU1 (patch 1 only: nothing flushes it)
    const f = await dc.stackTraceRequest({ threadId: 2 });
    const scopes = await dc.scopesRequest({ frameId: f.body.stackFrames[0].id });
    const cpuScope = scopes.body.scopes.find((s) => s.name === 'CPU1')!;
    const vars = await dc.variablesRequest({ variablesReference: cpuScope.variablesReference });
    const q = vars.body.variables.find((v) => v.name === 'call_single_queue')!;
    assert.match(q.value, /1 queued: trigger_softirq/);
    const entries = await dc.variablesRequest({ variablesReference: q.variablesReference });
    assert.match(entries.body.variables[0].value, /func=trigger_softirq/);
  });
});

describe('more breakpoints', () => {
  withAdapter();

  test('an ipi-send breakpoint with condition target == 1', async () => {
    await launch(RACE, {}, [{ filterId: 'ipi-send', condition: 'target == 1' }]);
    const e = await continueToStop();
    assert.equal(e.body.threadId, 1);
    assert.equal(e.body.description, 'IPI → CPU1');
    assert.match(e.body.text ?? '', /ipi:ipi_send_cpu on CPU0: cpu=1 callsite=generic_exec_single\+0x[0-9a-f]+\/0x[0-9a-f]+ callback=generic_smp_call_function_single_interrupt\+0x0\/0x[0-9a-f]+$/);
  });

  test('a stop-machine-state breakpoint on DISABLE_IRQ for CPU 0', async () => {
    // CPU 0 sent the IPI from its disk interrupt before it noticed DISABLE_IRQ
    await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'stop-machine-state', condition: 'state == MULTI_STOP_DISABLE_IRQ && cpu == 0' }] });
    const e = await continueToStop();
    assert.equal(e.body.threadId, 1);
    assert.equal(e.body.description, 'DISABLE_IRQ');
    assert.match(e.body.text ?? '', /smplab:multi_stop_state on CPU0: state=MULTI_STOP_DISABLE_IRQ active=0/);
    assert.match((await dc.threadsRequest()).body.threads[0].name, /^CPU0 · online · irqs on · MULTI_STOP_DISABLE_IRQ/);
  });

  test('stepping a CPU that waits on the others ends and says what it waits for', async () => {
    // CPU 0 has acked DISABLE_IRQ; it now spins until the last CPU acks
    const outputs: string[] = [];
    const listener = (e: DebugProtocol.OutputEvent) => outputs.push(e.body.output);
    dc.on('output', listener);
    for (let i = 0; i < 30 && !outputs.some((o) => /cannot get further/.test(o)); i++) {
      await Promise.all([dc.nextRequest({ threadId: 1 }), stopped()]);
    }
    dc.removeListener('output', listener);
    assert.ok(outputs.some((o) => /^CPU0 cannot get further on its own: it is in multi_cpu_stop\(\) at .* waiting for .*state.* to change/.test(o)), outputs.join(''));
  });

  test('a line breakpoint with a condition, and a bad condition reported on the breakpoint', async () => {
    // a line patch 1 leaves alone, one it rewrites
    const queued = lineOf(SMP_KC, 'if (llist_add(&csd->llist, &per_cpu(call_single_queue, cpu)))')!;
    const rewritten = lineOf(SMP_KC, 'WARN_ON_ONCE(!cpu_online(smp_processor_id()));')!;
    const r = await dc.setBreakpointsRequest({ source: { path: SMP_KC }, breakpoints: [
      { line: queued, condition: 'cpu == 1' }, { line: queued, condition: 'nosuch == 1' }, { line: rewritten },
    ] });
    assert.equal(r.body.breakpoints[0].verified, true, r.body.breakpoints[0].message);
    assert.equal(r.body.breakpoints[1].verified, false);
    assert.match(r.body.breakpoints[1].message ?? '', /'nosuch' is not declared/);
    assert.equal(r.body.breakpoints[2].verified, false);
    assert.match(r.body.breakpoints[2].message ?? '', /changed by patch ipi-offline-v6\/0001/);
    await dc.setExceptionBreakpointsRequest({ filters: [] });
    // the IPI to CPU 1 was queued earlier in this run: travel back to it
    const [, e] = await Promise.all([dc.send('reverseContinue', { threadId: 1 }), stopped()]);
    assert.equal(e.body.reason, 'breakpoint');
    assert.deepEqual(e.body.hitBreakpointIds, [r.body.breakpoints[0].id]);
    const top = (await dc.stackTraceRequest({ threadId: e.body.threadId! })).body.stackFrames[0];
    assert.equal(top.name, 'generic_exec_single');
    assert.match(top.source?.name ?? '', /smp\.kc \(patched: 0001\)/);
    const src = await dc.sourceRequest({ sourceReference: top.source!.sourceReference!, source: top.source });
    assert.match(src.body.content.split('\n')[top.line - 1], /llist_add\(&csd->llist/);
    await dc.setBreakpointsRequest({ source: { path: SMP_KC }, breakpoints: [] });
  });

  test('a breakpoint on a scenario line stops where the task starts', async () => {
    const r = await dc.setBreakpointsRequest({ source: { path: RACE }, breakpoints: [{ line: lineOf(RACE, 'cpu 2 runs cpu_down(1)')! }] });
    assert.equal(r.body.breakpoints[0].verified, true);
    await Promise.all([dc.send('restart', {}), stopped()]);
    const e = await continueToStop();
    assert.equal(e.body.reason, 'breakpoint');
    assert.equal(e.body.threadId, 3);
    const top = (await dc.stackTraceRequest({ threadId: 3 })).body.stackFrames[0];
    assert.equal(top.name, 'cpu 2 runs cpu_down(1)');
    assert.equal(top.source?.path, RACE);
    await dc.setBreakpointsRequest({ source: { path: RACE }, breakpoints: [] });
  });
});

describe('frozen CPUs, data breakpoints and bad requests', () => {
  withAdapter();

  test('a frozen CPU takes no step during continue', async () => {
    await launch(FIXED, {}, [{ filterId: 'cpuhp', condition: 'action == CPU_DOWN_PREPARE' }]);
    const e = await continueToStop();
    assert.equal(e.body.threadId, 3);
    const before0 = await frames(1);
    const r = await dc.customRequest('freeze', { threadId: 1 });
    assert.equal(r.body.frozen, true);
    assert.match((await dc.threadsRequest()).body.threads[0].name, /frozen/);
    await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: [{ filterId: 'ipi-send' }] });
    const e2 = await continueToStop();
    assert.deepEqual(await frames(1), before0, 'CPU0 did not move');
    assert.ok(e2.body.description);
    await dc.customRequest('thaw', { threadId: 1 });
    assert.doesNotMatch((await dc.threadsRequest()).body.threads[0].name, /frozen/);
  });

  test('a data breakpoint on msdata->state stops when it changes', async () => {
    await dc.setExceptionBreakpointsRequest({ filters: [] });
    // find msdata->state through the Machine scope while stop-machine runs
    const e = await (async () => {
      for (let i = 0; i < 40; i++) {
        const f = await dc.stackTraceRequest({ threadId: 1 });
        const scopes = await dc.scopesRequest({ frameId: f.body.stackFrames[0].id });
        const machine = scopes.body.scopes.find((s) => s.name === 'Machine')!;
        const vars = await dc.variablesRequest({ variablesReference: machine.variablesReference });
        const ms = vars.body.variables.find((v) => v.name.startsWith('stop-machine data'));
        if (ms) {
          const info = await dc.dataBreakpointInfoRequest({ variablesReference: ms.variablesReference, name: 'state' });
          assert.ok(info.body.dataId);
          await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: info.body.dataId!, accessType: 'write' }] });
          return continueToStop();
        }
        await Promise.all([dc.nextRequest({ threadId: 3 }), stopped()]);
      }
      throw new Error('stop-machine never started');
    })();
    assert.equal(e.body.reason, 'data breakpoint');
    assert.equal(e.body.description, 'breakpoint');
    assert.match(e.body.text ?? '', /state .*changed/);
    await dc.setDataBreakpointsRequest({ breakpoints: [] });
  });

  test("data breakpoints on CPU 1's bit of cpu_online_mask and on its call_single_queue", async () => {
    await Promise.all([dc.send('restart', {}), stopped()]);
    const f = await dc.stackTraceRequest({ threadId: 2 });
    const scopes = await dc.scopesRequest({ frameId: f.body.stackFrames[0].id });
    const machine = scopes.body.scopes.find((s) => s.name === 'Machine')!;
    const online = (await dc.variablesRequest({ variablesReference: machine.variablesReference })).body.variables.find((v) => v.name === 'cpu_online_mask')!;
    assert.equal(online.value, '{0-2}');
    const bit = await dc.dataBreakpointInfoRequest({ variablesReference: online.variablesReference, name: 'cpu1' });
    const cpu1 = scopes.body.scopes.find((s) => s.name === 'CPU1')!;
    const queue = await dc.dataBreakpointInfoRequest({ variablesReference: cpu1.variablesReference, name: 'call_single_queue' });
    assert.ok(bit.body.dataId && queue.body.dataId);
    const set = await dc.setDataBreakpointsRequest({ breakpoints: [{ dataId: bit.body.dataId! }] });
    const e = await continueToStop();
    assert.equal(e.body.reason, 'data breakpoint');
    assert.deepEqual(e.body.hitBreakpointIds, [set.body.breakpoints[0].id]);
    assert.equal(e.body.threadId, 2, 'CPU 1 clears its own online bit in __cpu_disable');
    assert.match(e.body.text ?? '', /bit 1 changed: 1 → 0/);
    await dc.setDataBreakpointsRequest({ breakpoints: [] });
  });

  test('bad requests and arguments get error messages, and the adapter lives on', async () => {
    await assert.rejects(dc.stackTraceRequest({ threadId: 99 }), /^Error: threadId 99 is not a CPU of this scenario \(CPUs 0-2 are threads 1-3\)$/);
    await assert.rejects(dc.customRequest('freeze', {}), /^Error: freeze needs arguments \(threadId is missing\)$/);
    await assert.rejects(dc.customRequest('frobnicate', {}), /unknown request 'frobnicate'/);
    await assert.rejects(dc.evaluateRequest({ expression: '1 +' }), /expected an expression/);
    assert.deepEqual((await dc.variablesRequest({ variablesReference: 123456 })).body.variables, [], 'an unknown reference has nothing under it');
    const ok = await dc.evaluateRequest({ expression: 'nr_cpu_ids' });
    assert.equal(ok.body.result, '3');
  });
});

describe('launch errors', () => {
  withAdapter();

  test('a scenario with errors fails the launch with file:line:col diagnostics', async () => {
    await dc.initializeRequest();
    await assert.rejects(dc.launch({ scenario: join(ROOT, 'test', 'fixtures', 'broken.smp') } as DebugProtocol.LaunchRequestArguments), /broken\.smp:5:12: error: 'cpu_dwn' is not declared/);
    await assert.rejects(dc.launch({} as DebugProtocol.LaunchRequestArguments), /needs "scenario"/);
  });
});

function lineOf(file: string, text: string): number | undefined {
  const lines = require('node:fs').readFileSync(file, 'utf8').split('\n') as string[];
  const i = lines.findIndex((l) => l.includes(text));
  return i >= 0 ? i + 1 : undefined;
}
void STOP_KC;

describe('smplab dap --port', () => {
  test('serves DAP on 127.0.0.1 and answers a launch', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'dap', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let err = '';
        child.stderr!.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
          if (m) resolve(Number(m[1]));
        });
        child.on('exit', (code) => reject(new Error(`dap exited ${code}: ${err}`)));
      });
      const client = new DebugClient('node', '', 'smplab');
      await client.start(port);
      await client.initializeRequest();
      await client.launch({ scenario: RACE, stopOnEntry: true } as DebugProtocol.LaunchRequestArguments);
      await Promise.all([client.configurationDoneRequest(), client.waitForEvent('stopped')]);
      assert.equal((await client.threadsRequest()).body.threads.length, 3);
      await client.stop();
    } finally {
      child.kill();
    }
  });
});

describe('function breakpoints, log points, setVariable, completions, restart', () => {
  withAdapter();

  test('a function breakpoint with a hit count stops on the second call', async () => {
    await launch(RACE, {}, []);
    const r = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'ack_state', hitCondition: '2' }, { name: 'no_such_fn' }] });
    assert.equal(r.body.breakpoints[0].verified, true);
    assert.equal(r.body.breakpoints[1].verified, false);
    assert.match(r.body.breakpoints[1].message ?? '', /no function 'no_such_fn'/);
    const e = await continueToStop();
    assert.equal(e.body.reason, 'function breakpoint');
    assert.deepEqual(e.body.hitBreakpointIds, [r.body.breakpoints[0].id]);
    assert.match((await frames(e.body.threadId!))[0], /^ack_state@/);
    await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
  });

  test('stepOut returns to the caller on the same CPU', async () => {
    const e = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    void e;
    const t = (await dc.threadsRequest()).body.threads;
    let cpuThread = 0;
    for (const th of t) if ((await frames(th.id))[0].startsWith('ack_state@')) cpuThread = th.id;
    assert.ok(cpuThread);
    const before = await frames(cpuThread);
    await Promise.all([dc.stepOutRequest({ threadId: cpuThread }), stopped()]);
    const after = await frames(cpuThread);
    assert.equal(after.length, before.length - 1);
    assert.match(after[0], /^multi_cpu_stop@/);
  });

  test('a log point prints with {expr} and does not stop', async () => {
    const line = lineOf(STOP_KC, 'curstate = msdata->state;')!;
    const r = await dc.setBreakpointsRequest({ source: { path: STOP_KC }, breakpoints: [{ line, logMessage: 'CPU{smp_processor_id()} sees state {msdata->state}' }] });
    assert.equal(r.body.breakpoints[0].verified, true);
    const out = dc.waitForEvent('output', 20000) as Promise<DebugProtocol.OutputEvent>;
    // listen for the stop before continuing: it may come right after the first logged line
    const stop = stopped();
    const logged = await (async () => {
      const [, o] = await Promise.all([dc.continueRequest({ threadId: 1 }), (async () => {
        for (;;) {
          const ev = (await dc.waitForEvent('output', 20000)) as DebugProtocol.OutputEvent;
          if (/sees state/.test(ev.body.output)) return ev;
        }
      })()]);
      return o;
    })();
    void out;
    assert.match(logged.body.output, /^CPU\d sees state MULTI_STOP_[A-Z_]+\n$/);
    await stop;
    await dc.setBreakpointsRequest({ source: { path: STOP_KC }, breakpoints: [] });
  });

  test('breakpointLocations lists the lines with statements', async () => {
    const line = lineOf(STOP_KC, 'curstate = msdata->state;')!;
    const r = await dc.send('breakpointLocations', { source: { path: STOP_KC }, line: line - 3, endLine: line + 3 }) as DebugProtocol.BreakpointLocationsResponse;
    assert.ok(r.body.breakpoints.some((b) => b.line === line));
    assert.ok(r.body.breakpoints.every((b) => b.line >= line - 3 && b.line <= line + 3));
  });

  test('setVariable changes memory, and completions offer model names', async () => {
    const f = await dc.stackTraceRequest({ threadId: 2 });
    const scopes = await dc.scopesRequest({ frameId: f.body.stackFrames[0].id });
    const machine = scopes.body.scopes.find((s) => s.name === 'Machine')!;
    const vars = await dc.variablesRequest({ variablesReference: machine.variablesReference });
    const globals = vars.body.variables.find((v) => v.name === 'globals')!;
    const g = await dc.variablesRequest({ variablesReference: globals.variablesReference });
    assert.ok(g.body.variables.some((v) => v.name === 'cpu_chain'));
    const set = await dc.setVariableRequest({ variablesReference: globals.variablesReference, name: 'cpu_hotplug_disabled', value: '1' });
    assert.equal(set.body.value, '1');
    assert.equal((await dc.evaluateRequest({ expression: 'cpu_hotplug_disabled' })).body.result, '1');
    const c = await dc.completionsRequest({ text: 'generic_exe', column: 12 });
    assert.ok(c.body.targets.some((t) => t.label === 'generic_exec_single'));
  });

  test('restart starts the scenario over', async () => {
    await Promise.all([dc.send('restart', {}), stopped()]);
    const t = await dc.threadsRequest();
    assert.match(t.body.threads[1].name, /^CPU1 · online/);
  });
});
