#!/usr/bin/env node
// npm run package: builds (vsce runs the "vscode:prepublish" script) and packages the
// extension into smplab-<version>.vsix with @vscode/vsce, then checks what went in:
// under 2 MB, dist/ models/ examples/ syntaxes/ language-configuration/ media/ snippets/
// present, nothing from src/ or test/. Extra arguments go to `vsce package`.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
// SMPLAB_VSIX_OUT puts the package elsewhere (the end-to-end test packages into a scratch folder)
const out = process.env.SMPLAB_VSIX_OUT ? path.resolve(process.env.SMPLAB_VSIX_OUT) : path.join(root, `${pkg.name}-${pkg.version}.vsix`);
const LIMIT = 2 * 1024 * 1024;
const MUST_HAVE = ['dist/extension.js', 'dist/debugAdapter.js', 'dist/server.js', 'dist/cli.js', 'models/', 'examples/',
  'syntaxes/', 'language-configuration/', 'media/', 'snippets/', 'package.json'];
const MUST_NOT = [/^src\//, /^test\//, /^bench\//, /^node_modules\//, /^\.e2e\//, /\.map$/, /^scripts\//];

let vsce;
try {
  vsce = path.join(path.dirname(createRequire(import.meta.url).resolve('@vscode/vsce/package.json')), 'vsce');
} catch {
  console.error('npm run package: @vscode/vsce is not installed; run `npm install`.');
  process.exit(1);
}

const args = [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license',
  '--no-rewrite-relative-links', '-o', out, ...process.argv.slice(2)];
console.log(`$ vsce ${args.slice(1).join(' ')}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`npm run package: vsce failed (exit ${r.status ?? r.signal})`);
  process.exit(1);
}

// List the archive (a .vsix is a zip; the extension's files are under extension/).
const list = spawnSync('unzip', ['-Z1', out], { encoding: 'utf8' });
if (list.status !== 0) {
  console.error(`npm run package: cannot list ${out} with unzip: ${list.stderr || list.error?.message}`);
  process.exit(1);
}
const files = list.stdout.split('\n').filter(Boolean).filter((f) => f.startsWith('extension/')).map((f) => f.slice('extension/'.length));
const size = fs.statSync(out).size;
const problems = [];
if (size >= LIMIT) problems.push(`the .vsix is ${size} bytes, over the 2 MB limit`);
// build.mjs skips an entry point whose source does not exist yet: that is a warning, not a broken package.
const SOURCES = { 'dist/debugAdapter.js': 'src/debug/main.ts', 'dist/server.js': 'src/language/server.ts' };
const warnings = [];
for (const want of MUST_HAVE) {
  if (files.some((f) => (want.endsWith('/') ? f.startsWith(want) : f === want))) continue;
  const src = SOURCES[want];
  if (src && !fs.existsSync(path.join(root, src))) warnings.push(`${want} is not in the package: ${src} does not exist yet`);
  else problems.push(`missing ${want}`);
}
for (const f of files) if (MUST_NOT.some((re) => re.test(f))) problems.push(`should not contain ${f}`);

const byTop = new Map();
for (const f of files) {
  const top = f.includes('/') ? `${f.split('/')[0]}/` : f;
  byTop.set(top, (byTop.get(top) ?? 0) + 1);
}
console.log(`\n${path.relative(process.cwd(), out) || out}: ${(size / 1024).toFixed(0)} KB, ${files.length} files`);
for (const [top, n] of [...byTop].sort()) console.log(`  ${top.padEnd(26)} ${n} file${n === 1 ? '' : 's'}`);
for (const w of warnings) console.warn(`warning: ${w}`);
if (problems.length) {
  console.error(`\nnpm run package: the package is wrong:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('\nok: under 2 MB, nothing from src/ or test/');
