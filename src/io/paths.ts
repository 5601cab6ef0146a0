/** Where Stratum's own files are: the package root (a checkout, or dist/ after npm run build) and the bundled model. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_ROOT = resolve(here, existsSync(resolve(here, '../../package.json')) ? '../..' : '../../..');
export const DEFAULT_MODEL = join(PACKAGE_ROOT, 'models', 'default.stratum');
