import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { DebugProtocol } from '@vscode/debugprotocol';
import { SmpLabSession } from '../src/debug/session.js';
import { TimelineAnswer, TimelineView, expandTimeline } from '../src/timeline/answer.js';
import { DEADLINE_MS, RACE, assertInWords, continueToStop, launch, startClient, stopped, within } from './dap-client.js';

type TimelineBody = TimelineView & { currentStep: number };

let dc: DebugClient;

async function timeline(fromStep: number, toStep: number, resolution = 1, cpus: { fromCpu?: number; toCpu?: number } = {}): Promise<TimelineBody> {
  const body = (await dc.customRequest('timeline', { fromStep, toStep, resolution, ...cpus })).body as TimelineAnswer & { currentStep: number };
  return { ...expandTimeline(body), currentStep: body.currentStep };
}

async function refused(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail('the request was answered');
}

describe('the timeline over DAP', () => {
  before(async () => {
    dc = await startClient();
  });
  after(() => dc.stop());

  test('at the WARN the timeline shows three lanes named like the threads and the IPI from CPU 0 into CPU 1', async () => {
    await launch(dc, RACE);
    const entry = await timeline(0, 100);
    assert.equal(entry.currentStep, 0);
    assert.equal(entry.endStep, 0);
    const changed = dc.waitForEvent('smplab.timelineChanged', DEADLINE_MS);
    const stop = await continueToStop(dc);
    assert.equal(stop.body.description, 'WARN');
    const grown = (await changed).body as { currentStep: number; endStep: number };
    assert.ok(grown.endStep > 0);
    assert.equal(grown.currentStep, grown.endStep);
    const v = await timeline(0, grown.endStep);
    const threads = (await dc.threadsRequest()).body.threads;
    assert.deepEqual(v.lanes.map((l) => l.name), threads.map((t) => t.name));
    const ipi = v.arrows.find((a) => a.kind === 'ipi')!;
    assert.equal(ipi.fromCpu, 0);
    assert.equal(ipi.toCpu, 1);
    const warn = v.markers.find((m) => m.kind === 'warn')!;
    assert.equal(warn.cpu, 1);
    assert.ok(ipi.toStep! <= warn.step && warn.step <= v.currentStep);
    // a panel scrolled to CPU 1 alone: its lane, the arrows into it, its WARN; nothing between CPUs 0 and 2 only
    const cpu1 = await timeline(0, grown.endStep, 1, { fromCpu: 1, toCpu: 1 });
    assert.equal(cpu1.nrCpus, 3);
    assert.deepEqual(cpu1.lanes.map((l) => l.cpu), [1]);
    assert.equal(cpu1.lanes[0].name, threads[1].name);
    assert.ok(cpu1.arrows.length > 0 && cpu1.arrows.every((a) => a.fromCpu === 1 || a.toCpu === 1 || Math.min(a.fromCpu, a.toCpu) < 1 && Math.max(a.fromCpu, a.toCpu) > 1));
    assert.deepEqual(cpu1.markers.map((m) => m.cpu), v.markers.filter((m) => m.cpu === 1).map((m) => m.cpu));
    const cpu2 = await timeline(0, grown.endStep, 1, { fromCpu: 2, toCpu: 9 });
    assert.deepEqual(cpu2.lanes.map((l) => l.cpu), [2], 'a range past the last CPU ends at it');
    assert.ok(!cpu2.arrows.some((a) => a.fromCpu < 2 && a.toCpu < 2), 'no arrow between CPUs 0 and 1 only');
  });

  test('travelTo goes back to a step before the IPI: every view shows that step, and forward again to the WARN', async () => {
    const before = await timeline(0, 1e9);
    const ipi = before.arrows.find((a) => a.kind === 'ipi')!;
    const warnStep = before.currentStep;
    const target = ipi.fromStep - 1;
    const [, stop, changed] = await Promise.all([
      dc.customRequest('travelTo', { step: target, threadId: 2 }),
      stopped(dc),
      dc.waitForEvent('smplab.timelineChanged', DEADLINE_MS),
    ]);
    assert.equal(stop.body.reason, 'goto');
    assert.equal(stop.body.threadId, 2);
    assert.deepEqual(changed.body, { currentStep: target, endStep: warnStep, nrCpus: 3 });
    // the history ahead is kept: the timeline still reaches the WARN, the cursor is back
    const back = await timeline(0, 1e9);
    assert.equal(back.currentStep, target);
    assert.equal(back.endStep, warnStep);
    assert.ok(back.arrows.some((a) => a.kind === 'ipi'));
    // CPU 1 is online again, with its interrupts off in stop-machine, not in the IPI handler
    const threads = (await dc.threadsRequest()).body.threads;
    assert.match(threads[1].name, /^CPU1 · online · irqs off · MULTI_STOP_DISABLE_IRQ/);
    const frames = (await dc.stackTraceRequest({ threadId: 2 })).body.stackFrames.map((f) => f.name);
    assert.ok(!frames.some((f) => f.startsWith('generic_smp_call_function_single_interrupt')), frames.join(', '));
    // forward to where we were
    const [, again] = await Promise.all([dc.customRequest('travelTo', { step: warnStep }), stopped(dc)]);
    assert.equal(again.body.reason, 'goto');
    const framesAtWarn = (await dc.stackTraceRequest({ threadId: 2 })).body.stackFrames.map((f) => f.name);
    assert.ok(framesAtWarn.some((f) => f.startsWith('generic_smp_call_function_single_interrupt')), framesAtWarn.join(', '));
    const after = await timeline(0, 1e9);
    assert.equal(after.arrows.length, before.arrows.length, 'nothing recorded twice');
    assert.equal(after.markers.length, before.markers.length);
  });

  test('a step of one CPU in the past replaces the future: the timeline ends there', async () => {
    await Promise.all([dc.customRequest('travelTo', { step: 300 }), stopped(dc)]);
    await Promise.all([dc.nextRequest({ threadId: 1 }), stopped(dc)]);
    const v = await timeline(0, 1e9);
    assert.ok(v.endStep < 310, `the timeline ends at ${v.endStep}`);
    assert.equal(v.endStep, v.currentStep);
    assert.ok(!v.markers.some((m) => m.kind === 'warn'));
  });

  test('a freeze in the past drops the recorded future without a stop, and the timeline is told', async () => {
    const end = (await timeline(0, 0)).endStep;
    await Promise.all([dc.customRequest('travelTo', { step: 200 }), stopped(dc)]);
    assert.equal((await timeline(0, 0)).endStep, end, 'travelling keeps the future');
    const [changed] = await Promise.all([dc.waitForEvent('smplab.timelineChanged', DEADLINE_MS), dc.customRequest('freeze', { threadId: 3 })]);
    assert.deepEqual(changed.body, { currentStep: 200, endStep: 200, nrCpus: 3 });
    assert.equal((await timeline(0, 1e9)).endStep, 200);
    const [thawed] = await Promise.all([dc.waitForEvent('smplab.timelineChanged', DEADLINE_MS), dc.customRequest('thaw', { threadId: 3 })]);
    assert.equal(thawed.body.currentStep, 200, 'a thaw renames the lane: the timeline is told too');
  });

  test('a variable set in the past drops the recorded future without a stop, and the timeline is told', async () => {
    await continueToStop(dc);
    const end = (await timeline(0, 0)).endStep;
    assert.ok(end > 150);
    await Promise.all([dc.customRequest('travelTo', { step: 150 }), stopped(dc)]);
    const f = await dc.stackTraceRequest({ threadId: 1 });
    const scopes = await dc.scopesRequest({ frameId: f.body.stackFrames[0].id });
    const machine = scopes.body.scopes.find((sc) => sc.name === 'Machine')!;
    const globals = (await dc.variablesRequest({ variablesReference: machine.variablesReference })).body.variables.find((v) => v.name === 'globals')!;
    const [changed] = await Promise.all([
      dc.waitForEvent('smplab.timelineChanged', DEADLINE_MS),
      dc.setVariableRequest({ variablesReference: globals.variablesReference, name: 'cpu_hotplug_disabled', value: '1' }),
    ]);
    assert.deepEqual(changed.body, { currentStep: 150, endStep: 150, nrCpus: 3 });
  });

  test('bad arguments are refused in words', async () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['timeline', {}, /fromStep is missing/],
      ['timeline', { fromStep: 0, toStep: 10 }, /resolution is missing/],
      ['timeline', { fromStep: -1, toStep: 10, resolution: 1 }, /fromStep must be 0 or more/],
      ['timeline', { fromStep: 0, toStep: 10, resolution: 0 }, /resolution must be a number above 0/],
      ['timeline', { fromStep: 20, toStep: 10, resolution: 1 }, /toStep \(10\) must not be before fromStep \(20\)/],
      ['timeline', { fromStep: 0, toStep: 'end', resolution: 1 }, /toStep must be a whole number/],
      ['timeline', { fromStep: 0, toStep: 10, resolution: 1, fromCpu: 2, toCpu: 1 }, /toCpu \(1\) must not be before fromCpu \(2\)/],
      ['timeline', { fromStep: 0, toStep: 10, resolution: 1, fromCpu: -1 }, /fromCpu must be 0 or more/],
      ['travelTo', { step: 1e9 }, /step 1000000000 is past the end of the run so far \(step \d+\): continue to get there/],
      ['travelTo', { step: 3, threadId: 9 }, /threadId 9 is not a CPU of this scenario/],
      ['travelTo', {}, /step is missing/],
    ];
    for (const [command, args, expected] of cases) {
      const message = await refused(dc.customRequest(command, args));
      assert.match(message, expected);
      assertInWords(message, `${command} ${JSON.stringify(args)}`);
    }
  });

  test('a coarse resolution answers a whole-run viewport with at most a span per pixel', async () => {
    await Promise.all([dc.continueRequest({ threadId: 1 }), stopped(dc)]);
    const v = await timeline(0, 1e9, 100);
    for (const lane of v.lanes) assert.ok(lane.spans.run.length <= Math.ceil(v.endStep / 100));
    assert.equal(v.resolution, 100);
  });
});

