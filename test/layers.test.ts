/**
 * The layout's import rules (README "Layout"):
 * - src/ is the library (what `import 'stratum'` and the commands decompose, render, edit, export
 *   and serve need), the research (src/research/: training, the GAN, baselines,
 *   experiments, widening, bank choosing, their data and metrics) and the command line (src/cli/).
 *   Research may import the library, never the reverse; the command line may import both, but
 *   loads research only inside a research command's action (on demand).
 * - Inside src/, folders import downward only: each has a level; a file may import from its own
 *   folder and from folders of a lower level, never from the same level or above. So the browser
 *   editor can take src/core and src/model without Node's file system, training without the CLI.
 * - web/ (the browser editor) imports only the library.
 * - bench/ may import anything but test files; test/support/ (shared by tests and benchmarks)
 *   imports only src/ and itself; nothing in src/ imports bench/, test/, web/ or scripts/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

/** the library's folders (and files directly in src/), lowest first */
const LIBRARY: Record<string, number> = {
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
  pipeline: 6,
  'index.ts': 8,
};

/** the research's folders, all above the library */
const RESEARCH: Record<string, number> = {
  'research/io': 10,
  'research/data': 10,
  'research/eval': 11,
  'research/model': 11,
  'research/train': 12,
  'research/experiments': 13,
};

/** lowest first; files directly in src/ are named by file, research folders by research/NAME */
export const LEVELS: Record<string, number> = { ...LIBRARY, ...RESEARCH, cli: 20 };

/** the commands of the library: their actions (and what they import) load no research */
const LIBRARY_COMMANDS = ['decompose', 'render', 'edit', 'export', 'serve'];

function files(dir: string, ext = /\.(ts|mjs)$/): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? (f === 'node_modules' ? [] : files(p, ext)) : ext.test(p) ? [p] : [];
  });
}

/** the relative imports of a file: static (import, export … from, bare import) and, with `dynamic`, import('…') */
function importsOf(file: string, dynamic = true): { spec: string; target: string }[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:(?:import|export)\b[^;'"(]*?\bfrom\s+|import\s+)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  if (dynamic) specs.push(...[...text.matchAll(/\bimport\(\s*'(\.{1,2}\/[^']+)'\s*\)/g)].map((m) => m[1]!));
  return specs.map((spec) => {
    const js = resolve(dirname(file), spec);
    const target = [js, js.replace(/\.js$/, '.ts')].find((p) => existsSync(p) && statSync(p).isFile()) ?? js;
    return { spec, target };
  });
}

/** the unit of a file of src/: its first folder (research/NAME inside src/research), or its name */
function unitOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts[0] === 'research' && parts.length > 2 ? `research/${parts[1]}` : parts[0]!;
}

const rel = (file: string) => relative(ROOT, file);
const inside = (dir: string, file: string) => !relative(dir, file).startsWith('..');

test('folders of src/ import downward only', () => {
  const wrong: string[] = [];
  for (const file of files(SRC, /\.ts$/)) {
    const from = unitOf(file);
    assert.ok(from in LEVELS, `src/${from} has no level in test/layers.test.ts: give it one (library, research or cli)`);
    for (const { spec, target } of importsOf(file)) {
      if (!inside(SRC, target)) continue; // checked below
      const to = unitOf(target);
      if (to === from) continue;
      if (!(LEVELS[to]! < LEVELS[from]!)) wrong.push(`${rel(file)} imports ${spec} (${from} level ${LEVELS[from]} -> ${to} level ${LEVELS[to]})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('the library never imports the research or the command line', () => {
  const wrong: string[] = [];
  for (const file of files(SRC, /\.ts$/)) {
    if (!(unitOf(file) in LIBRARY)) continue;
    for (const { spec, target } of importsOf(file)) {
      if (inside(SRC, target) && !(unitOf(target) in LIBRARY)) wrong.push(`${rel(file)} imports ${spec} (${unitOf(target)})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test("what `import 'stratum'` and the library's commands load holds no research", () => {
  // static imports only: a command's action is imported when that command runs
  const start = [join(SRC, 'index.ts'), join(SRC, 'cli', 'main.ts'), ...LIBRARY_COMMANDS.map((c) => join(SRC, 'cli', 'actions', `${c}.ts`))];
  const seen = new Map<string, string>(start.map((f) => [f, 'start']));
  const todo = [...start];
  while (todo.length) {
    const file = todo.pop()!;
    assert.ok(existsSync(file), `${rel(file)} (imported by ${seen.get(file)}) is missing`);
    for (const { target } of importsOf(file, false)) {
      if (!seen.has(target)) {
        seen.set(target, rel(file));
        todo.push(target);
      }
    }
  }
  const research = [...seen].filter(([f]) => inside(SRC, f) && unitOf(f) in RESEARCH).map(([f, by]) => `${rel(f)} (imported by ${by})`);
  assert.deepEqual(research, []);
});

test('web/ imports only the library', () => {
  const wrong: string[] = [];
  for (const file of files(join(ROOT, 'web'), /\.ts$/)) {
    for (const { spec, target } of importsOf(file)) {
      if (inside(join(ROOT, 'web'), target)) continue;
      if (!inside(SRC, target) || !(unitOf(target) in LIBRARY)) wrong.push(`${rel(file)} imports ${spec}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('src/ imports no bench, test, web or scripts; bench/ no test files; test/support/ only src/', () => {
  const wrong: string[] = [];
  const SUPPORT = join(ROOT, 'test', 'support');
  for (const file of files(SRC)) {
    for (const { spec, target } of importsOf(file)) if (!inside(SRC, target)) wrong.push(`${rel(file)} imports ${spec}`);
  }
  for (const file of files(join(ROOT, 'bench'))) {
    for (const { spec, target } of importsOf(file)) if (inside(join(ROOT, 'test'), target) && !inside(SUPPORT, target)) wrong.push(`${rel(file)} imports ${spec}`);
  }
  for (const file of files(SUPPORT)) {
    for (const { spec, target } of importsOf(file)) if (!inside(SRC, target) && !inside(SUPPORT, target)) wrong.push(`${rel(file)} imports ${spec}`);
  }
  assert.deepEqual(wrong, []);
});
