/**
 * The engine under test, two ways:
 *
 * - `bundled`: src/ bundled by esbuild with the options build.mjs uses for
 *   dist/ (one scope, cjs, node20), which is how the CLI and the debug
 *   adapter run it. Bundled in memory and compiled as if it lived in bench/,
 *   so the built-in models resolve exactly as they do from dist/.
 * - `src`: src/ as tsx loads it, one module at a time. tsx compiles each
 *   module to CommonJS, where every imported binding (CPU_REGS, FRAME_PC...)
 *   is a getter on the exporting module: much slower in hot code, and not
 *   what ships. Reported for comparison only.
 */
import { buildSync } from 'esbuild';
import Module from 'node:module';
import * as path from 'node:path';
import type * as BuildModule from '../src/scenario/build';
import * as srcBuild from '../src/scenario/build';

export type Engine = Pick<typeof BuildModule, 'prepareScenario' | 'startRun'>;
export type EngineKind = 'bundled' | 'src';

const ROOT = path.resolve(__dirname, '..');

let bundled: Engine | undefined;

export function bundleSource(): string {
  const out = buildSync({
    stdin: {
      contents: "export { prepareScenario, startRun } from './src/scenario/build';\n",
      resolveDir: ROOT,
      sourcefile: 'bench-engine.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

export function loadEngine(kind: EngineKind): Engine {
  if (kind === 'src') return srcBuild;
  if (bundled) return bundled;
  // never written to disk: the name only gives the bundle its __dirname (bench/)
  const filename = path.join(__dirname, '.bench-engine.js');
  type Internal = Module & { _compile(code: string, filename: string): void };
  const m = new Module(filename, module) as Internal;
  m.filename = filename;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(__dirname);
  m._compile(bundleSource(), filename);
  bundled = m.exports as Engine;
  return bundled;
}
