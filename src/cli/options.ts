/** Shared option parsers and paths of the stratum CLI. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), existsSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../package.json')) ? '../..' : '../../..');
export const DEFAULT_MODEL = join(PACKAGE_ROOT, 'models', 'default.stratum');

export function int(name: string, min = 1) {
  return (v: string): number => {
    const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min} in decimal digits, got '${v}'`);
    return n;
  };
}
/** a decimal number (1e-3 style allowed, not hex): > 0, or ≥ 0 with `zero` */
export function num(name: string, zero = false) {
  return (v: string): number => {
    const n = /^\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < 0 || (n === 0 && !zero)) throw new InvalidArgumentError(`${name} must be a ${zero ? 'non-negative' : 'positive'} number, got '${v}'`);
    return n;
  };
}

export const backendOption = () => new Option('--backend <name>', 'compute backend').choices(['auto', 'native', 'cpu', 'wasm']).default('auto');

export const collect = (v: string, prev: string[]) => [...prev, v];
export const layerIndex = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bad layer index '${v}' (layers are numbered from 0, bottom first)`);
  return n;
};
export const indexList = (v: string) => v.split(',').map(layerIndex);


/**
 * One output convention for every command: `-o, --output PATH` (a file, or the folder of a command
 * that writes several files). The old `--out` spelling still works (oldOutOption), with a notice.
 */
export const outputOpt = (description: string, defaultValue?: string) => new Option('-o, --output <path>', description).default(defaultValue);
export const oldOutOption = () => new Option('--out <path>', 'old spelling of --output').hideHelp();

/** the output path given by -o/--output or by the old --out (with a notice) */
export function outputOf(cmd: Command): string {
  const o = cmd.opts() as { output?: string; out?: string };
  if (o.out !== undefined) {
    if (cmd.getOptionValueSource('output') === 'cli' && o.output !== o.out) throw new Error(`--out ${o.out} and --output ${o.output} disagree (--out is the old spelling of --output)`);
    process.stderr.write(`stratum: note: --out is now -o/--output (the old spelling still works)\n`);
    return o.out;
  }
  if (o.output === undefined) throw new Error(`${cmd.name()}: -o/--output is required`);
  return o.output;
}