describe('the Linux 6.12 race\'s timeline over DAP', () => {
  before(async () => {
    dc = await startClient();
  });
  after(() => dc.stop());

  test('the whole run answers at the fractional resolutions a panel 300 to 900 pixels wide asks', async () => {
    await launch(dc, join(__dirname, '..', 'examples', 'ipi-offline-race-6.12.smp'));
    await continueToStop(dc);
    const end = (await timeline(0, 0)).endStep;
    assert.ok(end > 1000, `the run is long enough that a whole-run pixel holds several steps (${end})`);
    for (let width = 300; width <= 900; width += 37) {
      // what the panel asks for the whole run: its steps and a margin, over its plot's width
      const v = await timeline(0, Math.ceil(end * 1.06), (end * 1.06) / width);
      assert.equal(v.lanes.length, 3);
      assert.ok(v.lanes.every((l) => l.spans.run.length > 0), `every lane has what it runs at ${width} px`);
      assert.ok(v.arrows.some((a) => a.kind === 'ipi'), `the IPI arrow at ${width} px`);
    }
  });
});

describe('exporting the trace over DAP', () => {
  before(async () => {
    dc = await startClient();
  });
  after(() => dc.stop());

  test('exportTrace writes the run so far as ftrace text or trace-event JSON; a bad path or format is refused in words', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smplab-export-'));
    await launch(dc, RACE);
    await continueToStop(dc);
    const text = (await dc.customRequest('exportTrace', { format: 'ftrace', path: join(dir, 'race.txt') })).body as { path: string; bytes: number; endStep: number };
    const ftrace = readFileSync(join(dir, 'race.txt'), 'utf8');
    assert.equal(text.bytes, Buffer.byteLength(ftrace));
    assert.match(ftrace, /^# tracer: nop$/m);
    const entry = ftrace.search(/ \[001\] .*call_function_single_entry: vector=251/);
    const warn = ftrace.search(/ \[001\] .*smplab:warn/);
    assert.ok(entry > 0 && warn > entry, 'the IPI entry on CPU 1, then the WARN');
    await dc.customRequest('exportTrace', { format: 'chrome', path: join(dir, 'race.json') });
    const chrome = JSON.parse(readFileSync(join(dir, 'race.json'), 'utf8')) as { traceEvents: { name: string; ph: string; args?: { name?: string } }[] };
    const tracks = chrome.traceEvents.filter((e) => e.name === 'thread_name').map((e) => e.args!.name!);
    assert.ok(tracks.some((t) => t.startsWith('CPU1')), tracks.join(', '));
    assert.ok(chrome.traceEvents.some((e) => e.ph === 's') && chrome.traceEvents.some((e) => e.ph === 'f'), 'flows for the IPI');
    const badPath = await refused(dc.customRequest('exportTrace', { format: 'ftrace', path: join(dir, 'no', 'such', 'dir.txt') }));
    assertInWords(badPath);
    assert.match(badPath, /cannot write .*no\/such\/dir\.txt: ENOENT/);
    const badFormat = await refused(dc.customRequest('exportTrace', { format: 'perfetto', path: join(dir, 'x') }));
    assertInWords(badFormat);
    assert.match(badFormat, /format/);
  });
});

