#!/usr/bin/env node
// npm run test:quick: the unit tests, for the working loop — every test/*.test.ts except the end
// to end ones, test/*.e2e.test.ts (the binary as a process, a browser, the PyTorch twin, training
// runs). npm test runs both. A file's name says which it is, so a new test file is quick until it
// is named e2e; one that starts the binary, a browser or Python is refused here by name, and every
// file's time is printed, slowest first, so one that grows slow shows. Files run side by side, one
// per core: half the time here goes to each file's start-up. npm test runs this, then the e2e files
// one at a time (they time budgets, drive a browser, build the package).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const all = readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.ts')).sort();
const quick = all.filter((f) => !f.endsWith('.e2e.test.ts'));

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
const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${availableParallelism()}`, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=./scripts/file-times.mjs', '--test-reporter-destination=stderr', ...quick.map((f) => join('test', f))], { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] });
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
child.on('exit', (code, signal) => {
  const seconds = (Date.now() - t0) / 1000;
  const slow = [...files].sort((a, b) => b[1] - a[1]);
  const tests = [...files.values()].reduce((a, b) => a + b, 0) / 1000;
  console.log(`\ntest:quick: ${quick.length} files in ${seconds.toFixed(0)} s, their tests ${tests.toFixed(0)} s of it (of ${all.length} files; npm test runs the ${all.length - quick.length} *.e2e.test.ts too). Slowest:`);
  for (const [f, ms] of slow.slice(0, 8)) console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${f}`);
  process.exit(code ?? (signal ? 1 : 0));
});
