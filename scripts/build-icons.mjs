#!/usr/bin/env node
// Builds media/smplab-icons.woff, the icon font behind the Call Stack actions
// (package.json "contributes.icons": smplab-step-cpu, smplab-freeze-cpu, smplab-thaw-cpu).
//
//   node scripts/build-icons.mjs
//
// Why a font: VS Code (1.139) renders the inline actions of a Call Stack *thread* row with a
// plain action bar that only knows product icons (codicons and icon fonts contributed by
// extensions); a command icon given as SVG files ({ light, dark }) shows there as an empty
// square. So the SVGs in media/ stay the source, and this script turns them into glyphs:
// rsvg-convert renders each SVG at 1024 px, potrace traces it into filled outlines (icon
// fonts have no strokes), svgicons2svgfont + svg2ttf + ttf2woff make the font.
//
// Needs rsvg-convert (Debian package librsvg2-bin). The npm tools are installed on first use
// into .e2e/icon-tools (git-ignored), not into the project's dependencies: the .woff is
// committed and only needs rebuilding when an icon changes.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ICONS = [
  { name: 'smplab-step-cpu', svg: 'media/debug-step-cpu.svg', code: 0xe001 },
  { name: 'smplab-freeze-cpu', svg: 'media/debug-freeze-cpu.svg', code: 0xe002 },
  { name: 'smplab-thaw-cpu', svg: 'media/debug-thaw-cpu.svg', code: 0xe003 },
];
const OUT = path.join(root, 'media', 'smplab-icons.woff');
const SIZE = 1024;
const TOOLS = path.join(root, '.e2e', 'icon-tools');
const TOOL_SPECS = ['potrace@2.1.8', 'svgicons2svgfont@12.0.0', 'svg2ttf@6.1.0', 'ttf2woff@3.0.0'];

function tools() {
  if (!fs.existsSync(path.join(TOOLS, 'node_modules', 'ttf2woff'))) {
    fs.mkdirSync(TOOLS, { recursive: true });
    if (!fs.existsSync(path.join(TOOLS, 'package.json'))) fs.writeFileSync(path.join(TOOLS, 'package.json'), '{ "private": true }\n');
    console.log(`installing ${TOOL_SPECS.join(' ')} into ${path.relative(root, TOOLS)}`);
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', ...TOOL_SPECS], { cwd: TOOLS, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm install of the icon tools failed');
  }
  const req = createRequire(path.join(TOOLS, 'package.json'));
  return { potrace: req('potrace'), SVGIcons2SVGFontStream: req('svgicons2svgfont'), svg2ttf: req('svg2ttf'), ttf2woff: req('ttf2woff') };
}

/** Renders an SVG black on white at SIZE px and traces it into one filled path. */
async function outline(potrace, svgFile, tmp) {
  const src = fs.readFileSync(path.join(root, svgFile), 'utf8').replace(/#[0-9a-fA-F]{3,6}\b/g, '#000000');
  const black = path.join(tmp, `${path.basename(svgFile, '.svg')}.black.svg`);
  const png = path.join(tmp, `${path.basename(svgFile, '.svg')}.png`);
  fs.writeFileSync(black, src);
  execFileSync('rsvg-convert', ['-w', String(SIZE), '-h', String(SIZE), '--background-color=white', '-o', png, black]);
  const traced = await new Promise((resolve, reject) =>
    potrace.trace(png, { threshold: 128, turdSize: 20, optTolerance: 0.4, color: '#000000', background: 'transparent' }, (err, svg) =>
      (err ? reject(err) : resolve(svg))));
  const d = [...traced.matchAll(/\sd="([^"]+)"/g)].map((m) => m[1]).join(' ');
  if (!d) throw new Error(`potrace found no outline in ${svgFile}`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}"><path d="${d}" fill-rule="evenodd"/></svg>`;
}

async function main() {
  const which = spawnSync('rsvg-convert', ['--version'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error('rsvg-convert is missing: apt-get install librsvg2-bin');
  const { potrace, SVGIcons2SVGFontStream, svg2ttf, ttf2woff } = tools();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'smplab-icons-'));
  try {
    const glyphs = [];
    for (const icon of ICONS) glyphs.push({ ...icon, svg: await outline(potrace, icon.svg, tmp) });
    for (const g of glyphs) fs.writeFileSync(path.join(tmp, `${g.name}.glyph.svg`), g.svg);

    const svgFont = await new Promise((resolve, reject) => {
      const chunks = [];
      const stream = new SVGIcons2SVGFontStream({ fontName: 'smplab-icons', fontHeight: SIZE, normalize: false, log: () => {} });
      stream.on('data', (c) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8'))).on('error', reject);
      for (const g of glyphs) {
        const glyph = Readable.from([g.svg]);
        glyph.metadata = { name: g.name, unicode: [String.fromCodePoint(g.code)] };
        stream.write(glyph);
      }
      stream.end();
    });
    const ttf = Buffer.from(svg2ttf(svgFont, { ts: 0, description: 'SMP Lab icons', version: '1.0' }).buffer);
    const woff = Buffer.from(ttf2woff(new Uint8Array(ttf)).buffer);
    fs.writeFileSync(OUT, woff);
    console.log(`${path.relative(root, OUT)}: ${woff.length} bytes, glyphs ${glyphs.map((g) => `${g.name} \\${g.code.toString(16).toUpperCase()}`).join(', ')}`);
    if (process.argv.includes('--keep')) console.log(`glyph SVGs kept in ${tmp}`);
  } finally {
    if (!process.argv.includes('--keep')) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`build-icons: ${e.message}`);
  process.exit(1);
});
