/**
 * The command line inside the test process: `stratum ARGS` run by main() of src/cli/main.ts in a
 * worker thread that lives as long as the test file (its modules loaded once), with its stdout
 * and stderr captured. For what commands say, refuse and write (bad flags, limits, one-line
 * errors, outputs kept on a full disk), where a process per call costs seconds of start-up and
 * checks nothing more. The binary itself (bin/stratum.js: tsx, the exit code of a real process)
 * is run as a subprocess by the *.e2e tests.
 *
 * Not for: another working folder (a worker cannot chdir), `-o /dev/stdout` (the process's own
 * stdout), a second process id (run locks), or a kill mid-write.
 */
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { CliAnswer, CliRequest } from './cliWorker.js';

export type CliResult = CliAnswer;

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'stratum.js');

/** `stratum ARGS` as a process of its own (bin/stratum.js, as a user runs it); env: added to this one's */
export function binary(args: string[], o: { cwd?: string; env?: Record<string, string> } = {}): CliResult & { signal: NodeJS.Signals | null; outBytes: Buffer } {
  const r = spawnSync(process.execPath, [BIN, ...args], { timeout: 300_000, cwd: o.cwd, env: { ...process.env, ...o.env }, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, signal: r.signal, out: r.stdout.toString('utf8'), outBytes: r.stdout, err: r.stderr.toString('utf8') };
}

let worker: Worker | null = null;
let queue: Promise<unknown> = Promise.resolve();

function runOne(req: CliRequest): Promise<CliResult> {
  // test/support/cliWorker.mjs loads tsx in the worker, which does not inherit the test's loader
  worker ??= new Worker(join(import.meta.dirname, 'cliWorker.mjs'));
  const w = worker;
  return new Promise<CliResult>((resolve, reject) => {
    const fail = (e: Error) => {
      worker = null;
      reject(new Error(`stratum ${req.args.join(' ')}: the command's thread died: ${e.stack ?? e}`));
    };
    // a command that ends its thread (process.exit in a worker) rather than returning from main()
    const exited = (code: number) => fail(new Error(`it exited with code ${code}`));
    w.once('error', fail);
    w.once('exit', exited);
    w.once('message', (a: CliAnswer) => {
      w.off('error', fail);
      w.off('exit', exited);
      // idle between commands: the worker does not keep the test process alive
      w.unref();
      resolve(a);
    });
    w.ref();
    w.postMessage(req);
  });
}

/** `stratum ARGS` in the worker, one call at a time; env: variables set for this call only */
export function cli(args: string[], o: { env?: Record<string, string | undefined>; diskBytes?: number } = {}): Promise<CliResult> {
  const run = queue.then(() => runOne({ args, env: o.env ?? {}, diskBytes: o.diskBytes }));
  queue = run.catch(() => undefined);
  return run;
}
