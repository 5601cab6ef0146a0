#!/usr/bin/env node
// Runs the compiled CLI (npm run build), or the TypeScript source through tsx in a checkout.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'src', 'cli', 'main.js');
let mod;
if (existsSync(built)) mod = await import(pathToFileURL(built).href);
else {
  await import('tsx/esm');
  mod = await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
process.exitCode = await mod.main(process.argv);
