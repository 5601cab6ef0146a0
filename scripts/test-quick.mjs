#!/usr/bin/env node
// npm run test:quick: the unit tests, for the working loop — every test/*.test.ts except the end
// to end ones, test/*.e2e.test.ts (the binary as a process, a browser, the PyTorch twin, training
// runs). npm test runs both. A file's name says which it is, so a new test file is quick until it
// is named e2e; one that starts the binary, a browser or Python is refused here by name, and every
// file's time is printed, slowest first, so one that grows slow shows. The files are dealt out to one
// process per core (scripts/test-group.mjs), longest first by their last times (kept in
// node_modules/.cache/stratum-test-times.json): a process per file, as node --test starts, spent
// half the time here starting up (157 s → 95 s on 2 cores, 5 Dec).
//
// `--all` (npm test) runs the unit groups and the end-to-end files side by side, a job per core,
// each job's report printed whole when it ends; then, one at a time, the files whose text says `// npm test: alone`
// (they time a budget or drive the browser). `--e2e`: the same without the unit files.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const all = readdirSync(join(root, 'test')).filter((f) => f.endsWith('.test.ts')).sort();
const quick = all.filter((f) => !f.endsWith('.e2e.test.ts'));
const allMode = process.argv.includes('--all');
const e2eMode = allMode || process.argv.includes('--e2e');
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
// a backend set at a file's top level holds only until the next file's tests set theirs: the files
// of a group are all imported before any test runs (test/edgeShapes.test.ts: how)
for (const f of quick) {
  if (/^await onBackend\(/m.test(readFileSync(join(root, 'test', f), 'utf8')))
    wrong.push(`test/${f} sets its backend at the top level, where another file's tests override it: set it inside each test (test/edgeShapes.test.ts)`);
}
if (wrong.length) {
  console.error(`test:quick: ${wrong.join('\n            ')}`);
  process.exit(1);
}

const t0 = Date.now();
const files = new Map(); // file -> ms, from the runner's events
const cache = join(root, 'node_modules', '.cache', 'stratum-test-times.json');
let last = {};
try {
  last = JSON.parse(readFileSync(cache, 'utf8'));
} catch {}
// a file's last time; one never timed: its size as a guess (1 ms a byte is about right for these files)
const cost = (f) => last[join('test', f)] ?? statSync(join(root, 'test', f)).size;

/**
 * node with tsx, the spec reporter on stdout and the file times read from stderr; resolves to its
 * exit code. `buffered`: its report is printed whole when it ends (jobs side by side stay readable).
 */
function run(args, buffered) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=./scripts/file-times.mjs', '--test-reporter-destination=stderr', ...args], { cwd: root, stdio: ['ignore', buffered ? 'pipe' : 'inherit', 'pipe'] });
  const out = [];
  child.stdout?.on('data', (d) => out.push(d));
  let tail = '';
  child.stderr.on('data', (d) => {
    tail += d;
    const lines = tail.split('\n');
    tail = lines.pop();
    for (const l of lines) {
      const m = /^stratum-file-time (\S+) (\d+)$/.exec(l);
      if (m) files.set(m[1], Number(m[2]));
      else if (buffered) out.push(`${l}\n`);
      else process.stderr.write(`${l}\n`);
    }
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      if (buffered) process.stdout.write(`\n── ${args.filter((a) => a.startsWith('test/')).join(' ')} ──\n${out.join('')}`);
      resolve(code ?? (signal ? 1 : 0));
    }),
  );
}

/** `list` dealt out to `n` groups, the longest files first, each to the least loaded */
function deal(list, n) {
  const groups = Array.from({ length: Math.min(n, list.length) }, () => ({ files: [], load: 0 }));
  for (const f of [...list].sort((a, b) => cost(b) - cost(a))) {
    const g = groups.reduce((a, b) => (b.load < a.load ? b : a));
    g.files.push(f);
    g.load += cost(f);
  }
  return groups;
}

/** jobs ({ load, args }), `n` at a time, the longest first; resolves to the first failing exit code, or 0 */
async function pool(jobs, n, buffered) {
  const queue = [...jobs].sort((a, b) => b.load - a.load);
  const codes = [];
  const worker = async () => {
    for (let j = queue.shift(); j; j = queue.shift()) codes.push(await run(j.args, buffered));
  };
  await Promise.all(Array.from({ length: Math.min(n, queue.length) }, worker));
  return codes.find((c) => c !== 0) ?? 0;
}

const groupJob = (g) => ({ load: g.load, args: ['scripts/test-group.mjs', ...g.files.map((f) => join('test', f))] });
const fileJob = (f) => ({ load: cost(f), args: ['--test', join('test', f)] });
const cores = availableParallelism();
let code;
if (!e2eMode) code = await pool(deal(quick, cores).map(groupJob), cores, false);
else {
  // npm test: the unit files (a process per core) and the end-to-end files (a process each: most
  // wait on a child, npm, Python or a browser, yet a third job per 2 cores made the whole no faster:
  // the suite is CPU-bound), then those that run alone
  const jobs = [...(allMode ? deal(quick, cores).map(groupJob) : []), ...e2e.filter((f) => !alone.includes(f)).map(fileJob)];
  const together = await pool(jobs, cores, true);
  code = (await pool(alone.map(fileJob), 1, true)) || together;
}
try {
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  writeFileSync(cache, JSON.stringify({ ...last, ...Object.fromEntries(files) }));
} catch {}
const seconds = (Date.now() - t0) / 1000;
const slow = [...files].sort((a, b) => b[1] - a[1]);
const tests = [...files.values()].reduce((a, b) => a + b, 0) / 1000;
const what = e2eMode ? `${allMode ? `npm test: ${quick.length} unit files and ` : 'test:e2e: '}${e2e.length} end-to-end files (${alone.length} alone: ${alone.join(', ')})` : `test:quick: ${quick.length} files`;
console.log(`\n${what} in ${seconds.toFixed(0)} s, their tests ${tests.toFixed(0)} s of it (of ${all.length} files${e2eMode ? '' : `; npm test runs the ${e2e.length} *.e2e.test.ts too`}). Slowest:`);
for (const [f, ms] of slow.slice(0, 8)) console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${f}`);
process.exit(code);
