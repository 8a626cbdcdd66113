/**
 * Self-test of the e2e harness, independent of SMP Lab's own code:
 *
 *   node --import tsx test/e2e/selftest.ts          # extension linked from a folder
 *   node --import tsx test/e2e/selftest.ts --vsix   # extension packaged with vsce and installed
 *
 * Writes a toy debug extension (debugger type "toy", an inline adapter with two threads) and a
 * workspace into a temp folder, starts code-server with it, opens the folder, opens a file with
 * Quick Open, presses F5, reads the Call Stack, takes a screenshot (test-output/e2e/selftest.png),
 * stops the session with a palette command and stops everything. Exit code 0 on success.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  callStackRows, extensionLogs, openFile, openWorkbench, packageVsix, pressF5UntilDebugging, runCommand,
  screenshot, startCodeServer, stopAll, type CodeServer, type Page,
} from './harness.js';

const TOY_PACKAGE = {
  name: 'toy-debug',
  displayName: 'Toy Debug',
  publisher: 'smplab-e2e',
  version: '0.0.1',
  license: 'MIT',
  engines: { vscode: '^1.80.0' },
  main: './extension.js',
  activationEvents: ['onDebug'],
  contributes: {
    debuggers: [{
      type: 'toy',
      label: 'Toy Debug',
      configurationAttributes: { launch: { properties: {} } },
      initialConfigurations: [{ type: 'toy', request: 'launch', name: 'Toy' }],
    }],
  },
};

const TOY_EXTENSION = String.raw`
const vscode = require('vscode');
let log;
class ToyAdapter {
  constructor() { this.emitter = new vscode.EventEmitter(); this.onDidSendMessage = this.emitter.event; this.seq = 1; }
  send(m) { this.emitter.fire({ seq: this.seq++, ...m }); }
  respond(req, body) { this.send({ type: 'response', request_seq: req.seq, success: true, command: req.command, body: body || {} }); }
  event(event, body) { this.send({ type: 'event', event, body: body || {} }); }
  handleMessage(m) {
    log.info('DAP <- ' + m.command);
    switch (m.command) {
      case 'initialize': this.respond(m, { supportsConfigurationDoneRequest: true }); this.event('initialized'); break;
      case 'configurationDone':
        this.respond(m);
        this.event('stopped', { reason: 'entry', threadId: 1, allThreadsStopped: true });
        break;
      case 'threads':
        this.respond(m, { threads: [{ id: 1, name: 'Toy Main Thread' }, { id: 2, name: 'Toy Worker Thread' }] });
        break;
      case 'stackTrace': {
        const t = m.arguments.threadId;
        this.respond(m, { stackFrames: [{ id: t * 100, name: t === 1 ? 'toy_main' : 'toy_worker', line: 1, column: 1 }], totalFrames: 1 });
        break;
      }
      case 'scopes': this.respond(m, { scopes: [] }); break;
      case 'disconnect': case 'terminate': this.respond(m); this.event('terminated'); break;
      default: this.respond(m);
    }
  }
  dispose() {}
}
exports.activate = (context) => {
  log = vscode.window.createOutputChannel('Toy Debug', { log: true });
  context.subscriptions.push(log);
  context.subscriptions.push(vscode.debug.registerDebugAdapterDescriptorFactory('toy', {
    createDebugAdapterDescriptor: () => new vscode.DebugAdapterInlineImplementation(new ToyAdapter()),
  }));
  context.subscriptions.push(vscode.debug.registerDebugConfigurationProvider('toy', {
    resolveDebugConfiguration: (folder, config) => (config.type ? config : { type: 'toy', request: 'launch', name: 'Toy' }),
  }));
  log.info('toy debug extension activated');
};
exports.deactivate = () => {};
`;

function writeFixture(root: string): { extensionDir: string; workspace: string } {
  const extensionDir = path.join(root, 'toy-extension');
  const workspace = path.join(root, 'workspace');
  fs.mkdirSync(extensionDir, { recursive: true });
  fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(extensionDir, 'package.json'), JSON.stringify(TOY_PACKAGE, null, 2));
  fs.writeFileSync(path.join(extensionDir, 'extension.js'), TOY_EXTENSION);
  fs.writeFileSync(path.join(extensionDir, 'LICENSE'), 'MIT\n');
  fs.writeFileSync(path.join(extensionDir, 'README.md'), '# Toy Debug\n\nA debugger with two threads, for the e2e harness self-test.\n');
  fs.writeFileSync(
    path.join(workspace, '.vscode', 'launch.json'),
    JSON.stringify({ version: '0.2.0', configurations: [{ type: 'toy', request: 'launch', name: 'Toy' }] }, null, 2),
  );
  fs.writeFileSync(path.join(workspace, 'hello.txt'), 'Hello from the e2e self-test.\n');
  return { extensionDir, workspace };
}

async function main(): Promise<number> {
  const useVsix = process.argv.includes('--vsix');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'smplab-e2e-selftest-'));
  const { extensionDir, workspace } = writeFixture(tmp);
  const timings: Record<string, number> = {};
  const t = () => Date.now();
  let server: CodeServer | undefined;
  let page: Page | undefined;
  let ok = false;
  try {
    let t0 = t();
    const vsix = useVsix ? packageVsix(extensionDir, path.join(tmp, 'toy.vsix')) : undefined;
    if (vsix) timings['vsce package'] = t() - t0;

    t0 = t();
    server = await startCodeServer(vsix ? { vsix, workspace } : { extensionDir, workspace });
    timings['code-server start (spawn to listening)'] = server.startMs;
    timings['code-server start (incl. install)'] = t() - t0;

    t0 = t();
    page = await openWorkbench(server.url, workspace);
    timings['workbench ready (explorer + extensions idle)'] = t() - t0;

    t0 = t();
    await openFile(page, 'hello.txt');
    timings['openFile'] = t() - t0;

    t0 = t();
    timings['F5 until debug toolbar'] = await pressF5UntilDebugging(page);
    const rows = await callStackRows(page, [/Toy Main Thread/, /Toy Worker Thread/]);
    timings['debug session visible (F5 to both threads in Call Stack)'] = t() - t0;
    console.log('Call Stack rows:', JSON.stringify(rows));
    const shot = await screenshot(page, useVsix ? 'selftest-vsix' : 'selftest');
    console.log('screenshot:', shot);

    const threads = rows.filter((r) => /Toy (Main|Worker) Thread/.test(r));
    if (threads.length !== 2) throw new Error(`expected 2 threads in the Call Stack, got ${threads.length}: ${JSON.stringify(rows)}`);

    t0 = t();
    await runCommand(page, 'Debug: Stop');
    await page.locator('.debug-toolbar').waitFor({ state: 'hidden', timeout: 15_000 }).catch(() => {
      throw new Error('after "Debug: Stop" the debug toolbar is still showing');
    });
    timings['runCommand "Debug: Stop" until toolbar hidden'] = t() - t0;

    const logs = extensionLogs(server).filter((f) => f.includes('smplab-e2e.toy-debug'));
    const adapterLog = logs.map((f) => fs.readFileSync(f, 'utf8')).join('');
    if (!/toy debug extension activated/.test(adapterLog)) {
      throw new Error(`the toy extension's log channel does not show its activation (files: ${JSON.stringify(logs)})`);
    }
    ok = true;
  } catch (e) {
    console.error('SELFTEST FAILED:', (e as Error).message);
    if (page && !page.isClosed()) {
      console.error('failure screenshot:', await screenshot(page, 'selftest-failure').catch((err) => String(err)));
    }
    if (server) {
      console.error('code-server log:', server.logFile);
      for (const f of extensionLogs(server)) console.error('extension log:', f);
    }
  } finally {
    const t0 = t();
    await stopAll({ keep: !ok });
    timings['stopAll'] = t() - t0;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  for (const [k, v] of Object.entries(timings)) console.log(`  ${k}: ${(v / 1000).toFixed(1)} s`);
  console.log(ok ? '1 passed, 0 failed' : '0 passed, 1 failed');
  return ok ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(1);
});
