/**
 * Bad input gets the same located diagnostics from every surface: `smplab
 * check`, the debug adapter's launch (over stdio, with a real DAP client) and
 * the language server (over JSON-RPC). Run `node build.mjs` first.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { DebugProtocol } from '@vscode/debugprotocol';
import { ROOT, smplab } from './helpers.js';
import { Client } from './lspClient.js';

const ADAPTER = join(ROOT, 'dist', 'debugAdapter.js');

interface Case {
  name: string;
  scenario: string;
  /** a file added to a copy of the model, when the case is about KC */
  model?: string;
}

const CASES: Case[] = [
  { name: '10,000 nested parentheses in a scenario line', scenario: `cpu 2 runs cpu_down(${'('.repeat(10000)}1${')'.repeat(10000)})\n` },
  { name: 'a 3,000-term sum in the model', scenario: 'cpu 0 runs deep_sum()\n', model: `int deep_sum(void)\n{\n\treturn ${Array(3000).fill('1').join(' + ')};\n}\n` },
  { name: '10,000 nested blocks in the model', scenario: 'cpu 0 runs deep_blocks()\n', model: `void deep_blocks(void)\n${'{'.repeat(10000)}${'}'.repeat(10000)}\n` },
  { name: 'a chain of 10,000 #defines in the model', scenario: 'cpu 0 runs deep_define()\n', model: `int g_end;\n${Array.from({ length: 10000 }, (_, i) => `#define DD${i} DD${i + 1}`).join('\n')}\n#define DD10000 g_end\nint deep_define(void) { return DD0; }\n` },
  { name: 'a step beyond 32 bits', scenario: 'struct request req0\nirq disk on cpu 0 at step 99999999999: blk_complete_request(&req0)\n' },
  { name: '31 irq lines', scenario: `struct request req0\n${Array.from({ length: 31 }, (_, i) => `irq d${i} on cpu 0 at step ${i}: blk_complete_request(&req0)`).join('\n')}\n` },
  { name: 'a where condition over a text field', scenario: 'expect count warn where message == 1 == 0\n' },
];

let dir: string;
let lsp: Client;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smplab-surfaces-'));
  lsp = await Client.start();
});

after(async () => {
  if (lsp && lsp.proc.exitCode === null && lsp.proc.signalCode === null) {
    lsp.conn.dispose();
    lsp.proc.kill('SIGKILL');
    await lsp.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a case's scenario (and model) into a folder of its own; returns the scenario's path. */
function writeCase(c: Case, i: number): string {
  const caseDir = join(dir, `case${i}`);
  let kernel = 'linux-3.15';
  mkdirSync(caseDir);
  if (c.model) {
    cpSync(join(ROOT, 'models', 'linux-3.15'), join(caseDir, 'model'), { recursive: true });
    writeFileSync(join(caseDir, 'model', 'zz-case.kc'), c.model);
    kernel = './model';
  }
  const file = join(caseDir, 'case.smp');
  writeFileSync(file, `kernel ${kernel}\ncpus 3\n${c.scenario}`);
  return file;
}

describe('the same diagnostics from smplab check, the debug adapter and the language server', () => {
  CASES.forEach((c, i) => {
    test(c.name, async () => {
      const file = writeCase(c, i);
      const cli = smplab('check', file);
      assert.equal(cli.code, 2, cli.stdout + cli.stderr);
      const expected = cli.stderr.trim().split('\n');
      assert.ok(expected.length >= 1);
      for (const line of expected) assert.match(line, /^\/.*:\d+:\d+: error: /, line);

      // the debug adapter refuses the launch with the same lines
      const dc = new DebugClient('node', ADAPTER, 'smplab');
      await dc.start();
      try {
        await dc.initializeRequest();
        const failure = await dc.launch({ scenario: file } as DebugProtocol.LaunchRequestArguments).then(() => undefined, (e: Error) => e.message);
        assert.ok(failure, 'the launch fails');
        for (const line of expected) assert.ok(failure.includes(line), `${failure}\n---\ndoes not include\n${line}`);
      } finally {
        await dc.stop();
      }

      // the language server shows them on the scenario (a model's own error on the kernel line, naming its place)
      const u = lsp.open(file, 'smp', `kernel ${c.model ? './model' : 'linux-3.15'}\ncpus 3\n${c.scenario}`);
      const published = await lsp.diagnostics(u, (d) => d.length > 0, 0, 30000);
      const shown = published.diagnostics.filter((d) => d.severity === 1).map((d) => d.message);
      assert.equal(shown.length, expected.length, JSON.stringify(shown));
      for (const line of expected) {
        const m = /^(.*):(\d+):(\d+): error: (.*)$/.exec(line)!;
        const inModel = m[1] !== file;
        const want = inModel ? `in the model: ${basename(m[1])}:${m[2]}:${m[3]}: ${m[4]}` : m[4];
        assert.ok(shown.includes(want), `${JSON.stringify(shown)} does not include ${want}`);
        if (!inModel) {
          const d = published.diagnostics.find((x) => x.message === want)!;
          assert.deepEqual(d.range.start, { line: Number(m[2]) - 1, character: Number(m[3]) - 1 });
        }
      }
      lsp.close(u);
    });
  });
});
