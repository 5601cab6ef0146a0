/**
 * `npm run figures` (scripts/figures.mjs) accounts for every picture in docs/results/: each is made
 * by one of its figures (what `--list` prints after "makes") or named among those it cannot make,
 * with the reason; and every picture the docs show exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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
