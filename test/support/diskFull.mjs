/**
 * A disk that fills up, for tests: writes to the one writer's temporary files (names holding
 * '.stratum-tmp-', src/io/atomicFile.ts) may add up to a budget of bytes; the write that crosses
 * it is cut short (the short count write(2) returns on a nearly full disk) and every later one
 * fails with ENOSPC, as a full disk does. Other files, stdout and stderr are untouched.
 *
 * In a child process: `node --import ./test/support/diskFull.mjs …` with STRATUM_TEST_DISK_BYTES=N (and
 * STRATUM_TEST_DISK_STALL=1: instead of failing, the writer hangs there, to be killed mid-write).
 * In this process: `const restore = fillDiskAfter(N); … restore();`.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const real = { openSync: fs.openSync, writeSync: fs.writeSync, closeSync: fs.closeSync };

/**
 * From now on, at most `bytes` more bytes reach temporary files, and no single write takes more
 * than `perWrite` (a short count, as a slow or nearly full file system may return); returns the
 * function that puts fs back.
 */
export function fillDiskAfter(bytes, perWrite = Infinity, stall = false) {
  let left = bytes;
  const temps = new Set();
  fs.openSync = function (path, ...rest) {
    const fd = real.openSync.call(this, path, ...rest);
    if (String(path).includes('.stratum-tmp-')) temps.add(fd);
    return fd;
  };
  fs.closeSync = function (fd) {
    temps.delete(fd);
    return real.closeSync.call(this, fd);
  };
  fs.writeSync = function (fd, buffer, offset, length, position) {
    if (!temps.has(fd) || typeof buffer === 'string') return real.writeSync.apply(this, arguments);
    if (left <= 0 && stall) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    if (left <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const off = offset ?? 0;
    const len = Math.min(length ?? buffer.byteLength - off, left, perWrite);
    const n = real.writeSync.call(this, fd, buffer, off, len, position);
    left -= n;
    return n;
  };
  // the writer imports these by name: update the ES module bindings too
  syncBuiltinESMExports();
  return () => {
    Object.assign(fs, real);
    syncBuiltinESMExports();
  };
}

if (process.env.STRATUM_TEST_DISK_BYTES !== undefined) fillDiskAfter(Number(process.env.STRATUM_TEST_DISK_BYTES), Infinity, !!process.env.STRATUM_TEST_DISK_STALL);