describe('the inline adapter asked from its own process', () => {
  test('ask() checks and answers a request as DAP does, and sends nothing to the client', async () => {
    const session = new SmpLabSession();
    const sent: DebugProtocol.ProtocolMessage[] = [];
    const waiting: (() => void)[] = [];
    session.onDidSendMessage((m) => {
      sent.push(m as DebugProtocol.ProtocolMessage);
      for (const w of waiting.splice(0)) w();
    });
    /** The first message sent that `is`, once it is sent. */
    const sentMessage = <T extends DebugProtocol.ProtocolMessage>(is: (m: DebugProtocol.ProtocolMessage) => boolean, what: string) =>
      within(new Promise<T>((resolve) => {
        const look = () => {
          const m = sent.find(is);
          if (m) resolve(m as T);
          else waiting.push(look);
        };
        look();
      }), what);
    const request = (seq: number, command: string, args: object) => session.handleMessage({ seq, type: 'request', command, arguments: args } as DebugProtocol.Request);
    const responseTo = (seq: number) => sentMessage<DebugProtocol.Response>((m) => m.type === 'response' && (m as DebugProtocol.Response).request_seq === seq, `the response to ${seq}`);
    try {
      request(1, 'initialize', { adapterID: 'smplab' });
      request(2, 'launch', { scenario: RACE, stopOnEntry: true });
      request(3, 'configurationDone', {});
      await sentMessage((m) => m.type === 'event' && (m as DebugProtocol.Event).event === 'stopped', 'the entry stop');
      const asked = (await session.ask('timeline', { fromStep: 0, toStep: 0, resolution: 1 })) as TimelineAnswer;
      request(4, 'timeline', { fromStep: 0, toStep: 0, resolution: 1 });
      assert.deepEqual(asked, (await responseTo(4)).body);
      assert.equal(asked.nrCpus, 3);
      await assert.rejects(session.ask('timeline', { fromStep: 5, toStep: 1, resolution: 1 }), /toStep \(1\) must not be before fromStep \(5\)/);
      assert.ok(!sent.some((m) => m.type === 'response' && (m as DebugProtocol.Response).request_seq < 0), 'no answer to an asked request went to the client');
    } finally {
      session.dispose();
    }
  });
});
