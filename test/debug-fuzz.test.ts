/**
 * Random DAP traffic against the stdio adapter: request sequences (valid,
 * invalid, out of order, wrong types, huge numbers) and malformed frames.
 * Every request must get exactly one answer, every error must be in words,
 * and the adapter must be alive at the end.
 *
 * SMPLAB_FUZZ_RUNS=N runs more cases than the default.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FIXED, RACE, RawAdapter, SMP_KC, assertInWords } from './dap-client.js';

const RUNS = Number(process.env.SMPLAB_FUZZ_RUNS ?? 30);

const COMMANDS = [
  'initialize', 'launch', 'configurationDone', 'threads', 'stackTrace', 'scopes', 'variables', 'evaluate', 'completions', 'setVariable',
  'continue', 'next', 'stepIn', 'stepOut', 'stepBack', 'reverseContinue', 'pause', 'restart', 'terminate', 'disconnect',
  'setBreakpoints', 'setFunctionBreakpoints', 'setExceptionBreakpoints', 'setDataBreakpoints', 'dataBreakpointInfo', 'breakpointLocations',
  'exceptionInfo', 'source', 'freeze', 'thaw', 'timeline', 'travelTo', 'attach', 'goto', 'readMemory', 'cancel', 'frobnicate', '', '__proto__', 'constructor',
];

/** Field names requests take, so random arguments often hit real fields. */
const FIELDS = [
  'threadId', 'frameId', 'variablesReference', 'start', 'count', 'levels', 'startFrame', 'singleThread', 'expression', 'context', 'text', 'column',
  'line', 'endLine', 'source', 'breakpoints', 'filters', 'filterOptions', 'name', 'value', 'dataId', 'sourceReference', 'filter', 'granularity',
  'scenario', 'stopOnEntry', 'maxSteps', 'seed', 'schedule', 'patches', 'ipiLatency', 'adapterID', 'pathFormat', 'arguments',
  'fromStep', 'toStep', 'resolution', 'step',
];

const number = fc.oneof(
  fc.integer({ min: -3, max: 12 }),
  fc.constantFrom(0, 1, 2, 3, 10001, 20001, -1, -5, -3_000_000, -30_000_000, 1e12, 2 ** 31, 2 ** 53, 1.5, 99999999999, Number.MAX_VALUE),
);

const expression = fc.oneof(
  fc.constantFrom('nr_cpu_ids', 'cpu_online_mask', 'per_cpu(cpu_state, 1)', 'smp_processor_id()', 'softirq_vec', '1 +', '((((1', '*(int *)0', 'x'.repeat(20000), `${'('.repeat(3000)}1${')'.repeat(3000)}`),
  fc.string({ maxLength: 30 }),
);

const leaf: fc.Arbitrary<unknown> = fc.oneof(number, expression, fc.boolean(), fc.constant(null), fc.constantFrom(RACE, SMP_KC, 'warn', 'cpuhp', 'action == CPU_DYING', 'indexed'));

const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom({ path: SMP_KC }, { path: RACE }, { sourceReference: 1 }, { line: 210 }, { line: 'x' }, { filterId: 'cpuhp', condition: 'action == CPU_DYING' }, { name: 'ack_state' }, { dataId: '100' }) },
  { weight: 1, arbitrary: fc.array(fc.record({ line: number, condition: fc.option(expression), logMessage: fc.option(fc.constantFrom('at {cpu}', '{((((}', 'hi')) }), { maxLength: 3 }) },
);

const args: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, 7, 'x', [1, 2]) },
);

interface Step {
  command: string;
  args: unknown;
  /** wait for the answer before sending the next request, or send it at once */
  wait: boolean;
}

const step: fc.Arbitrary<Step> = fc.record({ command: fc.constantFrom(...COMMANDS), args, wait: fc.boolean() });

