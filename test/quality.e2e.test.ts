/**
 * npm run bench:quality as a process (bench/quality.ts): bad flags refused in one line before any
 * work (what it measures: test/quality.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmp } from './support/helpers.js';

const ROOT = join(import.meta.dirname, '..');

/** bench/quality.ts ARGS as a process: its exit code and stderr */
const bench = (args: string[]) =>
  new Promise<{ code: number; err: string }>((resolve) =>
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'quality.ts'), ...args, '--out', join(tmp(), 'q')], { encoding: 'utf8', cwd: ROOT, timeout: 120_000 }, (e, _out, err) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, err }),
    ),
  );

test('bench:quality refuses bad flags and missing models in one line, before decoding photos', async () => {
  const cases: [string[], RegExp][] = [
    [['--models', '/definitely/not/here.stratum'], /\/definitely\/not\/here\.stratum: no such model file/],
    [['--sizes', '32,abc'], /--sizes must be a comma-separated list of integers/],
    [['--limit', '0'], /--limit must be an integer ≥ 1/],
    [['--refine-lr', '-1'], /--refine-lr must be a positive number/],
  ];
  // the processes side by side: each is mostly its start-up
  const results = await Promise.all(cases.map(([args]) => bench(args)));
  cases.forEach(([args, re], i) => {
    const r = results[i]!;
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.err, re);
    assert.doesNotMatch(r.err, /decoding/);
    assert.equal(r.err.trim().split('\n').filter((l) => !l.startsWith('(run with --help')).length, 1, r.err);
  });
  assert.ok(!existsSync(join(ROOT, 'runs', 'q')));
});
