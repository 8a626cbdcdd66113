/**
 * Reading the files a scenario names: its own text, model files and patches.
 * Only regular files of a bounded size are read, so that a FIFO, a device or a
 * folder with a source file's name cannot hang or flood a check.
 */
import { Stats, closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';

/** The largest scenario, model file or patch read: 1 MiB (the Linux 3.15 model's largest file is 16 KB). */
export const MAX_SOURCE_BYTES = 1 << 20;

/** The text of a regular file, or why it cannot be read. */
export function readSourceFile(path: string): string | { problem: string } {
  let fd: number;
  try {
    // non-blocking, so that opening a FIFO does not wait for a writer
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return { problem: errorCode(e) };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { problem: `it is ${kindOf(st)}, not a regular file` };
    if (st.size > MAX_SOURCE_BYTES) return { problem: `it has ${st.size} bytes, more than the ${MAX_SOURCE_BYTES} a source file may have` };
    return readFileSync(fd, 'utf8');
  } catch (e) {
    return { problem: errorCode(e) };
  } finally {
    closeSync(fd);
  }
}

/**
 * The `.kc` files of a model folder, sorted, and the ones left out with why:
 * a symbolic link that leads out of the folder (or nowhere) is not followed.
 * What the names lead to is checked when they are read.
 */
export function modelFilePaths(dir: string): { paths: string[]; skipped: string[] } {
  const paths: string[] = [];
  const skipped: string[] = [];
  const root = realpathSync(dir);
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.kc')).sort()) {
    const path = join(dir, name);
    const outside = symlinkOutside(root, path);
    if (outside) skipped.push(`${name}: ${outside}`);
    else paths.push(path);
  }
  return { paths, skipped };
}

/** Why a symbolic link in the folder `root` is not followed, if it is one that leads out of it. */
function symlinkOutside(root: string, path: string): string | undefined {
  try {
    if (!lstatSync(path).isSymbolicLink()) return undefined;
  } catch (e) {
    return errorCode(e);
  }
  let target: string;
  try {
    target = realpathSync(path);
  } catch {
    return 'a symbolic link that leads nowhere';
  }
  const rel = relative(root, target);
  if (rel.startsWith('..') || isAbsolute(rel)) return `a symbolic link out of the model folder (to ${target}), not followed`;
  return undefined;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'something else';
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}
