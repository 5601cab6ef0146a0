/** Write a file so that readers see the old content or the new, never a partial one. */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** the temporary file writeFileAtomic uses for `path` in this process */
export const tempFileFor = (path: string, pid = process.pid) => `${path}.tmp-${pid}`;

export function writeFileAtomic(path: string, chunks: Uint8Array[]): void {
  const dir = dirname(path);
  if (!existsSync(dir)) throw new Error(`${path}: folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new Error(`${path}: ${dir} is not a folder`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new Error(`${path}: is a folder, expected a file name`);
  const tmp = tempFileFor(path);
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw new Error(`${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    try {
      for (const c of chunks) writeSync(fd, c);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw new Error(`${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** whether a process with this id runs (one we may not signal counts as running) */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove temporary files that killed writers left in `dir` (`NAME.tmp-PID` of a process that no
 * longer runs). Returns the names removed.
 */
export function removeOrphanTempFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = /\.tmp-(\d+)$/.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(basename(name));
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}
