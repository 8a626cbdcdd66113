/**
 * npm run test:vscode: the integration suite in test/vscode/suite/, run inside a desktop
 * VS Code by @vscode/test-electron.
 *
 * VS Code comes from, in order: $VSCODE_EXECUTABLE (the path of an installed VS Code
 * binary, e.g. /usr/share/code/code), a copy cached in .e2e/vscode-test, or a download
 * from update.code.visualstudio.com. When none of them works (machines that reach only
 * the npm registry) this says so and exits 1: no test ran, nothing passed.
 * The end-to-end tests in a real VS Code on such machines are in test/e2e/ (code-server).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { runTests } from '@vscode/test-electron';

const root = path.resolve(__dirname, '..', '..');
const outDir = path.join(root, 'test-output', 'vscode');
const cachePath = path.join(root, '.e2e', 'vscode-test');

function fail(message: string): never {
  console.error(`\nnpm run test:vscode: ${message}`);
  console.error('npm run test:vscode: NO TEST RAN (this is a failure, not a pass).');
  process.exit(1);
}

async function main(): Promise<void> {
  const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) fail(`npm run build failed (exit ${b.status ?? b.signal})`);

  // The suite runs in VS Code's extension host: one CommonJS file, `vscode` external.
  fs.mkdirSync(outDir, { recursive: true });
  const suite = path.join(outDir, 'suite.js');
  await build({
    entryPoints: [path.join(root, 'test', 'vscode', 'suite', 'index.ts')],
    outfile: suite,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['vscode'],
    logLevel: 'warning',
  });

  // A scratch copy of the examples as the workspace, so the suite may write to it.
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'smplab-vscode-test-'));
  fs.cpSync(path.join(root, 'examples'), workspace, { recursive: true });

  const vscodeExecutablePath = process.env.VSCODE_EXECUTABLE || undefined;
  if (vscodeExecutablePath && !fs.existsSync(vscodeExecutablePath)) fail(`VSCODE_EXECUTABLE=${vscodeExecutablePath} does not exist`);
  console.log(vscodeExecutablePath
    ? `npm run test:vscode: using VS Code at ${vscodeExecutablePath}`
    : `npm run test:vscode: getting VS Code with @vscode/test-electron (cache ${path.relative(root, cachePath)})`);

  let code: number;
  try {
    code = await runTests({
      vscodeExecutablePath,
      cachePath,
      timeout: 20_000,
      extensionDevelopmentPath: root,
      extensionTestsPath: suite,
      extensionTestsEnv: { SMPLAB_TEST_WORKSPACE: workspace },
      launchArgs: [workspace, '--disable-extensions', '--skip-welcome', '--skip-release-notes', '--disable-workspace-trust'],
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { hostname?: string };
    const text = String(err?.message ?? e);
    const notFound = err?.code === 'ENOTFOUND' || /ENOTFOUND|getaddrinfo/.test(text);
    if (!vscodeExecutablePath && notFound) {
      fail(`could not download VS Code: ${text.split('\n')[0]}\n` +
        `(ENOTFOUND: this machine cannot resolve ${err.hostname ?? 'update.code.visualstudio.com'}, Microsoft's download server).\n` +
        'Set VSCODE_EXECUTABLE to the binary of an installed VS Code to run the suite here, or use the ' +
        'code-server end-to-end tests: node --import tsx --test test/e2e/*.e2e.ts');
    }
    fail(`could not ${vscodeExecutablePath ? 'run' : 'download or run'} VS Code: ${text.split('\n')[0]}`);
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
  if (code !== 0) {
    console.error(`\nnpm run test:vscode: the suite failed (VS Code exited with ${code})`);
    process.exit(1);
  }
  console.log('\nnpm run test:vscode: the suite passed');
}

main().catch((e) => fail(String((e as Error)?.stack ?? e)));
