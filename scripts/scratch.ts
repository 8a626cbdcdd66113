/**
 * The folder `npm start` opens: a scratch copy of examples/ in <repo>/scratch/examples
 * (git-ignored). VS Code for the Web saves as you type, so the shipped examples are
 * never opened themselves. The copy is made on first use; later runs keep the user's
 * edits and only add the examples that are missing from it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function scratchExamples(repo: string): { folder: string; added: string[] } {
  const shipped = path.join(repo, 'examples');
  const folder = path.join(repo, 'scratch', 'examples');
  fs.mkdirSync(folder, { recursive: true });
  const added: string[] = [];
  for (const name of fs.readdirSync(shipped).sort()) {
    const copy = path.join(folder, name);
    if (fs.existsSync(copy)) continue;
    fs.copyFileSync(path.join(shipped, name), copy);
    added.push(name);
  }
  return { folder, added };
}