/** A session that starts the ordinary way, so the random requests meet a running scenario. */
const launched: fc.Arbitrary<Step[]> = fc.tuple(fc.constantFrom(RACE, FIXED), fc.boolean()).map(([scenario, stopOnEntry]) => [
  { command: 'initialize', args: { adapterID: 'smplab' }, wait: true },
  { command: 'launch', args: { scenario, stopOnEntry }, wait: true },
  { command: 'setExceptionBreakpoints', args: { filters: ['warn', 'cpuhp'] }, wait: true },
  { command: 'configurationDone', args: undefined, wait: true },
]);

const sequence = fc.tuple(fc.oneof({ weight: 3, arbitrary: launched }, { weight: 1, arbitrary: fc.constant([]) }), fc.array(step, { minLength: 1, maxLength: 30 }))
  .map(([start, rest]) => [...start, ...rest]);

describe('random DAP request sequences', () => {
  test('every request gets one answer in words, and the adapter lives', async (t) => {
    let requests = 0;
    let errors = 0;
    await fc.assert(fc.asyncProperty(sequence, async (steps) => {
      const raw = RawAdapter.start();
      try {
        const sent: number[] = [];
        for (const s of steps) {
          const seq = raw.send(s.command, s.args);
          sent.push(seq);
          if (s.wait) await raw.response(seq);
        }
        const last = raw.send('threads');
        for (const seq of [...sent, last]) {
          const r = await raw.response(seq);
          if (!r.success) {
            errors++;
            assertInWords(r.message, `(answer to ${r.command} ${JSON.stringify(steps.find((_, i) => sent[i] === seq)?.args)?.slice(0, 200)})`);
          }
        }
        requests += sent.length + 1;
        const answers = raw.messages.filter((m) => m.type === 'response');
        assert.equal(answers.length, sent.length + 1, 'one answer per request');
        assert.equal(new Set(answers.map((m) => m.request_seq)).size, answers.length, 'no request answered twice');
        for (const m of raw.messages.filter((x) => x.type === 'event' && x.event === 'output')) assertInWords((m.body as { output: string }).output);
        assert.ok(raw.alive, 'the adapter is alive');
      } finally {
        raw.kill();
      }
    }), { numRuns: RUNS });
    t.diagnostic(`${RUNS} sequences, ${requests} requests, ${errors} answered with an error, all in words`);
  });
});

/** A frame as a client might botch it: Content-Length right, short, or not a number. */
const botchedFrame = fc.tuple(fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'), fc.string({ maxLength: 40 })), fc.constantFrom('right', 'short', 'word', 'huge'))
  .map(([body, how]) => {
    const length = Buffer.byteLength(body);
    const header = how === 'right' ? length : how === 'short' ? Math.max(0, length - 3) : how === 'word' ? 'many' : 99999999999;
    return `Content-Length: ${header}\r\n\r\n${body}`;
  });

/** Bytes that are no frame at all (they cannot spell a header). */
const junk = fc.string({ maxLength: 60 }).map((s) => s.replace(/Content-Length/gi, ''));

describe('random frames', () => {
  test('whatever comes before it, a well-formed request is answered', async (t) => {
    const raw = RawAdapter.start();
    let frames = 0;
    try {
      await fc.assert(fc.asyncProperty(fc.array(fc.oneof(botchedFrame, junk), { minLength: 1, maxLength: 8 }), async (chunks) => {
        for (const c of chunks) raw.sendBytes(c);
        frames += chunks.length;
        const r = await raw.request('threads');
        assert.equal(r.command, 'threads');
        assert.ok(raw.alive);
      }), { numRuns: RUNS * 5 });
      for (const m of raw.messages) {
        if (m.type === 'event' && m.event === 'output') assertInWords((m.body as { output: string }).output);
        if (m.type === 'response' && !m.success) assertInWords(m.message as string);
      }
    } finally {
      raw.kill();
    }
    t.diagnostic(`${RUNS * 5} cases, ${frames} botched frames and runs of junk; the adapter read on after each`);
  });
});
