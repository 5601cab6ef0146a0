// One process for many test files (scripts/test-quick.mjs): imports each in turn, so their
// top-level node:test tests run one after another here, with one start-up (node, tsx, tfjs, the
// native addon: ~2 s, as long as most unit files' tests) instead of one per file. node --test
// would start a process per file (Node 20 has no --experimental-test-isolation=none).
// A file that fails to load fails as a test named after it; the files after it still run.
import { resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

for (const f of process.argv.slice(2)) {
  try {
    await import(pathToFileURL(resolve(f)).href);
  } catch (e) {
    test(`${f} loads`, () => {
      throw e;
    });
  }
}
