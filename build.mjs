// Bundles the entry points with esbuild. Entry points that do not exist yet are skipped.
import { build } from 'esbuild';
import { existsSync, chmodSync } from 'node:fs';

const entries = [
  { in: 'src/cli/main.ts', out: 'dist/cli.js', executable: true },
  { in: 'src/debug/main.ts', out: 'dist/debugAdapter.js' },
  { in: 'src/language/server.ts', out: 'dist/server.js' },
  { in: 'src/extension/extension.ts', out: 'dist/extension.js', external: ['vscode'] },
];

for (const e of entries) {
  if (!existsSync(e.in)) continue;
  await build({
    entryPoints: [e.in],
    outfile: e.out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    external: e.external ?? [],
    logLevel: 'warning',
  });
  if (e.executable) chmodSync(e.out, 0o755);
}
