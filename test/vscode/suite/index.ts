/**
 * Integration suite run inside a desktop VS Code by @vscode/test-electron (test/vscode/run.ts).
 * A tiny sequential runner (no mocha): run() throws if any test fails, which is what
 * test-electron reports as the exit code.
 *
 * The workspace is a scratch copy of examples/ ($SMPLAB_TEST_WORKSPACE).
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';

type Test = { name: string; fn: () => Promise<void>; timeoutMs: number };
const tests: Test[] = [];
const test = (name: string, fn: () => Promise<void>, timeoutMs = 30_000) => tests.push({ name, fn, timeoutMs });

const EXTENSION_ID = 'smplab.smplab';
const workspace = () => process.env.SMPLAB_TEST_WORKSPACE ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
const example = (name: string) => vscode.Uri.file(path.join(workspace(), name));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, get: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

// ---- DAP events seen by a tracker (stopped / terminated), per session

interface StoppedBody { reason: string; threadId?: number; description?: string; text?: string }
const stops: { session: string; body: StoppedBody }[] = [];
const terminated = new Set<string>();
let trackerRegistered = false;
function trackEvents(): void {
  if (trackerRegistered) return;
  trackerRegistered = true;
  vscode.debug.registerDebugAdapterTrackerFactory('smplab', {
    createDebugAdapterTracker: (s) => ({
      onDidSendMessage: (m: { type?: string; event?: string; body?: unknown }) => {
        if (m.type === 'event' && m.event === 'stopped') stops.push({ session: s.id, body: m.body as StoppedBody });
        if (m.type === 'event' && m.event === 'terminated') terminated.add(s.id);
      },
    }),
  });
}
const nextStop = (session: vscode.DebugSession, after: number, what: string, timeoutMs = 20_000) =>
  until(what, () => stops.slice(after).find((s) => s.session === session.id)?.body, timeoutMs);

async function startSession(file: string): Promise<vscode.DebugSession> {
  trackEvents();
  const before = stops.length;
  const started = new Promise<vscode.DebugSession>((resolve) => {
    const d = vscode.debug.onDidStartDebugSession((s) => {
      if (s.type === 'smplab') {
        d.dispose();
        resolve(s);
      }
    });
  });
  const ok = await vscode.debug.startDebugging(undefined, {
    type: 'smplab', request: 'launch', name: `test ${file}`, scenario: example(file).fsPath, stopOnEntry: true,
  });
  assert.ok(ok, 'startDebugging returned false');
  const session = await started;
  const entry = await nextStop(session, before, 'the stop on entry');
  assert.equal(entry.reason, 'entry');
  return session;
}

async function threads(session: vscode.DebugSession): Promise<{ id: number; name: string }[]> {
  return ((await session.customRequest('threads')) as { threads: { id: number; name: string }[] }).threads;
}

async function topFrame(session: vscode.DebugSession, threadId: number): Promise<string> {
  const r = (await session.customRequest('stackTrace', { threadId, startFrame: 0, levels: 1 })) as {
    stackFrames: { id: number; name: string; line: number; column: number; source?: { name?: string } }[];
  };
  const f = r.stackFrames[0];
  return f ? `${f.name} ${f.source?.name ?? ''}:${f.line}:${f.column}` : '(no frame)';
}

async function breakOnCpuDying(session: vscode.DebugSession): Promise<StoppedBody> {
  await session.customRequest('setExceptionBreakpoints', {
    filters: [],
    filterOptions: [{ filterId: 'cpuhp', condition: 'action == CPU_DYING' }, { filterId: 'warn' }],
  });
  const before = stops.length;
  await session.customRequest('continue', { threadId: 1 });
  const stop = await nextStop(session, before, 'the cpuhp CPU_DYING stop');
  const info = (await session.customRequest('exceptionInfo', { threadId: stop.threadId })) as { description?: string };
  assert.match(`${stop.description ?? ''} ${info.description ?? ''}`, /CPU_DYING/);
  return stop;
}

async function stopSession(session: vscode.DebugSession): Promise<void> {
  await vscode.debug.stopDebugging(session);
  await until('the session to end', () => !vscode.debug.activeDebugSession || vscode.debug.activeDebugSession.id !== session.id);
}

// ---- tests

test('the extension activates', async () => {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed`);
  await ext.activate();
  assert.ok(ext.isActive);
});

test('the languages smp and kc are registered', async () => {
  const langs = await vscode.languages.getLanguages();
  assert.ok(langs.includes('smp'), 'no smp language');
  assert.ok(langs.includes('kc'), 'no kc language');
  const doc = await vscode.workspace.openTextDocument(example('ipi-offline-race.smp'));
  assert.equal(doc.languageId, 'smp');
});

test('the commands are registered', async () => {
  const all = await vscode.commands.getCommands(true);
  for (const c of ['smplab.runScenario', 'smplab.debugScenario', 'smplab.freezeCpu', 'smplab.thawCpu', 'smplab.stepCpu', 'smplab.openExample']) {
    assert.ok(all.includes(c), `${c} is not registered`);
  }
});

test('a .smp file has Run / Debug CodeLenses on its first line', async () => {
  const uri = example('ipi-offline-race.smp');
  await vscode.window.showTextDocument(uri);
  const lenses = (await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri)) as vscode.CodeLens[];
  const titles = lenses.map((l) => l.command?.title ?? '');
  assert.ok(titles.some((t) => /Run Scenario/.test(t)), `lenses: ${JSON.stringify(titles)}`);
  assert.ok(titles.some((t) => /Debug Scenario/.test(t)), `lenses: ${JSON.stringify(titles)}`);
  assert.ok(lenses.every((l) => l.range.start.line === 0));
});

test('Run Scenario reports the race (exit 1, expect no warning fails)', async () => {
  const v = (await vscode.commands.executeCommand('smplab.runScenario', example('ipi-offline-race.smp'))) as {
    code: number; failed: string[];
  };
  assert.equal(v.code, 1);
  assert.match(v.failed.join('\n'), /expect no warning/);
  const fixed = (await vscode.commands.executeCommand('smplab.runScenario', example('ipi-offline-fixed.smp'))) as { code: number };
  assert.equal(fixed.code, 0);
}, 60_000);

test('the race: CPUs as threads, CPU_DYING, step CPU1 alone, its queue, the WARN', async () => {
  const session = await startSession('ipi-offline-race.smp');
  const names = (await threads(session)).map((t) => t.name);
  assert.equal(names.length, 3);
  names.forEach((n, i) => assert.ok(n.startsWith(`CPU${i}`), `thread ${i} is named ${n}`));

  const dying = await breakOnCpuDying(session);
  assert.equal(dying.threadId, 2, 'CPU_DYING should stop on CPU1');

  const before = await Promise.all([1, 2, 3].map((t) => topFrame(session, t)));
  const n = stops.length;
  await vscode.commands.executeCommand('smplab.stepCpu', { sessionId: session.id, threadId: 2 });
  await nextStop(session, n, 'the stop after Step Only This CPU');
  const after = await Promise.all([1, 2, 3].map((t) => topFrame(session, t)));
  assert.notEqual(after[1], before[1], 'CPU1 did not move');
  assert.equal(after[0], before[0], 'CPU0 moved');
  assert.equal(after[2], before[2], 'CPU2 moved');

  const frames = (await session.customRequest('stackTrace', { threadId: 2, levels: 1 })) as { stackFrames: { id: number }[] };
  const { scopes } = (await session.customRequest('scopes', { frameId: frames.stackFrames[0].id })) as {
    scopes: { name: string; variablesReference: number }[];
  };
  const cpuScope = scopes.find((s) => s.name === 'CPU1');
  assert.ok(cpuScope, `scopes: ${scopes.map((s) => s.name).join(', ')}`);
  const { variables } = (await session.customRequest('variables', { variablesReference: cpuScope.variablesReference })) as {
    variables: { name: string; value: string }[];
  };
  const queue = variables.find((v) => v.name === 'call_single_queue');
  assert.match(queue?.value ?? '', /trigger_softirq/);

  const m = stops.length;
  await session.customRequest('continue', { threadId: 2 });
  const warn = await nextStop(session, m, 'the WARN stop');
  const info = (await session.customRequest('exceptionInfo', { threadId: warn.threadId })) as { description?: string };
  assert.match(`${warn.description ?? ''} ${info.description ?? ''}`, /IPI on offline CPU/);
  await stopSession(session);
}, 90_000);

test('the fix: the same steps end without a warning', async () => {
  const session = await startSession('ipi-offline-fixed.smp');
  await breakOnCpuDying(session);
  const n = stops.length;
  await session.customRequest('continue', { threadId: 2 });
  const end = await until('the end of the run', () =>
    terminated.has(session.id) ? { reason: 'terminated' } as StoppedBody : stops.slice(n).find((s) => s.session === session.id)?.body, 30_000);
  assert.doesNotMatch(`${end.description ?? ''} ${end.text ?? ''}`, /IPI on offline CPU|WARN/);
  assert.notEqual(end.reason, 'exception', `stopped on an event: ${end.description}`);
  if (!terminated.has(session.id)) await stopSession(session);
}, 90_000);

export async function run(): Promise<void> {
  const failures: string[] = [];
  for (const t of tests) {
    const started = Date.now();
    try {
      await Promise.race([
        t.fn(),
        sleep(t.timeoutMs).then(() => { throw new Error(`timed out after ${t.timeoutMs} ms`); }),
      ]);
      console.log(`  ✔ ${t.name} (${Date.now() - started} ms)`);
    } catch (e) {
      failures.push(t.name);
      console.error(`  ✖ ${t.name}\n    ${String((e as Error)?.stack ?? e).split('\n').join('\n    ')}`);
    }
  }
  console.log(`${tests.length - failures.length} passed, ${failures.length} failed`);
  if (failures.length) throw new Error(`${failures.length} test(s) failed: ${failures.join('; ')}`);
}
