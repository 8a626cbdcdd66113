/**
 * Debug adapter figures: a step round trip, a full refresh after a stop at
 * 256 CPUs, stepBack one million steps into a run, a one-CPU (singleThread)
 * continue of a million steps, and how fast a pause is heard during a
 * continue. Talks to the built stdio adapter (dist/debugAdapter.js) with the
 * real DAP client.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { DebugProtocol } from '@vscode/debugprotocol';

const ROOT = join(__dirname, '..');
const ADAPTER = join(ROOT, 'dist', 'debugAdapter.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function session(scenario: string, args: Record<string, unknown>, filters: DebugProtocol.ExceptionFilterOptions[]): Promise<DebugClient> {
  const dc = new DebugClient('node', ADAPTER, 'smplab');
  await dc.start();
  await dc.initializeRequest();
  await dc.launch({ scenario, ...args } as DebugProtocol.LaunchRequestArguments);
  await dc.setExceptionBreakpointsRequest({ filters: [], filterOptions: filters });
  await Promise.all([dc.configurationDoneRequest(), dc.waitForEvent('stopped', 600000)]);
  return dc;
}

async function stepRoundTrip(): Promise<number[]> {
  const dc = await session(join(ROOT, 'examples', 'ipi-offline-race.smp'), { stopOnEntry: true }, []);
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = process.hrtime.bigint();
    await Promise.all([dc.stepInRequest({ threadId: 3 }), dc.waitForEvent('stopped')]);
    times.push(ms(t0));
  }
  await dc.stop();
  return times;
}

async function fullRefresh256(): Promise<{ times: number[]; threads: number; frames: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-bench-'));
  const file = join(ROOT, 'examples', 'ipi-offline-race.smp');
  const text = readFileSync(file, 'utf8').replace(/^cpus\s+3/m, 'cpus 256');
  const scenario = join(dir, 'race-256.smp');
  writeFileSync(scenario, text);
  const dc = await session(scenario, {}, [{ filterId: 'cpuhp', condition: 'action == CPU_DYING' }]);
  const times: number[] = [];
  let frames = 0;
  let threads = 0;
  for (let i = 0; i < 20; i++) {
    const t0 = process.hrtime.bigint();
    const t = await dc.threadsRequest();
    threads = t.body.threads.length;
    const traces = await Promise.all(t.body.threads.map((th) => dc.stackTraceRequest({ threadId: th.id, startFrame: 0, levels: 20 })));
    frames = traces.reduce((n, tr) => n + tr.body.stackFrames.length, 0);
    const top = traces[1].body.stackFrames[0];
    const scopes = await dc.scopesRequest({ frameId: top.id });
    await Promise.all(scopes.body.scopes.map((s) => dc.variablesRequest({ variablesReference: s.variablesReference })));
    times.push(ms(t0));
  }
  await dc.stop();
  return { times, threads, frames };
}

async function stepBackAtMillion(): Promise<{ times: number[]; reached: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-bench-model-'));
  const model = join(ROOT, 'models', 'linux-3.15');
  for (const f of readdirSync(model)) copyFileSync(join(model, f), join(dir, f));
  writeFileSync(join(dir, 'bench.kc'), '/* not a kernel function: a load generator for the benchmark */\nvoid bench_ping(int target)\n{\n\twhile (1)\n\t\tsmp_call_function_single(target, do_nothing, NULL, 1);\n}\n');
  const scenario = join(dir, 'stress.smp');
  writeFileSync(scenario, `kernel ${dir}\ncpus 4\ncpu 0 runs bench_ping(1)\ncpu 2 runs bench_ping(3)\nschedule random seed 1\n`);
  const dc = await session(scenario, { maxSteps: 1_000_000 }, []);
  const stepNow = async () => {
    const f = await dc.stackTraceRequest({ threadId: 1 });
    const scopes = await dc.scopesRequest({ frameId: f.body.stackFrames[0].id });
    const machine = scopes.body.scopes.find((s) => s.name === 'Machine')!;
    const vars = await dc.variablesRequest({ variablesReference: machine.variablesReference });
    return Number(vars.body.variables.find((v) => v.name === 'step')!.value);
  };
  const steps = await stepNow();
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = process.hrtime.bigint();
    await Promise.all([dc.stepBackRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    times.push(ms(t0));
  }
  const after = await stepNow();
  if (after !== steps - times.length) throw new Error(`stepBack went from ${steps} to ${after}, not ${steps - times.length}`);
  await dc.stop();
  return { times, reached: steps };
}

