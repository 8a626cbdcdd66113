/**
 * Fuzzing the real language server over JSON-RPC: random edits to a scenario
 * and a model file (deep nesting, huge numbers, half-typed lines) and
 * requests at random positions, in and far outside the document. Every
 * request is answered, no handler fails (a failure is logged by the server),
 * and the server still answers sensibly at the end.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { Client, ROOT } from './lspClient.js';

const RACE = readFileSync(join(ROOT, 'examples', 'ipi-offline-race.smp'), 'utf8');
/** A request unanswered after this long means the server hangs (a hover once took 30 s); answers take milliseconds. */
const DEADLINE_MS = 15000;

let client: Client;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smplab-fuzz-lsp-'));
  cpSync(join(ROOT, 'models', 'linux-3.15'), join(dir, 'model'), { recursive: true });
  client = await Client.start();
});

after(async () => {
  if (client && client.proc.exitCode === null && client.proc.signalCode === null) {
    client.conn.dispose();
    client.proc.kill('SIGKILL');
    await client.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Text typed into a document: ordinary pieces, half-typed lines, deep and long input, huge numbers. */
const typed = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('\n', ' ', '(', ')', '{', '}', ';', ':', '.', '->', '&', '#', '"', '/*', '*/', 'where ', 'runs ', 'cpu ', 'task t: ', 'expect ', 'irq d on cpu 0 after ', 'struct request r = { .'),
  fc.constantFrom('cpu 2 runs cpu_down(1)\n', 'expect count ipi-send where target == 1 >= 1\n', 'int f(void) { return 1; }\n', 'per_cpu(call_single_queue, 1)', 'csd->', '99999999999', '0xffffffff1', 'at step 99999999999'),
  fc.integer({ min: 100, max: 3000 }).map((n) => `${'('.repeat(n)}1${')'.repeat(n)}`),
  fc.integer({ min: 100, max: 3000 }).map((n) => `${'{'.repeat(n)}${'}'.repeat(n)}`),
  fc.integer({ min: 100, max: 1000 }).map((n) => Array(n).fill('x').join(' + ')),
);

/** A line or character: mostly inside a document, sometimes far outside it or negative. */
const coordinate = fc.oneof(
  { weight: 8, arbitrary: fc.nat(60) },
  { weight: 1, arbitrary: fc.constantFrom(1e9, 2 ** 31, -1, -1000, 1.5) },
);
const position = fc.record({ line: coordinate, character: coordinate });

type Op =
  | { kind: 'edit'; doc: number; start: { line: number; character: number }; end: { line: number; character: number }; text: string }
  | { kind: 'hover' | 'definition' | 'completion'; doc: number; at: { line: number; character: number }; trigger?: string }
  | { kind: 'symbols'; doc: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('edit' as const), doc: fc.nat(1), start: position, end: position, text: typed }) },
  fc.record({ kind: fc.constantFrom('hover' as const, 'definition' as const), doc: fc.nat(1), at: position }),
  fc.record({ kind: fc.constant('completion' as const), doc: fc.nat(1), at: position, trigger: fc.option(fc.constantFrom(' ', '.', '>', ':', '(', '&'), { nil: undefined }) }),
  fc.record({ kind: fc.constant('symbols' as const), doc: fc.nat(1) }),
);

/** A request's answer; one that takes longer than a generous deadline is a server that hangs. */
async function answered<T>(o: Op, request: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(o)} within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([request, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

test('fuzz: random edits and requests at random positions against the real language server', async (t) => {
  let sequences = 0;
  let requests = 0;
  let edits = 0;
  await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 30 }), async (ops) => {
    sequences++;
    const smp = client.open(join(dir, `fuzz-${sequences}.smp`), 'smp', RACE);
    const kcPath = join(dir, 'model', 'smp.kc');
    const kc = client.open(kcPath, 'kc', readFileSync(kcPath, 'utf8'));
    const docs = [smp, kc];
    const versions = [1, 1];
    try {
      for (const o of ops) {
        const u = docs[o.doc];
        if (o.kind === 'edit') {
          edits++;
          versions[o.doc]++;
          void client.conn.sendNotification('textDocument/didChange', {
            textDocument: { uri: u, version: versions[o.doc] },
            contentChanges: [{ range: { start: o.start, end: o.end }, text: o.text }],
          });
          continue;
        }
        requests++;
        if (o.kind === 'symbols') {
          assert.ok(Array.isArray(await answered(o, client.symbols(u))));
        } else if (o.kind === 'completion') {
          assert.ok(Array.isArray(await answered(o, client.completion(u, o.at, o.trigger))));
        } else {
          const r = await answered(o, client.request<unknown>(`textDocument/${o.kind}`, { textDocument: { uri: u }, position: o.at }));
          assert.ok(r === null || typeof r === 'object');
        }
      }
    } finally {
      client.close(smp);
      client.close(kc);
    }
    const failures = client.logs.filter((l) => /failed:/.test(l));
    assert.deepEqual(failures, []);
  }), { numRuns: 100, seed: 90210, includeErrorInReport: true });
  t.diagnostic(`${sequences} sequences: ${edits} edits and ${requests} requests, every request answered; ${client.logs.filter((l) => /failed:/.test(l)).length} handler failures logged`);

  // still alive, and still right
  const u = client.open(join(dir, 'after.smp'), 'smp', RACE);
  const at = RACE.split('\n').findIndex((l) => l.startsWith('cpu 2 runs cpu_down(1)'));
  const hover = await client.hover(u, { line: at, character: 'cpu 2 runs cpu_'.length });
  assert.match(hover?.contents.value ?? '', /int cpu_down\(unsigned int cpu\)/);
  assert.deepEqual((await client.diagnostics(u)).diagnostics, []);
  client.close(u);
  assert.equal(client.proc.exitCode, null);
});
