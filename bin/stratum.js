#!/usr/bin/env node
// Runs the TypeScript source through tsx in a checkout (so it is never stale), or the compiled CLI
// (npm run build) where tsx is not installed.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli', 'main.ts');
let hasTsx = false;
try {
  createRequire(import.meta.url).resolve('tsx/esm');
  hasTsx = existsSync(source);
} catch {
  hasTsx = false;
}
let mod;
if (hasTsx) {
  await import('tsx/esm');
  mod = await import(pathToFileURL(source).href);
} else {
  mod = await import(pathToFileURL(join(root, 'dist', 'src', 'cli', 'main.js')).href);
}
process.exitCode = await mod.main(process.argv);
