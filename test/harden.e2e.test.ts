/**
 * The clumsy user's cases of test/harden.test.ts that train or need a process of their own:
 * resuming a run (a torn metrics line, the architecture and data from the checkpoint, one run per
 * folder, orphan temporary files), and the default output folder of the working folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { removeOrphanTempFiles, writeFileAtomic } from '../src/io/atomicFile.js';
import { lockRunFolder } from '../src/research/io/runLock.js';
import { readMetrics } from '../src/research/train/trainer.js';
import { binary, cli, type CliResult } from './support/cli.js';
import { tmp } from './support/helpers.js';

/** a refusal: exit code 1 (not a signal), exactly one line on stderr matching `re` */
function refused(r: CliResult & { signal?: NodeJS.Signals | null }, re: RegExp, what: string): void {
  assert.equal(r.signal ?? null, null, `${what}: killed by ${r.signal}`);
  assert.notEqual(r.code, 0, `${what} should fail`);
  const lines = r.err.trim().split('\n').filter((l) => !l.startsWith('(run with --help'));
  assert.equal(lines.length, 1, `${what}: one line, got ${r.err}`);
  assert.match(lines[0]!, re, what);
}

test('decompose with the default output folder out/ of the working folder, holding the input: refused', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'out'));
  const photo = join(dir, 'out', 'photo.png');
  await sharp(Buffer.alloc(20 * 20 * 3, 90), { raw: { width: 20, height: 20, channels: 3 } }).png().toFile(photo);
  const bytes = readFileSync(photo);
  refused(binary(['decompose', 'out/photo.png', '--size', '32'], { cwd: dir }), /refusing to write over an input/, 'decompose with the default out/');
  assert.deepEqual(readFileSync(photo), bytes, 'the input photo is untouched');
});

test('resume: torn metrics line, architecture and data from the checkpoint, one run per folder, orphan temp files', async () => {
  const dir = tmp();
  const run = join(dir, 'run');
  const base = ['--data', 'deadleaves:40', '--encoder', 'small', '--T', '2', '--size', '16', '--batch', '4', '--holdout', '8', '--eval-every', '2', '--save-every', '2', '-o', run];
  const first = await cli(['train', ...base, '--steps', '2']);
  assert.equal(first.code, 0, first.err);
  const metrics = join(run, 'metrics.jsonl');
  const rows = readMetrics(metrics, 99);
  assert.deepEqual(rows.map((r) => r.step), [0, 1, 2, 2], 'one step-0 evaluation, then steps 1 and 2 and the evaluation at 2');
  // a write cut off by a kill, and an orphan temporary file of a dead writer
  writeFileSync(metrics, readFileSync(metrics, 'utf8') + '{"step":3,"loss":0.1');
  writeFileSync(join(run, 'checkpoint.stratum.tmp-999999'), 'half a checkpoint');
  refused(await cli(['train', ...base, '--steps', '4', '--resume', '--encoder', 'resnet18']), /--encoder resnet18 differs from the model in .*checkpoint\.stratum \(encoder small\); leave it out with --resume/, '--resume with another encoder');
  refused(await cli(['train', ...base.filter((a) => a !== 'deadleaves:40' && a !== '--data'), '--data', 'deadleaves:50', '--steps', '4', '--resume']), /--data deadleaves:50 differs from the model/, '--resume with other data');
  refused(await cli(['train', ...base, '--steps', '4', '--resume', '--channels', '8,8']), /--channels 8,8 differs from the model in .*checkpoint\.stratum \(32,64,64,64\); leave it out with --resume/, '--resume with other channels');
  refused(await cli(['train', ...base, '--steps', '4', '--channels', '8,0']), /--channels must be 1 to 16 whole numbers from 1 to 1024/, '--channels 8,0');
  const resumed = await cli(['train', '--resume', '--steps', '4', '--batch', '4', '--holdout', '8', '--eval-every', '2', '--save-every', '2', '-o', run]);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /removed 1 temporary file\(s\) left by a killed run: checkpoint\.stratum\.tmp-999999/);
  assert.match(resumed.err, /small encoder, T=2, K=10, 16²/, 'architecture taken from the checkpoint, not the defaults');
  assert.deepEqual(readMetrics(metrics, 99).map((r) => r.step), [0, 1, 2, 2, 3, 4, 4]);
  assert.ok(!readdirSync(run).some((f) => f.includes('.tmp-')));
  // a bad line that is not the last is named
  writeFileSync(join(dir, 'm.jsonl'), '{"step":0}\n{oops\n{"step":1}\n');
  assert.throws(() => readMetrics(join(dir, 'm.jsonl'), 9), /m\.jsonl: line 2 is not valid JSON/);
  // one run per folder: a live lock refuses, a dead one is taken over
  const unlock = lockRunFolder(run);
  refused(binary(['train', '--resume', '--steps', '5', '-o', run]), new RegExp(`another run \\(process ${process.pid}\\) is using this folder`), 'two runs on one folder');
  unlock();
  writeFileSync(join(run, 'run.lock'), '999999\n');
  lockRunFolder(run)();
  assert.ok(!existsSync(join(run, 'run.lock')));
  // library: orphan removal keeps live writers' files
  writeFileSync(join(dir, `a.tmp-${process.pid}`), '');
  writeFileSync(join(dir, 'b.tmp-999998'), '');
  assert.deepEqual(removeOrphanTempFiles(dir), ['b.tmp-999998']);
  assert.throws(() => writeFileAtomic(join(dir, 'nope', 'f'), [new Uint8Array(1)]), /nope does not exist/);
});
