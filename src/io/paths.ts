/**
 * Output paths checked before any work: an output may never be one of the inputs (compared after
 * resolving symbolic links, and by device + inode so a hard link counts too), never an existing
 * folder, and its folder must exist or be creatable. One line, naming the file.
 *
 * Also where Stratum's own files are: the package root (a checkout, or dist/ after npm run build)
 * and the bundled model.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimStdout } from './atomicFile.js';

/** the path with every existing link resolved (the part that exists, plus the rest) */
export function resolvedPath(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(resolvedPath(parent), basename(abs));
  }
}

function sameFile(a: string, b: string): boolean {
  if (resolvedPath(a) === resolvedPath(b)) return true;
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * Throw when any output is one of the inputs or an existing folder.
 * `inputs` and `outputs` may hold undefined entries (options not given).
 */
export function checkOutputs(outputs: (string | undefined)[], inputs: (string | undefined)[], flag = '--output'): void {
  const ins = inputs.filter((p): p is string => !!p);
  claimStdout(outputs);
  for (const out of outputs) {
    if (!out) continue;
    const same = ins.find((i) => sameFile(out, i));
    if (same !== undefined) throw new Error(`${out}: is the input ${same}; refusing to write over an input (choose another ${flag})`);
    if (existsSync(out) && statSync(out).isDirectory()) throw new Error(`${out}: is a folder, expected a file name`);
  }
}

/** the output folder must be a folder (or not exist yet) */
export function checkOutputFolder(dir: string, flag = '--output'): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`${dir}: not a folder (${flag} takes a folder here)`);
}

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_ROOT = resolve(here, existsSync(resolve(here, '../../package.json')) ? '../..' : '../../..');
export const DEFAULT_MODEL = join(PACKAGE_ROOT, 'models', 'default.stratum');
/** the bundled enhancer (stratum enhance; trained by stratum train-enhancer on the bundled model's renders) */
export const DEFAULT_ENHANCER = join(PACKAGE_ROOT, 'models', 'enhancer.stratum');
