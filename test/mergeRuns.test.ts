/**
 * Table run folders merged into one (src/research/experiments/mergeRuns.ts): finished rows united,
 * each unfinished row's state and curve taken from where it got furthest, a finished row's state left
 * behind, and a row finished twice with different results refused before anything is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeTableRuns } from '../src/research/experiments/mergeRuns.js';
import { rowStatePath } from '../src/research/experiments/rowState.js';
import { decodeSafetensors, encodeSafetensors } from '../src/research/io/safetensors.js';
import { readRows } from '../src/research/train/loop.js';
import { tmp } from './support/helpers.js';

const finished = (psnr: number) => ({ row: { method: 'm', psnr }, rec: [0.5] });
const point = (row: string, step: number, psnr: number) => JSON.stringify({ row, method: 'm', step, psnr, seconds: step }) + '\n';

/** a run folder: rows.json, curves.jsonl and row states (key → step) */
function folder(rows: Record<string, ReturnType<typeof finished>>, curves: string, states: Record<string, number>): string {
  const dir = tmp();
  mkdirSync(join(dir, 'rows'), { recursive: true });
  writeFileSync(join(dir, 'rows.json'), JSON.stringify(rows));
  writeFileSync(join(dir, 'curves.jsonl'), curves);
  for (const [key, step] of Object.entries(states)) {
    const bytes = encodeSafetensors([['w', { shape: [1], values: Float32Array.of(step) }]], { format: 'stratum-table-row', key, step: String(step) });
    writeFileSync(rowStatePath(dir, key), Buffer.concat(bytes));
  }
  return dir;
}

const stepOf = (dir: string, key: string) => decodeSafetensors(new Uint8Array(readFileSync(rowStatePath(dir, key))), 's').metadata.step;

test('merged: finished rows united, each unfinished row from the folder where it got furthest, finished rows\' states left behind', () => {
  // the repo's copy: x finished, y at step 200
  const kept = folder({ x: finished(26) }, point('x', 250, 25) + point('y', 100, 20) + point('y', 200, 21), { y: 200 });
  // one run folder resumed y from the copy to step 300; another finished z and still has a stale state of x
  const a = folder({ x: finished(26) }, point('x', 250, 25) + point('y', 100, 20) + point('y', 200, 21.5) + point('y', 300, 22), { y: 300 });
  const b = folder({ z: finished(27) }, point('z', 250, 24), { x: 100, w: 50 });
  const out = mergeTableRuns(kept, [a, b]);
  assert.deepEqual(out, { rows: 1, curves: 2, states: 2 });
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(join(kept, 'rows.json'), 'utf8'))).sort(), ['x', 'z']);
  assert.equal(stepOf(kept, 'y'), '300', "y's state is the furthest one");
  assert.equal(stepOf(kept, 'w'), '50');
  assert.ok(!existsSync(rowStatePath(kept, 'x')), "x is finished: its state is not copied");
  const curves = readRows<{ row: string; step: number; psnr: number }>(join(kept, 'curves.jsonl'));
  assert.deepEqual(curves.filter((p) => p.row === 'y').map((p) => [p.step, p.psnr]), [[100, 20], [200, 21.5], [300, 22]], "y's points all from the furthest folder");
  assert.deepEqual(curves.filter((p) => p.row !== 'y').map((p) => p.row).sort(), ['x', 'z']);
  assert.deepEqual(mergeTableRuns(kept, [a, b]), { rows: 0, curves: 0, states: 0 }, 'merging again changes nothing');
  assert.ok(!readdirSync(kept).includes('run.lock'), 'the lock is released');
});

test('a row finished twice with different results is refused, naming it, before anything is written; a missing folder, a torn rows.json and a damaged state too', () => {
  const kept = folder({ x: finished(26) }, point('x', 250, 25), {});
  const before = ['rows.json', 'curves.jsonl'].map((f) => readFileSync(join(kept, f), 'utf8'));
  const other = folder({ x: finished(25.9), z: finished(27) }, point('z', 250, 24), { y: 100 });
  assert.throws(() => mergeTableRuns(kept, [other]), /rows\.json: row x is finished with another result/);
  assert.deepEqual(['rows.json', 'curves.jsonl'].map((f) => readFileSync(join(kept, f), 'utf8')), before);
  assert.ok(!existsSync(rowStatePath(kept, 'y')), 'no state copied');
  assert.throws(() => mergeTableRuns(kept, [join(kept, 'nope')]), /nope: no such run folder/);
  const torn = folder({}, '', {});
  writeFileSync(join(torn, 'rows.json'), '{"x": {"row"');
  assert.throws(() => mergeTableRuns(kept, [torn]), /rows\.json: not a table's rows\.json/);
  writeFileSync(join(other, 'rows', 'bad.safetensors'), 'garbage');
  assert.throws(() => mergeTableRuns(tmp(), [folder({}, '', {}), other]), /bad\.safetensors/);
});