/** A scenario whose CPU 0 loops for ever on its own, and one more CPU that does the same. */
function spinScenario(): string {
  const dir = mkdtempSync(join(tmpdir(), 'smplab-bench-spin-'));
  const scenario = join(dir, 'spin.smp');
  writeFileSync(scenario, 'kernel linux-3.15\ncpus 3\ncpu 0 runs while (1) { }\ncpu 1 runs while (1) { }\n');
  return scenario;
}

/** `continue` with singleThread on CPU 0 for a million steps: what used to grow the history per step. */
async function singleThreadContinue(): Promise<number> {
  const dc = await session(spinScenario(), { stopOnEntry: true, maxSteps: 1_000_000 }, []);
  const t0 = process.hrtime.bigint();
  await Promise.all([dc.continueRequest({ threadId: 1, singleThread: true }), dc.waitForEvent('stopped', 600000)]);
  const took = ms(t0);
  await dc.stop();
  return took;
}

/** How long a pause takes to be answered, and to stop the machine, while a continue runs. */
async function pauseDuringContinue(): Promise<{ answered: number[]; stopped: number[] }> {
  const dc = await session(spinScenario(), { stopOnEntry: true, maxSteps: 1_000_000_000 }, []);
  const answered: number[] = [];
  const stopped: number[] = [];
  for (let i = 0; i < 10; i++) {
    await dc.continueRequest({ threadId: 1 });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = process.hrtime.bigint();
    const stop = dc.waitForEvent('stopped', 600000).then(() => ms(t0));
    await dc.pauseRequest({ threadId: 1 });
    answered.push(ms(t0));
    stopped.push(await stop);
  }
  await dc.stop();
  return { answered, stopped };
}

async function main(): Promise<void> {
  const rt = await stepRoundTrip();
  const refresh = await fullRefresh256();
  const back = await stepBackAtMillion();
  const single = await singleThreadContinue();
  const pause = await pauseDuringContinue();
  const rows = [
    ['DAP step round trip (stepIn, stdio): median', `${median(rt).toFixed(2)} ms`, '< 2 ms', median(rt) < 2 ? 'ok' : 'MISSED'],
    [`full refresh at 256 CPUs (threads, ${refresh.frames} frames, scopes, variables): median`, `${median(refresh.times).toFixed(1)} ms`, '< 20 ms', median(refresh.times) < 20 ? 'ok' : 'MISSED'],
    [`stepBack at step ${back.reached.toLocaleString('en')}: median`, `${median(back.times).toFixed(1)} ms`, '< 50 ms', median(back.times) < 50 ? 'ok' : 'MISSED'],
    ['continue with singleThread, 1,000,000 steps', `${single.toFixed(0)} ms`, '', ''],
    ['pause during a continue: answered, median (max)', `${median(pause.answered).toFixed(1)} ms (${Math.max(...pause.answered).toFixed(1)})`, '< 100 ms', Math.max(...pause.answered) < 100 ? 'ok' : 'MISSED'],
    ['pause during a continue: stopped, median (max)', `${median(pause.stopped).toFixed(1)} ms (${Math.max(...pause.stopped).toFixed(1)})`, '< 100 ms', Math.max(...pause.stopped) < 100 ? 'ok' : 'MISSED'],
  ];
  for (const r of rows) console.log(`${r[0].padEnd(80)} ${r[1].padStart(10)}  ${r[2].padEnd(8)} ${r[3]}`);
  writeFileSync(join(__dirname, 'dap-results.json'), JSON.stringify({
    stepRoundTripMs: rt, fullRefresh256Ms: refresh.times, stepBackAtMillionMs: back.times,
    singleThreadContinueMillionMs: single, pauseAnsweredMs: pause.answered, pauseStoppedMs: pause.stopped,
  }, null, 2) + '\n');
}

main().catch((e) => {
  console.error(`dap benchmark error: ${(e as Error).stack ?? e}`);
});
