/**
 * Folders import downward only. Each folder of src/ has a level; a file may import from its own
 * folder and from folders of a lower level, never from the same level or above. So the browser
 * editor can take src/core and src/model without Node's file system, training without the CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = join(import.meta.dirname, '..', 'src');

/** lowest first; files directly in src/ are named by file */
export const LEVELS: Record<string, number> = {
  'config.ts': 0,
  types: 0,
  io: 1,
  core: 2,
  data: 3,
  edit: 3,
  model: 4,
  export: 4,
  eval: 5,
  backend: 5,
  research: 6,
  pipeline: 6,
  experiments: 7,
  'index.ts': 8,
  cli: 9,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const unitOf = (file: string) => relative(SRC, file).split('/')[0]!.replace(/\.js$/, '.ts');

test('folders of src/ import downward only', () => {
  const wrong: string[] = [];
  for (const file of files(SRC)) {
    const from = unitOf(file);
    assert.ok(from in LEVELS, `src/${from} has no level in test/layers.test.ts: give it one`);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+'(\.{1,2}\/[^']+)'/g)) {
      const to = unitOf(resolve(dirname(file), m[1]!));
      if (to === from) continue;
      if (!(LEVELS[to]! < LEVELS[from]!)) wrong.push(`${relative(SRC, file)} imports ${m[1]} (${from} level ${LEVELS[from]} -> ${to} level ${LEVELS[to]})`);
    }
  }
  assert.deepEqual(wrong, []);
});
