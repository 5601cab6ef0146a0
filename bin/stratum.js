#!/usr/bin/env node
// Runs the compiled CLI (npm run build), or the TypeScript source through tsx when there is no
// build or STRATUM_SOURCE=1 (tests, development).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'src', 'cli', 'main.js');
let mod;
if (existsSync(built) && !process.env.STRATUM_SOURCE) mod = await import(pathToFileURL(built).href);
else {
  await import('tsx/esm');
  mod = await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
process.exitCode = await mod.main(process.argv);
