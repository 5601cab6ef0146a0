/**
 * The one writer of every output Stratum makes (documents, images, PSD/ORA/SVG exports,
 * checkpoints, metrics, caches): readers see the old content or the new, never a partial one, and
 * a failed write leaves the old file byte-identical.
 *
 * A regular file (or a new name) is written to a temporary file in the same folder, then renamed
 * over it:
 *   - the temporary name is `.NAME.stratum-tmp-PID-RANDOM` (16 hex digits from crypto): nobody can
 *     plant a link there in advance, and it is created with O_CREAT | O_EXCL | O_NOFOLLOW, so a
 *     name that exists anyway (a planted link included) is never opened, let alone followed;
 *   - every write's byte count is checked (a short count is retried with the rest; a full disk
 *     then fails with ENOSPC), the file is flushed (fsync), then the folder, before the rename; the
 *     folder is flushed again after it, so the new name survives a crash;
 *   - on any failure the temporary file is removed and one line says what failed.
 * The temporary files of a writer that was killed (its PID no longer runs) are removed by the next
 * write to the same path.
 *
 * An output that is not a regular file — /dev/null, a character device, a FIFO, or the process's
 * own open descriptors (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N, written through the
 * descriptor) — is written in place (opened for writing, appending, never truncated and never
 * replaced), so `-o /dev/null` stays /dev/null. A link at the output name is not followed (the
 * rename replaces the link), except for those stdio names; block devices and sockets are refused.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, openSync, readdirSync, realpathSync, renameSync, statSync, type Stats, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const { O_WRONLY, O_RDONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_APPEND, O_NOCTTY, O_DIRECTORY } = constants;

/** the process's own standard streams by name: written in place, through the link */
const STDIO_PATH = /^\/(dev\/(stdout|stderr|fd\/\d+)|proc\/(self|thread-self)\/fd\/\d+)$/;

/** the marker in every temporary file name of this writer */
export const TEMP_MARK = '.stratum-tmp-';
/** `.STEM.stratum-tmp-PID-RANDOM` */
const TEMP_NAME = /^\.(.*)\.stratum-tmp-(\d+)-[0-9a-f]{16}$/s;

/** the name's part in its temporary files: the name itself, or a hash of a long one (so the temporary name stays within 255 bytes) */
function tempStem(name: string): string {
  return Buffer.byteLength(name) <= 128 ? name : createHash('sha256').update(name).digest('hex').slice(0, 32);
}

/** a fresh, unpredictable temporary name for `path`, in its folder */
export function tempFileFor(path: string): string {
  return join(dirname(path), `.${tempStem(basename(path))}${TEMP_MARK}${process.pid}-${randomBytes(8).toString('hex')}`);
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

const errText = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOSPC' ? 'no space left on device' : err.code === 'EDQUOT' ? 'disk quota exceeded' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.code === 'EROFS' ? 'read-only file system' : err.code === 'EIO' ? 'input/output error' : '';
  return why ? `${why}, ${err.code}` : (err.code ?? String(err.message ?? e).split('\n')[0]!);
};

