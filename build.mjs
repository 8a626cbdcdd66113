// Bundles the entry points with esbuild. Entry points that do not exist yet are skipped.
import { build } from 'esbuild';
import { existsSync, chmodSync } from 'node:fs';

const entries = [
  { in: 'src/cli/main.ts', out: 'dist/cli.js', executable: true },
  { in: 'src/debug/main.ts', out: 'dist/debugAdapter.js' },
  { in: 'src/language/server.ts', out: 'dist/server.js' },
  { in: 'src/extension/extension.ts', out: 'dist/extension.js', external: ['vscode'] },
  // the timeline panel's drawing code runs in the webview, a browser page
  { in: 'src/webview/timeline.ts', out: 'dist/timelineView.js', browser: true },
];

for (const e of entries) {
  if (!existsSync(e.in)) continue;
  await build({
    entryPoints: [e.in],
    outfile: e.out,
    bundle: true,
    platform: e.browser ? 'browser' : 'node',
    target: e.browser ? 'es2022' : 'node20',
    format: e.browser ? 'iife' : 'cjs',
    sourcemap: true,
    external: e.external ?? [],
    logLevel: 'warning',
  });
  if (e.executable) chmodSync(e.out, 0o755);
}
