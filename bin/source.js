// Stratum's TypeScript source through tsx in a checkout (so it is never stale), or the compiled
// build (npm run build) where tsx is not installed. Used by the CLI (bin/stratum.js) and the
// library entry (index.js).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** the module src/NAME.ts (or dist/src/NAME.js) */
export async function importSource(name) {
  const source = join(root, 'src', `${name}.ts`);
  let hasTsx = false;
  try {
    createRequire(import.meta.url).resolve('tsx/esm');
    hasTsx = existsSync(source);
  } catch {
    hasTsx = false;
  }
  if (hasTsx) {
    await import('tsx/esm');
    return import(pathToFileURL(source).href);
  }
  return import(pathToFileURL(join(root, 'dist', 'src', `${name}.js`)).href);
}
