/**
 * npm start: opens a scratch copy of the examples in a real VS Code with SMP Lab loaded.
 *
 *   npm start                 code-server (VS Code in the browser) on 127.0.0.1, printing the address to open
 *   npm start -- --desktop    a desktop `code` from the PATH with --extensionDevelopmentPath=<repo>
 *   npm start -- --folder D   open folder D instead of the scratch copy
 *
 * The scratch copy is <repo>/scratch/examples (git-ignored, see scripts/scratch.ts): VS Code
 * for the Web saves as you type, and a user's edits must never land in the shipped examples/.
 * Builds first (npm run build). code-server, Node 24 and Chromium come from the e2e cache
 * (test/e2e/setup.sh installs them on first use, about 3 to 5 minutes, then reuses them).
 * Stays in the foreground until Ctrl-C, then stops code-server's whole process group.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir, ensureSetup, repoRoot, startCodeServer, stopAll, type CodeServer } from '../test/e2e/harness.js';
import { scratchExamples } from './scratch.js';

function usage(): never {
  console.log('usage: npm start [-- --desktop] [-- --folder DIR]');
  process.exit(2);
}

function parseArgs(argv: string[]): { desktop: boolean; folder?: string } {
  let desktop = false;
  let folder: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--desktop') desktop = true;
    else if (a === '--folder' && argv[i + 1]) folder = path.resolve(argv[++i]);
    else if (a === '--help' || a === '-h') usage();
    else {
      console.error(`npm start: unknown argument ${a}`);
      usage();
    }
  }
  return { desktop, folder };
}

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function build(): void {
  console.log('npm start: building (npm run build)');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot(), stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`npm start: the build failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

async function desktop(folder: string, code: string): Promise<number> {
  const args = [`--extensionDevelopmentPath=${repoRoot()}`, '--new-window', '--wait', folder];
  console.log(`npm start: ${code} ${args.join(' ')}`);
  const child = spawn(code, args, { stdio: 'inherit' });
  return new Promise((resolve) => {
    child.on('error', (e) => {
      console.error(`npm start: could not run ${code}: ${e.message}`);
      resolve(1);
    });
    child.on('exit', (c) => resolve(c ?? 1));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function browser(folder: string): Promise<number> {
  if (!fs.existsSync(path.join(cacheDir(), '.installed'))) {
    console.log(`npm start: installing code-server, Node 24 and Chromium into ${cacheDir()} ` +
      '(first run only: about 3 to 5 minutes and 1 GB; later runs reuse it)');
  }
  ensureSetup();
  let server: CodeServer;
  try {
    server = await startCodeServer({
      extensionDir: repoRoot(),
      workspace: folder,
      settings: { 'workbench.welcomePage.walkthroughs.openOnInstall': true },
    });
  } catch (e) {
    console.error(`npm start: code-server did not start: ${(e as Error).message}`);
    return 1;
  }
  const address = `${server.url}/?folder=${encodeURI(folder)}`;
  console.log('');
  console.log(`  SMP Lab is running in VS Code (code-server) with ${folder} open:`);
  console.log('');
  console.log(`      ${address}`);
  console.log('');
  console.log('  Open that address in a browser on this machine (it listens on 127.0.0.1 only; from');
  console.log(`  elsewhere use an SSH tunnel: ssh -L ${new URL(server.url).port}:127.0.0.1:${new URL(server.url).port} <host>).`);
  console.log('  Open ipi-offline-race.smp and press F5, or run "Welcome: Open Walkthrough..." → SMP Lab.');
  console.log(`  Logs: ${server.logsDir}   Press Ctrl-C to stop.`);
  console.log('');

  process.on('SIGINT', () => console.log('\nnpm start: stopping code-server'));
  process.on('SIGTERM', () => console.log('npm start: stopping code-server'));
  // Stay in the foreground; the harness's SIGINT/SIGTERM handlers stop the server's process group.
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    if (!alive(server.pid)) {
      console.error(`npm start: code-server exited on its own; its log: ${server.logFile}`);
      await stopAll({ keep: true });
      return 1;
    }
  }
}

/** The scratch copy of the examples, made or topped up, and said where it is. */
function openScratchExamples(): string {
  const { folder, added } = scratchExamples(repoRoot());
  console.log(`npm start: opening a scratch copy of the examples: ${folder}`);
  if (added.length) console.log(`npm start: copied ${added.join(', ')} from examples/`);
  console.log('npm start: your edits stay there and examples/ in the repository is never changed; ' +
    'delete the folder to start again from the shipped examples.');
  return folder;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const useDesktop = args.desktop;
  const folder = args.folder ?? openScratchExamples();
  if (!fs.existsSync(folder)) {
    console.error(`npm start: no folder ${folder}`);
    return 2;
  }
  if (useDesktop) {
    const code = onPath('code');
    if (!code) {
      console.error('npm start -- --desktop: there is no desktop VS Code here (no `code` on the PATH).\n' +
        'Install VS Code and its `code` command, or run `npm start` for VS Code in the browser (code-server).');
      return 1;
    }
    build();
    return desktop(folder, code);
  }
  build();
  return browser(folder);
}

main().then((code) => process.exit(code), (e) => {
  console.error(`npm start: ${(e as Error).stack ?? e}`);
  void stopAll().finally(() => process.exit(1));
});
