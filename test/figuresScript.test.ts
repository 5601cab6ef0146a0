/**
 * `npm run figures` (scripts/figures.mjs) accounts for every picture in docs/results/: each is made
 * by one of its figures (what `--list` prints after "makes") or named among those it cannot make,
 * with the reason; and every picture the docs show exists. A table's figure with nothing finished is
 * skipped, not failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const list = execFileSync('node', ['scripts/figures.mjs', '--list'], { encoding: 'utf8' });
const [made, cannot] = list.split('\nnot made by this script:');

test('every PNG in docs/results is made by a figure of npm run figures or named with the reason it cannot be', () => {
  const named = new Set([...made!.matchAll(/^ {4}makes (.*)$/gm)].flatMap((m) => m[1]!.split(', ')));
  const explained = new Set([...cannot!.matchAll(/[\w.-]+\.png/g)].map((m) => m[0]));
  const orphans = readdirSync('docs/results').filter((f) => f.endsWith('.png') && !named.has(f) && !explained.has(f));
  assert.deepEqual(orphans, [], `figures with no command: ${orphans.join(', ')}`);
  assert.ok(named.size >= 30, `--list names ${named.size} figures`);
});

test('every figure the docs show exists', () => {
  const missing: string[] = [];
  for (const doc of ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))]) {
    const dir = doc === 'README.md' ? '.' : 'docs';
    for (const m of readFileSync(doc, 'utf8').matchAll(/!\[[^\]]*\]\(([^)\s]+\.png)\)/g)) if (!existsSync(join(dir, m[1]!))) missing.push(`${doc}: ${m[1]}`);
  }
  assert.deepEqual(missing, []);
});

test('a table figure with no finished row is skipped with one line, not failed; a broken store still fails', () => {
  // a root of its own (figures.mjs works from its parent folder): the code linked, data/tables-fashion made here
  const root = mkdtempSync(join(tmpdir(), 'figures-'));
  try {
    for (const p of ['bin', 'src', 'node_modules', 'native', 'models', 'package.json', 'tsconfig.json']) symlinkSync(resolve(p), join(root, p));
    mkdirSync(join(root, 'scripts'));
    copyFileSync('scripts/figures.mjs', join(root, 'scripts', 'figures.mjs'));
    mkdirSync(join(root, 'data', 'tables-fashion'), { recursive: true });
    const run = () => spawnSync('node', ['scripts/figures.mjs', '--only', 'fashion-stopgrad-table2'], { cwd: root, encoding: 'utf8' });
    // only table 1's row finished: table 2 has nothing to draw
    writeFileSync(join(root, 'data', 'tables-fashion', 'rows.json'), JSON.stringify({ 'ours:T=5:K=10|x': { psnr: 18, ssim: 0.6 } }));
    const empty = run();
    assert.equal(empty.status, 0, empty.stderr);
    assert.match(empty.stdout, /fashion-stopgrad-table2: nothing to draw yet \(.*none of table2's rows asked for is finished.*\); trained by/);
    assert.doesNotMatch(empty.stdout + empty.stderr, /FAILED/);
    writeFileSync(join(root, 'data', 'tables-fashion', 'rows.json'), '{ not json');
    const broken = run();
    assert.equal(broken.status, 1);
    assert.match(broken.stdout, /fashion-stopgrad-table2: FAILED/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
