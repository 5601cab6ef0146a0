#!/usr/bin/env node
// npm run test:quick: the unit tests, for the working loop — every test/*.test.ts except the end
// to end ones, test/*.e2e.test.ts (the binary as a process, a browser, the PyTorch twin, training
// runs). npm test runs both. A file's name says which it is, so a new test file is quick until it
// is named e2e; one that starts the binary, a browser or Python is refused here by name, and every
// file's time is printed, slowest first, so one that grows slow shows. Files run side by side, one
// per core: half the time here goes to each file's start-up.
//
// `--e2e` runs the end-to-end files instead, for npm test (after the unit files): two at a time (one
// per core: most of them wait on a child process, Python, npm or a browser), then, one at a time,
// those whose text says `// npm test: alone` (they time a budget or drive the browser).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const all = readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.ts')).sort();
const quick = all.filter((f) => !f.endsWith('.e2e.test.ts'));
const e2eMode = process.argv.includes('--e2e');
const e2e = all.filter((f) => f.endsWith('.e2e.test.ts'));
const alone = e2e.filter((f) => /^\/\/ npm test: alone\b/m.test(readFileSync(join(root, 'test', f), 'utf8')));

// what makes a test end to end, and so slow: its file must say so in its name
const E2E_SIGNS = [
  [/import \{[^}]*\b(binary|BIN)\b[^}]*\} from '\.\/support\/cli\.js'|['"]bin['"], ['"]stratum\.js['"]|bin\/stratum\.js/, 'runs the stratum binary as a process'],
  [/playwright-core|launchChromium/, 'drives a browser'],
  [/torchHelpers/, 'runs the PyTorch twin'],
  [/\btrain(Gan)?\(\{/, 'runs a training loop'],
];
const wrong = quick.flatMap((f) => {
  const text = readFileSync(join(root, 'test', f), 'utf8');
  return E2E_SIGNS.filter(([re]) => re.test(text)).map(([, what]) => `test/${f} ${what}: name it ${f.replace(/\.test\.ts$/, '.e2e.test.ts')} (or move that test to one)`);
});
if (wrong.length) {
  console.error(`test:quick: ${wrong.join('\n            ')}`);
  process.exit(1);
}

const t0 = Date.now();
const files = new Map(); // file -> ms, from the runner's events

/** node --test on `list`, `concurrency` files at a time; resolves to its exit code */
function runFiles(list, concurrency) {
  if (!list.length) return Promise.resolve(0);
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=./scripts/file-times.mjs', '--test-reporter-destination=stderr', ...list.map((f) => join('test', f))], { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] });
  let tail = '';
  child.stderr.on('data', (d) => {
    tail += d;
    const lines = tail.split('\n');
    tail = lines.pop();
    for (const l of lines) {
      const m = /^stratum-file-time (\S+) (\d+)$/.exec(l);
      if (m) files.set(m[1], Number(m[2]));
      else process.stderr.write(`${l}\n`);
    }
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

const cores = availableParallelism();
const codes = e2eMode ? [await runFiles(e2e.filter((f) => !alone.includes(f)), Math.min(2, cores)), await runFiles(alone, 1)] : [await runFiles(quick, cores)];
const seconds = (Date.now() - t0) / 1000;
const slow = [...files].sort((a, b) => b[1] - a[1]);
const tests = [...files.values()].reduce((a, b) => a + b, 0) / 1000;
const what = e2eMode ? `test:e2e: ${e2e.length} files (${alone.length} alone: ${alone.join(', ')})` : `test:quick: ${quick.length} files`;
console.log(`\n${what} in ${seconds.toFixed(0)} s, their tests ${tests.toFixed(0)} s of it (of ${all.length} files${e2eMode ? '' : `; npm test runs the ${e2e.length} *.e2e.test.ts too`}). Slowest:`);
for (const [f, ms] of slow.slice(0, 8)) console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${f}`);
process.exit(codes.find((c) => c !== 0) ?? 0);