const lstatOrNull = (path: string): Stats | null => {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${path}: cannot write (${errText(e)})`);
  }
};

/** a pause without spinning, for a full non-blocking pipe */
const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** write every byte of `chunks` to `fd`: short writes continue with the rest; a write that makes no progress is an error */
function writeAll(fd: number, chunks: Uint8Array[]): void {
  for (const c of chunks) {
    let off = 0;
    while (off < c.length) {
      let n: number;
      try {
        n = writeSync(fd, c, off, c.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EINTR') {
          sleepMs(1);
          continue;
        }
        throw e;
      }
      if (!(n > 0)) throw Object.assign(new Error('no bytes written'), { code: 'EIO' });
      off += n;
    }
  }
}

/** flush a folder's entries (a file system that cannot is taken at its word) */
function syncFolder(dir: string): void {
  const fd = openSync(dir, O_RDONLY | O_DIRECTORY);
  try {
    fsyncSync(fd);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  } finally {
    closeSync(fd);
  }
}

/** what kind of output `path` is: a file to replace, or something to write in place */
function outputKind(path: string): { inPlace: false; old: Stats | null } | { inPlace: true; fd?: number } {
  // the process's own descriptor: written through it (a socket or a pipe cannot be opened again by name)
  const stdio = STDIO_PATH.exec(path);
  if (stdio) return { inPlace: true, fd: stdio[2] === 'stdout' ? 1 : stdio[2] === 'stderr' ? 2 : Number(/(\d+)$/.exec(path)![1]) };
  const st = lstatOrNull(path);
  if (st !== null && st.isSymbolicLink()) {
    // a link to a regular file (or to nothing) is replaced; one to a device, FIFO or folder is neither replaced nor followed
    const target = statOrNull(path);
    if (target && !target.isFile()) throw new Error(`${path}: is a link to ${kindOf(target)}; refusing to replace it (name the target itself)`);
    return { inPlace: false, old: null };
  }
  if (st === null) return { inPlace: false, old: null };
  if (st.isFile()) return { inPlace: false, old: st };
  if (st.isDirectory()) throw new Error(`${path}: is a folder, expected a file name`);
  if (st.isCharacterDevice() || st.isFIFO()) return { inPlace: true };
  throw new Error(`${path}: is ${kindOf(st)}; refusing to write an output onto it`);
}

const kindOf = (st: Stats): string =>
  st.isDirectory() ? 'a folder' : st.isCharacterDevice() ? 'a character device' : st.isFIFO() ? 'a FIFO' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a regular file';

const statOrNull = (path: string): Stats | null => {
  try {
    return statSync(path);
  } catch {
    return null;
  }
};

let stdoutWritten = false;

/** whether an output went to this process's stdout (then the command's report goes to stderr) */
export function outputOnStdout(): boolean {
  return stdoutWritten;
}

/** whether the open file `fd` is this process's stdout */
function isStdout(st: Stats): boolean {
  try {
    const out = fstatSync(1);
    return out.dev === st.dev && out.ino === st.ino && out.rdev === st.rdev;
  } catch {
    return false;
  }
}

/** note (before any work) that one of `paths` is stdout, so that reports go to stderr */
export function claimStdout(paths: (string | undefined)[]): void {
  for (const p of paths) {
    if (!p) continue;
    if (/^\/(dev\/stdout|dev\/fd\/1|proc\/(self|thread-self)\/fd\/1)$/.test(p)) stdoutWritten = true;
  }
}

/** a device, a FIFO (opened for writing, appending, never truncating) or an open descriptor; every byte checked */
function writeInPlace(path: string, given: number | undefined, chunks: Uint8Array[]): void {
  let fd: number;
  try {
    fd = given ?? openSync(path, O_WRONLY | O_APPEND | O_NOCTTY | O_NOFOLLOW);
  } catch (e) {
    throw new Error(`${path}: cannot write (${errText(e)})`);
  }
  try {
    const st = fstatSync(fd);
    // (it was a device or FIFO a moment ago; a regular file put there since is not ours to append to)
    if (given === undefined && !(st.isCharacterDevice() || st.isFIFO())) throw new Error('changed while being opened');
    if (given === 1 || isStdout(st)) stdoutWritten = true;
    writeAll(fd, chunks);
  } catch (e) {
    throw new Error(`${path}: cannot write (${errText(e)})`);
  } finally {
    try {
      if (given === undefined) closeSync(fd);
    } catch {
      // the bytes were handed over; nothing more to report for a device
    }
  }
}

/**
 * Remove this writer's temporary files for `path` left by processes that no longer run. Returns
 * their names.
 */
export function removeOrphansOf(path: string): string[] {
  const dir = dirname(path);
  const prefix = `.${tempStem(basename(path))}${TEMP_MARK}`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(prefix) && removeIfOrphan(dir, n));
}

function removeIfOrphan(dir: string, name: string): boolean {
  const m = TEMP_NAME.exec(name);
  if (!m) return false;
  const pid = Number(m[2]);
  if (pid === process.pid || processAlive(pid)) return false;
  try {
    unlinkSync(join(dir, name));
    return true;
  } catch {
    return false; // gone already, or not ours to remove
  }
}

/** write `chunks` as the whole content of `path` (see the top of this file); throws one line naming `path` */
export function writeFileAtomic(path: string, chunks: Uint8Array[]): void {
  const dir = dirname(path);
  let folder: Stats;
  try {
    folder = statSync(dir);
  } catch (e) {
    throw new Error((e as NodeJS.ErrnoException).code === 'ENOENT' ? `${path}: folder ${dir} does not exist` : `${path}: cannot write (${errText(e)})`);
  }
  if (!folder.isDirectory()) throw new Error(`${path}: ${dir} is not a folder`);
  const kind = outputKind(path);
  if (kind.inPlace) return writeInPlace(path, kind.fd, chunks);
  // the system's device and process folders hold devices and links to them: a file is never put there
  if (/^\/(dev|proc|sys)(\/|$)/.test(realpathSync(dir))) throw new Error(`${path}: is not a device; refusing to create or replace a file in ${dir}`);
  removeOrphansOf(path);
  let tmp = '';
  let fd = -1;
  for (let attempt = 0; fd < 0; attempt++) {
    tmp = tempFileFor(path);
    try {
      fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666);
    } catch (e) {
      // a name taken already (16 random hex digits: only if planted) is never opened; another is drawn
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 8) continue;
      throw new Error(`${path}: cannot write (${errText(e)})`);
    }
  }
  const kept = kind.old ? 'the previous file is unchanged' : 'nothing written';
  try {
    try {
      if (kind.old) fchmodSync(fd, kind.old.mode & 0o777);
      writeAll(fd, chunks);
      fsyncSync(fd);
    } finally {
      const f = fd;
      fd = -1;
      closeSync(f);
    }
    syncFolder(dir);
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already gone
    }
    throw new Error(`${path}: cannot write (${errText(e)}); ${kept}`);
  }
  try {
    syncFolder(dir);
  } catch (e) {
    throw new Error(`${path}: written, but its folder could not be flushed (${errText(e)}); the new file may not survive a crash`);
  }
}

/**
 * Remove temporary files that killed writers left in a run folder: this writer's
 * (`.NAME.stratum-tmp-PID-RANDOM`) and those of earlier versions (`NAME.tmp-PID`), of processes
 * that no longer run. Returns the names removed.
 */
export function removeOrphanTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (removeIfOrphan(dir, name)) {
      removed.push(name);
      continue;
    }
    const old = /\.tmp-(\d+)$/.exec(name);
    if (!old || Number(old[1]) === process.pid || processAlive(Number(old[1]))) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}
