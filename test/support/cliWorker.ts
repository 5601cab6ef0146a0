/**
 * The worker of test/support/cli.ts: runs `stratum ARGS` (main() of src/cli/main.ts) on request, one at a
 * time, in this thread, and answers with its exit code and what it wrote to stdout and stderr.
 * Its streams are this worker's own, so catching their writes here touches nothing of the test's.
 */
import { parentPort } from 'node:worker_threads';
import { main } from '../../src/cli/main.js';

export interface CliRequest {
  args: string[];
  /** variables set (or, undefined, removed) for this command only */
  env: Record<string, string | undefined>;
  /** a disk that takes this many more bytes of output (test/support/diskFull.mjs) */
  diskBytes?: number;
}

export interface CliAnswer {
  code: number;
  out: string;
  err: string;
}

const written = { out: [] as string[], err: [] as string[] };
const decoder = new TextDecoder();
function capture(stream: NodeJS.WriteStream, into: string[]): void {
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    into.push(typeof chunk === 'string' ? chunk : decoder.decode(chunk));
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    if (done) queueMicrotask(done);
    return true;
  }) as typeof stream.write;
}
capture(process.stdout, written.out);
capture(process.stderr, written.err);

function setEnv(env: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

parentPort!.on('message', async (req: CliRequest) => {
  written.out.length = 0;
  written.err.length = 0;
  const saved = Object.fromEntries(Object.keys(req.env).map((k) => [k, process.env[k]]));
  setEnv(req.env);
  let restore = () => {};
  let code: number;
  try {
    // @ts-expect-error: a plain .mjs test helper, no types
    if (req.diskBytes !== undefined) restore = ((await import('./diskFull.mjs')) as { fillDiskAfter(n: number): () => void }).fillDiskAfter(req.diskBytes);
    code = await main(['node', 'stratum', ...req.args]);
  } catch (e) {
    // main() reports every failure itself: reaching here is a bug in it, shown as a crash would be
    written.err.push(`uncaught: ${(e as Error).stack ?? String(e)}\n`);
    code = 70;
  } finally {
    restore();
    setEnv(saved);
  }
  const answer: CliAnswer = { code, out: written.out.join(''), err: written.err.join('') };
  parentPort!.postMessage(answer);
});
